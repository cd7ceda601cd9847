//! Why evidence was refused: one variant per refusal.

use super::{NonCanonicalEncoding, TcbStatus};

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
	/// The quote decodes, but not from its one canonical encoding: bytes that no signature
	/// covers were changed or added (see [`super::decode_evidence`]).
	#[error("non-canonical quote encoding: {0}")]
	NonCanonical(#[from] NonCanonicalEncoding),
	/// A quote version, TEE type or key type this verifier does not support.
	#[error("unsupported quote: {0}")]
	UnsupportedQuote(String),
	/// A simulated quote was presented to a verifier that is not in dev mode.
	#[error("simulated (non-hardware) quote refused: only a build with the dev-tee feature, in dev mode, accepts one")]
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
	/// An issuer chain of the collateral holds no certificate at all.
	#[error("the collateral's {chain} holds no certificate: fetch the collateral again")]
	CollateralIssuerChainEmpty {
		/// Which chain (e.g. "TCB info issuer chain").
		chain: &'static str,
	},
	/// Every piece of the collateral is genuine, but they were never all valid at the same
	/// instant: no verification time can accept them together.
	#[error(
		"the collateral's pieces are never valid at the same time: the {starts} is valid only \
		 from unix time {valid_from}, but the {ends} expires at unix time {expires_at}; fetch \
		 pieces issued together"
	)]
	CollateralPiecesDoNotOverlap {
		/// The piece that becomes valid last.
		starts: &'static str,
		/// When it becomes valid.
		valid_from: u64,
		/// The piece that expires first.
		ends: &'static str,
		/// When it expires.
		expires_at: u64,
	},
	/// The PCK CRL cannot be used to check the quote's PCK certificate: it does not parse, is
	/// not signed by the PCK certificate's issuing CA, or is not that CA's CRL.
	#[error("the collateral's PCK CRL is unusable: {0}")]
	PckCrlInvalid(String),
	/// The quote carries no PCK certificate chain (its certification data is of another type,
	/// e.g. an encrypted PPID) and the collateral does not supply it either.
	#[error(
		"the quote carries no PCK certificate chain (certification data type {cert_type}) and the \
		 collateral has none: the collateral must include the platform's PCK certificate chain, \
		 as a PCCS returns it for this platform"
	)]
	PckChainMissing {
		/// The quote's certification data type.
		cert_type: u16,
	},
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
	/// A certificate of the quote's PCK chain is listed in the collateral's CRL.
	#[error("the quote's PCK certificate chain is revoked by the collateral's CRL")]
	CertificateRevoked,
	/// The platform's TCB (CPU SVN / PCE SVN / TEE TCB SVN / TDX module SVN) is older than
	/// every level the collateral lists, so it has no status at all. `shortfall` names what
	/// falls short of the nearest level, e.g. `SEAMLDR ACM SVN 3 < 5`.
	#[error(
		"the platform TCB matches no TCB level in the collateral (older than any listed level): \
		 {shortfall}"
	)]
	TcbLevelNotFound {
		/// The components below the nearest level, with their SVNs.
		shortfall: String,
	},
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
	/// The enclave runs in debug mode (its memory is readable by the host). For a TD: any
	/// TUD ("TD under debug") attribute, DEBUG or profiling.
	#[error("debug enclave refused")]
	DebugEnclave,
	/// The TD runs without SEPT_VE_DISABLE (TD attribute bit 28): the host can turn EPT
	/// violations on pending pages into #VE exceptions inside the TD. Azure's TDX CVMs run so.
	#[error(
		"TD attribute SEPT_VE_DISABLE is not set, which the policy requires (allow it with \
		 `allow_td_without_sept_ve_disable`)"
	)]
	TdSeptVeDisableNotSet,
	/// The TD is bound to a service TD (a non-zero MR_SERVICETD, or the SERVTD_EXT attribute):
	/// that TD can act on this TD's state. Alibaba Cloud's TD 1.5 guests run so.
	#[error(
		"TD is bound to a service TD (MR_SERVICETD {mr_service_td}, SERVTD_EXT {servtd_ext}), \
		 which the policy refuses (allow it with `allow_service_td`)"
	)]
	TdServiceTdBound {
		/// MR_SERVICETD (hex), or "none".
		mr_service_td: String,
		/// Whether the SERVTD_EXT attribute is set.
		servtd_ext: bool,
	},
	/// The TD has attributes no policy accepts (reserved bits, or MIGRATABLE: a migration TD
	/// could move it to another platform).
	#[error("TD attributes refused: {0}")]
	TdAttributesRefused(String),
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

/// A foreign error's text on one line: scale's decoding errors, for one, nest their causes on
/// tab-indented lines, and a refusal is read in logs and on the command line.
pub(super) fn one_line(error: impl std::fmt::Display) -> String {
	let text = error.to_string();
	text.split(['\n', '\t'])
		.map(str::trim)
		.filter(|part| !part.is_empty())
		.collect::<Vec<_>>()
		.join(" ")
}
