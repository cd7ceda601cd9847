//! The local devnet and its end-to-end harness: the real `enclave-update-node` and
//! `enclave-worker` binaries as child processes on loopback ([`procs`]), and the chain driven
//! as an application drives it, with subxt and the dev accounts ([`chain`]).
//!
//! The `enclave-update-devnet` binary tells the upgrade story with it (the README's main
//! command); the end-to-end tests of the top-level `tests/` crate use it, and its TCP fault
//! proxies ([`fault_proxy`]) and its [`testing`] helpers, to check the hand-over, the cut-over and
//! the faults against the real processes.

pub mod chain;
pub mod fault_proxy;
pub mod procs;
pub mod story;
pub mod testing;

pub use enclave_update_primitives::Measurement;

/// The measurement of the chain's first enclave in the dev genesis ("old" build A).
pub const MEASUREMENT_A: Measurement = Measurement::MrEnclave([0xaa; 32]);
/// The "new" build B.
pub const MEASUREMENT_B: Measurement = Measurement::MrEnclave([0xbb; 32]);
/// A build nobody scheduled.
pub const MEASUREMENT_C: Measurement = Measurement::MrEnclave([0xcc; 32]);
