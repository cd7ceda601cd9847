//! Forkless runtime upgrades against the real node: the chain starts on the previous release of
//! the runtime (`runtime/upgrade-fixtures/`, spec 100, ShieldedInbox at storage version 1) and
//! upgrades to the node's own (spec 101, whose `Executive` runs the inbox's v1 → v2 migration),
//! through sudo while workers run and an enclave schedule is pending, and through the council by
//! way of the whitelist. Blobs that are no valid upgrade are refused, and the chain goes on.

use codec::{Decode, Encode};
use enclave_update_devnet::{
	chain::{
		apply_authorized_upgrade_call, authorize_upgrade_call, dev,
		dispatch_whitelisted_call_with_preimage, schedule_call, set_code_call,
		sudo_unchecked_weight, whitelist_call, Chain,
	},
	procs::Node,
	story::{check_against_replay, check_cut_over, sim_keys, wait_for_processed, Devnet},
	testing::Turns,
	MEASUREMENT_B,
};
use enclave_update_runtime::{Runtime, RuntimeCall, SystemCall, VERSION};
use sp_crypto_hashing::{blake2_256, twox_128};
use sp_runtime::DispatchError;
use std::{
	future::Future,
	path::{Path, PathBuf},
	time::Duration,
};

const TEST_TIMEOUT: Duration = Duration::from_secs(420);
const WAIT: Duration = Duration::from_secs(120);
/// The spec version of the runtime in `runtime/upgrade-fixtures/`.
const PREVIOUS_SPEC_VERSION: u32 = 100;

static ONE_AT_A_TIME: Turns = Turns::new();

async fn bounded<F: Future<Output = ()>>(test: F) {
	ONE_AT_A_TIME.bounded(TEST_TIMEOUT, test).await;
}

/// The previous release's runtime blob.
fn previous_runtime() -> PathBuf {
	Path::new(env!("CARGO_MANIFEST_DIR"))
		.join("../runtime/upgrade-fixtures/enclave-update-runtime-spec-100.wasm")
}

/// This release's runtime blob: the one the node is built with.
fn this_runtime() -> &'static [u8] {
	enclave_update_runtime::WASM_BINARY.expect("the tests are built with the runtime's wasm")
}

fn storage_key(pallet: &str, item: &str) -> Vec<u8> {
	[twox_128(pallet.as_bytes()), twox_128(item.as_bytes())].concat()
}

/// The key of a pallet's on-chain storage version.
fn storage_version_key(pallet: &str) -> Vec<u8> {
	[twox_128(pallet.as_bytes()), twox_128(b":__STORAGE_VERSION__:")].concat()
}

async fn inbox_storage_version(chain: &Chain) -> u16 {
	let raw = chain.storage(&storage_version_key("ShieldedInbox")).await.unwrap();
	u16::decode(&mut &raw.expect("the pallet stores its version")[..]).unwrap()
}

/// Waits until the finalized chain has run `spec_version`'s migrations: `Executive` runs them,
/// and records the version in `System::LastRuntimeUpgrade`, in the first block after the one
/// that set the code, whose state already reports the new version.
async fn wait_for_migrated(chain: &Chain, spec_version: u32) {
	enclave_update_devnet::procs::wait_until(
		&format!("spec {spec_version}'s migrations finalized"),
		WAIT,
		Duration::from_millis(200),
		|| async {
			let Some(raw) = chain.storage(&storage_key("System", "LastRuntimeUpgrade")).await?
			else {
				return Ok(false);
			};
			let last = frame_system::LastRuntimeUpgradeInfo::decode(&mut &raw[..])?;
			Ok(last.spec_version.0 == spec_version)
		},
	)
	.await
	.unwrap();
}

