//! What a predecessor commits to at its cut-over, on chain: the state after its last block.
//!
//! At the cut-over to a successor scheduled for block `XYZ`, the predecessor executes up to
//! `XYZ − 1` and stops; its final snapshot is what the successor continues from. The snapshot
//! travels between the two workers, so on its own it is bound to nothing on chain: any holder of
//! the state key could write one. The predecessor therefore signs a [`CutOverCommitment`] with its
//! registered enclave key, its operator submits it (`EnclaveRegistry::commit_cut_over`, which
//! checks the signature against the registered key, the block against the schedule and the block
//! hash against the chain), and the successor compares the snapshot it fetched with it before it
//! executes `XYZ`.
//!
//! The signed message is [`CUT_OVER_TAG`] followed by the SCALE encoding of the commitment.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

use crate::Measurement;

/// The domain-separation tag that starts a cut-over commitment's signed message.
pub const CUT_OVER_TAG: &[u8] = b"enclave-update/cut-over/v1";

/// The state a predecessor handed over at its cut-over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo)]
pub struct CutOverCommitment<BlockNumber> {
	/// The predecessor's measurement.
	pub measurement: Measurement,
	/// Its last block, `XYZ − 1`.
	pub last_block: BlockNumber,
	/// That block's hash.
	pub block_hash: [u8; 32],
	/// The state hash after that block (the executed state's hash chain).
	pub state_hash: [u8; 32],
}

impl<BlockNumber: Encode> CutOverCommitment<BlockNumber> {
	/// The message the predecessor's enclave key signs.
	pub fn message(&self) -> Vec<u8> {
		let mut message = CUT_OVER_TAG.to_vec();
		self.encode_to(&mut message);
		message
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_message_covers_every_field_under_the_tag() {
		let commitment = CutOverCommitment {
			measurement: Measurement::MrEnclave([1; 32]),
			last_block: 56u32,
			block_hash: [2; 32],
			state_hash: [3; 32],
		};
		let message = commitment.message();
		assert!(message.starts_with(CUT_OVER_TAG));
		for other in [
			CutOverCommitment { measurement: Measurement::MrEnclave([9; 32]), ..commitment },
			CutOverCommitment { last_block: 57, ..commitment },
			CutOverCommitment { block_hash: [9; 32], ..commitment },
			CutOverCommitment { state_hash: [9; 32], ..commitment },
		] {
			assert_ne!(other.message(), message);
		}
	}
}
