//! The worker's long-lived keys: the shielding key (X25519, clients encrypt calls to
//! its public half with HPKE) and the state key (XChaCha20-Poly1305, encrypts state
//! snapshots), plus the checksum operators compare across workers.
//!
//! Secrets live in zeroizing, mlocked memory and are never printed. Key material can
//! be replaced in a running process through [`KeyStore`], like a KES agent pushing a new
//! hot key into a live node (seed 003).

use std::{
	fmt,
	sync::{Arc, RwLock},
};

use chacha20poly1305::{
	aead::{AeadInPlace, KeyInit},
	XChaCha20Poly1305, XNonce,
};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::secret::Secret32;

/// Length of an XChaCha20-Poly1305 nonce.
pub const NONCE_LEN: usize = 24;
/// Length of a Poly1305 tag.
pub const TAG_LEN: usize = 16;
/// Length of [`KeyMaterial::to_plaintext`]'s output.
pub const KEY_MATERIAL_LEN: usize = 1 + 32 + 32;
/// Version byte of the serialized key material; bumped if the layout ever changes.
const KEY_MATERIAL_VERSION: u8 = 1;

const CHECKSUM_DOMAIN: &[u8] = b"enclave-update/key-checksum/v1";
const STATE_KEY_DIGEST_DOMAIN: &[u8] = b"enclave-update/state-key-digest/v1";

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
	/// Serialized key material has the wrong length or version.
	#[error("key material is malformed: {0}")]
	Malformed(&'static str),
	/// Decryption failed: wrong key, or the data was modified or truncated.
	#[error("authenticated decryption failed (wrong key, or tampered/truncated data)")]
	Decrypt,
	/// Encryption failed (only for inputs beyond the AEAD's length limit).
	#[error("encryption failed")]
	Encrypt,
	/// The key store holds no key material yet.
	#[error("no key material loaded")]
	NoKeys,
}

/// The X25519 key pair that clients encrypt shielded calls to (HPKE `DHKEM(X25519,
/// HKDF-SHA256)`: the secret is a raw 32-byte X25519 scalar, as that KEM expects).
pub struct ShieldingKey {
	secret: Secret32,
	public: [u8; 32],
}

impl ShieldingKey {
	/// A fresh random key pair.
	pub fn generate() -> Self {
		Self::from_secret(Secret32::random())
	}

	/// Rebuilds the pair from its secret scalar; wipes the caller's copy.
	pub fn from_secret_bytes(secret: &mut [u8; 32]) -> Self {
		Self::from_secret(Secret32::new(secret))
	}

	fn from_secret(secret: Secret32) -> Self {
		let static_secret = x25519_dalek::StaticSecret::from(*secret.expose());
		let public = x25519_dalek::PublicKey::from(&static_secret).to_bytes();
		Self { secret, public }
	}

	/// The public key, safe to publish (on chain, in status output).
	pub fn public_key(&self) -> [u8; 32] {
		self.public
	}

	/// X25519 Diffie-Hellman with a peer's public key (the HPKE decapsulation primitive).
	/// The shared secret is returned in a zeroizing container.
	pub fn diffie_hellman(&self, peer_public: &[u8; 32]) -> Zeroizing<[u8; 32]> {
		let static_secret = x25519_dalek::StaticSecret::from(*self.secret.expose());
		let peer = x25519_dalek::PublicKey::from(*peer_public);
		Zeroizing::new(static_secret.diffie_hellman(&peer).to_bytes())
	}

	/// The secret scalar, for handing to an HPKE implementation or to a successor
	/// enclave during provisioning. Callers must not log or persist it unencrypted.
	pub fn expose_secret(&self) -> &[u8; 32] {
		self.secret.expose()
	}
}

impl fmt::Debug for ShieldingKey {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("ShieldingKey")
			.field("public", &hex::encode(self.public))
			.field("secret", &"<redacted>")
			.finish()
	}
}

/// The 256-bit key that encrypts state snapshots (XChaCha20-Poly1305). It is shared with
/// successor enclaves, so they can read the state their predecessor wrote.
pub struct StateKey {
	key: Secret32,
}

