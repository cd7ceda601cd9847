//! The demo state machine the enclave carries across an upgrade: shielded calls submitted on
//! chain, decrypted with the shielding key and applied to a small key-value store.
//!
//! ## Calls
//! A user encrypts a [`ShieldedCall`] to the worker's shielding public key with [`seal_call`]
//! and submits the resulting [`ShieldedEnvelope`] to the chain's inbox; the active worker
//! opens each call with [`open_call`]. HPKE (RFC 9180) in base mode with
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and ChaCha20-Poly1305; the HPKE `info` is
//! [`CALL_INFO_TAG`] ‖ genesis hash, so a call only opens on the chain it was sealed for; the
//! `aad` is empty.
//!
//! ## Execution
//! [`ExecutedState::apply_block`] takes the blocks in order, each exactly once: it refuses any
//! block but the next one on top of the last executed block. A call that does not open or does
//! not decode is skipped and counted, never fatal: anyone can submit bytes to the inbox.
//!
//! ## State hash
//! With `‖` concatenation, `SCALE(x)` the SCALE encoding of `x` and `H` BLAKE2b-256:
//!
//! ```text
//! genesis:  state_hash_0 = H(GENESIS_STATE_TAG ‖ genesis_hash)
//! block n:  state_hash_n = H(STATE_TAG ‖ state_hash_{n-1} ‖ n as u64 LE ‖ block_hash_n
//!                            ‖ SCALE(Vec<(H(call bytes), applied: bool)>))
//! ```
//!
//! Only public data enters the hash (the submitted bytes and whether each call was applied),
//! so anyone holding the chain can recompute the chain of hashes except for the `applied`
//! flags, and two enclaves that executed the same blocks agree on it without revealing the
//! state. It chains across an upgrade: the successor continues from its predecessor's last
//! hash.

use std::{collections::BTreeMap, fmt};

use codec::{Decode, DecodeAll, Encode};
use hpke::{Deserializable, Serializable};
use sp_crypto_hashing::blake2_256;
use zeroize::Zeroizing;

use crate::{
	keys::{ShieldingKey, StateKey},
	store::{Snapshot, Store, StoreError},
	Measurement,
};

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::ChaCha20Poly1305;

/// The envelope version this build writes and reads.
pub const ENVELOPE_VERSION: u8 = 1;
/// Domain tag of the HPKE `info`, followed by the genesis hash.
pub const CALL_INFO_TAG: &[u8] = b"enclave-update/shielded-call/v1";
/// Domain tag of the state hash at genesis.
pub const GENESIS_STATE_TAG: &[u8] = b"enclave-update/state/genesis/v1";
/// Domain tag of the state hash after a block.
pub const STATE_TAG: &[u8] = b"enclave-update/state/v1";
/// Version byte in front of [`ExecutedState::to_bytes`].
pub const STATE_VERSION: u8 = 1;
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

fn call_info(genesis_hash: &[u8; 32]) -> Vec<u8> {
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

/// The demo's confidential state: a key-value map and counters. Ordered maps, so its SCALE
/// encoding is deterministic. `Debug` shows sizes only.
#[derive(Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct DemoState {
	/// Values set by [`ShieldedCall::Put`].
	pub entries: BTreeMap<Vec<u8>, Vec<u8>>,
	/// Counters advanced by [`ShieldedCall::Increment`].
	pub counters: BTreeMap<Vec<u8>, u64>,
}

impl DemoState {
	/// Applies one (opened, in-bounds) call.
	pub fn apply(&mut self, call: ShieldedCall) {
		match call {
			ShieldedCall::Put { key, value } => {
				self.entries.insert(key, value);
			},
			ShieldedCall::Delete { key } => {
				self.entries.remove(&key);
				self.counters.remove(&key);
			},
			ShieldedCall::Increment { key, by } => {
				let counter = self.counters.entry(key).or_insert(0);
				*counter = counter.saturating_add(by);
			},
		}
	}

	/// The counter `key` (0 when missing).
	pub fn counter(&self, key: &[u8]) -> u64 {
		self.counters.get(key).copied().unwrap_or(0)
	}
}

