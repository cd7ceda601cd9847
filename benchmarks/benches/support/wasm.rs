//! The runtime's wasm blob on `sc_executor::WasmExecutor` with Substrate's host functions, as
//! the node executes it. The executor's runtime cache compiles the blob at the first call.

use enclave_update_runtime::WASM_BINARY;
use sc_executor::WasmExecutor;
use sp_core::traits::{CallContext, CodeExecutor, RuntimeCode, WrappedRuntimeCode};
use sp_io::TestExternalities;
use std::borrow::Cow;

/// The blob, for the executor to fetch (empty in a build without it: [`WasmRuntime::new`]
/// refuses that).
static CODE: WrappedRuntimeCode<'static> = WrappedRuntimeCode(Cow::Borrowed(match WASM_BINARY {
	Some(code) => code,
	None => &[],
}));

pub struct WasmRuntime {
	executor: WasmExecutor<sp_io::SubstrateHostFunctions>,
	runtime_code: RuntimeCode<'static>,
}

impl WasmRuntime {
	pub fn new() -> Self {
		let code = WASM_BINARY.expect("the benchmark needs the runtime's wasm blob");
		Self {
			executor: WasmExecutor::builder().build(),
			runtime_code: RuntimeCode {
				code_fetcher: &CODE,
				heap_pages: None,
				hash: sp_crypto_hashing::blake2_256(code).to_vec(),
			},
		}
	}

	/// Calls the runtime API `method` with the SCALE-encoded `args` on `ext`'s state; panics if
	/// the executor fails (a trap, a missing export).
	pub fn call(
		&self,
		ext: &mut TestExternalities,
		method: &str,
		args: &[u8],
		context: CallContext,
	) -> Vec<u8> {
		let (result, _) =
			self.executor.call(&mut ext.ext(), &self.runtime_code, method, args, context);
		result.unwrap_or_else(|e| panic!("the wasm runtime answers {method}: {e}"))
	}
}
