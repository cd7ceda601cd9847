//! # enclave-update primitives
//!
//! The types that the `EnclaveUpdate` pallet stores and the enclave worker reads, and the one
//! function that decides whether an enclave may hand its secrets to another:
//! [`provisioning_decision`].
//!
//! The pallet's runtime API and the worker running inside the TEE both call
//! [`provisioning_decision`] over the same [`ScheduleView`], so the chain and the enclave cannot
//! disagree about who is allowed to receive the shielding key and the state-encryption key.
//!
//! ## Model
//!
//! - Exactly one measurement is *active* at a time ([`ActiveEnclave`]): it produces state.
//! - Governance schedules successors ([`ScheduledEnclave`]) for strictly increasing future blocks.
//!   At its `activates_at` block a scheduled measurement becomes active and the previous one is
//!   *superseded* ([`SupersededEnclave`]).
//! - A measurement can be *retired* (emergency revocation after a TEE vulnerability): a retired
//!   measurement never provides nor receives keys again.
//!
//! A provider may hand its keys to a requester when (see [`Allowed`]):
//! - both have the same measurement and the provider is active, or scheduled
//!   ([`Allowed::Replication`]: a wiped node re-provisioned from a running peer);
//! - the provider is active and the requester is the *next* scheduled measurement, before its
//!   activation block ([`Allowed::ScheduledSuccessor`]);
//! - the provider was superseded by the most recent activation and the requester is the active
//!   measurement ([`Allowed::PredecessorToActive`]: a successor node that missed the hand-over
//!   before the cut-over block still gets the keys, so they are never lost).
//!
//! Everything else is denied with a specific [`Denied`] reason.
//!
//! ## Measurements
//!
//! An SGX build is measured by its MRENCLAVE. A TDX build is measured by its TD identity, one
//! versioned digest over MRTD, RTMR0–3, MRCONFIGID, MROWNER, MROWNERCONFIG and the TD
//! attributes, defined in [`tdx`] alone so that the chain, the worker and tools agree on it.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use core::{fmt, str::FromStr};
use scale_info::TypeInfo;

pub mod cut_over;
pub mod registration;
pub mod registry;
pub mod sim_quote;
pub mod tdx;

pub use cut_over::CutOverCommitment;
pub use registration::RegistrationBinding;
pub use tdx::{TdIdentityFields, TD_IDENTITY_LEN};

/// Length of an SGX MRENCLAVE in bytes.
pub const MRENCLAVE_LEN: usize = 32;

/// The measurement of a TEE build: what a sealing key and a remote attestation are bound to.
///
/// Written and parsed as `0x`-prefixed hex; the length tells the kind (32 bytes: SGX MRENCLAVE,
/// 48 bytes: TDX identity digest). The SCALE encoding is a one-byte variant index (0: SGX, 1:
/// TDX) followed by the bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo)]
pub enum Measurement {
	/// An SGX enclave's MRENCLAVE.
	MrEnclave([u8; MRENCLAVE_LEN]),
	/// A TDX trust domain's identity: the digest of [`tdx`] over MRTD, RTMR0–3, MRCONFIGID,
	/// MROWNER, MROWNERCONFIG and the TD attributes ([`TdIdentityFields::measurement`]). Not
	/// MRTD: that names only the firmware, which every TD booted with it shares.
	TdIdentity([u8; TD_IDENTITY_LEN]),
}

impl Measurement {
	/// The raw measurement bytes (32 for SGX, 48 for TDX).
	pub fn as_bytes(&self) -> &[u8] {
		match self {
			Measurement::MrEnclave(m) => m,
			Measurement::TdIdentity(m) => m,
		}
	}

	/// Builds a measurement from raw bytes; the length selects SGX (32) or TDX (48).
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, ParseMeasurementError> {
		match bytes.len() {
			MRENCLAVE_LEN => {
				let mut m = [0u8; MRENCLAVE_LEN];
				m.copy_from_slice(bytes);
				Ok(Measurement::MrEnclave(m))
			},
			TD_IDENTITY_LEN => {
				let mut m = [0u8; TD_IDENTITY_LEN];
				m.copy_from_slice(bytes);
				Ok(Measurement::TdIdentity(m))
			},
			len => Err(ParseMeasurementError::BadLength(len)),
		}
	}

