//! The registry's tests: the real Intel-signed samples verified by the runtime's code (the
//! RustCrypto backend the wasm runs), each refusal with its own error and nothing stored.

use crate::{
	attestation::{self, RefuseSimulated},
	mock::*,
	CutOvers, EnclaveCount, Enclaves, Error, Event, EvidenceKind, KeySet, NextPrune, PruneCursor,
	Removal, TcbStatus,
};
use dcap_qvl::quote::Quote;
use enclave_update_primitives::{CutOverCommitment, Measurement};
use frame_support::{assert_noop, assert_ok, weights::Weight, BoundedVec};
use sp_core::Pair;
use sp_runtime::DispatchError;

const ALICE: u64 = 1;
const BOB: u64 = 2;

fn sgx() -> (Vec<u8>, Vec<u8>) {
	(fixture("sgx_quote"), collateral("sgx_quote_collateral.json"))
}

fn tdx() -> (Vec<u8>, Vec<u8>) {
	(fixture("tdx_quote"), collateral("tdx_quote_collateral.json"))
}

/// The runtime's verdict on evidence under the mock's policy.
fn verify(
	evidence: &[u8],
	collateral: &[u8],
	now: u64,
) -> Result<crate::AttestedEnclave, DispatchError> {
	EnclaveRegistry::verify_evidence(evidence, collateral, now).map_err(Into::into)
}

fn refused(error: Error<Test>) -> Result<crate::AttestedEnclave, DispatchError> {
	Err(error.into())
}

fn register(
	who: u64,
	evidence: &[u8],
	collateral: &[u8],
	keys: &Keys,
) -> frame_support::dispatch::DispatchResult {
	EnclaveRegistry::register_enclave(
		RuntimeOrigin::signed(who),
		BoundedVec::truncate_from(evidence.to_vec()),
		BoundedVec::truncate_from(collateral.to_vec()),
		BoundedVec::truncate_from(b"https://127.0.0.1:7001".to_vec()),
		keys.signing,
		keys.shielding,
		keys.checksum,
	)
}

fn schedule(measurement: Measurement) {
	let at = System::block_number() + 5;
	assert_ok!(EnclaveUpdate::schedule_enclave(RuntimeOrigin::root(), measurement, at));
}

fn tdx_measurement(quote: &[u8]) -> Measurement {
	let parsed = Quote::parse(quote).unwrap();
	attestation::td_identity(parsed.report.as_td10().unwrap()).measurement()
}

fn nothing_stored() {
	assert_eq!(Enclaves::<Test>::iter().count(), 0);
	assert_eq!(EnclaveCount::<Test>::get(), 0);
	assert_eq!(KeySet::<Test>::get(), None);
}

#[test]
fn the_real_tdx_sample_verifies_in_the_runtimes_code() {
	build_and_execute(|| {
		let (quote, collateral) = tdx();
		let attested = verify(&quote, &collateral, TDX_AT).unwrap();
		assert_eq!(attested.kind, EvidenceKind::Tdx);
		assert_eq!(attested.measurement, tdx_measurement(&quote));
		assert_eq!(attested.tcb_status, TcbStatus::UpToDate);
		assert_eq!(attested.signer, None);
		assert!(!attested.debug);
		let td = Quote::parse(&quote).unwrap();
		assert_eq!(attested.report_data, td.report.as_td10().unwrap().report_data);
	});
}

#[test]
fn the_real_sgx_sample_verifies_and_its_status_is_the_policys_to_accept() {
	build_and_execute(|| {
		let (quote, collateral) = sgx();
		assert_eq!(
			verify(&quote, &collateral, SGX_AT),
			refused(Error::<Test>::TcbStatusNotAccepted)
		);
		AcceptSgxSampleStatus::set(true);
		let attested = verify(&quote, &collateral, SGX_AT).unwrap();
		let sgx = Quote::parse(&quote).unwrap();
		let report = sgx.report.as_sgx().unwrap();
		assert_eq!(attested.kind, EvidenceKind::Sgx);
		assert_eq!(attested.measurement, Measurement::MrEnclave(report.mr_enclave));
		assert_eq!(attested.signer, Some(report.mr_signer));
		assert_eq!(attested.tcb_status, TcbStatus::ConfigurationAndSWHardeningNeeded);
		// A pin on another MRSIGNER refuses it; its own passes.
		PinnedSigner::set(Some([0; 32]));
		assert_eq!(verify(&quote, &collateral, SGX_AT), refused(Error::<Test>::SignerNotPinned));
		PinnedSigner::set(Some(report.mr_signer));
		assert!(verify(&quote, &collateral, SGX_AT).is_ok());
	});
}

