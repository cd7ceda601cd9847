use crate::{mock::*, *};
use enclave_update_primitives::{Allowed, Decision, Denied};
use frame_support::{
	assert_noop, assert_ok,
	traits::{GetStorageVersion, Hooks, StorageVersion},
	weights::Weight,
	BoundedVec,
};
use sp_runtime::DispatchError;

type E = Error<Test>;

fn root() -> RuntimeOrigin {
	RuntimeOrigin::root()
}

fn council() -> RuntimeOrigin {
	RuntimeOrigin::signed(SECURITY_COUNCIL)
}

fn events() -> Vec<Event<Test>> {
	System::read_events_for_pallet()
}

fn scheduled() -> Vec<(Measurement, u64)> {
	Schedule::<Test>::get()
		.iter()
		.map(|s| (s.measurement, s.activates_at))
		.collect()
}

#[test]
fn genesis_sets_active_enclave() {
	build_and_execute(|| {
		assert_eq!(
			Active::<Test>::get(),
			Some(ActiveEnclave { measurement: m(GENESIS), since: 0 })
		);
		assert!(Schedule::<Test>::get().is_empty());
		assert_eq!(NextActivation::<Test>::get(), None);
		assert_eq!(EnclaveUpdate::on_initialize(1), <() as WeightInfo>::on_initialize_idle());
		EnclaveUpdate::do_try_state(1).unwrap();
	});
}

#[test]
fn genesis_stores_the_current_storage_version() {
	build_and_execute(|| {
		assert_eq!(EnclaveUpdate::in_code_storage_version(), StorageVersion::new(1));
		assert_eq!(
			EnclaveUpdate::on_chain_storage_version(),
			EnclaveUpdate::in_code_storage_version()
		);
	});
}

#[test]
fn schedule_enclave_works() {
	build_and_execute(|| {
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(1), 1 + MIN_LEAD_TIME));
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(2), 20));
		assert_eq!(scheduled(), vec![(m(1), 1 + MIN_LEAD_TIME), (m(2), 20)]);
		assert_eq!(NextActivation::<Test>::get(), Some(1 + MIN_LEAD_TIME));
		assert_eq!(
			events(),
			vec![
				Event::Scheduled { measurement: m(1), activates_at: 1 + MIN_LEAD_TIME },
				Event::Scheduled { measurement: m(2), activates_at: 20 },
			]
		);
		EnclaveUpdate::do_try_state(1).unwrap();
	});
}

#[test]
fn schedule_enclave_requires_schedule_origin() {
	build_and_execute(|| {
		assert_noop!(
			EnclaveUpdate::schedule_enclave(RuntimeOrigin::signed(1), m(1), 10),
			DispatchError::BadOrigin
		);
		// The retire origin is not a schedule origin.
		assert_noop!(
			EnclaveUpdate::schedule_enclave(council(), m(1), 10),
			DispatchError::BadOrigin
		);
		assert_noop!(
			EnclaveUpdate::schedule_enclave(RuntimeOrigin::none(), m(1), 10),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn schedule_enclave_rejects_past_and_too_soon_blocks() {
	build_and_execute(|| {
		run_to_block(10);
		assert_noop!(EnclaveUpdate::schedule_enclave(root(), m(1), 0), E::ActivationBlockInPast);
		assert_noop!(EnclaveUpdate::schedule_enclave(root(), m(1), 9), E::ActivationBlockInPast);
		assert_noop!(EnclaveUpdate::schedule_enclave(root(), m(1), 10), E::ActivationBlockInPast);
		assert_noop!(EnclaveUpdate::schedule_enclave(root(), m(1), 11), E::ActivationTooSoon);
		assert_noop!(
			EnclaveUpdate::schedule_enclave(root(), m(1), 10 + MIN_LEAD_TIME - 1),
			E::ActivationTooSoon
		);
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(1), 10 + MIN_LEAD_TIME));
	});
}

#[test]
fn schedule_enclave_rejects_blocks_not_after_the_last_scheduled() {
	build_and_execute(|| {
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(1), 20));
		assert_noop!(EnclaveUpdate::schedule_enclave(root(), m(2), 20), E::NotAfterLastScheduled);
		assert_noop!(EnclaveUpdate::schedule_enclave(root(), m(2), 19), E::NotAfterLastScheduled);
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(2), 21));
	});
}

