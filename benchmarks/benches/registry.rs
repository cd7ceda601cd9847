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

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/genesis.rs"]
mod genesis;
#[path = "support/wasm.rs"]
mod wasm;

use fixtures::{tdx_sample, TdxSample, TDX_AT};
use wasm::WasmRuntime;

use codec::{Decode, Encode};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use enclave_update_primitives::registry::AttestedEnclave;
use enclave_update_runtime::apis;
use sp_core::traits::CallContext;
use sp_io::TestExternalities;
use sp_runtime::DispatchError;

fn registry(c: &mut Criterion) {
	let TdxSample { quote, dcap_collateral: collateral, .. } = tdx_sample();
	let args = (quote.clone(), collateral.encode(), TDX_AT).encode();
	let genesis = genesis::development();
	let wasm = WasmRuntime::new();
	let method = "EnclaveRegistryApi_verify_evidence";
	let in_wasm =
		|ext: &mut TestExternalities| wasm.call(ext, method, &args, CallContext::Offchain);
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
