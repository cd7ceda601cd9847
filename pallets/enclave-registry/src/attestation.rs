//! Evidence verification in the runtime: DCAP quotes (SGX and TDX) with `dcap-qvl` on its
//! pure-Rust crypto backend, against Intel's root certificate compiled into the runtime, and
//! simulated quotes where the runtime's [`SimulatedEvidence`] accepts them.
//!
//! The collateral travels with the call (see the crate docs for why), SCALE-encoded as
//! `dcap_qvl::QuoteCollateralV3`; its signatures chain to Intel's root, so whoever submits it
//! cannot forge it, only choose which genuine collateral to send. Its validity window is checked
//! here, on its parsed dates, against the chain's timestamp.

use alloc::{format, string::String};
use codec::{Decode, DecodeAll, Encode};
use dcap_qvl::{
	configs::RustCryptoConfig,
	quote::{Quote, Report, TDReport10},
	verify::QuoteVerifier,
	QuoteCollateralV3,
};
pub use enclave_update_primitives::registry::{AttestedEnclave, EvidenceKind, TcbStatus};
use enclave_update_primitives::{
	sim_quote::{SignedSimQuote, SimQuote},
	Measurement, TdIdentityFields,
};

use crate::Error;

/// Whether and how a runtime accepts the simulated TEE's quotes
/// ([`enclave_update_primitives::sim_quote`]). A production runtime sets
/// [`RefuseSimulated`]; only a development runtime sets [`AcceptDevSignedSimulated`].
pub trait SimulatedEvidence {
	/// Checks a decoded simulated quote.
	fn check<T>(quote: &SignedSimQuote) -> Result<(), Error<T>>;
}

/// Refuses every simulated quote: the setting of a production runtime.
pub struct RefuseSimulated;

impl SimulatedEvidence for RefuseSimulated {
	fn check<T>(_: &SignedSimQuote) -> Result<(), Error<T>> {
		Err(Error::SimulatedEvidenceRefused)
	}
}

/// Accepts a simulated quote signed by the dev attestation key, whose private key anyone can
/// derive: for development chains only.
pub struct AcceptDevSignedSimulated;

impl SimulatedEvidence for AcceptDevSignedSimulated {
	fn check<T>(quote: &SignedSimQuote) -> Result<(), Error<T>> {
		use sp_core::ed25519::{Public, Signature};
		let key =
			Public::from_raw(enclave_update_primitives::sim_quote::DEV_ATTESTATION_PUBLIC_KEY);
		if sp_io::crypto::ed25519_verify(
			&Signature::from_raw(quote.signature),
			&quote.message(),
			&key,
		) {
			Ok(())
		} else {
			Err(Error::SimulatedSignatureInvalid)
		}
	}
}

/// Verifies `evidence` with `collateral` (empty for a simulated quote) at unix time `now`.
/// Only the cryptography and the collateral's validity: the caller applies the policy (debug,
/// TCB status, pins) and the binding of the report data.
pub fn verify_evidence<T, S: SimulatedEvidence>(
	evidence: &[u8],
	collateral: &[u8],
	now: u64,
) -> Result<AttestedEnclave, Error<T>> {
	if SimQuote::is_simulated(evidence) {
		let signed = SimQuote::decode(evidence).map_err(|_| Error::EvidenceMalformed)?;
		S::check::<T>(&signed)?;
		let quote = &signed.quote;
		return Ok(AttestedEnclave {
			kind: EvidenceKind::Simulated,
			measurement: quote.measurement,
			signer: Some(quote.signer),
			debug: quote.debug,
			tcb_status: TcbStatus::Simulated,
			report_data: quote.report_data,
			evidence_hash: sp_io::hashing::blake2_256(&quote.signed_bytes()),
		});
	}
	verify_dcap::<T>(evidence, collateral, now)
}

const ATTESTATION_KEY_TYPE_ECDSA_P256: u16 = 2;
const TEE_TYPE_SGX: u32 = 0;
const TEE_TYPE_TDX: u32 = 0x81;
/// dcap-qvl 0.7's refusal of a TD without SEPT_VE_DISABLE (its last check).
const DCAP_SEPT_VE_REFUSAL: &str = "SEPT_VE_DISABLE is not enabled";

