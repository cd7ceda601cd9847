//! Runtime-level tests: real signed extrinsics applied through `Executive`, on the development
//! genesis, for the sudo and council paths of the EnclaveUpdate pallet and its runtime API, and
//! for shielded calls landing in the ShieldedInbox the worker reads.

use crate::{
	genesis_config_presets::{development_config_genesis, DEV_GENESIS_ENCLAVE},
	*,
};
use assert_matches::assert_matches;
use codec::{Decode, Encode};
use enclave_update_primitives::{Allowed, Decision, Denied, ScheduledEnclave};
use frame_support::{dispatch::GetDispatchInfo, traits::Get, weights::Weight};
use pallet_enclave_update::{Active, ActiveEnclave, Retired, Schedule, SupersededEnclave};
use sp_keyring::Sr25519Keyring::{self, Alice, Bob, Charlie, Dave};
use sp_runtime::{
	traits::{BlakeTwo256, Hash as _, Header as _},
	ApplyExtrinsicResult, DispatchError, DispatchResult, ModuleError,
};

pub(crate) fn measurement(byte: u8) -> Measurement {
	Measurement::MrEnclave([byte; 32])
}

/// Externalities with the development preset's genesis, built the way a node builds it.
pub(crate) fn new_ext() -> sp_io::TestExternalities {
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
	sc_chain_spec::json_merge(&mut config, development_config_genesis());
	let mut ext = sp_io::TestExternalities::new_empty();
	ext.execute_with(|| {
		frame_support::genesis_builder_helper::build_state::<RuntimeGenesisConfig>(
			serde_json::to_vec(&config).unwrap(),
		)
		.unwrap()
	});
	ext
}

pub(crate) fn sign(who: Sr25519Keyring, call: RuntimeCall) -> UncheckedExtrinsic {
	sign_with_nonce(who, call, System::account_nonce(who.to_account_id()))
}

/// Signs with an explicit nonce, for several transactions of one account in one block.
pub(crate) fn sign_with_nonce(
	who: Sr25519Keyring,
	call: RuntimeCall,
	nonce: Nonce,
) -> UncheckedExtrinsic {
	sign_transaction(&who.pair(), call, nonce)
}

/// Builds the next block, authored in slot `number` as Aura's pre-runtime digest says, with the
/// timestamp inherent of that slot and `extrinsics`, returning their results.
pub(crate) fn next_block(extrinsics: Vec<UncheckedExtrinsic>) -> Vec<ApplyExtrinsicResult> {
	let number = System::block_number() + 1;
	let parent = System::block_hash(number - 1);
	let slot = sp_consensus_aura::Slot::from(u64::from(number));
	let digest = sp_runtime::Digest {
		logs: vec![sp_runtime::DigestItem::PreRuntime(
			sp_consensus_aura::AURA_ENGINE_ID,
			slot.encode(),
		)],
	};
	let header = Header::new(number, Default::default(), Default::default(), parent, digest);
	Executive::initialize_block(&header);
	let timestamp =
		UncheckedExtrinsic::new_bare(RuntimeCall::Timestamp(pallet_timestamp::Call::set {
			now: u64::from(number) * BlockTime::slot_duration_ms(),
		}));
	Executive::apply_extrinsic(timestamp).unwrap().unwrap();
	let results = extrinsics.into_iter().map(Executive::apply_extrinsic).collect();
	let header = Executive::finalize_block();
	assert_eq!(header.number, number);
	results
}

pub(crate) fn run_to_block(n: BlockNumber) {
	while System::block_number() < n {
		next_block(vec![]);
	}
}

pub(crate) fn schedule_call(byte: u8, activates_at: BlockNumber) -> RuntimeCall {
	RuntimeCall::EnclaveUpdate(EnclaveUpdateCall::schedule_enclave {
		measurement: measurement(byte),
		activates_at,
	})
}

pub(crate) fn enclave_events() -> Vec<pallet_enclave_update::Event<Runtime>> {
	System::read_events_for_pallet()
}

/// `EnclaveUpdate::Schedule`.
fn schedule() -> Vec<ScheduledEnclave<BlockNumber>> {
	Schedule::<Runtime>::get().into_inner()
}

