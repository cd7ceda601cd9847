//! Fault injection against the real processes: workers and the node killed with SIGKILL at the
//! steps of the hand-over and the cut-over, a torn snapshot on disk. After every restart the
//! key checksums are unchanged and the state the new worker ends with equals a replay of every
//! call from genesis: nothing lost, nothing executed twice.

use enclave_update_devnet::{
	chain::schedule_call,
	procs::Worker,
	story::{callers, check_against_replay, sim_keys, wait_for_processed, Devnet},
	MEASUREMENT_B,
};
use enclave_worker::demo::{seal_call, ShieldedCall};
use std::{future::Future, time::Duration};

const TEST_TIMEOUT: Duration = Duration::from_secs(480);
const BLOCK_TIME_MS: u64 = 400;
const WAIT: Duration = Duration::from_secs(120);

async fn bounded<F: Future<Output = ()>>(test: F) {
	tokio::time::timeout(TEST_TIMEOUT, test).await.expect("the test finishes in time");
}

fn field(worker: &Worker, name: &str) -> serde_json::Value {
	worker.status().unwrap()[name].clone()
}

/// Submits `count` increments of `counter`, one per caller in turn.
async fn some_calls(devnet: &Devnet, count: u64) {
	let callers = callers();
	for i in 0..count {
		let call = ShieldedCall::Increment { key: b"counter".to_vec(), by: 1 };
		let key = devnet.shielding_public_key().unwrap();
		let ciphertext = seal_call(&key, &devnet.genesis_hash, &call);
		devnet.chain.submit_shielded(&ciphertext, &callers[(i % 3) as usize]).await.unwrap();
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn kills_at_every_step_lose_nothing() {
	bounded(async {
		let root = tempfile::tempdir().unwrap();
		let mut devnet = Devnet::start(root.path(), BLOCK_TIME_MS, true).await.unwrap();
		let a_checksum = field(&devnet.a, "key_checksum");
		some_calls(&devnet, 6).await;
		wait_for_processed(&devnet.a, 3, WAIT).await.unwrap();

		// The old worker is killed mid-execution, twice, and resumes from its sealed state.
		for _ in 0..2 {
			let before = field(&devnet.a, "last_processed_block").as_u64().unwrap();
			devnet.a_run.take().unwrap().kill9();
			some_calls(&devnet, 3).await;
			devnet.a_run = Some(devnet.a.run(None).unwrap());
			wait_for_processed(&devnet.a, before + 3, WAIT).await.unwrap();
		}
		assert_eq!(field(&devnet.a, "key_checksum"), a_checksum);

		// The provider dies while B asks for the keys: B gets nothing, and later gets them.
		let xyz = devnet.chain.finalized_number().await.unwrap() + 20;
		devnet.chain.sudo_ok(schedule_call(&MEASUREMENT_B, xyz)).await.unwrap();
		let b = devnet.worker(root.path(), "B", MEASUREMENT_B);
		devnet.a_run.take().unwrap().kill9();
		let refused = b.request_keys(&devnet.a.provide_addr()).unwrap();
		assert!(!refused.success, "B got keys from a dead provider");
		devnet.a_run = Some(devnet.a.run(None).unwrap());
		enclave_update_devnet::procs::wait_until(
			"B gets the keys from the restarted A",
			WAIT,
			Duration::from_millis(300),
			|| async { Ok(b.request_keys(&devnet.a.provide_addr())?.success) },
		)
		.await
		.unwrap();
		assert_eq!(field(&b, "key_checksum"), a_checksum);

		// The old worker is down at the cut-over: B waits in standby for A's final state
		// rather than starting from anything else.
		let b_run = b.run(Some(&devnet.a.provide_addr())).unwrap();
		wait_for_processed(&devnet.a, u64::from(xyz) - 6, WAIT).await.unwrap();
		devnet.a_run.take().unwrap().kill9();
		some_calls(&devnet, 6).await;
		devnet.chain.wait_for_finalized(xyz + 4, WAIT).await.unwrap();
		assert_eq!(field(&b, "readiness"), "Standby");
		assert!(field(&b, "last_processed_block").is_null(), "B started without A's final state");
		devnet.a_run = Some(devnet.a.run(None).unwrap());
		wait_for_processed(&b, u64::from(xyz) + 6, WAIT).await.unwrap();
		assert_eq!(field(&devnet.a, "last_processed_block"), u64::from(xyz) - 1);

		// The new worker is killed, and its newest snapshot is torn (as by a full disk): it
		// falls back to the previous good copy and re-executes the block whose state was lost.
		b_run.kill9();
		let snapshot = enclave_worker::store::Store::open(&b.data_dir).unwrap().snapshot_path();
		let bytes = std::fs::read(&snapshot).unwrap();
		std::fs::write(&snapshot, &bytes[..bytes.len() / 2]).unwrap();
		some_calls(&devnet, 4).await;
		let b_run = b.run(Some(&devnet.a.provide_addr())).unwrap();
		let now = devnet.chain.finalized_number().await.unwrap();
		wait_for_processed(&b, u64::from(now) + 2, WAIT).await.unwrap();

		// The node is killed and restarted on its database: the workers reconnect and go on.
		devnet.node = devnet.node.crash_and_restart().unwrap();
		devnet.chain = enclave_update_devnet::chain::Chain::connect(
			&devnet.node.url(),
			enclave_update_devnet::story::NODE_STARTUP,
		)
		.await
		.unwrap();
		some_calls(&devnet, 4).await;
		let last = devnet.chain.finalized_number().await.unwrap() + 3;
		devnet.chain.wait_for_finalized(last, WAIT).await.unwrap();
		wait_for_processed(&b, u64::from(last), WAIT).await.unwrap();

		assert_eq!(field(&devnet.a, "key_checksum"), a_checksum);
		assert_eq!(field(&b, "key_checksum"), a_checksum);
		let keys = sim_keys(&devnet.a).unwrap();
		let reference =
			check_against_replay(&devnet.chain, devnet.genesis_hash, &b, &keys).await.unwrap();
		// Every increment submitted (6 + 3 + 3 + 6 + 4 + 4) applied exactly once.
		assert_eq!(reference.state.counter(b"counter"), 26, "{reference:?}");
		b_run.stop(Duration::from_secs(10));
	})
	.await;
}
