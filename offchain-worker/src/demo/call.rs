//! Shielded calls: a [`ShieldedCall`] sealed with HPKE to the worker's shielding key for one
//! chain ([`seal_call`]), submitted as a [`ShieldedEnvelope`], opened by the worker
//! ([`open_call`]).

use std::fmt;

use codec::{Decode, DecodeAll, Encode};
use hpke::{Deserializable, Serializable};
use zeroize::Zeroizing;

use crate::keys::ShieldingKey;

pub(super) type Kem = hpke::kem::X25519HkdfSha256;
pub(super) type Kdf = hpke::kdf::HkdfSha256;
pub(super) type Aead = hpke::aead::ChaCha20Poly1305;

/// The envelope version this build writes and reads.
pub const ENVELOPE_VERSION: u8 = 1;
/// Domain tag of the HPKE `info`, followed by the genesis hash.
pub const CALL_INFO_TAG: &[u8] = b"enclave-update/shielded-call/v1";
/// Longest key of a call, in bytes.
pub const MAX_KEY_LEN: usize = 64;
/// Longest value of a [`ShieldedCall::Put`], in bytes.
pub const MAX_VALUE_LEN: usize = 512;
/// Length of a Poly1305 tag.
const AEAD_TAG_LEN: usize = 16;
/// Longest SCALE encoding of a call within the bounds: variant, key with its compact length
/// (2 bytes for up to 16383), value with its compact length.
const MAX_CALL_ENCODED_LEN: usize = 1 + 2 + MAX_KEY_LEN + 2 + MAX_VALUE_LEN;
/// Longest ciphertext worth decrypting: anything longer holds an oversize call.
pub const MAX_CIPHERTEXT_LEN: usize = MAX_CALL_ENCODED_LEN + AEAD_TAG_LEN;

/// A call to the demo state machine. Its plaintext is confidential: `Debug` shows the kind and
/// the key's length only.
#[derive(Clone, PartialEq, Eq, Encode, Decode)]
pub enum ShieldedCall {
	/// Set `key` to `value`.
	#[codec(index = 0)]
	Put {
		/// At most [`MAX_KEY_LEN`] bytes.
		key: Vec<u8>,
		/// At most [`MAX_VALUE_LEN`] bytes.
		value: Vec<u8>,
	},
	/// Remove `key`: its value and its counter.
	#[codec(index = 1)]
	Delete {
		/// At most [`MAX_KEY_LEN`] bytes.
		key: Vec<u8>,
	},
	/// Add `by` to the counter `key` (missing counters are 0; saturates at `u64::MAX`). Not
	/// idempotent, so executing a call twice shows in the state.
	#[codec(index = 2)]
	Increment {
		/// At most [`MAX_KEY_LEN`] bytes.
		key: Vec<u8>,
		/// The amount to add.
		by: u64,
	},
}

impl ShieldedCall {
	/// The key the call acts on.
	pub fn key(&self) -> &[u8] {
		match self {
			Self::Put { key, .. } | Self::Delete { key } | Self::Increment { key, .. } => key,
		}
	}

	/// Checks the size bounds ([`MAX_KEY_LEN`], [`MAX_VALUE_LEN`]); the worker skips calls
	/// that exceed them.
	pub fn check_bounds(&self) -> Result<(), CallError> {
		let value_len = match self {
			Self::Put { value, .. } => value.len(),
			Self::Delete { .. } | Self::Increment { .. } => 0,
		};
		if self.key().len() > MAX_KEY_LEN || value_len > MAX_VALUE_LEN {
			return Err(CallError::TooLarge);
		}
		Ok(())
	}

	fn kind(&self) -> &'static str {
		match self {
			Self::Put { .. } => "Put",
			Self::Delete { .. } => "Delete",
			Self::Increment { .. } => "Increment",
		}
	}
}

impl fmt::Debug for ShieldedCall {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct(self.kind()).field("key_len", &self.key().len()).finish()
	}
}

/// What the inbox holds for one call: the HPKE encapsulated key and ciphertext of a SCALE
/// encoded [`ShieldedCall`], SCALE encoded.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ShieldedEnvelope {
	/// [`ENVELOPE_VERSION`].
	pub version: u8,
	/// The sender's ephemeral X25519 public key (HPKE `enc`).
	pub encapped_key: [u8; 32],
	/// ChaCha20-Poly1305 ciphertext and tag.
	pub ciphertext: Vec<u8>,
}