/// `measurement(byte)` scheduled for block `at`.
fn scheduled(byte: u8, at: BlockNumber) -> ScheduledEnclave<BlockNumber> {
	ScheduledEnclave { measurement: measurement(byte), activates_at: at }
}

/// The event of `measurement(byte)`'s cancellation for block `at`.
fn canceled(byte: u8, at: BlockNumber) -> pallet_enclave_update::Event<Runtime> {
	pallet_enclave_update::Event::Canceled { measurement: measurement(byte), activates_at: at }
}

pub(crate) fn lead_time() -> BlockNumber {
	<Runtime as pallet_enclave_update::Config>::MinLeadTime::get()
}

pub(crate) fn pallet_error(error: pallet_enclave_update::Error<Runtime>) -> DispatchError {
	module_error::<EnclaveUpdate>(error)
}

/// The dispatch error of pallet `P`'s `error`, as a block reports it.
pub(crate) fn module_error<P: frame_support::traits::PalletInfoAccess>(
	error: impl Encode,
) -> DispatchError {
	let encoded = error.encode();
	let mut raw = [0u8; 4];
	raw[..encoded.len()].copy_from_slice(&encoded);
	DispatchError::Module(ModuleError { index: P::index() as u8, error: raw, message: None })
}

#[test]
fn development_genesis_has_sudo_council_and_enclave() {
	new_ext().execute_with(|| {
		assert_eq!(pallet_sudo::Key::<Runtime>::get(), Some(Alice.to_account_id()));
		let mut council = vec![Alice.to_account_id(), Bob.to_account_id(), Charlie.to_account_id()];
		council.sort();
		assert_eq!(
			pallet_collective::Members::<Runtime, configs::CouncilCollective>::get(),
			council
		);
		assert_eq!(
			Active::<Runtime>::get(),
			Some(ActiveEnclave { measurement: DEV_GENESIS_ENCLAVE, since: 0 })
		);
		assert!(Balances::free_balance(Dave.to_account_id()) > 0);
	});
}

#[test]
fn sudo_schedules_an_enclave() {
	new_ext().execute_with(|| {
		let at = 1 + lead_time() + 1;
		let sudo =
			RuntimeCall::Sudo(pallet_sudo::Call::sudo { call: Box::new(schedule_call(0xbb, at)) });
		let results = next_block(vec![sign(Alice, sudo)]);
		assert_eq!(results, vec![Ok(Ok(()))]);
		assert!(System::events().iter().any(|r| matches!(
			r.event,
			RuntimeEvent::Sudo(pallet_sudo::Event::Sudid { sudo_result: Ok(()) })
		)));
		assert_eq!(
			enclave_events(),
			vec![pallet_enclave_update::Event::Scheduled {
				measurement: measurement(0xbb),
				activates_at: at
			}]
		);
		assert_eq!(schedule(), vec![scheduled(0xbb, at)]);
	});
}

#[test]
fn sudo_wrapped_invalid_schedule_reports_the_pallet_error() {
	new_ext().execute_with(|| {
		// Too soon: the pallet's error surfaces in the Sudid event.
		let sudo =
			RuntimeCall::Sudo(pallet_sudo::Call::sudo { call: Box::new(schedule_call(0xbb, 2)) });
		next_block(vec![sign(Alice, sudo)]);
		assert!(System::events().iter().any(|r| r.event
			== RuntimeEvent::Sudo(pallet_sudo::Event::Sudid {
				sudo_result: Err(pallet_error(pallet_enclave_update::Error::ActivationTooSoon)),
			})));
		assert!(Schedule::<Runtime>::get().is_empty());
	});
}

#[test]
fn a_plain_signed_account_is_refused() {
	new_ext().execute_with(|| {
		let results = next_block(vec![
			sign(Dave, schedule_call(0xbb, 100)),
			// Even the sudo key and council members cannot schedule without their origin.
			sign(Alice, schedule_call(0xbb, 100)),
		]);
		let bad_origin: ApplyExtrinsicResult = Ok(Err(DispatchError::BadOrigin));
		assert_eq!(results, vec![bad_origin, bad_origin]);
		assert!(Schedule::<Runtime>::get().is_empty());
		// A non-member cannot even propose a council motion.
		let propose = RuntimeCall::Council(pallet_collective::Call::propose {
			threshold: 2,
			proposal: Box::new(schedule_call(0xbb, 100)),
			length_bound: 1_000,
		});
		let results = next_block(vec![sign(Dave, propose)]);
		assert!(matches!(results[0], Ok(Err(DispatchError::Module(_)))));
	});
}