#[test]
fn schedule_enclave_rejects_duplicates_active_and_retired() {
	build_and_execute(|| {
		assert_noop!(EnclaveUpdate::schedule_enclave(root(), m(GENESIS), 20), E::AlreadyActive);
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(1), 20));
		assert_noop!(EnclaveUpdate::schedule_enclave(root(), m(1), 30), E::AlreadyScheduled);
		assert_ok!(EnclaveUpdate::retire_enclave(council(), m(9)));
		assert_noop!(EnclaveUpdate::schedule_enclave(root(), m(9), 30), E::MeasurementRetired);
		// Not even after another successor: cancelling that one would leave the active
		// measurement as its own successor.
		assert_noop!(EnclaveUpdate::schedule_enclave(root(), m(GENESIS), 30), E::AlreadyActive);
	});
}

#[test]
fn superseded_measurement_can_be_scheduled_again() {
	build_and_execute(|| {
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(1), 10));
		run_to_block(10);
		// Rolling back to the previous build is a governance choice the pallet allows.
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(GENESIS), 20));
		run_to_block(20);
		assert_eq!(
			Active::<Test>::get(),
			Some(ActiveEnclave { measurement: m(GENESIS), since: 20 })
		);
		assert_eq!(History::<Test>::get().len(), 2);
	});
}

#[test]
fn schedule_enclave_rejects_when_full() {
	build_and_execute(|| {
		for i in 0..MAX_SCHEDULED {
			assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(i as u8), 10 + u64::from(i)));
		}
		assert_noop!(EnclaveUpdate::schedule_enclave(root(), m(0x55), 100), E::ScheduleFull);
	});
}

#[test]
fn cancel_scheduled_works_and_moves_next_activation() {
	build_and_execute(|| {
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(1), 10));
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(2), 20));
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(3), 30));
		assert_ok!(EnclaveUpdate::cancel_scheduled(root(), m(2)));
		assert_eq!(scheduled(), vec![(m(1), 10), (m(3), 30)]);
		assert_eq!(NextActivation::<Test>::get(), Some(10));
		assert_ok!(EnclaveUpdate::cancel_scheduled(root(), m(1)));
		assert_eq!(NextActivation::<Test>::get(), Some(30));
		assert_ok!(EnclaveUpdate::cancel_scheduled(root(), m(3)));
		assert_eq!(NextActivation::<Test>::get(), None);
		assert_eq!(
			events()[3..],
			[
				Event::Canceled { measurement: m(2), activates_at: 20 },
				Event::Canceled { measurement: m(1), activates_at: 10 },
				Event::Canceled { measurement: m(3), activates_at: 30 },
			]
		);
		// Nothing activates at the canceled blocks.
		run_to_block(40);
		assert_eq!(Active::<Test>::get().unwrap().measurement, m(GENESIS));
	});
}

#[test]
fn cancel_scheduled_rejects_bad_input() {
	build_and_execute(|| {
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(1), 10));
		assert_noop!(
			EnclaveUpdate::cancel_scheduled(RuntimeOrigin::signed(1), m(1)),
			DispatchError::BadOrigin
		);
		assert_noop!(EnclaveUpdate::cancel_scheduled(root(), m(2)), E::NotScheduled);
		assert_noop!(EnclaveUpdate::cancel_scheduled(root(), m(GENESIS)), E::AlreadyActive);
		run_to_block(10);
		assert_noop!(EnclaveUpdate::cancel_scheduled(root(), m(1)), E::AlreadyActive);
		assert_noop!(EnclaveUpdate::cancel_scheduled(root(), m(GENESIS)), E::NotScheduled);
	});
}

#[test]
fn retire_enclave_works_for_unscheduled_and_scheduled() {
	build_and_execute(|| {
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(2), 10));
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(3), 20));
		assert_ok!(EnclaveUpdate::retire_enclave(council(), m(9)));
		assert_ok!(EnclaveUpdate::retire_enclave(council(), m(2)));
		assert_eq!(Retired::<Test>::get().into_inner(), vec![m(2), m(9)]);
		assert_eq!(scheduled(), vec![(m(3), 20)]);
		assert_eq!(NextActivation::<Test>::get(), Some(20));
		assert_eq!(
			events()[2..],
			[
				Event::Retired { measurement: m(9), was_scheduled: false },
				Event::Canceled { measurement: m(2), activates_at: 10 },
				Event::Retired { measurement: m(2), was_scheduled: true },
			]
		);
		run_to_block(10);
		assert_eq!(Active::<Test>::get().unwrap().measurement, m(GENESIS));
	});
}

