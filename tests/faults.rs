//! Fault injection against the real processes. Workers, the requester and the node killed with
//! SIGKILL at the steps of the hand-over and the cut-over; the hand-over's and the snapshot
//! transfer's connections closed abruptly; a torn snapshot on disk; a worker whose disk is full
//! (RLIMIT_FSIZE: its snapshot writes fail part-way). (The devnet driver stopped or killed is
//! `devnet/tests/driver.rs`.) After every restart the key checksums are unchanged and the state the
//! new worker ends with equals a replay of every call from genesis: nothing lost, nothing executed
//! twice.

use enclave_update_devnet::{
	chain::{schedule_call, Chain},
	fault_proxy::{forwarded, handover_relay, SnapshotRelay, Transfer},
	procs::{wait_until, Process, Worker},
	story::{
		callers, check_against_replay, sim_keys, wait_for_processed, wait_serving, Devnet,
		NODE_STARTUP,
	},
	testing::Turns,
	MEASUREMENT_B,
};
use enclave_worker::{
	demo::{ShieldedCall, MAX_VALUE_LEN},
	status::STATUS_FILE,
	store::Store,
};
use std::{future::Future, os::unix::process::CommandExt, time::Duration};

const TEST_TIMEOUT: Duration = Duration::from_secs(480);
const WAIT: Duration = Duration::from_secs(120);

/// The tests of this file run one at a time: each has a node and workers of its own, and kills
/// and restarts them; two at once on a 2-core machine would starve the restarts they time.
static ONE_AT_A_TIME: Turns = Turns::new();

async fn bounded<F: Future<Output = ()>>(test: F) {
	ONE_AT_A_TIME.bounded(TEST_TIMEOUT, test).await;
}

fn field(worker: &Worker, name: &str) -> serde_json::Value {
	worker.status().unwrap()[name].clone()
}

/// Submits `count` increments of `counter`, one per caller in turn; returns `count`.
async fn some_calls(devnet: &Devnet, count: u64) -> u64 {
	let callers = callers();
	for i in 0..count {
		let call = ShieldedCall::Increment { key: b"counter".to_vec(), by: 1 };
		devnet.submit_call(&call, &callers[(i % 3) as usize]).await.unwrap();
	}
	count
}

/// Waits until the node's pool is empty and the block holding the last call is final: every
/// call submitted so far is in the finalized chain, so killing the node loses none of them (a
/// block GRANDPA has not finalized yet may be lost with the process).
async fn all_included(chain: &Chain) {
	wait_until("every submitted call is in a block", WAIT, Duration::from_millis(100), || async {
		let pending: Vec<serde_json::Value> = chain
			.rpc
			.request("author_pendingExtrinsics", subxt::rpcs::rpc_params![])
			.await?;
		Ok(pending.is_empty())
	})
	.await
	.unwrap();
	let best = chain.best_number().await.unwrap();
	chain.wait_for_finalized(best, WAIT).await.unwrap();
}

/// Kills the node and starts it again on its database, with a new client.
async fn crash_node(mut devnet: Devnet) -> Devnet {
	devnet.node = devnet.node.crash_and_restart().unwrap();
	devnet.chain = Chain::connect(&devnet.node.url(), NODE_STARTUP).await.unwrap();
	devnet
}

/// Whether the log of `process`, its colours taken out, mentions `text` at least `times` times.
fn logged(process: &Process, text: &str, times: usize) -> bool {
	let mut plain = String::new();
	let mut in_escape = false;
	for c in process.log().chars() {
		match (in_escape, c) {
			(false, '\u{1b}') => in_escape = true,
			(false, c) => plain.push(c),
			(true, 'm') => in_escape = false,
			(true, _) => {},
		}
	}
	plain.matches(text).count() >= times
}

