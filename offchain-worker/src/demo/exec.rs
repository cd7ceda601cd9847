//! Block execution: the blocks in order, each exactly once, the calls opened and applied, the
//! state hash chained; [`replay`], the reference execution from genesis.

use std::fmt;

use codec::{Decode, Encode};
use sp_crypto_hashing::blake2_256;
use zeroize::Zeroizing;

use super::{open_call, DemoState};
use crate::{
	keys::{ShieldingKey, StateKey},
	store::{Snapshot, Store, StoreError},
	Measurement,
};

/// Domain tag of the state hash at genesis.
pub const GENESIS_STATE_TAG: &[u8] = b"enclave-update/state/genesis/v1";
/// Domain tag of the state hash after a block.
pub const STATE_TAG: &[u8] = b"enclave-update/state/v1";
/// Version byte in front of [`ExecutedState::to_bytes`].
pub const STATE_VERSION: u8 = 1;

/// Why a block was not applied, or an executed state could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
	/// The block is not the one after the last executed block.
	#[error("block #{got} is not the next block to execute (#{expected})")]
	NotNext {
		/// The next block number.
		expected: u64,
		/// The block number offered.
		got: u64,
	},
	/// The block's parent is not the last executed block (another fork).
	#[error(
		"the block's parent 0x{} is not the last executed block 0x{}",
		hex::encode(got),
		hex::encode(expected)
	)]
	ParentMismatch {
		/// The last executed block's hash.
		expected: [u8; 32],
		/// The offered block's parent hash.
		got: [u8; 32],
	},
	/// The encoded state is of another version than [`STATE_VERSION`].
	#[error("unsupported executed-state version {0}")]
	UnsupportedStateVersion(u8),
	/// The encoded state does not decode.
	#[error("the executed state does not decode: {0}")]
	MalformedState(String),
	/// Bytes follow the encoded state.
	#[error("{0} bytes follow the encoded executed state")]
	TrailingStateBytes(usize),
	/// A snapshot's header names another block than its state.
	#[error("the snapshot is labelled block #{snapshot} but holds the state after #{state}")]
	SnapshotBlockMismatch {
		/// Block number in the snapshot file.
		snapshot: u64,
		/// Block number in the decoded state.
		state: u64,
	},
	/// A snapshot's header names another state hash than its state.
	#[error("the snapshot's state hash differs from the hash of the state it holds")]
	SnapshotHashMismatch,
}

/// The result of one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockOutcome {
	/// Calls opened and applied.
	pub applied: u32,
	/// Calls skipped (not openable, malformed or oversize).
	pub skipped: u32,
	/// The state hash after the block.
	pub state_hash: [u8; 32],
}

/// The state after executing every block up to `block_number` of one chain, with the hash
/// chain that identifies it. This is what a snapshot holds and a successor continues from.
#[derive(Clone, PartialEq, Eq, Encode, Decode)]
pub struct ExecutedState {
	/// The chain.
	pub genesis_hash: [u8; 32],
	/// The last executed block (0: nothing executed yet).
	pub block_number: u64,
	/// Its hash (the genesis hash at block 0).
	pub block_hash: [u8; 32],
	/// The state hash after it (see the module docs).
	pub state_hash: [u8; 32],
	/// Calls applied since genesis.
	pub applied_total: u64,
	/// Calls skipped since genesis.
	pub skipped_total: u64,
	/// The confidential state.
	pub state: DemoState,
}

impl ExecutedState {
	/// The state of a chain before its first block.
	pub fn genesis(genesis_hash: [u8; 32]) -> Self {
		Self {
			genesis_hash,
			block_number: 0,
			block_hash: genesis_hash,
			state_hash: blake2_256(&[GENESIS_STATE_TAG, genesis_hash.as_slice()].concat()),
			applied_total: 0,
			skipped_total: 0,
			state: DemoState::default(),
		}
	}