#[test]
fn retire_enclave_rejects_bad_input() {
	build_and_execute(|| {
		assert_noop!(EnclaveUpdate::retire_enclave(root(), m(1)), DispatchError::BadOrigin);
		assert_noop!(
			EnclaveUpdate::retire_enclave(RuntimeOrigin::signed(1), m(1)),
			DispatchError::BadOrigin
		);
		assert_noop!(EnclaveUpdate::retire_enclave(council(), m(GENESIS)), E::CannotRetireActive);
		assert_ok!(EnclaveUpdate::retire_enclave(council(), m(1)));
		assert_noop!(EnclaveUpdate::retire_enclave(council(), m(1)), E::AlreadyRetired);
		for i in 2..=MAX_RETIRED as u8 {
			assert_ok!(EnclaveUpdate::retire_enclave(council(), m(i)));
		}
		assert_noop!(EnclaveUpdate::retire_enclave(council(), m(0x77)), E::RetiredFull);
	});
}

#[test]
fn retired_predecessor_can_be_retired_after_cut_over() {
	build_and_execute(|| {
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(1), 10));
		run_to_block(10);
		assert_ok!(EnclaveUpdate::retire_enclave(council(), m(GENESIS)));
		assert_eq!(
			EnclaveUpdate::provisioning_decision(&m(GENESIS), &m(1)),
			Decision::Denied(Denied::ProviderRetired)
		);
	});
}

#[test]
fn activation_happens_exactly_at_the_scheduled_block() {
	build_and_execute(|| {
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(1), 10));
		run_to_block(9);
		assert_eq!(
			Active::<Test>::get(),
			Some(ActiveEnclave { measurement: m(GENESIS), since: 0 })
		);
		System::reset_events();

		System::set_block_number(10);
		assert_eq!(
			EnclaveUpdate::on_initialize(10),
			<() as WeightInfo>::on_initialize_activation()
		);
		assert_eq!(Active::<Test>::get(), Some(ActiveEnclave { measurement: m(1), since: 10 }));
		assert_eq!(
			History::<Test>::get().into_inner(),
			vec![SupersededEnclave { measurement: m(GENESIS), activated_at: 0, superseded_at: 10 }]
		);
		assert!(Schedule::<Test>::get().is_empty());
		assert_eq!(NextActivation::<Test>::get(), None);
		assert_eq!(
			events(),
			vec![Event::Activated { measurement: m(1), previous: Some(m(GENESIS)) }]
		);
		EnclaveUpdate::do_try_state(10).unwrap();

		// The next block is idle again.
		assert_eq!(EnclaveUpdate::on_initialize(11), <() as WeightInfo>::on_initialize_idle());
	});
}

#[test]
fn consecutive_activations_fill_a_bounded_history() {
	build_and_execute(|| {
		for i in 1..=4u8 {
			assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(i), 10 * u64::from(i)));
		}
		run_to_block(40);
		assert_eq!(Active::<Test>::get(), Some(ActiveEnclave { measurement: m(4), since: 40 }));
		// MAX_HISTORY is 3: the genesis enclave was dropped, the order kept.
		let history: Vec<_> = History::<Test>::get()
			.iter()
			.map(|h| (h.measurement, h.activated_at, h.superseded_at))
			.collect();
		assert_eq!(history, vec![(m(1), 10, 20), (m(2), 20, 30), (m(3), 30, 40)]);
		assert_eq!(EnclaveUpdate::measurement_at(25), Some(m(2)));
		assert_eq!(EnclaveUpdate::measurement_at(5), None);
		assert_eq!(EnclaveUpdate::measurement_at(40), Some(m(4)));
	});
}

#[test]
fn activation_without_a_previous_enclave() {
	ext_with(GenesisConfig { initial_enclave: None, initial_schedule: vec![(m(1), 3)] })
		.execute_with(|| {
			assert_eq!(Active::<Test>::get(), None);
			assert_eq!(NextActivation::<Test>::get(), Some(3));
			assert_eq!(
				EnclaveUpdate::provisioning_decision(&m(1), &m(1)),
				Decision::Denied(Denied::NoActiveEnclave)
			);
			run_to_block(3);
			assert_eq!(Active::<Test>::get(), Some(ActiveEnclave { measurement: m(1), since: 3 }));
			assert!(History::<Test>::get().is_empty());
			assert_eq!(events(), vec![Event::Activated { measurement: m(1), previous: None }]);
		});
}

