//! The wire format of the provisioning protocol: messages, framing, the transcript hash, the
//! report data both quotes bind, and the HPKE sealing of the key material.
//!
//! ## Framing
//! Every message is one frame: a `u32` big-endian length, then that many bytes holding one
//! SCALE-encoded [`Message`] (nothing may follow it inside the frame). A frame longer than the
//! configured maximum ([`DEFAULT_MAX_FRAME_LEN`]) is refused before it is read.
//!
//! ## Transcript
//! [`Transcript`] is the one definition both sides use. With `‖` concatenation and `SCALE(x)`
//! the SCALE encoding of `x`:
//!
//! ```text
//! prefix        = TRANSCRIPT_TAG ‖ stage ‖ SCALE(ChallengeRequest) ‖ SCALE(Challenge) ‖ SCALE(KeyRequest)
//!                 ‖ SCALE(decided_at_block, decided_at_hash, reason, key_checksum)
//! seal_context  = SHA-512(prefix with stage = 1)
//! transcript    = SHA-512(prefix with stage = 2 ‖ SCALE(encapsulated_key, ciphertext))
//! ```
//!
//! `seal_context` is the HPKE `info` and `aad`: the ciphertext only opens in this handshake.
//! `transcript` covers every message and every field of the [`KeyResponse`] except the
//! provider's quote, which binds it: its report data is [`response_report_data`]. Binding the
//! ciphertext matters: HPKE's base mode does not authenticate the sender, so without it a
//! man in the middle could substitute key material of its own.
//!
//! The requester's quote binds [`request_report_data`] (its ephemeral key, the provider's
//! nonce and the chain), so the provider knows the ephemeral key belongs to the attested
//! enclave and the quote was made for this challenge.

use std::{fmt, time::Duration};

use bytes::Bytes;
use codec::{Decode, DecodeAll, Encode};
use enclave_update_primitives::{Allowed, Denied, Measurement};
use futures::{SinkExt, StreamExt};
use hpke::{Deserializable, Kem as _, Serializable};
use sha2::{Digest, Sha512};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{Framed, LengthDelimitedCodec, LengthDelimitedCodecError};
use zeroize::Zeroizing;

use super::error::WireError;
use crate::chain::BlockNumber;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;
/// Default maximum frame length: DCAP quotes with their PCK chains are 5–10 KiB.
pub const DEFAULT_MAX_FRAME_LEN: usize = 64 * 1024;
/// The longest snapshot answer accepted by default: a 1 GiB state plus the file's framing.
pub const DEFAULT_MAX_SNAPSHOT_LEN: usize = (1 << 30) + 4096;
/// Domain tag of the requester's report data.
pub const REQUEST_REPORT_DATA_TAG: &[u8] = b"enclave-update/provisioning/request/v1";
/// Domain tag of the provider's report data.
pub const RESPONSE_REPORT_DATA_TAG: &[u8] = b"enclave-update/provisioning/response/v1";
/// Domain tag of the transcript hash and the seal context.
pub const TRANSCRIPT_TAG: &[u8] = b"enclave-update/provisioning/transcript/v1";
/// Longest text a refusal carries (attestation error messages are short; this bounds them).
const MAX_REFUSAL_TEXT: usize = 512;

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::ChaCha20Poly1305;

/// Step 1, requester → provider: "I want keys, for this chain, in this protocol version".
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ChallengeRequest {
	/// The protocol version the requester speaks.
	pub version: u16,
	/// The genesis hash of the chain the requester follows.
	pub genesis_hash: [u8; 32],
}

/// Step 1, provider → requester: a fresh single-use nonce to bind the requester's quote to.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Challenge {
	/// The protocol version the provider speaks (equal to the request's).
	pub version: u16,
	/// Fresh random, single-use.
	pub nonce: [u8; 32],
	/// The measurement the provider claims; its quote must prove it later.
	pub provider_measurement: Measurement,
	/// How long the nonce is valid, in milliseconds.
	pub ttl_ms: u32,
}

/// Step 2, requester → provider: the ephemeral HPKE key and the quote binding it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct KeyRequest {
	/// The provider's nonce.
	pub nonce: [u8; 32],
	/// X25519 public key the keys are to be sealed to.
	pub ephemeral_public: [u8; 32],
	/// The requester's quote over [`request_report_data`].
	pub evidence: Vec<u8>,
}