	/// One byte naming the kind of measurement (1 = MRENCLAVE, 2 = TDX identity digest), which
	/// the worker puts in its key derivations, quotes and file headers. Part of those formats:
	/// never renumbered.
	pub fn tag(&self) -> u8 {
		match self {
			Measurement::MrEnclave(_) => 1,
			Measurement::TdIdentity(_) => 2,
		}
	}

	/// A short human name of the kind of measurement.
	pub fn kind(&self) -> &'static str {
		match self {
			Measurement::MrEnclave(_) => "sgx-mrenclave",
			Measurement::TdIdentity(_) => "tdx-identity",
		}
	}
}

impl fmt::Display for Measurement {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str("0x")?;
		for byte in self.as_bytes() {
			write!(f, "{byte:02x}")?;
		}
		Ok(())
	}
}

impl fmt::Debug for Measurement {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "{}({self})", self.kind())
	}
}

/// Why a string is not a [`Measurement`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParseMeasurementError {
	/// The string is not hex (an optional `0x` prefix followed by hex digits).
	NotHex,
	/// The decoded length is neither 32 (SGX MRENCLAVE) nor 48 (TDX identity digest) bytes.
	BadLength(usize),
}

impl fmt::Display for ParseMeasurementError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			ParseMeasurementError::NotHex => f.write_str("measurement is not hex"),
			ParseMeasurementError::BadLength(len) => write!(
				f,
				"measurement has {len} bytes; expected {MRENCLAVE_LEN} (SGX MRENCLAVE) or {TD_IDENTITY_LEN} (TDX identity digest)"
			),
		}
	}
}

#[cfg(feature = "std")]
impl std::error::Error for ParseMeasurementError {}

impl FromStr for Measurement {
	type Err = ParseMeasurementError;

	fn from_str(s: &str) -> Result<Self, Self::Err> {
		let digits = s.strip_prefix("0x").unwrap_or(s);
		let mut bytes = [0u8; TD_IDENTITY_LEN];
		let len = digits.len() / 2;
		if digits.len() % 2 != 0 || len > TD_IDENTITY_LEN {
			return Err(if digits.bytes().all(|b| b.is_ascii_hexdigit()) {
				ParseMeasurementError::BadLength(digits.len().div_ceil(2))
			} else {
				ParseMeasurementError::NotHex
			});
		}
		hex::decode_to_slice(digits, &mut bytes[..len])
			.map_err(|_| ParseMeasurementError::NotHex)?;
		Measurement::from_bytes(&bytes[..len])
	}
}

#[cfg(feature = "serde")]
impl serde::Serialize for Measurement {
	fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
		use alloc::string::ToString;
		serializer.serialize_str(&self.to_string())
	}
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Measurement {
	fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
		let s = alloc::string::String::deserialize(deserializer)?;
		s.parse().map_err(serde::de::Error::custom)
	}
}

/// A measurement governance has allowed to become active at block `activates_at`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ScheduledEnclave<BlockNumber> {
	/// The measurement that becomes active.
	pub measurement: Measurement,
	/// The first block that the measurement produces state for (the cut-over block).
	pub activates_at: BlockNumber,
}

/// The measurement that produces state now, and the block it became active at.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ActiveEnclave<BlockNumber> {
	/// The active measurement.
	pub measurement: Measurement,
	/// The block it became active at (the genesis block for the initial enclave).
	pub since: BlockNumber,
}

/// A measurement that was active for the blocks `activated_at .. superseded_at`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SupersededEnclave<BlockNumber> {
	/// The superseded measurement.
	pub measurement: Measurement,
	/// The block it became active at.
	pub activated_at: BlockNumber,
	/// The block its successor became active at: its last block is the one before.
	pub superseded_at: BlockNumber,
}

