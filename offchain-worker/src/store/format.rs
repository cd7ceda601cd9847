//! The store's file format, the same for every kind of file: an authenticated header (magic,
//! version, kind, the writer's measurement, payload length, nonce), then the XChaCha20-Poly1305
//! ciphertext and tag. The layout is in the [module above](super).

use std::{fs::File, path::Path};

use enclave_update_primitives::Measurement;

use super::{io_err, StoreError};
use crate::keys::{aead_open_in_place, aead_seal_in_place, NONCE_LEN, TAG_LEN};

/// File magic.
pub const MAGIC: [u8; 4] = *b"EUWS";
/// Current format version.
pub const FORMAT_VERSION: u16 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 4 + 2 + 1 + 1 + 48 + 8 + NONCE_LEN;

/// What a file holds; part of the authenticated header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FileKind {
	/// Key material sealed with the TEE sealing key.
	SealedKeys = 1,
	/// A state snapshot encrypted with the state key.
	StateSnapshot = 2,
	/// The highest chain block this enclave has verified, sealed with the TEE sealing key.
	ChainProgress = 3,
	/// The GRANDPA light client's state (tracked authority set and verified head), sealed
	/// with the TEE sealing key.
	LightClient = 4,
	/// The chain the keys belong to (its genesis hash, bound to the keys' checksum), sealed
	/// with the TEE sealing key.
	ChainIdentity = 5,
	/// This enclave's own Ed25519 signing key (the key its on-chain registration names),
	/// sealed with the TEE sealing key.
	SigningKey = 6,
}

impl FileKind {
	pub(super) fn from_byte(byte: u8) -> Option<Self> {
		match byte {
			1 => Some(Self::SealedKeys),
			2 => Some(Self::StateSnapshot),
			3 => Some(Self::ChainProgress),
			4 => Some(Self::LightClient),
			5 => Some(Self::ChainIdentity),
			6 => Some(Self::SigningKey),
			_ => None,
		}
	}
}

/// A store file split into its parts, not yet decrypted.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedFile<'a> {
	/// What the file holds.
	pub kind: FileKind,
	/// The measurement of the enclave that wrote it.
	pub written_by: Measurement,
	/// The header (the AEAD's associated data).
	pub header: &'a [u8],
	/// The nonce.
	pub nonce: [u8; NONCE_LEN],
	/// Ciphertext without the tag.
	pub ciphertext: &'a [u8],
	/// The tag.
	pub tag: [u8; TAG_LEN],
}

/// The fields of a store file's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
	/// What the file holds.
	pub kind: FileKind,
	/// The measurement of the enclave that wrote it.
	pub written_by: Measurement,
	/// Ciphertext + tag length.
	pub payload_len: u64,
	/// The nonce.
	pub nonce: [u8; NONCE_LEN],
}

/// Parses a header from the first bytes of a file whose total length is `file_len`, and
/// checks that length against the header (a torn write leaves a shorter file).
pub fn parse_header(prefix: &[u8], file_len: u64) -> Result<Header, StoreError> {
	if prefix.len() < 4 || prefix[..4] != MAGIC {
		// A torn write may leave a prefix of the magic: report that as torn, not foreign.
		if prefix.len() < 4 && MAGIC.starts_with(prefix) {
			return Err(StoreError::Truncated { expected: HEADER_LEN as u64, actual: file_len });
		}
		return Err(StoreError::BadMagic);
	}
	if prefix.len() < HEADER_LEN || file_len < HEADER_LEN as u64 {
		return Err(StoreError::Truncated { expected: HEADER_LEN as u64, actual: file_len });
	}
	let version = u16::from_le_bytes([prefix[4], prefix[5]]);
	if version != FORMAT_VERSION {
		return Err(StoreError::UnsupportedVersion(version));
	}
	let kind_byte = prefix[6];
	let kind = FileKind::from_byte(kind_byte).ok_or(StoreError::UnknownKind(kind_byte))?;
	let measurement_bytes = &prefix[8..56];
	let written_by = match prefix[7] {
		1 if measurement_bytes[32..].iter().all(|b| *b == 0) => {
			Measurement::from_bytes(&measurement_bytes[..32])
		},
		2 => Measurement::from_bytes(measurement_bytes),
		other => return Err(StoreError::BadMeasurement(other)),
	}
	.map_err(|_| StoreError::BadMeasurement(prefix[7]))?;
	let mut len_bytes = [0u8; 8];
	len_bytes.copy_from_slice(&prefix[56..64]);
	let payload_len = u64::from_le_bytes(len_bytes);
	let expected = (HEADER_LEN as u64).saturating_add(payload_len);
	if expected != file_len || payload_len < TAG_LEN as u64 {
		return Err(StoreError::Truncated { expected, actual: file_len });
	}
	let mut nonce = [0u8; NONCE_LEN];
	nonce.copy_from_slice(&prefix[64..HEADER_LEN]);
	Ok(Header { kind, written_by, payload_len, nonce })
}