#[test]
fn council_two_thirds_schedules_an_enclave() {
	new_ext().execute_with(|| {
		let at = 20;
		let motion = Motion::propose(Alice, 2, schedule_call(0xcc, at));
		// One aye is not enough to close early.
		assert_matches!(next_block(vec![motion.aye(Bob), motion.close(Dave)])[1], Ok(Err(_)));
		assert!(Schedule::<Runtime>::get().is_empty());
		// Two of three are; anyone may close.
		assert_eq!(
			next_block(vec![motion.aye(Charlie), motion.close(Dave)]),
			vec![Ok(Ok(())), Ok(Ok(()))]
		);
		assert!(motion.executed(Ok(())));
		assert_eq!(schedule(), vec![scheduled(0xcc, at)]);
	});
}

pub(crate) fn cancel_call(byte: u8) -> RuntimeCall {
	RuntimeCall::EnclaveUpdate(EnclaveUpdateCall::cancel_scheduled {
		measurement: measurement(byte),
	})
}

pub(crate) fn retire_call(byte: u8) -> RuntimeCall {
	RuntimeCall::EnclaveUpdate(EnclaveUpdateCall::retire_enclave { measurement: measurement(byte) })
}

pub(crate) fn sudo(call: RuntimeCall) -> UncheckedExtrinsic {
	sign(Alice, RuntimeCall::Sudo(pallet_sudo::Call::sudo { call: Box::new(call) }))
}

pub(crate) fn sudid(sudo_result: Result<(), DispatchError>) -> bool {
	System::events()
		.iter()
		.any(|r| r.event == RuntimeEvent::Sudo(pallet_sudo::Event::Sudid { sudo_result }))
}

/// A council motion: what its votes and its close name.
struct Motion {
	proposal_hash: Hash,
	index: u32,
	length_bound: u32,
	proposal_weight_bound: Weight,
}

impl Motion {
	/// `who` proposes `proposal` with `threshold` in the next block, which includes it.
	fn propose(who: Sr25519Keyring, threshold: u32, proposal: RuntimeCall) -> Self {
		let motion = Self {
			proposal_hash: BlakeTwo256::hash_of(&proposal),
			index: pallet_collective::ProposalCount::<Runtime, configs::CouncilCollective>::get(),
			length_bound: proposal.encoded_size() as u32,
			proposal_weight_bound: proposal.get_dispatch_info().call_weight,
		};
		let propose = RuntimeCall::Council(pallet_collective::Call::propose {
			threshold,
			proposal: Box::new(proposal),
			length_bound: motion.length_bound,
		});
		assert_eq!(next_block(vec![sign(who, propose)]), vec![Ok(Ok(()))]);
		motion
	}

	/// `who` votes aye.
	fn aye(&self, who: Sr25519Keyring) -> UncheckedExtrinsic {
		let vote = pallet_collective::Call::vote {
			proposal: self.proposal_hash,
			index: self.index,
			approve: true,
		};
		sign(who, RuntimeCall::Council(vote))
	}

	/// `who` closes it.
	fn close(&self, who: Sr25519Keyring) -> UncheckedExtrinsic {
		let close = pallet_collective::Call::close {
			proposal_hash: self.proposal_hash,
			index: self.index,
			proposal_weight_bound: self.proposal_weight_bound,
			length_bound: self.length_bound,
		};
		sign(who, RuntimeCall::Council(close))
	}

	/// Whether the last block executed it with `result`.
	fn executed(&self, result: DispatchResult) -> bool {
		let executed = RuntimeEvent::Council(pallet_collective::Event::Executed {
			proposal_hash: self.proposal_hash,
			result,
		});
		System::events().iter().any(|r| r.event == executed)
	}
}

