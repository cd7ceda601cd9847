//! Attestation on real Intel-signed quotes (see `fixtures/README.md`), verified offline at
//! fixed times inside their collateral's validity, and every refusal with its own error.

use assert_matches::assert_matches;
use std::path::Path;

use enclave_worker::{
	attestation::{
		decode_evidence, is_debug,
		sim_quote::{self, SignSimQuote},
		AttestationError, AttestationPolicy, Collateral, Evidence, EvidenceKind, TcbStatus,
		Verifier,
	},
	tee::{SimTee, Tee},
	Measurement,
};

/// Inside the SGX sample's collateral window (2025-07-04).
const SGX_AT: u64 = 1_751_624_924;
/// Inside the TDX sample's collateral window (2025-07-04).
const TDX_AT: u64 = 1_751_624_655;
/// Inside the outdated TDX sample's collateral window (2026-03-05).
const TDX_OUTDATED_AT: u64 = 1_772_707_833;

// SGX quote v3 layout: header 48, report body 384, signature-data length 4, then the
// ECDSA signature 64, attestation key 64, QE report 384, QE report signature 64,
// QE auth data (u16 length + data), certification data (u16 type, u32 length, PEM chain).
const SGX_BODY: usize = 48;
const SGX_ISV_SIGNATURE: usize = 48 + 384 + 4;
const SGX_ATTESTATION_KEY: usize = SGX_ISV_SIGNATURE + 64;
const SGX_QE_REPORT_SIGNATURE: usize = SGX_ATTESTATION_KEY + 64 + 384;
/// SGX ATTRIBUTES in the report body (after CPUSVN, MISCSELECT and 28 reserved bytes).
const SGX_ATTRIBUTES: usize = SGX_BODY + 48;
/// TDX TD_ATTRIBUTES in the TD report (after TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, SEAMATTRIBUTES).
const TD_ATTRIBUTES: usize = 48 + 120;

/// The TD identity of a TD 1.0 report body, computed from its bytes at the offsets of Intel's
/// TDX module specification (`TDREPORT_STRUCT`'s TDINFO), independently of the worker's
/// parser: SHA-384 over the tag, MRTD, RTMR0-3, MRCONFIGID, MROWNER, MROWNERCONFIG and
/// TDATTRIBUTES.
fn td_identity_from_bytes(body: &[u8]) -> Measurement {
	use sha2::{Digest, Sha384};
	let mut hasher = Sha384::new();
	hasher.update(b"enclave-update/tdx-identity/v1");
	for (at, len) in [(136, 48), (328, 48), (376, 48), (424, 48), (472, 48)] {
		hasher.update(&body[at..at + len]);
	}
	for (at, len) in [(184, 48), (232, 48), (280, 48), (120, 8)] {
		hasher.update(&body[at..at + len]);
	}
	Measurement::TdIdentity(hasher.finalize().into())
}

fn fixture(name: &str) -> Vec<u8> {
	std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name))
		.expect("fixture")
}

fn collateral(name: &str) -> Collateral {
	Collateral::from_json(&fixture(name)).expect("collateral")
}

fn sgx() -> (Vec<u8>, Collateral) {
	(fixture("sgx_quote"), collateral("sgx_quote_collateral.json"))
}

fn tdx() -> (Vec<u8>, Collateral) {
	(fixture("tdx_quote"), collateral("tdx_quote_collateral.json"))
}

/// Accepts the SGX sample's real status, so that the other checks can be reached.
fn sgx_policy() -> AttestationPolicy {
	AttestationPolicy::default().allow_status(TcbStatus::ConfigurationAndSWHardeningNeeded)
}

fn flipped(quote: &[u8], at: usize) -> Vec<u8> {
	let mut out = quote.to_vec();
	out[at] ^= 0x01;
	out
}

/// Offset of the PEM certification data in the SGX sample.
fn sgx_cert_data_offset(quote: &[u8]) -> usize {
	let auth_len_at = SGX_QE_REPORT_SIGNATURE + 64;
	let auth_len = u16::from_le_bytes([quote[auth_len_at], quote[auth_len_at + 1]]) as usize;
	auth_len_at + 2 + auth_len + 2 + 4
}

