//! The types of the enclave registry (`pallet-enclave-registry`) that its runtime API and
//! the worker share: what verified evidence proves.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

use crate::Measurement;

/// What produced a registered enclave's evidence.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
pub enum EvidenceKind {
	/// An SGX DCAP quote.
	Sgx,
	/// A TDX DCAP quote.
	Tdx,
	/// A simulated quote (development chains only, see the registry's `SimulatedEvidence`).
	Simulated,
}

/// TCB status from Intel's collateral, as the chain records it (dcap-qvl's statuses).
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
pub enum TcbStatus {
	/// Fully patched.
	UpToDate,
	/// Patched, but the enclave needs software hardening (e.g. against LVI).
	SWHardeningNeeded,
	/// Patched, but the platform needs configuration (e.g. disable SMT).
	ConfigurationNeeded,
	/// Both of the above.
	ConfigurationAndSWHardeningNeeded,
	/// Microcode or SVNs are behind.
	OutOfDate,
	/// Out of date and needs configuration.
	OutOfDateConfigurationNeeded,
	/// TD 1.5: launched out of date, currently up to date; a relaunch is advised.
	TDRelaunchAdvised,
	/// As above, with configuration needed.
	TDRelaunchAdvisedConfigurationNeeded,
	/// Revoked.
	Revoked,
	/// A simulated quote: there is no TCB to evaluate.
	Simulated,
}

/// What verified evidence proves.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct AttestedEnclave {
	/// What produced the evidence.
	pub kind: EvidenceKind,
	/// MRENCLAVE (SGX, simulated SGX) or the TD identity digest (TDX).
	pub measurement: Measurement,
	/// MRSIGNER (SGX and simulated quotes); a TD has none.
	pub signer: Option<[u8; 32]>,
	/// Whether the enclave or TD runs in debug mode.
	pub debug: bool,
	/// The TCB status the collateral gives the platform.
	pub tcb_status: TcbStatus,
	/// The 64 bytes of report data the quote binds.
	pub report_data: [u8; 64],
	/// BLAKE2-256 of what the quote's signature covers (header and report body, as parsed):
	/// the same for every encoding of one quote.
	pub evidence_hash: [u8; 32],
}