#[test]
fn a_real_quote_registers_only_with_report_data_that_binds_the_caller_and_the_keys() {
	// The samples bind keys of their own: with every other check passed, the binding refuses.
	build_and_execute(|| {
		let (quote, collateral) = tdx();
		schedule(tdx_measurement(&quote));
		assert_noop!(
			register(ALICE, &quote, &collateral, &keys(1, 1)),
			Error::<Test>::ReportDataMismatch
		);
		nothing_stored();
	});
}

#[test]
fn a_tampered_quote_is_refused() {
	build_and_execute(|| {
		let (quote, collateral) = tdx();
		schedule(tdx_measurement(&quote));
		// A byte of the TD report (its REPORTDATA), of the signature, of the QE report.
		for at in [48 + 520, 640, 700, 1000] {
			let mut tampered = quote.clone();
			tampered[at] ^= 1;
			assert_eq!(
				verify(&tampered, &collateral, TDX_AT),
				refused(Error::<Test>::QuoteInvalid),
				"byte {at}"
			);
			assert_noop!(
				register(ALICE, &tampered, &collateral, &keys(1, 1)),
				Error::<Test>::QuoteInvalid
			);
		}
		nothing_stored();
	});
}

#[test]
fn collateral_outside_its_window_at_the_chains_time_is_refused() {
	build_and_execute(|| {
		let (quote, collateral) = tdx();
		schedule(tdx_measurement(&quote));
		for secs in [TDX_AT + 40 * 86_400, TDX_AT - 40 * 86_400] {
			set_time(secs);
			assert_noop!(
				register(ALICE, &quote, &collateral, &keys(1, 1)),
				Error::<Test>::CollateralExpired
			);
		}
		// Collateral that is not a QuoteCollateralV3, or has bytes after one.
		set_time(TDX_AT);
		for bad in [b"not collateral".to_vec(), [&collateral[..], &[0]].concat()] {
			assert_noop!(
				register(ALICE, &quote, &bad, &keys(1, 1)),
				Error::<Test>::CollateralMalformed
			);
		}
		// Another platform's collateral (the SGX sample's), valid at its own time.
		set_time(SGX_AT);
		assert_noop!(register(ALICE, &quote, &sgx().1, &keys(1, 1)), Error::<Test>::QuoteInvalid);
		nothing_stored();
	});
}

#[test]
fn the_zero_padded_and_the_trimmed_quote_are_one_quote() {
	build_and_execute(|| {
		let (quote, collateral) = tdx();
		// The sample is 4936 bytes of quote and 70 of zero padding.
		let trimmed = &quote[..4936];
		let padded = verify(&quote, &collateral, TDX_AT).unwrap();
		let bare = verify(trimmed, &collateral, TDX_AT).unwrap();
		assert_eq!(padded.evidence_hash, bare.evidence_hash);
		// What follows the quote is zero padding or nothing.
		let mut trailing = quote.clone();
		*trailing.last_mut().unwrap() = 1;
		assert_eq!(
			verify(&trailing, &collateral, TDX_AT),
			refused(Error::<Test>::EvidenceMalformed)
		);
		assert_eq!(
			verify(&quote[..4000], &collateral, TDX_AT),
			refused(Error::<Test>::EvidenceMalformed)
		);
	});
}

#[test]
fn an_unsupported_quote_is_refused_before_any_cryptography() {
	build_and_execute(|| {
		let (quote, collateral) = tdx();
		// Attestation key type 3 (ECDSA P-384), which dcap-qvl does not verify.
		let mut other = quote.clone();
		other[2] = 3;
		assert_eq!(verify(&other, &collateral, TDX_AT), refused(Error::<Test>::UnsupportedQuote));
	});
}

