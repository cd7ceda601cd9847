use crate::{mock::*, *};
use codec::{Decode, Encode};
use frame_support::{assert_noop, assert_ok, traits::Hooks, BoundedVec};
use sp_crypto_hashing::twox_128;
use sp_runtime::DispatchError;

type E = Error<Test>;

const ALICE: u64 = 1;
const BOB: u64 = 2;

fn signed(who: u64) -> RuntimeOrigin {
	RuntimeOrigin::signed(who)
}

fn ciphertext(bytes: &[u8]) -> Ciphertext<Test> {
	BoundedVec::try_from(bytes.to_vec()).expect("short enough")
}

fn calls() -> Vec<Vec<u8>> {
	Calls::<Test>::get().into_iter().map(|c| c.into_inner()).collect()
}

fn events() -> Vec<Event<Test>> {
	System::read_events_for_pallet()
}

#[test]
fn submit_appends_and_emits_an_event() {
	build_and_execute(|| {
		assert_ok!(ShieldedInbox::submit(signed(ALICE), ciphertext(b"sealed")));
		assert_eq!(calls(), vec![b"sealed".to_vec()]);
		assert_eq!(TotalSubmitted::<Test>::get(), 1);
		assert_eq!(events(), vec![Event::Submitted { who: ALICE, index: 0, len: 6 }]);
		ShieldedInbox::do_try_state().unwrap();
	});
}

#[test]
fn inclusion_order_is_kept() {
	build_and_execute(|| {
		assert_ok!(ShieldedInbox::submit(signed(BOB), ciphertext(b"first")));
		assert_ok!(ShieldedInbox::submit(signed(ALICE), ciphertext(b"second")));
		assert_ok!(ShieldedInbox::submit(signed(BOB), ciphertext(b"third")));
		assert_eq!(calls(), vec![b"first".to_vec(), b"second".to_vec(), b"third".to_vec()]);
		assert_eq!(
			events(),
			vec![
				Event::Submitted { who: BOB, index: 0, len: 5 },
				Event::Submitted { who: ALICE, index: 1, len: 6 },
				Event::Submitted { who: BOB, index: 2, len: 5 },
			]
		);
	});
}

#[test]
fn a_full_inbox_refuses_more_calls() {
	build_and_execute(|| {
		for i in 0..MAX_CALLS_PER_BLOCK {
			assert_ok!(ShieldedInbox::submit(signed(ALICE), ciphertext(&[i as u8 + 1])));
		}
		assert_noop!(ShieldedInbox::submit(signed(BOB), ciphertext(b"late")), E::InboxFull);
		assert_eq!(Calls::<Test>::get().len() as u32, MAX_CALLS_PER_BLOCK);
		assert_eq!(TotalSubmitted::<Test>::get(), u64::from(MAX_CALLS_PER_BLOCK));
		// The next block has room again.
		next_block();
		assert_ok!(ShieldedInbox::submit(signed(BOB), ciphertext(b"late")));
		assert_eq!(calls(), vec![b"late".to_vec()]);
	});
}

#[test]
fn an_empty_call_is_refused() {
	build_and_execute(|| {
		assert_noop!(ShieldedInbox::submit(signed(ALICE), ciphertext(b"")), E::EmptyCall);
		assert_eq!(TotalSubmitted::<Test>::get(), 0);
	});
}

#[test]
fn a_too_long_ciphertext_cannot_be_constructed_nor_decoded() {
	let too_long = vec![0xcc; MAX_CALL_LEN as usize + 1];
	assert!(Ciphertext::<Test>::try_from(too_long.clone()).is_err());
	// Nor can a transaction carry one: the call does not decode.
	let encoded = (0u8, too_long).encode();
	assert!(Call::<Test>::decode(&mut &encoded[..]).is_err());
	// The longest one does.
	let longest = (0u8, vec![0xcc; MAX_CALL_LEN as usize]).encode();
	assert!(Call::<Test>::decode(&mut &longest[..]).is_ok());
	build_and_execute(|| {
		let longest = vec![0xcc; MAX_CALL_LEN as usize];
		assert_ok!(ShieldedInbox::submit(signed(ALICE), ciphertext(&longest)));
		assert_eq!(calls(), vec![longest]);
	});
}

