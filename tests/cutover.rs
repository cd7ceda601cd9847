//! The cut-over against the real processes: shielded calls in every block, the old worker A
//! stops after block XYZ − 1, the new worker B continues from A's final snapshot at XYZ, and
//! the state B ends with equals a reference replay of every call from genesis. A block lost
//! would break B's parent-hash chain; a block executed twice would double a counter.

use enclave_update_devnet::{
	chain::{cancel_call, schedule_call},
	procs::Worker,
	story::{
		blocks_without_calls, callers, check_against_replay, reference_replay, sealed_state,
		sim_keys, wait_for_processed, Devnet,
	},
	MEASUREMENT_B, MEASUREMENT_C,
};
use enclave_worker::demo::{seal_call, ShieldedCall};
use std::{
	future::Future,
	sync::{
		atomic::{AtomicBool, AtomicU64, Ordering},
		Arc,
	},
	time::Duration,
};

const TEST_TIMEOUT: Duration = Duration::from_secs(420);
const WAIT: Duration = Duration::from_secs(120);

/// The tests of this file run one at a time: each has a node, workers and traffic of its own,
/// and on a 2-core machine two at once would starve the block pacing they check.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn bounded<F: Future<Output = ()>>(test: F) {
	let _turn = ONE_AT_A_TIME.lock().await;
	tokio::time::timeout(TEST_TIMEOUT, test).await.expect("the test finishes in time");
}