/// Step 3, provider → requester: the decision, the sealed keys and the provider's quote.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct KeyResponse {
	/// The verified block the provider decided at.
	pub decided_at_block: BlockNumber,
	/// Its hash.
	pub decided_at_hash: [u8; 32],
	/// Why the provider may hand the keys over.
	pub reason: Allowed<BlockNumber>,
	/// HPKE encapsulated key.
	pub encapsulated_key: [u8; 32],
	/// HPKE ciphertext of [`crate::keys::KeyMaterial::to_plaintext`].
	pub ciphertext: Vec<u8>,
	/// [`crate::keys::KeyMaterial::checksum`] of the sealed keys.
	pub key_checksum: [u8; 32],
	/// The provider's quote over [`response_report_data`] of the transcript.
	pub provider_evidence: Vec<u8>,
}

/// Step 4, requester → provider: the keys are stored.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Ack {
	/// The checksum of the keys the requester stored.
	pub key_checksum: [u8; 32],
}

/// Snapshot transfer, requester → provider: "send your latest state snapshot". The answer is
/// the snapshot file as the provider's store writes it: encrypted and authenticated with the
/// state key, so only enclaves that were handed the keys can read it, and none can alter it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SnapshotRequest {
	/// The protocol version the requester speaks.
	pub version: u16,
	/// The genesis hash of the chain the requester follows.
	pub genesis_hash: [u8; 32],
}

/// Snapshot transfer, provider → requester.
#[derive(Clone, PartialEq, Eq, Encode, Decode)]
pub struct SnapshotResponse {
	/// The block the snapshot is the state after (also inside the authenticated file).
	pub block_number: u64,
	/// The encrypted snapshot file ([`crate::store::encode_snapshot`]).
	pub file: Vec<u8>,
}

impl fmt::Debug for SnapshotResponse {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("SnapshotResponse")
			.field("block_number", &self.block_number)
			.field("file_len", &self.file.len())
			.finish()
	}
}

/// Why a peer ended the handshake; sent in [`Message::Refused`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum RefusalReason {
	/// The protocol version is not spoken by the refusing side.
	#[codec(index = 0)]
	UnsupportedVersion {
		/// The version the refusing side speaks.
		supported: u16,
	},
	/// The peer is on another chain.
	#[codec(index = 1)]
	WrongGenesis,
	/// The provider has too many outstanding challenges; retry later.
	#[codec(index = 2)]
	TooManyChallenges,
	/// The nonce was not issued on this connection.
	#[codec(index = 3)]
	NonceUnknown,
	/// The nonce expired.
	#[codec(index = 4)]
	NonceExpired,
	/// The nonce was already used.
	#[codec(index = 5)]
	NonceReplayed,
	/// The peer's evidence was refused (the refusing side's attestation error).
	#[codec(index = 6)]
	Attestation(String),
	/// The peer's quote does not bind this handshake's transcript.
	#[codec(index = 7)]
	TranscriptMismatch,
	/// The provider's chain view denies the requester.
	#[codec(index = 8)]
	Denied(Denied),
	/// The requester's chain view does not authorize the provider.
	#[codec(index = 9)]
	ProviderNotAuthorized(Denied),
	/// The refusing side has no verified chain view: its node is unreachable, does not know
	/// the block, or follows another chain. Retrying later may help.
	#[codec(index = 10)]
	ChainUnavailable,
	/// The provider holds no keys.
	#[codec(index = 11)]
	ProviderHasNoKeys,
	/// A frame could not be decoded, or a field is invalid.
	#[codec(index = 12)]
	Malformed,
	/// A frame exceeded the maximum length.
	#[codec(index = 13)]
	FrameTooLarge,
	/// A message arrived out of order.
	#[codec(index = 14)]
	UnexpectedMessage,
	/// The sealed keys did not decrypt.
	#[codec(index = 15)]
	DecryptionFailed,
	/// The keys do not match the announced checksum.
	#[codec(index = 16)]
	ChecksumMismatch,
	/// The requester already holds other keys and was not told to replace them.
	#[codec(index = 17)]
	KeysDiffer,
	/// An internal failure of the refusing side (details in its log).
	#[codec(index = 18)]
	Internal,
	/// The provider has no state snapshot to hand out (yet).
	#[codec(index = 19)]
	NoSnapshot,
	/// The refusing side's host served chain data that failed verification: a storage proof
	/// that does not check against the accepted state root, a header that does not hash to
	/// its block, or a view older than one already verified. Its host lies or is broken, so
	/// retrying against it will not help, unlike [`Self::ChainUnavailable`].
	#[codec(index = 20)]
	ChainViewRejected,
}