fn verify_dcap<T>(
	evidence: &[u8],
	collateral: &[u8],
	now: u64,
) -> Result<AttestedEnclave, Error<T>> {
	let mut input = evidence;
	let quote = Quote::decode(&mut input).map_err(|_| Error::EvidenceMalformed)?;
	// Zero padding after the quote is how some quote generators hand it out; anything else is
	// another message riding along.
	if input.iter().any(|b| *b != 0) {
		return Err(Error::EvidenceMalformed);
	}
	let canonical = &evidence[..evidence.len() - input.len()];
	let header = &quote.header;
	let supported = header.attestation_key_type == ATTESTATION_KEY_TYPE_ECDSA_P256
		&& header.qe_vendor_id == dcap_qvl::INTEL_QE_VENDOR_ID
		&& matches!((header.tee_type, header.version), (TEE_TYPE_SGX, 3) | (TEE_TYPE_TDX, 4 | 5));
	if !supported {
		return Err(Error::UnsupportedQuote);
	}
	let collateral = QuoteCollateralV3::decode_all(&mut &collateral[..])
		.map_err(|_| Error::CollateralMalformed)?;
	let (valid_from, valid_until) = validity_window::<T>(&collateral)?;
	if now < valid_from || now > valid_until {
		return Err(Error::CollateralExpired);
	}
	let verified = QuoteVerifier::new_prod()
		.with_config::<RustCryptoConfig>()
		// Debug is the policy's refusal, with its own error; service TDs are refused here.
		.allow_debug(true)
		.allow_service_td(false)
		.verify(canonical, &collateral, now)
		.map_err(|error| classify::<T>(&format!("{error:#}")))?;
	let tcb_status =
		TcbStatus::from_collateral_name(&verified.status).ok_or(Error::QuoteInvalid)?;
	if tcb_status == TcbStatus::Revoked {
		return Err(Error::TcbRevoked);
	}
	let evidence_hash = signed_body_hash(&quote);
	let report = &quote.report;
	let (kind, measurement, signer, report_data) = if let Some(sgx) = report.as_sgx() {
		(
			EvidenceKind::Sgx,
			Measurement::MrEnclave(sgx.mr_enclave),
			Some(sgx.mr_signer),
			sgx.report_data,
		)
	} else if let Some(td) = report.as_td10() {
		(EvidenceKind::Tdx, td_identity(td).measurement(), None, td.report_data)
	} else {
		return Err(Error::UnsupportedQuote);
	};
	Ok(AttestedEnclave {
		kind,
		measurement,
		signer,
		debug: is_debug(report),
		tcb_status,
		report_data,
		evidence_hash,
	})
}

/// The identity fields of a TD's report, whose digest is its measurement
/// ([`TdIdentityFields::measurement`]).
pub fn td_identity(td: &TDReport10) -> TdIdentityFields {
	TdIdentityFields {
		mr_td: td.mr_td,
		rt_mr: [td.rt_mr0, td.rt_mr1, td.rt_mr2, td.rt_mr3],
		mr_config_id: td.mr_config_id,
		mr_owner: td.mr_owner,
		mr_owner_config: td.mr_owner_config,
		td_attributes: td.td_attributes,
	}
}

/// SGX ATTRIBUTES.FLAGS bit 1 (DEBUG); a TD's TD_ATTRIBUTES byte 0, every bit of which is a
/// debug-class attribute (TUD).
fn is_debug(report: &Report) -> bool {
	match (report.as_sgx(), report.as_td10()) {
		(Some(sgx), _) => sgx.attributes[0] & 0x02 != 0,
		(None, Some(td)) => td.td_attributes[0] != 0,
		(None, None) => true,
	}
}

/// What the quote's signature covers, as parsed: the header and the report body.
fn signed_body_hash(quote: &Quote) -> [u8; 32] {
	let mut signed = quote.header.encode();
	match &quote.report {
		Report::SgxEnclave(report) => (0u8, report).encode_to(&mut signed),
		Report::TD10(report) => (1u8, report).encode_to(&mut signed),
		Report::TD15(report) => (2u8, report).encode_to(&mut signed),
		Report::TD15Ex(report) => (3u8, report).encode_to(&mut signed),
	}
	sp_io::hashing::blake2_256(&signed)
}

/// Maps dcap-qvl's refusal (an `anyhow` message) to the error the caller can act on.
fn classify<T>(message: &str) -> Error<T> {
	let td_attributes = [
		DCAP_SEPT_VE_REFUSAL,
		"Reserved bits in TD attributes are set",
		"TD migration is enabled",
		"service TD",
		"SERVTD",
	];
	if td_attributes.iter().any(|needle| message.contains(needle)) {
		Error::TdAttributesRefused
	} else if message.contains("Revoked") && message.contains("TCB status") {
		Error::TcbRevoked
	} else {
		Error::QuoteInvalid
	}
}

/// When the collateral's TCB info and QE identity are both valid, in unix seconds: from the
/// later issue date to the earlier next update.
fn validity_window<T>(collateral: &QuoteCollateralV3) -> Result<(u64, u64), Error<T>> {
	#[derive(serde::Deserialize)]
	#[serde(rename_all = "camelCase")]
	struct Dates {
		issue_date: String,
		next_update: String,
	}
	let dates = |json: &str| -> Result<(u64, u64), Error<T>> {
		let dates: Dates = serde_json::from_str(json).map_err(|_| Error::CollateralMalformed)?;
		Ok((unix_time::<T>(&dates.issue_date)?, unix_time::<T>(&dates.next_update)?))
	};
	let (tcb_from, tcb_until) = dates(&collateral.tcb_info)?;
	let (qe_from, qe_until) = dates(&collateral.qe_identity)?;
	Ok((tcb_from.max(qe_from), tcb_until.min(qe_until)))
}

fn unix_time<T>(rfc3339: &str) -> Result<u64, Error<T>> {
	chrono::DateTime::parse_from_rfc3339(rfc3339)
		.ok()
		.and_then(|time| u64::try_from(time.timestamp()).ok())
		.ok_or(Error::CollateralMalformed)
}