impl fmt::Debug for DemoState {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("DemoState")
			.field("entries", &self.entries.len())
			.field("counters", &self.counters.len())
			.finish()
	}
}

/// Why a block was not applied, or an executed state could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
	/// The block is not the one after the last executed block.
	#[error("block #{got} is not the next block to execute (#{expected})")]
	NotNext {
		/// The next block number.
		expected: u64,
		/// The block number offered.
		got: u64,
	},
	/// The block's parent is not the last executed block (another fork).
	#[error(
		"the block's parent 0x{} is not the last executed block 0x{}",
		hex::encode(got),
		hex::encode(expected)
	)]
	ParentMismatch {
		/// The last executed block's hash.
		expected: [u8; 32],
		/// The offered block's parent hash.
		got: [u8; 32],
	},
	/// The encoded state is of another version than [`STATE_VERSION`].
	#[error("unsupported executed-state version {0}")]
	UnsupportedStateVersion(u8),
	/// The encoded state does not decode.
	#[error("the executed state does not decode: {0}")]
	MalformedState(String),
	/// Bytes follow the encoded state.
	#[error("{0} bytes follow the encoded executed state")]
	TrailingStateBytes(usize),
	/// A snapshot's header names another block than its state.
	#[error("the snapshot is labelled block #{snapshot} but holds the state after #{state}")]
	SnapshotBlockMismatch {
		/// Block number in the snapshot file.
		snapshot: u64,
		/// Block number in the decoded state.
		state: u64,
	},
	/// A snapshot's header names another state hash than its state.
	#[error("the snapshot's state hash differs from the hash of the state it holds")]
	SnapshotHashMismatch,
}

/// The result of one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockOutcome {
	/// Calls opened and applied.
	pub applied: u32,
	/// Calls skipped (not openable, malformed or oversize).
	pub skipped: u32,
	/// The state hash after the block.
	pub state_hash: [u8; 32],
}

/// The state after executing every block up to `block_number` of one chain, with the hash
/// chain that identifies it. This is what a snapshot holds and a successor continues from.
#[derive(Clone, PartialEq, Eq, Encode, Decode)]
pub struct ExecutedState {
	/// The chain.
	pub genesis_hash: [u8; 32],
	/// The last executed block (0: nothing executed yet).
	pub block_number: u64,
	/// Its hash (the genesis hash at block 0).
	pub block_hash: [u8; 32],
	/// The state hash after it (see the module docs).
	pub state_hash: [u8; 32],
	/// Calls applied since genesis.
	pub applied_total: u64,
	/// Calls skipped since genesis.
	pub skipped_total: u64,
	/// The confidential state.
	pub state: DemoState,
}

impl ExecutedState {
	/// The state of a chain before its first block.
	pub fn genesis(genesis_hash: [u8; 32]) -> Self {
		Self {
			genesis_hash,
			block_number: 0,
			block_hash: genesis_hash,
			state_hash: blake2_256(&[GENESIS_STATE_TAG, genesis_hash.as_slice()].concat()),
			applied_total: 0,
			skipped_total: 0,
			state: DemoState::default(),
		}
	}