impl RefusalReason {
	/// An attestation refusal, its text bounded.
	pub fn attestation(error: &impl fmt::Display) -> Self {
		let mut text = error.to_string();
		if text.len() > MAX_REFUSAL_TEXT {
			let mut end = MAX_REFUSAL_TEXT;
			while !text.is_char_boundary(end) {
				end -= 1;
			}
			text.truncate(end);
		}
		Self::Attestation(text)
	}
}

impl fmt::Display for RefusalReason {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			Self::UnsupportedVersion { supported } => {
				write!(f, "unsupported protocol version (peer speaks {supported})")
			},
			Self::WrongGenesis => f.write_str("wrong genesis hash (another chain)"),
			Self::TooManyChallenges => f.write_str("too many outstanding challenges"),
			Self::NonceUnknown => f.write_str("unknown nonce"),
			Self::NonceExpired => f.write_str("expired nonce"),
			Self::NonceReplayed => f.write_str("replayed nonce"),
			Self::Attestation(text) => write!(f, "evidence refused: {text}"),
			Self::TranscriptMismatch => f.write_str("quote does not bind this handshake"),
			Self::Denied(d) => write!(f, "denied by the provider's chain view: {d}"),
			Self::ProviderNotAuthorized(d) => {
				write!(f, "provider not authorized by the requester's chain view: {d}")
			},
			Self::ChainUnavailable => f.write_str("no verified chain view"),
			Self::ProviderHasNoKeys => f.write_str("the provider holds no keys"),
			Self::Malformed => f.write_str("malformed message"),
			Self::FrameTooLarge => f.write_str("frame too large"),
			Self::UnexpectedMessage => f.write_str("unexpected message"),
			Self::DecryptionFailed => f.write_str("sealed keys did not decrypt"),
			Self::ChecksumMismatch => f.write_str("key checksum mismatch"),
			Self::KeysDiffer => f.write_str("the requester already holds other keys"),
			Self::Internal => f.write_str("internal error"),
			Self::NoSnapshot => f.write_str("the provider has no state snapshot"),
			Self::ChainViewRejected => f.write_str(
				"the chain data from its host failed verification (storage proof, header or rollback)",
			),
		}
	}
}

/// One protocol message (one frame).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Message {
	/// See [`ChallengeRequest`].
	#[codec(index = 0)]
	ChallengeRequest(ChallengeRequest),
	/// See [`Challenge`].
	#[codec(index = 1)]
	Challenge(Challenge),
	/// See [`KeyRequest`].
	#[codec(index = 2)]
	KeyRequest(KeyRequest),
	/// See [`KeyResponse`].
	#[codec(index = 3)]
	KeyResponse(KeyResponse),
	/// See [`Ack`].
	#[codec(index = 4)]
	Ack(Ack),
	/// The sender ends the handshake.
	#[codec(index = 5)]
	Refused {
		/// Why.
		reason: RefusalReason,
	},
	/// See [`SnapshotRequest`].
	#[codec(index = 6)]
	SnapshotRequest(SnapshotRequest),
	/// See [`SnapshotResponse`].
	#[codec(index = 7)]
	SnapshotResponse(SnapshotResponse),
}

impl Message {
	/// The message's name, for errors and logs.
	pub fn name(&self) -> &'static str {
		match self {
			Self::ChallengeRequest(_) => "ChallengeRequest",
			Self::Challenge(_) => "Challenge",
			Self::KeyRequest(_) => "KeyRequest",
			Self::KeyResponse(_) => "KeyResponse",
			Self::Ack(_) => "Ack",
			Self::Refused { .. } => "Refused",
			Self::SnapshotRequest(_) => "SnapshotRequest",
			Self::SnapshotResponse(_) => "SnapshotResponse",
		}
	}

	/// Decodes one frame's payload; trailing bytes are an error.
	pub fn decode_frame(bytes: &[u8]) -> Result<Self, WireError> {
		Self::decode_all(&mut &bytes[..]).map_err(|e| WireError::Malformed(e.to_string()))
	}
}

/// A framed connection with per-read and per-write timeouts.
pub struct Connection<T> {
	framed: Framed<T, LengthDelimitedCodec>,
	timeout: Duration,
}

/// The length-delimited codec of the protocol: `u32` big-endian lengths, at most
/// `max_frame_len` bytes.
pub fn codec(max_frame_len: usize) -> LengthDelimitedCodec {
	LengthDelimitedCodec::builder()
		.big_endian()
		.length_field_type::<u32>()
		.max_frame_length(max_frame_len)
		.new_codec()
}