/// Lifts the file-size limit (RLIMIT_FSIZE) of the running process `pid`: space again.
fn lift_file_size_limit(pid: u32) {
	let unlimited = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
	// SAFETY: prlimit(2) on our own child with a valid rlimit; nothing is read back.
	let done = unsafe {
		libc::prlimit(
			libc::pid_t::try_from(pid).unwrap(),
			libc::RLIMIT_FSIZE,
			&unlimited,
			std::ptr::null_mut(),
		)
	};
	assert_eq!(done, 0, "prlimit: {}", std::io::Error::last_os_error());
}

/// Starts `worker` (no predecessor) unable to write a file beyond `limit` bytes, as on a full
/// disk: a write past it stores what fits and fails with EFBIG (SIGXFSZ is ignored, so the
/// signal does not kill the worker first).
fn run_on_a_full_disk(worker: &Worker, limit: libc::rlim_t) -> Process {
	worker
		.run_adjusted(None, |command| {
			// SAFETY: signal(2) and setrlimit(2) are async-signal-safe and allocate nothing.
			unsafe {
				command.pre_exec(move || {
					libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
					let limit = libc::rlimit { rlim_cur: limit, rlim_max: libc::RLIM_INFINITY };
					if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
						return Err(std::io::Error::last_os_error());
					}
					Ok(())
				});
			}
		})
		.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn kills_at_every_step_lose_nothing() {
	bounded(async {
		let root = tempfile::tempdir().unwrap();
		let mut devnet = Devnet::start(root.path()).await.unwrap();
		let a_checksum = field(&devnet.a, "key_checksum");
		let mut increments = some_calls(&devnet, 6).await;
		// Large values, so that A's snapshot is several times its status file: a file-size limit
		// between the two fails the snapshot writes only.
		for i in 0..6u8 {
			let call = ShieldedCall::Put {
				key: format!("large-{i}").into_bytes(),
				value: vec![i; MAX_VALUE_LEN],
			};
			devnet.submit_call(&call, &callers()[usize::from(i % 3)]).await.unwrap();
		}
		wait_for_processed(&devnet.a, 3, WAIT).await.unwrap();

		// The old worker is killed mid-execution, twice, and resumes from its sealed state.
		for _ in 0..2 {
			let before = field(&devnet.a, "last_processed_block").as_u64().unwrap();
			devnet.a_run.take().unwrap().kill9();
			increments += some_calls(&devnet, 3).await;
			devnet.a_run = Some(devnet.a.run(None).unwrap());
			wait_for_processed(&devnet.a, before + 3, WAIT).await.unwrap();
		}
		assert_eq!(field(&devnet.a, "key_checksum"), a_checksum);

		// The provider dies while B asks for the keys: B gets nothing, and later gets them.
		let xyz = devnet.chain.finalized_number().await.unwrap() + 24;
		devnet.chain.sudo_ok(schedule_call(&MEASUREMENT_B, xyz)).await.unwrap();
		let b = devnet.worker(root.path(), "B", MEASUREMENT_B);
		devnet.a_run.take().unwrap().kill9();
		let refused = b.request_keys(&devnet.a.provide_addr()).unwrap();
		assert!(!refused.success, "B got keys from a dead provider");
		devnet.a_run = Some(devnet.a.run(None).unwrap());
		gets_the_keys(&b, &devnet.a, &a_checksum, "B gets the keys from the restarted A").await;

		// B fetches A's final state through a relay that refuses every fetch until told
		// otherwise.
		let mut relay = SnapshotRelay::start(devnet.a.provide_addr()).await;
		let b_run = b.run(Some(&relay.addr)).unwrap();

		// The old worker goes down well before the cut-over, and the new one is killed in
		// standby and restarted.
		wait_for_processed(&devnet.a, u64::from(xyz) - 10, WAIT).await.unwrap();
		devnet.a_run.take().unwrap().kill9();
		wait_until("B runs in standby", WAIT, Duration::from_millis(100), || async {
			Ok(logged(&b_run, "role=Standby", 1))
		})
		.await
		.unwrap();
		b_run.kill9();
		assert!(devnet.chain.finalized_number().await.unwrap() < xyz, "B was not in standby");
		let b_run = b.run(Some(&relay.addr)).unwrap();

		// The node is killed at the cut-over, while A is down, and restarted on its database.
		increments += some_calls(&devnet, 6).await;
		all_included(&devnet.chain).await;
		devnet.chain.wait_for_finalized(xyz - 1, WAIT).await.unwrap();
		devnet = crash_node(devnet).await;
		devnet.chain.wait_for_finalized(xyz + 4, WAIT).await.unwrap();
		// B waits in standby for A's final state rather than starting from anything else.
		assert_eq!(field(&b, "readiness"), "Standby");
		assert!(field(&b, "last_processed_block").is_null(), "B started without A's final state");

		// A comes back on a full disk: it executes its next block but cannot seal it, so it
		// stays at its last sealed state (intact, and the replay of every call up to it),
		// retries that block rather than go on without it, and reports nothing beyond it;
		// killed in that state and restarted, likewise. More failed writes than blocks left to
		// XYZ - 1 tell a retry from a worker that went on unsealed (and, past its last block,
		// would never write again).
		let keys = sim_keys(&devnet.a).unwrap();
		let sealed = check_against_replay(&devnet.chain, devnet.genesis_hash, &devnet.a, &keys)
			.await
			.unwrap();
		assert!(sealed.block_number < u64::from(xyz) - 1, "{sealed:?}");
		let status_len = std::fs::metadata(devnet.a.data_dir.join(STATUS_FILE)).unwrap().len();
		let limit = status_len + 512;
		assert!(sealed.to_bytes().len() as u64 > limit + 512, "the snapshot fits the limit");
		let failed_writes = usize::try_from(u64::from(xyz) - 1 - sealed.block_number).unwrap() + 3;
		for attempt in 0..2 {
			let a_run = run_on_a_full_disk(&devnet.a, limit);
			wait_until(
				"A fails to seal, and retries",
				WAIT,
				Duration::from_millis(100),
				|| async { Ok(logged(&a_run, "File too large", failed_writes)) },
			)
			.await
			.unwrap_or_else(|e| panic!("{e}: {}", a_run.log()));
			let now =
				check_against_replay(&devnet.chain, devnet.genesis_hash, &devnet.a, &keys).await;
			assert_eq!(now.unwrap(), sealed, "attempt {attempt}: the sealed state changed");
			let reported = field(&devnet.a, "last_processed_block").as_u64().unwrap();
			assert!(reported <= sealed.block_number, "A reports #{reported}, sealed {sealed:?}");
			if attempt == 0 {
				a_run.kill9();
				continue;
			}
			// Space again: the same process seals from its last good state up to XYZ - 1.
			lift_file_size_limit(a_run.pid());
			wait_for_processed(&devnet.a, u64::from(xyz) - 1, WAIT).await.unwrap();
			let last =
				check_against_replay(&devnet.chain, devnet.genesis_hash, &devnet.a, &keys).await;
			assert_eq!(last.unwrap().block_number, u64::from(xyz) - 1);
			assert_eq!(field(&devnet.a, "readiness"), "Retired");
			devnet.a_run = Some(a_run);
		}

		// The snapshot transfer: B is killed while it waits for the snapshot; A is killed after
		// B's request reached it; the transfer is cut half-way. B retries each time.
		devnet.a_run.take().unwrap().kill9();
		relay.plan(&[Transfer::Hold, Transfer::Forward, Transfer::Truncate], Transfer::Pass);
		assert_eq!(relay.reached().await, Transfer::Hold);
		b_run.kill9();
		assert!(field(&b, "last_processed_block").is_null());
		let b_run = b.run(Some(&relay.addr)).unwrap();
		devnet.a_run = Some(devnet.a.run(None).unwrap());
		assert_eq!(relay.reached().await, Transfer::Forward);
		devnet.a_run.take().unwrap().kill9();
		devnet.a_run = Some(devnet.a.run(None).unwrap());
		assert_eq!(relay.reached().await, Transfer::Truncate);
		wait_for_processed(&b, u64::from(xyz) + 6, WAIT).await.unwrap();
		assert_eq!(field(&devnet.a, "last_processed_block"), u64::from(xyz) - 1);
		// The half snapshot was refused as such, not taken for anything.
		assert!(logged(&b_run, "bytes remaining on stream", 1), "{}", b_run.log());

		// The new worker is killed, and its newest snapshot is torn (as by a full disk): it
		// falls back to the previous good copy and re-executes the block whose state was lost.
		b_run.kill9();
		let snapshot = Store::open(&b.data_dir).unwrap().snapshot_path();
		let bytes = std::fs::read(&snapshot).unwrap();
		std::fs::write(&snapshot, &bytes[..bytes.len() / 2]).unwrap();
		increments += some_calls(&devnet, 4).await;
		let b_run = b.run(Some(&devnet.a.provide_addr())).unwrap();
		let now = devnet.chain.finalized_number().await.unwrap();
		wait_for_processed(&b, u64::from(now) + 2, WAIT).await.unwrap();

		// The node is killed again after the cut-over: the workers reconnect and go on.
		all_included(&devnet.chain).await;
		devnet = crash_node(devnet).await;
		increments += some_calls(&devnet, 4).await;
		// The calls are in the finalized chain before B's progress is compared with it.
		all_included(&devnet.chain).await;
		let last = devnet.chain.finalized_number().await.unwrap() + 3;
		devnet.chain.wait_for_finalized(last, WAIT).await.unwrap();
		wait_for_processed(&b, u64::from(last), WAIT).await.unwrap();

		assert_eq!(field(&devnet.a, "key_checksum"), a_checksum);
		assert_eq!(field(&b, "key_checksum"), a_checksum);
		let reference = check_against_replay(&devnet.chain, devnet.genesis_hash, &b, &keys)
			.await
			.unwrap();
		// Every increment submitted applied exactly once.
		assert_eq!(reference.state.counter(b"counter"), increments, "{reference:?}");
		b_run.stop(Duration::from_secs(10));
	})
	.await;
}