/// A read-only view of the on-chain schedule: what [`provisioning_decision`] decides over.
///
/// The pallet builds it from its storage; the worker builds it from proof-checked storage reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ScheduleView<'a, BlockNumber> {
	/// The active measurement, `None` before any enclave was set.
	pub active: Option<ActiveEnclave<BlockNumber>>,
	/// Previously active measurements, oldest first; the last was superseded by `active`.
	pub superseded: &'a [SupersededEnclave<BlockNumber>],
	/// Scheduled successors, sorted by strictly increasing `activates_at`.
	pub scheduled: &'a [ScheduledEnclave<BlockNumber>],
	/// Retired measurements, sorted ascending (binary searched).
	pub retired: &'a [Measurement],
}

/// The schedule as it stands at one block: scheduled entries whose block has come are active.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ResolvedSchedule<'a, BlockNumber> {
	/// The measurement active at that block.
	pub active: Option<Measurement>,
	/// The measurement the active one superseded, if any.
	pub predecessor: Option<Measurement>,
	/// Successors not yet active at that block, soonest first.
	pub pending: &'a [ScheduledEnclave<BlockNumber>],
}

impl<'a, BlockNumber: Copy + Ord> ScheduleView<'a, BlockNumber> {
	/// Whether `measurement` has been retired.
	pub fn is_retired(&self, measurement: &Measurement) -> bool {
		self.retired.binary_search(measurement).is_ok()
	}

	/// The schedule as it stands at block `now`.
	///
	/// Storage is only updated when a block is initialised, so a view read at block `n` and
	/// evaluated for `now > n` may hold scheduled entries whose block has come; they count as
	/// active here, in order.
	pub fn resolve(&self, now: BlockNumber) -> ResolvedSchedule<'a, BlockNumber> {
		let activated = self.scheduled.iter().take_while(|s| s.activates_at <= now).count();
		let (due, pending) = self.scheduled.split_at(activated);
		let stored_active = self.active.map(|a| a.measurement);
		let stored_predecessor = self.superseded.last().map(|s| s.measurement);
		let (active, predecessor) = match due {
			[] => (stored_active, stored_predecessor),
			[only] => (Some(only.measurement), stored_active),
			[.., before_last, last] => (Some(last.measurement), Some(before_last.measurement)),
		};
		ResolvedSchedule { active, predecessor, pending }
	}

	/// The measurement that is (or will be, as far as the schedule says) active at `block`.
	///
	/// For a block before the active enclave's `since`, the answer comes from the bounded
	/// history: `None` when the history no longer reaches back that far.
	pub fn measurement_at(&self, block: BlockNumber) -> Option<Measurement> {
		match self.active {
			Some(active) if block < active.since => self
				.superseded
				.iter()
				.rev()
				.find(|s| s.activated_at <= block && block < s.superseded_at)
				.map(|s| s.measurement),
			_ => self.resolve(block).active,
		}
	}

	/// Whether `measurement` was active once and has been superseded by block `now`.
	///
	/// Callers pass a measurement that is not the active one at `now` (they have resolved the
	/// schedule already), so any past activation of it means it was superseded.
	fn was_superseded(&self, measurement: &Measurement, now: BlockNumber) -> bool {
		self.superseded.iter().any(|s| &s.measurement == measurement)
			|| self.active.as_ref().map(|a| &a.measurement) == Some(measurement)
			|| self
				.scheduled
				.iter()
				.take_while(|s| s.activates_at <= now)
				.any(|s| &s.measurement == measurement)
	}
}

/// Why a provider may hand its keys to a requester.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub enum Allowed<BlockNumber> {
	/// Requester and provider have the same measurement (replication to a wiped or new node of
	/// the same build), and the provider is active or scheduled.
	Replication,
	/// The provider is active and the requester is the next scheduled measurement, which
	/// becomes active at `activates_at`.
	ScheduledSuccessor {
		/// The requester's cut-over block.
		activates_at: BlockNumber,
	},
	/// The provider was superseded by the most recent activation and the requester is the
	/// active measurement: a successor node that missed the hand-over still gets the keys.
	PredecessorToActive,
}