#[test]
fn overdue_entries_activate_in_order_when_blocks_were_skipped() {
	build_and_execute(|| {
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(1), 10));
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(2), 11));
		System::set_block_number(12);
		assert_eq!(
			EnclaveUpdate::on_initialize(12),
			<() as WeightInfo>::on_initialize_activation().saturating_mul(2)
		);
		assert_eq!(Active::<Test>::get(), Some(ActiveEnclave { measurement: m(2), since: 11 }));
		assert_eq!(History::<Test>::get().len(), 2);
		EnclaveUpdate::do_try_state(12).unwrap();
	});
}

#[test]
fn genesis_schedule_is_validated() {
	let bad = [
		vec![(m(1), 0)],
		vec![(m(1), 5), (m(2), 5)],
		vec![(m(1), 5), (m(1), 6)],
		vec![(m(GENESIS), 5)],
		(0..=MAX_SCHEDULED as u8).map(|i| (m(i), 10 + u64::from(i))).collect(),
	];
	for initial_schedule in bad {
		let genesis = GenesisConfig::<Test> { initial_enclave: Some(m(GENESIS)), initial_schedule };
		let built = std::panic::catch_unwind(|| ext_with(genesis));
		assert!(built.is_err());
	}
}

#[test]
fn decision_over_storage_matches_the_schedule() {
	build_and_execute(|| {
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(1), 10));
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(2), 20));
		let decide = |p, r| EnclaveUpdate::provisioning_decision(&m(p), &m(r));
		assert_eq!(
			decide(GENESIS, 1),
			Decision::Allowed(Allowed::ScheduledSuccessor { activates_at: 10 })
		);
		assert_eq!(decide(GENESIS, 2), Decision::Denied(Denied::RequesterNotNext));
		assert_eq!(decide(GENESIS, 3), Decision::Denied(Denied::RequesterNotScheduled));
		assert_eq!(decide(1, GENESIS), Decision::Denied(Denied::ProviderNotActive));
		run_to_block(10);
		assert_eq!(decide(GENESIS, 1), Decision::Allowed(Allowed::PredecessorToActive));
		assert_eq!(
			decide(1, 2),
			Decision::Allowed(Allowed::ScheduledSuccessor { activates_at: 20 })
		);
		assert_eq!(decide(1, GENESIS), Decision::Denied(Denied::RequesterSuperseded));
		assert_ok!(EnclaveUpdate::retire_enclave(council(), m(2)));
		assert_eq!(decide(1, 2), Decision::Denied(Denied::RequesterRetired));
	});
}

#[test]
fn hook_weights_distinguish_idle_from_activation() {
	// A regression guard for the generated weights: activation must cost more than idle.
	assert!(<() as WeightInfo>::on_initialize_activation()
		.any_gt(<() as WeightInfo>::on_initialize_idle()));
	assert!(<() as WeightInfo>::on_initialize_idle().all_gt(Weight::zero()));
}

#[test]
fn integrity_test_passes() {
	build_and_execute(|| {
		<EnclaveUpdate as frame_support::traits::IntegrityTest>::integrity_test();
	});
}

/// Runs `break_invariant` on a consistent state (the genesis enclave active since block 0,
/// superseded by `m(1)` at block 10, with `m(2)` scheduled at 20 and `m(3)` retired, at block 12)
/// and checks that `do_try_state` then reports `reason`.
fn assert_try_state_catches(break_invariant: impl FnOnce(), reason: &'static str) {
	// Not `build_and_execute`: the state is broken on purpose.
	new_test_ext().execute_with(|| {
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(1), 10));
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(2), 20));
		assert_ok!(EnclaveUpdate::retire_enclave(council(), m(3)));
		run_to_block(12);
		assert_eq!(EnclaveUpdate::do_try_state(12), Ok(()));

		break_invariant();
		assert_eq!(EnclaveUpdate::do_try_state(12), Err(reason.into()));
	});
}