impl StateKey {
	/// A fresh random key.
	pub fn generate() -> Self {
		Self { key: Secret32::random() }
	}

	/// Takes the key bytes; wipes the caller's copy.
	pub fn from_bytes(bytes: &mut [u8; 32]) -> Self {
		Self { key: Secret32::new(bytes) }
	}

	/// The raw key, for provisioning to a successor. Never log or persist it unencrypted.
	pub fn expose_secret(&self) -> &[u8; 32] {
		self.key.expose()
	}

	/// HMAC-SHA256 of a fixed label under this key: identifies the key without revealing it.
	pub fn keyed_digest(&self) -> [u8; 32] {
		keyed_digest(self.key.expose())
	}

	/// Encrypts `buffer` in place and returns the nonce and tag (see [`aead_seal_in_place`]).
	pub fn seal_in_place(
		&self,
		aad: &[u8],
		buffer: &mut [u8],
	) -> Result<([u8; NONCE_LEN], [u8; TAG_LEN]), KeyError> {
		aead_seal_in_place(self.key.expose(), aad, buffer)
	}

	/// Decrypts `buffer` in place (see [`aead_open_in_place`]).
	pub fn open_in_place(
		&self,
		nonce: &[u8; NONCE_LEN],
		aad: &[u8],
		buffer: &mut [u8],
		tag: &[u8; TAG_LEN],
	) -> Result<(), KeyError> {
		aead_open_in_place(self.key.expose(), nonce, aad, buffer, tag)
	}
}

impl fmt::Debug for StateKey {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str("StateKey(<redacted>)")
	}
}

fn keyed_digest(key: &[u8; 32]) -> [u8; 32] {
	// HMAC accepts keys of any length, so construction cannot fail for 32 bytes.
	let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
		Ok(mac) => mac,
		Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
	};
	mac.update(STATE_KEY_DIGEST_DOMAIN);
	mac.finalize().into_bytes().into()
}

/// XChaCha20-Poly1305 with a random 192-bit nonce (random nonces are safe at that size,
/// so no counter has to survive restarts). Encrypts `buffer` in place.
pub fn aead_seal_in_place(
	key: &[u8; 32],
	aad: &[u8],
	buffer: &mut [u8],
) -> Result<([u8; NONCE_LEN], [u8; TAG_LEN]), KeyError> {
	let cipher = XChaCha20Poly1305::new(key.into());
	let mut nonce = [0u8; NONCE_LEN];
	rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
	let tag = cipher
		.encrypt_in_place_detached(&XNonce::from(nonce), aad, buffer)
		.map_err(|_| KeyError::Encrypt)?;
	Ok((nonce, tag.into()))
}

/// Inverse of [`aead_seal_in_place`]. On failure `buffer` holds no plaintext.
pub fn aead_open_in_place(
	key: &[u8; 32],
	nonce: &[u8; NONCE_LEN],
	aad: &[u8],
	buffer: &mut [u8],
	tag: &[u8; TAG_LEN],
) -> Result<(), KeyError> {
	let cipher = XChaCha20Poly1305::new(key.into());
	cipher
		.decrypt_in_place_detached(&XNonce::from(*nonce), aad, buffer, tag.into())
		.map_err(|_| KeyError::Decrypt)
}

/// A digest of the key material that operators compare across workers ("do the old and
/// the new enclave hold the same keys?") without revealing the keys: SHA-256 over a
/// domain tag, the shielding public key and an HMAC of the state key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct KeyChecksum(pub [u8; 32]);

impl fmt::Display for KeyChecksum {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "0x{}", hex::encode(self.0))
	}
}

impl fmt::Debug for KeyChecksum {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "KeyChecksum({self})")
	}
}

impl From<KeyChecksum> for String {
	fn from(value: KeyChecksum) -> Self {
		value.to_string()
	}
}

impl TryFrom<String> for KeyChecksum {
	type Error = String;
	fn try_from(value: String) -> Result<Self, Self::Error> {
		let digits = value.strip_prefix("0x").unwrap_or(&value);
		let mut out = [0u8; 32];
		hex::decode_to_slice(digits, &mut out).map_err(|e| format!("bad key checksum: {e}"))?;
		Ok(Self(out))
	}
}

