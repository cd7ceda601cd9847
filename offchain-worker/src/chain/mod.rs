//! The worker's view of the chain: the EnclaveUpdate pallet's storage, read with storage proofs
//! and checked against the state root of a header the worker has accepted, so a lying host
//! cannot forge the schedule.
//!
//! - [`VerifiedSchedule`]: the pallet's storage at one verified block, and the
//!   [`provisioning_decision`] over it.
//! - [`ScheduleSource`]: where the provisioning protocol gets its latest verified schedule.

use enclave_update_primitives::{provisioning_decision, Decision, Measurement, ScheduleView};
use std::future::Future;

pub mod grandpa;
pub mod proof;
pub mod referenda;
pub mod registry;
pub mod rpc;

pub use proof::ProvenStorage;

/// The block number type of the chains this worker follows.
pub type BlockNumber = u32;

/// The highest block an enclave has verified on its chain: it refuses any older view, so a host
/// replaying an old chain state (where a requester was still scheduled) is caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainProgress {
	/// The chain's genesis hash.
	pub genesis_hash: [u8; 32],
	/// The highest verified block number.
	pub block_number: u32,
	/// Its hash.
	pub block_hash: [u8; 32],
}

/// What the chain follower ([`rpc::RpcChain`]) keeps between runs and what binds it to one
/// chain, sealed by the enclave: its highest verified block, its light client's state, and the
/// genesis its keys belong to. The follower sees only this trait;
/// [`crate::store::SealedProgress`] keeps them in the data directory.
pub trait ChainRecord: Send + Sync {
	/// The chain the enclave's keys are bound to and the finalized block they were sealed at
	/// ([`ChainIdentity`](crate::store::ChainIdentity)), as a progress record: no view of another
	/// chain, and none older than that block, is accepted, whatever became of the recorded
	/// progress. `None` while it holds no keys of its own (a fresh enclave before `request-keys`:
	/// what it learns then is checked by the provider, which refuses a requester on another
	/// chain).
	fn keys_sealed_at(&self) -> Result<Option<ChainProgress>, ChainError>;
	/// The highest verified block recorded, if any.
	fn progress(&self) -> Result<Option<ChainProgress>, ChainError>;
	/// Records `progress` as the highest verified block.
	fn record_progress(&self, progress: &ChainProgress) -> Result<(), ChainError>;
	/// The light client's recorded state ([`grandpa::LightClient::encode_state`]), if any.
	fn light_client(&self) -> Result<Option<Vec<u8>>, ChainError>;
	/// Records the light client's state.
	fn record_light_client(&self, state: &[u8]) -> Result<(), ChainError>;
}

/// The EnclaveUpdate pallet's storage at one block whose header the worker accepted and whose
/// state root the storage proofs were checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSchedule {
	/// The chain's genesis hash.
	pub genesis_hash: [u8; 32],
	/// The verified block's number.
	pub block_number: BlockNumber,
	/// The verified block's hash.
	pub block_hash: [u8; 32],
	/// Its proven storage: the schedule, the chain's time and key set.
	pub storage: ProvenStorage,
}

impl VerifiedSchedule {
	/// The schedule as [`provisioning_decision`] reads it.
	pub fn view(&self) -> ScheduleView<'_, BlockNumber> {
		let storage = &self.storage;
		ScheduleView {
			active: storage.active,
			superseded: &storage.superseded,
			scheduled: &storage.scheduled,
			retired: &storage.retired,
		}
	}

	/// The chain's time at this block in unix seconds: the time quotes and collateral are
	/// verified at.
	pub fn unix_seconds(&self) -> u64 {
		self.storage.timestamp_ms / 1000
	}

	/// The chain's key set, when keys with `checksum` are not it (`None`: they are, or no
	/// enclave has registered yet).
	pub fn other_key_set(
		&self,
		checksum: &crate::keys::KeyChecksum,
	) -> Option<crate::keys::KeyChecksum> {
		self.storage
			.key_set
			.filter(|chain| *chain != checksum.0)
			.map(crate::keys::KeyChecksum)
	}

	/// May `provider` hand its keys to `requester` at this verified block?
	pub fn decide(&self, provider: &Measurement, requester: &Measurement) -> Decision<BlockNumber> {
		provisioning_decision(&self.view(), provider, requester, self.block_number)
	}
}

/// Why no verified schedule could be had.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
	/// A storage proof did not check out against the accepted header's state root.
	#[error("storage proof rejected: {0}")]
	Proof(#[from] proof::ProofError),
	/// The GRANDPA light client refused a header or a justification.
	#[error("finality: {0}")]
	Finality(#[from] grandpa::FinalityError),
	/// The host offered a view older than one this worker has already verified (a rollback).
	#[error("chain view at block {offered} is older than the verified block {verified}")]
	StaleView {
		/// The block the host offered.
		offered: BlockNumber,
		/// The highest block this worker has verified.
		verified: BlockNumber,
	},
	/// The node reported a different genesis hash than the one this worker is bound to.
	#[error("genesis hash mismatch: the node is on another chain")]
	WrongGenesis,
	/// The node does not know the block asked for.
	#[error("the node does not know the block")]
	UnknownBlock,
	/// The node answered with a header (or proof) of another block than the one asked for.
	#[error("the node's header does not hash to the block asked for")]
	HeaderHashMismatch,
	/// The block the worker's state belongs to is not an ancestor of the finalized head: the
	/// state was built on another fork or another chain, and must not be continued.
	#[error("the worker's last block is not an ancestor of the finalized head")]
	NotAncestor,
	/// This enclave holds sealed keys but not the sealed chain identity that binds them to their
	/// chain (`chain.identity`). It is never learned again from a node: that would let the host
	/// point the keys at a chain of its choosing.
	#[error("the sealed keys' chain identity (chain.identity) is missing: restore it from the backup of this data directory; it is never taken from the node again")]
	MissingChainIdentity,
	/// The sealed chain identity belongs to other keys than the ones this enclave holds.
	#[error("the sealed chain identity belongs to other keys (checksum {identity_of}) than the ones held ({held})")]
	ChainIdentityOfOtherKeys {
		/// The key checksum the identity names.
		identity_of: crate::keys::KeyChecksum,
		/// The checksum of the keys held.
		held: crate::keys::KeyChecksum,
	},
	/// The sealed chain progress could not be read or written.
	#[error("sealed chain progress: {0}")]
	Progress(String),
	/// The node could not be reached or answered with an error.
	#[error("node RPC failed: {0}")]
	Rpc(String),
}

/// Where the provisioning protocol gets the latest verified schedule from.
pub trait ScheduleSource: Send + Sync {
	/// The pallet's storage at the latest block this worker has verified; never older than a
	/// view it returned before.
	fn verified_schedule(
		&self,
	) -> impl Future<Output = Result<VerifiedSchedule, ChainError>> + Send;
}

impl<T: ScheduleSource + ?Sized> ScheduleSource for std::sync::Arc<T> {
	fn verified_schedule(
		&self,
	) -> impl Future<Output = Result<VerifiedSchedule, ChainError>> + Send {
		(**self).verified_schedule()
	}
}
