//! # enclave-worker
//!
//! The trusted core of the enclave-update worker: the code that runs inside an SGX/TDX
//! enclave and must never lose key material across an upgrade of that enclave.
//!
//! ## Overview
//! - [`tee`]: the boundary to the hardware. A [`tee::Tee`] reports its own measurement, produces
//!   quotes over 64 bytes of report data and derives a sealing key bound to its measurement.
//!   Backends: `tee::sim` (software; only in builds with the `dev-tee` feature) and
//!   [`tee::gramine`] (SGX DCAP through Gramine's `/dev/attestation`).
//! - [`measured`]: what the measurement covers besides code: the attestation policy the worker
//!   hands keys by and the names of the pallets it reads, compiled in, never host input.
//! - [`attestation`]: verifies a peer's evidence (a DCAP quote, or a simulated quote in dev mode)
//!   against collateral and an [`attestation::AttestationPolicy`], returning a typed
//!   [`attestation::PeerIdentity`] or a specific [`attestation::AttestationError`].
//! - [`keys`]: the shielding key (X25519) and the state key (XChaCha20-Poly1305) in zeroizing,
//!   mlocked memory, their operator-facing [`keys::KeyChecksum`], and a [`keys::KeyStore`] whose
//!   material can be replaced in a running process.
//! - [`store`]: sealed key files and state snapshots, written atomically with a versioned,
//!   authenticated format and a fallback to the previous good copy.
//! - [`status`]: the worker's readiness and progress, persisted for `enclave-worker status`.
//! - [`chain`]: the EnclaveUpdate pallet's storage read with storage proofs against an accepted
//!   header, and the provisioning decision over it.
//! - [`provisioning`]: the mutual-attestation key hand-over between an old and a new enclave, over
//!   TCP, allowed only by the verified schedule of both sides, and the transfer of the state
//!   snapshot to the successor.
//! - [`demo`]: the confidential state machine carried across an upgrade: shielded calls (HPKE to
//!   the shielding key) applied to a key-value state whose hash chains block by block.
//! - [`runner`]: the block loop: standby, active and retired roles from the proof-checked schedule,
//!   and the cut-over at the scheduled block with every block executed once.

#![deny(missing_docs)]

pub mod attestation;
pub mod chain;
pub mod command;
pub mod demo;
pub mod fs;
#[doc(hidden)]
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod keys;
pub mod measured;
pub mod provisioning;
pub mod registration;
pub mod runner;
mod secret;
mod serde_hex;
pub mod status;
pub mod store;
pub mod tee;
#[cfg(any(test, feature = "test-utils"))]
pub mod testing;

pub use enclave_update_primitives::Measurement;