/// Both keys of a worker, the unit that is sealed, provisioned and replaced together.
pub struct KeyMaterial {
	/// Key that clients encrypt shielded calls to.
	pub shielding: ShieldingKey,
	/// Key that encrypts state snapshots.
	pub state: StateKey,
}

impl KeyMaterial {
	/// Fresh keys, for the first enclave of a chain (`enclave-worker init`).
	pub fn generate() -> Self {
		Self { shielding: ShieldingKey::generate(), state: StateKey::generate() }
	}

	/// The operator-facing checksum of this key material.
	pub fn checksum(&self) -> KeyChecksum {
		let mut hasher = Sha256::new();
		hasher.update(CHECKSUM_DOMAIN);
		hasher.update(self.shielding.public_key());
		hasher.update(self.state.keyed_digest());
		KeyChecksum(hasher.finalize().into())
	}

	/// Serializes both secrets (version byte, shielding secret, state key) for sealing or
	/// provisioning. The buffer is wiped when dropped.
	pub fn to_plaintext(&self) -> Zeroizing<Vec<u8>> {
		let mut out = Zeroizing::new(Vec::with_capacity(KEY_MATERIAL_LEN));
		out.push(KEY_MATERIAL_VERSION);
		out.extend_from_slice(self.shielding.expose_secret());
		out.extend_from_slice(self.state.expose_secret());
		out
	}

	/// Inverse of [`Self::to_plaintext`].
	pub fn from_plaintext(bytes: &[u8]) -> Result<Self, KeyError> {
		if bytes.len() != KEY_MATERIAL_LEN {
			return Err(KeyError::Malformed("wrong length"));
		}
		if bytes[0] != KEY_MATERIAL_VERSION {
			return Err(KeyError::Malformed("unknown version"));
		}
		let mut shielding = Zeroizing::new([0u8; 32]);
		shielding.copy_from_slice(&bytes[1..33]);
		let mut state = Zeroizing::new([0u8; 32]);
		state.copy_from_slice(&bytes[33..65]);
		Ok(Self {
			shielding: ShieldingKey::from_secret_bytes(&mut shielding),
			state: StateKey::from_bytes(&mut state),
		})
	}
}

impl fmt::Debug for KeyMaterial {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("KeyMaterial")
			.field("shielding", &self.shielding)
			.field("state", &self.state)
			.field("checksum", &self.checksum())
			.finish()
	}
}

/// The live key material of a running worker. Readers take an `Arc` snapshot and keep
/// using it even while a replacement is installed; the old material is wiped when its
/// last user drops it.
#[derive(Default)]
pub struct KeyStore {
	current: RwLock<Option<Arc<KeyMaterial>>>,
}

impl KeyStore {
	/// An empty store (readiness `NoKeys`).
	pub fn new() -> Self {
		Self::default()
	}

	/// A store holding `keys`.
	pub fn with_keys(keys: KeyMaterial) -> Self {
		Self { current: RwLock::new(Some(Arc::new(keys))) }
	}

	/// The current key material, if any.
	pub fn current(&self) -> Option<Arc<KeyMaterial>> {
		// A poisoned lock only means a writer panicked mid-swap; the Option is still whole.
		self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
	}

	/// The current key material, or [`KeyError::NoKeys`].
	pub fn require(&self) -> Result<Arc<KeyMaterial>, KeyError> {
		self.current().ok_or(KeyError::NoKeys)
	}

	/// Installs `keys` without a restart and returns the previous material.
	pub fn replace(&self, keys: KeyMaterial) -> Option<Arc<KeyMaterial>> {
		let mut guard = self.current.write().unwrap_or_else(|p| p.into_inner());
		guard.replace(Arc::new(keys))
	}

	/// Removes the key material (e.g. when the enclave is retired).
	pub fn clear(&self) -> Option<Arc<KeyMaterial>> {
		self.current.write().unwrap_or_else(|p| p.into_inner()).take()
	}

	/// The checksum of the current key material.
	pub fn checksum(&self) -> Option<KeyChecksum> {
		self.current().map(|k| k.checksum())
	}
}