impl<T: AsyncRead + AsyncWrite + Unpin> Connection<T> {
	/// Wraps `io`; every read and write must finish within `timeout`.
	pub fn new(io: T, max_frame_len: usize, timeout: Duration) -> Self {
		Self { framed: Framed::new(io, codec(max_frame_len)), timeout }
	}

	/// Changes the longest frame accepted (and sent) from now on: a snapshot answer is far
	/// larger than the handshake's messages.
	pub fn set_max_frame_len(&mut self, max_frame_len: usize) {
		self.framed.codec_mut().set_max_frame_length(max_frame_len);
	}

	/// Sends one message.
	pub async fn send(&mut self, message: &Message) -> Result<(), WireError> {
		let bytes = Bytes::from(message.encode());
		match tokio::time::timeout(self.timeout, self.framed.send(bytes)).await {
			Ok(result) => result.map_err(map_codec_error),
			Err(_) => Err(WireError::Timeout { step: "sending", timeout: self.timeout }),
		}
	}

	/// Receives one message; `step` names what is awaited, for errors.
	pub async fn recv(&mut self, step: &'static str) -> Result<Message, WireError> {
		match tokio::time::timeout(self.timeout, self.framed.next()).await {
			Err(_) => Err(WireError::Timeout { step, timeout: self.timeout }),
			Ok(None) => Err(WireError::Closed { step }),
			Ok(Some(Err(e))) => Err(map_codec_error(e)),
			Ok(Some(Ok(frame))) => Message::decode_frame(&frame),
		}
	}

	/// Sends a refusal, best effort: the connection ends anyway.
	pub async fn refuse(&mut self, reason: RefusalReason) {
		if let Err(e) = self.send(&Message::Refused { reason }).await {
			tracing::debug!(error = %e, "could not send the refusal to the peer");
		}
	}
}

fn map_codec_error(error: std::io::Error) -> WireError {
	let too_large = error
		.get_ref()
		.is_some_and(|inner| inner.downcast_ref::<LengthDelimitedCodecError>().is_some());
	if too_large {
		WireError::FrameTooLarge
	} else {
		WireError::Io(error)
	}
}

/// The report data of the requester's quote:
/// `SHA-512(REQUEST_REPORT_DATA_TAG ‖ ephemeral_public ‖ nonce ‖ genesis_hash)`.
pub fn request_report_data(
	ephemeral_public: &[u8; 32],
	nonce: &[u8; 32],
	genesis_hash: &[u8; 32],
) -> [u8; 64] {
	let mut hasher = Sha512::new();
	hasher.update(REQUEST_REPORT_DATA_TAG);
	hasher.update(ephemeral_public);
	hasher.update(nonce);
	hasher.update(genesis_hash);
	hasher.finalize().into()
}

/// The report data of the provider's quote: `SHA-512(RESPONSE_REPORT_DATA_TAG ‖ transcript)`.
pub fn response_report_data(transcript: &[u8; 64]) -> [u8; 64] {
	let mut hasher = Sha512::new();
	hasher.update(RESPONSE_REPORT_DATA_TAG);
	hasher.update(transcript);
	hasher.finalize().into()
}

/// The handshake transcript (see the module docs for the definition).
#[derive(Clone)]
pub struct Transcript {
	messages: Vec<u8>,
}

const STAGE_SEAL: u8 = 1;
const STAGE_RESPONSE: u8 = 2;

impl Transcript {
	/// The transcript of the three messages before the response.
	pub fn new(
		request: &ChallengeRequest,
		challenge: &Challenge,
		key_request: &KeyRequest,
	) -> Self {
		let mut messages = Vec::new();
		request.encode_to(&mut messages);
		challenge.encode_to(&mut messages);
		key_request.encode_to(&mut messages);
		Self { messages }
	}

	fn digest(
		&self,
		stage: u8,
		decided_at_block: BlockNumber,
		decided_at_hash: &[u8; 32],
		reason: &Allowed<BlockNumber>,
		key_checksum: &[u8; 32],
		sealed: Option<(&[u8; 32], &[u8])>,
	) -> [u8; 64] {
		let mut hasher = Sha512::new();
		hasher.update(TRANSCRIPT_TAG);
		hasher.update([stage]);
		hasher.update(&self.messages);
		(decided_at_block, decided_at_hash, reason, key_checksum)
			.using_encoded(|bytes| hasher.update(bytes));
		if let Some(sealed) = sealed {
			sealed.using_encoded(|bytes| hasher.update(bytes));
		}
		hasher.finalize().into()
	}

