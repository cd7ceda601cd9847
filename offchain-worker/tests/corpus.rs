//! Attestation over the corpus of 69 real DCAP quotes found in public repositories
//! (`shared/dcap-corpus`, beside the checkout; see its `README.md` and `PROVENANCE.md`). The
//! corpus is read where it is, never copied into the project, and its absence fails these
//! tests: they are the verifier's evidence that it holds on the platforms users run.
//!
//! - every quote with collateral gets the verdict its `meta.json` predicts, at the instant the
//!   corpus chose for that collateral; every quote without collateral is refused cleanly;
//! - no mutant of a quote's unsigned bytes verifies under another encoding than the canonical one,
//!   and every mutant of its signed bytes is refused;
//! - every encoding with a signature's `s` replaced by `n - s` (raw or in a certificate) decodes to
//!   the quote's canonical encoding, which is low-`s` but for Intel's root, and gets the quote's
//!   verdict; an embedded PCK chain other than exactly the path to Intel's root, which dcap-qvl
//!   alone accepts, is refused;
//! - Azure's TD (no SEPT_VE_DISABLE) and Alibaba's TD 1.5 (bound to a service TD) verify under a
//!   policy that allows them and are refused, naming the attribute, otherwise;
//! - the refusals operators read name their cause (item 4 of issue 14);
//! - every verified TD's measurement is its identity digest, computed here from the quote's bytes,
//!   and TDs that share a firmware (MRTD) but not their RTMRs are different measurements (item 7 of
//!   issue 13).

#[path = "support/corpus.rs"]
mod corpus_support;
use assert_matches::assert_matches;
use corpus_support::{corpus_root, n_minus, quote_names, P256_HALF_N};

use std::collections::BTreeMap;

use enclave_worker::{
	attestation::{
		decode_evidence, AttestationError, AttestationPolicy, Collateral, Evidence, EvidenceKind,
		NonCanonicalEncoding, TcbStatus, Verifier,
	},
	Measurement,
};
use serde_json::Value;

/// One quote of the corpus with what its `meta.json` says.
struct Entry {
	name: String,
	quote: Vec<u8>,
	meta: Value,
	/// `(collateral, verification time, expected status)` for each collateral file.
	collaterals: Vec<(Collateral, u64, String)>,
}

impl Entry {
	fn info(&self, key: &str) -> &Value {
		&self.meta["info"][key]
	}

	fn is_tdx(&self) -> bool {
		self.info("kind") == "tdx"
	}

	fn offset(&self, field: &str) -> Option<(usize, usize)> {
		let range = self.meta["offsets"][field].as_array()?;
		Some((range[0].as_u64()? as usize, range[1].as_u64()? as usize))
	}
}

fn corpus() -> &'static [Entry] {
	static CORPUS: std::sync::OnceLock<Vec<Entry>> = std::sync::OnceLock::new();
	CORPUS.get_or_init(|| {
		let dir = corpus_root().join("corpus");
		quote_names()
			.into_iter()
			.map(|name| {
				let at = dir.join(&name);
				let meta: Value =
					serde_json::from_slice(&std::fs::read(at.join("meta.json")).unwrap()).unwrap();
				let collaterals = meta["collaterals"]
					.as_array()
					.unwrap()
					.iter()
					.map(|c| {
						let file = at.join(c["file"].as_str().unwrap());
						(
							Collateral::from_file(&file).unwrap(),
							c["at"].as_u64().unwrap(),
							c["expected_status"].as_str().unwrap().to_string(),
						)
					})
					.collect();
				Entry {
					quote: std::fs::read(at.join("quote.bin")).unwrap(),
					name,
					meta,
					collaterals,
				}
			})
			.collect()
	})
}

/// Accepts every status but Revoked and every TD attribute, so that verdicts can be compared.
fn permissive() -> AttestationPolicy {
	let mut policy = AttestationPolicy {
		allow_debug: true,
		allow_td_without_sept_ve_disable: true,
		allow_service_td: true,
		..AttestationPolicy::default()
	};
	for status in [
		TcbStatus::SWHardeningNeeded,
		TcbStatus::ConfigurationNeeded,
		TcbStatus::ConfigurationAndSWHardeningNeeded,
		TcbStatus::OutOfDate,
		TcbStatus::OutOfDateConfigurationNeeded,
		TcbStatus::TDRelaunchAdvised,
		TcbStatus::TDRelaunchAdvisedConfigurationNeeded,
	] {
		policy = policy.allow_status(status);
	}
	policy
}

/// Every advisory id the collateral's TCB info and QE identity list.
fn listed_advisories(collateral: &Collateral) -> Vec<String> {
	let dcap = collateral.as_dcap();
	let mut ids = Vec::new();
	for json in [&dcap.tcb_info, &dcap.qe_identity] {
		let text: String = json.clone();
		for part in text.split("\"advisoryIDs\":[").skip(1) {
			let list = part.split(']').next().unwrap();
			ids.extend(list.split(',').map(|id| id.trim_matches('"').to_string()));
		}
	}
	ids
}

/// A refusal reads as one line: operators see it in logs and on the command line.
fn assert_one_line(error: &AttestationError, what: &str) {
	let text = error.to_string();
	assert!(!text.contains('\n') && !text.contains('\t'), "{what}: multi-line refusal {text:?}");
}