/// Passes `proposal` as a council motion over three blocks: Alice proposes it with a threshold of
/// two, Bob and Charlie vote aye, Dave (not a member) closes it. The events of the closing block
/// remain.
fn pass_council_motion(proposal: RuntimeCall) {
	let motion = Motion::propose(Alice, 2, proposal);
	assert_eq!(
		next_block(vec![motion.aye(Bob), motion.aye(Charlie)]),
		vec![Ok(Ok(())), Ok(Ok(()))]
	);
	assert_eq!(next_block(vec![motion.close(Dave)]), vec![Ok(Ok(()))]);
	assert!(motion.executed(Ok(())));
}

#[test]
fn sudo_cancels_and_retires() {
	new_ext().execute_with(|| {
		let (first, second) = (1 + lead_time() + 5, 1 + lead_time() + 10);
		// One sudo call per block: each is signed with Alice's nonce before the block.
		assert_eq!(next_block(vec![sudo(schedule_call(0xbb, first))]), vec![Ok(Ok(()))]);
		assert_eq!(next_block(vec![sudo(schedule_call(0xcc, second))]), vec![Ok(Ok(()))]);

		next_block(vec![sudo(cancel_call(0xbb))]);
		assert!(sudid(Ok(())));
		assert_eq!(enclave_events(), vec![canceled(0xbb, first)]);
		assert_eq!(schedule(), vec![scheduled(0xcc, second)]);

		// Retiring a scheduled measurement cancels it too.
		next_block(vec![sudo(retire_call(0xcc))]);
		assert!(sudid(Ok(())));
		assert_eq!(
			enclave_events(),
			vec![
				canceled(0xcc, second),
				pallet_enclave_update::Event::Retired {
					measurement: measurement(0xcc),
					was_scheduled: true
				},
			]
		);
		assert!(Schedule::<Runtime>::get().is_empty());
		assert_eq!(Retired::<Runtime>::get().into_inner(), vec![measurement(0xcc)]);

		// The pallet's errors surface in the Sudid event and change nothing.
		next_block(vec![sudo(cancel_call(0xbb))]);
		assert!(sudid(Err(pallet_error(pallet_enclave_update::Error::NotScheduled))));
		assert!(enclave_events().is_empty());
		next_block(vec![sudo(retire_call(0xcc))]);
		assert!(sudid(Err(pallet_error(pallet_enclave_update::Error::AlreadyRetired))));
		assert!(enclave_events().is_empty());
		assert_eq!(Retired::<Runtime>::get().into_inner(), vec![measurement(0xcc)]);
	});
}

#[test]
fn council_two_thirds_cancels_and_retires() {
	new_ext().execute_with(|| {
		let (first, second) = (30, 40);
		pass_council_motion(schedule_call(0xbb, first));
		pass_council_motion(schedule_call(0xcc, second));
		assert_eq!(Schedule::<Runtime>::get().len(), 2);

		pass_council_motion(cancel_call(0xbb));
		assert_eq!(enclave_events(), vec![canceled(0xbb, first)]);
		assert_eq!(schedule(), vec![scheduled(0xcc, second)]);

		pass_council_motion(retire_call(0xdd));
		assert_eq!(
			enclave_events(),
			vec![pallet_enclave_update::Event::Retired {
				measurement: measurement(0xdd),
				was_scheduled: false
			}]
		);
		assert_eq!(Retired::<Runtime>::get().into_inner(), vec![measurement(0xdd)]);
		assert_eq!(Schedule::<Runtime>::get().len(), 1);
	});
}

#[test]
fn council_one_third_is_not_enough() {
	new_ext().execute_with(|| {
		// A threshold-1 motion executes at once, with a 1-of-3 origin: refused by the pallet.
		let motion = Motion::propose(Alice, 1, schedule_call(0xcc, 20));
		assert!(motion.executed(Err(DispatchError::BadOrigin)));
		assert!(Schedule::<Runtime>::get().is_empty());
	});
}

#[test]
fn scheduled_enclave_activates_at_its_block() {
	new_ext().execute_with(|| {
		let at = 1 + lead_time();
		let sudo =
			RuntimeCall::Sudo(pallet_sudo::Call::sudo { call: Box::new(schedule_call(0xbb, at)) });
		assert_eq!(next_block(vec![sign(Alice, sudo)]), vec![Ok(Ok(()))]);
		run_to_block(at - 1);
		assert_eq!(Active::<Runtime>::get().unwrap().measurement, DEV_GENESIS_ENCLAVE);
		next_block(vec![]);
		assert_eq!(System::block_number(), at);
		assert_eq!(
			Active::<Runtime>::get(),
			Some(ActiveEnclave { measurement: measurement(0xbb), since: at })
		);
		assert!(enclave_events().contains(&pallet_enclave_update::Event::Activated {
			measurement: measurement(0xbb),
			previous: Some(DEV_GENESIS_ENCLAVE),
		}));
	});
}