/// After a fault in `b`'s hand-over: B holds no keys, or A's complete keys (`status` unseals
/// them); a direct retry then gets A's keys, and A's are unchanged. Returns whether B held
/// keys after the fault.
/// `requester` asks `provider` for the keys until it has them (at most [`WAIT`]), and then holds
/// the keys with `checksum`.
async fn gets_the_keys(
	requester: &Worker,
	provider: &Worker,
	checksum: &serde_json::Value,
	what: &str,
) {
	let from = provider.provide_addr();
	wait_until(what, WAIT, Duration::from_millis(300), || async {
		Ok(requester.request_keys(&from)?.success)
	})
	.await
	.unwrap();
	assert_eq!(&field(requester, "key_checksum"), checksum, "{what}");
}

fn keys_whole_or_none(devnet: &Devnet, b: &Worker, a_checksum: &serde_json::Value) -> bool {
	let held = Store::open(&b.data_dir).unwrap().has_keys();
	if held {
		assert_eq!(&field(b, "key_checksum"), a_checksum, "B holds other keys");
	}
	let retry = b.request_keys(&devnet.a.provide_addr()).unwrap();
	assert!(retry.success, "retry of {}: {}", b.name, retry.stderr);
	assert_eq!(&field(b, "key_checksum"), a_checksum);
	assert_eq!(&field(&devnet.a, "key_checksum"), a_checksum);
	held
}

