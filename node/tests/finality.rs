//! GRANDPA finality end to end: the real node binary on loopback, Aura authoring, the GRANDPA
//! voter, and its RPC (`grandpa_roundState`, `grandpa_proveFinality`,
//! `grandpa_subscribeJustifications`) checked with GRANDPA's own verifier, and the justifications
//! the node stores with its blocks (`--justification-period`).

mod common;

use common::*;
use enclave_update_runtime::opaque::Block;
use sc_consensus_grandpa::GrandpaJustification;
use sp_consensus_grandpa::AuthorityList;
use sp_core::H256;
use sp_keyring::Ed25519Keyring;
use std::time::Duration;
use subxt::rpcs::rpc_params;

const TEST_TIMEOUT: Duration = Duration::from_secs(240);

async fn bounded<F: std::future::Future<Output = ()>>(test: F) {
	enclave_update_devnet::testing::bounded(TEST_TIMEOUT, test).await;
}

fn unhex(text: &str) -> Vec<u8> {
	let digits = text.trim_start_matches("0x");
	(0..digits.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex"))
		.collect()
}

fn authorities(keys: &[Ed25519Keyring]) -> AuthorityList {
	keys.iter().map(|key| (key.public().into(), 1)).collect()
}

/// The GRANDPA justification (engine `FRNK`) of a `chain_getBlock` answer, if it has one: the
/// engine id comes as 4 numbers, the justification as hex or as a list of numbers.
fn grandpa_justification(block: &serde_json::Value) -> Option<Vec<u8>> {
	let bytes = |value: &serde_json::Value| -> Option<Vec<u8>> {
		match value {
			serde_json::Value::String(text) => Some(unhex(text)),
			serde_json::Value::Array(items) => items
				.iter()
				.map(|item| item.as_u64().and_then(|byte| u8::try_from(byte).ok()))
				.collect(),
			_ => None,
		}
	};
	block["justifications"].as_array()?.iter().find_map(|entry| {
		let engine = bytes(entry.get(0)?)?;
		(engine == b"FRNK").then(|| bytes(entry.get(1)?)).flatten()
	})
}

/// The next justification the node pushes to a `grandpa_subscribeJustifications` subscriber,
/// within a minute.
async fn next_justification(rpc: &subxt::rpcs::RpcClient) -> GrandpaJustification<Block> {
	let mut justifications = rpc
		.subscribe::<String>(
			"grandpa_subscribeJustifications",
			rpc_params![],
			"grandpa_unsubscribeJustifications",
		)
		.await
		.unwrap();
	let pushed = tokio::time::timeout(Duration::from_secs(60), justifications.next())
		.await
		.expect("a justification within a minute")
		.expect("the subscription goes on")
		.unwrap();
	GrandpaJustification::<Block>::decode(&unhex(&pushed)).expect("a GRANDPA justification")
}

/// Waits until the finalized head reaches `number` or `timeout` passes; returns the number reached.
async fn finalized_at_least(rpc: &subxt::rpcs::RpcClient, number: u32, timeout: Duration) -> u32 {
	let deadline = std::time::Instant::now() + timeout;
	loop {
		let finalized = finalized_number(rpc).await;
		if finalized >= number || std::time::Instant::now() > deadline {
			return finalized;
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn alice_alone_finalizes_a_dev_chain_and_the_rpc_proves_it() {
	bounded(async {
		let mut node =
			Node::start_with(Database::Tmp, &["--dev"], &["--justification-period", "4"]);
		let (rpc, _client) = node.connect().await;
		// With period 4, the node stores a justification for a block of each 4 it finalizes.
		let finalized = finalized_at_least(&rpc, 12, Duration::from_secs(60)).await;
		assert!(finalized >= 12, "finality stalled at #{finalized}:\n{}", node.log());

		let round: serde_json::Value =
			rpc.request("grandpa_roundState", rpc_params![]).await.unwrap();
		assert_eq!(round["setId"], 0, "{round}");
		assert_eq!(round["best"]["totalWeight"], 1, "one authority: {round}");

		// The stored justifications come with their blocks (`chain_getBlock`): each one Alice's
		// key signs, verified as GRANDPA verifies it, for set 0 with Alice as the only voter.
		let mut stored = Vec::new();
		for number in 1..=12u32 {
			let hash: String =
				rpc.request("chain_getBlockHash", rpc_params![number]).await.unwrap();
			let block: serde_json::Value =
				rpc.request("chain_getBlock", rpc_params![hash.clone()]).await.unwrap();
			if let Some(justification) = grandpa_justification(&block) {
				stored.push((number, hash, justification));
			}
		}
		assert!(stored.len() >= 2, "justifications stored among blocks 1..=12: {}", stored.len());
		for (number, hash, justification) in &stored {
			let justification = GrandpaJustification::<Block>::decode(justification)
				.expect("a GRANDPA justification");
			let (target_number, target_hash) = justification.target();
			assert_eq!((target_number, target_hash.as_bytes().to_vec()), (*number, unhex(hash)));
			justification
				.verify(0, &authorities(&[Ed25519Keyring::Alice]))
				.expect("Alice's justification verifies");
			// ... and not for another set, nor for another voter.
			assert!(justification.verify(1, &authorities(&[Ed25519Keyring::Alice])).is_err());
			assert!(justification.verify(0, &authorities(&[Ed25519Keyring::Bob])).is_err());
		}

		// `grandpa_proveFinality` answers from the node's record of authority-set changes, which
		// is empty until the first change: in the genesis set it refuses every block
		// (paritytech/polkadot-sdk#1401). A light client of this chain takes the justifications
		// above, or the pushed ones below, instead.
		let refused = rpc
			.request::<Option<String>>("grandpa_proveFinality", rpc_params![5u32])
			.await
			.expect_err("no finality proof before the first authority-set change");
		assert!(refused.to_string().contains("not covered by authority set changes"), "{refused}");

		// Every new justification is pushed to subscribers.
		let pushed = next_justification(&rpc).await;
		pushed.verify(0, &authorities(&[Ed25519Keyring::Alice])).unwrap();
		let _: H256 = pushed.target().1;
	})
	.await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_local_chain_finalizes_only_with_both_alice_and_bob() {
	bounded(async {
		let mut alice = Node::start_with(
			Database::Tmp,
			// Alone, Alice authors only when forced: a node without peers is offline to Aura.
			&[
				"--chain",
				"local",
				"--alice",
				"--validator",
				"--force-authoring",
				"--node-key",
				&"11".repeat(32),
			],
			&[],
		);
		let (alice_rpc, _) = alice.connect().await;
		let peer_id: String = alice_rpc.request("system_localPeerId", rpc_params![]).await.unwrap();

		// Alice authors her slots, but one vote of two is no supermajority.
		tokio::time::sleep(Duration::from_secs(5)).await;
		assert!(best_number(&alice_rpc).await >= 2, "Alice authors alone:\n{}", alice.log());
		assert_eq!(finalized_number(&alice_rpc).await, 0, "nothing is final without Bob");

		let bootnode = format!("{}/p2p/{peer_id}", alice.p2p_address);
		let mut bob = Node::start_with(
			Database::Tmp,
			&[
				"--chain",
				"local",
				"--bob",
				"--validator",
				"--node-key",
				&"22".repeat(32),
				"--bootnodes",
				&bootnode,
			],
			&[],
		);
		let (bob_rpc, _) = bob.connect().await;
		let finalized = finalized_at_least(&alice_rpc, 3, Duration::from_secs(90)).await;
		assert!(
			finalized >= 3,
			"finality with both stalled at #{finalized}\nAlice:\n{}\nBob:\n{}",
			alice.log(),
			bob.log()
		);
		assert!(finalized_at_least(&bob_rpc, 3, Duration::from_secs(30)).await >= 3);

		let round: serde_json::Value =
			bob_rpc.request("grandpa_roundState", rpc_params![]).await.unwrap();
		assert_eq!(round["best"]["totalWeight"], 2, "two authorities: {round}");
		// Each finalized round's justification carries both votes.
		let pushed = next_justification(&bob_rpc).await;
		pushed
			.verify(0, &authorities(&[Ed25519Keyring::Alice, Ed25519Keyring::Bob]))
			.expect("both signed");
	})
	.await;
}
