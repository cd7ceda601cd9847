//! Verify a peer's evidence and decide whether to trust it.
//!
//! Two stages, both needed and kept apart so each refusal has its own error:
//! 1. [`Verifier::check_evidence`]: cryptography. A DCAP quote is verified with
//!    `dcap-qvl` against Intel's root and the given [`Collateral`] at a given time; a
//!    simulated quote (from [`crate::tee::sim`]) only in dev mode, against the dev
//!    attestation key. The result is a [`PeerIdentity`].
//! 2. [`AttestationPolicy::evaluate`]: policy on that identity. Accepted TCB statuses,
//!    rejected advisories, debug enclaves, MRSIGNER / product id pinning, minimum SVN,
//!    and the binding of the report data to the caller's transcript.
//!
//! [`Verifier::verify`] runs both.

use std::{collections::BTreeSet, fmt, path::Path, str::FromStr, sync::OnceLock};

use dcap_qvl::{
	quote::{EnclaveReport, Quote, Report, TDReport10},
	QuoteClaims, QuoteCollateralV3,
};
use enclave_update_primitives::Measurement;
use serde::{Deserialize, Serialize};

mod cache;
pub mod sim_quote;

pub use cache::CollateralCache;

use sim_quote::{SignedSimQuote, SimQuote};

/// Length of a DCAP quote header.
const DCAP_HEADER_LEN: usize = 48;
const SGX_REPORT_LEN: usize = 384;
const TD10_REPORT_LEN: usize = 584;
const TEE_TYPE_SGX: u32 = 0;
const TEE_TYPE_TDX: u32 = 0x81;
const ATTESTATION_KEY_TYPE_ECDSA_P256: u16 = 2;

/// Why evidence was refused. Each refusal has its own variant so callers and operators
/// can tell a forged quote from a stale collateral from a policy mismatch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
	/// The evidence is shorter than its own length fields say.
	#[error("evidence is truncated: needs {needed} bytes, got {got}")]
	Truncated {
		/// Bytes the framing requires.
		needed: usize,
		/// Bytes present.
		got: usize,
	},
	/// The evidence cannot be decoded.
	#[error("evidence is malformed: {0}")]
	Malformed(String),
	/// A quote version, TEE type or key type this verifier does not support.
	#[error("unsupported quote: {0}")]
	UnsupportedQuote(String),
	/// A simulated quote was presented to a verifier that is not in dev mode.
	#[error("simulated (non-hardware) quote refused: the verifier is not in dev mode")]
	SimulatedQuoteRefused,
	/// A simulated quote whose signature is not the dev attestation key's.
	#[error("simulated quote signature is invalid")]
	SimulatedSignatureInvalid,
	/// A DCAP quote was given without collateral.
	#[error("no collateral given for a DCAP quote")]
	MissingCollateral,
	/// The collateral cache has no entry for this platform (and no PCCS is configured).
	#[error("no cached collateral for {key}: fetch it from a PCCS and add it to the cache")]
	CollateralNotCached {
		/// The cache key (TEE type, FMSPC, PCK CA).
		key: String,
	},
	/// The collateral cannot be parsed or is inconsistent.
	#[error("collateral is invalid: {0}")]
	CollateralInvalid(String),
	/// The collateral (TCB info, QE identity, a CRL or a certificate) has expired.
	#[error("collateral expired at unix time {expired_at}, verification time is {now}: fetch fresh collateral")]
	CollateralExpired {
		/// The last second at which all of the collateral was valid.
		expired_at: u64,
		/// Verification time.
		now: u64,
	},
	/// The collateral was issued after the verification time.
	#[error("collateral is not valid before unix time {valid_from}, verification time is {now}")]
	CollateralNotYetValid {
		/// Latest issue date found.
		valid_from: u64,
		/// Verification time.
		now: u64,
	},
	/// The signature over the quote header and report body (by the attestation key) does
	/// not verify: the body or the signature was altered.
	#[error("quote signature over the report body is invalid")]
	QuoteSignatureInvalid,
	/// The PCK signature over the quoting enclave's report does not verify.
	#[error("quoting enclave report signature is invalid")]
	QeReportSignatureInvalid,
	/// The quoting enclave's report does not bind the attestation key / auth data.
	#[error("quoting enclave report does not bind the attestation key")]
	QeReportDataMismatch,
	/// The certification data (PCK certificate chain in the quote) is unusable.
	#[error("certification data is invalid: {0}")]
	CertificationDataInvalid(String),
	/// A certificate chain (the quote's PCK chain, or a collateral issuer chain) does not
	/// verify to Intel's root at the verification time.
	#[error("certificate chain does not verify: {0}")]
	CertificateChainInvalid(String),
	/// The platform's TCB (CPU SVN / PCE SVN / TEE TCB SVN) is older than every level the
	/// collateral lists, so it has no status at all.
	#[error(
		"the platform TCB matches no TCB level in the collateral (older than any listed level)"
	)]
	TcbLevelNotFound,
	/// The platform's TCB is revoked (refused by any policy).
	#[error("TCB status is Revoked")]
	TcbRevoked,
	/// Any other refusal reported by the DCAP verifier.
	#[error("DCAP verification failed: {0}")]
	Verification(String),
	/// The TCB status is not among the policy's accepted statuses.
	#[error("TCB status {status} is not accepted by policy (accepted: {accepted})")]
	TcbStatusNotAccepted {
		/// The verified status.
		status: TcbStatus,
		/// The accepted statuses, comma separated.
		accepted: String,
	},
	/// The quote carries an advisory the policy rejects.
	#[error("advisory {0} is rejected by policy")]
	AdvisoryRejected(String),
	/// The enclave runs in debug mode (its memory is readable by the host).
	#[error("debug enclave refused")]
	DebugEnclave,
	/// MRSIGNER differs from the pinned one.
	#[error("MRSIGNER {got} does not match the pinned {expected}")]
	SignerMismatch {
		/// Pinned MRSIGNER (hex).
		expected: String,
		/// Quote's MRSIGNER (hex, or "none" for TDX).
		got: String,
	},
	/// ISV product id differs from the pinned one.
	#[error("product id {got:?} does not match the pinned {expected}")]
	ProductIdMismatch {
		/// Pinned product id.
		expected: u16,
		/// Quote's product id.
		got: Option<u16>,
	},
	/// ISV SVN is below the policy minimum.
	#[error("SVN {got:?} is below the minimum {min}")]
	SvnTooLow {
		/// Policy minimum.
		min: u16,
		/// Quote's SVN.
		got: Option<u16>,
	},
	/// The report data is not the value the verifier expected (not bound to this
	/// handshake: replayed or meant for someone else).
	#[error("report data does not match the expected binding")]
	ReportDataMismatch,
}

