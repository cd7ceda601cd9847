//! Decoding evidence: simulated quotes, and DCAP quotes in their one canonical encoding.
//!
//! ## The canonical encoding of a DCAP quote
//!
//! Signatures cover the quote header and report body (the attestation key's), the QE report
//! (the PCK's), and, through the QE report data, the attestation key and QE auth data. The
//! framing around them — the length fields, the certification-data types, the PEM text of the
//! PCK chain, whatever follows the quote — is covered by nothing. Evidence is hashed, stored
//! and deduplicated (on-chain registration does), so one quote must have exactly one encoding.
//! [`decode_evidence`] accepts a DCAP quote only when:
//!
//! - its framing is exact: the signature-data length ends exactly where its contents do (ECDSA
//!   signature 64, attestation key 64, then for v3 the QE report section, for v4/v5 the outer
//!   certification data), the outer certification data (v4/v5) ends where the signature data does,
//!   and the inner certification data ends where the QE report section does. Lengths that do not
//!   add up are refused ([`NonCanonicalEncoding::LengthMismatch`]);
//! - the outer certification data of a v4/v5 quote has type 6, "QE report certification data"
//!   ([`NonCanonicalEncoding::OuterCertificationType`]); dcap-qvl does not look at it;
//! - an embedded PCK chain (certification data type 5) is the canonical PEM of its certificates —
//!   `-----BEGIN CERTIFICATE-----`, 64-column base64, LF line ends, blocks back to back —
//!   optionally followed by one NUL byte, as Intel's quote generation library writes it (GCP's
//!   writes none) ([`NonCanonicalEncoding::PckChainNotCanonicalPem`]);
//! - whatever follows the quote is all zero bytes or nothing. Published quotes often sit in a
//!   fixed-size zero-filled buffer (8000 bytes on GCP); any non-zero byte there is refused
//!   ([`NonCanonicalEncoding::TrailingBytes`]).
//!
//! The accepted forms still differ in their zero tail, in the PCK chain's NUL and in their
//! ECDSA signatures: for a valid signature `(r, s)`, `(r, n - s)` (`n` the order of P-256)
//! is valid too, over the same bytes with the same key, and Intel's quoting enclave and
//! PCK CAs emit either (about half the corpus quotes have a high `s` somewhere, and so has
//! Intel's root CA certificate), so neither form can be required. The decoder maps each
//! accepted form to **the** canonical encoding:
//!
//! - no tail;
//! - the PCK chain without its NUL;
//! - every signature with a low `s` (`s <= (n - 1) / 2`, else `s` is replaced by `n - s`): the two
//!   raw `r ‖ s` signatures of the quote — the attestation key's over header and body, the PCK's
//!   over the QE report — in place, and the signature of each certificate of the embedded PCK chain
//!   but Intel's root CA certificate, whose `INTEGER s` is then encoded minimally (so the
//!   signature's BIT STRING, the certificate and its PEM text may get shorter);
//! - when the PCK chain changed, the three length fields above it (certification data, outer
//!   certification data, signature data) adjusted to its new length.
//!
//! That is what [`DcapEvidence::canonical_bytes`] returns, what the verifier hands to
//! dcap-qvl (which accepts low and high `s` alike), and what anyone hashing or storing
//! evidence must use; decoding it again yields itself.
//!
//! Intel's root CA certificate is kept as Intel publishes it (a high `s`): dcap-qvl never
//! reads the root a quote carries — it builds the path from the PCK certificate to its own
//! compiled-in anchor — so any root there, or an extra or missing certificate, would verify
//! all the same. The verifier therefore requires the embedded chain to be exactly the PCK
//! certificate, its CA's and Intel's root byte for byte (`check_pck_chain`), which leaves
//! no freedom in the root to normalise.
//!
//! Left as they are: certification data of types other than 5 (e.g. type 3, an encrypted
//! PPID, whose fields are fixed-size), and the quote's own chain when the collateral brings
//! a PCK chain (dcap-qvl then verifies the collateral's, and the quote's is not read).

use std::ops::Deref;

use dcap_qvl::quote::{EnclaveReport, Quote, Report, TDReport10};
use serde::{Deserialize, Serialize};

use super::{
	error::one_line,
	sim_quote::{SignedSimQuote, SimQuote},
	AttestationError,
};
use crate::serde_hex::hex_array;

/// Length of a DCAP quote header.
pub(super) const DCAP_HEADER_LEN: usize = 48;
const SGX_REPORT_LEN: usize = 384;
const TD10_REPORT_LEN: usize = 584;
/// A v5 quote's body descriptor: body type (u16) and body size (u32).
const BODY_DESCRIPTOR_LEN: usize = 6;
pub(super) const TEE_TYPE_SGX: u32 = 0;
pub(super) const TEE_TYPE_TDX: u32 = 0x81;
pub(super) const ATTESTATION_KEY_TYPE_ECDSA_P256: u16 = 2;
/// ECDSA signature (r ‖ s) and attestation key (x ‖ y), both raw P-256.
const ECDSA_SIGNATURE_LEN: usize = 64;
const ATTESTATION_KEY_LEN: usize = 64;
const QE_REPORT_LEN: usize = 384;
/// Certification data header: type (u16) and length (u32).
const CERTIFICATION_HEADER_LEN: usize = 6;
/// Outer certification data of v4/v5 quotes: the QE report, its signature and what follows.
const CERT_TYPE_QE_REPORT: u16 = 6;
/// PCK certificate chain (PEM) embedded in the quote.
pub(super) const CERT_TYPE_PCK_CHAIN: u16 = 5;

