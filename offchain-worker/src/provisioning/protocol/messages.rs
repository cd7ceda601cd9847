//! The messages of the protocol, SCALE encoded, one per frame.

use std::fmt;

use codec::{Decode, DecodeAll, Encode};
use enclave_update_primitives::{Allowed, Denied, Measurement};

use crate::{chain::BlockNumber, provisioning::error::WireError};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;
/// Longest text a refusal carries (attestation error messages are short; this bounds them).
const MAX_REFUSAL_TEXT: usize = 512;

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
	/// The requester's quote over [`request_report_data`](super::request_report_data).
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
	/// The provider's quote over [`response_report_data`](super::response_report_data) of the
	/// transcript.
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
	/// The keys are not the chain's key set: their checksum differs from the one the enclave
	/// registry fixed at the first registration (`EnclaveRegistry::KeySet`). Keys made by a
	/// stray `init` are never handed out nor accepted.
	#[codec(index = 21)]
	NotTheChainsKeySet,
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
			Self::NotTheChainsKeySet => {
				f.write_str("the keys are not the key set the enclave registry holds for this chain")
			},
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
