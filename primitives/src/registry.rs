//! The types of the enclave registry (`pallet-enclave-registry`) that its runtime API and
//! the worker share: what verified evidence proves.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

use crate::Measurement;

/// What produced a registered enclave's evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo)]
pub enum EvidenceKind {
	/// An SGX DCAP quote.
	Sgx,
	/// A TDX DCAP quote.
	Tdx,
	/// A simulated quote (development chains only, see the registry's `SimulatedEvidence`).
	Simulated,
}

/// TCB status from Intel's collateral (dcap-qvl's statuses): as the chain records it, and as the
/// worker's attestation policy accepts or refuses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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

impl TcbStatus {
	/// The statuses Intel's collateral gives (every one but [`TcbStatus::Simulated`]).
	pub const FROM_COLLATERAL: [TcbStatus; 9] = [
		Self::UpToDate,
		Self::SWHardeningNeeded,
		Self::ConfigurationNeeded,
		Self::ConfigurationAndSWHardeningNeeded,
		Self::OutOfDate,
		Self::OutOfDateConfigurationNeeded,
		Self::TDRelaunchAdvised,
		Self::TDRelaunchAdvisedConfigurationNeeded,
		Self::Revoked,
	];

	/// The status's name, as Intel's collateral and dcap-qvl spell it.
	pub fn name(&self) -> &'static str {
		match self {
			Self::UpToDate => "UpToDate",
			Self::SWHardeningNeeded => "SWHardeningNeeded",
			Self::ConfigurationNeeded => "ConfigurationNeeded",
			Self::ConfigurationAndSWHardeningNeeded => "ConfigurationAndSWHardeningNeeded",
			Self::OutOfDate => "OutOfDate",
			Self::OutOfDateConfigurationNeeded => "OutOfDateConfigurationNeeded",
			Self::TDRelaunchAdvised => "TDRelaunchAdvised",
			Self::TDRelaunchAdvisedConfigurationNeeded => "TDRelaunchAdvisedConfigurationNeeded",
			Self::Revoked => "Revoked",
			Self::Simulated => "Simulated",
		}
	}

	/// The collateral's status of that name (dcap-qvl's `VerifiedReport::status`).
	pub fn from_collateral_name(name: &str) -> Option<Self> {
		Self::FROM_COLLATERAL.into_iter().find(|status| status.name() == name)
	}
}

impl core::fmt::Display for TcbStatus {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		f.write_str(self.name())
	}
}

/// A status of the collateral as an operator writes it: its name in any case (`uptodate` is
/// [`TcbStatus::UpToDate`]). [`TcbStatus::Simulated`] is none of them and does not parse.
impl core::str::FromStr for TcbStatus {
	type Err = alloc::string::String;

	fn from_str(s: &str) -> Result<Self, Self::Err> {
		Self::FROM_COLLATERAL
			.into_iter()
			.find(|status| status.name().eq_ignore_ascii_case(s))
			.ok_or_else(|| alloc::format!("unknown TCB status {s:?}"))
	}
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

#[cfg(test)]
mod tests {
	use super::TcbStatus;

	#[test]
	fn collateral_names_round_trip_and_simulated_is_none_of_them() {
		for status in TcbStatus::FROM_COLLATERAL {
			assert_eq!(TcbStatus::from_collateral_name(status.name()), Some(status));
		}
		assert_eq!(TcbStatus::from_collateral_name("Simulated"), None);
		assert_eq!(TcbStatus::from_collateral_name("uptodate"), None);
	}

	#[test]
	fn an_operator_writes_a_status_in_any_case_and_never_simulated() {
		for status in TcbStatus::FROM_COLLATERAL {
			assert_eq!(status.name().to_lowercase().parse::<TcbStatus>(), Ok(status));
			assert_eq!(status.to_string(), status.name());
		}
		assert_eq!(
			"Simulated".parse::<TcbStatus>(),
			Err(alloc::string::String::from("unknown TCB status \"Simulated\""))
		);
	}
}

/// A registered enclave: the record `pallet-enclave-registry` keeps in its `Enclaves` map, by
/// the account that registered it, and that the worker reads there with a storage proof. `Url`
/// is the runtime's bounded vector in the pallet and a plain vector in the worker: both encode
/// alike, so the two read and write one layout.
#[derive(Clone, Debug, PartialEq, Eq)]
#[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo)]
pub struct EnclaveRecord<Url, BlockNumber> {
	/// What produced its evidence.
	pub kind: EvidenceKind,
	/// Its measurement.
	pub measurement: Measurement,
	/// Its Ed25519 signing key.
	pub signing_key: [u8; 32],
	/// Where its provisioning service listens (as registered; not attested).
	pub url: Url,
	/// The shielding public key users encrypt their calls to.
	pub shielding_key: [u8; 32],
	/// The checksum of the key set it holds: the chain's one key set (the registry's `KeySet`).
	pub key_set_checksum: [u8; 32],
	/// The block of its first registration.
	pub registered_at: BlockNumber,
	/// The block of its last (re-)attestation.
	pub attested_at: BlockNumber,
	/// The TCB status of that attestation.
	pub tcb_status: TcbStatus,
	/// The hash of that attestation's quote.
	pub evidence_hash: [u8; 32],
}
