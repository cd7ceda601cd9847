//! End-to-end tests of `enclave-update-node`: the real binary on loopback, driven by subxt as an
//! application would drive it.

mod common;

use codec::Decode;
use common::*;
use enclave_update_devnet::chain::{council_close, council_propose, council_vote};
use enclave_update_primitives::{ActiveEnclave, Measurement, ScheduledEnclave};
use sp_runtime::DispatchError;
use std::time::Duration;
use subxt::{
	dynamic::Value,
	error::{
		DispatchError as ClientDispatchError, TransactionEventsError,
		TransactionFinalizedSuccessError,
	},
	ext::scale_value::Composite,
	rpcs::{rpc_params, RpcClient},
	transactions::DynamicPayload,
};
use subxt_signer::sr25519::{dev, Keypair};

/// Bound of every test: a debug node, authoring twice a second, reaches anything here well before.
const TEST_TIMEOUT: Duration = Duration::from_secs(240);
/// Bound of the node's subcommands and of its argument errors.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `test` with a bound on its duration.
async fn bounded<F: std::future::Future<Output = ()>>(test: F) {
	tokio::time::timeout(TEST_TIMEOUT, test).await.expect("the test finishes in time");
}

/// Signs `payload` with `signer`, submits it and waits until it is in a finalized block; returns
/// its events, or the dispatch error the runtime reported.
async fn submit(
	client: &Client,
	payload: &DynamicPayload<Composite<()>>,
	signer: &Keypair,
) -> Result<Vec<(String, String, Vec<u8>)>, ClientDispatchError> {
	let at = client.at_current_block().await.expect("a finalized block");
	let progress = at
		.transactions()
		.sign_and_submit_then_watch_default(payload, signer)
		.await
		.expect("the node accepts the transaction");
	match progress.wait_for_finalized_success().await {
		Ok(events) => Ok(events
			.iter()
			.map(|event| {
				let event = event.expect("events decode");
				(
					event.pallet_name().to_owned(),
					event.event_name().to_owned(),
					event.field_bytes().to_vec(),
				)
			})
			.collect()),
		Err(TransactionFinalizedSuccessError::SuccessError(
			TransactionEventsError::ExtrinsicFailed(error),
		)) => Err(error),
		Err(other) => panic!("the transaction did not make it into a finalized block: {other}"),
	}
}