/// Calls a runtime API function through the generated native dispatcher, as the node does.
fn call_api<R: Decode>(method: &str, args: impl Encode) -> R {
	let encoded = crate::apis::api::dispatch(method, &args.encode()).expect("method exists");
	R::decode(&mut &encoded[..]).unwrap()
}

#[test]
fn runtime_api_answers_match_storage() {
	new_ext().execute_with(|| {
		let at = 1 + lead_time();
		let sudo =
			RuntimeCall::Sudo(pallet_sudo::Call::sudo { call: Box::new(schedule_call(0xbb, at)) });
		next_block(vec![sign(Alice, sudo)]);

		let active: Option<ActiveEnclave<BlockNumber>> =
			call_api("EnclaveUpdateApi_active_enclave", ());
		assert_eq!(active, Active::<Runtime>::get());
		let from_api: Vec<ScheduledEnclave<BlockNumber>> =
			call_api("EnclaveUpdateApi_schedule", ());
		assert_eq!(from_api, schedule());
		let at_cut_over: Option<Measurement> = call_api("EnclaveUpdateApi_measurement_at", at);
		assert_eq!(at_cut_over, Some(measurement(0xbb)));
		let before: Option<Measurement> = call_api("EnclaveUpdateApi_measurement_at", at - 1);
		assert_eq!(before, Some(DEV_GENESIS_ENCLAVE));

		let decision: Decision<BlockNumber> = call_api(
			"EnclaveUpdateApi_provisioning_decision",
			(DEV_GENESIS_ENCLAVE, measurement(0xbb)),
		);
		assert_eq!(decision, Decision::Allowed(Allowed::ScheduledSuccessor { activates_at: at }));
		let decision: Decision<BlockNumber> = call_api(
			"EnclaveUpdateApi_provisioning_decision",
			(DEV_GENESIS_ENCLAVE, measurement(0xdd)),
		);
		assert_eq!(decision, Decision::Denied(Denied::RequesterNotScheduled));

		let retired: Vec<Measurement> = call_api("EnclaveUpdateApi_retired", ());
		assert!(retired.is_empty());
		let history: Vec<SupersededEnclave<BlockNumber>> = call_api("EnclaveUpdateApi_history", ());
		assert!(history.is_empty());
	});
}

#[test]
fn metadata_exposes_the_pallet() {
	new_ext().execute_with(|| {
		// Runtime APIs are described from metadata v15 on.
		let encoded = Runtime::metadata_at_version(15).expect("v15 is supported").encode();
		// The pallet name and a call name are in the metadata a client reads.
		let contains = |needle: &[u8]| encoded.windows(needle.len()).any(|w| w == needle);
		assert!(contains(b"EnclaveUpdate"));
		assert!(contains(b"schedule_enclave"));
		assert!(contains(b"EnclaveUpdateApi"));
		assert!(contains(b"ShieldedInbox"));
	});
}

fn submit_call(ciphertext: &[u8]) -> RuntimeCall {
	RuntimeCall::ShieldedInbox(ShieldedInboxCall::submit {
		ciphertext: ciphertext.to_vec().try_into().expect("at most MaxCallLen bytes"),
	})
}

/// The inbox as the worker reads it: the raw value under its documented key.
fn inbox_as_the_worker_reads_it() -> Vec<Vec<u8>> {
	let key =
		[sp_crypto_hashing::twox_128(b"ShieldedInbox"), sp_crypto_hashing::twox_128(b"Calls")]
			.concat();
	sp_io::storage::get(&key)
		.map(|raw| Vec::<Vec<u8>>::decode(&mut &raw[..]).expect("SCALE Vec<Vec<u8>>"))
		.unwrap_or_default()
}

