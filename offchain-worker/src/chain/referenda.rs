//! Referenda that would change the enclave schedule: the ongoing entries of pallet-referenda's
//! `ReferendumInfoFor` on the enclave tracks, decoded for an operator's view (`enclave-worker
//! schedule`). What the worker *acts* on is the schedule itself, read with proofs
//! ([`super::VerifiedSchedule`]); a pending referendum only says what may come.
//!
//! The value of an ongoing referendum is, in SCALE: the `Ongoing` variant (0), the track id
//! (`u16`), the origin, the proposal (`Bounded<Call>`), the enactment (`DispatchTime`), the
//! submission block, the submission deposit, the optional decision deposit, the optional
//! deciding status, the tally (ayes, nays, support as `u128`), `in_queue` and the optional
//! alarm. The origin is the one part whose encoding depends on the runtime: on the enclave
//! tracks it is a unit variant of the runtime's custom origins, two bytes (the pallet's index in
//! `OriginCaller`, the variant). Other tracks' referenda are left out rather than guessed at.

use super::BlockNumber;
use codec::{Decode, Input};
use enclave_update_primitives::Measurement;

/// The prefix of pallet-referenda's `ReferendumInfoFor` map for the pallet named `pallet`
/// (`Referenda` in the dev runtime): its keys are this, then `blake2_128(index) ++ index`.
pub fn referendum_info_prefix(pallet: &str) -> Vec<u8> {
	use sp_crypto_hashing::twox_128;
	[twox_128(pallet.as_bytes()), twox_128(b"ReferendumInfoFor")].concat()
}

/// The referendum index at the end of a `ReferendumInfoFor` key (`Blake2_128Concat`).
pub fn index_of_key(prefix: &[u8], key: &[u8]) -> Option<u32> {
	let rest = key.strip_prefix(prefix)?.get(16..)?;
	u32::decode(&mut &rest[..]).ok().filter(|_| rest.len() == 4)
}

/// An EnclaveUpdate call, decoded from a proposal's call data.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "call")]
pub enum EnclaveCall {
	/// `schedule_enclave(measurement, activates_at)`.
	ScheduleEnclave {
		/// The build to schedule.
		measurement: Measurement,
		/// Its activation block.
		activates_at: BlockNumber,
	},
	/// `cancel_scheduled(measurement)`.
	CancelScheduled {
		/// The build to take off the schedule.
		measurement: Measurement,
	},
	/// `retire_enclave(measurement)`.
	RetireEnclave {
		/// The build to retire.
		measurement: Measurement,
	},
}

impl EnclaveCall {
	/// Decodes `call_data` as a call of the EnclaveUpdate pallet at `pallet_index`: `None` for
	/// another pallet's call, or one that does not decode exactly.
	pub fn decode(call_data: &[u8], pallet_index: u8) -> Option<Self> {
		let (&[pallet, call], mut args) = call_data.split_first_chunk::<2>()?;
		if pallet != pallet_index {
			return None;
		}
		let decoded = match call {
			0 => EnclaveCall::ScheduleEnclave {
				measurement: Measurement::decode(&mut args).ok()?,
				activates_at: BlockNumber::decode(&mut args).ok()?,
			},
			1 => EnclaveCall::CancelScheduled { measurement: Measurement::decode(&mut args).ok()? },
			2 => EnclaveCall::RetireEnclave { measurement: Measurement::decode(&mut args).ok()? },
			_ => return None,
		};
		args.is_empty().then_some(decoded)
	}
}

/// What a referendum proposes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Proposal {
	/// The call is in the referendum, and is an EnclaveUpdate call.
	Enclave(EnclaveCall),
	/// The call is in the referendum but is no EnclaveUpdate call (it would fail with
	/// `BadOrigin`, or is another pallet's).
	Other {
		/// Its call data, hex.
		call_data: String,
	},
	/// Only the call's hash is in the referendum; the call is a preimage.
	Preimage {
		/// `blake2_256` of the call data, hex.
		hash: String,
		/// Its length, when the referendum records it.
		len: Option<u32>,
	},
}

