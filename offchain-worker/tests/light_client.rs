//! The GRANDPA light client on its own: honest chains are followed across authority-set
//! changes, and each attack a host can mount with what it has (headers it builds, keys of its
//! own, justifications replayed from elsewhere) is refused with its own error, changing nothing.

mod support;

use assert_matches::assert_matches;
use enclave_worker::chain::{
	grandpa::{FinalityError, LightClient},
	rpc::Header,
};
use sp_core::{ed25519, H256};
use sp_runtime::{traits::Header as _, Digest};
use std::collections::BTreeMap;
use support::*;

/// The chain's four authorities (set 0); three of four are a supermajority.
fn set0() -> Vec<ed25519::Pair> {
	keys(&[1, 2, 3, 4])
}

/// The next set's authorities.
fn set1() -> Vec<ed25519::Pair> {
	keys(&[11, 12, 13, 14])
}

fn genesis() -> Header {
	Header::new(0, H256::zero(), H256::repeat_byte(0x5e), H256::zero(), Digest::default())
}

fn client() -> LightClient {
	LightClient::from_checkpoint(genesis(), authority_list(&set0()), 0).unwrap()
}

/// `count` headers after `parent`, with `digests[i]` on the i-th (state roots from `salt`).
fn extend(parent: &Header, count: u32, salt: u8, digests: &[(u32, Digest)]) -> Vec<Header> {
	let mut headers: Vec<Header> = Vec::new();
	for i in 0..count {
		let previous = headers.last().unwrap_or(parent);
		let number = previous.number + 1;
		let digest = digests
			.iter()
			.find(|(at, _)| *at == number)
			.map(|(_, d)| d.clone())
			.unwrap_or_default();
		headers.push(Header::new(
			number,
			H256::zero(),
			H256::repeat_byte(salt.wrapping_add(i as u8)),
			previous.hash(),
			digest,
		));
	}
	headers
}

fn justified(entries: &[(&Header, Vec<u8>)]) -> BTreeMap<H256, Vec<u8>> {
	entries.iter().map(|(header, j)| (header.hash(), j.clone())).collect()
}

/// Imports and expects `error`, with the client unchanged.
fn refused(
	client: &mut LightClient,
	headers: &[Header],
	js: &BTreeMap<H256, Vec<u8>>,
) -> FinalityError {
	let before = client.clone();
	let error = client.import(headers, js).unwrap_err();
	assert_eq!(*client, before, "a refused import changed the client");
	error
}

#[test]
fn a_justified_head_is_believed_with_its_ancestors() {
	let mut client = client();
	let headers = extend(&genesis(), 5, 1, &[]);
	let js = justified(&[(&headers[4], justification(&headers[4], 7, 0, &set0()[..3]))]);
	assert_eq!(client.justifications_needed(&headers).unwrap(), vec![headers[4].hash()]);
	assert!(client.import(&headers, &js).unwrap());
	assert_eq!(client.head(), &headers[4]);
	assert_eq!(client.set_id(), 0);
}

#[test]
fn headers_without_a_justification_are_not_believed() {
	let mut client = client();
	let headers = extend(&genesis(), 3, 1, &[]);
	assert!(!client.import(&headers, &BTreeMap::new()).unwrap());
	assert_eq!(client.head(), &genesis());
}

#[test]
fn a_forged_header_on_the_real_head_signed_by_other_keys_is_refused() {
	let mut client = client();
	let real = extend(&genesis(), 2, 1, &[]);
	client
		.import(&real, &justified(&[(&real[1], justification(&real[1], 1, 0, &set0()))]))
		.unwrap();
	// The host builds a block on the real head with a state root of its own trie, and signs it
	// with keys it has.
	let forged = extend(&real[1], 1, 0xee, &[]);
	let attacker = keys(&[0xa1, 0xa2, 0xa3, 0xa4]);
	let js = justified(&[(&forged[0], justification(&forged[0], 2, 0, &attacker))]);
	let error = refused(&mut client, &forged, &js);
	assert_eq!(error, FinalityError::UnknownAuthority { number: 3, set_id: 0 });
}

#[test]
fn a_minority_of_the_set_does_not_finalize() {
	let mut client = client();
	let headers = extend(&genesis(), 1, 1, &[]);
	let js = justified(&[(&headers[0], justification(&headers[0], 1, 0, &set0()[..2]))]);
	let error = refused(&mut client, &headers, &js);
	assert_eq!(error, FinalityError::NotEnoughVotes { number: 1, set_id: 0 });
}

#[test]
fn a_justification_for_another_set_id_is_refused() {
	let mut client = client();
	let headers = extend(&genesis(), 1, 1, &[]);
	let js = justified(&[(&headers[0], justification(&headers[0], 1, 1, &set0()))]);
	let error = refused(&mut client, &headers, &js);
	assert_eq!(error, FinalityError::OtherSetId { number: 1, tracked: 0, signed_for: 1 });
}

#[test]
fn a_justification_of_another_block_is_refused() {
	let mut client = client();
	let headers = extend(&genesis(), 2, 1, &[]);
	// The justification of block 1 handed in as block 2's.
	let js = justified(&[(&headers[1], justification(&headers[0], 1, 0, &set0()))]);
	let error = refused(&mut client, &headers, &js);
	assert_eq!(error, FinalityError::WrongTarget { number: 2 });
}

#[test]
fn garbage_is_malformed() {
	let mut client = client();
	let headers = extend(&genesis(), 1, 1, &[]);
	let js = justified(&[(&headers[0], vec![1, 2, 3])]);
	assert_matches!(
		refused(&mut client, &headers, &js),
		FinalityError::Malformed { number: 1, .. }
	);
}