	/// The HPKE `info` and `aad` of the sealed keys.
	pub fn seal_context(
		&self,
		decided_at_block: BlockNumber,
		decided_at_hash: &[u8; 32],
		reason: &Allowed<BlockNumber>,
		key_checksum: &[u8; 32],
	) -> [u8; 64] {
		self.digest(STAGE_SEAL, decided_at_block, decided_at_hash, reason, key_checksum, None)
	}

	/// The transcript hash over everything up to and including `response` (without its
	/// `provider_evidence`, which binds this hash).
	pub fn response_hash(&self, response: &KeyResponse) -> [u8; 64] {
		self.digest(
			STAGE_RESPONSE,
			response.decided_at_block,
			&response.decided_at_hash,
			&response.reason,
			&response.key_checksum,
			Some((&response.encapsulated_key, &response.ciphertext)),
		)
	}
}

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

	fn sample() -> (ChallengeRequest, Challenge, KeyRequest, KeyResponse) {
		let request = ChallengeRequest { version: PROTOCOL_VERSION, genesis_hash: [1; 32] };
		let challenge = Challenge {
			version: PROTOCOL_VERSION,
			nonce: [2; 32],
			provider_measurement: Measurement::MrEnclave([3; 32]),
			ttl_ms: 60_000,
		};
		let key_request =
			KeyRequest { nonce: [2; 32], ephemeral_public: [4; 32], evidence: vec![5; 100] };
		let response = KeyResponse {
			decided_at_block: 7,
			decided_at_hash: [8; 32],
			reason: Allowed::Replication,
			encapsulated_key: [9; 32],
			ciphertext: vec![10; 81],
			key_checksum: [11; 32],
			provider_evidence: vec![12; 100],
		};
		(request, challenge, key_request, response)
	}

	#[test]
	fn messages_round_trip_and_trailing_bytes_are_refused() {
		let (request, challenge, key_request, response) = sample();
		for message in [
			Message::ChallengeRequest(request),
			Message::Challenge(challenge),
			Message::KeyRequest(key_request),
			Message::KeyResponse(response),
			Message::Ack(Ack { key_checksum: [1; 32] }),
			Message::Refused { reason: RefusalReason::Denied(Denied::RequesterRetired) },
		] {
			let mut bytes = message.encode();
			assert_eq!(Message::decode_frame(&bytes).unwrap(), message);
			bytes.push(0);
			assert!(matches!(Message::decode_frame(&bytes), Err(WireError::Malformed(_))));
		}
		assert!(matches!(Message::decode_frame(&[99]), Err(WireError::Malformed(_))));
		assert!(matches!(Message::decode_frame(&[]), Err(WireError::Malformed(_))));
	}

	#[test]
	fn transcript_covers_every_response_field_but_the_evidence() {
		let (request, challenge, key_request, response) = sample();
		let transcript = Transcript::new(&request, &challenge, &key_request);
		let hash = transcript.response_hash(&response);
		let mut changed = response.clone();
		changed.provider_evidence.push(0);
		assert_eq!(transcript.response_hash(&changed), hash);
		type Change = Box<dyn Fn(&mut KeyResponse)>;
		let variants: Vec<Change> = vec![
			Box::new(|r| r.decided_at_block += 1),
			Box::new(|r| r.decided_at_hash[0] ^= 1),
			Box::new(|r| r.reason = Allowed::PredecessorToActive),
			Box::new(|r| r.encapsulated_key[0] ^= 1),
			Box::new(|r| r.ciphertext[0] ^= 1),
			Box::new(|r| r.key_checksum[0] ^= 1),
		];
		for change in variants {
			let mut changed = response.clone();
			change(&mut changed);
			assert_ne!(transcript.response_hash(&changed), hash);
		}
		let mut other_challenge = challenge.clone();
		other_challenge.nonce[0] ^= 1;
		assert_ne!(
			Transcript::new(&request, &other_challenge, &key_request).response_hash(&response),
			hash
		);
		// The seal context and the transcript are domain separated.
		let context = transcript.seal_context(
			response.decided_at_block,
			&response.decided_at_hash,
			&response.reason,
			&response.key_checksum,
		);
		assert_ne!(context, hash);
	}

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

	#[test]
	fn report_data_is_bound_to_every_input() {
		let base = request_report_data(&[1; 32], &[2; 32], &[3; 32]);
		assert_ne!(base, request_report_data(&[9; 32], &[2; 32], &[3; 32]));
		assert_ne!(base, request_report_data(&[1; 32], &[9; 32], &[3; 32]));
		assert_ne!(base, request_report_data(&[1; 32], &[2; 32], &[9; 32]));
		assert_ne!(response_report_data(&[1; 64]), response_report_data(&[2; 64]));
	}
}