impl fmt::Debug for KeyStore {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("KeyStore").field("checksum", &self.checksum()).finish()
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use assert_matches::assert_matches;

	fn contains_hex_or_bytes(haystack: &str, secret: &[u8; 32]) -> bool {
		haystack.contains(&hex::encode(secret)) || haystack.contains(&format!("{secret:?}"))
	}

	#[test]
	fn debug_never_shows_secrets() {
		let keys = KeyMaterial::generate();
		let store = KeyStore::with_keys(KeyMaterial::from_plaintext(&keys.to_plaintext()).unwrap());
		for text in [
			format!("{keys:?}"),
			format!("{:?}", keys.shielding),
			format!("{:?}", keys.state),
			format!("{store:?}"),
			format!("{:#?}", keys),
		] {
			assert!(!contains_hex_or_bytes(&text, keys.shielding.expose_secret()), "{text}");
			assert!(!contains_hex_or_bytes(&text, keys.state.expose_secret()), "{text}");
			assert!(text.contains("redacted") || text.contains("checksum"), "{text}");
		}
	}

	#[test]
	fn plaintext_round_trip_keeps_checksum() {
		let keys = KeyMaterial::generate();
		let again = KeyMaterial::from_plaintext(&keys.to_plaintext()).unwrap();
		assert_eq!(keys.checksum(), again.checksum());
		assert_eq!(keys.shielding.public_key(), again.shielding.public_key());
		assert_matches!(
			KeyMaterial::from_plaintext(&[1u8; 10]),
			Err(KeyError::Malformed("wrong length"))
		);
		let mut bad = keys.to_plaintext().to_vec();
		bad[0] = 9;
		assert_matches!(KeyMaterial::from_plaintext(&bad), Err(KeyError::Malformed(_)));
	}

	#[test]
	fn checksum_depends_on_both_keys() {
		let a = KeyMaterial::generate();
		let mut plain = a.to_plaintext().to_vec();
		plain[40] ^= 1; // state key differs
		let b = KeyMaterial::from_plaintext(&plain).unwrap();
		assert_ne!(a.checksum(), b.checksum());
		let mut plain = a.to_plaintext().to_vec();
		plain[5] ^= 1; // shielding key differs
		let c = KeyMaterial::from_plaintext(&plain).unwrap();
		assert_ne!(a.checksum(), c.checksum());
		let text = a.checksum().to_string();
		assert_eq!(KeyChecksum::try_from(text).unwrap(), a.checksum());
	}

	#[test]
	fn shielding_dh_agrees() {
		let a = ShieldingKey::generate();
		let b = ShieldingKey::generate();
		assert_eq!(*a.diffie_hellman(&b.public_key()), *b.diffie_hellman(&a.public_key()));
	}

	#[test]
	fn state_key_aead_round_trip_and_tamper() {
		let key = StateKey::generate();
		let mut buf = b"state bytes".to_vec();
		let (nonce, tag) = key.seal_in_place(b"aad", &mut buf).unwrap();
		assert_ne!(buf, b"state bytes");
		let mut copy = buf.clone();
		key.open_in_place(&nonce, b"aad", &mut copy, &tag).unwrap();
		assert_eq!(copy, b"state bytes");
		let mut copy = buf.clone();
		assert_matches!(
			key.open_in_place(&nonce, b"other", &mut copy, &tag),
			Err(KeyError::Decrypt)
		);
	}

	#[test]
	fn key_store_replaces_live_material() {
		let store = KeyStore::new();
		assert_matches!(store.require(), Err(KeyError::NoKeys));
		let first = KeyMaterial::generate();
		let first_sum = first.checksum();
		assert!(store.replace(first).is_none());
		let reader = store.require().unwrap();
		let second = KeyMaterial::generate();
		let second_sum = second.checksum();
		let old = store.replace(second).unwrap();
		// A reader holding the old Arc keeps working; new readers see the new keys.
		assert_eq!(reader.checksum(), first_sum);
		assert_eq!(old.checksum(), first_sum);
		assert_eq!(store.checksum(), Some(second_sum));
		assert!(store.clear().is_some());
		assert_eq!(store.checksum(), None);
	}
}
