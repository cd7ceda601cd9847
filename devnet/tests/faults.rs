//! Fault injection against the real processes: workers and the node killed with SIGKILL at the
//! steps of the hand-over and the cut-over, the hand-over's connection closed abruptly before
//! each of its messages, a torn snapshot on disk. After every restart the
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

/// A TCP relay in front of a provider that forwards the strictly alternating handshake frames
/// (`u32` big-endian length, then the payload) and closes both sockets abruptly after
/// `cut_after` of them: the connection dies at that step of the hand-over.
async fn cutting_relay(provider: String, cut_after: usize) -> String {
	use tokio::io::{AsyncReadExt, AsyncWriteExt};
	async fn relay_frame(
		from: &mut tokio::net::TcpStream,
		to: &mut tokio::net::TcpStream,
	) -> std::io::Result<()> {
		let mut len = [0u8; 4];
		from.read_exact(&mut len).await?;
		let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
		from.read_exact(&mut frame).await?;
		to.write_all(&len).await?;
		to.write_all(&frame).await
	}
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap().to_string();
	tokio::spawn(async move {
		while let Ok((mut requester, _)) = listener.accept().await {
			let Ok(mut provider) = tokio::net::TcpStream::connect(&provider).await else {
				continue;
			};
			for step in 0..cut_after {
				let relayed = if step % 2 == 0 {
					relay_frame(&mut requester, &mut provider).await
				} else {
					relay_frame(&mut provider, &mut requester).await
				};
				if relayed.is_err() {
					break;
				}
			}
			// Dropping both ends: an abrupt close, mid-handshake.
		}
	});
	addr
}

#[tokio::test(flavor = "multi_thread")]
async fn an_abrupt_close_at_each_step_of_the_hand_over_loses_no_key() {
	bounded(async {
		let root = tempfile::tempdir().unwrap();
		let devnet = Devnet::start(root.path(), BLOCK_TIME_MS, true).await.unwrap();
		let a_checksum = field(&devnet.a, "key_checksum");
		let xyz = devnet.chain.finalized_number().await.unwrap() + 200;
		devnet.chain.sudo_ok(schedule_call(&MEASUREMENT_B, xyz)).await.unwrap();
		enclave_update_devnet::story::wait_serving(&devnet.a.provide_addr(), WAIT).await.unwrap();

		// Frames: ChallengeRequest, Challenge, KeyRequest, KeyResponse, Ack. Cut before each.
		for cut_after in 0..5 {
			let b = devnet.worker(root.path(), &format!("B-cut{cut_after}"), MEASUREMENT_B);
			let relay = cutting_relay(devnet.a.provide_addr(), cut_after).await;
			let cut = b.request_keys(&relay).unwrap();
			let store = enclave_worker::store::Store::open(&b.data_dir).unwrap();
			if cut_after < 4 {
				// The keys never reached B: nothing written, a clear error.
				assert!(!cut.success, "cut after {cut_after} frames: {}", cut.stdout);
				assert!(!store.has_keys(), "cut after {cut_after} frames wrote keys");
			} else {
				// B had the keys and sealed them; only its acknowledgement was lost.
				assert!(store.has_keys());
				assert_eq!(field(&b, "key_checksum"), a_checksum);
			}
			// Retrying directly always completes, with A's keys; A's are unchanged.
			let retry = b.request_keys(&devnet.a.provide_addr()).unwrap();
			assert!(retry.success, "retry after a cut at {cut_after}: {}", retry.stderr);
			assert_eq!(field(&b, "key_checksum"), a_checksum);
			assert_eq!(field(&devnet.a, "key_checksum"), a_checksum);
		}
	})
	.await;
}