/// Published copies of genuine quotes with a byte of their PCK certificate edited
/// (`PROVENANCE.md`): their `meta.json` gives the status the genuine quote would have, but
/// their PCK chain no longer verifies.
const EDITED_COPIES: [&str; 2] = [
	"03-", // the PCK issuer name edited to "Platform0CA"
	"64-", // one base64 character of the PCK certificate changed
];

fn is_edited_copy(entry: &Entry) -> bool {
	EDITED_COPIES.iter().any(|prefix| entry.name.starts_with(prefix))
}

#[test]
fn the_corpus_holds_sixty_nine_quotes_of_which_sixty_have_collateral() {
	let corpus = corpus();
	assert_eq!(corpus.len(), 69);
	assert_eq!(corpus.iter().filter(|e| !e.collaterals.is_empty()).count(), 60);
}

#[test]
fn every_quote_with_collateral_gets_the_verdict_its_meta_predicts() {
	let verifier = Verifier::new(permissive());
	let mut verdicts = BTreeMap::<String, usize>::new();
	for entry in corpus() {
		for (collateral, at, expected) in &entry.collaterals {
			let what = format!("{} at {at}", entry.name);
			let result = verifier.verify(&entry.quote, Some(collateral), *at, None);
			if is_edited_copy(entry) {
				let err = result.unwrap_err();
				assert_matches!(
					err,
					AttestationError::CertificateChainInvalid(_),
					"{what}: {err:?}"
				);
				*verdicts.entry("CertificateChainInvalid (edited copy)".into()).or_default() += 1;
				continue;
			}
			let verdict = match &result {
				Ok(identity) => identity.tcb_status.to_string(),
				Err(AttestationError::TcbLevelNotFound { shortfall }) => {
					// Named, never empty.
					assert!(shortfall.contains(" SVN ") && shortfall.contains(" < "), "{what}");
					"NoMatchingTcbLevel".into()
				},
				Err(e) => panic!("{what}: expected {expected}, refused: {e}"),
			};
			assert_eq!(&verdict, expected, "{what}");
			if let Ok(identity) = &result {
				assert_eq!(
					identity.kind,
					if entry.is_tdx() { EvidenceKind::Tdx } else { EvidenceKind::Sgx },
					"{what}"
				);
				assert_eq!(identity.debug, entry.info("debug").as_bool().unwrap(), "{what}");
				let listed = listed_advisories(collateral);
				for id in &identity.advisory_ids {
					assert!(listed.contains(id), "{what}: advisory {id} is not in the collateral");
				}
				// Where dcap-qvl alone accepts the quote, the advisories are exactly its own.
				if let Ok(bare) = dcap_qvl::verify::verify(&entry.quote, collateral.as_dcap(), *at)
				{
					assert_eq!(bare.status, verdict, "{what}");
					assert_eq!(bare.advisory_ids, identity.advisory_ids, "{what}");
				}
			}
			*verdicts.entry(verdict).or_default() += 1;
		}
	}
	eprintln!("corpus verdicts: {verdicts:?}");
	let instants = corpus().iter().map(|e| e.collaterals.len()).sum::<usize>();
	assert_eq!(verdicts.values().sum::<usize>(), instants);
}

#[test]
fn every_quote_without_collateral_is_refused_cleanly() {
	let verifier = Verifier::new(permissive());
	// Any other platform's collateral, valid at its own instant.
	let (foreign_sgx, sgx_at, _) = &corpus()[1].collaterals[0];
	let (foreign_tdx, tdx_at, _) = &corpus()[18].collaterals[0];
	for entry in corpus().iter().filter(|e| e.collaterals.is_empty()) {
		let err = verifier.verify(&entry.quote, None, *sgx_at, None).unwrap_err();
		assert_one_line(&err, &entry.name);
		assert_matches!(
			err,
			AttestationError::MissingCollateral
				| AttestationError::NonCanonical(_)
				| AttestationError::CertificationDataInvalid(_)
				| AttestationError::Malformed(_),
			"{}: {err:?}",
			entry.name
		);
		let (collateral, at) =
			if entry.is_tdx() { (foreign_tdx, tdx_at) } else { (foreign_sgx, sgx_at) };
		let err = verifier.verify(&entry.quote, Some(collateral), *at, None).unwrap_err();
		assert_one_line(&err, &entry.name);
		assert!(!matches!(err, AttestationError::Verification(_)), "{}: {err:?}", entry.name);
	}
}

/// The canonical encoding of a corpus quote, and its decoded PCK-chain facts.
fn canonical(quote: &[u8]) -> Vec<u8> {
	match decode_evidence(quote) {
		Ok(Evidence::Dcap(evidence)) => evidence.canonical_bytes().to_vec(),
		other => panic!("not a DCAP quote: {other:?}"),
	}
}

