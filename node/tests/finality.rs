//! GRANDPA finality end to end: the real node binary on loopback, Aura authoring, the GRANDPA
//! voter, and its RPC (`grandpa_roundState`, `grandpa_proveFinality`,
//! `grandpa_subscribeJustifications`) checked with GRANDPA's own verifier.

mod common;

use codec::Decode;
use common::*;
use enclave_update_runtime::opaque::{Block, Header};
use sc_consensus_grandpa::{FinalityProof, GrandpaJustification};
use sp_consensus_grandpa::AuthorityList;
use sp_core::H256;
use sp_keyring::Ed25519Keyring;
use std::time::Duration;
use subxt::rpcs::rpc_params;

const TEST_TIMEOUT: Duration = Duration::from_secs(240);

async fn bounded<F: std::future::Future<Output = ()>>(test: F) {
	tokio::time::timeout(TEST_TIMEOUT, test).await.expect("the test finishes in time");
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
		// Past the second stored justification (period 4): `grandpa_proveFinality` answers from
		// the stored justifications of the current set.
		let finalized = finalized_at_least(&rpc, 12, Duration::from_secs(60)).await;
		assert!(finalized >= 12, "finality stalled at #{finalized}:\n{}", node.log());

		let round: serde_json::Value =
			rpc.request("grandpa_roundState", rpc_params![]).await.unwrap();
		assert_eq!(round["setId"], 0, "{round}");
		assert_eq!(round["best"]["totalWeight"], 1, "one authority: {round}");

		// A finality proof for block 5: a justification of a block at or after it that Alice's
		// key signs, verified as GRANDPA verifies it, for set 0 with Alice as the only voter.
		let proof: Option<String> =
			rpc.request("grandpa_proveFinality", rpc_params![5u32]).await.unwrap();
		let proof = unhex(&proof.expect("block 5 is final, so it has a proof"));
		let proof = FinalityProof::<Header>::decode(&mut &proof[..]).expect("a finality proof");
		let justification = GrandpaJustification::<Block>::decode(&proof.justification).unwrap();
		let (target_number, target_hash) = justification.target();
		assert!(target_number >= 5);
		assert_eq!(target_hash, proof.block);
		justification
			.verify(0, &authorities(&[Ed25519Keyring::Alice]))
			.expect("Alice's justification verifies");
		// ... and not for another set, nor for another voter.
		assert!(justification.verify(1, &authorities(&[Ed25519Keyring::Alice])).is_err());
		assert!(justification.verify(0, &authorities(&[Ed25519Keyring::Bob])).is_err());

		// Every new justification is pushed to subscribers.
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
		let pushed = GrandpaJustification::<Block>::decode(&unhex(&pushed)).unwrap();
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
			&["--chain", "local", "--bob", "--validator", "--bootnodes", &bootnode],
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
		let proof: Option<String> =
			bob_rpc.request("grandpa_proveFinality", rpc_params![finalized]).await.unwrap();
		let proof = FinalityProof::<Header>::decode(&mut &unhex(&proof.unwrap())[..]).unwrap();
		GrandpaJustification::<Block>::decode(&proof.justification)
			.unwrap()
			.verify(0, &authorities(&[Ed25519Keyring::Alice, Ed25519Keyring::Bob]))
			.expect("both signed");
	})
	.await;
}