/// TCB status as reported by Intel's collateral (mirrors `dcap_qvl::TcbStatus`, so that
/// callers of this crate do not depend on dcap-qvl's types).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
}

impl TcbStatus {
	const ALL: [TcbStatus; 9] = [
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

	fn name(&self) -> &'static str {
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
		}
	}
}

impl fmt::Display for TcbStatus {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str(self.name())
	}
}

impl FromStr for TcbStatus {
	type Err = String;
	fn from_str(s: &str) -> Result<Self, Self::Err> {
		Self::ALL
			.into_iter()
			.find(|status| status.name().eq_ignore_ascii_case(s))
			.ok_or_else(|| format!("unknown TCB status {s:?}"))
	}
}

impl From<dcap_qvl::TcbStatus> for TcbStatus {
	fn from(value: dcap_qvl::TcbStatus) -> Self {
		use dcap_qvl::TcbStatus as D;
		match value {
			D::UpToDate => Self::UpToDate,
			D::SWHardeningNeeded => Self::SWHardeningNeeded,
			D::ConfigurationNeeded => Self::ConfigurationNeeded,
			D::ConfigurationAndSWHardeningNeeded => Self::ConfigurationAndSWHardeningNeeded,
			D::OutOfDate => Self::OutOfDate,
			D::OutOfDateConfigurationNeeded => Self::OutOfDateConfigurationNeeded,
			D::TDRelaunchAdvised => Self::TDRelaunchAdvised,
			D::TDRelaunchAdvisedConfigurationNeeded => Self::TDRelaunchAdvisedConfigurationNeeded,
			D::Revoked => Self::Revoked,
		}
	}
}

/// What produced the evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceKind {
	/// An SGX DCAP quote.
	Sgx,
	/// A TDX DCAP quote.
	Tdx,
	/// A simulated quote (dev mode only).
	Simulated,
}

/// The cryptographically verified identity of a peer enclave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerIdentity {
	/// What produced the evidence.
	pub kind: EvidenceKind,
	/// MRENCLAVE (SGX, simulated) or MRTD (TDX).
	pub measurement: Measurement,
	/// MRSIGNER (SGX, simulated); TDX has none.
	#[serde(with = "opt_hex")]
	pub signer: Option<Vec<u8>>,
	/// ISV product id (SGX, simulated).
	pub product_id: Option<u16>,
	/// ISV SVN (SGX, simulated).
	pub svn: Option<u16>,
	/// Whether the enclave/TD runs in debug mode.
	pub debug: bool,
	/// TCB status from the collateral. A simulated quote reports `UpToDate` (there is no
	/// TCB to evaluate; the kind says it is simulated).
	pub tcb_status: TcbStatus,
	/// Intel security advisories that apply.
	pub advisory_ids: Vec<String>,
	/// The 64 bytes of report data the quote binds.
	#[serde(with = "hex_64")]
	pub report_data: [u8; 64],
	/// When the collateral used stops being valid (unix seconds), for DCAP quotes.
	pub collateral_expires_at: Option<u64>,
}