#[test]
fn a_simulated_enclave_registers_and_fixes_the_chains_key_set() {
	build_and_execute(|| {
		let (alice, bob) = (keys(1, 9), keys(2, 9));
		assert_ok!(register(ALICE, &sim_quote(m(GENESIS), binding(ALICE, &alice)), &[], &alice));
		let record = Enclaves::<Test>::get(ALICE).unwrap();
		assert_eq!(record.kind, EvidenceKind::Simulated);
		assert_eq!(record.measurement, m(GENESIS));
		assert_eq!(
			(record.signing_key, record.shielding_key, record.key_set_checksum),
			(alice.signing, alice.shielding, alice.checksum)
		);
		assert_eq!(&record.url[..], b"https://127.0.0.1:7001");
		assert_eq!((record.registered_at, record.attested_at), (1, 1));
		assert_eq!(record.tcb_status, TcbStatus::Simulated);
		assert_eq!(KeySet::<Test>::get(), Some([9; 32]));
		System::assert_has_event(Event::KeySetFixed { checksum: [9; 32] }.into());
		System::assert_last_event(
			Event::Registered {
				account: ALICE,
				measurement: m(GENESIS),
				tcb_status: TcbStatus::Simulated,
				renewed: false,
			}
			.into(),
		);
		// A scheduled successor with the same key set.
		schedule(m(2));
		assert_ok!(register(BOB, &sim_quote(m(2), binding(BOB, &bob)), &[], &bob));
		assert_eq!(EnclaveCount::<Test>::get(), 2);
	});
}

#[test]
fn a_second_key_set_is_refused() {
	build_and_execute(|| {
		let (alice, stray) = (keys(1, 9), keys(2, 8));
		assert_ok!(register(ALICE, &sim_quote(m(GENESIS), binding(ALICE, &alice)), &[], &alice));
		assert_noop!(
			register(BOB, &sim_quote(m(GENESIS), binding(BOB, &stray)), &[], &stray),
			Error::<Test>::KeySetMismatch
		);
		assert_eq!(KeySet::<Test>::get(), Some([9; 32]));
	});
}

#[test]
fn report_data_that_binds_other_keys_or_another_account_is_refused() {
	build_and_execute(|| {
		let alice = keys(1, 9);
		let bound = binding(ALICE, &alice);
		let quote = sim_quote(m(GENESIS), bound);
		// The host swaps in its own shielding key, or its own signing key, or replays the quote
		// from its own account.
		let host_shielding = Keys { shielding: [0x66; 32], ..alice };
		let host_signing = Keys { signing: [0x66; 32], ..alice };
		for (who, keys) in [(ALICE, host_shielding), (ALICE, host_signing), (BOB, alice)] {
			assert_noop!(register(who, &quote, &[], &keys), Error::<Test>::ReportDataMismatch);
		}
		nothing_stored();
	});
}

#[test]
fn a_debug_enclave_is_refused() {
	build_and_execute(|| {
		let alice = keys(1, 9);
		let quote = sim_quote_signed(m(GENESIS), binding(ALICE, &alice), true, 1, &dev_key());
		assert_noop!(register(ALICE, &quote, &[], &alice), Error::<Test>::DebugEnclave);
		nothing_stored();
	});
}

#[test]
fn only_an_active_or_scheduled_measurement_registers() {
	build_and_execute(|| {
		let alice = keys(1, 9);
		assert_noop!(
			register(ALICE, &sim_quote(m(3), binding(ALICE, &alice)), &[], &alice),
			Error::<Test>::MeasurementNotScheduled
		);
		schedule(m(3));
		assert_ok!(EnclaveUpdate::retire_enclave(RuntimeOrigin::root(), m(3)));
		assert_noop!(
			register(ALICE, &sim_quote(m(3), binding(ALICE, &alice)), &[], &alice),
			Error::<Test>::MeasurementRetired
		);
		nothing_stored();
	});
}

#[test]
fn simulated_quotes_need_the_dev_key_and_a_runtime_that_accepts_them() {
	build_and_execute(|| {
		let alice = keys(1, 9);
		let other_key = sp_core::ed25519::Pair::from_seed(&[7; 32]);
		let forged = sim_quote_signed(m(GENESIS), binding(ALICE, &alice), false, 1, &other_key);
		assert_noop!(
			register(ALICE, &forged, &[], &alice),
			Error::<Test>::SimulatedSignatureInvalid
		);
		// What a production runtime (RefuseSimulated) says of a validly signed one.
		let genuine = sim_quote(m(GENESIS), binding(ALICE, &alice));
		assert!(matches!(
			attestation::verify_evidence::<Test, RefuseSimulated>(&genuine, &[], TDX_AT),
			Err(Error::SimulatedEvidenceRefused)
		));
		// And of a DCAP quote it changes nothing.
		let (quote, collateral) = tdx();
		assert!(attestation::verify_evidence::<Test, RefuseSimulated>(&quote, &collateral, TDX_AT)
			.is_ok());
		nothing_stored();
	});
}

