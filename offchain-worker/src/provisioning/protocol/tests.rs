use assert_matches::assert_matches;
use codec::Encode;
use enclave_update_primitives::{Allowed, Denied, Measurement};

use super::*;
use crate::provisioning::error::WireError;

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
		assert_matches!(Message::decode_frame(&bytes), Err(WireError::Malformed(_)));
	}
	assert_matches!(Message::decode_frame(&[99]), Err(WireError::Malformed(_)));
	assert_matches!(Message::decode_frame(&[]), Err(WireError::Malformed(_)));
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
fn report_data_is_bound_to_every_input() {
	let base = request_report_data(&[1; 32], &[2; 32], &[3; 32]);
	assert_ne!(base, request_report_data(&[9; 32], &[2; 32], &[3; 32]));
	assert_ne!(base, request_report_data(&[1; 32], &[9; 32], &[3; 32]));
	assert_ne!(base, request_report_data(&[1; 32], &[2; 32], &[9; 32]));
	assert_ne!(response_report_data(&[1; 64]), response_report_data(&[2; 64]));
}
