//! The attestation policy: what a verified identity must satisfy to be trusted.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{AttestationError, EvidenceKind, PeerIdentity};
use crate::serde_hex::opt_hex;

/// TCB status as Intel's collateral reports it: the chain's type (`pallet-enclave-registry`
/// records it), so that the worker and the runtime judge one status, and callers of this crate
/// do not depend on dcap-qvl's types.
pub use enclave_update_primitives::registry::TcbStatus;

/// The status dcap-qvl's TCB evaluation gives, as [`TcbStatus`] names it.
pub(super) fn tcb_status_of(status: dcap_qvl::TcbStatus) -> TcbStatus {
	use dcap_qvl::TcbStatus as D;
	match status {
		D::UpToDate => TcbStatus::UpToDate,
		D::SWHardeningNeeded => TcbStatus::SWHardeningNeeded,
		D::ConfigurationNeeded => TcbStatus::ConfigurationNeeded,
		D::ConfigurationAndSWHardeningNeeded => TcbStatus::ConfigurationAndSWHardeningNeeded,
		D::OutOfDate => TcbStatus::OutOfDate,
		D::OutOfDateConfigurationNeeded => TcbStatus::OutOfDateConfigurationNeeded,
		D::TDRelaunchAdvised => TcbStatus::TDRelaunchAdvised,
		D::TDRelaunchAdvisedConfigurationNeeded => TcbStatus::TDRelaunchAdvisedConfigurationNeeded,
		D::Revoked => TcbStatus::Revoked,
	}
}

/// A verification policy. The default accepts only `UpToDate`, no debug enclaves, no TD
/// without SEPT_VE_DISABLE, no TD bound to a service TD, and no simulated quotes. Every field
/// has a documented default. The policy the worker hands keys by is not built at run time from
/// host input: it is [`crate::measured::policy`], compiled into the binary and so covered by
/// the enclave's measurement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttestationPolicy {
	/// TCB statuses accepted. `Revoked` is refused even if listed.
	pub accepted_tcb_statuses: BTreeSet<TcbStatus>,
	/// Advisory ids (e.g. `INTEL-SA-00615`) that cause refusal.
	pub rejected_advisories: BTreeSet<String>,
	/// Accept debug enclaves (never in production: the host can read their memory). For a TD,
	/// "debug" is any TUD attribute: DEBUG, profiling, or a reserved TUD bit.
	pub allow_debug: bool,
	/// Accept a TD without the SEPT_VE_DISABLE attribute. Default `false`: with the attribute
	/// clear, the host can make the TD take #VE exceptions on pending pages, a known attack
	/// path that Intel's guidance and Linux's TDX guest both refuse; and the TDs that run so —
	/// Azure's TDX CVMs, behind a paravisor — measure the paravisor, not the workload: their
	/// TD identity (the measurement scheduled on chain) names the paravisor build, and the
	/// workload is measured into a vTPM the quote does not cover. Enable it only for a
	/// deployment that trusts that platform.
	pub allow_td_without_sept_ve_disable: bool,
	/// Accept a TD bound to a service TD (TD 1.5: a non-zero MR_SERVICETD, or SERVTD_EXT).
	/// Default `false`: a bound service TD (e.g. a migration TD or a vTPM TD) can act on the
	/// TD's state, and its identity is pinned neither here nor in the TD identity (the
	/// measurement). Alibaba Cloud's TD 1.5 guests run so.
	pub allow_service_td: bool,
	/// Accept simulated quotes (dev mode). The field exists only in builds with the `dev-tee`
	/// feature: a production build has no policy that accepts simulated evidence.
	#[cfg(feature = "dev-tee")]
	pub dev_mode: bool,
	/// Required MRSIGNER, if pinned.
	#[serde(with = "opt_hex")]
	pub mrsigner: Option<Vec<u8>>,
	/// Required ISV product id, if pinned.
	pub product_id: Option<u16>,
	/// Minimum ISV SVN, if any.
	pub min_svn: Option<u16>,
}