#[test]
fn tdx_sample_is_accepted_by_the_default_policy() {
	let (quote, collateral) = tdx();
	let identity = Verifier::new(AttestationPolicy::default())
		.verify(&quote, Some(&collateral), TDX_AT, None)
		.expect("real TDX quote verifies");
	assert_eq!(identity.kind, EvidenceKind::Tdx);
	assert_eq!(identity.tcb_status, TcbStatus::UpToDate);
	assert_eq!(identity.measurement, td_identity_from_bytes(&quote[48..48 + 584]));
	assert!(!identity.debug);
	assert!(identity.collateral_expires_at.is_some_and(|t| t > TDX_AT));
	// The report data binding check passes with the quote's own report data.
	let bound = identity.report_data;
	Verifier::new(AttestationPolicy::default())
		.verify(&quote, Some(&collateral), TDX_AT, Some(&bound))
		.expect("binding matches");
}

#[test]
fn sgx_sample_real_status_refused_by_default_and_accepted_when_allowed() {
	let (quote, collateral) = sgx();
	let err = Verifier::new(AttestationPolicy::default())
		.verify(&quote, Some(&collateral), SGX_AT, None)
		.unwrap_err();
	assert_matches!(
		err,
		AttestationError::TcbStatusNotAccepted {
			status: TcbStatus::ConfigurationAndSWHardeningNeeded,
			..
		}
	);
	let identity = Verifier::new(sgx_policy())
		.verify(&quote, Some(&collateral), SGX_AT, None)
		.expect("accepted when the status is allowed");
	assert_eq!(identity.kind, EvidenceKind::Sgx);
	assert_eq!(identity.advisory_ids, ["INTEL-SA-00289", "INTEL-SA-00615"]);
	assert!(identity.signer.is_some() && identity.product_id.is_some() && identity.svn.is_some());
	assert_matches!(identity.measurement, Measurement::MrEnclave(_));
}

#[test]
fn rejected_advisory() {
	let (quote, collateral) = sgx();
	let err = Verifier::new(sgx_policy().reject_advisory("INTEL-SA-00615"))
		.verify(&quote, Some(&collateral), SGX_AT, None)
		.unwrap_err();
	assert_eq!(err, AttestationError::AdvisoryRejected("INTEL-SA-00615".into()));
	// An advisory the quote does not carry changes nothing.
	Verifier::new(sgx_policy().reject_advisory("INTEL-SA-99999"))
		.verify(&quote, Some(&collateral), SGX_AT, None)
		.expect("unrelated advisory");
}

#[test]
fn signer_product_and_svn_pins() {
	let (quote, collateral) = sgx();
	let identity = Verifier::new(sgx_policy())
		.verify(&quote, Some(&collateral), SGX_AT, None)
		.unwrap();
	let (signer, product, svn) =
		(identity.signer.clone().unwrap(), identity.product_id.unwrap(), identity.svn.unwrap());

	let pinned = AttestationPolicy {
		mrsigner: Some(signer.clone()),
		product_id: Some(product),
		min_svn: Some(svn),
		..sgx_policy()
	};
	Verifier::new(pinned.clone())
		.verify(&quote, Some(&collateral), SGX_AT, None)
		.expect("pins");

	let mut other_signer = signer.clone();
	other_signer[0] ^= 0xff;
	let err = Verifier::new(AttestationPolicy { mrsigner: Some(other_signer), ..pinned.clone() })
		.verify(&quote, Some(&collateral), SGX_AT, None)
		.unwrap_err();
	assert_matches!(err, AttestationError::SignerMismatch { .. });

	let err = Verifier::new(AttestationPolicy {
		product_id: Some(product.wrapping_add(1)),
		..pinned.clone()
	})
	.verify(&quote, Some(&collateral), SGX_AT, None)
	.unwrap_err();
	assert_matches!(err, AttestationError::ProductIdMismatch { .. });

	let err = Verifier::new(AttestationPolicy { min_svn: Some(svn + 1), ..pinned })
		.verify(&quote, Some(&collateral), SGX_AT, None)
		.unwrap_err();
	assert_eq!(err, AttestationError::SvnTooLow { min: svn + 1, got: Some(svn) });

	// TDX quotes have no MRSIGNER: a signer pin refuses them.
	let (tdx_quote, tdx_collateral) = tdx();
	let err = Verifier::new(AttestationPolicy { mrsigner: Some(signer), ..Default::default() })
		.verify(&tdx_quote, Some(&tdx_collateral), TDX_AT, None)
		.unwrap_err();
	assert_matches!(err, AttestationError::SignerMismatch { .. });
}