fn write_u32(bytes: &mut [u8], at: usize, value: u32) {
	bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
	u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Offsets of the three nested length fields: signature data, outer certification data
/// (v4/v5), inner certification data.
fn length_fields(entry: &Entry) -> (usize, Option<usize>, usize) {
	let sig_len_at = entry.offset("sig_len").unwrap().0;
	let outer = entry.offset("outer_cert_header").map(|(at, _)| at + 2);
	let inner = entry.offset("cert_header").unwrap().0 + 2;
	(sig_len_at, outer, inner)
}

/// `quote` with `extra` bytes inserted at the end of its certification data and the three
/// length fields grown to match: framed exactly, but with other certification data.
fn with_cert_data_end(entry: &Entry, quote: &[u8], keep: usize, extra: &[u8]) -> Vec<u8> {
	let (_, end) = entry.offset("cert_data").unwrap();
	let mut out = quote[..end - keep].to_vec();
	out.extend_from_slice(extra);
	let delta = extra.len() as i64 - keep as i64;
	let (sig, outer, inner) = length_fields(entry);
	for at in [Some(sig), outer, Some(inner)].into_iter().flatten() {
		let value = read_u32(&out, at) as i64 + delta;
		write_u32(&mut out, at, value as u32);
	}
	out
}

/// The corpus quotes with a PCK chain embedded in canonical form, that decode.
fn decodable() -> impl Iterator<Item = &'static Entry> {
	corpus().iter().filter(|e| decode_evidence(&e.quote).is_ok())
}

fn low(s: [u8; 32]) -> [u8; 32] {
	if s > P256_HALF_N {
		n_minus(s)
	} else {
		s
	}
}

/// One DER TLV (the corpus certificates' own, well formed): `(tag, value, rest)`.
fn tlv(bytes: &[u8]) -> (u8, &[u8], &[u8]) {
	let (len, header) = match bytes[1] {
		short @ 0..=0x7f => (usize::from(short), 2),
		long => {
			let count = usize::from(long & 0x7f);
			(bytes[2..2 + count].iter().fold(0, |len, &b| len << 8 | usize::from(b)), 2 + count)
		},
	};
	(bytes[0], &bytes[header..header + len], &bytes[header + len..])
}

fn tlv_of(tag: u8, value: &[u8]) -> Vec<u8> {
	let len = value.len();
	let mut out = vec![tag];
	match len {
		0..=0x7f => out.push(len as u8),
		0x80..=0xff => out.extend_from_slice(&[0x81, len as u8]),
		_ => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
	}
	out.extend_from_slice(value);
	out
}

/// A certificate's parts: what its signature covers (TBS certificate and algorithm), and
/// the `r` INTEGER and `s` value of its ECDSA signature.
fn certificate_parts(der: &[u8]) -> (&[u8], &[u8], [u8; 32]) {
	let (_, certificate, _) = tlv(der);
	let (_, _, after_tbs) = tlv(certificate);
	let (_, _, signature_value) = tlv(after_tbs);
	let signed = &certificate[..certificate.len() - signature_value.len()];
	let (_, bits, _) = tlv(signature_value);
	let (_, pair, _) = tlv(&bits[1..]);
	let (_, _, after_r) = tlv(pair);
	let r = &pair[..pair.len() - after_r.len()];
	let (_, s, _) = tlv(after_r);
	let s = s.strip_prefix(&[0]).unwrap_or(s);
	let mut value = [0u8; 32];
	value[32 - s.len()..].copy_from_slice(s);
	(signed, r, value)
}

/// `der` with its signature's `s` replaced by `f(s)`, encoded minimally.
fn with_certificate_s(der: &[u8], f: impl Fn([u8; 32]) -> [u8; 32]) -> Vec<u8> {
	let (signed, r, s) = certificate_parts(der);
	let s = f(s);
	let digits = &s[s.iter().position(|&b| b != 0).unwrap()..];
	let s = if digits[0] & 0x80 != 0 { [&[0], digits].concat() } else { digits.to_vec() };
	let pair = tlv_of(0x30, &[r, &tlv_of(0x02, &s)].concat());
	let bits = tlv_of(0x03, &[&[0], pair.as_slice()].concat());
	tlv_of(0x30, &[signed, &bits].concat())
}

/// The embedded PCK chain of a framed quote (type 5): its certificates, and whether a NUL
/// follows them.
fn pck_chain(entry: &Entry, quote: &[u8]) -> (Vec<Vec<u8>>, bool) {
	let (start, _) = entry.offset("cert_data").unwrap();
	let end = start + read_u32(quote, entry.offset("cert_header").unwrap().0 + 2) as usize;
	let data = &quote[start..end];
	let blocks = pem::parse_many(data).unwrap();
	(blocks.into_iter().map(|b| b.into_contents()).collect(), data.last() == Some(&0))
}

/// `quote` (framed as the corpus entry is) with `ders` as its PCK chain, in canonical PEM,
/// then a NUL if `nul`.
fn with_pck_chain(entry: &Entry, quote: &[u8], ders: &[Vec<u8>], nul: bool) -> Vec<u8> {
	let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
	let mut text: Vec<u8> = ders
		.iter()
		.flat_map(|der| {
			pem::encode_config(&pem::Pem::new("CERTIFICATE", der.clone()), config).into_bytes()
		})
		.collect();
	if nul {
		text.push(0);
	}
	let (start, end) = entry.offset("cert_data").unwrap();
	with_cert_data_end(entry, quote, end - start, &text)
}

/// The raw signature `r ‖ s` at `field` (`isv_signature`, `qe_report_signature`) with `f(s)`.
fn with_raw_s(
	entry: &Entry,
	quote: &[u8],
	field: &str,
	f: impl Fn([u8; 32]) -> [u8; 32],
) -> Vec<u8> {
	let (at, _) = entry.offset(field).unwrap();
	let mut out = quote.to_vec();
	let s = f(out[at + 32..at + 64].try_into().unwrap());
	out[at + 32..at + 64].copy_from_slice(&s);
	out
}

