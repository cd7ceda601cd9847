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
//! - its framing is exact: the signature-data length ends exactly where its contents do
//!   (ECDSA signature 64, attestation key 64, then for v3 the QE report section, for v4/v5
//!   the outer certification data), the outer certification data (v4/v5) ends where the
//!   signature data does, and the inner certification data ends where the QE report section
//!   does. Lengths that do not add up are refused ([`NonCanonicalEncoding::LengthMismatch`]);
//! - the outer certification data of a v4/v5 quote has type 6, "QE report certification
//!   data" ([`NonCanonicalEncoding::OuterCertificationType`]); dcap-qvl does not look at it;
//! - an embedded PCK chain (certification data type 5) is the canonical PEM of its
//!   certificates — `-----BEGIN CERTIFICATE-----`, 64-column base64, LF line ends, blocks
//!   back to back — optionally followed by one NUL byte, as Intel's quote generation library
//!   writes it (GCP's writes none) ([`NonCanonicalEncoding::PckChainNotCanonicalPem`]);
//! - whatever follows the quote is all zero bytes or nothing. Published quotes often sit in
//!   a fixed-size zero-filled buffer (8000 bytes on GCP); any non-zero byte there is refused
//!   ([`NonCanonicalEncoding::TrailingBytes`]).
//!
//! The accepted forms still differ in their zero tail and in the PCK chain's NUL, so the
//! decoder maps each to **the** canonical encoding: the quote without any tail and with the
//! PCK chain without its NUL (the three length fields above it shortened by one). That is
//! what [`DcapEvidence::canonical_bytes`] returns, what the verifier hands to dcap-qvl, and
//! what anyone hashing or storing evidence must use; decoding it again yields itself.
//!
//! Left as they are: the ECDSA signatures, whose `s` could be replaced by `n - s` (a valid
//! signature over the same bytes; Intel's quoting enclave does not emit low-`s` signatures,
//! so they cannot be required, and normalising them is not done here), and certification
//! data of types other than 5 (e.g. type 3, an encrypted PPID, whose fields are fixed-size).

use std::ops::Deref;

use dcap_qvl::quote::{EnclaveReport, Quote, Report, TDReport10};
use serde::{Deserialize, Serialize};

use super::{
	error::one_line,
	serde_hex::hex_array,
	sim_quote::{SignedSimQuote, SimQuote},
	AttestationError,
};

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
		return SimQuote::decode(bytes).map(|q| Evidence::Simulated(Box::new(q)));
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
	let (pck_chain, strip_nul) = if layout.cert_type == CERT_TYPE_PCK_CHAIN {
		let (chain, has_nul) = canonical_pck_chain(cert_data)?;
		(Some(chain), has_nul)
	} else {
		(None, false)
	};
	let mut canonical = bytes[..frame.end].to_vec();
	if strip_nul {
		canonical.remove(layout.cert_data_end - 1);
		for at in [Some(layout.cert_len_at), layout.outer_len_at, Some(frame.sig_len_at)]
			.into_iter()
			.flatten()
		{
			shorten_u32_le(&mut canonical, at)?;
		}
	}
	let quote = parse(&canonical)?;
	Ok(DcapEvidence { quote, canonical, pck_chain })
}

/// Decrements the little-endian u32 length field at `at` (it counts the NUL being removed, so
/// it is at least 1).
fn shorten_u32_le(bytes: &mut [u8], at: usize) -> Result<(), AttestationError> {
	let field = bytes
		.get_mut(at..at + 4)
		.ok_or_else(|| AttestationError::Malformed(format!("no length field at byte {at}")))?;
	let value = u32::from_le_bytes([field[0], field[1], field[2], field[3]]);
	let shorter = value
		.checked_sub(1)
		.ok_or_else(|| AttestationError::Malformed(format!("empty length field at byte {at}")))?;
	field.copy_from_slice(&shorter.to_le_bytes());
	Ok(())
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
		Ok(Layout { outer_len_at, cert_type, cert_len_at, cert_data_at, cert_data_end })
	}
}

/// Structural and canonical-form check of an embedded PCK chain: every PEM block well formed
/// (a broken armour must not silently drop the leaf), every certificate valid DER, at least a
/// leaf and its issuer, and the text exactly the canonical PEM of those certificates (with at
/// most one terminating NUL, reported as the second value). Signatures are checked by the
/// chain verification later.
fn canonical_pck_chain(data: &[u8]) -> Result<(PckChain, bool), AttestationError> {
	use der::Decode as _;
	let invalid = |why: String| AttestationError::CertificationDataInvalid(why);
	let blocks = pem::parse_many(data).map_err(|e| invalid(format!("PEM: {}", one_line(e))))?;
	let mut windows = Vec::with_capacity(blocks.len());
	let mut canonical = Vec::with_capacity(data.len());
	let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
	for (index, block) in blocks.iter().enumerate() {
		let cert = x509_cert::Certificate::from_der(block.contents()).map_err(|e| {
			invalid(format!("certificate {index} of the PCK chain: {}", one_line(e)))
		})?;
		let validity = cert.tbs_certificate().validity();
		windows.push((
			validity.not_before.to_unix_duration().as_secs(),
			validity.not_after.to_unix_duration().as_secs(),
		));
		canonical.extend_from_slice(pem::encode_config(block, config).as_bytes());
	}
	let has_nul = match data.strip_prefix(canonical.as_slice()) {
		Some([]) => false,
		Some([0]) => true,
		// Not the canonical text: say whether the armour itself is broken (a parser could
		// then silently skip the leaf) or only the form.
		_ => {
			let count = |needle: &[u8]| data.windows(needle.len()).filter(|w| *w == needle).count();
			let begins = count(b"-----BEGIN CERTIFICATE-----");
			let ends = count(b"-----END CERTIFICATE-----");
			if begins != ends || blocks.len() != begins || blocks.is_empty() {
				return Err(invalid(format!(
					"PCK chain has {begins} BEGIN / {ends} END markers and {} readable \
					 certificates",
					blocks.len()
				)));
			}
			return Err(NonCanonicalEncoding::PckChainNotCanonicalPem.into());
		},
	};
	if blocks.len() < 2 || blocks.iter().any(|block| block.tag() != "CERTIFICATE") {
		return Err(invalid(format!(
			"PCK chain has {} blocks; it needs the PCK certificate and its issuer",
			blocks.len()
		)));
	}
	let ders = blocks.into_iter().map(pem::Pem::into_contents).collect();
	Ok((PckChain { ders, windows }, has_nul))
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