/// Why a DCAP quote's encoding is not the canonical one (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NonCanonicalEncoding {
	/// Non-zero bytes follow the end of the quote.
	#[error("{len} bytes follow the quote's end at byte {at} and they are not all zero")]
	TrailingBytes {
		/// Where the quote ends (its framed length).
		at: usize,
		/// How many bytes follow.
		len: usize,
	},
	/// The outer certification data of a v4/v5 quote is not of type 6.
	#[error("the outer certification data has type {found}, not 6 (QE report certification data)")]
	OuterCertificationType {
		/// The type found.
		found: u16,
	},
	/// A length field does not end where its enclosing structure does.
	#[error("the {field} ends at byte {declared_end}, but its enclosing structure ends at byte {enclosing_end}")]
	LengthMismatch {
		/// Which field.
		field: &'static str,
		/// Where its length field says it ends.
		declared_end: usize,
		/// Where the enclosing structure ends.
		enclosing_end: usize,
	},
	/// The embedded PCK chain is not the canonical PEM text of its certificates.
	#[error(
		"the PCK chain is not the canonical PEM of its certificates (64-column base64, LF line \
		 ends, blocks back to back, at most one terminating NUL byte)"
	)]
	PckChainNotCanonicalPem,
}

/// Decoded evidence, before any cryptographic check.
#[derive(Debug)]
pub enum Evidence {
	/// A simulated quote.
	Simulated(Box<SignedSimQuote>),
	/// A DCAP quote, in its canonical encoding.
	Dcap(Box<DcapEvidence>),
}

/// A DCAP quote decoded from its canonical encoding, with its PCK chain parsed once.
#[derive(Debug)]
pub struct DcapEvidence {
	quote: Quote,
	canonical: Vec<u8>,
	pck_chain: Option<PckChain>,
}

/// The certificates of a PCK chain embedded in a quote (leaf first).
#[derive(Debug)]
pub(super) struct PckChain {
	/// DER of each certificate.
	pub ders: Vec<Vec<u8>>,
	/// `(not before, not after)` of each certificate, unix seconds.
	pub windows: Vec<(u64, u64)>,
}

impl DcapEvidence {
	/// The quote.
	pub fn quote(&self) -> &Quote {
		&self.quote
	}

	/// The canonical encoding: what is verified, and what must be hashed or stored.
	pub fn canonical_bytes(&self) -> &[u8] {
		&self.canonical
	}

	/// The embedded PCK chain, when the quote carries one (certification data type 5).
	pub(super) fn pck_chain(&self) -> Option<&PckChain> {
		self.pck_chain.as_ref()
	}
}

/// A decoded quote reads as the dcap-qvl [`Quote`] it is.
impl Deref for DcapEvidence {
	type Target = Quote;
	fn deref(&self) -> &Quote {
		&self.quote
	}
}

/// TDX TD_ATTRIBUTES (Intel TDX module ABI, TD_ATTRIBUTES), as a TD report carries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TdAttributes(#[serde(with = "hex_array")] pub [u8; 8]);

impl TdAttributes {
	/// Bit 28: EPT violations on pending pages are not turned into #VE in the TD.
	const SEPT_VE_DISABLE: u64 = 1 << 28;
	/// Bit 17: the TD report includes a hash of the service TDs bound to the TD.
	const SERVTD_EXT: u64 = 1 << 17;

	fn bits(&self) -> u64 {
		u64::from_le_bytes(self.0)
	}

	/// Whether any TUD ("TD under debug") bit is set: byte 0, that is DEBUG (bit 0), the bits
	/// 4–6 that dcap-qvl reads as profiling, and the reserved rest. The TDX module ABI says a
	/// TD with any of them set is untrusted: the host can observe it.
	pub fn under_debug(&self) -> bool {
		self.0[0] != 0
	}

	/// Whether SEPT_VE_DISABLE (bit 28) is set.
	pub fn sept_ve_disable(&self) -> bool {
		self.bits() & Self::SEPT_VE_DISABLE != 0
	}

	/// Whether SERVTD_EXT (bit 17) is set.
	pub fn servtd_ext(&self) -> bool {
		self.bits() & Self::SERVTD_EXT != 0
	}
}

/// The TD attributes of a TD report, `None` for an SGX enclave.
pub fn td_attributes(report: &Report) -> Option<TdAttributes> {
	report.as_td10().map(|td| TdAttributes(td.td_attributes))
}

/// The service TD a TD 1.5 report is bound to (MR_SERVICETD), when it is bound to one.
pub fn service_td(report: &Report) -> Option<[u8; 48]> {
	report.as_td15().map(|td| td.mr_service_td).filter(|mr| *mr != [0; 48])
}

/// Decodes evidence: a simulated quote, or a DCAP quote in an accepted encoding (see the
/// module docs), returned with its canonical encoding. The header, report body and
/// signature-data length are read first, so that a short quote is reported as
/// [`AttestationError::Truncated`]. Total: never panics (this is the evidence fuzz target).
pub fn decode_evidence(bytes: &[u8]) -> Result<Evidence, AttestationError> {
	if SimQuote::is_simulated(bytes) {
		return super::sim_quote::decode(bytes).map(|q| Evidence::Simulated(Box::new(q)));
	}
	decode_dcap(bytes).map(|evidence| Evidence::Dcap(Box::new(evidence)))
}

