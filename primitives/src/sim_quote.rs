//! The simulated quote: the evidence of the worker's simulated TEE, which development chains
//! and workers in dev mode accept in place of a DCAP quote.
//!
//! Layout (version 1, integers little-endian, [`LEN`] = 224 bytes):
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
//! `SHA-256(DEV_ATTESTATION_SEED_LABEL)`, public by construction ([`DEV_ATTESTATION_PUBLIC_KEY`]):
//! a simulated quote proves nothing about hardware, and a verifier accepts one only when it is
//! explicitly configured to (the worker's dev mode, a development runtime's registry). This
//! module is the format alone, shared by the worker (which signs and verifies with
//! `ed25519-dalek`) and the runtime (which verifies with its host functions).

use alloc::vec::Vec;
use core::fmt;

use crate::Measurement;

/// Magic of a simulated quote. No DCAP quote starts with it (DCAP quotes start with a
/// small little-endian version number).
pub const MAGIC: [u8; 8] = *b"EUSIMQTE";
/// Current format version.
pub const VERSION: u16 = 1;
/// Total length of a version-1 simulated quote.
pub const LEN: usize = 8 + 2 + 1 + 1 + 48 + 32 + 2 + 2 + 64 + 64;
/// Length of the signed part: everything but the signature.
pub const SIGNED_LEN: usize = LEN - 64;
/// Domain separation for the signature.
pub const SIGNATURE_DOMAIN: &[u8] = b"enclave-update/sim-quote/v1";
/// The label whose SHA-256 is the dev attestation key's seed. Public: not a secret.
pub const DEV_ATTESTATION_SEED_LABEL: &[u8] =
	b"enclave-update dev attestation key v1 (public; simulated quotes only)";
/// The dev attestation key's Ed25519 public key (the worker's tests derive it from the seed).
pub const DEV_ATTESTATION_PUBLIC_KEY: [u8; 32] = [
	0x98, 0xd4, 0x4e, 0xfa, 0x6c, 0x7b, 0xd5, 0x65, 0xaf, 0x1a, 0xb8, 0x46, 0xcc, 0x6c, 0xb6, 0x52,
	0x89, 0xc7, 0x00, 0x31, 0xdd, 0xf6, 0xe8, 0xa8, 0xe2, 0x79, 0xb5, 0x45, 0x01, 0xfb, 0x79, 0x46,
];
const FLAG_DEBUG: u8 = 1;
const KIND_MRENCLAVE: u8 = 1;
const KIND_TD_IDENTITY: u8 = 2;

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
	/// The Ed25519 signature over [`SignedSimQuote::message`].
	pub signature: [u8; 64],
}

/// Why bytes are not a simulated quote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimQuoteError {
	/// The bytes do not start with [`MAGIC`].
	NotSimulated,
	/// Fewer than [`LEN`] bytes.
	Truncated {
		/// The bytes given.
		got: usize,
	},
	/// More than [`LEN`] bytes.
	TrailingBytes,
	/// A format version other than [`VERSION`].
	UnsupportedVersion(u16),
	/// Flags other than the debug bit.
	UnknownFlags,
	/// A measurement kind other than 1 and 2, or an MRENCLAVE whose padding is not zero.
	BadMeasurement,
}

impl fmt::Display for SimQuoteError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			Self::NotSimulated => f.write_str("not a simulated quote"),
			Self::Truncated { got } => write!(f, "simulated quote truncated: {got} of {LEN} bytes"),
			Self::TrailingBytes => f.write_str("trailing bytes after simulated quote"),
			Self::UnsupportedVersion(version) => write!(f, "simulated quote version {version}"),
			Self::UnknownFlags => f.write_str("unknown simulated quote flags"),
			Self::BadMeasurement => f.write_str("bad measurement kind"),
		}
	}
}

impl SimQuote {
	/// Whether `bytes` looks like a simulated quote (starts with [`MAGIC`]).
	pub fn is_simulated(bytes: &[u8]) -> bool {
		bytes.starts_with(&MAGIC)
	}

	/// The signed part: every field, in layout order.
	pub fn signed_bytes(&self) -> [u8; SIGNED_LEN] {
		let mut out = [0u8; SIGNED_LEN];
		out[..8].copy_from_slice(&MAGIC);
		out[8..10].copy_from_slice(&VERSION.to_le_bytes());
		out[10] = if self.debug { FLAG_DEBUG } else { 0 };
		out[11] = match self.measurement {
			Measurement::MrEnclave(_) => KIND_MRENCLAVE,
			Measurement::TdIdentity(_) => KIND_TD_IDENTITY,
		};
		let measurement = self.measurement.as_bytes();
		out[12..12 + measurement.len()].copy_from_slice(measurement);
		out[60..92].copy_from_slice(&self.signer);
		out[92..94].copy_from_slice(&self.product_id.to_le_bytes());
		out[94..96].copy_from_slice(&self.svn.to_le_bytes());
		out[96..160].copy_from_slice(&self.report_data);
		out
	}

