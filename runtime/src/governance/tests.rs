//! OpenGov on the runtime's std build: referenda on `enclave_admin` and `enclave_emergency`
//! carried from submission (with a preimage) through the decision deposit, conviction votes,
//! confirmation and enactment, with signed extrinsics applied through `Executive`.

use super::{origins::Origin, tracks};
use crate::{tests::*, *};
use codec::Encode;
use frame_support::traits::{schedule::DispatchTime, Bounded, UnfilteredDispatchable};
use pallet_conviction_voting::{AccountVote, Conviction, Vote};
use pallet_enclave_update::{Retired, Schedule};
use pallet_referenda::ReferendumIndex;
use sp_keyring::Sr25519Keyring::{self, Alice, Bob, Charlie, Dave};
use sp_runtime::{
	traits::{BlakeTwo256, Hash as _},
	DispatchError,
};

/// What each voter locks: enough for the support curves of both tracks on the dev genesis.
const VOTE: Balance = 900_000 * UNIT;

/// Dave notes `call`'s preimage and submits it for `origin`'s track to be enacted as soon as the
/// track allows; Bob places the decision deposit. Returns the referendum's index.
fn submit(origin: Origin, call: RuntimeCall) -> ReferendumIndex {
	let bytes = call.encode();
	let len = bytes.len() as u32;
	let hash = BlakeTwo256::hash(&bytes);
	let index = pallet_referenda::ReferendumCount::<Runtime>::get();
	let note = RuntimeCall::Preimage(pallet_preimage::Call::note_preimage { bytes });
	assert_eq!(next_block(vec![sign(Dave, note)]), vec![Ok(Ok(()))]);
	let submit = RuntimeCall::Referenda(pallet_referenda::Call::submit {
		proposal_origin: Box::new(OriginCaller::Origins(origin)),
		proposal: Bounded::Lookup { hash, len },
		enactment_moment: DispatchTime::After(0),
	});
	assert_eq!(next_block(vec![sign(Dave, submit)]), vec![Ok(Ok(()))]);
	let deposit = RuntimeCall::Referenda(pallet_referenda::Call::place_decision_deposit { index });
	assert_eq!(next_block(vec![sign(Bob, deposit)]), vec![Ok(Ok(()))]);
	index
}

/// `voters` vote on `index`, each `aye` or nay with [`VOTE`] at 1x conviction, in one block.
fn vote(index: ReferendumIndex, voters: &[(Sr25519Keyring, bool)]) {
	let votes = voters
		.iter()
		.map(|&(who, aye)| {
			let vote = AccountVote::Standard {
				vote: Vote { aye, conviction: Conviction::Locked1x },
				balance: VOTE,
			};
			sign(
				who,
				RuntimeCall::ConvictionVoting(pallet_conviction_voting::Call::vote {
					poll_index: index,
					vote,
				}),
			)
		})
		.collect::<Vec<_>>();
	let results = next_block(votes);
	assert!(results.iter().all(|r| r == &Ok(Ok(()))), "{results:?}");
}

/// Runs up to `blocks` empty blocks and returns every event they emitted with its block number,
/// stopping after the block in which `done` holds for one of them.
fn run_until(
	blocks: BlockNumber,
	done: impl Fn(&RuntimeEvent) -> bool,
) -> Vec<(BlockNumber, RuntimeEvent)> {
	let mut seen = Vec::new();
	for _ in 0..blocks {
		next_block(vec![]);
		let number = System::block_number();
		let events: Vec<_> = System::events().into_iter().map(|r| r.event).collect();
		let finished = events.iter().any(&done);
		seen.extend(events.into_iter().map(|e| (number, e)));
		if finished {
			break;
		}
	}
	seen
}

/// The scheduler's name for the enactment of referendum `index` (its alarms are anonymous).
fn enactment_task(index: ReferendumIndex) -> [u8; 32] {
	sp_io::hashing::blake2_256(&(*b"assembly", "enactment", index).encode())
}

