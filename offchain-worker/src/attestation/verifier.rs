//! The verifier: DCAP quotes through dcap-qvl, simulated quotes against the dev key, and
//! the identity they prove.

use std::str::FromStr;

use dcap_qvl::quote::{Quote, Report, TDReport10};
use enclave_update_primitives::{Measurement, TdIdentityFields};
use serde::{Deserialize, Serialize};

use super::{
	error::one_line,
	evidence::{
		decode_evidence, is_debug, service_td, td_attributes, DcapEvidence, Evidence, TdAttributes,
		ATTESTATION_KEY_TYPE_ECDSA_P256, INTEL_SGX_ROOT_CA_DER, TEE_TYPE_SGX, TEE_TYPE_TDX,
	},
	policy,
	tcb::{self, Platform},
	AttestationError, AttestationPolicy, Collateral, TcbStatus,
};
use crate::serde_hex::{hex_array, opt_hex};

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
	/// MRENCLAVE (SGX, simulated) or the TD identity digest (TDX, see
	/// [`enclave_update_primitives::tdx`]).
	pub measurement: Measurement,
	/// MRSIGNER (SGX, simulated); TDX has none.
	#[serde(with = "opt_hex")]
	pub signer: Option<Vec<u8>>,
	/// ISV product id (SGX, simulated).
	pub product_id: Option<u16>,
	/// ISV SVN (SGX, simulated).
	pub svn: Option<u16>,
	/// Whether the enclave/TD runs in debug mode (for a TD: any "TD under debug" attribute).
	pub debug: bool,
	/// TDX only: the TD's attributes, which the policy judges (SEPT_VE_DISABLE, SERVTD_EXT).
	#[serde(default)]
	pub td_attributes: Option<TdAttributes>,
	/// TDX 1.5 only: the service TD the TD is bound to (MR_SERVICETD), when it is bound.
	#[serde(default, with = "opt_hex")]
	pub service_td: Option<Vec<u8>>,
	/// TCB status from the collateral. A simulated quote reports `UpToDate` (there is no
	/// TCB to evaluate; the kind says it is simulated).
	pub tcb_status: TcbStatus,
	/// Intel security advisories that apply.
	pub advisory_ids: Vec<String>,
	/// The 64 bytes of report data the quote binds.
	#[serde(with = "hex_array")]
	pub report_data: [u8; 64],
	/// When the collateral used stops being valid (unix seconds), for DCAP quotes.
	pub collateral_expires_at: Option<u64>,
}

/// The exact refusal dcap-qvl 0.7 makes, as its very last check, of a TD without
/// SEPT_VE_DISABLE (see the `tcb` module): nothing else produces this message, and no context
/// is added to it.
const DCAP_SEPT_VE_REFUSAL: &str = "SEPT_VE_DISABLE is not enabled";

