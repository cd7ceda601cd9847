//! Runtime API of the EnclaveUpdate pallet.
//!
//! For operators and tools: what is active, what is scheduled, and what
//! [`enclave_update_primitives::provisioning_decision`] answers over the chain's storage.
//!
//! A worker inside a TEE must not trust these answers from its host: it reads the pallet's
//! storage with storage proofs and runs the same decision itself.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
pub use enclave_update_primitives::{
	registry::{AttestedEnclave, EvidenceKind, TcbStatus},
	ActiveEnclave, Allowed, Decision, Denied, Measurement, ScheduledEnclave, SupersededEnclave,
};
pub use sp_runtime::DispatchError;

sp_api::decl_runtime_apis! {
	/// The schedule of allowed enclave measurements and the provisioning decision over it.
	pub trait EnclaveUpdateApi<BlockNumber> where BlockNumber: Codec {
		/// The active measurement and the block it became active at.
		fn active_enclave() -> Option<ActiveEnclave<BlockNumber>>;

		/// The scheduled successors, soonest first.
		fn schedule() -> Vec<ScheduledEnclave<BlockNumber>>;

		/// The superseded measurements the chain remembers, oldest first.
		fn history() -> Vec<SupersededEnclave<BlockNumber>>;

		/// The retired measurements, sorted.
		fn retired() -> Vec<Measurement>;

		/// The measurement active at `block`, past (as far as the history reaches), present or
		/// scheduled.
		fn measurement_at(block: BlockNumber) -> Option<Measurement>;

		/// May `provider` hand its keys to `requester` at the current block?
		fn provisioning_decision(provider: Measurement, requester: Measurement) -> Decision<BlockNumber>;
	}
}

sp_api::decl_runtime_apis! {
	/// The enclave registry (`pallet-enclave-registry`): its verification of evidence, as a dry
	/// run, and the chain's key set.
	pub trait EnclaveRegistryApi {
		/// What the runtime's verification and attestation policy make of `evidence` (a DCAP
		/// quote or a simulated one) with `collateral` (SCALE-encoded
		/// `dcap_qvl::QuoteCollateralV3`, empty for a simulated quote) at unix time `now`:
		/// everything `register_enclave` checks but the binding of the report data and the
		/// schedule. The error is the pallet's.
		fn verify_evidence(evidence: Vec<u8>, collateral: Vec<u8>, now: u64) -> Result<AttestedEnclave, DispatchError>;

		/// The chain's key-set checksum, once the first enclave has registered.
		fn key_set() -> Option<[u8; 32]>;
	}
}