#[test]
fn report_data_mismatch() {
	let (quote, collateral) = tdx();
	let err = Verifier::new(AttestationPolicy::default())
		.verify(&quote, Some(&collateral), TDX_AT, Some(&[0x5a; 64]))
		.unwrap_err();
	assert_eq!(err, AttestationError::ReportDataMismatch);
}

#[test]
fn debug_enclave_refused() {
	// The debug bit is under the quote signature: a host can neither hide it nor add it. (Its
	// reading on the real reports and the refusal it drives are unit tests of `is_debug`.)
	for (quote, collateral, at, attributes_at, debug_bit) in
		[(sgx(), SGX_AT, SGX_ATTRIBUTES, 0x02), (tdx(), TDX_AT, TD_ATTRIBUTES, 0x01)]
			.map(|((q, c), at, attributes_at, bit)| (q, c, at, attributes_at, bit))
	{
		let mut debug = quote.clone();
		debug[attributes_at] |= debug_bit;
		let Ok(Evidence::Dcap(parsed)) = decode_evidence(&debug) else { panic!("decodes") };
		assert!(is_debug(&parsed.report));
		let err = Verifier::new(sgx_policy().allow_status(TcbStatus::UpToDate))
			.verify(&debug, Some(&collateral), at, None)
			.unwrap_err();
		assert_eq!(err, AttestationError::QuoteSignatureInvalid);
	}

	let dir = tempfile::tempdir().unwrap();
	let sim = SimTee::in_data_dir(Measurement::MrEnclave([1; 32]), dir.path()).with_debug(true);
	let quote = sim.quote(&[0; 64]).unwrap();
	let err = Verifier::new(AttestationPolicy::dev())
		.verify(&quote, None, 0, None)
		.unwrap_err();
	assert_eq!(err, AttestationError::DebugEnclave);
	let allowing = AttestationPolicy { allow_debug: true, ..AttestationPolicy::dev() };
	assert!(Verifier::new(allowing).verify(&quote, None, 0, None).unwrap().debug);
}

#[test]
fn revoked_tcb_refused_even_when_listed() {
	// Intel signs the collateral, so a Revoked level cannot be made from the samples; the
	// policy stage is checked on a verified identity with that status.
	let (quote, collateral) = tdx();
	let verifier = Verifier::new(AttestationPolicy::default());
	let mut identity = verifier.check_evidence(&quote, Some(&collateral), TDX_AT).unwrap();
	identity.tcb_status = TcbStatus::Revoked;
	let listing = AttestationPolicy::default().allow_status(TcbStatus::Revoked);
	assert_eq!(listing.evaluate(&identity, None), Err(AttestationError::TcbRevoked));
}

fn with(quote: &[u8], at: usize, bytes: &[u8]) -> Vec<u8> {
	let mut out = quote.to_vec();
	out[at..at + bytes.len()].copy_from_slice(bytes);
	out
}

#[test]
fn malformed_quote() {
	// The SGX sample relabelled as version 4: framed like one (same body length), but its v3
	// signature data does not decode as v4's.
	let (quote, collateral) = sgx();
	let relabelled = with(&quote, 0, &4u16.to_le_bytes());
	assert_matches!(decode_evidence(&relabelled), Err(AttestationError::Malformed(_)));
	let err = Verifier::new(sgx_policy())
		.verify(&relabelled, Some(&collateral), SGX_AT, None)
		.unwrap_err();
	assert_matches!(err, AttestationError::Malformed(_));
}