/// An ongoing referendum on one of the enclave tracks.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PendingReferendum {
	/// Its index.
	pub index: u32,
	/// Its track's id.
	pub track: u16,
	/// What it would dispatch.
	pub proposal: Proposal,
	/// The block it was submitted in.
	pub submitted: BlockNumber,
	/// Whether the decision deposit is placed (without it, it is never decided).
	pub decision_deposit_placed: bool,
	/// Since when it is being decided.
	pub deciding_since: Option<BlockNumber>,
	/// The block its confirmation ends at, while it is confirming.
	pub confirming_until: Option<BlockNumber>,
	/// Conviction-weighted aye votes.
	pub ayes: u128,
	/// Conviction-weighted nay votes.
	pub nays: u128,
	/// Aye votes before conviction: the support.
	pub support: u128,
}

/// Decodes the `ReferendumInfoFor` value of referendum `index`: `Ok(None)` when it is over, or
/// on a track outside `tracks` (whose origin this decoder cannot skip).
pub fn decode_pending(
	index: u32,
	value: &[u8],
	tracks: &[u16],
	pallet_index: u8,
) -> Result<Option<PendingReferendum>, codec::Error> {
	let input = &mut &value[..];
	if u8::decode(input)? != 0 {
		return Ok(None);
	}
	let track = u16::decode(input)?;
	if !tracks.contains(&track) {
		return Ok(None);
	}
	let _origin = <[u8; 2]>::decode(input)?;
	let proposal = match u8::decode(input)? {
		// Legacy { hash }
		0 => Proposal::Preimage { hash: hex(&<[u8; 32]>::decode(input)?), len: None },
		// Inline(call data)
		1 => {
			let call_data = Vec::<u8>::decode(input)?;
			match EnclaveCall::decode(&call_data, pallet_index) {
				Some(call) => Proposal::Enclave(call),
				None => Proposal::Other { call_data: hex(&call_data) },
			}
		},
		// Lookup { hash, len }
		2 => Proposal::Preimage {
			hash: hex(&<[u8; 32]>::decode(input)?),
			len: Some(u32::decode(input)?),
		},
		_ => return Err("an unknown Bounded variant".into()),
	};
	let _enactment = (u8::decode(input)?, BlockNumber::decode(input)?);
	let submitted = BlockNumber::decode(input)?;
	let _submission_deposit = <([u8; 32], u128)>::decode(input)?;
	let decision_deposit = Option::<([u8; 32], u128)>::decode(input)?;
	let deciding = Option::<(BlockNumber, Option<BlockNumber>)>::decode(input)?;
	let (ayes, nays, support) = <(u128, u128, u128)>::decode(input)?;
	let _in_queue = bool::decode(input)?;
	let _alarm = Option::<(BlockNumber, (BlockNumber, u32))>::decode(input)?;
	if input.remaining_len()? != Some(0) {
		return Err("trailing bytes after a referendum".into());
	}
	Ok(Some(PendingReferendum {
		index,
		track,
		proposal,
		submitted,
		decision_deposit_placed: decision_deposit.is_some(),
		deciding_since: deciding.map(|(since, _)| since),
		confirming_until: deciding.and_then(|(_, confirming)| confirming),
		ayes,
		nays,
		support,
	}))
}