/// Maps dcap-qvl's error (an `anyhow` chain) to a specific refusal. Pinned to dcap-qvl
/// 0.7's messages; the tests on real quotes catch a change of wording. Time validity, the
/// quote header and the presence of a PCK chain are checked before dcap-qvl runs
/// (`Verifier::check_dcap`), so none of them is ever recognised from a message here.
fn classify_dcap_error(error: &anyhow::Error) -> AttestationError {
	let message = one_line(format_args!("{error:#}"));
	let has = |needle: &str| message.contains(needle);
	let crl_refusal = ["Crl", "RevocationStatus", "IssuerNotCrlSigner"];
	if has("ISV enclave report signature is invalid") {
		AttestationError::QuoteSignatureInvalid
	} else if has("Signature is invalid for qe_report") {
		AttestationError::QeReportSignatureInvalid
	} else if has("QE report hash mismatch") {
		AttestationError::QeReportDataMismatch
	} else if has("No matching TCB level") {
		AttestationError::TcbLevelNotFound { shortfall: String::new() }
	} else if has("TDX module ISVSVN") {
		AttestationError::TcbLevelNotFound {
			shortfall: message.rsplit(": ").next().unwrap_or(&message).to_string(),
		}
	} else if has("Failed to parse PCK CRL")
		|| (has("Failed to verify certificate chain") && crl_refusal.iter().any(|n| has(n)))
	{
		// The root CA CRL is verified on its own before any chain, and the PCK CRL is the only
		// other CRL a chain consults: a CRL refusal inside a chain is the PCK CRL's.
		AttestationError::PckCrlInvalid(message)
	} else if has("Failed to verify certificate chain") && has("CertRevoked") {
		AttestationError::CertificateRevoked
	} else if has("PCK cert")
		|| has("PCK certificate")
		|| has("Certificate chain is too short in quote")
	{
		AttestationError::CertificationDataInvalid(message)
	} else if has("Failed to verify certificate chain") {
		AttestationError::CertificateChainInvalid(message)
	} else if has("TCB status is invalid: Revoked") {
		AttestationError::TcbRevoked
	} else if has("Reserved bits in TD attributes are set") || has("TD migration is enabled") {
		AttestationError::TdAttributesRefused(message)
	} else if has("quote_collateral")
		|| has("TcbInfo")
		|| has("TCB Info")
		|| has("QeIdentity")
		|| has("QE Identity")
		|| has("Unsupported QE Identity")
		|| has("CRL")
		|| has("Fmspc mismatch")
		|| has("TCB info in the collateral")
		|| has("TDX module identity")
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
	/// applying the TCB/advisory/TD-attribute/pinning/report-data policy. A simulated quote is
	/// refused here already unless the policy is in dev mode, so no caller can mistake one for
	/// hardware evidence. A DCAP quote must be in an accepted encoding (see
	/// [`super::decode_evidence`]); what is verified is its canonical encoding.
	pub fn check_evidence(
		&self,
		evidence: &[u8],
		collateral: Option<&Collateral>,
		now: u64,
	) -> Result<PeerIdentity, AttestationError> {
		match decode_evidence(evidence)? {
			Evidence::Simulated(signed) => {
				if !self.policy.accepts_simulated() {
					return Err(AttestationError::SimulatedQuoteRefused);
				}
				super::sim_quote::verify_dev_signature(&signed)?;
				let q = &signed.quote;
				Ok(PeerIdentity {
					kind: EvidenceKind::Simulated,
					measurement: q.measurement,
					signer: Some(q.signer.to_vec()),
					product_id: Some(q.product_id),
					svn: Some(q.svn),
					debug: q.debug,
					td_attributes: None,
					service_td: None,
					tcb_status: TcbStatus::UpToDate,
					advisory_ids: Vec::new(),
					report_data: q.report_data,
					collateral_expires_at: None,
				})
			},
			Evidence::Dcap(evidence) => {
				let collateral = collateral.ok_or(AttestationError::MissingCollateral)?;
				self.check_dcap(&evidence, collateral, now)
			},
		}
	}

	fn check_dcap(
		&self,
		evidence: &DcapEvidence,
		collateral: &Collateral,
		now: u64,
	) -> Result<PeerIdentity, AttestationError> {
		let quote = evidence.quote();
		check_supported(quote)?;
		// Time validity is decided here on parsed dates, not recognised in dcap-qvl's
		// messages, so that stale collateral is always named as such, with its dates.
		collateral.check_valid_at(now)?;
		let (_, collateral_until) = collateral.validity_window()?;
		let pck_chain_until = check_pck_chain(evidence, collateral, now)?;
		let verified = dcap_qvl::verify::QuoteVerifier::new_prod()
			// Debug enclaves and service TDs are refused by our policy, each with its own
			// error; letting dcap-qvl pass them keeps a single place for those decisions.
			.allow_debug(true)
			.allow_service_td(true)
			.verify(evidence.canonical_bytes(), collateral.as_dcap(), now);
		let (tcb_status, advisory_ids) = match verified {
			Ok(report) => {
				let status = TcbStatus::from_str(&report.status).map_err(|e| {
					AttestationError::Verification(format!("dcap-qvl's TCB status: {e}"))
				})?;
				(status, report.advisory_ids)
			},
			Err(error)
				if format!("{error:#}") == DCAP_SEPT_VE_REFUSAL
					&& td_attributes(&quote.report).is_some_and(|td| !td.sept_ve_disable()) =>
			{
				// Genuine (every other check has passed, see `tcb`): the policy decides.
				let verdict = tcb::tcb_verdict(
					collateral.levels()?,
					quote,
					&pck_platform(evidence, collateral)?,
				)?;
				(policy::tcb_status_of(verdict.status), verdict.advisory_ids)
			},
			Err(error) => {
				return Err(self.explain(classify_dcap_error(&error), evidence, collateral))
			},
		};
		identity_from_report(
			&quote.report,
			tcb_status,
			advisory_ids,
			collateral_until.min(pck_chain_until),
		)
	}

	/// Adds what an operator needs to act on a refusal that dcap-qvl words too briefly.
	fn explain(
		&self,
		error: AttestationError,
		evidence: &DcapEvidence,
		collateral: &Collateral,
	) -> AttestationError {
		match error {
			AttestationError::TcbLevelNotFound { shortfall } if shortfall.is_empty() => {
				let explained = pck_platform(evidence, collateral).and_then(|platform| {
					Ok(tcb::explain_no_level(
						collateral.levels()?,
						&collateral.as_dcap().tcb_info,
						evidence.quote(),
						&platform,
					))
				});
				AttestationError::TcbLevelNotFound {
					shortfall: explained.unwrap_or_else(|e| format!("cannot say which: {e}")),
				}
			},
			other => other,
		}
	}
}