#[test]
fn unsupported_quotes() {
	let (quote, collateral) = sgx();
	let (tdx_quote, tdx_collateral) = tdx();
	let cases = [
		("unknown version", with(&quote, 0, &9u16.to_le_bytes()), &collateral, SGX_AT),
		("TDX as version 3", with(&tdx_quote, 0, &3u16.to_le_bytes()), &tdx_collateral, TDX_AT),
		("ECDSA P-384 key", with(&quote, 2, &3u16.to_le_bytes()), &collateral, SGX_AT),
		("unknown TEE type", with(&quote, 4, &0x42u32.to_le_bytes()), &collateral, SGX_AT),
		("another QE vendor", with(&quote, 12, &[0xee; 16]), &collateral, SGX_AT),
	];
	for (what, quote, collateral, at) in cases {
		let err = Verifier::new(sgx_policy())
			.verify(&quote, Some(collateral), at, None)
			.unwrap_err();
		assert_matches!(err, AttestationError::UnsupportedQuote(_), "{what}: {err:?}");
	}
}

#[test]
fn flipped_byte_in_report_body() {
	let (quote, collateral) = sgx();
	for at in [SGX_BODY, SGX_BODY + 64, SGX_BODY + 320 /* report data */] {
		let err = Verifier::new(sgx_policy())
			.verify(&flipped(&quote, at), Some(&collateral), SGX_AT, None)
			.unwrap_err();
		assert_eq!(err, AttestationError::QuoteSignatureInvalid, "byte {at}");
	}
	let (quote, collateral) = tdx();
	let err = Verifier::new(AttestationPolicy::default())
		.verify(&flipped(&quote, 48 + 200), Some(&collateral), TDX_AT, None)
		.unwrap_err();
	assert_eq!(err, AttestationError::QuoteSignatureInvalid);
}

#[test]
fn flipped_byte_in_signatures() {
	let (quote, collateral) = sgx();
	let verify = |q: Vec<u8>| {
		Verifier::new(sgx_policy())
			.verify(&q, Some(&collateral), SGX_AT, None)
			.unwrap_err()
	};
	assert_eq!(
		verify(flipped(&quote, SGX_ISV_SIGNATURE + 10)),
		AttestationError::QuoteSignatureInvalid
	);
	assert_eq!(
		verify(flipped(&quote, SGX_QE_REPORT_SIGNATURE + 10)),
		AttestationError::QeReportSignatureInvalid
	);
	// The attestation key is bound by the QE report: changing it breaks that binding.
	assert_eq!(
		verify(flipped(&quote, SGX_ATTESTATION_KEY + 3)),
		AttestationError::QeReportDataMismatch
	);
}

#[test]
fn flipped_byte_in_certification_data() {
	let (quote, collateral) = sgx();
	let cert_at = sgx_cert_data_offset(&quote);
	assert!(quote[cert_at..].starts_with(b"-----BEGIN CERTIFICATE-----"));
	let verify = |q: Vec<u8>| {
		Verifier::new(sgx_policy())
			.verify(&q, Some(&collateral), SGX_AT, None)
			.unwrap_err()
	};
	// Inside the base64 body of the PCK leaf (its DER no longer parses), and in its PEM
	// armour (which would otherwise make a parser skip the leaf).
	for at in [cert_at + 100, cert_at + 3] {
		let err = verify(flipped(&quote, at));
		assert_matches!(err, AttestationError::CertificationDataInvalid(_), "{at}: {err:?}");
	}
	// In the leaf's signature: well-formed, but the chain no longer verifies.
	let leaf_end = cert_at
		+ quote[cert_at..]
			.windows(25)
			.position(|w| w == b"-----END CERTIFICATE-----")
			.unwrap();
	let err = verify(flipped(&quote, leaf_end - 10));
	assert_matches!(err, AttestationError::CertificateChainInvalid(_));
}