#[test]
fn signed_shielded_calls_land_in_the_inbox_and_are_cleared_next_block() {
	new_ext().execute_with(|| {
		let results = next_block(vec![
			sign(Dave, submit_call(b"sealed by dave")),
			sign(Bob, submit_call(&[0xab; 1024])),
		]);
		assert_eq!(results, vec![Ok(Ok(())), Ok(Ok(()))]);
		let block_one = vec![b"sealed by dave".to_vec(), vec![0xab; 1024]];
		assert_eq!(inbox_as_the_worker_reads_it(), block_one);
		assert!(System::events().iter().any(|r| r.event
			== RuntimeEvent::ShieldedInbox(pallet_shielded_inbox::Event::Submitted {
				who: Bob.to_account_id(),
				index: 1,
				len: 1024,
			})));

		next_block(vec![sign(Dave, submit_call(b"block two"))]);
		assert_eq!(inbox_as_the_worker_reads_it(), vec![b"block two".to_vec()]);

		next_block(vec![]);
		assert!(inbox_as_the_worker_reads_it().is_empty());
		assert!(!pallet_shielded_inbox::Calls::<Runtime>::exists());
		assert_eq!(pallet_shielded_inbox::TotalSubmitted::<Runtime>::get(), 3);
	});
}

#[test]
fn the_inbox_refuses_empty_calls_and_a_65th_call() {
	new_ext().execute_with(|| {
		let results = next_block(vec![sign(Dave, submit_call(b""))]);
		let empty_call =
			module_error::<ShieldedInbox>(pallet_shielded_inbox::Error::<Runtime>::EmptyCall);
		assert_eq!(results, vec![Ok(Err(empty_call))]);
		assert!(inbox_as_the_worker_reads_it().is_empty());

		let max = <Runtime as pallet_shielded_inbox::Config>::MaxCallsPerBlock::get();
		assert_eq!(max, 64);
		let first_nonce = System::account_nonce(Dave.to_account_id());
		let extrinsics = (0..=max)
			.map(|i| sign_with_nonce(Dave, submit_call(&[i as u8 + 1]), first_nonce + i))
			.collect();
		let results = next_block(extrinsics);
		assert!(results[..max as usize].iter().all(|r| *r == Ok(Ok(()))));
		let inbox_full =
			module_error::<ShieldedInbox>(pallet_shielded_inbox::Error::<Runtime>::InboxFull);
		assert_eq!(results[max as usize], Ok(Err(inbox_full)));
		assert_eq!(inbox_as_the_worker_reads_it().len() as u32, max);
	});
}

#[test]
fn a_too_long_shielded_call_does_not_decode() {
	// `submit` with 1025 bytes: call index of the pallet, of the call, then the bytes.
	let index = <ShieldedInbox as frame_support::traits::PalletInfoAccess>::index() as u8;
	assert_eq!(index, 11);
	let encoded = (index, 0u8, vec![0u8; 1025]).encode();
	assert!(RuntimeCall::decode(&mut &encoded[..]).is_err());
	let encoded = (index, 0u8, vec![0u8; 1024]).encode();
	assert_eq!(RuntimeCall::decode(&mut &encoded[..]).unwrap(), submit_call(&[0u8; 1024]));
}

/// The runtime's migrations as try-runtime runs them on a chain of the previous release: the
/// inbox at storage version 1 with its counter under the v1 name, then
/// `Executive::try_runtime_upgrade` with every check (each migration's `pre_upgrade` and
/// `post_upgrade`, then every pallet's `try_state`).
#[cfg(feature = "try-runtime")]
mod try_runtime_upgrade {
	use super::*;
	use frame_support::traits::{GetStorageVersion, StorageVersion};
	use pallet_shielded_inbox::migrations::v2::v1;

	fn previous_release_state() -> sp_io::TestExternalities {
		let mut ext = new_ext();
		ext.execute_with(|| {
			StorageVersion::new(1).put::<ShieldedInbox>();
			v1::Submitted::<Runtime>::put(41);
		});
		ext
	}