	/// What the signature signs: [`SIGNATURE_DOMAIN`] followed by the signed part.
	pub fn message(&self) -> Vec<u8> {
		let mut message = SIGNATURE_DOMAIN.to_vec();
		message.extend_from_slice(&self.signed_bytes());
		message
	}

	/// The quote with `signature` appended: its [`LEN`]-byte encoding.
	pub fn encode_with(&self, signature: &[u8; 64]) -> Vec<u8> {
		let mut out = self.signed_bytes().to_vec();
		out.extend_from_slice(signature);
		out
	}

	/// Decodes a simulated quote without checking its signature. Exactly one encoding of each
	/// quote decodes: the fixed length, known flags, zero padding.
	pub fn decode(bytes: &[u8]) -> Result<SignedSimQuote, SimQuoteError> {
		if !Self::is_simulated(bytes) {
			return Err(SimQuoteError::NotSimulated);
		}
		if bytes.len() < LEN {
			return Err(SimQuoteError::Truncated { got: bytes.len() });
		}
		if bytes.len() > LEN {
			return Err(SimQuoteError::TrailingBytes);
		}
		let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
		let version = u16_at(8);
		if version != VERSION {
			return Err(SimQuoteError::UnsupportedVersion(version));
		}
		let flags = bytes[10];
		if flags & !FLAG_DEBUG != 0 {
			return Err(SimQuoteError::UnknownFlags);
		}
		let measurement_bytes = &bytes[12..60];
		let measurement = match bytes[11] {
			KIND_MRENCLAVE if measurement_bytes[32..].iter().all(|b| *b == 0) => {
				Measurement::from_bytes(&measurement_bytes[..32])
			},
			KIND_TD_IDENTITY => Measurement::from_bytes(measurement_bytes),
			_ => return Err(SimQuoteError::BadMeasurement),
		}
		.map_err(|_| SimQuoteError::BadMeasurement)?;
		let array = |at: usize| -> [u8; 32] {
			let mut out = [0u8; 32];
			out.copy_from_slice(&bytes[at..at + 32]);
			out
		};
		let mut report_data = [0u8; 64];
		report_data.copy_from_slice(&bytes[96..160]);
		let mut signature = [0u8; 64];
		signature.copy_from_slice(&bytes[SIGNED_LEN..LEN]);
		Ok(SignedSimQuote {
			quote: SimQuote {
				measurement,
				signer: array(60),
				product_id: u16_at(92),
				svn: u16_at(94),
				debug: flags & FLAG_DEBUG != 0,
				report_data,
			},
			signature,
		})
	}
}

impl SignedSimQuote {
	/// What the signature must sign ([`SimQuote::message`]).
	pub fn message(&self) -> Vec<u8> {
		self.quote.message()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn quote(measurement: Measurement, debug: bool) -> SimQuote {
		SimQuote {
			measurement,
			signer: [7; 32],
			product_id: 3,
			svn: 9,
			debug,
			report_data: core::array::from_fn(|i| i as u8),
		}
	}

	#[test]
	fn encodes_and_decodes_both_measurement_kinds() {
		for q in [
			quote(Measurement::MrEnclave([1; 32]), false),
			quote(Measurement::TdIdentity([2; 48]), true),
		] {
			let bytes = q.encode_with(&[5; 64]);
			assert_eq!(bytes.len(), LEN);
			assert!(SimQuote::is_simulated(&bytes));
			let decoded = SimQuote::decode(&bytes).unwrap();
			assert_eq!(decoded.quote, q);
			assert_eq!(decoded.signature, [5; 64]);
			assert_eq!(decoded.message()[..SIGNATURE_DOMAIN.len()], *SIGNATURE_DOMAIN);
			assert_eq!(decoded.message()[SIGNATURE_DOMAIN.len()..], bytes[..SIGNED_LEN]);
		}
	}

	#[test]
	fn refuses_every_other_encoding() {
		let bytes = quote(Measurement::MrEnclave([1; 32]), false).encode_with(&[5; 64]);
		let with = |at: usize, value: u8| {
			let mut out = bytes.clone();
			out[at] = value;
			out
		};
		assert_eq!(SimQuote::decode(&bytes[1..]), Err(SimQuoteError::NotSimulated));
		assert_eq!(SimQuote::decode(&bytes[..100]), Err(SimQuoteError::Truncated { got: 100 }));
		assert_eq!(
			SimQuote::decode(&[&bytes[..], &[0]].concat()),
			Err(SimQuoteError::TrailingBytes)
		);
		assert_eq!(SimQuote::decode(&with(8, 2)), Err(SimQuoteError::UnsupportedVersion(2)));
		assert_eq!(SimQuote::decode(&with(10, 2)), Err(SimQuoteError::UnknownFlags));
		assert_eq!(SimQuote::decode(&with(11, 3)), Err(SimQuoteError::BadMeasurement));
		// An MRENCLAVE's padding is part of the one encoding.
		assert_eq!(SimQuote::decode(&with(50, 1)), Err(SimQuoteError::BadMeasurement));
	}
}