#[test]
fn truncated_quotes() {
	let (quote, collateral) = sgx();
	for len in [0, 10, 47, 48, 200, 433, quote.len() - 1, quote.len() / 2] {
		let err = Verifier::new(sgx_policy())
			.verify(&quote[..len], Some(&collateral), SGX_AT, None)
			.unwrap_err();
		assert_matches!(err, AttestationError::Truncated { .. }, "len {len}: {err:?}");
	}
	// The TDX sample is zero-padded to 5006 bytes after its 4936 bytes of quote: padding is
	// tolerated, a cut into the quote itself is not.
	let (quote, collateral) = tdx();
	assert!(decode_evidence(&quote[..4936]).is_ok());
	let err = Verifier::new(AttestationPolicy::default())
		.verify(&quote[..4935], Some(&collateral), TDX_AT, None)
		.unwrap_err();
	assert_eq!(err, AttestationError::Truncated { needed: 4936, got: 4935 });
}

#[test]
fn collateral_time_validity() {
	// Our window is exactly within what dcap-qvl accepts: both ends verify, one second
	// outside is refused by our own check with the dates (never by an error message).
	for ((quote, collateral), policy) in
		[(sgx(), sgx_policy()), (tdx(), AttestationPolicy::default())]
	{
		let (valid_from, expires) = collateral.validity_window().unwrap();
		let verifier = Verifier::new(policy);
		for at in [valid_from, expires] {
			let identity = verifier.verify(&quote, Some(&collateral), at, None).unwrap();
			assert!(identity.collateral_expires_at.is_some_and(|t| t >= expires));
		}
		assert_eq!(
			verifier.verify(&quote, Some(&collateral), expires + 1, None),
			Err(AttestationError::CollateralExpired { expired_at: expires, now: expires + 1 })
		);
		assert_eq!(
			verifier.verify(&quote, Some(&collateral), valid_from - 1, None),
			Err(AttestationError::CollateralNotYetValid { valid_from, now: valid_from - 1 })
		);
	}

	let (quote, collateral) = tdx();
	let (valid_from, expires) = collateral.validity_window().unwrap();
	let verifier = Verifier::new(AttestationPolicy::default());
	let err = verifier.verify(&quote, Some(&collateral), expires + 1, None).unwrap_err();
	assert_eq!(err, AttestationError::CollateralExpired { expired_at: expires, now: expires + 1 });
	let err = verifier.verify(&quote, Some(&collateral), valid_from - 1, None).unwrap_err();
	assert_matches!(err, AttestationError::CollateralNotYetValid { .. });
	// A year later, as a stale cache would be.
	let err = verifier
		.verify(&quote, Some(&collateral), TDX_AT + 365 * 86_400, None)
		.unwrap_err();
	assert_matches!(err, AttestationError::CollateralExpired { .. });
}

#[test]
fn tampered_or_missing_collateral() {
	let (quote, _) = tdx();
	let mut json: serde_json::Value =
		serde_json::from_slice(&fixture("tdx_quote_collateral.json")).unwrap();
	let tcb_info = json["tcb_info"].as_str().unwrap().replace("UpToDate", "UpToDatf");
	json["tcb_info"] = serde_json::Value::String(tcb_info);
	let tampered = Collateral::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
	let err = Verifier::new(AttestationPolicy::default())
		.verify(&quote, Some(&tampered), TDX_AT, None)
		.unwrap_err();
	assert_matches!(err, AttestationError::CollateralInvalid(_));
	let err = Verifier::new(AttestationPolicy::default())
		.verify(&quote, None, TDX_AT, None)
		.unwrap_err();
	assert_eq!(err, AttestationError::MissingCollateral);
	assert_matches!(Collateral::from_json(b"{}"), Err(AttestationError::CollateralInvalid(_)));
}