fn intel_root() -> Vec<u8> {
	std::fs::read(corpus_root().join("IntelSGXRootCA.der")).unwrap()
}

/// The canonical encoding of a corpus quote, built by the tests' own means: framed, the two
/// raw signatures low-s, and an embedded PCK chain in canonical PEM without NUL, each
/// certificate low-s but Intel's root, which stays as Intel publishes it.
fn expected_canonical(entry: &Entry) -> Vec<u8> {
	let framed = entry.offset("cert_data").unwrap().1;
	let mut quote = entry.quote[..framed].to_vec();
	for field in ["isv_signature", "qe_report_signature"] {
		quote = with_raw_s(entry, &quote, field, low);
	}
	if entry.info("cert_type") != 5 {
		return quote;
	}
	let root = intel_root();
	let (ders, _) = pck_chain(entry, &quote);
	let ders: Vec<_> = ders
		.iter()
		.map(|der| if *der == root { der.clone() } else { with_certificate_s(der, low) })
		.collect();
	with_pck_chain(entry, &quote, &ders, false)
}

#[test]
fn the_canonical_encoding_is_unique_and_decodes_to_itself() {
	let decoded = decodable().count();
	// 22 (bytes removed, its PEM broken) and 55 (a DER chain where PEM belongs) are refused.
	assert_eq!(decoded, 67, "decodable corpus quotes");
	for entry in decodable() {
		let canonical = canonical(&entry.quote);
		assert_eq!(self::canonical(&canonical), canonical, "{}: a fixed point", entry.name);
		let framed = entry.offset("cert_data").map(|(_, end)| end).unwrap();
		let nul = entry.quote[framed - 1] == 0 && entry.info("cert_type") == 5;
		// Built here on its own: no tail, no NUL, every signature low-s but Intel's root's.
		assert_eq!(canonical, expected_canonical(entry), "{}", entry.name);
		assert!(canonical.len() <= framed - usize::from(nul), "{}", entry.name);
		// With a zero tail, or none, or a longer one: the same canonical encoding.
		let mut padded = entry.quote[..framed].to_vec();
		assert_eq!(self::canonical(&padded), canonical, "{}: without tail", entry.name);
		padded.resize(framed + 3000, 0);
		assert_eq!(self::canonical(&padded), canonical, "{}: longer zero tail", entry.name);
		// The PCK chain with and without its terminating NUL: the same canonical encoding.
		if entry.info("cert_type") == 5 {
			let moved = if nul {
				with_cert_data_end(entry, &entry.quote, 1, b"")
			} else {
				with_cert_data_end(entry, &entry.quote, 0, b"\0")
			};
			assert_eq!(self::canonical(&moved), canonical, "{}: NUL moved", entry.name);
		}
	}
}

#[test]
fn no_non_canonical_encoding_of_a_corpus_quote_decodes() {
	let mut refused = BTreeMap::<&str, usize>::new();
	let mut count = |what| *refused.entry(what).or_default() += 1;
	for entry in decodable() {
		let name = &entry.name;
		let framed = entry.offset("cert_data").unwrap().1;
		let quote = &entry.quote[..framed];
		let refuse = |mutant: &[u8], what: &str| match decode_evidence(mutant) {
			Err(e) => {
				assert_one_line(&e, name);
				e
			},
			Ok(Evidence::Dcap(evidence)) => panic!(
				"{name}: {what} decodes (canonical {} bytes)",
				evidence.canonical_bytes().len()
			),
			Ok(_) => panic!("{name}: {what} decodes as simulated"),
		};

		// Bytes appended after the quote: any non-zero one.
		for tail in [&[1u8][..], &[0, 0, 7], &[0xff; 64]] {
			let mut mutant = entry.quote.clone();
			mutant.extend_from_slice(tail);
			let err = refuse(&mutant, "a non-zero tail");
			assert_matches!(
				err,
				AttestationError::NonCanonical(NonCanonicalEncoding::TrailingBytes { .. }),
				"{name}: {err:?}"
			);
			count("non-zero tail");
		}

		let (sig, outer, inner) = length_fields(entry);
		// The outer certification-data type (v4/v5), which dcap-qvl never checks.
		if let Some(outer_len_at) = outer {
			for found in [7u16, 5, 0, 0xffff] {
				let mut mutant = quote.to_vec();
				mutant[outer_len_at - 2..outer_len_at].copy_from_slice(&found.to_le_bytes());
				let err = refuse(&mutant, "another outer certification type");
				assert_eq!(
					err,
					NonCanonicalEncoding::OuterCertificationType { found }.into(),
					"{name}"
				);
				count("outer certification type");
			}
		}
		// Every length field grown by one into zero padding, or shrunk by one.
		for at in [Some(sig), outer, Some(inner)].into_iter().flatten() {
			for delta in [1i64, -1] {
				let mut mutant = quote.to_vec();
				mutant.push(0);
				let value = (read_u32(&mutant, at) as i64 + delta) as u32;
				write_u32(&mut mutant, at, value);
				let err = refuse(&mutant, "a length changed by one");
				assert_matches!(
					err,
					AttestationError::NonCanonical(_)
						| AttestationError::Malformed(_)
						| AttestationError::Truncated { .. }
						| AttestationError::CertificationDataInvalid(_),
					"{name}: length at {at} {delta:+}: {err:?}"
				);
				count("length changed by one");
			}
		}
		// The PCK chain's PEM text in another form: CRLF line ends, other wrapping, text
		// between blocks, two NULs.
		if entry.info("cert_type") == 5 {
			let (start, end) = entry.offset("cert_data").unwrap();
			let text = &quote[start..end];
			let pem_end = text.iter().rposition(|&b| b == b'\n').unwrap() + 1;
			let pem = &text[..pem_end];
			let crlf: Vec<u8> = String::from_utf8_lossy(pem).replace('\n', "\r\n").into_bytes();
			let unwrapped: Vec<u8> = String::from_utf8_lossy(pem)
				.replacen("\n", "", 2)
				.replacen("CATE-----", "CATE-----\n", 1)
				.into_bytes();
			let annotated = [b"# Intel PCK\n".as_slice(), pem].concat();
			let two_nuls = [pem, b"\0\0".as_slice()].concat();
			for (what, form) in [
				("CRLF", crlf),
				("rewrapped", unwrapped),
				("annotated", annotated),
				("two NULs", two_nuls),
			] {
				let mutant = with_cert_data_end(entry, quote, end - start, &form);
				let err = refuse(&mutant, what);
				assert_matches!(
					err,
					AttestationError::NonCanonical(NonCanonicalEncoding::PckChainNotCanonicalPem)
						| AttestationError::CertificationDataInvalid(_),
					"{name}: {what}: {err:?}"
				);
				count("PCK chain PEM form");
			}
		}
	}
	eprintln!("non-canonical mutants refused: {refused:?}");
}

