//! The cut-over against the real processes: shielded calls in every block, the old worker A
//! stops after block XYZ − 1, the new worker B continues from A's final snapshot at XYZ, and
//! the state B ends with equals a reference replay of every call from genesis. A block lost
//! would break B's parent-hash chain; a block executed twice would double a counter.
//!
//! Once A has registered (the chain has a key set), B takes A's final snapshot only as A's
//! enclave committed to it on chain: a snapshot of the same block written by another holder of
//! the state key is refused, and B waits for the committed one.

use enclave_update_devnet::{
	chain::{cancel_call, schedule_call},
	procs::{commit_cut_over, register, wait_until, Worker},
	story::{
		blocks_without_calls, callers, check_against_replay, check_cut_over, reference_replay,
		sealed_state, sim_keys, wait_for_processed, Devnet,
	},
	testing::Turns,
	MEASUREMENT_B, MEASUREMENT_C,
};
use enclave_worker::{
	attestation::{AttestationPolicy, Verifier},
	chain::rpc::RpcChain,
	demo::{seal_call, ExecutedState, ShieldedCall},
	keys::{KeyMaterial, StateKey},
	provisioning::{
		fetch_snapshot,
		protocol::{Connection, Message},
		request_keys, RequesterConfig, SnapshotFetchConfig, WireError,
	},
	store::{decode_snapshot, encode_snapshot, Store},
	tee::{SimTee, Tee},
};
use std::{
	future::Future,
	path::Path,
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
static ONE_AT_A_TIME: Turns = Turns::new();

async fn bounded<F: Future<Output = ()>>(test: F) {
	ONE_AT_A_TIME.bounded(TEST_TIMEOUT, test).await;
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
		check_cut_over(&a_status, &b.status().unwrap(), xyz).unwrap();

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
		let at_cut_over = reference_replay(&devnet.chain, devnet.genesis_hash, &keys, xyz - 1)
			.await
			.unwrap();
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
		check_against_replay(&devnet.chain, devnet.genesis_hash, &b, &keys)
			.await
			.unwrap();
	})
	.await;
}

/// The keys of an enclave of build B on a broken platform, one whose host reads its memory: A
/// hands them to it as to any attested enclave of a scheduled build (its quote is genuine), and
/// its host takes them from its sealed store (its own platform's sealing key, not A's or B's).
async fn keys_of_a_broken_enclave(devnet: &Devnet, root: &Path) -> KeyMaterial {
	let data_dir = root.join("broken-b");
	std::fs::create_dir_all(&data_dir).unwrap();
	let tee = SimTee::in_data_dir(MEASUREMENT_B, &data_dir);
	let store = Store::open(&data_dir).unwrap();
	let node = RpcChain::connect(&devnet.node.url(), Some(devnet.genesis_hash), None)
		.await
		.unwrap();
	let verifier = Verifier::new(AttestationPolicy::dev());
	let provider = devnet.a.provide_addr();
	request_keys(provider.as_str(), &tee, &verifier, &node, &store, &RequesterConfig::default())
		.await
		.expect("A hands the keys to an attested enclave of the scheduled build");
	store.read_sealed_keys(&tee.sealing_key().unwrap(), &MEASUREMENT_B).unwrap().0
}

/// A snapshot server in front of A's provisioning port, run by the broken enclave's host: while
/// `forging`, it answers a request for the state after `last_block` with a state of its own
/// making for that block (encrypted with the stolen state key, named as A's); otherwise, and
/// for any other block, with A's own answer.
struct Forger {
	addr: String,
	forging: Arc<AtomicBool>,
	forged: Arc<AtomicU64>,
	task: tokio::task::JoinHandle<()>,
}

impl Forger {
	async fn start(upstream: String, state_key: StateKey, last_block: u64) -> Forger {
		let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
		let addr = listener.local_addr().unwrap().to_string();
		let forging = Arc::new(AtomicBool::new(true));
		let forged = Arc::new(AtomicU64::new(0));
		let state_key = Arc::new(state_key);
		let (task_forging, task_forged) = (forging.clone(), forged.clone());
		let task = tokio::spawn(async move {
			while let Ok((stream, _)) = listener.accept().await {
				let (upstream, state_key) = (upstream.clone(), state_key.clone());
				let (forging, forged) = (task_forging.clone(), task_forged.clone());
				tokio::spawn(async move {
					let mut conn = Connection::new(stream, 64 << 20, Duration::from_secs(30));
					let Ok(Message::SnapshotRequest(request)) = conn.recv("a request").await else {
						return;
					};
					let config = SnapshotFetchConfig::default();
					let answer = match fetch_snapshot(
						upstream.as_str(),
						request.genesis_hash,
						&config,
					)
					.await
					{
						Ok(mut response) => {
							if forging.load(Ordering::SeqCst) {
								if let Some(file) = forge(&state_key, &response.file, last_block) {
									response.file = file;
									forged.fetch_add(1, Ordering::SeqCst);
								}
							}
							Message::SnapshotResponse(response)
						},
						Err(WireError::Refused(reason)) => Message::Refused { reason },
						// A not reachable: the requester sees the connection close, and retries.
						Err(_) => return,
					};
					let _ = conn.send(&answer).await;
				});
			}
		});
		Forger { addr, forging, forged, task }
	}
}