	/// Executes block `block_number`, whose calls are the inbox's `calls` in order. Refuses,
	/// leaving the state unchanged, any block but the next one on top of the last executed
	/// block. Calls that do not open are skipped and counted.
	pub fn apply_block(
		&mut self,
		key: &ShieldingKey,
		block_number: u64,
		parent_hash: [u8; 32],
		block_hash: [u8; 32],
		calls: &[Vec<u8>],
	) -> Result<BlockOutcome, ExecError> {
		let expected = self.block_number.saturating_add(1);
		if block_number != expected {
			return Err(ExecError::NotNext { expected, got: block_number });
		}
		if parent_hash != self.block_hash {
			return Err(ExecError::ParentMismatch { expected: self.block_hash, got: parent_hash });
		}
		let mut receipts = Vec::with_capacity(calls.len());
		let (mut applied, mut skipped) = (0u32, 0u32);
		for (index, bytes) in calls.iter().enumerate() {
			let opened = open_call(key, &self.genesis_hash, bytes);
			receipts.push((blake2_256(bytes), opened.is_ok()));
			match opened {
				Ok(call) => {
					self.state.apply(call);
					applied = applied.saturating_add(1);
				},
				Err(error) => {
					tracing::debug!(block_number, index, %error, "skipped a shielded call");
					skipped = skipped.saturating_add(1);
				},
			}
		}
		self.state_hash = next_state_hash(&self.state_hash, block_number, &block_hash, &receipts);
		self.block_number = block_number;
		self.block_hash = block_hash;
		self.applied_total = self.applied_total.saturating_add(u64::from(applied));
		self.skipped_total = self.skipped_total.saturating_add(u64::from(skipped));
		Ok(BlockOutcome { applied, skipped, state_hash: self.state_hash })
	}

	/// [`STATE_VERSION`] followed by the SCALE encoding: the `state` payload of a snapshot.
	pub fn to_bytes(&self) -> Vec<u8> {
		let mut out = Vec::with_capacity(1 + self.encoded_size());
		out.push(STATE_VERSION);
		self.encode_to(&mut out);
		out
	}

	/// Inverse of [`Self::to_bytes`]; refuses other versions and trailing bytes.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, ExecError> {
		let (&version, mut rest) =
			bytes.split_first().ok_or_else(|| ExecError::MalformedState("empty".into()))?;
		if version != STATE_VERSION {
			return Err(ExecError::UnsupportedStateVersion(version));
		}
		let state =
			Self::decode(&mut rest).map_err(|e| ExecError::MalformedState(e.to_string()))?;
		if !rest.is_empty() {
			return Err(ExecError::TrailingStateBytes(rest.len()));
		}
		Ok(state)
	}

	/// Decodes a snapshot's state and checks it is the state the snapshot is labelled with.
	pub fn from_snapshot(snapshot: &Snapshot) -> Result<Self, ExecError> {
		let state = Self::from_bytes(&snapshot.state)?;
		if state.block_number != snapshot.block_number {
			return Err(ExecError::SnapshotBlockMismatch {
				snapshot: snapshot.block_number,
				state: state.block_number,
			});
		}
		if state.state_hash != snapshot.state_hash {
			return Err(ExecError::SnapshotHashMismatch);
		}
		Ok(state)
	}

	/// Writes this state as the store's latest snapshot, encrypted with `state_key`.
	pub fn write_to(
		&self,
		store: &Store,
		state_key: &StateKey,
		written_by: &Measurement,
	) -> Result<(), StoreError> {
		let bytes = Zeroizing::new(self.to_bytes());
		store.write_snapshot(state_key, written_by, self.block_number, &self.state_hash, &bytes)
	}
}

impl fmt::Debug for ExecutedState {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("ExecutedState")
			.field("genesis_hash", &hex::encode(self.genesis_hash))
			.field("block_number", &self.block_number)
			.field("block_hash", &hex::encode(self.block_hash))
			.field("state_hash", &hex::encode(self.state_hash))
			.field("applied_total", &self.applied_total)
			.field("skipped_total", &self.skipped_total)
			.field("state", &self.state)
			.finish()
	}
}

fn next_state_hash(
	previous: &[u8; 32],
	block_number: u64,
	block_hash: &[u8; 32],
	receipts: &[([u8; 32], bool)],
) -> [u8; 32] {
	let mut preimage = Vec::with_capacity(STATE_TAG.len() + 32 + 8 + 32 + 5 + 33 * receipts.len());
	preimage.extend_from_slice(STATE_TAG);
	preimage.extend_from_slice(previous);
	preimage.extend_from_slice(&block_number.to_le_bytes());
	preimage.extend_from_slice(block_hash);
	receipts.encode_to(&mut preimage);
	blake2_256(&preimage)
}

/// The reference execution: every block from genesis, in order, as `(number, parent_hash,
/// block_hash, calls)`. A worker that executed the same blocks, across any number of
/// upgrades, must hold exactly this state.
pub fn replay(
	genesis_hash: [u8; 32],
	key: &ShieldingKey,
	blocks: impl IntoIterator<Item = (u64, [u8; 32], [u8; 32], Vec<Vec<u8>>)>,
) -> Result<ExecutedState, ExecError> {
	let mut state = ExecutedState::genesis(genesis_hash);
	for (number, parent_hash, block_hash, calls) in blocks {
		state.apply_block(key, number, parent_hash, block_hash, &calls)?;
	}
	Ok(state)
}
