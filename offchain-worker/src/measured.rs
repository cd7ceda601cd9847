//! What the enclave's measurement covers besides its code: the attestation policy it judges
//! peers by, and the names of the pallets it reads.
//!
//! Both are constants of this build, never host input: a flag, a file or an environment
//! variable read at run time would let the host that runs the enclave choose who gets the keys
//! (accept debug enclaves or out-of-date platforms) or what the chain says (read a renamed or
//! empty pallet). Compiled in, they are part of the binary that MRENCLAVE (or the TD identity)
//! measures: a build with another policy is another measurement, which governance must schedule
//! on chain like any other build. `enclave-update-cli policy` prints what this build enforces, so
//! that the people voting on a measurement can read it.
//!
//! To ship another policy, edit the constants below (pins as byte literals, e.g.
//! `Some(hex_literal::hex!("…"))`), build, and schedule the new measurement.
//!
//! Builds with the `dev-tee` feature (the devnet, the tests) additionally accept the simulated
//! quotes of [`crate::tee::sim`]: they simulate the TEE only, and verify finality and read the
//! chain exactly as production builds do. A build without it has no code path that accepts
//! simulated evidence.

use crate::attestation::{AttestationPolicy, TcbStatus};

/// TCB statuses accepted for a peer's platform. `Revoked` is refused whatever is listed.
pub const ACCEPTED_TCB_STATUSES: &[TcbStatus] = &[TcbStatus::UpToDate];

/// Intel advisory ids that make a peer's quote refused even with an accepted status.
pub const REJECTED_ADVISORIES: &[&str] = &[];

/// Debug enclaves are refused: the host can read their memory.
pub const ALLOW_DEBUG: bool = false;

/// TDs without SEPT_VE_DISABLE are refused (see [`AttestationPolicy`]).
pub const ALLOW_TD_WITHOUT_SEPT_VE_DISABLE: bool = false;

/// TDs bound to a service TD are refused (see [`AttestationPolicy`]).
pub const ALLOW_SERVICE_TD: bool = false;

/// The MRSIGNER every peer must have, if pinned.
pub const MRSIGNER: Option<[u8; 32]> = None;

/// The ISV product id every peer must have, if pinned.
pub const PRODUCT_ID: Option<u16> = None;

/// The lowest ISV SVN a peer may have, if any.
pub const MIN_SVN: Option<u16> = None;

/// Whether this build accepts simulated quotes (only with the `dev-tee` feature).
pub const ACCEPTS_SIMULATED_EVIDENCE: bool = cfg!(feature = "dev-tee");

pub use crate::chain::{
	proof::{INBOX_PALLET_NAME, PALLET_NAME, TIMESTAMP_PALLET_NAME},
	rpc::GRANDPA_PALLET_NAME,
};

/// The attestation policy of this build, from the constants above: what `run` and
/// `request-keys` judge every peer by.
pub fn policy() -> AttestationPolicy {
	AttestationPolicy {
		accepted_tcb_statuses: ACCEPTED_TCB_STATUSES.iter().copied().collect(),
		rejected_advisories: REJECTED_ADVISORIES.iter().map(|id| id.to_string()).collect(),
		allow_debug: ALLOW_DEBUG,
		allow_td_without_sept_ve_disable: ALLOW_TD_WITHOUT_SEPT_VE_DISABLE,
		allow_service_td: ALLOW_SERVICE_TD,
		#[cfg(feature = "dev-tee")]
		dev_mode: true,
		mrsigner: MRSIGNER.map(|signer| signer.to_vec()),
		product_id: PRODUCT_ID,
		min_svn: MIN_SVN,
	}
}

/// Everything [`policy`] and the pallet names say, for `enclave-update-cli policy`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MeasuredConfiguration {
	/// The attestation policy.
	pub policy: AttestationPolicy,
	/// Whether simulated quotes are accepted (a `dev-tee` build).
	pub accepts_simulated_evidence: bool,
	/// The pallets read, by their `construct_runtime!` names.
	pub pallets: PalletNames,
}

/// The `construct_runtime!` names of the pallets this build reads.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PalletNames {
	/// The EnclaveUpdate pallet (the schedule).
	pub enclave_update: &'static str,
	/// The shielded-call inbox.
	pub inbox: &'static str,
	/// pallet-grandpa (the light client's checkpoint).
	pub grandpa: &'static str,
	/// pallet-timestamp (chain time).
	pub timestamp: &'static str,
}

/// This build's measured configuration.
pub fn configuration() -> MeasuredConfiguration {
	MeasuredConfiguration {
		policy: policy(),
		accepts_simulated_evidence: ACCEPTS_SIMULATED_EVIDENCE,
		pallets: PalletNames {
			enclave_update: PALLET_NAME,
			inbox: INBOX_PALLET_NAME,
			grandpa: GRANDPA_PALLET_NAME,
			timestamp: TIMESTAMP_PALLET_NAME,
		},
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_measured_policy_is_the_strict_default() {
		let policy = policy();
		assert_eq!(policy.accepts_simulated(), cfg!(feature = "dev-tee"));
		#[cfg(feature = "dev-tee")]
		let policy = AttestationPolicy { dev_mode: false, ..policy };
		assert_eq!(policy, AttestationPolicy::default());
	}
}