	/// Executes block `block_number`, whose calls are the inbox's `calls` in order. Refuses,
	/// leaving the state unchanged, any block but the next one on top of the last executed
	/// block. Calls that do not open are skipped and counted.
	pub fn apply_block(
		&mut self,
		key: &ShieldingKey,
		block_number: u64,
		parent_hash: [u8; 32],
		block_hash: [u8; 32],
		calls: &[Vec<u8>],
	) -> Result<BlockOutcome, ExecError> {
		let expected = self.block_number.saturating_add(1);
		if block_number != expected {
			return Err(ExecError::NotNext { expected, got: block_number });
		}
		if parent_hash != self.block_hash {
			return Err(ExecError::ParentMismatch { expected: self.block_hash, got: parent_hash });
		}
		let mut receipts = Vec::with_capacity(calls.len());
		let (mut applied, mut skipped) = (0u32, 0u32);
		for (index, bytes) in calls.iter().enumerate() {
			let opened = open_call(key, &self.genesis_hash, bytes);
			receipts.push((blake2_256(bytes), opened.is_ok()));
			match opened {
				Ok(call) => {
					self.state.apply(call);
					applied = applied.saturating_add(1);
				},
				Err(error) => {
					tracing::debug!(block_number, index, %error, "skipped a shielded call");
					skipped = skipped.saturating_add(1);
				},
			}
		}
		self.state_hash = next_state_hash(&self.state_hash, block_number, &block_hash, &receipts);
		self.block_number = block_number;
		self.block_hash = block_hash;
		self.applied_total = self.applied_total.saturating_add(u64::from(applied));
		self.skipped_total = self.skipped_total.saturating_add(u64::from(skipped));
		Ok(BlockOutcome { applied, skipped, state_hash: self.state_hash })
	}

	/// [`STATE_VERSION`] followed by the SCALE encoding: the `state` payload of a snapshot.
	pub fn to_bytes(&self) -> Vec<u8> {
		let mut out = Vec::with_capacity(1 + self.encoded_size());
		out.push(STATE_VERSION);
		self.encode_to(&mut out);
		out
	}

	/// Inverse of [`Self::to_bytes`]; refuses other versions and trailing bytes.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, ExecError> {
		let (&version, mut rest) =
			bytes.split_first().ok_or_else(|| ExecError::MalformedState("empty".into()))?;
		if version != STATE_VERSION {
			return Err(ExecError::UnsupportedStateVersion(version));
		}
		let state =
			Self::decode(&mut rest).map_err(|e| ExecError::MalformedState(e.to_string()))?;
		if !rest.is_empty() {
			return Err(ExecError::TrailingStateBytes(rest.len()));
		}
		Ok(state)
	}

	/// Decodes a snapshot's state and checks it is the state the snapshot is labelled with.
	pub fn from_snapshot(snapshot: &Snapshot) -> Result<Self, ExecError> {
		let state = Self::from_bytes(&snapshot.state)?;
		if state.block_number != snapshot.block_number {
			return Err(ExecError::SnapshotBlockMismatch {
				snapshot: snapshot.block_number,
				state: state.block_number,
			});
		}
		if state.state_hash != snapshot.state_hash {
			return Err(ExecError::SnapshotHashMismatch);
		}
		Ok(state)
	}

	/// Writes this state as the store's latest snapshot, encrypted with `state_key`.
	pub fn write_to(
		&self,
		store: &Store,
		state_key: &StateKey,
		written_by: &Measurement,
	) -> Result<(), StoreError> {
		let bytes = Zeroizing::new(self.to_bytes());
		store.write_snapshot(state_key, written_by, self.block_number, &self.state_hash, &bytes)
	}
}

impl fmt::Debug for ExecutedState {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("ExecutedState")
			.field("genesis_hash", &hex::encode(self.genesis_hash))
			.field("block_number", &self.block_number)
			.field("block_hash", &hex::encode(self.block_hash))
			.field("state_hash", &hex::encode(self.state_hash))
			.field("applied_total", &self.applied_total)
			.field("skipped_total", &self.skipped_total)
			.field("state", &self.state)
			.finish()
	}
}

fn next_state_hash(
	previous: &[u8; 32],
	block_number: u64,
	block_hash: &[u8; 32],
	receipts: &[([u8; 32], bool)],
) -> [u8; 32] {
	let mut preimage = Vec::with_capacity(STATE_TAG.len() + 32 + 8 + 32 + 5 + 33 * receipts.len());
	preimage.extend_from_slice(STATE_TAG);
	preimage.extend_from_slice(previous);
	preimage.extend_from_slice(&block_number.to_le_bytes());
	preimage.extend_from_slice(block_hash);
	receipts.encode_to(&mut preimage);
	blake2_256(&preimage)
}

