//! The worker's GRANDPA light client on the real node: it starts from the chain's genesis,
//! follows an authority-set change made through sudo on the running chain (the enacting block
//! justified by the outgoing set, the blocks after it by the next set id), and keeps verifying
//! the schedule after it. A follower that starts after the change catches up across it.

use enclave_update_devnet::{
	chain::{grandpa_set_change_call, Chain},
	procs::Node,
};
use enclave_worker::chain::{rpc::RpcChain, ScheduleSource};
use std::time::{Duration, Instant};

const TEST_TIMEOUT: Duration = Duration::from_secs(240);
const WAIT: Duration = Duration::from_secs(120);

/// Polls `follower` until its light client tracks set `set_id` with a head `beyond` blocks past
/// the first head seen under that set; returns that head's number.
async fn follow_until(follower: &RpcChain, set_id: u64, beyond: u32) -> u32 {
	let deadline = Instant::now() + WAIT;
	let mut first = None;
	loop {
		let head = follower.finalized_block().await.expect("the light client accepts the chain");
		let light = follower.light_client();
		if light.set_id() == set_id {
			let first = *first.get_or_insert(head.number);
			if head.number >= first + beyond {
				return head.number;
			}
		}
		assert!(Instant::now() < deadline, "set {set_id} not followed: {light:?}");
		tokio::time::sleep(Duration::from_millis(300)).await;
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn the_light_client_follows_an_authority_set_change_on_the_running_chain() {
	tokio::time::timeout(TEST_TIMEOUT, async {
		let root = tempfile::tempdir().unwrap();
		let node = Node::start(&root.path().join("node"), None).unwrap();
		let chain = Chain::connect(&node.url(), WAIT).await.unwrap();
		let follower = RpcChain::connect(&node.url(), None, None).await.unwrap();
		let before = follower.verified_schedule().await.unwrap();
		assert_eq!(follower.light_client().set_id(), 0);
		assert_eq!(before.genesis_hash, chain.genesis_hash().await.unwrap());

		chain.sudo_ok(grandpa_set_change_call(2)).await.unwrap();
		let head = follow_until(&follower, 1, 3).await;
		let after = follower.verified_schedule().await.unwrap();
		assert!(after.block_number >= head, "{} < {head}", after.block_number);
		assert_eq!(after.storage.active, before.storage.active);
		// The chain's time, proven with the schedule: the worker's clock.
		assert!(
			after.storage.timestamp_ms > before.storage.timestamp_ms,
			"{} <= {}",
			after.storage.timestamp_ms,
			before.storage.timestamp_ms
		);

		// A second change: the set id counts on.
		chain.sudo_ok(grandpa_set_change_call(0)).await.unwrap();
		follow_until(&follower, 2, 2).await;

		// A follower that starts now, from genesis, walks across both changes.
		let late = RpcChain::connect(&node.url(), None, None).await.unwrap();
		let view = late.verified_schedule().await.unwrap();
		assert_eq!(late.light_client().set_id(), 2);
		assert!(view.block_number >= head);
	})
	.await
	.expect("the test finishes in time");
}