/// The PCK chain dcap-qvl verifies — the collateral's when it has one, else the quote's —
/// must exist, and the quote's own chain must be exactly the PCK certificate, its CA's and
/// Intel's root (the root byte for byte), and valid at `now`: it is the platform's, not
/// collateral, so fresh collateral does not help when it has expired. Returns the end of the
/// quote chain's validity.
fn check_pck_chain(
	evidence: &DcapEvidence,
	collateral: &Collateral,
	now: u64,
) -> Result<u64, AttestationError> {
	let Some(chain) = evidence.pck_chain() else {
		if collateral.as_dcap().pck_certificate_chain.is_none() {
			return Err(AttestationError::PckChainMissing {
				cert_type: evidence.quote().inner_cert_type(),
			});
		}
		return Ok(u64::MAX);
	};
	// dcap-qvl builds the path from the leaf to its own anchor through whichever of the
	// other certificates it needs, and never reads the root a quote carries: any extra,
	// missing or altered certificate there would verify all the same, as another encoding of
	// the quote. Intel's quote generation embeds exactly the path.
	if chain.ders.len() != 3 || chain.ders[2] != INTEL_SGX_ROOT_CA_DER {
		let root = if chain.ders.last().is_some_and(|der| der == INTEL_SGX_ROOT_CA_DER) {
			"ending in"
		} else {
			"not ending in"
		};
		return Err(AttestationError::CertificateChainInvalid(format!(
			"the quote's PCK chain has {} certificates {root} Intel's SGX root CA certificate; \
			 it must be exactly the PCK certificate, its CA's and Intel's root, byte for byte",
			chain.ders.len()
		)));
	}
	for (index, (not_before, not_after)) in chain.windows.iter().copied().enumerate() {
		if now < not_before || now > not_after {
			return Err(AttestationError::CertificateChainInvalid(format!(
				"certificate {index} of the quote's PCK chain is valid from unix time \
				 {not_before} to {not_after}, not at {now}"
			)));
		}
	}
	Ok(chain.windows.iter().map(|w| w.1).min().unwrap_or(u64::MAX))
}

/// The platform's SVNs, from the PCK leaf dcap-qvl verified.
fn pck_platform(
	evidence: &DcapEvidence,
	collateral: &Collateral,
) -> Result<Platform, AttestationError> {
	if let Some(chain) = &collateral.as_dcap().pck_certificate_chain {
		let leaf = pem::parse_many(chain.as_bytes())
			.ok()
			.and_then(|blocks| blocks.into_iter().next())
			.ok_or_else(|| {
				AttestationError::CollateralInvalid("PCK certificate chain: no certificate".into())
			})?;
		return Platform::from_pck_leaf(leaf.contents());
	}
	let leaf = evidence.pck_chain().and_then(|chain| chain.ders.first()).ok_or(
		AttestationError::PckChainMissing { cert_type: evidence.quote().inner_cert_type() },
	)?;
	Platform::from_pck_leaf(leaf)
}