#[test]
fn an_unfinalized_fork_is_refused() {
	let mut client = client();
	let real = extend(&genesis(), 2, 1, &[]);
	client
		.import(&real, &justified(&[(&real[1], justification(&real[1], 1, 0, &set0()))]))
		.unwrap();
	// A fork from block 1: it does not descend from the verified head 2.
	let fork = extend(&real[0], 2, 0x40, &[]);
	let js = justified(&[(&fork[1], justification(&fork[1], 2, 0, &set0()))]);
	assert_eq!(refused(&mut client, &fork, &js), FinalityError::NotDescendant { number: 2 });
	// Headers that skip a block do not link either.
	let gap = extend(&real[1], 3, 0x50, &[]);
	let js = justified(&[(&gap[2], justification(&gap[2], 2, 0, &set0()))]);
	assert_eq!(refused(&mut client, &gap[1..], &js), FinalityError::NotDescendant { number: 4 });
}

#[test]
fn an_authority_set_change_is_followed() {
	let mut client = client();
	// Block 3 signals the change to set 1 with delay 0: it is the last block of set 0.
	let headers = extend(&genesis(), 6, 1, &[(3, scheduled_change(&set1(), 0))]);
	assert_eq!(
		client.justifications_needed(&headers).unwrap(),
		vec![headers[2].hash(), headers[5].hash()]
	);
	let js = justified(&[
		(&headers[2], justification(&headers[2], 4, 0, &set0()[1..])),
		(&headers[5], justification(&headers[5], 1, 1, &set1()[..3])),
	]);
	assert!(client.import(&headers, &js).unwrap());
	assert_eq!(client.head(), &headers[5]);
	assert_eq!(client.set_id(), 1);
	assert_eq!(client.authorities(), &authority_list(&set1()));

	// The outgoing set no longer finalizes anything.
	let more = extend(&headers[5], 1, 0x70, &[]);
	let js = justified(&[(&more[0], justification(&more[0], 2, 1, &set0()))]);
	assert_eq!(
		refused(&mut client, &more, &js),
		FinalityError::UnknownAuthority { number: 7, set_id: 1 }
	);
}

#[test]
fn a_delayed_change_takes_effect_at_its_enacting_block_also_across_imports() {
	let mut client = client();
	// Block 2 signals a change enacted at block 4.
	let first = extend(&genesis(), 3, 1, &[(2, scheduled_change(&set1(), 2))]);
	let js = justified(&[(&first[2], justification(&first[2], 1, 0, &set0()))]);
	assert!(client.import(&first, &js).unwrap());
	assert_eq!(client.pending_change().map(|p| p.enacted_at), Some(4));
	// The state survives sealing.
	let mut client = LightClient::decode_state(&client.encode_state()).unwrap();

	let second = extend(&first[2], 3, 0x30, &[]);
	assert_eq!(
		client.justifications_needed(&second).unwrap(),
		vec![second[0].hash(), second[2].hash()]
	);
	let js = justified(&[
		(&second[0], justification(&second[0], 2, 0, &set0())),
		(&second[2], justification(&second[2], 1, 1, &set1())),
	]);
	assert!(client.import(&second, &js).unwrap());
	assert_eq!((client.head().number, client.set_id()), (6, 1));
	assert!(client.pending_change().is_none());
}

#[test]
fn a_skipped_set_change_is_refused() {
	let mut client = client();
	let headers = extend(&genesis(), 6, 1, &[(3, scheduled_change(&set1(), 0))]);
	// The host withholds the justification of the enacting block 3 and offers only the head,
	// justified by the new set.
	let js = justified(&[(&headers[5], justification(&headers[5], 1, 1, &set1()))]);
	assert_eq!(refused(&mut client, &headers, &js), FinalityError::SkippedSetChange { number: 3 });
}

#[test]
fn a_set_it_made_up_is_refused() {
	let mut client = client();
	// The host signals a change to its own keys in a header it built on the real head, and
	// justifies it with them.
	let attacker = keys(&[0xa1, 0xa2, 0xa3]);
	let headers = extend(&genesis(), 2, 1, &[(1, scheduled_change(&attacker, 0))]);
	let js = justified(&[
		(&headers[0], justification(&headers[0], 1, 0, &attacker)),
		(&headers[1], justification(&headers[1], 1, 1, &attacker)),
	]);
	assert_eq!(
		refused(&mut client, &headers, &js),
		FinalityError::UnknownAuthority { number: 1, set_id: 0 }
	);
}

#[test]
fn a_forced_change_is_refused() {
	let mut client = client();
	let headers = extend(&genesis(), 2, 1, &[(2, forced_change(&set1()))]);
	let js = justified(&[(&headers[1], justification(&headers[1], 1, 0, &set0()))]);
	assert_eq!(refused(&mut client, &headers, &js), FinalityError::ForcedChange { number: 2 });
}

#[test]
fn the_checkpoint_and_the_sealed_state_are_checked() {
	let not_genesis = extend(&genesis(), 1, 1, &[]).remove(0);
	assert_matches!(
		LightClient::from_checkpoint(not_genesis, authority_list(&set0()), 0),
		Err(FinalityError::BadCheckpoint(_))
	);
	assert_matches!(
		LightClient::from_checkpoint(genesis(), Vec::new(), 0),
		Err(FinalityError::BadCheckpoint(_))
	);
	let client = client();
	assert_eq!(LightClient::decode_state(&client.encode_state()).unwrap(), client);
	let mut other_version = client.encode_state();
	other_version[0] = 9;
	assert_matches!(LightClient::decode_state(&other_version), Err(FinalityError::BadState(_)));
	assert_matches!(LightClient::decode_state(&[]), Err(FinalityError::BadState(_)));
	assert_eq!(client.genesis_hash(), genesis().hash().0);
}
