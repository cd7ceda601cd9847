use assert_matches::assert_matches;
use codec::{DecodeAll, Encode};
use hpke::{Deserializable, Serializable};
use sp_crypto_hashing::blake2_256;

use super::{call::*, *};
use crate::{
	keys::{KeyMaterial, ShieldingKey},
	store::{Snapshot, Store},
	Measurement,
};

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
	assert_eq!(open_call(&ShieldingKey::generate(), &GENESIS, &sealed), Err(CallError::Decrypt));
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
		assert_eq!(open_call(&key, &GENESIS, &tampered), Err(CallError::Decrypt), "byte {index}");
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
		assert_eq!(open_call(&key, &GENESIS, &other), Err(CallError::UnsupportedVersion(version)));
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
	assert_eq!(open_call(&key, &GENESIS, &seal_raw(&key, &trailing)), Err(CallError::BadPlaintext));

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
	state
		.apply_block(&key, 5, hash(4, 0), hash(5, 0), &[delete(b"a"), delete(b"n")])
		.unwrap();
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
	let calls =
		vec![seal(key, &put(b"name", SECRET)), seal(key, &increment(b"n", 7)), b"junk".to_vec()];
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
	assert_matches!(
		ExecutedState::from_bytes(&bytes[..bytes.len() - 1]),
		Err(ExecError::MalformedState(_))
	);
	assert_matches!(ExecutedState::from_bytes(&[]), Err(ExecError::MalformedState(_)));
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