fn hex(bytes: &[u8]) -> String {
	format!("0x{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
	use super::*;
	use assert_matches::assert_matches;
	use codec::Encode;

	const PALLET: u8 = 10;

	fn schedule_call_data(byte: u8, at: u32) -> Vec<u8> {
		let mut data = vec![PALLET, 0];
		Measurement::MrEnclave([byte; 32]).encode_to(&mut data);
		at.encode_to(&mut data);
		data
	}

	/// An ongoing referendum's value laid out as pallet-referenda encodes it.
	fn ongoing(track: u16, proposal: Vec<u8>, deciding: Option<(u32, Option<u32>)>) -> Vec<u8> {
		let mut value = vec![0u8];
		track.encode_to(&mut value);
		[17u8, 0].encode_to(&mut value); // Origins::EnclaveAdmin
		value.extend(proposal);
		(1u8, 0u32).encode_to(&mut value); // After(0)
		7u32.encode_to(&mut value);
		([4u8; 32], 1u128).encode_to(&mut value);
		Some(([2u8; 32], 100u128)).encode_to(&mut value);
		deciding.encode_to(&mut value);
		(30u128, 10u128, 25u128).encode_to(&mut value);
		false.encode_to(&mut value);
		Some((12u32, (12u32, 0u32))).encode_to(&mut value);
		value
	}

	fn inline(call_data: Vec<u8>) -> Vec<u8> {
		let mut proposal = vec![1u8];
		call_data.encode_to(&mut proposal);
		proposal
	}

	#[test]
	fn an_inline_schedule_on_an_enclave_track_decodes() {
		let value = ongoing(0, inline(schedule_call_data(0xd0, 500)), Some((9, Some(12))));
		let pending = decode_pending(3, &value, &[0, 1], PALLET).unwrap().unwrap();
		assert_eq!(
			pending,
			PendingReferendum {
				index: 3,
				track: 0,
				proposal: Proposal::Enclave(EnclaveCall::ScheduleEnclave {
					measurement: Measurement::MrEnclave([0xd0; 32]),
					activates_at: 500
				}),
				submitted: 7,
				decision_deposit_placed: true,
				deciding_since: Some(9),
				confirming_until: Some(12),
				ayes: 30,
				nays: 10,
				support: 25,
			}
		);
	}

	#[test]
	fn preimages_other_calls_other_tracks_and_finished_referenda() {
		let mut lookup = vec![2u8];
		([9u8; 32], 39u32).encode_to(&mut lookup);
		let pending = decode_pending(0, &ongoing(1, lookup, None), &[0, 1], PALLET).unwrap();
		assert_eq!(
			pending.unwrap().proposal,
			Proposal::Preimage { hash: format!("0x{}", "09".repeat(32)), len: Some(39) }
		);
		// Another pallet's call, and one with trailing bytes, are not taken for enclave calls.
		let mut other = schedule_call_data(0xd0, 500);
		other[0] = 4;
		let pending = decode_pending(0, &ongoing(0, inline(other), None), &[0], PALLET).unwrap();
		assert_matches!(pending.unwrap().proposal, Proposal::Other { .. });
		let mut longer = schedule_call_data(0xd0, 500);
		longer.push(0);
		assert_eq!(EnclaveCall::decode(&longer, PALLET), None);
		// A referendum on another track is left out; so is one that is over (`Approved`).
		let value = ongoing(5, inline(schedule_call_data(1, 2)), None);
		assert_eq!(decode_pending(0, &value, &[0, 1], PALLET).unwrap(), None);
		let approved =
			(1u8, 20u32, Option::<([u8; 32], u128)>::None, Option::<([u8; 32], u128)>::None)
				.encode();
		assert_eq!(decode_pending(0, &approved, &[0, 1], PALLET).unwrap(), None);
	}

	#[test]
	fn truncated_or_padded_values_are_errors() {
		let value = ongoing(0, inline(schedule_call_data(0xd0, 500)), None);
		for len in 1..value.len() {
			assert!(decode_pending(0, &value[..len], &[0], PALLET).is_err(), "{len}");
		}
		let mut padded = value.clone();
		padded.push(0);
		assert!(decode_pending(0, &padded, &[0], PALLET).is_err());
	}

	#[test]
	fn keys_give_their_index() {
		let prefix = referendum_info_prefix("Referenda");
		let key = [&prefix[..], &[0u8; 16], &7u32.encode()].concat();
		assert_eq!(index_of_key(&prefix, &key), Some(7));
		assert_eq!(index_of_key(&prefix, &key[..key.len() - 1]), None);
		assert_eq!(index_of_key(&[1, 2], &key), None);
	}
}
