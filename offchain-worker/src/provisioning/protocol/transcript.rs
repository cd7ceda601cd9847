//! The transcript hash both sides compute, and the report data both quotes bind.

use codec::Encode;
use enclave_update_primitives::Allowed;
use sha2::{Digest, Sha512};

use super::{Challenge, ChallengeRequest, KeyRequest, KeyResponse};
use crate::chain::BlockNumber;

/// Domain tag of the requester's report data.
pub const REQUEST_REPORT_DATA_TAG: &[u8] = b"enclave-update/provisioning/request/v1";
/// Domain tag of the provider's report data.
pub const RESPONSE_REPORT_DATA_TAG: &[u8] = b"enclave-update/provisioning/response/v1";
/// Domain tag of the transcript hash and the seal context.
pub const TRANSCRIPT_TAG: &[u8] = b"enclave-update/provisioning/transcript/v1";

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
