//! DCAP verification inside the wasm runtime (the registry's `register_enclave` path, through
//! the `EnclaveRegistryApi_verify_evidence` runtime API on `sc_executor::WasmExecutor`, as the
//! node executes it) against bare `dcap_qvl::verify` natively (ring), on the TDX sample of the
//! dcap-qvl crate with its collateral, in one run. The runtime's own code natively (the std
//! build: the same RustCrypto backend the wasm compiles) is the third line, which splits the
//! ratio into the backend's share and the wasm's.
//!
//! Each iteration of the wasm side is one runtime call on a fresh copy of the genesis state;
//! the executor's cache compiles the blob once, in the warm-up, as the node's does once per
//! runtime.

#[path = "support/genesis.rs"]
mod genesis;

use std::path::Path;

use codec::{Decode, Encode};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use enclave_update_primitives::registry::AttestedEnclave;
use enclave_update_runtime::{apis, WASM_BINARY};
use sc_executor::WasmExecutor;
use sp_core::traits::{CallContext, CodeExecutor, RuntimeCode, WrappedRuntimeCode};
use sp_io::TestExternalities;
use sp_runtime::DispatchError;

/// Inside the TDX sample's collateral window.
const TDX_AT: u64 = 1_751_624_655;

fn fixture(name: &str) -> Vec<u8> {
	let path = Path::new(env!("CARGO_MANIFEST_DIR"))
		.join("../offchain-worker/tests/fixtures")
		.join(name);
	std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn registry(c: &mut Criterion) {
	let quote = fixture("tdx_quote");
	let collateral: dcap_qvl::QuoteCollateralV3 =
		serde_json::from_slice(&fixture("tdx_quote_collateral.json")).unwrap();
	let args = (quote.clone(), collateral.encode(), TDX_AT).encode();
	let genesis = genesis::development();
	let code = WASM_BINARY.expect("the benchmark needs the runtime's wasm blob");
	let executor = WasmExecutor::<sp_io::SubstrateHostFunctions>::builder().build();
	let wrapped = WrappedRuntimeCode(code.into());
	let runtime_code = RuntimeCode {
		code_fetcher: &wrapped,
		heap_pages: None,
		hash: sp_crypto_hashing::blake2_256(code).to_vec(),
	};
	let method = "EnclaveRegistryApi_verify_evidence";
	let in_wasm = |ext: &mut TestExternalities| {
		let (result, _) =
			executor.call(&mut ext.ext(), &runtime_code, method, &args, CallContext::Offchain);
		result.expect("the wasm runtime answers")
	};
	// Every side verifies the quote, untimed, before it is timed.
	let verdict = <Result<AttestedEnclave, DispatchError>>::decode(
		&mut &in_wasm(&mut TestExternalities::new(genesis.clone()))[..],
	)
	.unwrap();
	assert!(verdict.is_ok(), "{verdict:?}");
	dcap_qvl::verify::verify(&quote, &collateral, TDX_AT).expect("bare dcap-qvl");

	let mut group = c.benchmark_group("verify_tdx_quote_in_the_runtime");
	group.bench_function("bare_dcap_qvl_native", |b| {
		b.iter(|| dcap_qvl::verify::verify(black_box(&quote), &collateral, TDX_AT).unwrap())
	});
	group.bench_function("runtime_std", |b| {
		b.iter_batched(
			|| TestExternalities::new(genesis.clone()),
			|mut ext| ext.execute_with(|| apis::api::dispatch(method, black_box(&args)).unwrap()),
			BatchSize::LargeInput,
		)
	});
	group.bench_function("runtime_wasm", |b| {
		b.iter_batched(
			|| TestExternalities::new(genesis.clone()),
			|mut ext| in_wasm(&mut ext),
			BatchSize::LargeInput,
		)
	});
	group.finish();
}

criterion_group!(benches, registry);
criterion_main!(benches);