#[test]
fn root_and_unsigned_origins_are_refused() {
	build_and_execute(|| {
		assert_noop!(
			ShieldedInbox::submit(RuntimeOrigin::root(), ciphertext(b"sealed")),
			DispatchError::BadOrigin
		);
		assert_noop!(
			ShieldedInbox::submit(RuntimeOrigin::none(), ciphertext(b"sealed")),
			DispatchError::BadOrigin
		);
		assert!(calls().is_empty());
	});
}

#[test]
fn the_inbox_is_cleared_at_the_next_block() {
	build_and_execute(|| {
		assert_ok!(ShieldedInbox::submit(signed(ALICE), ciphertext(b"block 1")));
		assert_ok!(ShieldedInbox::submit(signed(BOB), ciphertext(b"block 1 again")));
		assert_eq!(calls().len(), 2);

		System::set_block_number(2);
		assert_eq!(ShieldedInbox::on_initialize(2), <() as WeightInfo>::on_initialize_clear());
		assert!(calls().is_empty());
		// Removed, not stored as an empty vector: the worker proves an absent value.
		assert!(!Calls::<Test>::exists());

		assert_ok!(ShieldedInbox::submit(signed(BOB), ciphertext(b"block 2")));
		assert_eq!(calls(), vec![b"block 2".to_vec()]);
		next_block();
		assert!(calls().is_empty());
		// The total survives the clearing.
		assert_eq!(TotalSubmitted::<Test>::get(), 3);
	});
}

#[test]
fn an_empty_inbox_costs_the_empty_weight() {
	build_and_execute(|| {
		assert_eq!(ShieldedInbox::on_initialize(2), <() as WeightInfo>::on_initialize_empty());
		assert!(!Calls::<Test>::exists());
	});
}

#[test]
fn total_submitted_counts_every_call_ever() {
	build_and_execute(|| {
		for block in 0..4u8 {
			assert_ok!(ShieldedInbox::submit(signed(ALICE), ciphertext(&[block + 1])));
			assert_ok!(ShieldedInbox::submit(signed(BOB), ciphertext(&[block + 1, 0])));
			next_block();
		}
		assert_eq!(TotalSubmitted::<Test>::get(), 8);
		assert!(calls().is_empty());
	});
}

#[test]
fn storage_layout_is_the_one_the_worker_proves() {
	build_and_execute(|| {
		let key = [twox_128(b"ShieldedInbox"), twox_128(b"Calls")].concat();
		assert_eq!(Calls::<Test>::hashed_key().to_vec(), key);
		assert_eq!(sp_io::storage::get(&key), None);

		assert_ok!(ShieldedInbox::submit(signed(ALICE), ciphertext(b"one")));
		assert_ok!(ShieldedInbox::submit(signed(BOB), ciphertext(&[0u8; 16])));
		let raw = sp_io::storage::get(&key).expect("the inbox is stored under that key");
		let decoded = Vec::<Vec<u8>>::decode(&mut &raw[..]).expect("a SCALE Vec<Vec<u8>>");
		assert_eq!(decoded, vec![b"one".to_vec(), vec![0u8; 16]]);
		assert_eq!(raw, decoded.encode());
	});
}

#[test]
fn try_state_catches_a_corrupt_inbox() {
	build_and_execute(|| {
		let key = Calls::<Test>::hashed_key();
		// Longer than MaxCallLen: a bounded read would see an empty inbox.
		sp_io::storage::set(&key, &vec![vec![0u8; MAX_CALL_LEN as usize + 1]].encode());
		TotalSubmitted::<Test>::put(1);
		assert!(ShieldedInbox::do_try_state().is_err());
		sp_io::storage::set(&key, &vec![Vec::<u8>::new()].encode());
		assert!(ShieldedInbox::do_try_state().is_err());
		sp_io::storage::set(&key, &vec![vec![1u8]; MAX_CALLS_PER_BLOCK as usize + 1].encode());
		TotalSubmitted::<Test>::put(u64::from(MAX_CALLS_PER_BLOCK) + 1);
		assert!(ShieldedInbox::do_try_state().is_err());
		sp_io::storage::set(&key, &vec![vec![1u8]; 2].encode());
		TotalSubmitted::<Test>::put(1);
		assert!(ShieldedInbox::do_try_state().is_err());
		TotalSubmitted::<Test>::put(2);
		assert_ok!(ShieldedInbox::do_try_state());
	});
}