/// Submits shielded calls until stopped: increments of a shared counter, puts, and now and
/// then a malformed ciphertext. Three submitters, one per account and each on its own
/// connection, so one slow round trip does not leave a block without calls (the node seals on
/// its interval only). Counts what the node accepted.
struct Traffic {
	stop: Arc<AtomicBool>,
	submitted: Arc<AtomicU64>,
	tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Traffic {
	fn start(devnet: &Devnet) -> Traffic {
		let stop = Arc::new(AtomicBool::new(false));
		let submitted = Arc::new(AtomicU64::new(0));
		let key = devnet.shielding_public_key().unwrap();
		let genesis = devnet.genesis_hash;
		let tasks = callers()
			.into_iter()
			.enumerate()
			.map(|(account, signer)| {
				let (stop, submitted, url) = (stop.clone(), submitted.clone(), devnet.node.url());
				tokio::spawn(async move {
					let chain =
						enclave_update_devnet::chain::Chain::connect(&url, WAIT).await.unwrap();
					let mut i = account as u64;
					while !stop.load(Ordering::Relaxed) {
						let call = match i % 3 {
							0 => ShieldedCall::Increment { key: b"counter".to_vec(), by: 1 },
							1 => ShieldedCall::Put {
								key: format!("key-{}", i % 17).into_bytes(),
								value: i.to_le_bytes().to_vec(),
							},
							_ => ShieldedCall::Increment {
								key: format!("c{}", i % 5).into_bytes(),
								by: i,
							},
						};
						let ciphertext = if i % 11 == 10 {
							b"not a shielded call".to_vec()
						} else {
							seal_call(&key, &genesis, &call)
						};
						// A submission the pool refuses (rare) is not counted; the next goes on.
						if chain.submit_shielded(&ciphertext, &signer).await.is_ok() {
							submitted.fetch_add(1, Ordering::Relaxed);
						}
						i += 3;
						tokio::time::sleep(Duration::from_millis(60)).await;
					}
				})
			})
			.collect();
		Traffic { stop, submitted, tasks }
	}

	async fn stop(self) -> u64 {
		self.stop.store(true, Ordering::Relaxed);
		for task in self.tasks {
			let _ = task.await;
		}
		self.submitted.load(Ordering::Relaxed)
	}
}

fn status_u64(worker: &Worker, field: &str) -> Option<u64> {
	worker.status().unwrap()[field].as_u64()
}

#[tokio::test(flavor = "multi_thread")]
async fn cut_over_executes_every_block_exactly_once() {
	bounded(async {
		let root = tempfile::tempdir().unwrap();
		let mut devnet = Devnet::start(root.path()).await.unwrap();
		let traffic = Traffic::start(&devnet);

		let xyz = devnet.chain.finalized_number().await.unwrap() + 30;
		devnet.chain.sudo_ok(schedule_call(&MEASUREMENT_B, xyz)).await.unwrap();
		let b = devnet.worker(root.path(), "B", MEASUREMENT_B);
		wait_for_processed(&devnet.a, 1, WAIT).await.unwrap();
		let got = b.request_keys(&devnet.a.provide_addr()).unwrap();
		assert!(got.success, "{}", got.stderr);
		let b_run = b.run(Some(&devnet.a.provide_addr())).unwrap();

		// At least 50 blocks with calls, the cut-over in the middle.
		wait_for_processed(&b, u64::from(xyz) + 25, WAIT).await.unwrap();
		let calls_until = devnet.chain.finalized_number().await.unwrap();
		let submitted = traffic.stop().await;
		let last = devnet.chain.finalized_number().await.unwrap() + 2;
		devnet.chain.wait_for_finalized(last, WAIT).await.unwrap();
		wait_for_processed(&b, u64::from(last), WAIT).await.unwrap();
		assert!(calls_until >= 50 && submitted >= 100, "{calls_until} blocks, {submitted} calls");
		// Calls in the blocks from the scheduling to the end of the traffic, across the
		// cut-over. The node seals on its own clock and the test paces the traffic, so a stalled
		// submission may leave a rare block empty: at most two, never the cut-over's.
		let empty = blocks_without_calls(&devnet.chain, xyz - 28, calls_until).await.unwrap();
		println!("blocks without calls in #{}..=#{calls_until}: {empty:?}", xyz - 28);
		assert!(empty.len() <= 2, "blocks without calls: {empty:?}");
		assert!(!empty.contains(&(xyz - 1)) && !empty.contains(&xyz), "{empty:?}");

		let a_status = devnet.a.status().unwrap();
		let b_status = b.status().unwrap();
		assert_eq!(a_status["readiness"], "Retired", "{a_status}");
		assert_eq!(a_status["last_processed_block"], u64::from(xyz) - 1, "A stops at XYZ-1");
		assert_eq!(b_status["readiness"], "Active", "{b_status}");
		assert_eq!(a_status["key_checksum"], b_status["key_checksum"]);

		// The reference: every call from genesis, replayed in the test.
		let keys = sim_keys(&devnet.a).unwrap();
		let b_state = sealed_state(&b, &keys).unwrap();
		assert!(b_state.block_number >= u64::from(last));
		let upto = u32::try_from(b_state.block_number).unwrap();
		let reference =
			reference_replay(&devnet.chain, devnet.genesis_hash, &keys, upto).await.unwrap();
		assert_eq!(b_state, reference, "B's state equals the replay of all calls");
		assert!(reference.applied_total > 40 && reference.skipped_total > 0, "{reference:?}");
		// Continuity: A's final state is the replay up to XYZ-1, and B went on from it.
		let at_cut_over =
			reference_replay(&devnet.chain, devnet.genesis_hash, &keys, xyz - 1).await.unwrap();
		assert_eq!(
			a_status["state_hash"].as_str().unwrap(),
			format!("0x{}", hex::encode(at_cut_over.state_hash))
		);
		assert_eq!(sealed_state(&devnet.a, &keys).unwrap(), at_cut_over);

		b_run.stop(Duration::from_secs(10));
		devnet.a_run.take().unwrap().stop(Duration::from_secs(10));
	})
	.await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_successor_catches_up_and_a_cancelled_schedule_changes_nothing() {
	bounded(async {
		let root = tempfile::tempdir().unwrap();
		let devnet = Devnet::start(root.path()).await.unwrap();
		let traffic = Traffic::start(&devnet);
		let xyz = devnet.chain.finalized_number().await.unwrap() + 20;
		devnet.chain.sudo_ok(schedule_call(&MEASUREMENT_B, xyz)).await.unwrap();
		let b = devnet.worker(root.path(), "B", MEASUREMENT_B);
		wait_for_processed(&devnet.a, 1, WAIT).await.unwrap();
		assert!(b.request_keys(&devnet.a.provide_addr()).unwrap().success);

		// B starts only well after its activation block: A stopped at XYZ-1 meanwhile.
		devnet.chain.wait_for_finalized(xyz + 10, WAIT).await.unwrap();
		assert_eq!(status_u64(&devnet.a, "last_processed_block"), Some(u64::from(xyz) - 1));
		let _b_run = b.run(Some(&devnet.a.provide_addr())).unwrap();
		wait_for_processed(&b, u64::from(xyz) + 12, WAIT).await.unwrap();

		// C is scheduled after B, gets the keys from B, and is cancelled before its block.
		let c_at = devnet.chain.finalized_number().await.unwrap() + 25;
		devnet.chain.sudo_ok(schedule_call(&MEASUREMENT_C, c_at)).await.unwrap();
		let c = devnet.worker(root.path(), "C", MEASUREMENT_C);
		let got = c.request_keys(&b.provide_addr()).unwrap();
		assert!(got.success, "{}", got.stderr);
		let _c_run = c.run(Some(&b.provide_addr())).unwrap();
		devnet.chain.sudo_ok(cancel_call(&MEASUREMENT_C)).await.unwrap();
		wait_for_processed(&b, u64::from(c_at) + 5, WAIT).await.unwrap();

		let submitted = traffic.stop().await;
		assert!(submitted > 0);
		let last = devnet.chain.finalized_number().await.unwrap() + 2;
		devnet.chain.wait_for_finalized(last, WAIT).await.unwrap();
		wait_for_processed(&b, u64::from(last), WAIT).await.unwrap();
		let c_status = c.status().unwrap();
		assert_eq!(c_status["readiness"], "Standby", "{c_status}");
		assert!(c_status["last_processed_block"].is_null(), "C executed nothing: {c_status}");
		assert_eq!(b.status().unwrap()["readiness"], "Active");

		let keys = sim_keys(&devnet.a).unwrap();
		check_against_replay(&devnet.chain, devnet.genesis_hash, &b, &keys).await.unwrap();
	})
	.await;
}