#[test]
fn re_attestation_renews_the_record_with_a_new_quote_only() {
	build_and_execute(|| {
		let alice = keys(1, 9);
		let first = sim_quote(m(GENESIS), binding(ALICE, &alice));
		assert_ok!(register(ALICE, &first, &[], &alice));
		System::set_block_number(4);
		assert_noop!(register(ALICE, &first, &[], &alice), Error::<Test>::EvidenceReused);
		// A new quote (here: after an SVN bump) renews it.
		let renewed = sim_quote_signed(m(GENESIS), binding(ALICE, &alice), false, 2, &dev_key());
		assert_ok!(register(ALICE, &renewed, &[], &alice));
		let record = Enclaves::<Test>::get(ALICE).unwrap();
		assert_eq!((record.registered_at, record.attested_at), (1, 4));
		assert_eq!(EnclaveCount::<Test>::get(), 1);
		System::assert_last_event(
			Event::Registered {
				account: ALICE,
				measurement: m(GENESIS),
				tcb_status: TcbStatus::Simulated,
				renewed: true,
			}
			.into(),
		);
	});
}

#[test]
fn a_record_is_pruned_once_its_measurement_is_done_with_the_keys() {
	build_and_execute(|| {
		let (signer, _) = cut_over_at_six();
		// Bob's is active; Alice's is the active one's predecessor, whose cut-over is not
		// committed yet: both still in use.
		for account in [ALICE, BOB] {
			assert_noop!(
				EnclaveRegistry::prune_enclave(RuntimeOrigin::signed(BOB), account),
				Error::<Test>::StillInUse
			);
		}
		// Its commitment is its last hand-over: then anyone may prune it.
		assert_ok!(commit(ALICE, &signer, m(GENESIS), 5, [5; 32]));
		assert_ok!(EnclaveRegistry::prune_enclave(RuntimeOrigin::signed(BOB), ALICE));
		System::assert_last_event(
			Event::Removed { account: ALICE, measurement: m(GENESIS), reason: Removal::Pruned }
				.into(),
		);
		assert_noop!(
			EnclaveRegistry::prune_enclave(RuntimeOrigin::signed(BOB), ALICE),
			Error::<Test>::NotRegistered
		);
		// An account deregisters its own; the key set stays the chain's.
		assert_ok!(EnclaveRegistry::deregister_enclave(RuntimeOrigin::signed(BOB)));
		assert_eq!(EnclaveCount::<Test>::get(), 0);
		assert_eq!(KeySet::<Test>::get(), Some([9; 32]));
	});
}

#[test]
fn a_retired_or_cancelled_measurements_record_is_pruned() {
	build_and_execute(|| {
		const CHARLIE: u64 = 3;
		let (alice, bob, charlie) = (keys(1, 9), keys(2, 9), keys(3, 9));
		assert_ok!(register(ALICE, &sim_quote(m(GENESIS), binding(ALICE, &alice)), &[], &alice));
		schedule(m(2));
		assert_ok!(register(BOB, &sim_quote(m(2), binding(BOB, &bob)), &[], &bob));
		System::set_block_number(2);
		schedule(m(3));
		assert_ok!(register(CHARLIE, &sim_quote(m(3), binding(CHARLIE, &charlie)), &[], &charlie));
		for account in [ALICE, BOB, CHARLIE] {
			assert_noop!(
				EnclaveRegistry::prune_enclave(RuntimeOrigin::signed(ALICE), account),
				Error::<Test>::StillInUse
			);
		}
		// Bob's build is cancelled, Charlie's retired (which cancels it too).
		assert_ok!(EnclaveUpdate::cancel_scheduled(RuntimeOrigin::root(), m(2)));
		assert_ok!(EnclaveRegistry::prune_enclave(RuntimeOrigin::signed(ALICE), BOB));
		assert_ok!(EnclaveUpdate::retire_enclave(RuntimeOrigin::root(), m(3)));
		assert_ok!(EnclaveRegistry::prune_enclave(RuntimeOrigin::signed(ALICE), CHARLIE));
		// The active one's stays.
		assert_noop!(
			EnclaveRegistry::prune_enclave(RuntimeOrigin::signed(BOB), ALICE),
			Error::<Test>::StillInUse
		);
		assert_eq!(Enclaves::<Test>::iter_keys().collect::<Vec<_>>(), vec![ALICE]);
	});
}