#[test]
fn every_change_to_a_signed_byte_is_refused() {
	let verifier = Verifier::new(permissive());
	for entry in corpus().iter().filter(|e| !e.collaterals.is_empty() && !is_edited_copy(e)) {
		let (collateral, at, _) = &entry.collaterals[0];
		let body = entry.offset("body").unwrap();
		let qe_report = entry.offset("qe_report").unwrap();
		let qe_auth = entry.offset("qe_auth_data").unwrap();
		let cases = [
			("header", 8, AttestationError::QuoteSignatureInvalid),
			("report body", body.0 + 17, AttestationError::QuoteSignatureInvalid),
			("report data", body.1 - 1, AttestationError::QuoteSignatureInvalid),
			("QE report", qe_report.0 + 200, AttestationError::QeReportSignatureInvalid),
			("QE auth data", qe_auth.1 - 1, AttestationError::QeReportDataMismatch),
		];
		for (what, at_byte, expected) in cases {
			let mut mutant = entry.quote.clone();
			mutant[at_byte] ^= 0x40;
			let err = verifier.verify(&mutant, Some(collateral), *at, None).unwrap_err();
			assert_eq!(err, expected, "{}: {what}", entry.name);
		}
	}
}

fn entry(prefix: &str) -> &'static Entry {
	corpus().iter().find(|e| e.name.starts_with(prefix)).unwrap()
}

fn accepting_status(status: TcbStatus) -> AttestationPolicy {
	AttestationPolicy::default().allow_status(status)
}

#[test]
fn azure_tds_without_sept_ve_disable_verify_only_under_a_policy_that_allows_them() {
	// Azure TDX CVMs (26, 56, 57): TD attributes 0, genuine, UpToDate at both instants.
	for prefix in ["26-", "56-", "57-"] {
		let entry = entry(prefix);
		for (collateral, at, expected) in &entry.collaterals {
			let what = format!("{} at {at}", entry.name);
			let policy = accepting_status(expected.parse().unwrap());
			let err =
				Verifier::new(policy.clone()).verify(&entry.quote, Some(collateral), *at, None);
			assert_eq!(err, Err(AttestationError::TdSeptVeDisableNotSet), "{what}");
			assert!(err.unwrap_err().to_string().contains("SEPT_VE_DISABLE"));
			let allowing = AttestationPolicy { allow_td_without_sept_ve_disable: true, ..policy };
			let identity = Verifier::new(allowing)
				.verify(&entry.quote, Some(collateral), *at, None)
				.unwrap_or_else(|e| panic!("{what}: {e}"));
			assert_eq!(identity.tcb_status.to_string(), *expected, "{what}");
			assert!(identity.td_attributes.is_some_and(|td| !td.sept_ve_disable()), "{what}");
			// Plain dcap-qvl refuses them, with its generic message.
			let bare = dcap_qvl::verify::verify(&entry.quote, collateral.as_dcap(), *at);
			assert!(bare.is_err_and(|e| e.to_string().contains("SEPT_VE_DISABLE")), "{what}");
		}
	}
}

#[test]
fn alibaba_td_bound_to_a_service_td_verifies_only_under_a_policy_that_allows_it() {
	let entry = entry("65-");
	for (collateral, at, expected) in &entry.collaterals {
		let what = format!("{} at {at}", entry.name);
		let policy = accepting_status(expected.parse().unwrap());
		let err = Verifier::new(policy.clone())
			.verify(&entry.quote, Some(collateral), *at, None)
			.unwrap_err();
		let AttestationError::TdServiceTdBound { mr_service_td, .. } = &err else {
			panic!("{what}: {err:?}")
		};
		assert_eq!(mr_service_td.len(), 96, "{what}: names the service TD");
		let allowing = AttestationPolicy { allow_service_td: true, ..policy };
		let identity = Verifier::new(allowing)
			.verify(&entry.quote, Some(collateral), *at, None)
			.unwrap_or_else(|e| panic!("{what}: {e}"));
		assert_eq!(identity.tcb_status.to_string(), *expected, "{what}");
		assert!(identity.service_td.is_some(), "{what}");
		let bare = dcap_qvl::verify::verify(&entry.quote, collateral.as_dcap(), *at);
		assert!(bare.is_err_and(|e| e.to_string().contains("MR service TD")), "{what}");
	}
}

