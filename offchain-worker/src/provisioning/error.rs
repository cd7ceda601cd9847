//! The typed refusals of both sides of the hand-over.
//!
//! Nothing here carries key material: the variants hold measurements, checksums, block
//! numbers and the peers' error texts only.

use std::time::Duration;

use enclave_update_primitives::{Denied, Measurement};

use super::protocol::{Message, RefusalReason};
use crate::{
	attestation::AttestationError,
	chain::ChainError,
	keys::{KeyChecksum, KeyError},
	store::StoreError,
	tee::TeeError,
};

/// How an exchange with the peer failed below its own side's checks: the peer could not be
/// reached, the transport, framing, decoding or a timeout failed, the peer refused, or it sent
/// another message than the protocol's next one. The provider, the requester and the snapshot
/// fetch share it.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
	/// The peer could not be reached.
	#[error("cannot connect to the provider at {addr}: {source}")]
	Connect {
		/// The peer's address.
		addr: String,
		/// The underlying error.
		#[source]
		source: std::io::Error,
	},
	/// Reading or writing the socket failed.
	#[error("connection I/O: {0}")]
	Io(#[from] std::io::Error),
	/// The peer did not send (or take) a frame in time.
	#[error("timed out after {timeout:?} while {step}")]
	Timeout {
		/// What was awaited.
		step: &'static str,
		/// The timeout in force.
		timeout: Duration,
	},
	/// The peer closed the connection.
	#[error("the peer closed the connection while {step}")]
	Closed {
		/// What was awaited.
		step: &'static str,
	},
	/// The peer announced a frame longer than the maximum frame length.
	#[error("frame exceeds the maximum frame length")]
	FrameTooLarge,
	/// A frame is not one SCALE-encoded message.
	#[error("malformed message: {0}")]
	Malformed(String),
	/// A message arrived out of order.
	#[error("expected {expected}, got {got}")]
	UnexpectedMessage {
		/// The awaited message.
		expected: &'static str,
		/// The message received.
		got: &'static str,
	},
	/// The peer ended the exchange with a refusal.
	#[error("the peer refused: {0}")]
	Refused(RefusalReason),
}

impl WireError {
	/// The error for a message `got` that came where `expected` was awaited: the peer's
	/// refusal, if it is one.
	pub(super) fn unexpected(expected: &'static str, got: Message) -> Self {
		match got {
			Message::Refused { reason } => Self::Refused(reason),
			other => Self::UnexpectedMessage { expected, got: other.name() },
		}
	}

	/// What to tell the peer, if anything (not after a transport failure, nor to a peer that
	/// refused).
	fn refusal(&self) -> Option<RefusalReason> {
		match self {
			Self::FrameTooLarge => Some(RefusalReason::FrameTooLarge),
			Self::Malformed(_) => Some(RefusalReason::Malformed),
			Self::UnexpectedMessage { .. } => Some(RefusalReason::UnexpectedMessage),
			Self::Connect { .. }
			| Self::Io(_)
			| Self::Timeout { .. }
			| Self::Closed { .. }
			| Self::Refused(_) => None,
		}
	}
}

/// What to tell the peer when no verified chain view could be had: a host that served data
/// failing verification is told apart from a node that is merely unreachable.
fn chain_refusal(error: &ChainError) -> RefusalReason {
	match error {
		ChainError::Proof(_)
		| ChainError::Finality(_)
		| ChainError::HeaderHashMismatch
		| ChainError::StaleView { .. } => RefusalReason::ChainViewRejected,
		ChainError::WrongGenesis
		| ChainError::UnknownBlock
		| ChainError::NotAncestor
		| ChainError::Progress(_)
		| ChainError::MissingChainIdentity
		| ChainError::ChainIdentityOfOtherKeys { .. }
		| ChainError::Rpc(_) => RefusalReason::ChainUnavailable,
	}
}

/// Why a nonce was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
	/// Not issued on this connection (or forgotten long ago).
	#[error("unknown nonce (not issued on this connection)")]
	Unknown,
	/// Issued, but its time to live is over: the quote is bound to a stale challenge.
	#[error("expired nonce (stale challenge)")]
	Expired,
	/// Already used by an earlier key request.
	#[error("replayed nonce")]
	Replayed,
	/// By the verified chain's time, more than the challenge's time to live passed between the
	/// challenge and the key request: the evidence is bound to a stale challenge.
	#[error("stale challenge: {elapsed_ms} ms of chain time passed since it was issued (time to live {ttl_ms} ms)")]
	StaleByChainTime {
		/// Chain time between the challenge and the key request.
		elapsed_ms: u64,
		/// The challenge's time to live.
		ttl_ms: u64,
	},
}