/// Why a provider must not hand its keys to a requester.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub enum Denied {
	/// No measurement is active: nobody may provide keys.
	NoActiveEnclave,
	/// The provider's measurement was retired.
	ProviderRetired,
	/// The requester's measurement was retired.
	RequesterRetired,
	/// The provider is scheduled but not yet active: it may only replicate to its own
	/// measurement.
	ProviderNotActive,
	/// The provider was superseded; only the immediate predecessor may still hand the keys to
	/// the active measurement.
	ProviderSuperseded,
	/// The provider's measurement is neither active, scheduled nor a predecessor.
	ProviderUnknown,
	/// The requester was active once and has been superseded.
	RequesterSuperseded,
	/// The requester is scheduled, but another measurement is scheduled before it; it gets the
	/// keys from its own predecessor once that is active.
	RequesterNotNext,
	/// The requester's measurement is not in the schedule at all.
	RequesterNotScheduled,
}

impl Denied {
	/// A one-line explanation for operators.
	pub fn describe(&self) -> &'static str {
		match self {
			Denied::NoActiveEnclave => "no enclave is active on chain",
			Denied::ProviderRetired => "the provider's measurement is retired",
			Denied::RequesterRetired => "the requester's measurement is retired",
			Denied::ProviderNotActive =>
				"the provider is scheduled but not active; it may only replicate to its own measurement",
			Denied::ProviderSuperseded =>
				"the provider is superseded; only the immediate predecessor may hand keys to the active enclave",
			Denied::ProviderUnknown => "the provider's measurement is not active, scheduled or a predecessor",
			Denied::RequesterSuperseded => "the requester's measurement was superseded",
			Denied::RequesterNotNext =>
				"the requester is scheduled, but not next; it gets the keys from its predecessor",
			Denied::RequesterNotScheduled => "the requester's measurement is not scheduled",
		}
	}
}

impl fmt::Display for Denied {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str(self.describe())
	}
}

/// The answer of [`provisioning_decision`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub enum Decision<BlockNumber> {
	/// The provider may hand its keys over, for this reason.
	Allowed(Allowed<BlockNumber>),
	/// The provider must refuse, for this reason.
	Denied(Denied),
}

impl<BlockNumber> Decision<BlockNumber> {
	/// Whether the keys may be handed over.
	pub fn is_allowed(&self) -> bool {
		matches!(self, Decision::Allowed(_))
	}
}

/// May `provider` hand the shielding key and the state-encryption key to `requester` at block
/// `now`, given the on-chain `schedule`?
///
/// `now` is the latest block whose state the caller has verified; see the crate docs for the
/// rules. This is the single source of truth: the pallet's runtime API and the worker both call
/// it.
pub fn provisioning_decision<BlockNumber: Copy + Ord>(
	schedule: &ScheduleView<'_, BlockNumber>,
	provider: &Measurement,
	requester: &Measurement,
	now: BlockNumber,
) -> Decision<BlockNumber> {
	use Decision::{Allowed as Allow, Denied as Deny};

	if schedule.is_retired(provider) {
		return Deny(Denied::ProviderRetired);
	}
	if schedule.is_retired(requester) {
		return Deny(Denied::RequesterRetired);
	}
	let resolved = schedule.resolve(now);
	let Some(active) = resolved.active else {
		return Deny(Denied::NoActiveEnclave);
	};

	if provider == &active {
		if requester == provider {
			return Allow(Allowed::Replication);
		}
		return match resolved.pending.iter().position(|s| &s.measurement == requester) {
			Some(0) => Allow(Allowed::ScheduledSuccessor {
				activates_at: resolved.pending[0].activates_at,
			}),
			Some(_) => Deny(Denied::RequesterNotNext),
			None if schedule.was_superseded(requester, now) => Deny(Denied::RequesterSuperseded),
			None => Deny(Denied::RequesterNotScheduled),
		};
	}

	if resolved.pending.iter().any(|s| &s.measurement == provider) {
		return if requester == provider {
			Allow(Allowed::Replication)
		} else {
			Deny(Denied::ProviderNotActive)
		};
	}

	if resolved.predecessor.as_ref() == Some(provider) && requester == &active {
		return Allow(Allowed::PredecessorToActive);
	}
	if schedule.was_superseded(provider, now) {
		return Deny(Denied::ProviderSuperseded);
	}
	Deny(Denied::ProviderUnknown)
}

#[cfg(test)]
mod tests;