/// A TD report's fields, as `(offset in the TD 1.0 report body, length)` (Intel's
/// `TDREPORT_STRUCT`; a TD 1.5 body starts with the same fields).
const MRTD: (usize, usize) = (136, 48);
const RTMRS: (usize, usize) = (328, 192);
/// MRTD, RTMR0-3, MRCONFIGID, MROWNER, MROWNERCONFIG and TDATTRIBUTES, in the identity's order.
const TD_IDENTITY_FIELDS: [(usize, usize); 9] =
	[MRTD, (328, 48), (376, 48), (424, 48), (472, 48), (184, 48), (232, 48), (280, 48), (120, 8)];

fn td_report_field(entry: &Entry, (at, len): (usize, usize)) -> &[u8] {
	let (body, _) = entry.offset("body").unwrap();
	&entry.quote[body + at..body + at + len]
}

/// The TD identity computed from the quote's bytes, not through the worker's parser.
fn td_identity_from_bytes(entry: &Entry) -> Measurement {
	use sha2::{Digest, Sha384};
	let mut hasher = Sha384::new();
	hasher.update(b"enclave-update/tdx-identity/v1");
	for field in TD_IDENTITY_FIELDS {
		hasher.update(td_report_field(entry, field));
	}
	Measurement::TdIdentity(hasher.finalize().into())
}

#[test]
fn every_verified_td_is_measured_by_its_identity_digest_not_its_mrtd() {
	let verifier = Verifier::new(permissive());
	// MRTD -> the TD identities verified with it, each with the raw fields it covers.
	let mut by_mrtd = BTreeMap::<Vec<u8>, BTreeMap<Measurement, (Vec<u8>, String)>>::new();
	let mut verified = BTreeMap::<&str, Measurement>::new();
	for entry in corpus().iter().filter(|e| e.is_tdx() && !is_edited_copy(e)) {
		for (collateral, at, _) in &entry.collaterals {
			let Ok(identity) = verifier.verify(&entry.quote, Some(collateral), *at, None) else {
				continue;
			};
			let expected = td_identity_from_bytes(entry);
			assert_eq!(identity.measurement, expected, "{}", entry.name);
			let covered: Vec<u8> = TD_IDENTITY_FIELDS
				.iter()
				.flat_map(|field| td_report_field(entry, *field).to_vec())
				.collect();
			let mrtd = td_report_field(entry, MRTD).to_vec();
			let previous = by_mrtd
				.entry(mrtd)
				.or_default()
				.insert(expected, (covered.clone(), entry.name.clone()));
			// The same identity only from the same fields.
			if let Some((other, name)) = previous {
				assert_eq!(other, covered, "{} and {name}", entry.name);
			}
			verified.insert(&entry.name, expected);
		}
	}
	// The TD 1.0 and TD 1.5 (v5, Alibaba's and the TD15Ex sample) quotes are all in.
	assert_eq!(verified.len(), 39, "the TDs with collateral at which they verify");
	assert!(verified.keys().any(|name| name.starts_with("65-")));
	assert!(verified.keys().any(|name| name.starts_with("66-")));
	// Flashbots' TDs 39 and 47: the same firmware, another RTMR2 (kernel command line and
	// initrd), so another build to schedule.
	let (a, b) = (entry("39-"), entry("47-"));
	assert_eq!(td_report_field(a, MRTD), td_report_field(b, MRTD));
	assert_ne!(td_report_field(a, RTMRS), td_report_field(b, RTMRS));
	assert_ne!(verified[a.name.as_str()], verified[b.name.as_str()]);
	let shared_firmware = by_mrtd.values().filter(|identities| identities.len() > 1).count();
	assert!(shared_firmware >= 1, "some MRTD is shared by TDs of different identities");
}