	#[test]
	fn the_inbox_migration_passes_try_runtime_checks_and_moves_the_counter() {
		previous_release_state().execute_with(|| {
			Executive::try_runtime_upgrade(frame_try_runtime::UpgradeCheckSelect::All)
				.expect("pre_upgrade, the migration, post_upgrade and try_state all pass");
			assert_eq!(ShieldedInbox::on_chain_storage_version(), 2);
			assert_eq!(pallet_shielded_inbox::TotalSubmitted::<Runtime>::get(), 41);
			assert_eq!(v1::Submitted::<Runtime>::get(), None);
		});
	}

	#[test]
	fn a_second_upgrade_finds_nothing_to_migrate() {
		previous_release_state().execute_with(|| {
			Executive::try_runtime_upgrade(frame_try_runtime::UpgradeCheckSelect::All).unwrap();
			Executive::try_runtime_upgrade(frame_try_runtime::UpgradeCheckSelect::All)
				.expect("at version 2 the migration is a no-op that still passes its checks");
			assert_eq!(pallet_shielded_inbox::TotalSubmitted::<Runtime>::get(), 41);
		});
	}

	#[test]
	fn a_fresh_chain_is_at_the_current_storage_versions() {
		new_ext().execute_with(|| {
			assert_eq!(ShieldedInbox::on_chain_storage_version(), 2);
			Executive::try_runtime_upgrade(frame_try_runtime::UpgradeCheckSelect::All)
				.expect("nothing to migrate, every check passes");
		});
	}
}

/// The GRANDPA `ScheduledChange` the last finalized block signalled, if any.
fn grandpa_scheduled_change() -> Option<sp_consensus_grandpa::ScheduledChange<BlockNumber>> {
	System::digest().logs.iter().find_map(|log| {
		log.consensus_try_to::<sp_consensus_grandpa::ConsensusLog<BlockNumber>>(
			&sp_consensus_grandpa::GRANDPA_ENGINE_ID,
		)
		.and_then(|log| match log {
			sp_consensus_grandpa::ConsensusLog::ScheduledChange(change) => Some(change),
			_ => None,
		})
	})
}

#[test]
fn root_schedules_a_grandpa_set_change_on_a_dev_chain() {
	use crate::dev_authorities::Call as DevCall;
	new_ext().execute_with(|| {
		let current = pallet_grandpa::Authorities::<Runtime>::get().into_inner();
		let change = |next, delay| {
			RuntimeCall::DevAuthorities(DevCall::schedule_grandpa_change { next, delay })
		};
		// Not for a signed account.
		let results = next_block(vec![sign(Bob, change(None, 0))]);
		assert_eq!(results, vec![Ok(Err(DispatchError::BadOrigin))]);
		assert_eq!(pallet_grandpa::CurrentSetId::<Runtime>::get(), 0);

		// Sudo: the block signals a regular (not forced) change of the same members, enacted
		// two blocks later, and the set id counts it.
		let sudo = |call| RuntimeCall::Sudo(pallet_sudo::Call::sudo { call: Box::new(call) });
		assert_eq!(next_block(vec![sign(Alice, sudo(change(None, 2)))]), vec![Ok(Ok(()))]);
		assert_eq!(
			grandpa_scheduled_change(),
			Some(sp_consensus_grandpa::ScheduledChange {
				next_authorities: current.clone(),
				delay: 2
			})
		);
		assert_eq!(pallet_grandpa::CurrentSetId::<Runtime>::get(), 1);

		// A second change while one is pending, or an empty set, is refused.
		next_block(vec![sign(Alice, sudo(change(None, 0)))]);
		assert!(System::events().iter().any(|r| r.event
			== RuntimeEvent::Sudo(pallet_sudo::Event::Sudid {
				sudo_result: Err(module_error::<DevAuthorities>(
					crate::dev_authorities::Error::<Runtime>::ChangePending
				)),
			})));
		next_block(vec![]);
		assert!(pallet_grandpa::PendingChange::<Runtime>::get().is_none());
		next_block(vec![sign(Alice, sudo(change(Some(Vec::new()), 0)))]);
		assert!(System::events().iter().any(|r| r.event
			== RuntimeEvent::Sudo(pallet_sudo::Event::Sudid {
				sudo_result: Err(module_error::<DevAuthorities>(
					crate::dev_authorities::Error::<Runtime>::InvalidSet
				)),
			})));
		assert_eq!(pallet_grandpa::CurrentSetId::<Runtime>::get(), 1);
	});
}