fn put_schedule(entries: &[(u8, u64)]) {
	let schedule: Vec<_> = entries
		.iter()
		.map(|&(byte, activates_at)| ScheduledEnclave { measurement: m(byte), activates_at })
		.collect();
	NextActivation::<Test>::set(schedule.first().map(|s| s.activates_at));
	Schedule::<Test>::put(BoundedVec::truncate_from(schedule));
}

#[test]
fn try_state_catches_an_unsorted_schedule() {
	assert_try_state_catches(
		|| put_schedule(&[(2, 30), (4, 20)]),
		"schedule is not strictly increasing",
	);
	assert_try_state_catches(
		|| put_schedule(&[(2, 20), (4, 20)]),
		"schedule is not strictly increasing",
	);
}

#[test]
fn try_state_catches_an_overdue_activation() {
	assert_try_state_catches(|| put_schedule(&[(2, 12)]), "an activation is overdue");
}

#[test]
fn try_state_catches_a_next_activation_that_does_not_match_the_schedule() {
	let reason = "NextActivation does not match the schedule";
	assert_try_state_catches(|| NextActivation::<Test>::put(21), reason);
	assert_try_state_catches(NextActivation::<Test>::kill, reason);
	assert_try_state_catches(
		|| {
			Schedule::<Test>::kill();
			NextActivation::<Test>::put(20);
		},
		reason,
	);
}

#[test]
fn try_state_catches_a_measurement_scheduled_twice() {
	assert_try_state_catches(
		|| put_schedule(&[(2, 20), (2, 30)]),
		"a measurement is scheduled twice",
	);
}

#[test]
fn try_state_catches_a_retired_measurement_in_the_schedule() {
	assert_try_state_catches(
		|| put_schedule(&[(2, 20), (3, 30)]),
		"a retired measurement is scheduled",
	);
}

#[test]
fn try_state_catches_an_unsorted_retired_set() {
	let reason = "retired set is not sorted";
	assert_try_state_catches(
		|| Retired::<Test>::put(BoundedVec::truncate_from(vec![m(3), m(0)])),
		reason,
	);
	assert_try_state_catches(
		|| Retired::<Test>::put(BoundedVec::truncate_from(vec![m(3), m(3)])),
		reason,
	);
}

#[test]
fn try_state_catches_a_retired_active_measurement() {
	assert_try_state_catches(
		|| Retired::<Test>::put(BoundedVec::truncate_from(vec![m(1), m(3)])),
		"the active measurement is retired",
	);
}

#[test]
fn try_state_catches_the_active_measurement_scheduled_as_its_own_successor() {
	assert_try_state_catches(
		|| put_schedule(&[(1, 20)]),
		"the active measurement is its own successor",
	);
}

#[test]
fn try_state_catches_a_history_that_does_not_end_at_the_active_enclave() {
	assert_try_state_catches(
		|| Active::<Test>::put(ActiveEnclave { measurement: m(1), since: 11 }),
		"history does not end where the active enclave began",
	);
}

#[test]
fn try_state_catches_an_unordered_history() {
	let entry = |byte, activated_at, superseded_at| SupersededEnclave {
		measurement: m(byte),
		activated_at,
		superseded_at,
	};
	let reason = "history is not ordered";
	// An entry superseded before it began.
	assert_try_state_catches(
		|| History::<Test>::put(BoundedVec::truncate_from(vec![entry(GENESIS, 11, 10)])),
		reason,
	);
	// Entries overlapping in time.
	assert_try_state_catches(
		|| {
			History::<Test>::put(BoundedVec::truncate_from(vec![
				entry(GENESIS, 0, 8),
				entry(4, 5, 10),
			]))
		},
		reason,
	);
}

/// The `try_state` hook that `try-runtime` calls runs these checks.
#[cfg(feature = "try-runtime")]
#[test]
fn try_state_hook_reports_a_broken_invariant() {
	// Not `build_and_execute`: the state is broken on purpose.
	new_test_ext().execute_with(|| {
		assert_ok!(EnclaveUpdate::schedule_enclave(root(), m(1), 10));
		assert_ok!(<EnclaveUpdate as Hooks<u64>>::try_state(1));
		NextActivation::<Test>::kill();
		assert_eq!(
			<EnclaveUpdate as Hooks<u64>>::try_state(1),
			Err("NextActivation does not match the schedule".into())
		);
	});
}