/// Runs the registry's `on_idle` of block `now` with `limit`; returns the weight it used.
fn idle(now: u64, limit: Weight) -> Weight {
	<EnclaveRegistry as frame_support::traits::Hooks<u64>>::on_idle(now, limit)
}

/// The weight of the idle-time pass before it looks at a record, and of each look.
fn idle_costs() -> (Weight, Weight) {
	let db: frame_support::weights::RuntimeDbWeight =
		<Test as frame_system::Config>::DbWeight::get();
	(db.reads(2), <() as crate::WeightInfo>::prune_enclave().saturating_add(db.writes(1)))
}

fn removed_in_last_block() -> Vec<u64> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::EnclaveRegistry(Event::Removed { account, reason, .. }) => {
				assert_eq!(reason, Removal::Pruned);
				Some(account)
			},
			_ => None,
		})
		.collect()
}

#[test]
fn idle_time_removes_the_records_of_measurements_done_with_the_keys() {
	build_and_execute(|| {
		// A third enclave, Charlie's, of a build scheduled after Bob's and cancelled.
		const CHARLIE: u64 = 3;
		let (signer, _) = cut_over_at_six();
		let charlie = keys(3, 9);
		schedule(m(3));
		assert_ok!(register(CHARLIE, &sim_quote(m(3), binding(CHARLIE, &charlie)), &[], &charlie));
		assert_ok!(EnclaveUpdate::cancel_scheduled(RuntimeOrigin::root(), m(3)));
		System::reset_events();

		// The first pass: Charlie's goes; Alice's waits for its commitment, Bob's is active.
		idle(6, Weight::MAX);
		assert_eq!(removed_in_last_block(), vec![CHARLIE]);
		assert_eq!(Enclaves::<Test>::iter_keys().count(), 2);
		assert_eq!((PruneCursor::<Test>::get(), NextPrune::<Test>::get()), (None, 16));
		// Until the next pass is due, a block's idle time reads two values and nothing else.
		let (check, _) = idle_costs();
		assert_eq!(idle(7, Weight::MAX), check);

		// A commitment starts a pass at once, which removes Alice's record.
		System::reset_events();
		assert_ok!(commit(ALICE, &signer, m(GENESIS), 5, [5; 32]));
		System::reset_events();
		idle(7, Weight::MAX);
		assert_eq!(removed_in_last_block(), vec![ALICE]);
		assert_eq!(Enclaves::<Test>::iter_keys().collect::<Vec<_>>(), vec![BOB]);
		assert_eq!(EnclaveCount::<Test>::get(), 1);
	});
}

#[test]
fn an_idle_time_pass_stays_within_the_blocks_remaining_weight() {
	build_and_execute(|| {
		// Six records of a retired build and Bob's of the active one.
		let bob = keys(2, 9);
		schedule(m(2));
		let retired: Vec<u64> = (10..16).collect();
		for &who in &retired {
			let keys = keys(who as u8, 9);
			assert_ok!(register(who, &sim_quote(m(GENESIS), binding(who, &keys)), &[], &keys));
		}
		assert_ok!(register(BOB, &sim_quote(m(2), binding(BOB, &bob)), &[], &bob));
		System::set_block_number(6);
		<EnclaveUpdate as frame_support::traits::Hooks<u64>>::on_initialize(6);
		assert_ok!(EnclaveUpdate::retire_enclave(RuntimeOrigin::root(), m(GENESIS)));

		// Too little for one look: nothing read beyond the two values, nothing removed.
		let (check, step) = idle_costs();
		let used = idle(6, check.saturating_add(step).saturating_sub(Weight::from_parts(1, 0)));
		assert_eq!(used, check);
		assert_eq!(EnclaveCount::<Test>::get(), 7);

		// Room for two looks a block: the pass goes on where it stopped, over four blocks.
		let limit = check.saturating_add(step.saturating_mul(2));
		let mut removed = Vec::new();
		for now in 7..=10 {
			System::reset_events();
			let used = idle(now, limit);
			assert!(used.all_lte(limit), "block {now} used {used:?} of {limit:?}");
			removed.extend(removed_in_last_block());
			assert_eq!(PruneCursor::<Test>::get().is_some(), now < 10, "block {now}");
		}
		removed.sort();
		assert_eq!(removed, retired);
		assert_eq!(Enclaves::<Test>::iter_keys().collect::<Vec<_>>(), vec![BOB]);
		assert_eq!(NextPrune::<Test>::get(), 20);
	});
}