/// A verification policy. The default accepts only `UpToDate`, no debug enclaves, and no
/// simulated quotes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttestationPolicy {
	/// TCB statuses accepted. `Revoked` is refused even if listed.
	pub accepted_tcb_statuses: BTreeSet<TcbStatus>,
	/// Advisory ids (e.g. `INTEL-SA-00615`) that cause refusal.
	pub rejected_advisories: BTreeSet<String>,
	/// Accept debug enclaves (never in production: the host can read their memory).
	pub allow_debug: bool,
	/// Accept simulated quotes (dev mode).
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
			dev_mode: false,
			mrsigner: None,
			product_id: None,
			min_svn: None,
		}
	}
}

impl AttestationPolicy {
	/// The default policy plus simulated quotes (for development).
	pub fn dev() -> Self {
		Self { dev_mode: true, ..Self::default() }
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
		if identity.kind == EvidenceKind::Simulated && !self.dev_mode {
			return Err(AttestationError::SimulatedQuoteRefused);
		}
		if identity.debug && !self.allow_debug {
			return Err(AttestationError::DebugEnclave);
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

/// DCAP collateral (TCB info, QE identity, CRLs and their issuer chains).
#[derive(Clone, Debug)]
pub struct Collateral {
	dcap: QuoteCollateralV3,
	/// [`Collateral::validity_window`], computed on first use: one collateral serves every
	/// quote of its platform until it expires, and parsing its certificates and CRLs again
	/// for each quote would cost about as much as the signature checks themselves.
	window: OnceLock<(u64, u64)>,
}

impl Collateral {
	/// Parses collateral in dcap-qvl's JSON format (as returned by a PCCS client).
	pub fn from_json(bytes: &[u8]) -> Result<Self, AttestationError> {
		serde_json::from_slice(bytes)
			.map(Self::from_dcap)
			.map_err(|e| AttestationError::CollateralInvalid(format!("bad collateral JSON: {e}")))
	}

	/// Reads collateral from a JSON file (an offline cache).
	pub fn from_file(path: &Path) -> Result<Self, AttestationError> {
		let bytes = std::fs::read(path).map_err(|e| {
			AttestationError::CollateralInvalid(format!("cannot read {}: {e}", path.display()))
		})?;
		Self::from_json(&bytes)
	}

	/// Fetches collateral for `quote` from a PCCS (needs the `pccs` feature and network).
	#[cfg(feature = "pccs")]
	pub fn fetch_from_pccs(pccs_url: &str, quote: &[u8]) -> Result<Self, AttestationError> {
		let runtime = tokio::runtime::Builder::new_current_thread()
			.enable_all()
			.build()
			.map_err(|e| AttestationError::CollateralInvalid(format!("runtime: {e}")))?;
		let client = dcap_qvl::collateral::CollateralClient::with_default_http(pccs_url)
			.map_err(|e| AttestationError::CollateralInvalid(format!("{e:#}")))?;
		runtime
			.block_on(client.fetch(quote))
			.map(Self::from_dcap)
			.map_err(|e| AttestationError::CollateralInvalid(format!("PCCS fetch: {e:#}")))
	}

	fn from_dcap(dcap: QuoteCollateralV3) -> Self {
		Self { dcap, window: OnceLock::new() }
	}

	/// The dcap-qvl representation.
	pub fn as_dcap(&self) -> &QuoteCollateralV3 {
		&self.dcap
	}

	/// The validity window `(first, last)` of everything in the collateral that expires, in
	/// unix seconds, both inclusive: the TCB info and QE identity (issue date, next update),
	/// both CRLs (this update, next update) and every certificate of the issuer chains and of
	/// the PCK chain it may carry (not before, not after). The quote's own PCK chain is
	/// checked separately ([`Verifier::check_evidence`]).
	pub fn validity_window(&self) -> Result<(u64, u64), AttestationError> {
		if let Some(window) = self.window.get() {
			return Ok(*window);
		}
		let window = self.compute_validity_window()?;
		Ok(*self.window.get_or_init(|| window))
	}

	fn compute_validity_window(&self) -> Result<(u64, u64), AttestationError> {
		let dcap = &self.dcap;
		let mut window = Window::ALWAYS;
		window.narrow(issue_and_next_update(&dcap.tcb_info, "TCB info")?);
		window.narrow(issue_and_next_update(&dcap.qe_identity, "QE identity")?);
		for (crl, what) in [(&dcap.root_ca_crl, "root CA CRL"), (&dcap.pck_crl, "PCK CRL")] {
			window.narrow(crl_window(crl, what)?);
		}
		let chains = [
			(Some(&dcap.tcb_info_issuer_chain), "TCB info issuer chain"),
			(Some(&dcap.qe_identity_issuer_chain), "QE identity issuer chain"),
			(Some(&dcap.pck_crl_issuer_chain), "PCK CRL issuer chain"),
			(dcap.pck_certificate_chain.as_ref(), "PCK certificate chain"),
		];
		for (chain, what) in chains {
			if let Some(chain) = chain {
				let windows = certificate_windows(chain.as_bytes())
					.map_err(|e| AttestationError::CollateralInvalid(format!("{what}: {e}")))?;
				for cert in windows {
					window.narrow(cert);
				}
			}
		}
		Ok((window.from, window.until))
	}
}

/// An intersection of validity windows, in unix seconds.
struct Window {
	from: u64,
	until: u64,
}

impl Window {
	const ALWAYS: Self = Self { from: 0, until: u64::MAX };

	fn narrow(&mut self, (from, until): (u64, Option<u64>)) {
		self.from = self.from.max(from);
		if let Some(until) = until {
			self.until = self.until.min(until);
		}
	}
}

/// `(not before, not after)` of each certificate in a PEM chain.
fn certificate_windows(pem_chain: &[u8]) -> Result<Vec<(u64, Option<u64>)>, String> {
	use der::Decode as _;
	let blocks = pem::parse_many(pem_chain).map_err(|e| format!("PEM: {e}"))?;
	blocks
		.iter()
		.enumerate()
		.map(|(index, block)| {
			let cert = x509_cert::Certificate::from_der(block.contents())
				.map_err(|e| format!("certificate {index}: {e}"))?;
			let validity = cert.tbs_certificate().validity();
			Ok((
				validity.not_before.to_unix_duration().as_secs(),
				Some(validity.not_after.to_unix_duration().as_secs()),
			))
		})
		.collect()
}

/// `(this update, last second before next update)`: a CRL is stale from its next update on.
fn crl_window(der_bytes: &[u8], what: &str) -> Result<(u64, Option<u64>), AttestationError> {
	use der::Decode as _;
	let crl =
		x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(der_bytes)
			.map_err(|e| AttestationError::CollateralInvalid(format!("{what}: {e}")))?;
	let tbs = &crl.tbs_cert_list;
	Ok((
		tbs.this_update.to_unix_duration().as_secs(),
		tbs.next_update.map(|t| t.to_unix_duration().as_secs().saturating_sub(1)),
	))
}

fn issue_and_next_update(json: &str, what: &str) -> Result<(u64, Option<u64>), AttestationError> {
	#[derive(Deserialize)]
	#[serde(rename_all = "camelCase")]
	struct Dates {
		issue_date: String,
		next_update: String,
	}
	let dates: Dates = serde_json::from_str(json)
		.map_err(|e| AttestationError::CollateralInvalid(format!("{what}: {e}")))?;
	let parse = |text: &str| -> Result<u64, AttestationError> {
		chrono::DateTime::parse_from_rfc3339(text)
			.ok()
			.and_then(|t| u64::try_from(t.timestamp()).ok())
			.ok_or_else(|| AttestationError::CollateralInvalid(format!("{what}: bad date {text}")))
	};
	Ok((parse(&dates.issue_date)?, Some(parse(&dates.next_update)?)))
}

/// Decoded evidence, before any cryptographic check.
#[derive(Debug)]
pub enum Evidence {
	/// A simulated quote.
	Simulated(Box<SignedSimQuote>),
	/// A DCAP quote.
	Dcap(Box<Quote>),
}

/// Decodes evidence: a simulated quote, or a DCAP quote whose framing (header, report
/// body, signature data length) is checked before dcap-qvl parses it, so that a short
/// quote is reported as [`AttestationError::Truncated`]. Total: never panics (this is the
/// evidence fuzz target).
pub fn decode_evidence(bytes: &[u8]) -> Result<Evidence, AttestationError> {
	if SimQuote::is_simulated(bytes) {
		return SimQuote::decode(bytes).map(|q| Evidence::Simulated(Box::new(q)));
	}
	let needed = dcap_framed_len(bytes)?;
	if bytes.len() < needed {
		return Err(AttestationError::Truncated { needed, got: bytes.len() });
	}
	let quote = Quote::parse(bytes).map_err(|e| AttestationError::Malformed(format!("{e:#}")))?;
	check_certification_data(&quote)?;
	Ok(Evidence::Dcap(Box::new(quote)))
}

/// PCK certificate chain (PEM) embedded in the quote.
const CERT_TYPE_PCK_CHAIN: u16 = 5;

/// Structural check of an embedded PCK chain: every PEM block well formed (a broken
/// armour must not silently drop the leaf) and every certificate valid DER. Signatures
/// are checked by the chain verification later.
fn check_certification_data(quote: &Quote) -> Result<(), AttestationError> {
	if quote.inner_cert_type() != CERT_TYPE_PCK_CHAIN {
		// Other types (e.g. encrypted PPID) need the PCK chain from the collateral.
		return Ok(());
	}
	let invalid = |why: String| AttestationError::CertificationDataInvalid(why);
	let chain = quote.inner_cert_data();
	let count = |needle: &[u8]| chain.windows(needle.len()).filter(|w| *w == needle).count();
	let begins = count(b"-----BEGIN CERTIFICATE-----");
	let ends = count(b"-----END CERTIFICATE-----");
	let blocks = pem::parse_many(chain).map_err(|e| invalid(format!("PEM: {e}")))?;
	if begins != ends || blocks.len() != begins || blocks.len() < 2 {
		return Err(invalid(format!(
			"PCK chain has {begins} BEGIN / {ends} END markers and {} readable certificates",
			blocks.len()
		)));
	}
	for (index, block) in blocks.iter().enumerate() {
		use der::Decode as _;
		x509_cert::Certificate::from_der(block.contents())
			.map_err(|e| invalid(format!("certificate {index} of the PCK chain: {e}")))?;
	}
	Ok(())
}

/// The length a DCAP quote announces through its header and length fields.
fn dcap_framed_len(bytes: &[u8]) -> Result<usize, AttestationError> {
	let truncated = |needed: usize| AttestationError::Truncated { needed, got: bytes.len() };
	let header = bytes.get(..DCAP_HEADER_LEN).ok_or_else(|| truncated(DCAP_HEADER_LEN))?;
	let version = u16::from_le_bytes([header[0], header[1]]);
	let tee_type = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
	let body_len = match (version, tee_type) {
		(3, TEE_TYPE_SGX) => SGX_REPORT_LEN,
		(4, TEE_TYPE_TDX) => TD10_REPORT_LEN,
		(4, TEE_TYPE_SGX) => SGX_REPORT_LEN,
		(5, _) => {
			// v5: a body descriptor (type u16, size u32) precedes the body.
			let at = DCAP_HEADER_LEN;
			let descriptor = bytes.get(at..at + 6).ok_or_else(|| truncated(at + 6))?;
			let size =
				u32::from_le_bytes([descriptor[2], descriptor[3], descriptor[4], descriptor[5]]);
			6usize.saturating_add(size as usize)
		},
		_ => {
			return Err(AttestationError::UnsupportedQuote(format!(
				"quote version {version} with TEE type {tee_type:#x}"
			)))
		},
	};
	let sig_len_at = DCAP_HEADER_LEN.saturating_add(body_len);
	let end = sig_len_at.saturating_add(4);
	let sig_len_bytes = bytes.get(sig_len_at..end).ok_or_else(|| truncated(end))?;
	let sig_len = u32::from_le_bytes([
		sig_len_bytes[0],
		sig_len_bytes[1],
		sig_len_bytes[2],
		sig_len_bytes[3],
	]);
	Ok(end.saturating_add(sig_len as usize))
}

/// Accepts every verified quote: our own policy runs afterwards on typed values.
struct CryptoOnly;

impl dcap_qvl::Policy for CryptoOnly {
	fn validate(&self, _claims: &QuoteClaims) -> anyhow::Result<()> {
		Ok(())
	}
}

/// Maps dcap-qvl's error (an `anyhow` chain) to a specific refusal. Pinned to dcap-qvl
/// 0.7's messages; the tests on real quotes catch a change of wording. Time validity and the
/// quote header are checked before dcap-qvl runs (`Verifier::check_dcap`), so neither an
/// expiry nor an unsupported quote is ever recognised from a message here.
fn classify_dcap_error(error: &anyhow::Error) -> AttestationError {
	let message = format!("{error:#}");
	let has = |needle: &str| message.contains(needle);
	if has("ISV enclave report signature is invalid") {
		AttestationError::QuoteSignatureInvalid
	} else if has("Signature is invalid for qe_report") {
		AttestationError::QeReportSignatureInvalid
	} else if has("QE report hash mismatch") {
		AttestationError::QeReportDataMismatch
	} else if has("No matching TCB level") {
		AttestationError::TcbLevelNotFound
	} else if has("PCK cert")
		|| has("PCK certificate")
		|| has("Certificate chain is too short in quote")
	{
		AttestationError::CertificationDataInvalid(message)
	} else if has("Failed to verify certificate chain") {
		AttestationError::CertificateChainInvalid(message)
	} else if has("TCB status is invalid: Revoked") {
		AttestationError::TcbRevoked
	} else if has("quote_collateral")
		|| has("TcbInfo")
		|| has("QeIdentity")
		|| has("Unsupported QE Identity")
		|| has("CRL")
		|| has("Fmspc mismatch")
		|| has("TCB info in the collateral")
	{
		AttestationError::CollateralInvalid(message)
	} else if has("Failed to decode quote") {
		AttestationError::Malformed(message)
	} else {
		AttestationError::Verification(message)
	}
}

/// Refuses, before any cryptography, what dcap-qvl cannot verify: it supports Intel's quoting
/// enclave with ECDSA P-256 attestation keys, SGX quotes of version 3 and TDX quotes of
/// versions 4 and 5.
fn check_supported(quote: &Quote) -> Result<(), AttestationError> {
	let header = &quote.header;
	let unsupported = |why: String| Err(AttestationError::UnsupportedQuote(why));
	if header.attestation_key_type != ATTESTATION_KEY_TYPE_ECDSA_P256 {
		return unsupported(format!(
			"attestation key type {} (only ECDSA P-256, type {ATTESTATION_KEY_TYPE_ECDSA_P256})",
			header.attestation_key_type
		));
	}
	if header.qe_vendor_id != dcap_qvl::INTEL_QE_VENDOR_ID {
		return unsupported(format!(
			"quoting enclave vendor 0x{} (only Intel's)",
			hex::encode(header.qe_vendor_id)
		));
	}
	match (header.tee_type, header.version) {
		(TEE_TYPE_SGX, 3) | (TEE_TYPE_TDX, 4 | 5) => Ok(()),
		(tee_type, version) => {
			unsupported(format!("quote version {version} with TEE type {tee_type:#x}"))
		},
	}
}

/// Whether `report` is of a debug enclave or TD, whose memory the host can read.
pub fn is_debug(report: &Report) -> bool {
	// SGX ATTRIBUTES.FLAGS bit 1 is DEBUG.
	let sgx = |report: &EnclaveReport| report.attributes[0] & 0x02 != 0;
	// TDX TD_ATTRIBUTES byte 0 (TUD) bit 0 is DEBUG; TD 1.5 reports extend the TD 1.0 one.
	let td = |report: &TDReport10| report.td_attributes[0] & 0x01 != 0;
	match report {
		Report::SgxEnclave(report) => sgx(report),
		Report::TD10(report) => td(report),
		Report::TD15(report) => td(&report.base),
		Report::TD15Ex(report) => td(&report.base.base),
	}
}

/// Verifies evidence under a policy.
#[derive(Clone, Debug, Default)]
pub struct Verifier {
	policy: AttestationPolicy,
}

impl Verifier {
	/// A verifier enforcing `policy` against Intel's production root of trust.
	pub fn new(policy: AttestationPolicy) -> Self {
		Self { policy }
	}

	/// The policy.
	pub fn policy(&self) -> &AttestationPolicy {
		&self.policy
	}

	/// Full verification: [`Self::check_evidence`] then [`AttestationPolicy::evaluate`].
	/// `now` is unix seconds; `expected_report_data` is the binding the caller requires.
	pub fn verify(
		&self,
		evidence: &[u8],
		collateral: Option<&Collateral>,
		now: u64,
		expected_report_data: Option<&[u8; 64]>,
	) -> Result<PeerIdentity, AttestationError> {
		let identity = self.check_evidence(evidence, collateral, now)?;
		self.policy.evaluate(&identity, expected_report_data)?;
		Ok(identity)
	}

	/// Cryptographic verification only: returns the identity the evidence proves, without
	/// applying the TCB/advisory/pinning/report-data policy. A simulated quote is refused
	/// here already unless the policy is in dev mode, so no caller can mistake one for
	/// hardware evidence.
	pub fn check_evidence(
		&self,
		evidence: &[u8],
		collateral: Option<&Collateral>,
		now: u64,
	) -> Result<PeerIdentity, AttestationError> {
		match decode_evidence(evidence)? {
			Evidence::Simulated(signed) => {
				if !self.policy.dev_mode {
					return Err(AttestationError::SimulatedQuoteRefused);
				}
				signed.verify_dev_signature()?;
				let q = &signed.quote;
				Ok(PeerIdentity {
					kind: EvidenceKind::Simulated,
					measurement: q.measurement,
					signer: Some(q.signer.to_vec()),
					product_id: Some(q.product_id),
					svn: Some(q.svn),
					debug: q.debug,
					tcb_status: TcbStatus::UpToDate,
					advisory_ids: Vec::new(),
					report_data: q.report_data,
					collateral_expires_at: None,
				})
			},
			Evidence::Dcap(quote) => {
				let collateral = collateral.ok_or(AttestationError::MissingCollateral)?;
				self.check_dcap(&quote, evidence, collateral, now)
			},
		}
	}

	fn check_dcap(
		&self,
		quote: &Quote,
		raw_quote: &[u8],
		collateral: &Collateral,
		now: u64,
	) -> Result<PeerIdentity, AttestationError> {
		check_supported(quote)?;
		// Time validity is decided here on parsed dates, not recognised in dcap-qvl's
		// messages, so that stale collateral is always named as such, with its dates.
		let (valid_from, expires_at) = collateral.validity_window()?;
		if now > expires_at {
			return Err(AttestationError::CollateralExpired { expired_at: expires_at, now });
		}
		if now < valid_from {
			return Err(AttestationError::CollateralNotYetValid { valid_from, now });
		}
		check_pck_chain_time(quote, now)?;
		let claims = dcap_qvl::verify::QuoteVerifier::new_prod()
			// Debug enclaves are refused by our policy, with its own error; letting
			// dcap-qvl pass them keeps a single place for that decision.
			.allow_debug(true)
			.verify_with_policy(raw_quote, collateral.as_dcap(), now, &CryptoOnly)
			.map_err(|e| classify_dcap_error(&e))?;
		// dcap-qvl's own window also counts the verified chains; ours must not be wider.
		if now > claims.earliest_expiration_date {
			return Err(AttestationError::CollateralExpired {
				expired_at: claims.earliest_expiration_date,
				now,
			});
		}
		identity_from_report(
			&claims.report,
			claims.tcb.status.into(),
			claims.tcb.advisory_ids.clone(),
			claims.earliest_expiration_date,
		)
	}
}

/// The quote's own PCK chain must be valid at `now`. It is the platform's, not collateral:
/// fresh collateral does not help when it has expired.
fn check_pck_chain_time(quote: &Quote, now: u64) -> Result<(), AttestationError> {
	if quote.inner_cert_type() != CERT_TYPE_PCK_CHAIN {
		return Ok(());
	}
	let windows = certificate_windows(quote.inner_cert_data())
		.map_err(|e| AttestationError::CertificationDataInvalid(format!("PCK chain: {e}")))?;
	for (index, (not_before, not_after)) in windows.into_iter().enumerate() {
		let not_after = not_after.unwrap_or(u64::MAX);
		if now < not_before || now > not_after {
			return Err(AttestationError::CertificateChainInvalid(format!(
				"certificate {index} of the quote's PCK chain is valid from unix time \
				 {not_before} to {not_after}, not at {now}"
			)));
		}
	}
	Ok(())
}

/// The identity a verified report proves.
fn identity_from_report(
	report: &Report,
	tcb_status: TcbStatus,
	advisory_ids: Vec<String>,
	collateral_expires_at: u64,
) -> Result<PeerIdentity, AttestationError> {
	let debug = is_debug(report);
	let common = |kind, measurement, signer, product_id, svn, report_data| PeerIdentity {
		kind,
		measurement,
		signer,
		product_id,
		svn,
		debug,
		tcb_status,
		advisory_ids,
		report_data,
		collateral_expires_at: Some(collateral_expires_at),
	};
	if let Some(report) = report.as_sgx() {
		return Ok(common(
			EvidenceKind::Sgx,
			Measurement::MrEnclave(report.mr_enclave),
			Some(report.mr_signer.to_vec()),
			Some(report.isv_prod_id),
			Some(report.isv_svn),
			report.report_data,
		));
	}
	if let Some(report) = report.as_td10() {
		return Ok(common(
			EvidenceKind::Tdx,
			Measurement::MrTd(report.mr_td),
			None,
			None,
			None,
			report.report_data,
		));
	}
	Err(AttestationError::UnsupportedQuote("unknown report body".into()))
}

mod opt_hex {
	use serde::{Deserialize, Deserializer, Serializer};

	pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
		match bytes {
			Some(bytes) => s.serialize_some(&format!("0x{}", hex::encode(bytes))),
			None => s.serialize_none(),
		}
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
		let text: Option<String> = Option::deserialize(d)?;
		text.map(|t| {
			hex::decode(t.strip_prefix("0x").unwrap_or(&t)).map_err(serde::de::Error::custom)
		})
		.transpose()
	}
}

mod hex_64 {
	use serde::{Deserialize, Deserializer, Serializer};

	pub fn serialize<S: Serializer>(bytes: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
		s.serialize_str(&format!("0x{}", hex::encode(bytes)))
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
		let text = String::deserialize(d)?;
		let mut out = [0u8; 64];
		hex::decode_to_slice(text.strip_prefix("0x").unwrap_or(&text), &mut out)
			.map_err(serde::de::Error::custom)?;
		Ok(out)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const SGX_QUOTE: &[u8] = include_bytes!("../../tests/fixtures/sgx_quote");
	const TDX_QUOTE: &[u8] = include_bytes!("../../tests/fixtures/tdx_quote");
	/// SGX ATTRIBUTES: after the header, CPUSVN (16), MISCSELECT (4) and 28 reserved bytes.
	const SGX_ATTRIBUTES_AT: usize = DCAP_HEADER_LEN + 48;
	/// TDX TD_ATTRIBUTES: after the header, TEE_TCB_SVN (16), MRSEAM (48), MRSIGNERSEAM (48)
	/// and SEAMATTRIBUTES (8).
	const TD_ATTRIBUTES_AT: usize = DCAP_HEADER_LEN + 120;

	/// The real samples, each with the offset of its attributes byte 0 and its debug bit.
	const SAMPLES: [(&str, &[u8], usize, u8); 2] =
		[("sgx", SGX_QUOTE, SGX_ATTRIBUTES_AT, 0x02), ("tdx", TDX_QUOTE, TD_ATTRIBUTES_AT, 0x01)];

	fn report_with(quote: &[u8], at: usize, set_bits: u8) -> Report {
		let mut bytes = quote.to_vec();
		bytes[at] |= set_bits;
		Quote::parse(&bytes).unwrap().report
	}

	fn attributes(report: &Report) -> [u8; 8] {
		match report.as_sgx() {
			Some(sgx) => sgx.attributes[..8].try_into().unwrap(),
			None => report.as_td10().unwrap().td_attributes,
		}
	}

	#[test]
	fn debug_bit_of_the_real_sample_reports() {
		for (name, quote, at, debug_bit) in SAMPLES {
			let report = Quote::parse(quote).unwrap().report;
			// The offsets above are where the parser reads the attributes from.
			assert_eq!(attributes(&report), quote[at..at + 8], "{name}");
			assert_eq!(quote[at] & debug_bit, 0, "{name}: the samples are production enclaves");
			assert!(!is_debug(&report), "{name}");
			assert!(is_debug(&report_with(quote, at, debug_bit)), "{name}");
			// Every other attribute bit of that byte set: still not a debug enclave.
			assert!(!is_debug(&report_with(quote, at, !debug_bit)), "{name}");
		}
	}

	#[test]
	fn debug_refusal_is_driven_by_the_report_bit() {
		for (name, quote, at, debug_bit) in SAMPLES {
			let identity = |report: &Report| {
				identity_from_report(report, TcbStatus::UpToDate, Vec::new(), u64::MAX).unwrap()
			};
			let production = identity(&Quote::parse(quote).unwrap().report);
			let debug = identity(&report_with(quote, at, debug_bit));
			assert!(!production.debug && debug.debug, "{name}");
			let policy = AttestationPolicy::default();
			assert_eq!(policy.evaluate(&production, None), Ok(()), "{name}");
			assert_eq!(
				policy.evaluate(&debug, None),
				Err(AttestationError::DebugEnclave),
				"{name}"
			);
			let allowing = AttestationPolicy { allow_debug: true, ..policy };
			assert_eq!(allowing.evaluate(&debug, None), Ok(()), "{name}");
		}
	}

	#[test]
	fn collateral_window_counts_every_dated_item() {
		let collateral =
			Collateral::from_json(include_bytes!("../../tests/fixtures/tdx_quote_collateral.json"))
				.unwrap();
		let (from, until) = collateral.validity_window().unwrap();
		let c = collateral.as_dcap();
		let mut expected = vec![
			issue_and_next_update(&c.tcb_info, "").unwrap(),
			issue_and_next_update(&c.qe_identity, "").unwrap(),
			crl_window(&c.root_ca_crl, "").unwrap(),
			crl_window(&c.pck_crl, "").unwrap(),
		];
		for chain in
			[&c.tcb_info_issuer_chain, &c.qe_identity_issuer_chain, &c.pck_crl_issuer_chain]
		{
			let certs = certificate_windows(chain.as_bytes()).unwrap();
			assert!(certs.len() >= 2);
			expected.extend(certs);
		}
		assert_eq!(from, expected.iter().map(|w| w.0).max().unwrap());
		assert_eq!(until, expected.iter().filter_map(|w| w.1).min().unwrap());
		assert!(from < until);
	}
}
