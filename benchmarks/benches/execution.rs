//! Block import's execution of the runtime: the wasm blob on `sc_executor::WasmExecutor` (what
//! the node runs, with Substrate's host functions) against the std build of the same runtime, on
//! the same block and the same genesis state, in one run.
//!
//! The block is built natively once: the dev genesis, Aura's slot digest, the timestamp inherent
//! and `TRANSFERS` signed `transfer_keep_alive` calls from Alice. Each iteration executes it
//! (`Core_execute_block`, which checks the state root) on a fresh copy of the genesis state,
//! which is made outside the timed part. The executor's runtime cache compiles the blob once,
//! in the warm-up, as the node's does once per runtime.

#[path = "support/genesis.rs"]
mod genesis;
#[path = "support/wasm.rs"]
mod wasm;

use wasm::WasmRuntime;

use codec::Encode;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use enclave_update_runtime::{
	apis, sign_transaction, BalancesCall, BlockTime, Executive, Header, RuntimeCall, System,
	UncheckedExtrinsic,
};
use sp_core::{storage::Storage, traits::CallContext};
use sp_io::TestExternalities;
use sp_keyring::Sr25519Keyring::{Alice, Bob};
use sp_runtime::{traits::Header as _, MultiAddress};

/// Transfers in the executed block.
const TRANSFERS: u32 = 50;

fn transfer(nonce: u32) -> UncheckedExtrinsic {
	let call = RuntimeCall::Balances(BalancesCall::transfer_keep_alive {
		dest: MultiAddress::Id(Bob.to_account_id()),
		value: 1_000_000_000,
	});
	sign_transaction(&Alice.pair(), call, nonce)
}

/// Block 1 on `genesis`, SCALE-encoded as `Core_execute_block` takes it.
fn block_one(genesis: &Storage) -> Vec<u8> {
	TestExternalities::new(genesis.clone()).execute_with(|| {
		// Any slot after genesis; the timestamp must lie in it.
		let slot = sp_consensus_aura::Slot::from(1_000_000u64);
		let digest = sp_runtime::Digest {
			logs: vec![sp_runtime::DigestItem::PreRuntime(
				sp_consensus_aura::AURA_ENGINE_ID,
				slot.encode(),
			)],
		};
		let header =
			Header::new(1, Default::default(), Default::default(), System::block_hash(0), digest);
		Executive::initialize_block(&header);
		let timestamp =
			UncheckedExtrinsic::new_bare(RuntimeCall::Timestamp(pallet_timestamp::Call::set {
				now: *slot * BlockTime::slot_duration_ms(),
			}));
		let mut extrinsics = vec![timestamp];
		extrinsics.extend((0..TRANSFERS).map(transfer));
		for extrinsic in &extrinsics {
			Executive::apply_extrinsic(extrinsic.clone()).unwrap().unwrap();
		}
		let header = Executive::finalize_block();
		enclave_update_runtime::Block { header, extrinsics }.encode()
	})
}

fn execution(c: &mut Criterion) {
	let genesis = genesis::development();
	let block = block_one(&genesis);
	let wasm = WasmRuntime::new();
	let import = CallContext::Onchain { import: true };
	let fresh_state = || TestExternalities::new(genesis.clone());

	// Both paths execute the block once untimed; each checks the header's state root, so both
	// reach the state the native build produced.
	fresh_state().execute_with(|| apis::api::dispatch("Core_execute_block", &block).unwrap());
	wasm.call(&mut fresh_state(), "Core_execute_block", &block, import);

	let mut group = c.benchmark_group(format!("execute_block/{TRANSFERS}_transfers"));
	group.bench_function("std", |b| {
		b.iter_batched(
			fresh_state,
			|mut ext| ext.execute_with(|| apis::api::dispatch("Core_execute_block", &block)),
			BatchSize::LargeInput,
		)
	});
	group.bench_function("wasm", |b| {
		b.iter_batched(
			fresh_state,
			|mut ext| wasm.call(&mut ext, "Core_execute_block", &block, import),
			BatchSize::LargeInput,
		)
	});
	group.finish();
}

criterion_group!(benches, execution);
criterion_main!(benches);