/// A TD's measurement: the identity digest over its report's MRTD, RTMRs, owner and
/// configuration ids and attributes ([`enclave_update_primitives::tdx`]). A TD 1.5 report
/// (dcap-qvl's `TD15`, `TD15Ex`) extends the TD 1.0 body, and its identity is that body's: the
/// fields it adds are the TDX module's TCB, which the collateral appraises, and the service
/// TD binding, which the policy judges.
fn td_identity(report: &TDReport10) -> Measurement {
	TdIdentityFields {
		mr_td: report.mr_td,
		rt_mr: [report.rt_mr0, report.rt_mr1, report.rt_mr2, report.rt_mr3],
		mr_config_id: report.mr_config_id,
		mr_owner: report.mr_owner,
		mr_owner_config: report.mr_owner_config,
		td_attributes: report.td_attributes,
	}
	.measurement()
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
		td_attributes: td_attributes(report),
		service_td: service_td(report).map(|mr| mr.to_vec()),
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
			td_identity(report),
			None,
			None,
			None,
			report.report_data,
		));
	}
	Err(AttestationError::UnsupportedQuote("unknown report body".into()))
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::attestation::evidence::DCAP_HEADER_LEN;

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
		}
		// SGX: every other attribute bit of that byte set, still not a debug enclave.
		assert!(!is_debug(&report_with(SGX_QUOTE, SGX_ATTRIBUTES_AT, !0x02)));
	}

	#[test]
	fn every_td_under_debug_attribute_makes_a_debug_td() {
		// Each bit of TD_ATTRIBUTES byte 0 (TUD), among them the profiling bits 4-6 that
		// dcap-qvl stops checking once it is told to allow debug TDs.
		for bit in 0..8 {
			let report = report_with(TDX_QUOTE, TD_ATTRIBUTES_AT, 1 << bit);
			assert!(is_debug(&report), "TUD bit {bit}");
		}
		// The SEC and OTHER attributes (bytes 1-7) do not make a TD debug.
		for byte in 1..8 {
			let report = report_with(TDX_QUOTE, TD_ATTRIBUTES_AT + byte, 0xff);
			assert!(!is_debug(&report), "TD_ATTRIBUTES byte {byte}");
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
	fn a_profiling_td_is_refused_as_debug_by_the_default_policy() {
		// TUD bit 4 with DEBUG (bit 0) clear: plain dcap-qvl refuses it ("TD profiling is
		// enabled"); the verifier lets dcap-qvl pass debug TDs, so its policy must refuse it.
		let report = report_with(TDX_QUOTE, TD_ATTRIBUTES_AT, 0x10);
		assert_eq!(attributes(&report)[0] & 0x01, 0);
		let identity =
			identity_from_report(&report, TcbStatus::UpToDate, Vec::new(), u64::MAX).unwrap();
		assert!(identity.debug);
		assert_eq!(
			AttestationPolicy::default().evaluate(&identity, None),
			Err(AttestationError::DebugEnclave)
		);
	}

	/// The TD report fields of the real TDX sample (a TD 1.0 report body right after the
	/// 48-byte header), as `(name, offset in the quote, length, in the identity)`.
	const TD_REPORT_FIELDS: [(&str, usize, usize, bool); 15] = {
		const B: usize = DCAP_HEADER_LEN;
		[
			("TEE_TCB_SVN", B, 16, false),
			("MRSEAM", B + 16, 48, false),
			("MRSIGNERSEAM", B + 64, 48, false),
			("SEAMATTRIBUTES", B + 112, 8, false),
			("TDATTRIBUTES", B + 120, 8, true),
			("XFAM", B + 128, 8, false),
			("MRTD", B + 136, 48, true),
			("MRCONFIGID", B + 184, 48, true),
			("MROWNER", B + 232, 48, true),
			("MROWNERCONFIG", B + 280, 48, true),
			("RTMR0", B + 328, 48, true),
			("RTMR1", B + 376, 48, true),
			("RTMR2", B + 424, 48, true),
			("RTMR3", B + 472, 48, true),
			("REPORTDATA", B + 520, 64, false),
		]
	};

	fn field<'a>(quote: &'a [u8], name: &str) -> &'a [u8] {
		let (_, at, len, _) = TD_REPORT_FIELDS.iter().find(|f| f.0 == name).unwrap();
		&quote[*at..at + len]
	}

	fn measurement_of(report: &Report) -> Measurement {
		identity_from_report(report, TcbStatus::UpToDate, Vec::new(), u64::MAX)
			.unwrap()
			.measurement
	}

	#[test]
	fn the_td_report_offsets_are_where_dcap_qvl_reads_the_fields() {
		let report = Quote::parse(TDX_QUOTE).unwrap().report;
		let td = report.as_td10().unwrap();
		let parsed: [(&str, &[u8]); 15] = [
			("TEE_TCB_SVN", &td.tee_tcb_svn),
			("MRSEAM", &td.mr_seam),
			("MRSIGNERSEAM", &td.mr_signer_seam),
			("SEAMATTRIBUTES", &td.seam_attributes),
			("TDATTRIBUTES", &td.td_attributes),
			("XFAM", &td.xfam),
			("MRTD", &td.mr_td),
			("MRCONFIGID", &td.mr_config_id),
			("MROWNER", &td.mr_owner),
			("MROWNERCONFIG", &td.mr_owner_config),
			("RTMR0", &td.rt_mr0),
			("RTMR1", &td.rt_mr1),
			("RTMR2", &td.rt_mr2),
			("RTMR3", &td.rt_mr3),
			("REPORTDATA", &td.report_data),
		];
		for (name, bytes) in parsed {
			assert_eq!(bytes, field(TDX_QUOTE, name), "{name}");
		}
		// The fields tile the 584-byte TD 1.0 report body.
		let end = TD_REPORT_FIELDS.iter().fold(DCAP_HEADER_LEN, |at, (name, start, len, _)| {
			assert_eq!(at, *start, "{name}");
			start + len
		});
		assert_eq!(end, DCAP_HEADER_LEN + 584);
	}

	#[test]
	fn the_td_measurement_is_the_identity_digest_of_the_raw_report() {
		use sha2::{Digest, Sha384};
		// Computed from the quote's bytes, in the order `enclave_update_primitives::tdx`
		// documents, not through dcap-qvl's types.
		let mut hasher = Sha384::new();
		hasher.update(b"enclave-update/tdx-identity/v1");
		for name in [
			"MRTD",
			"RTMR0",
			"RTMR1",
			"RTMR2",
			"RTMR3",
			"MRCONFIGID",
			"MROWNER",
			"MROWNERCONFIG",
			"TDATTRIBUTES",
		] {
			hasher.update(field(TDX_QUOTE, name));
		}
		let expected = Measurement::TdIdentity(hasher.finalize().into());
		let report = Quote::parse(TDX_QUOTE).unwrap().report;
		assert_eq!(measurement_of(&report), expected);
		// Not MRTD: that names only the firmware.
		assert_ne!(expected.as_bytes(), field(TDX_QUOTE, "MRTD"));
	}

	#[test]
	fn every_identity_field_and_no_other_changes_the_td_measurement() {
		let original = measurement_of(&Quote::parse(TDX_QUOTE).unwrap().report);
		for (name, at, len, in_identity) in TD_REPORT_FIELDS {
			for offset in [at, at + len - 1] {
				let mut quote = TDX_QUOTE.to_vec();
				quote[offset] ^= 0x80;
				let changed = measurement_of(&Quote::parse(&quote).unwrap().report);
				if in_identity {
					assert_ne!(changed, original, "{name} at {offset}");
				} else {
					assert_eq!(changed, original, "{name} at {offset}");
				}
			}
		}
	}
}