impl Default for AttestationPolicy {
	fn default() -> Self {
		Self {
			accepted_tcb_statuses: BTreeSet::from([TcbStatus::UpToDate]),
			rejected_advisories: BTreeSet::new(),
			allow_debug: false,
			allow_td_without_sept_ve_disable: false,
			allow_service_td: false,
			#[cfg(feature = "dev-tee")]
			dev_mode: false,
			mrsigner: None,
			product_id: None,
			min_svn: None,
		}
	}
}

impl AttestationPolicy {
	/// The default policy plus simulated quotes (for development; `dev-tee` builds only).
	#[cfg(feature = "dev-tee")]
	pub fn dev() -> Self {
		Self { dev_mode: true, ..Self::default() }
	}

	/// Whether simulated quotes pass: only in dev mode, which only `dev-tee` builds have.
	pub fn accepts_simulated(&self) -> bool {
		#[cfg(feature = "dev-tee")]
		return self.dev_mode;
		#[cfg(not(feature = "dev-tee"))]
		false
	}

	/// Also accepts `status`.
	pub fn allow_status(mut self, status: TcbStatus) -> Self {
		self.accepted_tcb_statuses.insert(status);
		self
	}

	/// Refuses quotes carrying advisory `id`.
	pub fn reject_advisory(mut self, id: impl Into<String>) -> Self {
		self.rejected_advisories.insert(id.into());
		self
	}

	/// Checks a verified identity against this policy and the expected report data.
	pub fn evaluate(
		&self,
		identity: &PeerIdentity,
		expected_report_data: Option<&[u8; 64]>,
	) -> Result<(), AttestationError> {
		if identity.kind == EvidenceKind::Simulated && !self.accepts_simulated() {
			return Err(AttestationError::SimulatedQuoteRefused);
		}
		if identity.debug && !self.allow_debug {
			return Err(AttestationError::DebugEnclave);
		}
		if let Some(td) = identity.td_attributes {
			if !td.sept_ve_disable() && !self.allow_td_without_sept_ve_disable {
				return Err(AttestationError::TdSeptVeDisableNotSet);
			}
			if (identity.service_td.is_some() || td.servtd_ext()) && !self.allow_service_td {
				return Err(AttestationError::TdServiceTdBound {
					mr_service_td: identity
						.service_td
						.as_ref()
						.map_or_else(|| "none".into(), hex::encode),
					servtd_ext: td.servtd_ext(),
				});
			}
		}
		if identity.tcb_status == TcbStatus::Revoked {
			return Err(AttestationError::TcbRevoked);
		}
		if !self.accepted_tcb_statuses.contains(&identity.tcb_status) {
			return Err(AttestationError::TcbStatusNotAccepted {
				status: identity.tcb_status,
				accepted: self
					.accepted_tcb_statuses
					.iter()
					.map(|s| s.to_string())
					.collect::<Vec<_>>()
					.join(", "),
			});
		}
		if let Some(id) =
			identity.advisory_ids.iter().find(|id| self.rejected_advisories.contains(*id))
		{
			return Err(AttestationError::AdvisoryRejected(id.clone()));
		}
		if let Some(expected) = &self.mrsigner {
			if identity.signer.as_ref() != Some(expected) {
				return Err(AttestationError::SignerMismatch {
					expected: hex::encode(expected),
					got: identity.signer.as_ref().map_or_else(|| "none".into(), hex::encode),
				});
			}
		}
		if let Some(expected) = self.product_id {
			if identity.product_id != Some(expected) {
				return Err(AttestationError::ProductIdMismatch {
					expected,
					got: identity.product_id,
				});
			}
		}
		if let Some(min) = self.min_svn {
			if identity.svn.is_none_or(|svn| svn < min) {
				return Err(AttestationError::SvnTooLow { min, got: identity.svn });
			}
		}
		if let Some(expected) = expected_report_data {
			if identity.report_data != *expected {
				return Err(AttestationError::ReportDataMismatch);
			}
		}
		Ok(())
	}
}