/// The reference execution: every block from genesis, in order, as `(number, parent_hash,
/// block_hash, calls)`. A worker that executed the same blocks, across any number of
/// upgrades, must hold exactly this state.
pub fn replay(
	genesis_hash: [u8; 32],
	key: &ShieldingKey,
	blocks: impl IntoIterator<Item = (u64, [u8; 32], [u8; 32], Vec<Vec<u8>>)>,
) -> Result<ExecutedState, ExecError> {
	let mut state = ExecutedState::genesis(genesis_hash);
	for (number, parent_hash, block_hash, calls) in blocks {
		state.apply_block(key, number, parent_hash, block_hash, &calls)?;
	}
	Ok(state)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::keys::KeyMaterial;

	const GENESIS: [u8; 32] = [0x11; 32];
	const SECRET: &[u8] = b"s3cr3t-value";

	fn put(key: &[u8], value: &[u8]) -> ShieldedCall {
		ShieldedCall::Put { key: key.to_vec(), value: value.to_vec() }
	}

	fn increment(key: &[u8], by: u64) -> ShieldedCall {
		ShieldedCall::Increment { key: key.to_vec(), by }
	}

	fn seal(key: &ShieldingKey, call: &ShieldedCall) -> Vec<u8> {
		seal_call(&key.public_key(), &GENESIS, call)
	}

	/// A block hash that differs per block number and fork.
	fn hash(number: u64, fork: u8) -> [u8; 32] {
		let mut out = [fork; 32];
		out[..8].copy_from_slice(&number.to_le_bytes());
		out
	}

	#[test]
	fn every_call_kind_round_trips() {
		let key = ShieldingKey::generate();
		for call in [
			put(b"name", SECRET),
			put(&[7; MAX_KEY_LEN], &[9; MAX_VALUE_LEN]),
			put(b"", b""),
			ShieldedCall::Delete { key: b"name".to_vec() },
			increment(b"visits", 3),
			increment(&[1; MAX_KEY_LEN], u64::MAX),
		] {
			let sealed = seal(&key, &call);
			assert!(sealed.len() <= 1 + 32 + 2 + MAX_CIPHERTEXT_LEN);
			assert_eq!(open_call(&key, &GENESIS, &sealed), Ok(call.clone()));
			// Fresh ephemeral key per seal: equal calls are not linkable.
			assert_ne!(seal(&key, &call), sealed);
		}
	}

	#[test]
	fn wrong_key_and_other_chain_do_not_decrypt() {
		let key = ShieldingKey::generate();
		let sealed = seal(&key, &put(b"k", SECRET));
		assert_eq!(
			open_call(&ShieldingKey::generate(), &GENESIS, &sealed),
			Err(CallError::Decrypt)
		);
		assert_eq!(open_call(&key, &[0x22; 32], &sealed), Err(CallError::Decrypt));
		let other_chain = seal_call(&key.public_key(), &[0x22; 32], &put(b"k", SECRET));
		assert_eq!(open_call(&key, &GENESIS, &other_chain), Err(CallError::Decrypt));
		assert!(open_call(&key, &[0x22; 32], &other_chain).is_ok());
	}

	#[test]
	fn tampered_envelopes_are_refused() {
		let key = ShieldingKey::generate();
		let sealed = seal(&key, &put(b"k", SECRET));
		let envelope = ShieldedEnvelope::decode_all(&mut &sealed[..]).unwrap();
		// Byte 0 is the version, 1..33 the encapsulated key, then the compact length.
		for index in [1, 16, 32, sealed.len() - 20, sealed.len() - 1] {
			let mut tampered = sealed.clone();
			tampered[index] ^= 0x01;
			assert_eq!(
				open_call(&key, &GENESIS, &tampered),
				Err(CallError::Decrypt),
				"byte {index}"
			);
		}
		// A low-order encapsulated key is refused too (all-zero shared secret).
		let low_order = ShieldedEnvelope { encapped_key: [0; 32], ..envelope.clone() }.encode();
		assert_eq!(open_call(&key, &GENESIS, &low_order), Err(CallError::Decrypt));
		let short = ShieldedEnvelope {
			ciphertext: envelope.ciphertext[..envelope.ciphertext.len() - 1].to_vec(),
			..envelope.clone()
		};
		assert_eq!(open_call(&key, &GENESIS, &short.encode()), Err(CallError::Decrypt));

		for cut in [0, 1, 20, 33, 34, sealed.len() - 1] {
			let expected = CallError::Malformed;
			assert_eq!(open_call(&key, &GENESIS, &sealed[..cut]), Err(expected), "cut at {cut}");
		}
		let mut trailing = sealed.clone();
		trailing.push(0);
		assert_eq!(open_call(&key, &GENESIS, &trailing), Err(CallError::Malformed));

		for version in [0u8, 2, 0xff] {
			let mut other = sealed.clone();
			other[0] = version;
			assert_eq!(
				open_call(&key, &GENESIS, &other),
				Err(CallError::UnsupportedVersion(version))
			);
		}
	}

	/// Seals arbitrary plaintext bytes as if they were a call.
	fn seal_raw(key: &ShieldingKey, plaintext: &[u8]) -> Vec<u8> {
		let recipient = <Kem as hpke::Kem>::PublicKey::from_bytes(&key.public_key()).unwrap();
		let (encapped, ciphertext) = hpke::single_shot_seal::<Aead, Kdf, Kem>(
			&hpke::OpModeS::Base,
			&recipient,
			&call_info(&GENESIS),
			plaintext,
			&[],
		)
		.unwrap();
		let encapped_key = encapped.to_bytes().into();
		ShieldedEnvelope { version: ENVELOPE_VERSION, encapped_key, ciphertext }.encode()
	}

	#[test]
	fn garbage_plaintext_and_oversize_calls_are_refused() {
		let key = ShieldingKey::generate();
		for garbage in [&b""[..], b"\x07", b"\x00\x10ab", SECRET] {
			assert_eq!(
				open_call(&key, &GENESIS, &seal_raw(&key, garbage)),
				Err(CallError::BadPlaintext)
			);
		}
		let mut trailing = increment(b"k", 1).encode();
		trailing.push(0);
		assert_eq!(
			open_call(&key, &GENESIS, &seal_raw(&key, &trailing)),
			Err(CallError::BadPlaintext)
		);

		for call in [
			put(&[0; MAX_KEY_LEN + 1], b"v"),
			put(b"k", &[0; MAX_VALUE_LEN + 1]),
			ShieldedCall::Delete { key: vec![0; MAX_KEY_LEN + 1] },
			increment(&[0; MAX_KEY_LEN + 1], 1),
			put(&[0; 10_000], &[0; 100_000]),
		] {
			assert_eq!(call.check_bounds(), Err(CallError::TooLarge));
			assert_eq!(open_call(&key, &GENESIS, &seal(&key, &call)), Err(CallError::TooLarge));
		}
	}

	#[test]
	fn low_order_recipient_is_an_error_not_a_panic() {
		assert_eq!(try_seal_call(&[0; 32], &GENESIS, &increment(b"k", 1)), Err(InvalidRecipient));
	}

	#[test]
	fn debug_shows_no_plaintext() {
		let key = ShieldingKey::generate();
		let secret = std::str::from_utf8(SECRET).unwrap();
		let secret_key = b"s3cr3t-key".to_vec();
		let calls = [
			ShieldedCall::Put { key: secret_key.clone(), value: SECRET.to_vec() },
			ShieldedCall::Delete { key: secret_key.clone() },
			ShieldedCall::Increment { key: secret_key.clone(), by: 424242 },
		];
		let mut state = ExecutedState::genesis(GENESIS);
		let sealed: Vec<_> = calls.iter().map(|c| seal(&key, c)).collect();
		state.apply_block(&key, 1, GENESIS, hash(1, 0), &sealed[..1]).unwrap();
		state.apply_block(&key, 2, hash(1, 0), hash(2, 0), &sealed[2..]).unwrap();
		let mut texts: Vec<String> = calls.iter().map(|c| format!("{c:?}")).collect();
		texts.push(format!("{:?}", state.state));
		texts.push(format!("{:#?}", state));
		for text in texts {
			for needle in [secret, "s3cr3t-key", "424242", &format!("{SECRET:?}")] {
				assert!(!text.contains(needle), "{needle} in {text}");
			}
		}
		assert_eq!(format!("{:?}", calls[0]), "Put { key_len: 10 }");
		assert_eq!(format!("{:?}", state.state), "DemoState { entries: 1, counters: 1 }");
	}

	#[test]
	fn apply_block_applies_valid_calls_and_counts_skipped_ones() {
		let key = ShieldingKey::generate();
		let mut state = ExecutedState::genesis(GENESIS);
		let calls = vec![
			seal(&key, &put(b"a", b"1")),
			b"garbage".to_vec(),
			seal(&ShieldingKey::generate(), &put(b"b", b"2")),
			seal(&key, &increment(b"n", 5)),
			seal(&key, &put(&[0; MAX_KEY_LEN + 1], b"big")),
			Vec::new(),
		];
		let outcome = state.apply_block(&key, 1, GENESIS, hash(1, 0), &calls).unwrap();
		assert_eq!((outcome.applied, outcome.skipped), (2, 4));
		assert_eq!(outcome.state_hash, state.state_hash);
		assert_eq!((state.block_number, state.block_hash), (1, hash(1, 0)));
		assert_eq!((state.applied_total, state.skipped_total), (2, 4));
		assert_eq!(state.state.entries.get(&b"a"[..]), Some(&b"1".to_vec()));
		assert_eq!(state.state.entries.len(), 1);
		assert_eq!(state.state.counter(b"n"), 5);

		// The same increment in two blocks counts twice: double execution is visible.
		let again = vec![seal(&key, &increment(b"n", 5))];
		state.apply_block(&key, 2, hash(1, 0), hash(2, 0), &again).unwrap();
		state.apply_block(&key, 3, hash(2, 0), hash(3, 0), &again).unwrap();
		assert_eq!(state.state.counter(b"n"), 15);
		state
			.apply_block(&key, 4, hash(3, 0), hash(4, 0), &[seal(&key, &increment(b"n", u64::MAX))])
			.unwrap();
		assert_eq!(state.state.counter(b"n"), u64::MAX);
		assert_eq!(state.state.counter(b"missing"), 0);

		// Delete removes the value and the counter.
		let delete = |k: &[u8]| seal(&key, &ShieldedCall::Delete { key: k.to_vec() });
		state.apply_block(&key, 5, hash(4, 0), hash(5, 0), &[delete(b"a"), delete(b"n")]).unwrap();
		assert_eq!(state.state, DemoState::default());
		assert_eq!((state.applied_total, state.skipped_total), (7, 4));
	}

	#[test]
	fn wrong_blocks_leave_the_state_unchanged() {
		let key = ShieldingKey::generate();
		let mut state = ExecutedState::genesis(GENESIS);
		let calls = vec![seal(&key, &increment(b"n", 1))];
		state.apply_block(&key, 1, GENESIS, hash(1, 0), &calls).unwrap();
		let before = state.clone();
		for (number, expected_error) in [
			(1, ExecError::NotNext { expected: 2, got: 1 }),
			(3, ExecError::NotNext { expected: 2, got: 3 }),
			(0, ExecError::NotNext { expected: 2, got: 0 }),
		] {
			assert_eq!(
				state.apply_block(&key, number, hash(1, 0), hash(number, 0), &calls),
				Err(expected_error)
			);
			assert_eq!(state, before);
		}
		assert_eq!(
			state.apply_block(&key, 2, hash(1, 9), hash(2, 9), &calls),
			Err(ExecError::ParentMismatch { expected: hash(1, 0), got: hash(1, 9) })
		);
		assert_eq!(state, before);
		let genesis = ExecutedState::genesis(GENESIS);
		assert_eq!(
			genesis.clone().apply_block(&key, 1, [0; 32], hash(1, 0), &calls),
			Err(ExecError::ParentMismatch { expected: GENESIS, got: [0; 32] })
		);
	}

	#[test]
	fn state_hash_follows_the_public_inputs() {
		let key = ShieldingKey::generate();
		let genesis = ExecutedState::genesis(GENESIS);
		assert_eq!(
			genesis.state_hash,
			blake2_256(&[b"enclave-update/state/genesis/v1".as_slice(), &GENESIS].concat())
		);
		assert_ne!(ExecutedState::genesis([0x22; 32]).state_hash, genesis.state_hash);
		let a = seal(&key, &put(b"a", b"1"));
		let b = seal(&key, &increment(b"b", 1));
		let garbage = b"not a call".to_vec();
		let run = |block_hash: [u8; 32], calls: &[Vec<u8>]| {
			let mut state = genesis.clone();
			state.apply_block(&key, 1, GENESIS, block_hash, calls).unwrap().state_hash
		};
		let base = run(hash(1, 0), &[a.clone(), b.clone()]);
		// The documented formula, recomputed here from public data only.
		let receipts = vec![(blake2_256(&a), true), (blake2_256(&b), true)];
		let mut preimage = b"enclave-update/state/v1".to_vec();
		preimage.extend_from_slice(&genesis.state_hash);
		preimage.extend_from_slice(&1u64.to_le_bytes());
		preimage.extend_from_slice(&hash(1, 0));
		preimage.extend_from_slice(&receipts.encode());
		assert_eq!(base, blake2_256(&preimage));

		assert_ne!(run(hash(1, 0), &[b.clone(), a.clone()]), base, "order of calls");
		assert_ne!(run(hash(1, 7), &[a.clone(), b.clone()]), base, "block hash");
		assert_ne!(run(hash(1, 0), std::slice::from_ref(&a)), base, "set of calls");
		assert_ne!(run(hash(1, 0), &[a.clone(), b.clone(), garbage]), base, "skipped calls");
		// Same bytes, but applied by one key and skipped by another: the flags differ.
		let mut other = genesis.clone();
		let skipped = other
			.apply_block(&ShieldingKey::generate(), 1, GENESIS, hash(1, 0), &[a.clone(), b.clone()])
			.unwrap();
		assert_eq!((skipped.applied, skipped.skipped), (0, 2));
		assert_ne!(skipped.state_hash, base, "which calls were applied");
		// The hash chains: block 2 depends on block 1's hash.
		let mut x = genesis.clone();
		let mut y = genesis.clone();
		x.apply_block(&key, 1, GENESIS, hash(1, 0), std::slice::from_ref(&a)).unwrap();
		y.apply_block(&key, 1, GENESIS, hash(1, 0), std::slice::from_ref(&b)).unwrap();
		let x2 = x.apply_block(&key, 2, hash(1, 0), hash(2, 0), &[]).unwrap();
		let y2 = y.apply_block(&key, 2, hash(1, 0), hash(2, 0), &[]).unwrap();
		assert_ne!(x2.state_hash, y2.state_hash);
	}

	fn sample_state(key: &ShieldingKey) -> ExecutedState {
		let mut state = ExecutedState::genesis(GENESIS);
		let calls = vec![
			seal(key, &put(b"name", SECRET)),
			seal(key, &increment(b"n", 7)),
			b"junk".to_vec(),
		];
		state.apply_block(key, 1, GENESIS, hash(1, 0), &calls).unwrap();
		state
	}

	#[test]
	fn bytes_round_trip_and_refuse_other_versions_and_trailing_bytes() {
		let key = ShieldingKey::generate();
		let state = sample_state(&key);
		let bytes = state.to_bytes();
		assert_eq!(bytes[0], STATE_VERSION);
		assert_eq!(ExecutedState::from_bytes(&bytes), Ok(state.clone()));
		assert_eq!(state.to_bytes(), bytes, "deterministic");

		let mut other_version = bytes.clone();
		other_version[0] = 2;
		assert_eq!(
			ExecutedState::from_bytes(&other_version),
			Err(ExecError::UnsupportedStateVersion(2))
		);
		let mut trailing = bytes.clone();
		trailing.extend_from_slice(b"xy");
		assert_eq!(ExecutedState::from_bytes(&trailing), Err(ExecError::TrailingStateBytes(2)));
		assert!(matches!(
			ExecutedState::from_bytes(&bytes[..bytes.len() - 1]),
			Err(ExecError::MalformedState(_))
		));
		assert!(matches!(ExecutedState::from_bytes(&[]), Err(ExecError::MalformedState(_))));
	}

	#[test]
	fn snapshot_round_trips_through_a_store() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		let keys = KeyMaterial::generate();
		let writer = Measurement::MrEnclave([0xaa; 32]);
		let state = sample_state(&keys.shielding);
		state.write_to(&store, &keys.state, &writer).unwrap();

		// A successor holding a provisioned copy of the state key reads it back.
		let provisioned = KeyMaterial::from_plaintext(&keys.to_plaintext()).unwrap();
		let (snapshot, _) = store.read_snapshot(&provisioned.state).unwrap();
		assert_eq!((snapshot.block_number, snapshot.state_hash), (1, state.state_hash));
		assert_eq!(snapshot.written_by, writer);
		assert_eq!(ExecutedState::from_snapshot(&snapshot), Ok(state.clone()));
		// The file holds no plaintext.
		let file = std::fs::read(store.snapshot_path()).unwrap();
		assert!(!file.windows(SECRET.len()).any(|w| w == SECRET));

		let relabelled = Snapshot { block_number: 2, ..snapshot.clone() };
		assert_eq!(
			ExecutedState::from_snapshot(&relabelled),
			Err(ExecError::SnapshotBlockMismatch { snapshot: 2, state: 1 })
		);
		let rehashed = Snapshot { state_hash: [0; 32], ..snapshot.clone() };
		assert_eq!(ExecutedState::from_snapshot(&rehashed), Err(ExecError::SnapshotHashMismatch));
		let mut bad_version = snapshot.clone();
		bad_version.state[0] = 9;
		assert_eq!(
			ExecutedState::from_snapshot(&bad_version),
			Err(ExecError::UnsupportedStateVersion(9))
		);
	}

	#[test]
	fn replay_equals_stepwise_execution() {
		let key = ShieldingKey::generate();
		let other = ShieldingKey::generate();
		let mut blocks = Vec::new();
		let mut parent = GENESIS;
		for number in 1..=20u64 {
			let mut calls = Vec::new();
			for i in 0..(number % 4) {
				let slot = [b'k', (number % 5) as u8, i as u8];
				calls.push(seal(&key, &increment(&slot, number)));
				calls.push(seal(&key, &put(&slot, &number.to_le_bytes())));
			}
			if number % 3 == 0 {
				calls.push(seal(&other, &increment(b"x", 1)));
				calls.push(seal(&key, &ShieldedCall::Delete { key: vec![b'k', 0, 0] }));
			}
			let block_hash = hash(number, 0);
			blocks.push((number, parent, block_hash, calls));
			parent = block_hash;
		}
		let mut stepwise = ExecutedState::genesis(GENESIS);
		for (number, parent, block_hash, calls) in &blocks {
			stepwise.apply_block(&key, *number, *parent, *block_hash, calls).unwrap();
		}
		let replayed = replay(GENESIS, &key, blocks.clone()).unwrap();
		assert_eq!(replayed, stepwise);
		assert_eq!(replayed.block_number, 20);
		assert_eq!(replayed.skipped_total, 6);

		// Resuming from a snapshot in the middle gives the same end state.
		let (first, second) = blocks.split_at(8);
		let middle = replay(GENESIS, &key, first.to_vec()).unwrap();
		let mut resumed = ExecutedState::from_bytes(&middle.to_bytes()).unwrap();
		for (number, parent, block_hash, calls) in second {
			resumed.apply_block(&key, *number, *parent, *block_hash, calls).unwrap();
		}
		assert_eq!(resumed, stepwise);

		// A gap is refused.
		let mut gapped = blocks.clone();
		gapped.remove(4);
		assert_eq!(replay(GENESIS, &key, gapped), Err(ExecError::NotNext { expected: 5, got: 6 }));
	}
}