/// Waits until the best block runs the runtime with `spec_version`.
async fn wait_for_spec(chain: &Chain, spec_version: u32) {
	enclave_update_devnet::procs::wait_until(
		&format!("spec version {spec_version}"),
		WAIT,
		Duration::from_millis(200),
		|| async { Ok(chain.spec_version().await? == spec_version) },
	)
	.await
	.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sudo_upgrades_the_runtime_while_workers_run_and_the_cut_over_stays_exact() {
	bounded(async {
		let root = tempfile::tempdir().unwrap();
		let mut devnet = Devnet::start_on(root.path(), Some(&previous_runtime())).await.unwrap();
		let chain = &devnet.chain;
		assert_eq!(chain.spec_version().await.unwrap(), PREVIOUS_SPEC_VERSION);
		assert_eq!(inbox_storage_version(chain).await, 1);

		// Shielded calls before the upgrade count under the v1 name.
		let key = devnet.shielding_public_key().unwrap();
		let sent_before = 3u64;
		for i in 0..sent_before {
			let call = enclave_worker::demo::ShieldedCall::Increment {
				key: b"counter".to_vec(),
				by: i + 1,
			};
			let ciphertext = enclave_worker::demo::seal_call(&key, &devnet.genesis_hash, &call);
			chain
				.submit_ok(&enclave_update_devnet::chain::shielded_call(&ciphertext), &dev::dave())
				.await
				.unwrap();
		}
		let v1_total = chain.storage(&storage_key("ShieldedInbox", "Submitted")).await.unwrap();
		assert_eq!(v1_total.map(|raw| u64::decode(&mut &raw[..]).unwrap()), Some(sent_before));

		// B is scheduled far enough ahead that the upgrade lands before its cut-over.
		let xyz = chain.finalized_number().await.unwrap() + 80;
		chain.sudo_ok(schedule_call(&MEASUREMENT_B, xyz)).await.unwrap();
		let b = devnet.worker(root.path(), "B", MEASUREMENT_B);
		wait_for_processed(&devnet.a, 1, WAIT).await.unwrap();
		let got = b.request_keys(&devnet.a.provide_addr()).unwrap();
		assert!(got.success, "{}", got.stderr);
		let b_run = b.run(Some(&devnet.a.provide_addr())).unwrap();

		chain
			.sudo_call_ok(sudo_unchecked_weight(set_code_call(this_runtime())))
			.await
			.unwrap_or_else(|e| {
				panic!("sudo set_code: {e}\nnode log:\n{}", devnet.node.process.log())
			});
		wait_for_spec(chain, VERSION.spec_version).await;
		let upgraded_at = chain.finalized_number().await.unwrap();
		assert!(
			upgraded_at < xyz,
			"the upgrade (#{upgraded_at}) came before the cut-over (#{xyz})"
		);

		// The migration moved the counter to its v2 name, in the block after the code changed.
		let finalized_spec = wait_finalized_spec(chain, VERSION.spec_version).await;
		assert_eq!(finalized_spec, VERSION.spec_version);
		wait_for_migrated(chain, VERSION.spec_version).await;
		assert_eq!(inbox_storage_version(chain).await, 2);
		assert_eq!(chain.storage(&storage_key("ShieldedInbox", "Submitted")).await.unwrap(), None);
		let v2_total =
			chain.storage(&storage_key("ShieldedInbox", "TotalSubmitted")).await.unwrap();
		assert_eq!(v2_total.map(|raw| u64::decode(&mut &raw[..]).unwrap()), Some(sent_before));

		// subxt sees the new metadata: the renamed storage item.
		let at = chain.client.at_current_block().await.unwrap();
		let metadata = at.metadata();
		let inbox = metadata.pallet_by_name("ShieldedInbox").unwrap();
		let storage = inbox.storage().expect("the inbox has storage");
		assert!(storage.entry_by_name("TotalSubmitted").is_some());
		assert!(storage.entry_by_name("Submitted").is_none());

		// A and B follow the upgraded chain with proofs; the cut-over happens at its block.
		wait_for_processed(&b, u64::from(xyz) + 5, WAIT).await.unwrap();
		check_cut_over(&devnet.a.status().unwrap(), &b.status().unwrap(), xyz).unwrap();
		let keys = sim_keys(&devnet.a).unwrap();
		check_against_replay(chain, devnet.genesis_hash, &b, &keys).await.unwrap();

		b_run.stop(Duration::from_secs(10));
		devnet.a_run.take().unwrap().stop(Duration::from_secs(10));
	})
	.await;
}

/// The spec version of the runtime at the finalized head.
async fn finalized_spec(chain: &Chain) -> anyhow::Result<u32> {
	let head: String =
		chain.rpc.request("chain_getFinalizedHead", subxt::rpcs::rpc_params![]).await?;
	let version: serde_json::Value = chain
		.rpc
		.request("state_getRuntimeVersion", subxt::rpcs::rpc_params![head])
		.await?;
	Ok(u32::try_from(version["specVersion"].as_u64().unwrap_or_default())?)
}

/// Waits until the finalized head runs `spec_version`; returns it.
async fn wait_finalized_spec(chain: &Chain, spec_version: u32) -> u32 {
	enclave_update_devnet::procs::wait_until(
		&format!("spec {spec_version} finalized"),
		WAIT,
		Duration::from_millis(200),
		|| async { Ok(finalized_spec(chain).await? == spec_version) },
	)
	.await
	.unwrap();
	finalized_spec(chain).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_council_upgrades_the_runtime_through_the_whitelist() {
	bounded(async {
		let root = tempfile::tempdir().unwrap();
		let node = Node::start(&root.path().join("node"), Some(&previous_runtime())).unwrap();
		let chain = Chain::connect(&node.url(), WAIT).await.unwrap();
		assert_eq!(chain.spec_version().await.unwrap(), PREVIOUS_SPEC_VERSION);

		// Root may authorize an upgrade; the council gets root only for a call it whitelisted
		// first, in a motion of its own.
		let code = this_runtime();
		let code_hash = blake2_256(code);
		let authorize =
			RuntimeCall::System(SystemCall::authorize_upgrade { code_hash: code_hash.into() });
		let call_hash = blake2_256(&authorize.encode());
		chain.council_ok(whitelist_call(call_hash)).await.unwrap();
		chain
			.council_ok(dispatch_whitelisted_call_with_preimage(authorize_upgrade_call(code_hash)))
			.await
			.unwrap();
		assert_eq!(chain.spec_version().await.unwrap(), PREVIOUS_SPEC_VERSION, "only authorized");

		// Anyone may now apply exactly that code.
		chain
			.submit_ok(&apply_authorized_upgrade_call(code), &dev::dave())
			.await
			.unwrap();
		wait_for_spec(&chain, VERSION.spec_version).await;
		wait_for_migrated(&chain, VERSION.spec_version).await;
		assert_eq!(inbox_storage_version(&chain).await, 2);
		let next = chain.finalized_number().await.unwrap() + 3;
		chain.wait_for_finalized(next, WAIT).await.unwrap();
	})
	.await;
}

#[tokio::test(flavor = "multi_thread")]
async fn blobs_that_are_no_valid_upgrade_are_refused_and_the_chain_goes_on() {
	bounded(async {
		let root = tempfile::tempdir().unwrap();
		let node = Node::start(&root.path().join("node"), None).unwrap();
		let chain = Chain::connect(&node.url(), WAIT).await.unwrap();
		let spec = chain.spec_version().await.unwrap();
		assert_eq!(spec, VERSION.spec_version);

		let system_error = |error: &[u8], expected: frame_system::Error<Runtime>| {
			let error = DispatchError::decode(&mut &error[..]).unwrap();
			let expected = DispatchError::from(expected);
			let (DispatchError::Module(got), DispatchError::Module(expected)) = (error, expected)
			else {
				panic!("expected a pallet error, got {error:?}");
			};
			assert_eq!((got.index, got.error), (expected.index, expected.error), "{expected:?}");
		};

		// Not wasm at all: no runtime version can be read from it.
		let garbage = b"\0asm but not really a runtime".repeat(16);
		let error = chain
			.sudo_call_err(sudo_unchecked_weight(set_code_call(&garbage)))
			.await
			.unwrap();
		system_error(&error, frame_system::Error::FailedToExtractRuntimeVersion);

		// The previous release: a lower spec version.
		let previous = std::fs::read(previous_runtime()).unwrap();
		let error = chain
			.sudo_call_err(sudo_unchecked_weight(set_code_call(&previous)))
			.await
			.unwrap();
		system_error(&error, frame_system::Error::SpecVersionNeedsToIncrease);

		// This runtime under another chain's name.
		let renamed = with_spec_name(this_runtime(), "enclave-update-dev", "enclave-update-xyz");
		let error = chain
			.sudo_call_err(sudo_unchecked_weight(set_code_call(&renamed)))
			.await
			.unwrap();
		system_error(&error, frame_system::Error::InvalidSpecName);

		// The chain keeps producing and finalizing blocks on its old runtime.
		let next = chain.finalized_number().await.unwrap() + 3;
		chain.wait_for_finalized(next, WAIT).await.unwrap();
		assert_eq!(chain.spec_version().await.unwrap(), spec);
	})
	.await;
}

/// `code` with its `runtime_version` custom section's spec name replaced by another of the same
/// length: the runtime another chain would have built. The section is what `set_code` reads the
/// version from; the rest of the blob (its code and data) stays this runtime.
fn with_spec_name(code: &[u8], from: &str, to: &str) -> Vec<u8> {
	assert_eq!(from.len(), to.len(), "a name of the same length keeps the section's size");
	let mut wasm = sp_maybe_compressed_blob::decompress(code, 50 * 1024 * 1024)
		.expect("the blob decompresses")
		.into_owned();
	let section = custom_section(&wasm, "runtime_version").expect("the runtime has a version");
	let encoded_from = from.encode();
	// `RuntimeVersion` encodes `spec_name` first.
	assert_eq!(&wasm[section.start..section.start + encoded_from.len()], encoded_from.as_slice());
	wasm[section.start..section.start + encoded_from.len()].copy_from_slice(&to.encode());
	wasm
}

/// The byte range of the payload of the custom section `name` of a wasm module.
fn custom_section(wasm: &[u8], name: &str) -> Option<std::ops::Range<usize>> {
	fn leb128(bytes: &[u8], at: &mut usize) -> usize {
		let (mut value, mut shift) = (0usize, 0);
		loop {
			let byte = bytes[*at];
			*at += 1;
			value |= usize::from(byte & 0x7f) << shift;
			if byte & 0x80 == 0 {
				return value;
			}
			shift += 7;
		}
	}
	let mut at = 8; // magic and version
	while at < wasm.len() {
		let id = wasm[at];
		at += 1;
		let size = leb128(wasm, &mut at);
		let end = at + size;
		if id == 0 {
			let mut name_at = at;
			let name_len = leb128(wasm, &mut name_at);
			if &wasm[name_at..name_at + name_len] == name.as_bytes() {
				return Some(name_at + name_len..end);
			}
		}
		at = end;
	}
	None
}
