//! `enclave-update-node`: a Substrate development node for `enclave-update-runtime`.
//!
//! The real Substrate client (sc-service with a ParityDB database, the transaction pool, the
//! standard, rpc-spec-v2 and GRANDPA JSON-RPC methods) executing the runtime's wasm blob with the
//! wasm executor; Aura authors the blocks and GRANDPA finalizes them.

// `sc_cli::Error` and `sc_service::Error` are large, and sc-cli's `Runner` API takes and returns
// them as they are; boxing them at this crate's boundary would only unbox them again.
#![allow(clippy::result_large_err)]

mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
