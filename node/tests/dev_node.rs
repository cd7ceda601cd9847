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
	enclave_update_devnet::testing::bounded(TEST_TIMEOUT, test).await;
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

/// Signs `payload` with `signer`, submits it and waits until it is in a finalized block, where it
/// must have failed with a pallet error: returns that error's pallet and name, resolved through
/// the node's metadata as any client resolves them, and the extrinsic's events.
async fn submit_refused(
	client: &Client,
	payload: &DynamicPayload<Composite<()>>,
	signer: &Keypair,
) -> ((String, String), Vec<(String, String, Vec<u8>)>) {
	let at = client.at_current_block().await.expect("a finalized block");
	let in_block = at
		.transactions()
		.sign_and_submit_then_watch_default(payload, signer)
		.await
		.expect("the node accepts the transaction")
		.wait_for_finalized()
		.await
		.expect("the transaction makes it into a finalized block");
	let events: Vec<(String, String, Vec<u8>)> = in_block
		.fetch_events()
		.await
		.expect("the transaction's events")
		.iter()
		.map(|event| {
			let event = event.expect("events decode");
			(
				event.pallet_name().to_owned(),
				event.event_name().to_owned(),
				event.field_bytes().to_vec(),
			)
		})
		.collect();
	// `ExtrinsicFailed { dispatch_error, dispatch_info }`: the error comes first.
	let error: DispatchError = event(&events, "System", "ExtrinsicFailed");
	let DispatchError::Module(module_error) = error else {
		panic!("expected a pallet error, got {error:?}");
	};
	let metadata = at.metadata();
	let pallet = metadata
		.pallet_by_error_index(module_error.index)
		.expect("the error's pallet is in the metadata");
	let variant = pallet
		.error_variant_by_index(module_error.error[0])
		.expect("the error is in the metadata");
	((pallet.name().to_owned(), variant.name.clone()), events)
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

/// A unix time inside the validity windows of the collateral of both of dcap-qvl's samples
/// (2025-07-04T10:24:15Z, the time `runtime/src/registry_tests.rs` verifies the TDX sample at):
/// the TCB infos and QE identities of `tdx_quote_collateral.json` and `sgx_quote_collateral.json`
/// were issued on 2025-06-19 (10:56:11Z the latest) and are next updated on 2025-07-19
/// (10:01:18Z the earliest).
const SAMPLE_TIME: u64 = 1_751_624_655;
/// When the TDX sample's collateral expires: its TCB info's `nextUpdate`, 2025-07-19T10:16:03Z
/// (its QE identity's is later).
const TDX_COLLATERAL_EXPIRY: u64 = 1_752_920_163;

/// A file of dcap-qvl's samples (`offchain-worker/tests/fixtures`).
fn sample(name: &str) -> Vec<u8> {
	let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
		.join("../offchain-worker/tests/fixtures")
		.join(name);
	std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A sample's collateral, SCALE-encoded as `register_enclave` takes it.
fn sample_collateral(name: &str) -> Vec<u8> {
	let collateral: dcap_qvl::QuoteCollateralV3 =
		serde_json::from_slice(&sample(name)).expect("the sample's collateral parses");
	codec::Encode::encode(&collateral)
}

/// `EnclaveRegistry::register_enclave` of `evidence` with `collateral`, and keys of the caller's
/// that no sample's report data binds.
fn register_call(evidence: &[u8], collateral: &[u8]) -> DynamicPayload<Composite<()>> {
	call(
		"EnclaveRegistry",
		"register_enclave",
		[
			("evidence", Value::from_bytes(evidence)),
			("collateral", Value::from_bytes(collateral)),
			("url", Value::from_bytes(b"https://127.0.0.1:7001")),
			("signing_key", Value::from_bytes([1u8; 32])),
			("shielding_key", Value::from_bytes([2u8; 32])),
			("key_set_checksum", Value::from_bytes([3u8; 32])),
		],
	)
}

/// Submits Alice's registration of `evidence` with `collateral`, which must fail; returns the
/// name of the `EnclaveRegistry` error, after checking that the pallet emitted no event.
async fn registration_error(client: &Client, evidence: &[u8], collateral: &[u8]) -> String {
	let ((pallet, error), events) =
		submit_refused(client, &register_call(evidence, collateral), &dev::alice()).await;
	assert_eq!(pallet, "EnclaveRegistry", "{error}");
	assert!(
		!events.iter().any(|(pallet, _, _)| pallet == "EnclaveRegistry"),
		"a refused registration emits no registry event: {events:?}"
	);
	error
}

/// The chain's time (`Timestamp::Now`) at the latest finalized block, in milliseconds.
async fn chain_time_ms(client: &Client) -> u64 {
	let at = client.at_current_block().await.expect("a finalized block");
	let now = at
		.storage()
		.fetch(subxt::dynamic::storage::<(), Value>("Timestamp", "Now"), ())
		.await
		.expect("Timestamp::Now");
	u64::decode(&mut now.bytes()).expect("a timestamp in milliseconds")
}

/// Asserts that the registry holds no enclave and no key set at the latest finalized block.
async fn assert_nothing_registered(client: &Client) {
	let at = client.at_current_block().await.expect("a finalized block");
	let mut enclaves = at
		.storage()
		.iter(subxt::dynamic::storage::<(Value,), Value>("EnclaveRegistry", "Enclaves"), ())
		.await
		.expect("the registry's records can be listed");
	if let Some(record) = enclaves.next().await {
		panic!("an enclave is registered: {:?}", record.map(|r| r.key_bytes().to_vec()));
	}
	let key_set = at
		.storage()
		.try_fetch(subxt::dynamic::storage::<(), Value>("EnclaveRegistry", "KeySet"), ())
		.await
		.expect("the key set can be read");
	assert!(key_set.is_none(), "the key set is fixed: {:?}", key_set.map(|v| v.into_bytes()));
	let count = at
		.storage()
		.fetch(subxt::dynamic::storage::<(), Value>("EnclaveRegistry", "EnclaveCount"), ())
		.await
		.expect("the enclave count");
	assert_eq!(u32::decode(&mut count.bytes()).expect("a count"), 0);
}

/// A dev node started with `extra_args`, its clients once block 1 is final, and the chain's
/// time then (`Timestamp::Now`, in milliseconds).
async fn dev_chain_with(extra_args: &[&str]) -> (Node, RpcClient, Client, u64) {
	let mut node = Node::start_with(Database::Tmp, &["--dev"], extra_args);
	let (rpc, client) = node.connect().await;
	wait_for_finalized(&client, 1, Duration::from_secs(60)).await;
	let now = chain_time_ms(&client).await;
	(node, rpc, client, now)
}

/// Intel's TDX sample quote and its collateral (dcap-qvl's test data).
fn tdx_sample() -> (Vec<u8>, Vec<u8>) {
	(sample("tdx_quote"), sample_collateral("tdx_quote_collateral.json"))
}

/// On a dev chain whose clock starts inside the samples' collateral window, the real
/// Intel-signed TDX and SGX quotes pass the runtime's verification and policy in a signed
/// extrinsic: what refuses them is the binding of their report data (which binds an account and
/// keys of Intel's sample, not Alice's), the check after verification. A TDX quote with one
/// bit of its signed report body flipped fails verification itself.
#[tokio::test(flavor = "multi_thread")]
async fn the_real_samples_verify_on_a_dev_chain_started_in_their_collateral_window() {
	bounded(async {
		let (_node, _rpc, client, now) =
			dev_chain_with(&["--dev-clock-start", &SAMPLE_TIME.to_string()]).await;
		// The chain's time ran on from the start for no longer than this test.
		let start_ms = SAMPLE_TIME * 1000;
		let bound_ms = start_ms + u64::try_from(TEST_TIMEOUT.as_millis()).unwrap();
		assert!((start_ms..bound_ms).contains(&now), "chain time {now} ms, started at {start_ms}");

		let (tdx, tdx_collateral) = tdx_sample();
		assert_eq!(registration_error(&client, &tdx, &tdx_collateral).await, "ReportDataMismatch");

		// The first byte of the TD report's REPORTDATA (after the 48-byte header, at 520 in the
		// report body): what an attacker would rewrite to bind their own keys; the quote's
		// signature covers it.
		let mut tampered = tdx.clone();
		tampered[48 + 520] ^= 1;
		assert_eq!(registration_error(&client, &tampered, &tdx_collateral).await, "QuoteInvalid");

		let sgx = sample("sgx_quote");
		let sgx_collateral = sample_collateral("sgx_quote_collateral.json");
		assert_eq!(registration_error(&client, &sgx, &sgx_collateral).await, "ReportDataMismatch");

		assert_nothing_registered(&client).await;
	})
	.await;
}

/// On a dev chain at the real time (long after 2025-07-19), the same genuine TDX sample is
/// refused for its collateral's validity window, before any signature is checked.
#[tokio::test(flavor = "multi_thread")]
async fn without_the_dev_clock_the_real_tdx_sample_is_refused_as_expired() {
	bounded(async {
		let (_node, _rpc, client, now) = dev_chain_with(&[]).await;
		assert!(now > TDX_COLLATERAL_EXPIRY * 1000, "the chain's time {now} ms is the real one");

		let (tdx, tdx_collateral) = tdx_sample();
		assert_eq!(registration_error(&client, &tdx, &tdx_collateral).await, "CollateralExpired");
		assert_nothing_registered(&client).await;
	})
	.await;
}

/// `--dev-clock-start` shifts only the built-in chains: on a chain spec file (even one of the dev
/// chain) the node refuses to start, and a start that is not a unix time after the epoch is a
/// parse error; neither panics.
#[tokio::test(flavor = "multi_thread")]
async fn the_dev_clock_start_on_a_chain_spec_file_or_a_bad_value_is_a_clear_error() {
	// A raw chain spec of the dev chain itself: a file, which the flag may not shift.
	let output = run_node(&["build-spec", "--dev", "--raw"], COMMAND_TIMEOUT).await;
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let dir = tempfile::tempdir().unwrap();
	let spec = dir.path().join("dev-raw.json");
	std::fs::write(&spec, &output.stdout).unwrap();
	let spec = spec.to_str().expect("a UTF-8 temporary path");
	let start = SAMPLE_TIME.to_string();
	let output =
		run_node(&["--chain", spec, "--tmp", "--dev-clock-start", &start], COMMAND_TIMEOUT).await;
	assert!(!output.status.success());
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(
		stderr.contains("--dev-clock-start is for the built-in `dev` and `local` chains only"),
		"{stderr}"
	);
	assert!(!stderr.contains("panicked"), "{stderr}");
	// It is refused before the file is read: a path with no file gives the same error.
	let missing = dir.path().join("missing.json");
	let missing = missing.to_str().expect("a UTF-8 temporary path");
	let output =
		run_node(&["--chain", missing, "--tmp", "--dev-clock-start", &start], COMMAND_TIMEOUT)
			.await;
	assert!(!output.status.success());
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(
		stderr.contains("--dev-clock-start is for the built-in `dev` and `local` chains only"),
		"{stderr}"
	);

	for (value, message) in [
		("0", "a chain start time must be after the unix epoch"),
		("-5", "not a unix time in seconds"),
		("tomorrow", "not a unix time in seconds"),
		("253402300800", "a chain start time must be after the unix epoch"),
	] {
		let argument = format!("--dev-clock-start={value}");
		let output = run_node(&["--dev", "--tmp", &argument], COMMAND_TIMEOUT).await;
		assert!(!output.status.success(), "{value}");
		let stderr = String::from_utf8_lossy(&output.stderr);
		assert!(stderr.contains(message), "{value}: {stderr}");
		assert!(!stderr.contains("panicked"), "{value}: {stderr}");
	}
}