fn decode_dcap(bytes: &[u8]) -> Result<DcapEvidence, AttestationError> {
	let parse = |bytes: &[u8]| {
		Quote::parse(bytes)
			.map_err(|e| AttestationError::Malformed(one_line(format_args!("{e:#}"))))
	};
	let frame = Frame::of(bytes)?;
	if bytes.len() < frame.end {
		return Err(AttestationError::Truncated { needed: frame.end, got: bytes.len() });
	}
	let version = u16::from_le_bytes([bytes[0], bytes[1]]);
	// A quote that does not even parse is malformed rather than non-canonical; parsing only
	// then keeps the accepted path at one parse (of the canonical bytes).
	let layout = frame.layout(bytes, version).map_err(|e| parse(bytes).err().unwrap_or(e))?;
	let tail = &bytes[frame.end..];
	if tail.iter().any(|&b| b != 0) {
		return Err(NonCanonicalEncoding::TrailingBytes { at: frame.end, len: tail.len() }.into());
	}
	let cert_data = &bytes[layout.cert_data_at..layout.cert_data_end];
	let (pck_chain, canonical_cert_data) = if layout.cert_type == CERT_TYPE_PCK_CHAIN {
		let (chain, text) = canonical_pck_chain(cert_data)?;
		(Some(chain), text)
	} else {
		(None, None)
	};
	let mut canonical = bytes[..frame.end].to_vec();
	// The attestation key's signature over header and body, and the PCK's over the QE report:
	// both with a low `s`. Neither signature is covered by anything, and the length fields
	// do not move.
	for signature_at in [frame.sig_len_at + 4, layout.qe_report_signature_at] {
		low_s_raw_signature(&mut canonical[signature_at..signature_at + ECDSA_SIGNATURE_LEN]);
	}
	if let Some(text) = canonical_cert_data {
		let delta = text.len() as i64 - cert_data.len() as i64;
		canonical.splice(layout.cert_data_at..layout.cert_data_end, text);
		for at in [Some(layout.cert_len_at), layout.outer_len_at, Some(frame.sig_len_at)]
			.into_iter()
			.flatten()
		{
			adjust_u32_le(&mut canonical, at, delta)?;
		}
	}
	let quote = parse(&canonical)?;
	Ok(DcapEvidence { quote, canonical, pck_chain })
}

/// Adds `delta` to the little-endian u32 length field at `at`: it counts the certification
/// data being replaced, so it stays in range for any replacement the decoder makes.
fn adjust_u32_le(bytes: &mut [u8], at: usize, delta: i64) -> Result<(), AttestationError> {
	let field = bytes
		.get_mut(at..at + 4)
		.ok_or_else(|| AttestationError::Malformed(format!("no length field at byte {at}")))?;
	let value = i64::from(u32::from_le_bytes([field[0], field[1], field[2], field[3]]));
	let adjusted = u32::try_from(value + delta)
		.map_err(|_| AttestationError::Malformed(format!("length field at byte {at} overflows")))?;
	field.copy_from_slice(&adjusted.to_le_bytes());
	Ok(())
}