impl From<NonceError> for RefusalReason {
	fn from(value: NonceError) -> Self {
		match value {
			NonceError::Unknown => Self::NonceUnknown,
			NonceError::Expired | NonceError::StaleByChainTime { .. } => Self::NonceExpired,
			NonceError::Replayed => Self::NonceReplayed,
		}
	}
}

/// Why the provider did not hand its keys over.
#[derive(Debug, thiserror::Error)]
pub enum ProvideError {
	/// The exchange with the requester failed, or the requester refused.
	#[error(transparent)]
	Wire(#[from] WireError),
	/// The requester speaks another protocol version.
	#[error("unsupported protocol version {requested} (this provider speaks {supported})")]
	UnsupportedVersion {
		/// The requested version.
		requested: u16,
		/// The version this build speaks.
		supported: u16,
	},
	/// The requester follows another chain.
	#[error("the requester follows another chain (genesis hash mismatch)")]
	WrongGenesis,
	/// Too many challenges are outstanding.
	#[error("too many outstanding challenges")]
	TooManyChallenges,
	/// The nonce of the key request was refused.
	#[error(transparent)]
	Nonce(#[from] NonceError),
	/// The requester's evidence was refused.
	#[error("requester evidence refused: {0}")]
	Attestation(#[from] AttestationError),
	/// The requester's quote does not bind its ephemeral key, the nonce and the chain.
	#[error("the requester's quote does not bind this handshake (report data mismatch)")]
	TranscriptMismatch,
	/// The verified chain view denies the hand-over.
	#[error("denied by the verified schedule: {0}")]
	Denied(Denied),
	/// No verified chain view could be had.
	#[error("no verified chain view: {0}")]
	Chain(#[from] ChainError),
	/// This provider holds no keys to hand over.
	#[error("this provider holds no keys")]
	NoKeys,
	/// This provider's keys are not the chain's key set (`EnclaveRegistry::KeySet` at the
	/// verified block): it was initialised apart from the chain's enclaves, and its keys are
	/// worthless to a successor.
	#[error("this provider's keys {held} are not the chain's key set {chain}")]
	NotTheChainsKeySet {
		/// The checksum the registry holds.
		chain: KeyChecksum,
		/// The checksum of the provider's keys.
		held: KeyChecksum,
	},
	/// This provider has no state snapshot to hand out (none written yet, or no store).
	#[error("this provider has no state snapshot")]
	NoSnapshot,
	/// The TEE failed (identity or quote).
	#[error("TEE: {0}")]
	Tee(#[from] TeeError),
	/// HPKE sealing failed (e.g. the requester's ephemeral key is a low-order point).
	#[error("sealing the keys to the requester's ephemeral key failed: {0}")]
	Seal(String),
	/// The requester acknowledged other keys than the ones sent.
	#[error("the requester acknowledged another key checksum")]
	AckMismatch,
	/// An internal task failed.
	#[error("internal error: {0}")]
	Internal(String),
}

impl ProvideError {
	/// What to tell the requester before closing, if anything.
	pub fn refusal(&self) -> Option<RefusalReason> {
		Some(match self {
			Self::Wire(e) => return e.refusal(),
			Self::UnsupportedVersion { supported, .. } => {
				RefusalReason::UnsupportedVersion { supported: *supported }
			},
			Self::WrongGenesis => RefusalReason::WrongGenesis,
			Self::TooManyChallenges => RefusalReason::TooManyChallenges,
			Self::Nonce(e) => (*e).into(),
			Self::Attestation(e) => RefusalReason::attestation(e),
			Self::TranscriptMismatch => RefusalReason::TranscriptMismatch,
			Self::Denied(d) => RefusalReason::Denied(*d),
			Self::Chain(e) => chain_refusal(e),
			Self::NoKeys => RefusalReason::ProviderHasNoKeys,
			Self::NotTheChainsKeySet { .. } => RefusalReason::NotTheChainsKeySet,
			Self::NoSnapshot => RefusalReason::NoSnapshot,
			Self::Seal(_) => RefusalReason::Malformed,
			Self::AckMismatch => RefusalReason::ChecksumMismatch,
			Self::Tee(_) | Self::Internal(_) => RefusalReason::Internal,
		})
	}
}

/// Why the requester did not obtain (or did not store) the keys. Nothing was written to its
/// store unless the error says so.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
	/// The provider could not be reached, the exchange failed, or the provider refused.
	#[error(transparent)]
	Wire(#[from] WireError),
	/// The provider answered in another protocol version.
	#[error("the provider speaks protocol version {offered}, this requester {supported}")]
	UnsupportedVersion {
		/// The provider's version.
		offered: u16,
		/// This build's version.
		supported: u16,
	},
	/// The provider's evidence was refused.
	#[error("provider evidence refused: {0}")]
	Attestation(#[from] AttestationError),
	/// The provider's quote does not bind this handshake's transcript (a message or a response
	/// field was altered, or the quote belongs to another handshake).
	#[error("the provider's quote does not bind this handshake's transcript")]
	TranscriptMismatch,
	/// The provider's quote proves another measurement than it claimed in its challenge.
	#[error("the provider claimed {claimed} but its quote proves {attested}")]
	ProviderMeasurementMismatch {
		/// The measurement in the challenge.
		claimed: Measurement,
		/// The measurement the quote proves.
		attested: Measurement,
	},
	/// This requester's own verified chain view does not allow the provider to hand keys to it.
	#[error("the provider is not authorized by this requester's verified schedule: {0}")]
	ProviderNotAuthorized(Denied),
	/// The sealed keys did not decrypt.
	#[error("the sealed keys did not decrypt (tampered ciphertext or wrong context)")]
	Decrypt,
	/// The decrypted key material is malformed.
	#[error("received key material is malformed: {0}")]
	KeyMaterial(#[from] KeyError),
	/// The keys do not match the checksum the provider announced.
	#[error("received keys have checksum {got}, the provider announced {expected}")]
	ChecksumMismatch {
		/// The announced checksum.
		expected: KeyChecksum,
		/// The received keys' checksum.
		got: KeyChecksum,
	},
	/// The received keys are not the chain's key set: their checksum differs from
	/// `EnclaveRegistry::KeySet` at the requester's own verified block. Nothing was stored.
	#[error("received keys {got} are not the chain's key set {chain} (EnclaveRegistry::KeySet)")]
	NotTheChainsKeySet {
		/// The checksum the registry holds.
		chain: KeyChecksum,
		/// The received keys' checksum.
		got: KeyChecksum,
	},
	/// This requester already holds other keys and was not told to replace them.
	#[error("this enclave already holds keys {held}; refusing to replace them with {offered} (set replace_existing_keys to replace; the old keys are kept as the .prev copy)")]
	KeysDiffer {
		/// The checksum of the keys held.
		held: KeyChecksum,
		/// The checksum of the keys offered.
		offered: KeyChecksum,
	},
	/// The requester's store failed (reading existing keys, or sealing the new ones).
	#[error("store: {0}")]
	Store(#[from] StoreError),
	/// The TEE failed (identity, quote or sealing key).
	#[error("TEE: {0}")]
	Tee(#[from] TeeError),
	/// No verified chain view could be had.
	#[error("no verified chain view: {0}")]
	Chain(#[from] ChainError),
	/// The provider's view is of another chain than this requester's.
	#[error("the chain view changed genesis during the hand-over")]
	WrongGenesis,
	/// An internal task failed.
	#[error("internal error: {0}")]
	Internal(String),
}

impl RequestError {
	/// What to tell the provider before closing, if anything.
	pub fn refusal(&self) -> Option<RefusalReason> {
		Some(match self {
			Self::Wire(e) => return e.refusal(),
			Self::UnsupportedVersion { supported, .. } => {
				RefusalReason::UnsupportedVersion { supported: *supported }
			},
			Self::Attestation(e) => RefusalReason::attestation(e),
			Self::TranscriptMismatch | Self::ProviderMeasurementMismatch { .. } => {
				RefusalReason::TranscriptMismatch
			},
			Self::ProviderNotAuthorized(d) => RefusalReason::ProviderNotAuthorized(*d),
			Self::Decrypt => RefusalReason::DecryptionFailed,
			Self::KeyMaterial(_) => RefusalReason::Malformed,
			Self::ChecksumMismatch { .. } => RefusalReason::ChecksumMismatch,
			Self::NotTheChainsKeySet { .. } => RefusalReason::NotTheChainsKeySet,
			Self::KeysDiffer { .. } => RefusalReason::KeysDiffer,
			Self::Chain(e) => chain_refusal(e),
			Self::WrongGenesis => RefusalReason::WrongGenesis,
			Self::Store(_) | Self::Tee(_) | Self::Internal(_) => RefusalReason::Internal,
		})
	}
}
