//! `enclave-update-node`: a Substrate development node for `enclave-update-runtime`.
//!
//! The real Substrate client (sc-service with a ParityDB database, the transaction pool, the
//! standard and rpc-spec-v2 JSON-RPC methods) producing blocks with manual seal, and executing the
//! runtime natively (see [`executor`]) because these machines cannot build wasm.

// `sc_cli::Error` and `sc_service::Error` are large, and sc-cli's `Runner` API takes and returns
// them as they are; boxing them at this crate's boundary would only unbox them again.
#![allow(clippy::result_large_err)]

mod chain_spec;
mod cli;
mod command;
mod executor;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