#[test]
fn outdated_tdx_sample_matches_no_tcb_level() {
	let quote = fixture("tdx_quote_outdated");
	let collateral = collateral("tdx_quote_outdated_collateral.json");
	let err = Verifier::new(AttestationPolicy::default().allow_status(TcbStatus::OutOfDate))
		.verify(&quote, Some(&collateral), TDX_OUTDATED_AT, None)
		.unwrap_err();
	// The refusal names what falls short of the nearest level.
	let AttestationError::TcbLevelNotFound { shortfall } = &err else { panic!("{err:?}") };
	assert!(shortfall.contains(" SVN ") && shortfall.contains(" < "), "{shortfall}");
}

#[test]
fn simulated_quotes_only_in_dev_mode() {
	let dir = tempfile::tempdir().unwrap();
	let tee = SimTee::in_data_dir(Measurement::MrEnclave([0xab; 32]), dir.path());
	let quote = tee.quote(&[7; 64]).unwrap();
	let err = Verifier::new(AttestationPolicy::default())
		.verify(&quote, None, 0, None)
		.unwrap_err();
	assert_eq!(err, AttestationError::SimulatedQuoteRefused);
	let identity = Verifier::new(AttestationPolicy::dev())
		.verify(&quote, None, 0, Some(&[7; 64]))
		.unwrap();
	assert_eq!(identity.kind, EvidenceKind::Simulated);
	assert_eq!(identity.measurement, Measurement::MrEnclave([0xab; 32]));
	// Even a verified simulated identity is refused by a non-dev policy.
	assert_eq!(
		AttestationPolicy::default().evaluate(&identity, None),
		Err(AttestationError::SimulatedQuoteRefused)
	);
	// Signed by another key, or altered after signing.
	let forged = sim_quote::decode(&quote)
		.unwrap()
		.quote
		.sign_with(&ed25519_dalek::SigningKey::from_bytes(&[9; 32]));
	assert_eq!(
		Verifier::new(AttestationPolicy::dev()).verify(&forged, None, 0, None),
		Err(AttestationError::SimulatedSignatureInvalid)
	);
	assert_eq!(
		Verifier::new(AttestationPolicy::dev()).verify(&flipped(&quote, 20), None, 0, None),
		Err(AttestationError::SimulatedSignatureInvalid)
	);
	assert_matches!(
		Verifier::new(AttestationPolicy::dev()).verify(&quote[..100], None, 0, None),
		Err(AttestationError::Truncated { .. })
	);
}

#[test]
fn garbage_is_refused_without_panicking() {
	let verifier = Verifier::new(AttestationPolicy::dev());
	let mut seed = 0x1234_5678_9abc_def0u64;
	for len in 0..300usize {
		let bytes: Vec<u8> = (0..len)
			.map(|_| {
				seed ^= seed << 13;
				seed ^= seed >> 7;
				seed ^= seed << 17;
				seed as u8
			})
			.collect();
		assert!(verifier.verify(&bytes, None, 0, None).is_err());
	}
}

#[test]
fn collateral_cache_serves_valid_entries_offline() {
	use enclave_worker::attestation::CollateralCache;
	let dir = tempfile::tempdir().unwrap();
	let cache = CollateralCache::new(dir.path().join("collateral"));
	let (sgx_quote, sgx_collateral) = sgx();
	let (tdx_quote, _) = tdx();
	let key = CollateralCache::key_for(&sgx_quote).unwrap();
	assert!(key.starts_with("sgx-"), "{key}");
	assert!(CollateralCache::key_for(&tdx_quote).unwrap().starts_with("tdx-"));

	assert_matches!(
		cache.get(&sgx_quote, SGX_AT),
		Err(AttestationError::CollateralNotCached { .. })
	);
	cache.insert(&sgx_quote, &sgx_collateral).unwrap();
	let cached = cache.get(&sgx_quote, SGX_AT).unwrap();
	Verifier::new(sgx_policy())
		.verify(&sgx_quote, Some(&cached), SGX_AT, None)
		.unwrap();
	assert_matches!(
		cache.get(&sgx_quote, SGX_AT + 365 * 86_400),
		Err(AttestationError::CollateralExpired { .. })
	);
	assert_matches!(
		cache.get(&tdx_quote, TDX_AT),
		Err(AttestationError::CollateralNotCached { .. })
	);
}
