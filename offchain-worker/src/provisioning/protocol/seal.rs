//! The HPKE sealing of the key material to the requester's ephemeral key: DHKEM(X25519,
//! HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, base mode, with the transcript's seal context as
//! `info` and `aad`.

use std::fmt;

use hpke::{Deserializable, Kem as _, Serializable};
use zeroize::Zeroizing;

pub(super) type Kem = hpke::kem::X25519HkdfSha256;
pub(super) type Kdf = hpke::kdf::HkdfSha256;
pub(super) type Aead = hpke::aead::ChaCha20Poly1305;

/// The requester's ephemeral X25519 key pair: the keys are sealed to it with HPKE
/// (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, base mode). The secret is
/// wiped on drop.
pub struct EphemeralKey {
	secret: <Kem as hpke::Kem>::PrivateKey,
	public: [u8; 32],
}

impl EphemeralKey {
	/// A fresh key pair from the OS RNG.
	pub fn generate() -> Self {
		let (secret, public) = Kem::gen_keypair();
		let mut bytes = [0u8; 32];
		bytes.copy_from_slice(&public.to_bytes());
		Self { secret, public: bytes }
	}

	/// The public key.
	pub fn public_key(&self) -> [u8; 32] {
		self.public
	}

	/// Opens what [`seal_to`] sealed to this key under `context`.
	pub fn open(
		&self,
		encapsulated_key: &[u8; 32],
		ciphertext: &[u8],
		context: &[u8; 64],
	) -> Result<Zeroizing<Vec<u8>>, hpke::HpkeError> {
		let encapped = <Kem as hpke::Kem>::EncappedKey::from_bytes(encapsulated_key)?;
		hpke::single_shot_open::<Aead, Kdf, Kem>(
			&hpke::OpModeR::Base,
			&self.secret,
			&encapped,
			context,
			ciphertext,
			context,
		)
		.map(Zeroizing::new)
	}
}

impl fmt::Debug for EphemeralKey {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("EphemeralKey")
			.field("public", &hex::encode(self.public))
			.field("secret", &"<redacted>")
			.finish()
	}
}

/// Seals `plaintext` to `recipient` (an [`EphemeralKey`]'s public half) with `context` as
/// HPKE `info` and `aad`; returns the encapsulated key and the ciphertext.
pub fn seal_to(
	recipient: &[u8; 32],
	context: &[u8; 64],
	plaintext: &[u8],
) -> Result<([u8; 32], Vec<u8>), hpke::HpkeError> {
	let recipient = <Kem as hpke::Kem>::PublicKey::from_bytes(recipient)?;
	let (encapped, ciphertext) = hpke::single_shot_seal::<Aead, Kdf, Kem>(
		&hpke::OpModeS::Base,
		&recipient,
		context,
		plaintext,
		context,
	)?;
	let mut encapsulated_key = [0u8; 32];
	encapsulated_key.copy_from_slice(&encapped.to_bytes());
	Ok((encapsulated_key, ciphertext))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn hpke_round_trip_and_tamper() {
		let key = EphemeralKey::generate();
		let context = [7u8; 64];
		let (enc, ciphertext) = seal_to(&key.public_key(), &context, b"key material").unwrap();
		assert_eq!(&key.open(&enc, &ciphertext, &context).unwrap()[..], b"key material");
		let mut tampered = ciphertext.clone();
		tampered[0] ^= 1;
		assert!(key.open(&enc, &tampered, &context).is_err());
		assert!(key.open(&enc, &ciphertext, &[8u8; 64]).is_err());
		let other = EphemeralKey::generate();
		assert!(other.open(&enc, &ciphertext, &context).is_err());
		assert!(!format!("{key:?}").contains(&hex::encode(key.secret.to_bytes())));
		// A low-order point as recipient is refused, not a panic.
		assert!(seal_to(&[0u8; 32], &context, b"x").is_err());
	}
}