fn collateral_json(entry: &Entry, index: usize) -> Value {
	let name = entry.meta["collaterals"][index]["file"].as_str().unwrap();
	let path = corpus_root().join("corpus").join(&entry.name).join(name);
	serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn collateral_from(json: &Value) -> Collateral {
	Collateral::from_json(&serde_json::to_vec(json).unwrap()).unwrap()
}

#[test]
fn genuine_pieces_that_never_overlap_are_reported_as_not_overlapping() {
	// The Flashbots quote has collateral from 2025-03 and from 2026-10: the TCB info of one
	// with everything else of the other is genuine, but never valid at one instant.
	let entry = entry("29-");
	let mut mixed = collateral_json(entry, 0);
	let later = collateral_json(entry, 1);
	for key in ["tcb_info", "tcb_info_signature", "tcb_info_issuer_chain"] {
		mixed[key] = later[key].clone();
	}
	let collateral = collateral_from(&mixed);
	for at in [entry.collaterals[0].1, entry.collaterals[1].1] {
		let err = Verifier::new(permissive())
			.verify(&entry.quote, Some(&collateral), at, None)
			.unwrap_err();
		let AttestationError::CollateralPiecesDoNotOverlap { starts, ends, valid_from, expires_at } =
			&err
		else {
			panic!("{err:?}")
		};
		assert!(valid_from > expires_at);
		assert_eq!(*starts, "TCB info", "{err}");
		assert_ne!(*ends, "TCB info", "{err}");
		assert!(err.to_string().contains("never valid at the same time"), "{err}");
	}
}

#[test]
fn a_bad_pck_crl_is_reported_as_such() {
	let entry = entry("29-");
	let (_, at, _) = &entry.collaterals[0];
	let good = collateral_json(entry, 0);
	let verify = |json: &Value| {
		Verifier::new(permissive())
			.verify(&entry.quote, Some(&collateral_from(json)), *at, None)
			.unwrap_err()
	};
	// Its signature altered.
	let mut altered = good.clone();
	let crl = hex::decode(good["pck_crl"].as_str().unwrap()).unwrap();
	let mut bad = crl.clone();
	let last = bad.len() - 3;
	bad[last] ^= 0x01;
	altered["pck_crl"] = Value::String(hex::encode(&bad));
	let err = verify(&altered);
	assert_matches!(err, AttestationError::PckCrlInvalid(_));
	// Not a CRL at all.
	let mut garbage = good.clone();
	garbage["pck_crl"] = Value::String(hex::encode(&crl[..40]));
	let err = verify(&garbage);
	assert_matches!(err, AttestationError::PckCrlInvalid(_));
	// The other PCK CA's CRL: the processor CA's for a platform-CA quote, both issued on
	// 2025-01-21 (49's first collateral and 08's).
	let platform = self::entry("49-");
	let (_, at, _) = &platform.collaterals[0];
	let mut foreign = collateral_json(platform, 0);
	foreign["pck_crl"] = collateral_json(self::entry("08-"), 0)["pck_crl"].clone();
	let foreign = collateral_from(&foreign);
	foreign.check_valid_at(*at).expect("the processor CA's CRL is current then");
	let err = Verifier::new(permissive())
		.verify(&platform.quote, Some(&foreign), *at, None)
		.unwrap_err();
	assert_matches!(err, AttestationError::PckCrlInvalid(_));
	assert!(!err.to_string().contains("certificate chain does not verify"), "{err}");
}

#[test]
fn an_empty_issuer_chain_is_named() {
	let entry = entry("29-");
	let (_, at, _) = &entry.collaterals[0];
	for (key, chain) in [
		("tcb_info_issuer_chain", "TCB info issuer chain"),
		("qe_identity_issuer_chain", "QE identity issuer chain"),
		("pck_crl_issuer_chain", "PCK CRL issuer chain"),
	] {
		let mut json = collateral_json(entry, 0);
		json[key] = Value::String(String::new());
		let err = Verifier::new(permissive())
			.verify(&entry.quote, Some(&collateral_from(&json)), *at, None)
			.unwrap_err();
		assert_eq!(err, AttestationError::CollateralIssuerChainEmpty { chain }, "{key}");
	}
}

#[test]
fn a_quote_without_a_pck_chain_asks_for_one_in_the_collateral() {
	// 01 carries an encrypted PPID (certification data type 3), not its PCK chain.
	let entry = entry("01-");
	let (collateral, at, _) = &entry_with_sgx_collateral().collaterals[0];
	let err = Verifier::new(permissive())
		.verify(&entry.quote, Some(collateral), *at, None)
		.unwrap_err();
	assert_eq!(err, AttestationError::PckChainMissing { cert_type: 3 });
	let text = err.to_string();
	assert!(!text.contains("get_collateral"), "{text}");
	assert!(text.contains("PCK certificate chain"), "{text}");
}

fn entry_with_sgx_collateral() -> &'static Entry {
	entry("02-")
}

#[test]
fn a_platform_older_than_every_level_names_the_component_that_falls_short() {
	for entry in corpus().iter().filter(|e| !is_edited_copy(e)) {
		for (collateral, at, expected) in &entry.collaterals {
			if expected != "NoMatchingTcbLevel" {
				continue;
			}
			let err = Verifier::new(permissive())
				.verify(&entry.quote, Some(collateral), *at, None)
				.unwrap_err();
			let AttestationError::TcbLevelNotFound { shortfall } = &err else {
				panic!("{}: {err:?}", entry.name)
			};
			let named = ["SVN", "<"].iter().all(|part| shortfall.contains(part));
			assert!(named, "{}: {shortfall}", entry.name);
			assert_one_line(&err, &entry.name);
		}
	}
}

/// Every signature over a quote's parts, as its variants with `s` replaced by `n - s`: the
/// two raw ones, each certificate of the embedded PCK chain but the root, and all at once.
fn s_variants(entry: &Entry) -> Vec<(String, Vec<u8>)> {
	let quote = &entry.quote;
	let mut variants = vec![
		("quote signature".to_string(), with_raw_s(entry, quote, "isv_signature", n_minus)),
		(
			"QE report signature".to_string(),
			with_raw_s(entry, quote, "qe_report_signature", n_minus),
		),
	];
	let mut all = with_raw_s(entry, &variants[0].1, "qe_report_signature", n_minus);
	if entry.info("cert_type") == 5 {
		let (ders, nul) = pck_chain(entry, quote);
		for index in 0..ders.len() - 1 {
			let mut flipped = ders.clone();
			flipped[index] = with_certificate_s(&ders[index], n_minus);
			variants.push((
				format!("certificate {index}"),
				with_pck_chain(entry, quote, &flipped, nul),
			));
		}
		let flipped: Vec<_> = ders[..ders.len() - 1]
			.iter()
			.map(|der| with_certificate_s(der, n_minus))
			.chain([ders[ders.len() - 1].clone()])
			.collect();
		all = with_pck_chain(entry, &all, &flipped, nul);
	}
	variants.push(("every signature".to_string(), all));
	variants
}