/// Whether `event` is the scheduler dispatching referendum `index`'s call.
fn enacts(index: ReferendumIndex) -> impl Fn(&RuntimeEvent) -> bool {
	move |event| {
		matches!(event, RuntimeEvent::Scheduler(pallet_scheduler::Event::Dispatched { id, .. })
			if *id == Some(enactment_task(index)))
	}
}

fn rejected(event: &RuntimeEvent) -> bool {
	matches!(event, RuntimeEvent::Referenda(pallet_referenda::Event::Rejected { .. }))
}

/// The result of referendum `index`'s call, as the scheduler dispatched it.
fn dispatch_result(
	events: &[(BlockNumber, RuntimeEvent)],
	index: ReferendumIndex,
) -> Option<Result<(), DispatchError>> {
	events.iter().find_map(|(_, e)| match e {
		RuntimeEvent::Scheduler(pallet_scheduler::Event::Dispatched { result, .. })
			if enacts(index)(e) =>
		{
			Some(*result)
		},
		_ => None,
	})
}

/// The block of the first event `which` matches.
fn block_of(
	events: &[(BlockNumber, RuntimeEvent)],
	which: impl Fn(&RuntimeEvent) -> bool,
) -> Option<BlockNumber> {
	events.iter().find(|(_, e)| which(e)).map(|(n, _)| *n)
}

#[test]
fn tracks_are_sorted_and_named() {
	use pallet_referenda::TracksInfo as _;
	tracks::TracksInfo::check_integrity().unwrap();
	let names: Vec<_> = tracks::TracksInfo::tracks()
		.map(|t| {
			let name = t.info.name;
			let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
			(t.id, String::from_utf8(name[..end].to_vec()).unwrap())
		})
		.collect();
	assert_eq!(
		names,
		vec![
			(tracks::ENCLAVE_ADMIN, "enclave_admin".to_owned()),
			(tracks::ENCLAVE_EMERGENCY, "enclave_emergency".to_owned())
		]
	);
	let admin = tracks::TracksInfo::info(tracks::ENCLAVE_ADMIN).unwrap();
	let emergency = tracks::TracksInfo::info(tracks::ENCLAVE_EMERGENCY).unwrap();
	assert!(emergency.decision_period < admin.decision_period, "the emergency track is faster");
	let floor = |curve: &pallet_referenda::Curve| curve.threshold(sp_runtime::Perbill::one());
	assert!(floor(&emergency.min_approval) > floor(&admin.min_approval), "and asks for more");
}

#[test]
fn a_referendum_on_enclave_admin_schedules_a_measurement() {
	new_ext().execute_with(|| {
		run_to_block(1);
		let submitted_at = System::block_number() + 1;
		let activates_at = submitted_at + 60;
		let index = submit(Origin::EnclaveAdmin, schedule_call(0xb0, activates_at));
		assert!(Schedule::<Runtime>::get().is_empty(), "nothing before the vote");
		vote(index, &[(Alice, true), (Charlie, true)]);

		let events = run_until(60, enacts(index));
		// It was being decided by the time the votes were in (a prepare period of 2 blocks).
		assert!(pallet_referenda::DecidingCount::<Runtime>::get(tracks::ENCLAVE_ADMIN) <= 1);
		let confirmed = block_of(&events, |e| {
			matches!(e, RuntimeEvent::Referenda(pallet_referenda::Event::Confirmed { .. }))
		})
		.expect("and confirmed");
		let enacted = block_of(&events, enacts(index)).expect("and enacted");
		// Approved on confirmation, and enacted after the track's enactment period.
		assert!(pallet_referenda::ReferendumInfoFor::<Runtime>::get(index)
			.is_some_and(|info| matches!(info, pallet_referenda::ReferendumInfo::Approved(..))));
		assert!(confirmed < enacted);
		// The enclave pallet's event, in the block the scheduler dispatched the call in.
		let scheduled = pallet_enclave_update::Event::Scheduled {
			measurement: measurement(0xb0),
			activates_at,
		};
		assert_eq!(
			block_of(&events, |e| e == &RuntimeEvent::EnclaveUpdate(scheduled.clone())),
			Some(enacted)
		);
		assert_eq!(dispatch_result(&events, index), Some(Ok(())));
		assert_eq!(Schedule::<Runtime>::get().len(), 1);
		// Submission to enactment, in blocks: the dev tracks keep it within tens.
		assert!(
			enacted - submitted_at < 20,
			"enacted {} blocks after submission",
			enacted - submitted_at
		);
	});
}