/// The fields of the first `pallet.name` event, SCALE-decoded as `T`.
fn event<T: Decode>(events: &[(String, String, Vec<u8>)], pallet: &str, name: &str) -> T {
	let (_, _, fields) = events
		.iter()
		.find(|(p, n, _)| p == pallet && n == name)
		.unwrap_or_else(|| panic!("no {pallet}.{name} event in {events:?}"));
	T::decode(&mut &fields[..]).expect("the event fields decode")
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_genesis_enclave_and_runtime_api() {
	bounded(async {
		let genesis_enclave = Measurement::TdIdentity([0x5a; 48]);
		let mut node = Node::start_with(
			Database::Tmp,
			&["--dev"],
			&["--genesis-enclave", &genesis_enclave.to_string()],
		);
		let (rpc, client) = node.connect().await;

		let at = client.at_current_block().await.unwrap();
		let metadata = at.metadata();
		let pallet =
			metadata.pallet_by_name("EnclaveUpdate").expect("the pallet is in the metadata");
		assert!(pallet.call_variant_by_name("schedule_enclave").is_some());
		assert!(metadata.runtime_api_trait_by_name("EnclaveUpdateApi").is_some());

		let version: serde_json::Value =
			rpc.request("state_getRuntimeVersion", rpc_params![]).await.unwrap();
		assert_eq!(version["specName"], "enclave-update-dev");

		let active: Option<ActiveEnclave<u32>> =
			state_call(&rpc, "EnclaveUpdateApi_active_enclave", &[]).await;
		assert_eq!(active, Some(ActiveEnclave { measurement: genesis_enclave, since: 0 }));
		let at_genesis: Option<Measurement> =
			state_call(&rpc, "EnclaveUpdateApi_measurement_at", &codec::Encode::encode(&0u32))
				.await;
		assert_eq!(at_genesis, Some(genesis_enclave));

		// Blocks are produced and finalized without any transaction.
		wait_for_finalized(&client, 2, Duration::from_secs(60)).await;
	})
	.await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sudo_schedules_and_the_measurement_activates_at_its_block() {
	bounded(async {
		let mut node = Node::start_with(Database::Tmp, &["--dev"], &[]);
		let (rpc, client) = node.connect().await;

		let successor = mr_enclave(0xbb);
		let activates_at = best_number(&rpc).await + 16;
		let events = submit(&client, &sudo(schedule_call(&successor, activates_at)), &dev::alice())
			.await
			.expect("sudo may schedule");
		let sudo_result: Result<(), DispatchError> = event(&events, "Sudo", "Sudid");
		assert_eq!(sudo_result, Ok(()));
		let scheduled: (Measurement, u32) = event(&events, "EnclaveUpdate", "Scheduled");
		assert_eq!(scheduled, (successor, activates_at));

		let expected = vec![ScheduledEnclave { measurement: successor, activates_at }];
		assert_eq!(schedule(&client).await, expected);
		let through_api: Vec<ScheduledEnclave<u32>> =
			state_call(&rpc, "EnclaveUpdateApi_schedule", &[]).await;
		assert_eq!(through_api, expected);

		// Follow finalized blocks up to the activation block and look at its events and state.
		let mut blocks = client.stream_blocks().await.unwrap();
		let activation_block = loop {
			let block = blocks.next().await.expect("the subscription goes on").unwrap();
			if block.number() >= u64::from(activates_at) {
				break block;
			}
		};
		assert_eq!(activation_block.number(), u64::from(activates_at));
		let at = activation_block.at().await.unwrap();
		let events = at.events().fetch().await.unwrap();
		let activated = events
			.iter()
			.map(Result::unwrap)
			.find(|e| e.pallet_name() == "EnclaveUpdate" && e.event_name() == "Activated")
			.expect("the activation block has an Activated event");
		let (measurement, previous): (Measurement, Option<Measurement>) =
			Decode::decode(&mut activated.field_bytes()).unwrap();
		assert_eq!(measurement, successor);
		assert_eq!(
			previous,
			Some(enclave_update_runtime::genesis_config_presets::DEV_GENESIS_ENCLAVE)
		);

		let active = at
			.storage()
			.fetch(subxt::dynamic::storage::<(), Value>("EnclaveUpdate", "Active"), ())
			.await
			.unwrap();
		let active = ActiveEnclave::<u32>::decode(&mut active.bytes()).unwrap();
		assert_eq!(active, ActiveEnclave { measurement: successor, since: activates_at });
		assert!(schedule(&client).await.is_empty());
		let before: Option<Measurement> = state_call(
			&rpc,
			"EnclaveUpdateApi_measurement_at",
			&codec::Encode::encode(&(activates_at - 1)),
		)
		.await;
		assert_eq!(
			before,
			Some(enclave_update_runtime::genesis_config_presets::DEV_GENESIS_ENCLAVE)
		);
	})
	.await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_council_schedules_with_two_of_three_votes() {
	bounded(async {
		let mut node = Node::start_with(Database::Tmp, &["--dev"], &[]);
		let (rpc, client) = node.connect().await;

		let successor = mr_enclave(0xcc);
		let activates_at = best_number(&rpc).await + 200;
		let propose = council_propose(2, schedule_call(&successor, activates_at));
		let events = submit(&client, &propose, &dev::alice()).await.expect("a member may propose");
		let (_proposer, index, proposal_hash, threshold): ([u8; 32], u32, [u8; 32], u32) =
			event(&events, "Council", "Proposed");
		assert_eq!(threshold, 2);
		// Proposing is not voting in this pallet-collective: two members vote aye.
		for voter in [dev::alice(), dev::bob()] {
			submit(&client, &council_vote(proposal_hash, index, true), &voter)
				.await
				.expect("a member may vote");
		}
		assert!(schedule(&client).await.is_empty(), "nothing is scheduled before the close");

		let close = council_close(proposal_hash, index);
		let events = submit(&client, &close, &dev::charlie()).await.expect("anyone may close");
		let (_, result): ([u8; 32], Result<(), DispatchError>) =
			event(&events, "Council", "Executed");
		assert_eq!(result, Ok(()));
		let scheduled: (Measurement, u32) = event(&events, "EnclaveUpdate", "Scheduled");
		assert_eq!(scheduled, (successor, activates_at));
		assert_eq!(
			schedule(&client).await,
			vec![ScheduledEnclave { measurement: successor, activates_at }]
		);
	})
	.await;
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_without_authority_are_refused() {
	bounded(async {
		let mut node = Node::start_with(Database::Tmp, &["--dev"], &[]);
		let (rpc, client) = node.connect().await;
		let activates_at = best_number(&rpc).await + 100;

		// Bob is neither root nor the council: the pallet's origin check refuses him.
		let error = submit(&client, &schedule_call(&mr_enclave(0xdd), activates_at), &dev::bob())
			.await
			.expect_err("a plain account may not schedule");
		assert!(matches!(error, ClientDispatchError::BadOrigin), "{error:?}");

		// Nor may he use sudo.
		let error =
			submit(&client, &sudo(schedule_call(&mr_enclave(0xdd), activates_at)), &dev::bob())
				.await
				.expect_err("only the sudo key may use sudo");
		let ClientDispatchError::Module(module_error) = &error else {
			panic!("expected a pallet error, got {error:?}");
		};
		assert_eq!(module_error.details_string(), "Sudo::RequireSudo");
		assert!(schedule(&client).await.is_empty());
	})
	.await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_schedule_survives_a_restart() {
	bounded(async {
		let dir = tempfile::tempdir().unwrap();
		let successor = mr_enclave(0xee);
		let (activates_at, height_before) = {
			let mut node = Node::start(dir.path(), &[]);
			let (rpc, client) = node.connect().await;
			let activates_at = best_number(&rpc).await + 1_000;
			submit(&client, &sudo(schedule_call(&successor, activates_at)), &dev::alice())
				.await
				.expect("sudo may schedule");
			let height = best_number(&rpc).await;
			node.stop().await;
			(activates_at, height)
		};

		let mut node = Node::start(dir.path(), &[]);
		let (rpc, client) = node.connect().await;
		assert!(best_number(&rpc).await >= height_before, "the chain continues where it stopped");
		assert_eq!(
			schedule(&client).await,
			vec![ScheduledEnclave { measurement: successor, activates_at }]
		);
		// And it keeps producing blocks on top of the old ones.
		wait_for_finalized(&client, u64::from(height_before) + 2, Duration::from_secs(60)).await;
	})
	.await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pallet_error_of_a_sudo_call_is_reported_in_its_event() {
	bounded(async {
		let mut node = Node::start_with(Database::Tmp, &["--dev"], &[]);
		let (rpc, client) = node.connect().await;

		// After the block the call lands in (unless that takes nine slots), but short of the
		// pallet's MinLeadTime of 10 blocks.
		let activates_at = best_number(&rpc).await + 9;
		let events =
			submit(&client, &sudo(schedule_call(&mr_enclave(0xab), activates_at)), &dev::alice())
				.await
				.expect("the sudo call itself succeeds");
		let sudo_result: Result<(), DispatchError> = event(&events, "Sudo", "Sudid");
		let Err(DispatchError::Module(module_error)) = sudo_result else {
			panic!("expected a pallet error in Sudid, got {sudo_result:?}");
		};
		// Resolve the indices the way any client does: through the node's metadata.
		let at = client.at_current_block().await.unwrap();
		let metadata = at.metadata();
		let pallet = metadata
			.pallet_by_error_index(module_error.index)
			.expect("the error's pallet is in the metadata");
		let variant = pallet
			.error_variant_by_index(module_error.error[0])
			.expect("the error is in the metadata");
		assert_eq!((pallet.name(), variant.name.as_str()), ("EnclaveUpdate", "ActivationTooSoon"));
		assert!(
			!events.iter().any(|(pallet, _, _)| pallet == "EnclaveUpdate"),
			"a refused call emits no pallet event: {events:?}"
		);
		assert!(schedule(&client).await.is_empty());
	})
	.await;
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_chain_deletes_the_database_and_the_node_restarts_from_genesis() {
	bounded(async {
		let dir = tempfile::tempdir().unwrap();
		let base_path = dir.path().to_str().expect("a UTF-8 temporary path");
		let database = dir.path().join("chains").join("dev").join("paritydb");
		let block_hash = |rpc: RpcClient, number: u32| async move {
			let hash: serde_json::Value =
				rpc.request("chain_getBlockHash", rpc_params![number]).await.unwrap();
			hash.as_str().map(str::to_owned).expect("the block exists")
		};
		let (genesis_before, first_block_before) = {
			let mut node = Node::start(dir.path(), &[]);
			let (rpc, client) = node.connect().await;
			let activates_at = best_number(&rpc).await + 1_000;
			submit(&client, &sudo(schedule_call(&mr_enclave(0xef), activates_at)), &dev::alice())
				.await
				.expect("sudo may schedule");
			let hashes = (block_hash(rpc.clone(), 0).await, block_hash(rpc, 1).await);
			node.stop().await;
			hashes
		};
		assert!(database.is_dir(), "the node kept its database in {}", database.display());

		let output =
			run_node(&["purge-chain", "--dev", "-y", "--base-path", base_path], COMMAND_TIMEOUT)
				.await;
		assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
		assert!(!database.exists(), "purge-chain removed {}", database.display());

		// The same genesis, but a new chain on it: block 1 is sealed again (at a later time) and
		// the schedule of the purged chain is gone.
		let mut node = Node::start(dir.path(), &[]);
		let (rpc, client) = node.connect().await;
		wait_for_finalized(&client, 1, Duration::from_secs(60)).await;
		assert_eq!(block_hash(rpc.clone(), 0).await, genesis_before);
		assert_ne!(block_hash(rpc, 1).await, first_block_before);
		assert!(schedule(&client).await.is_empty());
	})
	.await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_genesis_enclave_is_a_parse_error() {
	let output =
		run_node(&["--dev", "--tmp", "--genesis-enclave", "0x1234zz"], COMMAND_TIMEOUT).await;
	assert!(!output.status.success());
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(stderr.contains("measurement is not hex"), "{stderr}");
	assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn build_spec_writes_raw_genesis_with_the_wasm_runtime() {
	let genesis_enclave = "ab".repeat(32);
	let output = run_node(
		&["build-spec", "--dev", "--raw", "--genesis-enclave", &genesis_enclave],
		COMMAND_TIMEOUT,
	)
	.await;
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let spec: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON chain spec");
	let code = spec["genesis"]["raw"]["top"]["0x3a636f6465"].as_str().expect(":code is set");
	let wasm = enclave_update_runtime::WASM_BINARY.expect("the node was built with the blob");
	let wasm: String = wasm.iter().map(|b| format!("{b:02x}")).collect();
	assert!(code == format!("0x{wasm}"), "`:code` is the runtime's wasm blob");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_chain_and_a_corrupt_chain_spec_are_clear_errors() {
	let output = run_node(&["--chain", "no-such-chain", "--tmp"], COMMAND_TIMEOUT).await;
	assert!(!output.status.success());
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(stderr.contains("unknown chain `no-such-chain`"), "{stderr}");
	assert!(!stderr.contains("panicked"), "{stderr}");

	let dir = tempfile::tempdir().unwrap();
	let spec = dir.path().join("spec.json");
	std::fs::write(&spec, br#"{"name": "truncated", "genesis": {"raw": {"top": "#).unwrap();
	let output = run_node(&["--chain", spec.to_str().unwrap(), "--tmp"], COMMAND_TIMEOUT).await;
	assert!(!output.status.success());
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(stderr.contains("chain spec"), "{stderr}");
	assert!(!stderr.contains("panicked"), "{stderr}");
}