impl Drop for Forger {
	fn drop(&mut self) {
		self.task.abort();
	}
}

/// A's snapshot `file` rewritten, if it is the state after `last_block`: one call that never was
/// (a million added to the shared counter) and a state hash to match, which the snapshot's own
/// checks cannot tell from A's.
fn forge(state_key: &StateKey, file: &[u8], last_block: u64) -> Option<Vec<u8>> {
	let snapshot = decode_snapshot(state_key, file.to_vec()).ok()?;
	let mut state = ExecutedState::from_snapshot(&snapshot).ok()?;
	if state.block_number != last_block {
		return None;
	}
	state
		.state
		.apply(ShieldedCall::Increment { key: b"counter".to_vec(), by: 1_000_000 });
	state.state_hash = sp_crypto_hashing::blake2_256(&[&b"forged"[..], &state.state_hash].concat());
	let bytes = state.to_bytes();
	encode_snapshot(state_key, &snapshot.written_by, last_block, &state.state_hash, &bytes).ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_successor_refuses_a_snapshot_other_than_the_committed_one() {
	bounded(async {
		let root = tempfile::tempdir().unwrap();
		let mut devnet = Devnet::start(root.path()).await.unwrap();
		let node_url = devnet.node.url();
		wait_for_processed(&devnet.a, 1, WAIT).await.unwrap();
		// A registers from Alice's account: the chain now has a key set, so its cut-overs are
		// committed.
		let alice =
			format!("0x{}", hex::encode(subxt_signer::sr25519::dev::alice().public_key().0));
		let evidence = devnet.a.register_evidence(&alice).unwrap();
		let registered =
			register(&node_url, &evidence, &devnet.a.provide_addr(), "//Alice").unwrap();
		assert!(registered.success, "{}", registered.stderr);
		let traffic = Traffic::start(&devnet);

		let xyz = devnet.chain.finalized_number().await.unwrap() + 25;
		devnet.chain.sudo_ok(schedule_call(&MEASUREMENT_B, xyz)).await.unwrap();
		let b = devnet.worker(root.path(), "B", MEASUREMENT_B);
		let got = b.request_keys(&devnet.a.provide_addr()).unwrap();
		assert!(got.success, "{}", got.stderr);
		let stolen = keys_of_a_broken_enclave(&devnet, root.path()).await;
		let forger = Forger::start(devnet.a.provide_addr(), stolen.state, u64::from(xyz - 1)).await;
		// B's host points it at the forger for its predecessor's snapshot.
		let b_run = b.run(Some(&forger.addr)).unwrap();

		// A's operator submits the commitment A signed when it stopped after XYZ - 1.
		let commitment = devnet.a.cut_over_commitment();
		wait_until("A's cut-over commitment", WAIT, Duration::from_millis(200), || async {
			Ok(commitment.is_file())
		})
		.await
		.unwrap();
		let committed = commit_cut_over(&node_url, &commitment, "//Alice").unwrap();
		assert!(committed.success, "{}", committed.stderr);

		// B refuses the forged state, more than once, and executes nothing.
		let refusal = "is not the state committed on chain";
		wait_until("B's refusals of the forged snapshot", WAIT, Duration::from_millis(200), || {
			let refused = b_run.log().matches(refusal).count() >= 2;
			async move { Ok(refused) }
		})
		.await
		.unwrap();
		assert!(forger.forged.load(Ordering::SeqCst) >= 2);
		assert_eq!(status_u64(&b, "last_processed_block"), None, "B executed on a forged state");
		assert!(
			!b_run.log().contains("took over the predecessor's final state"),
			"{}",
			b_run.log()
		);

		// Served A's snapshot, B takes it over: the committed state, then every block on it.
		forger.forging.store(false, Ordering::SeqCst);
		wait_for_processed(&b, u64::from(xyz) + 5, WAIT).await.unwrap();
		traffic.stop().await;
		let last = devnet.chain.finalized_number().await.unwrap() + 2;
		devnet.chain.wait_for_finalized(last, WAIT).await.unwrap();
		wait_for_processed(&b, u64::from(last), WAIT).await.unwrap();
		// It took over once, and the state it took is A's final one, as committed.
		let log = b_run.log();
		assert_eq!(log.matches("took over the predecessor's final state").count(), 1, "{log}");
		let a_final = devnet.a.status().unwrap()["state_hash"].as_str().unwrap().to_string();
		let took = log.lines().find(|l| l.contains("took over the predecessor's")).unwrap();
		assert!(took.contains(a_final.trim_start_matches("0x")), "{took} vs A's {a_final}");
		let keys = sim_keys(&devnet.a).unwrap();
		let b_state = check_against_replay(&devnet.chain, devnet.genesis_hash, &b, &keys)
			.await
			.unwrap();
		assert!(b_state.state.counter(b"counter") < 1_000_000, "the forged call is in B's state");

		b_run.stop(Duration::from_secs(10));
		devnet.a_run.take().unwrap().stop(Duration::from_secs(10));
	})
	.await;
}