#[tokio::test(flavor = "multi_thread")]
async fn hand_over_faults_lose_no_key() {
	bounded(async {
		let root = tempfile::tempdir().unwrap();
		let mut devnet = Devnet::start(root.path()).await.unwrap();
		let a_checksum = field(&devnet.a, "key_checksum");
		let xyz = devnet.chain.finalized_number().await.unwrap() + 200;
		devnet.chain.sudo_ok(schedule_call(&MEASUREMENT_B, xyz)).await.unwrap();
		wait_serving(&devnet.a.provide_addr(), WAIT).await.unwrap();

		// The connection closed abruptly before each frame.
		for cut_after in 0..5 {
			let b = devnet.worker(root.path(), &format!("B-cut{cut_after}"), MEASUREMENT_B);
			let (relay, _) = handover_relay(devnet.a.provide_addr(), Some(cut_after)).await;
			let cut = b.request_keys(&relay).unwrap();
			let held = keys_whole_or_none(&devnet, &b, &a_checksum);
			if cut_after < 4 {
				// The keys never reached B: nothing written, a clear error.
				assert!(!cut.success, "cut after {cut_after} frames: {}", cut.stdout);
				assert!(!held, "cut after {cut_after} frames wrote keys");
			} else {
				// B had the keys and sealed them; only its acknowledgement was lost.
				assert!(held);
			}
		}

		// The requester killed (SIGKILL) at each step: while it builds its key request, and
		// from the moment the keys reach it (it checks them, unseals, seals them to itself and
		// acknowledges) at increasing delays, and once it has acknowledged.
		let (relay, mut progress) = handover_relay(devnet.a.provide_addr(), None).await;
		let after_the_keys_ms = [0, 2, 5, 10, 20, 35, 50, 70, 100, 150];
		let kill_points = std::iter::once((2, 0))
			.chain(after_the_keys_ms.map(|ms| (4, ms)))
			.chain([(5, 0)]);
		let mut outcomes = Vec::new();
		for (i, (frames, delay_ms)) in kill_points.enumerate() {
			let b = devnet.worker(root.path(), &format!("B-kill{i}"), MEASUREMENT_B);
			// Whatever the last killed hand-over still got through is not this one's progress.
			while progress.try_recv().is_ok() {}
			let requester = b.start_request_keys(&relay).unwrap();
			forwarded(&mut progress, frames).await;
			tokio::time::sleep(Duration::from_millis(delay_ms)).await;
			requester.kill9();
			let held = keys_whole_or_none(&devnet, &b, &a_checksum);
			match frames {
				2 => assert!(!held, "keys before the provider sent any"),
				5 => assert!(held, "no keys after the acknowledgement"),
				_ => {},
			}
			outcomes.push(format!(
				"killed {delay_ms} ms after frame {frames}: {}",
				if held { "complete keys" } else { "no keys" }
			));
		}
		println!("requester kills: {outcomes:#?}");

		// The node killed (SIGKILL) while the provider decides on a key request, and restarted
		// on its database: the hand-over fails or completes, whole; once the workers have
		// reconnected it completes.
		let b = devnet.worker(root.path(), "B-node", MEASUREMENT_B);
		while progress.try_recv().is_ok() {}
		let mut requester = b.start_request_keys(&relay).unwrap();
		forwarded(&mut progress, 3).await;
		devnet = crash_node(devnet).await;
		wait_until("the requester ends by itself", WAIT, Duration::from_millis(100), || {
			let ended = requester.exited().is_some();
			async move { Ok(ended) }
		})
		.await
		.unwrap();
		if Store::open(&b.data_dir).unwrap().has_keys() {
			assert_eq!(field(&b, "key_checksum"), a_checksum);
		}
		println!("requester during a node crash: {:?}", requester.log().lines().last());
		gets_the_keys(&b, &devnet.a, &a_checksum, "B gets the keys once A is back on the node")
			.await;
		assert_eq!(field(&devnet.a, "key_checksum"), a_checksum);
	})
	.await;
}