/// Parses a store file without decrypting it. Pure and total: any input yields a value or
/// an error, never a panic (this is the store's fuzz target).
pub fn parse_file(bytes: &[u8]) -> Result<ParsedFile<'_>, StoreError> {
	let header = parse_header(bytes, bytes.len() as u64)?;
	// parse_header checked that the file is HEADER_LEN + payload_len >= HEADER_LEN + TAG_LEN.
	let tag_start = bytes.len() - TAG_LEN;
	let mut tag = [0u8; TAG_LEN];
	tag.copy_from_slice(&bytes[tag_start..]);
	Ok(ParsedFile {
		kind: header.kind,
		written_by: header.written_by,
		header: &bytes[..HEADER_LEN],
		nonce: header.nonce,
		ciphertext: &bytes[HEADER_LEN..tag_start],
		tag,
	})
}

/// Reads and parses only the header of the file at `path` (no payload read).
pub(super) fn read_header(path: &Path) -> Result<Header, StoreError> {
	use std::io::Read;
	let mut file = File::open(path).map_err(io_err(path))?;
	let file_len = file.metadata().map_err(io_err(path))?.len();
	let mut prefix = Vec::with_capacity(HEADER_LEN);
	Read::by_ref(&mut file)
		.take(HEADER_LEN as u64)
		.read_to_end(&mut prefix)
		.map_err(io_err(path))?;
	parse_header(&prefix, file_len)
}

fn header_prefix(kind: FileKind, written_by: &Measurement, payload_len: u64) -> Vec<u8> {
	let mut header = Vec::with_capacity(HEADER_LEN);
	header.extend_from_slice(&MAGIC);
	header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
	header.push(kind as u8);
	header.push(written_by.tag());
	let mut padded = [0u8; 48];
	padded[..written_by.as_bytes().len()].copy_from_slice(written_by.as_bytes());
	header.extend_from_slice(&padded);
	header.extend_from_slice(&payload_len.to_le_bytes());
	header
}

/// Builds a complete encrypted file around `plaintext`. The plaintext is copied once into
/// the output buffer and encrypted there.
pub fn encode_file(
	key: &[u8; 32],
	kind: FileKind,
	written_by: &Measurement,
	plaintext: &[u8],
) -> Result<Vec<u8>, StoreError> {
	encode_file_with(key, kind, written_by, plaintext.len(), |buf| buf.copy_from_slice(plaintext))
}

pub(super) fn encode_file_with(
	key: &[u8; 32],
	kind: FileKind,
	written_by: &Measurement,
	plaintext_len: usize,
	fill: impl FnOnce(&mut [u8]),
) -> Result<Vec<u8>, StoreError> {
	let payload_len = (plaintext_len as u64).saturating_add(TAG_LEN as u64);
	let mut out = header_prefix(kind, written_by, payload_len);
	let nonce_at = out.len();
	out.resize(HEADER_LEN + plaintext_len, 0);
	fill(&mut out[HEADER_LEN..]);
	// The associated data is the header without the nonce field: the nonce is generated
	// by the seal itself and is authenticated as an input of the AEAD anyway.
	let (head, body) = out.split_at_mut(HEADER_LEN);
	let (nonce, tag) = aead_seal_in_place(key, &head[..nonce_at], body)
		.map_err(|_| StoreError::InvalidPayload("plaintext too large".into()))?;
	head[nonce_at..].copy_from_slice(&nonce);
	out.extend_from_slice(&tag);
	Ok(out)
}

/// Decrypts a parsed file in place and returns its plaintext.
pub(super) fn decode_file(
	key: &[u8; 32],
	bytes: &mut Vec<u8>,
	expected: FileKind,
) -> Result<Measurement, StoreError> {
	let parsed = parse_file(bytes)?;
	if parsed.kind != expected {
		return Err(StoreError::WrongKind { expected, found: parsed.kind as u8 });
	}
	let written_by = parsed.written_by;
	let nonce = parsed.nonce;
	let tag = parsed.tag;
	let len = bytes.len();
	let (head, body) = bytes.split_at_mut(HEADER_LEN);
	let body_len = len - HEADER_LEN - TAG_LEN;
	aead_open_in_place(key, &nonce, &head[..HEADER_LEN - NONCE_LEN], &mut body[..body_len], &tag)
		.map_err(|_| StoreError::AuthenticationFailed)?;
	bytes.drain(..HEADER_LEN);
	bytes.truncate(body_len);
	Ok(written_by)
}