#[test]
fn a_referendum_that_fails_approval_changes_nothing() {
	new_ext().execute_with(|| {
		run_to_block(1);
		let index = submit(Origin::EnclaveAdmin, schedule_call(0xb1, 200));
		// One aye against two nays: a third of the votes, never the majority the curve asks.
		vote(index, &[(Alice, true), (Bob, false), (Charlie, false)]);
		let events = run_until(80, rejected);
		assert!(block_of(&events, rejected).is_some(), "rejected at the end of its decision");
		assert!(!events
			.iter()
			.any(|(_, e)| enacts(index)(e) || matches!(e, RuntimeEvent::EnclaveUpdate(_))));
		assert!(Schedule::<Runtime>::get().is_empty());
	});
}

#[test]
fn the_enclave_admin_origin_cannot_retire() {
	new_ext().execute_with(|| {
		let retire = retire_call(0xb2);
		assert_eq!(
			retire
				.clone()
				.dispatch_bypass_filter(Origin::EnclaveAdmin.into())
				.map_err(|e| e.error),
			Err(DispatchError::BadOrigin)
		);
		// Nor may the emergency origin schedule.
		assert_eq!(
			schedule_call(0xb2, 100)
				.dispatch_bypass_filter(Origin::EnclaveEmergency.into())
				.map_err(|e| e.error),
			Err(DispatchError::BadOrigin)
		);
		// A referendum on the admin track to retire is enacted, and refused by the pallet.
		run_to_block(1);
		let index = submit(Origin::EnclaveAdmin, retire);
		vote(index, &[(Alice, true), (Charlie, true)]);
		let events = run_until(60, enacts(index));
		assert_eq!(dispatch_result(&events, index), Some(Err(DispatchError::BadOrigin)));
		assert!(Retired::<Runtime>::get().is_empty());
	});
}

#[test]
fn the_emergency_track_retires_a_scheduled_measurement() {
	new_ext().execute_with(|| {
		run_to_block(1);
		next_block(vec![sudo(schedule_call(0xb3, 200))]);
		assert!(sudid(Ok(())));
		let index = submit(Origin::EnclaveEmergency, retire_call(0xb3));
		vote(index, &[(Alice, true), (Bob, true), (Charlie, true)]);
		let events = run_until(40, enacts(index));
		let enacted = block_of(&events, enacts(index)).expect("enacted");
		assert_eq!(
			block_of(&events, |e| e
				== &RuntimeEvent::EnclaveUpdate(pallet_enclave_update::Event::Retired {
					measurement: measurement(0xb3),
					was_scheduled: true,
				})),
			Some(enacted)
		);
		assert!(Schedule::<Runtime>::get().is_empty(), "retiring a scheduled build cancels it");
		assert!(Retired::<Runtime>::get().contains(&measurement(0xb3)));
	});
}

#[test]
fn a_schedule_whose_block_passed_before_enactment_fails_visibly() {
	new_ext().execute_with(|| {
		run_to_block(1);
		// Valid when proposed only if enacted within three blocks, which no referendum is.
		let activates_at = System::block_number() + 4;
		let index = submit(Origin::EnclaveAdmin, schedule_call(0xb4, activates_at));
		vote(index, &[(Alice, true), (Charlie, true)]);
		let events = run_until(60, enacts(index));
		assert_eq!(
			dispatch_result(&events, index),
			Some(Err(pallet_error(pallet_enclave_update::Error::ActivationBlockInPast)))
		);
		assert!(Schedule::<Runtime>::get().is_empty());
	});
}