#[test]
fn every_s_malleated_encoding_of_a_corpus_quote_has_its_canonical_encoding_and_verdict() {
	let verifier = Verifier::new(permissive());
	let mut variants = 0;
	let mut verified = 0;
	let mut high_s_in_corpus = BTreeMap::<&str, usize>::new();
	for entry in decodable() {
		let canonical = canonical(&entry.quote);
		assert_eq!(self::canonical(&canonical), canonical, "{}: a fixed point", entry.name);
		for field in ["isv_signature", "qe_report_signature"] {
			let (at, _) = entry.offset(field).unwrap();
			let s: [u8; 32] = entry.quote[at + 32..at + 64].try_into().unwrap();
			if s > P256_HALF_N {
				*high_s_in_corpus.entry(field).or_default() += 1;
			}
		}
		if entry.info("cert_type") == 5 {
			let (ders, _) = pck_chain(entry, &entry.quote);
			for der in &ders[..ders.len() - 1] {
				if certificate_parts(der).2 > P256_HALF_N {
					*high_s_in_corpus.entry("PCK chain certificate").or_default() += 1;
				}
			}
		}
		let verifiable = !entry.collaterals.is_empty() && !is_edited_copy(entry);
		for (what, variant) in s_variants(entry) {
			assert_ne!(variant, entry.quote, "{}: {what}", entry.name);
			assert_eq!(self::canonical(&variant), canonical, "{}: {what}", entry.name);
			variants += 1;
			if !verifiable {
				continue;
			}
			for (collateral, at, _) in &entry.collaterals {
				let original = verifier.verify(&entry.quote, Some(collateral), *at, None);
				let malleated = verifier.verify(&variant, Some(collateral), *at, None);
				assert_eq!(malleated, original, "{} at {at}: {what}", entry.name);
				// A second encoding indeed: dcap-qvl alone judges it as it judges the quote.
				let bare = |quote: &[u8]| {
					dcap_qvl::verify::verify(quote, collateral.as_dcap(), *at)
						.map(|report| (report.status, report.advisory_ids))
						.map_err(|e| format!("{e:#}"))
				};
				assert_eq!(bare(&variant), bare(&entry.quote), "{} at {at}: {what}", entry.name);
				verified += 1;
			}
		}
	}
	eprintln!(
		"s-malleated encodings: {variants} with the canonical encoding, {verified} verdicts the \
		 same; corpus quotes with a high s: {high_s_in_corpus:?}"
	);
}

#[test]
fn a_pck_chain_that_is_not_exactly_the_path_to_intels_root_is_refused() {
	let verifier = Verifier::new(permissive());
	let root = intel_root();
	let mut refused = 0;
	for entry in corpus().iter().filter(|e| !e.collaterals.is_empty() && !is_edited_copy(e)) {
		let (ders, nul) = pck_chain(entry, &entry.quote);
		assert_eq!(ders.len(), 3, "{}", entry.name);
		assert_eq!(ders[2], root, "{}", entry.name);
		let mut root_byte_changed = root.clone();
		*root_byte_changed.last_mut().unwrap() ^= 1;
		let chains = [
			(
				"root with s = n - s",
				vec![ders[0].clone(), ders[1].clone(), with_certificate_s(&root, n_minus)],
			),
			(
				"root signature byte changed",
				vec![ders[0].clone(), ders[1].clone(), root_byte_changed],
			),
			("root dropped", ders[..2].to_vec()),
			("root twice", [ders.as_slice(), &ders[2..]].concat()),
			("CA twice", [ders.as_slice(), &ders[1..2]].concat()),
			("root before the CA", vec![ders[0].clone(), ders[2].clone(), ders[1].clone()]),
		];
		let (collateral, at, _) = &entry.collaterals[0];
		let bare = |quote: &[u8]| {
			dcap_qvl::verify::verify(quote, collateral.as_dcap(), *at)
				.map(|report| report.status)
				.map_err(|e| format!("{e:#}"))
		};
		for (what, chain) in chains {
			let mutant = with_pck_chain(entry, &entry.quote, &chain, nul);
			let err = verifier.verify(&mutant, Some(collateral), *at, None).unwrap_err();
			let AttestationError::CertificateChainInvalid(why) = &err else {
				panic!("{}: {what}: {err:?}", entry.name)
			};
			assert!(
				why.contains("Intel's SGX root CA certificate"),
				"{}: {what}: {why}",
				entry.name
			);
			assert_one_line(&err, &entry.name);
			// dcap-qvl alone never reads the root the quote carries, nor minds extra ones.
			assert_eq!(bare(&mutant), bare(&entry.quote), "{}: {what}", entry.name);
			refused += 1;
		}
	}
	eprintln!("PCK chains other than the path to Intel's root refused: {refused}");
}
