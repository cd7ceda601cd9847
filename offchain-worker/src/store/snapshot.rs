//! State snapshots: the executed state after a block, encrypted with the state key (not the
//! sealing key), so that a successor provisioned with that key reads what its predecessor wrote.

use enclave_update_primitives::Measurement;

use super::{
	format::{decode_file, encode_file_with, FileKind},
	StoreError,
};
use crate::keys::StateKey;

const SNAPSHOT_PREFIX_LEN: usize = 8 + 32;

/// A state snapshot: the encrypted state after processing `block_number`.
#[derive(Clone, PartialEq, Eq)]
pub struct Snapshot {
	/// The last block whose effects are in `state`.
	pub block_number: u64,
	/// The state hash after that block, which the successor chains on.
	pub state_hash: [u8; 32],
	/// The serialized state.
	pub state: Vec<u8>,
	/// The enclave that wrote it.
	pub written_by: Measurement,
}

impl std::fmt::Debug for Snapshot {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		// The state is confidential: show its size only.
		f.debug_struct("Snapshot")
			.field("block_number", &self.block_number)
			.field("state_hash", &hex::encode(self.state_hash))
			.field("state_len", &self.state.len())
			.field("written_by", &self.written_by)
			.finish()
	}
}

/// Encodes a snapshot file in memory (used by [`super::Store::write_snapshot`] and benchmarks).
pub fn encode_snapshot(
	state_key: &StateKey,
	written_by: &Measurement,
	block_number: u64,
	state_hash: &[u8; 32],
	state: &[u8],
) -> Result<Vec<u8>, StoreError> {
	encode_file_with(
		state_key.expose_secret(),
		FileKind::StateSnapshot,
		written_by,
		SNAPSHOT_PREFIX_LEN + state.len(),
		|buf| {
			buf[..8].copy_from_slice(&block_number.to_le_bytes());
			buf[8..SNAPSHOT_PREFIX_LEN].copy_from_slice(state_hash);
			buf[SNAPSHOT_PREFIX_LEN..].copy_from_slice(state);
		},
	)
}

/// Decodes a snapshot file in memory (inverse of [`encode_snapshot`]).
pub fn decode_snapshot(state_key: &StateKey, mut bytes: Vec<u8>) -> Result<Snapshot, StoreError> {
	let written_by = decode_file(state_key.expose_secret(), &mut bytes, FileKind::StateSnapshot)?;
	if bytes.len() < SNAPSHOT_PREFIX_LEN {
		return Err(StoreError::InvalidPayload("snapshot shorter than its prefix".into()));
	}
	let mut number = [0u8; 8];
	number.copy_from_slice(&bytes[..8]);
	let mut state_hash = [0u8; 32];
	state_hash.copy_from_slice(&bytes[8..SNAPSHOT_PREFIX_LEN]);
	bytes.drain(..SNAPSHOT_PREFIX_LEN);
	Ok(Snapshot { block_number: u64::from_le_bytes(number), state_hash, state: bytes, written_by })
}
