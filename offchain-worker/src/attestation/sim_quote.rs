//! The simulated quote produced by [`crate::tee::sim`]: its format is
//! [`enclave_update_primitives::sim_quote`] (shared with the runtime, whose development
//! registry accepts it), signed and verified here with the dev attestation key.
//!
//! The dev attestation key is public by construction (anyone can derive it from
//! [`DEV_ATTESTATION_SEED_LABEL`]), which is the point: a simulated quote proves nothing about
//! hardware, and verifiers accept one only when explicitly put in dev mode.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
pub use enclave_update_primitives::sim_quote::{
	SignedSimQuote, SimQuote, SimQuoteError, DEV_ATTESTATION_PUBLIC_KEY,
	DEV_ATTESTATION_SEED_LABEL, LEN, MAGIC, SIGNATURE_DOMAIN, VERSION,
};
use sha2::{Digest, Sha256};

use super::AttestationError;

/// The dev attestation signing key (public by construction, see the module docs).
pub fn dev_attestation_key() -> SigningKey {
	let seed: [u8; 32] = Sha256::digest(DEV_ATTESTATION_SEED_LABEL).into();
	SigningKey::from_bytes(&seed)
}

/// Signing a simulated quote: what the simulated TEE does, and tests with other keys.
pub trait SignSimQuote {
	/// Encodes and signs with the dev attestation key.
	fn sign_with_dev_key(&self) -> Vec<u8>;
	/// Encodes and signs with `key` (tests use other keys to exercise refusals).
	fn sign_with(&self, key: &SigningKey) -> Vec<u8>;
}

impl SignSimQuote for SimQuote {
	fn sign_with_dev_key(&self) -> Vec<u8> {
		self.sign_with(&dev_attestation_key())
	}

	fn sign_with(&self, key: &SigningKey) -> Vec<u8> {
		self.encode_with(&key.sign(&self.message()).to_bytes())
	}
}

/// Decodes a simulated quote without checking its signature.
pub fn decode(bytes: &[u8]) -> Result<SignedSimQuote, AttestationError> {
	SimQuote::decode(bytes).map_err(|error| match error {
		SimQuoteError::Truncated { got } => AttestationError::Truncated { needed: LEN, got },
		SimQuoteError::UnsupportedVersion(_) => {
			AttestationError::UnsupportedQuote(error.to_string())
		},
		other => AttestationError::Malformed(other.to_string()),
	})
}

/// Checks a simulated quote's signature against the dev attestation key.
pub fn verify_dev_signature(quote: &SignedSimQuote) -> Result<(), AttestationError> {
	let key: VerifyingKey = dev_attestation_key().verifying_key();
	key.verify(&quote.message(), &Signature::from_bytes(&quote.signature))
		.map_err(|_| AttestationError::SimulatedSignatureInvalid)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_shared_dev_public_key_is_the_seeds() {
		assert_eq!(dev_attestation_key().verifying_key().to_bytes(), DEV_ATTESTATION_PUBLIC_KEY);
	}
}
