//! The simulated quote format produced by [`crate::tee::sim`].
//!
//! Layout (version 1, integers little-endian, 224 bytes):
//!
//! | bytes | field |
//! |---|---|
//! | 8  | magic `EUSIMQTE` |
//! | 2  | format version (1) |
//! | 1  | flags (bit 0: debug enclave) |
//! | 1  | measurement kind (1 = MRENCLAVE, 2 = TDX identity digest) |
//! | 48 | measurement, zero-padded |
//! | 32 | MRSIGNER |
//! | 2  | product id |
//! | 2  | SVN |
//! | 64 | report data |
//! | 64 | Ed25519 signature over [`SIGNATURE_DOMAIN`] followed by all bytes above |
//!
//! The signing key is the **dev attestation key**: an Ed25519 key whose seed is
//! `SHA-256(DEV_ATTESTATION_SEED_LABEL)`. It is public by construction (anyone can
//! derive it), which is the point: a simulated quote proves nothing about hardware, and
//! verifiers accept one only when explicitly put in dev mode.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use enclave_update_primitives::Measurement;
use sha2::{Digest, Sha256};

use super::AttestationError;

/// Magic of a simulated quote. No DCAP quote starts with it (DCAP quotes start with a
/// small little-endian version number).
pub const MAGIC: [u8; 8] = *b"EUSIMQTE";
/// Current format version.
pub const VERSION: u16 = 1;
/// Total length of a version-1 simulated quote.
pub const LEN: usize = 8 + 2 + 1 + 1 + 48 + 32 + 2 + 2 + 64 + 64;
/// Domain separation for the signature.
pub const SIGNATURE_DOMAIN: &[u8] = b"enclave-update/sim-quote/v1";
/// The label whose SHA-256 is the dev attestation key's seed. Public: not a secret.
pub const DEV_ATTESTATION_SEED_LABEL: &[u8] =
	b"enclave-update dev attestation key v1 (public; simulated quotes only)";
const SIGNED_LEN: usize = LEN - 64;
const FLAG_DEBUG: u8 = 1;

/// The dev attestation signing key (public by construction, see the module docs).
pub fn dev_attestation_key() -> SigningKey {
	let seed: [u8; 32] = Sha256::digest(DEV_ATTESTATION_SEED_LABEL).into();
	SigningKey::from_bytes(&seed)
}

/// The contents of a simulated quote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimQuote {
	/// The claimed measurement.
	pub measurement: Measurement,
	/// The claimed MRSIGNER.
	pub signer: [u8; 32],
	/// The claimed product id.
	pub product_id: u16,
	/// The claimed SVN.
	pub svn: u16,
	/// Whether the enclave claims to be a debug enclave.
	pub debug: bool,
	/// The bound report data.
	pub report_data: [u8; 64],
}

/// A decoded simulated quote with its signature, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedSimQuote {
	/// The contents.
	pub quote: SimQuote,
	signed: Vec<u8>,
	signature: [u8; 64],
}

impl SimQuote {
	fn signed_bytes(&self) -> Vec<u8> {
		let mut out = Vec::with_capacity(SIGNED_LEN);
		out.extend_from_slice(&MAGIC);
		out.extend_from_slice(&VERSION.to_le_bytes());
		out.push(if self.debug { FLAG_DEBUG } else { 0 });
		out.push(self.measurement.tag());
		let mut padded = [0u8; 48];
		padded[..self.measurement.as_bytes().len()].copy_from_slice(self.measurement.as_bytes());
		out.extend_from_slice(&padded);
		out.extend_from_slice(&self.signer);
		out.extend_from_slice(&self.product_id.to_le_bytes());
		out.extend_from_slice(&self.svn.to_le_bytes());
		out.extend_from_slice(&self.report_data);
		out
	}

	/// Encodes and signs with the dev attestation key.
	pub fn sign_with_dev_key(&self) -> Vec<u8> {
		self.sign_with(&dev_attestation_key())
	}

	/// Encodes and signs with `key` (tests use other keys to exercise refusals).
	pub fn sign_with(&self, key: &SigningKey) -> Vec<u8> {
		let mut out = self.signed_bytes();
		let mut message = SIGNATURE_DOMAIN.to_vec();
		message.extend_from_slice(&out);
		out.extend_from_slice(&key.sign(&message).to_bytes());
		out
	}

	/// Whether `bytes` looks like a simulated quote (starts with [`MAGIC`]).
	pub fn is_simulated(bytes: &[u8]) -> bool {
		bytes.starts_with(&MAGIC)
	}

	/// Decodes a simulated quote without checking its signature.
	pub fn decode(bytes: &[u8]) -> Result<SignedSimQuote, AttestationError> {
		if !Self::is_simulated(bytes) {
			return Err(AttestationError::Malformed("not a simulated quote".into()));
		}
		if bytes.len() < LEN {
			return Err(AttestationError::Truncated { needed: LEN, got: bytes.len() });
		}
		if bytes.len() > LEN {
			return Err(AttestationError::Malformed("trailing bytes after simulated quote".into()));
		}
		let version = u16::from_le_bytes([bytes[8], bytes[9]]);
		if version != VERSION {
			return Err(AttestationError::UnsupportedQuote(format!(
				"simulated quote version {version}"
			)));
		}
		let flags = bytes[10];
		if flags & !FLAG_DEBUG != 0 {
			return Err(AttestationError::Malformed("unknown simulated quote flags".into()));
		}
		let measurement_bytes = &bytes[12..60];
		let measurement = match bytes[11] {
			1 if measurement_bytes[32..].iter().all(|b| *b == 0) => {
				Measurement::from_bytes(&measurement_bytes[..32])
			},
			2 => Measurement::from_bytes(measurement_bytes),
			_ => return Err(AttestationError::Malformed("bad measurement kind".into())),
		}
		.map_err(|_| AttestationError::Malformed("bad measurement".into()))?;
		let mut signer = [0u8; 32];
		signer.copy_from_slice(&bytes[60..92]);
		let product_id = u16::from_le_bytes([bytes[92], bytes[93]]);
		let svn = u16::from_le_bytes([bytes[94], bytes[95]]);
		let mut report_data = [0u8; 64];
		report_data.copy_from_slice(&bytes[96..160]);
		let mut signature = [0u8; 64];
		signature.copy_from_slice(&bytes[SIGNED_LEN..LEN]);
		Ok(SignedSimQuote {
			quote: SimQuote {
				measurement,
				signer,
				product_id,
				svn,
				debug: flags & FLAG_DEBUG != 0,
				report_data,
			},
			signed: bytes[..SIGNED_LEN].to_vec(),
			signature,
		})
	}
}

impl SignedSimQuote {
	/// Checks the signature against the dev attestation key.
	pub fn verify_dev_signature(&self) -> Result<(), AttestationError> {
		let key: VerifyingKey = dev_attestation_key().verifying_key();
		let mut message = SIGNATURE_DOMAIN.to_vec();
		message.extend_from_slice(&self.signed);
		key.verify(&message, &Signature::from_bytes(&self.signature))
			.map_err(|_| AttestationError::SimulatedSignatureInvalid)
	}
}