/// Why a submitted call was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
	/// The bytes are not a [`ShieldedEnvelope`] (or bytes follow it).
	#[error("not a shielded-call envelope")]
	Malformed,
	/// The envelope is of another version than [`ENVELOPE_VERSION`].
	#[error("unsupported envelope version {0}")]
	UnsupportedVersion(u8),
	/// Decryption failed: sealed to another key or for another chain, or tampered with.
	#[error("the call does not decrypt (another shielding key or chain, or tampered with)")]
	Decrypt,
	/// The plaintext is not a [`ShieldedCall`] (or bytes follow it).
	#[error("the decrypted call is not a valid call")]
	BadPlaintext,
	/// The call exceeds [`MAX_KEY_LEN`] or [`MAX_VALUE_LEN`].
	#[error("the call exceeds the size bounds (key {MAX_KEY_LEN}, value {MAX_VALUE_LEN} bytes)")]
	TooLarge,
}

pub(super) fn call_info(genesis_hash: &[u8; 32]) -> Vec<u8> {
	[CALL_INFO_TAG, genesis_hash.as_slice()].concat()
}

/// `recipient_public` is not a usable X25519 public key (a low-order point, whose shared secret
/// is all zeros; no shielding key is one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the recipient is not a usable X25519 public key (low-order point)")]
pub struct InvalidRecipient;

/// Seals `call` to `recipient_public` (a worker's shielding public key, as `status` shows it)
/// for the chain `genesis_hash`, with a fresh ephemeral key; returns the SCALE encoded
/// [`ShieldedEnvelope`] to submit. The size bounds are not checked here (see
/// [`ShieldedCall::check_bounds`]): the worker skips an oversize call.
///
/// # Panics
/// If `recipient_public` is a low-order point, which no real shielding key is; use
/// [`try_seal_call`] for keys from untrusted input.
pub fn seal_call(
	recipient_public: &[u8; 32],
	genesis_hash: &[u8; 32],
	call: &ShieldedCall,
) -> Vec<u8> {
	match try_seal_call(recipient_public, genesis_hash, call) {
		Ok(bytes) => bytes,
		Err(e) => panic!("seal_call: {e}"),
	}
}

/// [`seal_call`], with an error instead of a panic for a low-order recipient key.
pub fn try_seal_call(
	recipient_public: &[u8; 32],
	genesis_hash: &[u8; 32],
	call: &ShieldedCall,
) -> Result<Vec<u8>, InvalidRecipient> {
	let plaintext = Zeroizing::new(call.encode());
	let recipient = <Kem as hpke::Kem>::PublicKey::from_bytes(recipient_public)
		.map_err(|_| InvalidRecipient)?;
	// With a 32-byte key and a short plaintext, the only failure left is an all-zero shared
	// secret, i.e. a low-order recipient key.
	let (encapped, ciphertext) = hpke::single_shot_seal::<Aead, Kdf, Kem>(
		&hpke::OpModeS::Base,
		&recipient,
		&call_info(genesis_hash),
		&plaintext,
		&[],
	)
	.map_err(|_| InvalidRecipient)?;
	let mut encapped_key = [0u8; 32];
	encapped_key.copy_from_slice(&encapped.to_bytes());
	Ok(ShieldedEnvelope { version: ENVELOPE_VERSION, encapped_key, ciphertext }.encode())
}

/// Opens a submitted call with the worker's shielding key, for the chain `genesis_hash`.
/// Pure and total: any input yields a call or an error, never a panic.
pub fn open_call(
	key: &ShieldingKey,
	genesis_hash: &[u8; 32],
	bytes: &[u8],
) -> Result<ShieldedCall, CallError> {
	match bytes.first() {
		None => return Err(CallError::Malformed),
		Some(&version) if version != ENVELOPE_VERSION => {
			return Err(CallError::UnsupportedVersion(version))
		},
		Some(_) => {},
	}
	let envelope =
		ShieldedEnvelope::decode_all(&mut &bytes[..]).map_err(|_| CallError::Malformed)?;
	if envelope.ciphertext.len() > MAX_CIPHERTEXT_LEN {
		return Err(CallError::TooLarge);
	}
	let secret = <Kem as hpke::Kem>::PrivateKey::from_bytes(key.expose_secret())
		.map_err(|_| CallError::Decrypt)?;
	let encapped = <Kem as hpke::Kem>::EncappedKey::from_bytes(&envelope.encapped_key)
		.map_err(|_| CallError::Decrypt)?;
	let plaintext = hpke::single_shot_open::<Aead, Kdf, Kem>(
		&hpke::OpModeR::Base,
		&secret,
		&encapped,
		&call_info(genesis_hash),
		&envelope.ciphertext,
		&[],
	)
	.map(Zeroizing::new)
	.map_err(|_| CallError::Decrypt)?;
	let call =
		ShieldedCall::decode_all(&mut &plaintext[..]).map_err(|_| CallError::BadPlaintext)?;
	call.check_bounds()?;
	Ok(call)
}