/// Alice's enclave (measurement GENESIS) registered with a real signing key, superseded by
/// Bob's at block 6: its last block is 5, whose hash the chain keeps. Returns both enclaves'
/// signing keys.
fn cut_over_at_six() -> (sp_core::ed25519::Pair, sp_core::ed25519::Pair) {
	let signer = sp_core::ed25519::Pair::from_seed(&[0x51; 32]);
	let bob_signer = sp_core::ed25519::Pair::from_seed(&[0x53; 32]);
	let alice = Keys { signing: signer.public().0, ..keys(1, 9) };
	let bob = Keys { signing: bob_signer.public().0, ..keys(2, 9) };
	assert_ok!(register(ALICE, &sim_quote(m(GENESIS), binding(ALICE, &alice)), &[], &alice));
	schedule(m(2));
	assert_ok!(register(BOB, &sim_quote(m(2), binding(BOB, &bob)), &[], &bob));
	frame_system::BlockHash::<Test>::insert(5, sp_core::H256([5; 32]));
	System::set_block_number(6);
	<EnclaveUpdate as frame_support::traits::Hooks<u64>>::on_initialize(6);
	(signer, bob_signer)
}

fn commit(
	who: u64,
	signer: &sp_core::ed25519::Pair,
	measurement: Measurement,
	last_block: u64,
	block_hash: [u8; 32],
) -> frame_support::dispatch::DispatchResult {
	let commitment = CutOverCommitment { measurement, last_block, block_hash, state_hash: [7; 32] };
	let signature = signer.sign(&commitment.message()).0;
	EnclaveRegistry::commit_cut_over(
		RuntimeOrigin::signed(who),
		last_block,
		block_hash,
		[7; 32],
		signature,
	)
}

#[test]
fn the_predecessor_commits_to_its_final_state_once() {
	build_and_execute(|| {
		let (signer, _) = cut_over_at_six();
		assert_ok!(commit(ALICE, &signer, m(GENESIS), 5, [5; 32]));
		assert_eq!(
			CutOvers::<Test>::get(5),
			Some(CutOverCommitment {
				measurement: m(GENESIS),
				last_block: 5,
				block_hash: [5; 32],
				state_hash: [7; 32],
			})
		);
		System::assert_last_event(
			Event::CutOverCommitted {
				account: ALICE,
				measurement: m(GENESIS),
				last_block: 5,
				state_hash: [7; 32],
			}
			.into(),
		);
		assert_noop!(
			commit(ALICE, &signer, m(GENESIS), 5, [5; 32]),
			Error::<Test>::CutOverAlreadyCommitted
		);
	});
}

#[test]
fn a_commitment_not_signed_by_the_registered_key_is_refused() {
	build_and_execute(|| {
		cut_over_at_six();
		let other = sp_core::ed25519::Pair::from_seed(&[0x52; 32]);
		assert_noop!(
			commit(ALICE, &other, m(GENESIS), 5, [5; 32]),
			Error::<Test>::CommitmentSignatureInvalid
		);
		// An account without a record cannot commit at all.
		assert_noop!(commit(3, &other, m(GENESIS), 5, [5; 32]), Error::<Test>::NotRegistered);
		assert!(CutOvers::<Test>::get(5).is_none());
	});
}

#[test]
fn a_commitment_for_the_wrong_block_is_refused() {
	build_and_execute(|| {
		let (signer, bob) = cut_over_at_six();
		// Not the last block of Alice's stretch (it ended at 5).
		frame_system::BlockHash::<Test>::insert(4, sp_core::H256([4; 32]));
		assert_noop!(
			commit(ALICE, &signer, m(GENESIS), 4, [4; 32]),
			Error::<Test>::NotCutOverBlock
		);
		// The right block with another hash, and a block whose hash the chain does not keep.
		assert_noop!(
			commit(ALICE, &signer, m(GENESIS), 5, [6; 32]),
			Error::<Test>::BlockHashMismatch
		);
		frame_system::BlockHash::<Test>::remove(5);
		assert_noop!(
			commit(ALICE, &signer, m(GENESIS), 5, [0; 32]),
			Error::<Test>::BlockHashMismatch
		);
		// Bob's enclave is active: it has no cut-over to commit to yet.
		assert_noop!(commit(BOB, &bob, m(2), 5, [5; 32]), Error::<Test>::NotCutOverBlock);
		assert!(CutOvers::<Test>::iter().next().is_none());
	});
}