/// The order `n` of the P-256 group, big-endian.
const P256_ORDER: [u8; 32] = [
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];
/// `(n - 1) / 2`: the largest low `s`.
const P256_HALF_ORDER: [u8; 32] = [
	0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// `n - s`, for a big-endian `s` of at most `n`.
fn p256_order_minus(s: &[u8; 32]) -> [u8; 32] {
	let mut out = [0u8; 32];
	let mut borrow = false;
	for i in (0..32).rev() {
		let (digit, under) = P256_ORDER[i].overflowing_sub(s[i]);
		let (digit, under_again) = digit.overflowing_sub(u8::from(borrow));
		out[i] = digit;
		borrow = under || under_again;
	}
	out
}

/// Replaces a high `s` ((n - 1) / 2 < s < n) by `n - s`, the other `s` that makes the same
/// `r` a valid ECDSA signature over the same message with the same key; returns whether it
/// did. Big-endian arrays compare as the numbers they hold. An `s` of `n` or more is no
/// signature at all and is left for the verification to refuse.
fn low_s(s: &mut [u8; 32]) -> bool {
	if *s > P256_HALF_ORDER && *s < P256_ORDER {
		*s = p256_order_minus(s);
		true
	} else {
		false
	}
}

/// A raw P-256 signature `r ‖ s` (32 bytes each, big-endian) made low-`s` in place.
fn low_s_raw_signature(signature: &mut [u8]) {
	if let Some(s) = signature.get_mut(32..64).and_then(|s| <&mut [u8; 32]>::try_from(s).ok()) {
		low_s(s);
	}
}

/// The outer framing of a DCAP quote: header, report body and signature-data length.
struct Frame {
	/// Where the signature-data length field is.
	sig_len_at: usize,
	/// Where the quote ends: after its signature data.
	end: usize,
}

/// Where the fields inside the signature data are, once their lengths are known to add up.
struct Layout {
	/// The outer certification data's length field (v4/v5).
	outer_len_at: Option<usize>,
	/// The inner certification data's type and length field.
	cert_type: u16,
	cert_len_at: usize,
	cert_data_at: usize,
	cert_data_end: usize,
	/// Where the QE report's signature (by the PCK key) starts.
	qe_report_signature_at: usize,
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
	let field = bytes.get(at..at.checked_add(2)?)?;
	Some(u16::from_le_bytes([field[0], field[1]]))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<usize> {
	let field = bytes.get(at..at.checked_add(4)?)?;
	Some(u32::from_le_bytes([field[0], field[1], field[2], field[3]]) as usize)
}

impl Frame {
	/// The framing a quote announces through its header and length fields.
	fn of(bytes: &[u8]) -> Result<Self, AttestationError> {
		let truncated = |needed: usize| AttestationError::Truncated { needed, got: bytes.len() };
		let header = bytes.get(..DCAP_HEADER_LEN).ok_or_else(|| truncated(DCAP_HEADER_LEN))?;
		let version = u16::from_le_bytes([header[0], header[1]]);
		let tee_type = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
		let body_len = match (version, tee_type) {
			(3, TEE_TYPE_SGX) => SGX_REPORT_LEN,
			(4, TEE_TYPE_TDX) => TD10_REPORT_LEN,
			(4, TEE_TYPE_SGX) => SGX_REPORT_LEN,
			(5, _) => {
				let at = DCAP_HEADER_LEN;
				let size = read_u32(bytes, at + 2).ok_or_else(|| truncated(at + 6))?;
				BODY_DESCRIPTOR_LEN.saturating_add(size)
			},
			_ => {
				return Err(AttestationError::UnsupportedQuote(format!(
					"quote version {version} with TEE type {tee_type:#x}"
				)))
			},
		};
		let sig_len_at = DCAP_HEADER_LEN.saturating_add(body_len);
		let sig_at = sig_len_at.saturating_add(4);
		let sig_len = read_u32(bytes, sig_len_at).ok_or_else(|| truncated(sig_at))?;
		Ok(Self { sig_len_at, end: sig_at.saturating_add(sig_len) })
	}

	/// Walks the signature data and checks that every nested length ends where its enclosing
	/// structure does. `bytes` holds at least `self.end` bytes.
	fn layout(&self, bytes: &[u8], version: u16) -> Result<Layout, AttestationError> {
		let bytes = &bytes[..self.end];
		let malformed = |what: &str| AttestationError::Malformed(format!("no {what} in the quote"));
		let sig_end = self.end;
		let keys_end = self.sig_len_at + 4 + ECDSA_SIGNATURE_LEN + ATTESTATION_KEY_LEN;
		let (qe_at, qe_end, outer_len_at) = if version == 3 {
			(keys_end, sig_end, None)
		} else {
			let outer_type =
				read_u16(bytes, keys_end).ok_or_else(|| malformed("outer certification type"))?;
			if outer_type != CERT_TYPE_QE_REPORT {
				return Err(
					NonCanonicalEncoding::OuterCertificationType { found: outer_type }.into()
				);
			}
			let outer_len = read_u32(bytes, keys_end + 2)
				.ok_or_else(|| malformed("outer certification length"))?;
			let outer_at = keys_end + CERTIFICATION_HEADER_LEN;
			let outer_end = outer_at.saturating_add(outer_len);
			if outer_end != sig_end {
				return Err(NonCanonicalEncoding::LengthMismatch {
					field: "outer certification data",
					declared_end: outer_end,
					enclosing_end: sig_end,
				}
				.into());
			}
			(outer_at, outer_end, Some(keys_end + 2))
		};
		let auth_len_at = qe_at + QE_REPORT_LEN + ECDSA_SIGNATURE_LEN;
		let auth_len = read_u16(bytes, auth_len_at).ok_or_else(|| malformed("QE auth data"))?;
		let cert_type_at = auth_len_at + 2 + usize::from(auth_len);
		let cert_type =
			read_u16(bytes, cert_type_at).ok_or_else(|| malformed("certification data type"))?;
		let cert_len_at = cert_type_at + 2;
		let cert_len =
			read_u32(bytes, cert_len_at).ok_or_else(|| malformed("certification data length"))?;
		let cert_data_at = cert_len_at + 4;
		let cert_data_end = cert_data_at.saturating_add(cert_len);
		if cert_data_end != qe_end {
			return Err(NonCanonicalEncoding::LengthMismatch {
				field: "certification data",
				declared_end: cert_data_end,
				enclosing_end: qe_end,
			}
			.into());
		}
		Ok(Layout {
			outer_len_at,
			cert_type,
			cert_len_at,
			cert_data_at,
			cert_data_end,
			qe_report_signature_at: qe_at + QE_REPORT_LEN,
		})
	}
}

/// Structural and canonical-form check of an embedded PCK chain: the text exactly the
/// canonical PEM of its certificates (with at most one terminating NUL), every certificate
/// valid DER, at least a leaf and its issuer. Signatures are checked by the chain
/// verification later. Returns the chain with each certificate in its canonical form (see
/// [`low_s_certificate`]) and, when that is not `data`, the canonical text: the PEM of those
/// certificates, without a NUL.
fn canonical_pck_chain(data: &[u8]) -> Result<(PckChain, Option<Vec<u8>>), AttestationError> {
	let invalid = |why: String| AttestationError::CertificationDataInvalid(why);
	let (text, has_nul) = match data.split_last() {
		Some((0, text)) => (text, true),
		_ => (data, false),
	};
	let Some(mut ders) = read_canonical_pem(text) else { return Err(diagnose_pem(data)) };
	if ders.len() < 2 {
		return Err(invalid(format!(
			"PCK chain has {} certificates; it needs the PCK certificate and its issuer",
			ders.len()
		)));
	}
	let mut windows = Vec::with_capacity(ders.len());
	for (index, der) in ders.iter().enumerate() {
		let window = certificate_validity(der).ok_or_else(|| {
			invalid(format!("certificate {index} of the PCK chain is not a DER certificate"))
		})?;
		windows.push(window);
	}
	let mut reencoded = false;
	for der in ders.iter_mut().filter(|der| der.as_slice() != INTEL_SGX_ROOT_CA_DER) {
		if let Some(low) = low_s_certificate(der) {
			*der = low;
			reencoded = true;
		}
	}
	let canonical_text = if reencoded {
		Some(write_canonical_pem(&ders))
	} else if has_nul {
		Some(text.to_vec())
	} else {
		None
	};
	Ok((PckChain { ders, windows }, canonical_text))
}

/// Intel's SGX root CA certificate (`Intel_SGX_Provisioning_Certification_RootCA.cer`, the
/// trust anchor dcap-qvl's production verifier compiles in), byte for byte. An embedded PCK
/// chain must end in it (the verifier checks): dcap-qvl stops at its own anchor and never
/// reads the root a quote carries. Its signature has a high `s`; it is kept as Intel
/// publishes it.
pub(super) const INTEL_SGX_ROOT_CA_DER: &[u8] = include_bytes!("intel_sgx_root_ca.der");

/// A well-formed DER certificate (see [`certificate_validity`]) whose ECDSA signature value
/// — `BIT STRING { SEQUENCE { INTEGER r, INTEGER s } }` — has a high `s`, re-encoded with
/// `n - s` instead: the one other value that verifies, so the same certificate. The INTEGER
/// is encoded minimally, so it may be shorter, and with it the BIT STRING, the signature
/// SEQUENCE and the certificate SEQUENCE. `None` when `s` is already low or the signature
/// value is not of that form (then the chain verification judges it as it is).
fn low_s_certificate(der: &[u8]) -> Option<Vec<u8>> {
	const SEQUENCE: u8 = 0x30;
	const BIT_STRING: u8 = 0x03;
	const INTEGER: u8 = 0x02;
	let (tag, certificate, _) = der_tlv(der)?;
	if tag != SEQUENCE {
		return None;
	}
	// TBS certificate and signature algorithm, kept as they are (the signature covers the
	// first, the second names ECDSA with SHA-256), then the signature value.
	let (_, _, after_tbs) = der_tlv(certificate)?;
	let (_, _, signature_value) = der_tlv(after_tbs)?;
	let signed = &certificate[..certificate.len() - signature_value.len()];
	let (tag, bits, rest) = der_tlv(signature_value)?;
	let (0, signature) = bits.split_first().map(|(&unused, rest)| (unused, rest))? else {
		return None;
	};
	if tag != BIT_STRING || !rest.is_empty() {
		return None;
	}
	let (tag, pair, rest) = der_tlv(signature)?;
	if tag != SEQUENCE || !rest.is_empty() {
		return None;
	}
	let (tag, _, after_r) = der_tlv(pair)?;
	let r = &pair[..pair.len() - after_r.len()];
	let (s_tag, s, rest) = der_tlv(after_r)?;
	if tag != INTEGER || s_tag != INTEGER || !rest.is_empty() {
		return None;
	}
	let mut s = der_unsigned_256(s)?;
	if !low_s(&mut s) {
		return None;
	}
	let pair = der_encode(SEQUENCE, &[r, &der_integer(&s)]);
	let bits = der_encode(BIT_STRING, &[&[0], &pair]);
	Some(der_encode(SEQUENCE, &[signed, &bits]))
}

/// The value of a minimally encoded, non-negative DER INTEGER below 2^256, big-endian.
fn der_unsigned_256(value: &[u8]) -> Option<[u8; 32]> {
	let magnitude = match value {
		[] => return None,
		[first, ..] if first & 0x80 != 0 => return None,
		[0, next, ..] if next & 0x80 == 0 => return None,
		[0, rest @ ..] => rest,
		_ => value,
	};
	let mut out = [0u8; 32];
	out.get_mut(32usize.checked_sub(magnitude.len())?..)?.copy_from_slice(magnitude);
	Some(out)
}

/// The minimal DER INTEGER TLV of a non-negative big-endian number.
fn der_integer(value: &[u8; 32]) -> Vec<u8> {
	let first = value.iter().position(|&b| b != 0).unwrap_or(31);
	let magnitude = &value[first..];
	if magnitude[0] & 0x80 != 0 {
		der_encode(0x02, &[&[0], magnitude])
	} else {
		der_encode(0x02, &[magnitude])
	}
}

/// A DER TLV of `tag` holding the concatenation of `parts`, its length in minimal form.
fn der_encode(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
	let len: usize = parts.iter().map(|part| part.len()).sum();
	let mut out = Vec::with_capacity(len + 6);
	out.push(tag);
	if len < 0x80 {
		out.push(len as u8);
	} else {
		let bytes = len.to_be_bytes();
		let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len() - 1);
		out.push(0x80 | (bytes.len() - first) as u8);
		out.extend_from_slice(&bytes[first..]);
	}
	for part in parts {
		out.extend_from_slice(part);
	}
	out
}

/// The canonical PEM of `ders`, the one form [`read_canonical_pem`] reads.
fn write_canonical_pem(ders: &[Vec<u8>]) -> Vec<u8> {
	const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----\n";
	const END: &[u8] = b"-----END CERTIFICATE-----\n";
	const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	// 48 bytes make one full line of 64 characters.
	const LINE_BYTES: usize = 48;
	let size: usize = ders.iter().map(|der| BEGIN.len() + END.len() + der.len() * 2).sum();
	let mut text = Vec::with_capacity(size);
	for der in ders {
		text.extend_from_slice(BEGIN);
		for line in der.chunks(LINE_BYTES) {
			let char = |bits: u32, shift: u32| ALPHABET[(bits >> shift & 0x3f) as usize];
			let mut groups = line.chunks_exact(3);
			for group in &mut groups {
				let bits =
					u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
				text.extend_from_slice(&[
					char(bits, 18),
					char(bits, 12),
					char(bits, 6),
					char(bits, 0),
				]);
			}
			match *groups.remainder() {
				[first] => {
					let bits = u32::from(first) << 16;
					text.extend_from_slice(&[char(bits, 18), char(bits, 12), b'=', b'=']);
				},
				[first, second] => {
					let bits = u32::from(first) << 16 | u32::from(second) << 8;
					text.extend_from_slice(&[char(bits, 18), char(bits, 12), char(bits, 6), b'=']);
				},
				_ => {},
			}
			text.push(b'\n');
		}
		text.extend_from_slice(END);
	}
	text
}

/// The certificates of `text` when it is exactly their canonical PEM: each block
/// `-----BEGIN CERTIFICATE-----\n`, its base64 in lines of 64 characters (the last one 1 to
/// 64) each ending in `\n`, `-----END CERTIFICATE-----\n`, the blocks back to back. Reading
/// only this form is both the canonicality check and a parser several times cheaper than
/// a general PEM parser.
fn read_canonical_pem(mut text: &[u8]) -> Option<Vec<Vec<u8>>> {
	const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----\n";
	const END: &[u8] = b"-----END CERTIFICATE-----\n";
	const LINE: usize = 64;
	let mut ders = Vec::new();
	let mut base64 = Vec::with_capacity(text.len());
	while !text.is_empty() {
		text = text.strip_prefix(BEGIN)?;
		base64.clear();
		loop {
			let line_end = text.iter().take(LINE + 1).position(|&c| c == b'\n')?;
			let (line, rest) = text.split_at(line_end);
			if line.is_empty() {
				return None;
			}
			text = &rest[1..];
			base64.extend_from_slice(line);
			if line.len() < LINE {
				break;
			}
			if text.starts_with(b"-----") {
				break;
			}
		}
		text = text.strip_prefix(END)?;
		let mut der = Vec::with_capacity(base64.len() / 4 * 3);
		decode_base64(&base64, &mut der)?;
		ders.push(der);
	}
	Some(ders)
}

/// `(not before, not after)` of a DER certificate, in unix seconds, once its whole TLV
/// structure is well formed: every length minimal and every constructed value exactly filled
/// by its parts. Its names, keys and extensions are not decoded: the certificate's signature
/// covers them, dcap-qvl checks it, and decoding them here would cost more than the rest of
/// the decoding together.
fn certificate_validity(der: &[u8]) -> Option<(u64, u64)> {
	use der::Decode as _;
	const SEQUENCE: u8 = 0x30;
	const VERSION: u8 = 0xa0;
	let (tag, certificate, rest) = der_tlv(der)?;
	if tag != SEQUENCE || !rest.is_empty() || !der_well_formed(certificate, 0) {
		return None;
	}
	let (tag, tbs, _) = der_tlv(certificate)?;
	if tag != SEQUENCE {
		return None;
	}
	let mut fields = tbs;
	if fields.first() == Some(&VERSION) {
		fields = der_tlv(fields)?.2;
	}
	// Serial number, signature algorithm, issuer; then the validity.
	for _ in 0..3 {
		fields = der_tlv(fields)?.2;
	}
	let (tag, validity, _) = der_tlv(fields)?;
	if tag != SEQUENCE {
		return None;
	}
	let (_, _, after_not_before) = der_tlv(validity)?;
	let not_before = &validity[..validity.len() - after_not_before.len()];
	let (_, _, after_not_after) = der_tlv(after_not_before)?;
	if !after_not_after.is_empty() {
		return None;
	}
	let time = |tlv: &[u8]| {
		x509_cert::time::Time::from_der(tlv)
			.ok()
			.map(|t| t.to_unix_duration().as_secs())
	};
	Some((time(not_before)?, time(after_not_before)?))
}

/// One DER TLV at the start of `bytes`: `(tag, value, rest)`. Single-byte tags and minimal
/// definite lengths only, as DER certificates have them.
fn der_tlv(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
	let (&tag, rest) = bytes.split_first()?;
	if tag & 0x1f == 0x1f {
		return None;
	}
	let (&first, rest) = rest.split_first()?;
	let (len, rest) = if first < 0x80 {
		(usize::from(first), rest)
	} else {
		let count = usize::from(first & 0x7f);
		if count == 0 || count > 4 || rest.len() < count || rest[0] == 0 {
			return None;
		}
		let len = rest[..count].iter().fold(0usize, |len, &b| (len << 8) | usize::from(b));
		if len < 0x80 {
			return None;
		}
		(len, &rest[count..])
	};
	let (value, rest) = rest.split_at_checked(len)?;
	Some((tag, value, rest))
}

/// Whether `bytes` is a sequence of well-formed TLVs, each constructed one (bit 5 of its
/// tag) holding well-formed TLVs that fill it exactly, to a bounded depth.
fn der_well_formed(mut bytes: &[u8], depth: usize) -> bool {
	const CONSTRUCTED: u8 = 0x20;
	const MAX_DEPTH: usize = 16;
	while !bytes.is_empty() {
		let Some((tag, value, rest)) = der_tlv(bytes) else { return false };
		if tag & CONSTRUCTED != 0 && (depth >= MAX_DEPTH || !der_well_formed(value, depth + 1)) {
			return false;
		}
		bytes = rest;
	}
	true
}

/// Appends the bytes of standard base64 (RFC 4648, section 4) in its canonical form: padded
/// to whole groups, `=` only at the end, unused bits zero. `None` for anything else.
fn decode_base64(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
	fn sextet(c: u8) -> Option<u32> {
		Some(u32::from(match c {
			b'A'..=b'Z' => c - b'A',
			b'a'..=b'z' => c - b'a' + 26,
			b'0'..=b'9' => c - b'0' + 52,
			b'+' => 62,
			b'/' => 63,
			_ => return None,
		}))
	}
	if text.is_empty() || text.len() % 4 != 0 {
		return None;
	}
	let groups = text.len() / 4;
	for (index, group) in text.chunks_exact(4).enumerate() {
		let padding = if index + 1 == groups {
			group.iter().rev().take_while(|&&c| c == b'=').count()
		} else {
			0
		};
		if padding > 2 {
			return None;
		}
		let mut bits = 0u32;
		for &c in &group[..4 - padding] {
			bits = (bits << 6) | sextet(c)?;
		}
		bits <<= 6 * padding as u32;
		let [_, first, second, third] = bits.to_be_bytes();
		match padding {
			0 => out.extend_from_slice(&[first, second, third]),
			1 if third == 0 => out.extend_from_slice(&[first, second]),
			2 if second == 0 && third == 0 => out.push(first),
			_ => return None,
		}
	}
	Some(())
}

/// Why a PCK chain is not in canonical PEM: a broken armour or undecodable block (a lenient
/// parser could then silently skip the leaf) is invalid certification data; well-formed
/// PEM in another form (CRLF, other line lengths, text around the blocks) is non-canonical.
fn diagnose_pem(data: &[u8]) -> AttestationError {
	let invalid = |why: String| AttestationError::CertificationDataInvalid(why);
	let blocks = match pem::parse_many(data) {
		Ok(blocks) => blocks,
		Err(e) => return invalid(format!("PEM: {}", one_line(e))),
	};
	let count = |needle: &[u8]| data.windows(needle.len()).filter(|w| *w == needle).count();
	let begins = count(b"-----BEGIN CERTIFICATE-----");
	let ends = count(b"-----END CERTIFICATE-----");
	if begins != ends || blocks.len() != begins || blocks.is_empty() {
		return invalid(format!(
			"PCK chain has {begins} BEGIN / {ends} END markers and {} readable certificates",
			blocks.len()
		));
	}
	NonCanonicalEncoding::PckChainNotCanonicalPem.into()
}

/// Whether `report` is of a debug enclave or TD, whose memory the host can read.
pub fn is_debug(report: &Report) -> bool {
	// SGX ATTRIBUTES.FLAGS bit 1 is DEBUG.
	let sgx = |report: &EnclaveReport| report.attributes[0] & 0x02 != 0;
	// TDX TD_ATTRIBUTES byte 0 (TUD): DEBUG and every other debug-class bit (profiling, …);
	// TD 1.5 reports extend the TD 1.0 one.
	let td = |report: &TDReport10| TdAttributes(report.td_attributes).under_debug();
	match report {
		Report::SgxEnclave(report) => sgx(report),
		Report::TD10(report) => td(report),
		Report::TD15(report) => td(&report.base),
		Report::TD15Ex(report) => td(&report.base.base),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn base64_decodes_only_its_canonical_form() {
		let decode = |text: &[u8]| {
			let mut out = Vec::new();
			decode_base64(text, &mut out).map(|()| out)
		};
		assert_eq!(decode(b"TWFu").as_deref(), Some(&b"Man"[..]));
		assert_eq!(decode(b"TWE=").as_deref(), Some(&b"Ma"[..]));
		assert_eq!(decode(b"TQ==").as_deref(), Some(&b"M"[..]));
		assert_eq!(decode(b"+/+/").as_deref(), Some(&[0xfb, 0xff, 0xbf][..]));
		// Non-zero unused bits, missing or misplaced padding, other alphabets, nothing.
		for text in
			[&b"TWF="[..], b"TR==", b"TQ", b"TQ=", b"T===", b"TQ==TWFu", b"TW-u", b"TW_u", b""]
		{
			assert_eq!(decode(text), None, "{}", String::from_utf8_lossy(text));
		}
	}

	fn u256(hex: &str) -> [u8; 32] {
		hex::decode(hex).unwrap().try_into().unwrap()
	}

	#[test]
	fn n_minus_s_and_the_low_s_boundary() {
		let n = u256("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
		assert_eq!(P256_ORDER, n);
		let half = u256("7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8");
		let half_up = u256("7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a9");
		assert_eq!(P256_HALF_ORDER, half);
		let one = u256(&format!("{:064x}", 1));
		let n_minus_one = u256("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550");
		// Known differences, with borrows across bytes (Intel's root CA signature's s).
		let root_s = u256("e09d25ac7a0cb3e5e8e68fec5fa3bd416c47440bd950639d450edcbea4576aa2");
		let root_low = u256("1f62da5285f34c1b17197013a05c42be509fb6a1cdc73ae7aeaaee04580bbaaf");
		for (s, minus) in [
			(root_s, root_low),
			(one, n_minus_one),
			(n_minus_one, one),
			(half, half_up),
			(half_up, half),
			([0; 32], n),
			(n, [0; 32]),
		] {
			assert_eq!(p256_order_minus(&s), minus, "n - {}", hex::encode(s));
		}
		// (n - 1) / 2 is low and stays; (n + 1) / 2 is high and becomes (n - 1) / 2.
		for (s, expected, flipped) in [
			(half, half, false),
			(half_up, half, true),
			(root_s, root_low, true),
			(root_low, root_low, false),
			(n_minus_one, one, true),
			(one, one, false),
			([0; 32], [0; 32], false),
			// Not signatures: left for the verification to refuse.
			(n, n, false),
			([0xff; 32], [0xff; 32], false),
		] {
			let mut value = s;
			assert_eq!(low_s(&mut value), flipped, "{}", hex::encode(s));
			assert_eq!(value, expected, "{}", hex::encode(s));
		}
		let mut raw = [[7u8; 32], root_s].concat();
		low_s_raw_signature(&mut raw);
		assert_eq!(raw, [[7u8; 32], root_low].concat());
	}

	#[test]
	fn der_integers_are_read_and_written_minimally() {
		let root_low = u256("1f62da5285f34c1b17197013a05c42be509fb6a1cdc73ae7aeaaee04580bbaaf");
		let encoded = der_integer(&root_low);
		assert_eq!(encoded[..2], [0x02, 32]);
		assert_eq!(der_unsigned_256(&encoded[2..]), Some(root_low));
		let high = u256("e09d25ac7a0cb3e5e8e68fec5fa3bd416c47440bd950639d450edcbea4576aa2");
		assert_eq!(der_integer(&high)[..3], [0x02, 33, 0]);
		assert_eq!(der_integer(&u256(&format!("{:064x}", 0x80))), [0x02, 2, 0, 0x80]);
		assert_eq!(der_integer(&[0; 32]), [0x02, 1, 0]);
		let mut short = [0u8; 32];
		short[2..].fill(0x11);
		assert_eq!(der_integer(&short).len(), 2 + 30);
		// Negative, non-minimal, empty, too long.
		for value in [&[0x80u8][..], &[0, 0x7f], &[], &[1; 33], &[0; 34]] {
			assert_eq!(der_unsigned_256(value), None, "{value:?}");
		}
		assert_eq!(der_encode(0x04, &[&[0; 200]])[..3], [0x04, 0x81, 200]);
		assert_eq!(der_encode(0x04, &[&[0; 300]])[..4], [0x04, 0x82, 1, 44]);
	}

	#[test]
	fn a_high_s_certificate_signature_is_re_encoded_low() {
		let quote = include_bytes!("../../tests/fixtures/sgx_quote");
		let Ok(Evidence::Dcap(evidence)) = decode_evidence(quote) else { panic!("decodes") };
		let chain = evidence.pck_chain().unwrap();
		assert_eq!(chain.ders.last().unwrap(), INTEL_SGX_ROOT_CA_DER);
		// Intel's root is high-s and kept so; the root re-encoded low reads as itself again.
		let low_root = low_s_certificate(INTEL_SGX_ROOT_CA_DER).expect("Intel's root is high-s");
		assert_eq!(low_root.len(), INTEL_SGX_ROOT_CA_DER.len() - 1, "s loses its 0x00");
		assert_eq!(low_s_certificate(&low_root), None);
		assert_eq!(
			certificate_validity(&low_root),
			certificate_validity(INTEL_SGX_ROOT_CA_DER),
			"still well formed"
		);
		use der::Decode as _;
		let original = x509_cert::Certificate::from_der(INTEL_SGX_ROOT_CA_DER).unwrap();
		let low = x509_cert::Certificate::from_der(&low_root).unwrap();
		assert_eq!(original.tbs_certificate(), low.tbs_certificate());
		assert_ne!(original.signature(), low.signature());
		// The fixture's other certificates are in canonical (low-s) form.
		for der in &chain.ders[..chain.ders.len() - 1] {
			assert_eq!(low_s_certificate(der), None);
		}
		// Not a certificate, or a signature value of another form: left alone.
		assert_eq!(low_s_certificate(&[0x30, 0x03, 0x02, 0x01, 0x05]), None);
		assert_eq!(low_s_certificate(&[]), None);
	}

	#[test]
	fn certificate_validity_is_read_from_well_formed_der_only() {
		let quote = include_bytes!("../../tests/fixtures/sgx_quote");
		let Ok(Evidence::Dcap(evidence)) = decode_evidence(quote) else { panic!("decodes") };
		let chain = evidence.pck_chain().unwrap();
		for (index, (der, window)) in chain.ders.iter().zip(&chain.windows).enumerate() {
			use der::Decode as _;
			let cert = x509_cert::Certificate::from_der(der).unwrap();
			let validity = cert.tbs_certificate().validity();
			let expected = (
				validity.not_before.to_unix_duration().as_secs(),
				validity.not_after.to_unix_duration().as_secs(),
			);
			assert_eq!(*window, expected);
			assert_eq!(certificate_validity(der), Some(expected));
			// A length changed breaks the structure somewhere: the certificate's, the TBS
			// certificate's and, in the leaf, a SEQUENCE inside its issuer's name (the byte
			// `flipped_byte_in_certification_data` reaches through the base64).
			let lengths: &[usize] = if index == 0 { &[1, 3, 5, 53] } else { &[1, 3, 5] };
			for &at in lengths {
				let mut broken = der.clone();
				broken[at] ^= 0x03;
				assert_eq!(certificate_validity(&broken), None, "byte {at}");
			}
			assert_eq!(certificate_validity(&der[..der.len() - 1]), None);
			assert_eq!(certificate_validity(&[der.as_slice(), &[0]].concat()), None);
		}
	}

	#[test]
	fn the_canonical_pem_written_is_the_one_read() {
		let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
		// Every length of the last group and of the last line, and more than one line.
		let ders: Vec<Vec<u8>> = (0..=100u8).map(|len| (0..len).collect()).collect();
		for der in ders.iter().filter(|der| !der.is_empty()) {
			let written = write_canonical_pem(std::slice::from_ref(der));
			let expected = pem::encode_config(&pem::Pem::new("CERTIFICATE", der.clone()), config);
			assert_eq!(String::from_utf8(written.clone()).unwrap(), expected, "{}", der.len());
			assert_eq!(read_canonical_pem(&written), Some(vec![der.clone()]));
		}
		let chain = &ders[95..];
		assert_eq!(read_canonical_pem(&write_canonical_pem(chain)).as_deref(), Some(chain));
	}

	#[test]
	fn only_the_canonical_pem_of_a_chain_is_read() {
		let ders = [vec![0x30, 0x03, 0x02, 0x01, 0x05], (0..100u8).collect::<Vec<_>>()];
		let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
		let canonical: String = ders
			.iter()
			.map(|der| pem::encode_config(&pem::Pem::new("CERTIFICATE", der.clone()), config))
			.collect();
		assert_eq!(read_canonical_pem(canonical.as_bytes()), Some(ders.to_vec()));
		let crlf = pem::encode_config(
			&pem::Pem::new("CERTIFICATE", ders[1].clone()),
			pem::EncodeConfig::new(),
		);
		let forms = [
			crlf,
			canonical.replacen('\n', "\n\n", 2),
			canonical.replace("-----\n-----", "-----\n\n-----"),
			format!("{canonical}\n"),
			format!(" {canonical}"),
			canonical.replace("CERTIFICATE", "X509 CERTIFICATE"),
		];
		for form in forms {
			assert_eq!(read_canonical_pem(form.as_bytes()), None, "{form:?}");
		}
	}
}
