//! Native execution of `enclave-update-runtime`.
//!
//! The client asks an executor to run runtime calls against the `:code` it finds in state. A
//! production chain stores a wasm blob there and uses `sc_executor::WasmExecutor`. These machines
//! cannot build wasm, so the node links the runtime and calls
//! `enclave_update_runtime::apis::api::dispatch` directly. To keep every other part of the client
//! unchanged (genesis, `state_getRuntimeVersion`, runtime-upgrade detection, the transaction pool)
//! the genesis state still has a `:code` entry: the [`NATIVE_RUNTIME_MARKER`]. The executor runs
//! only that code and refuses anything else, so a state that carries a real wasm runtime (a
//! `set_code` or a foreign chain spec) fails loudly instead of silently executing the wrong logic.

use codec::Encode;
use sc_executor::RuntimeVersionOf;
use sp_core::traits::{
	CallContext, CodeExecutor, Externalities, FetchRuntimeCode, ReadRuntimeVersion, RuntimeCode,
};
use sp_version::RuntimeVersion;
use std::panic::AssertUnwindSafe;

/// The `:code` of a chain executed by [`NativeExecutor`].
///
/// Not wasm: a fixed byte string that names the runtime this binary links, so that `:code` is
/// present (the client requires it), its hash is stable, and an executor can tell it apart from a
/// wasm blob (which starts with `\0asm` or the zstd-compressed blob prefix).
pub const NATIVE_RUNTIME_MARKER: &[u8] = b"enclave-update-runtime:native-execution:v1";

/// Why a native runtime call failed.
#[derive(Debug, thiserror::Error)]
pub enum NativeExecutionError {
	/// The state has no `:code` at all.
	#[error("the state has no `:code`")]
	CodeNotFound,
	/// The state's `:code` is not [`NATIVE_RUNTIME_MARKER`] (for example a wasm runtime).
	#[error(
		"`:code` is not the native enclave-update runtime marker ({len} bytes starting with \
		 {prefix}); this node executes only its built-in runtime"
	)]
	NotNativeRuntime {
		/// Length of the code found.
		len: usize,
		/// Its first bytes, hex encoded, to tell wasm from garbage in logs.
		prefix: String,
	},
	/// The runtime has no such entry point.
	#[error("the runtime has no method `{0}`")]
	MethodNotFound(String),
	/// The runtime panicked; the node keeps running and reports the call as failed.
	#[error("the runtime panicked in `{method}`: {message}")]
	Panicked {
		/// The runtime method that panicked.
		method: String,
		/// The panic payload.
		message: String,
	},
}

impl From<NativeExecutionError> for sc_executor::error::Error {
	fn from(error: NativeExecutionError) -> Self {
		match error {
			NativeExecutionError::MethodNotFound(method) => Self::MethodNotFound(method),
			NativeExecutionError::Panicked { message, .. } => Self::RuntimePanicked(message),
			other => Self::Other(other.to_string()),
		}
	}
}

/// Checks that `code` is the native runtime marker.
pub fn ensure_native_code(code: &[u8]) -> Result<(), NativeExecutionError> {
	if code == NATIVE_RUNTIME_MARKER {
		Ok(())
	} else {
		Err(NativeExecutionError::NotNativeRuntime {
			len: code.len(),
			prefix: code.iter().take(8).map(|byte| format!("{byte:02x}")).collect(),
		})
	}
}

fn ensure_native_runtime(runtime_code: &RuntimeCode) -> Result<(), NativeExecutionError> {
	let code = runtime_code.fetch_runtime_code().ok_or(NativeExecutionError::CodeNotFound)?;
	ensure_native_code(&code)
}

/// Runs `method` of the linked runtime with `ext` as its storage, turning a panic into an error.
pub fn call_native(
	ext: &mut dyn Externalities,
	method: &str,
	data: &[u8],
) -> Result<Vec<u8>, NativeExecutionError> {
	let outcome = sp_externalities::set_and_run_with_externalities(ext, || {
		// sc-cli installs a panic hook that exits the process; a panicking runtime call (a bad
		// block, an undecodable argument) must instead unwind to here and fail only that call.
		let _unwind = sp_panic_handler::AbortGuard::force_unwind();
		// The runtime's state lives in `ext`, which the failed call's caller discards, so nothing
		// half-updated is observed after an unwind.
		std::panic::catch_unwind(AssertUnwindSafe(|| {
			enclave_update_runtime::apis::api::dispatch(method, data)
		}))
	});
	match outcome {
		Ok(Some(output)) => Ok(output),
		Ok(None) => Err(NativeExecutionError::MethodNotFound(method.into())),
		Err(payload) => Err(NativeExecutionError::Panicked {
			method: method.into(),
			message: panic_message(payload.as_ref()),
		}),
	}
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
	if let Some(message) = payload.downcast_ref::<String>() {
		message.clone()
	} else if let Some(message) = payload.downcast_ref::<&'static str>() {
		(*message).into()
	} else {
		"non-string panic payload".into()
	}
}

/// A [`CodeExecutor`] that runs `enclave-update-runtime` natively, in this process.
#[derive(Clone, Copy, Debug, Default)]
pub struct NativeExecutor;

impl CodeExecutor for NativeExecutor {
	type Error = NativeExecutionError;

	fn call(
		&self,
		ext: &mut dyn Externalities,
		runtime_code: &RuntimeCode,
		method: &str,
		data: &[u8],
		_context: CallContext,
	) -> (Result<Vec<u8>, Self::Error>, bool) {
		let result =
			ensure_native_runtime(runtime_code).and_then(|()| call_native(ext, method, data));
		if let Err(error) = &result {
			log::debug!(target: "native-executor", "{error}");
		}
		// `true`: native execution was used.
		(result, true)
	}
}

impl RuntimeVersionOf for NativeExecutor {
	fn runtime_version(
		&self,
		_ext: &mut dyn Externalities,
		runtime_code: &RuntimeCode,
	) -> sc_executor::error::Result<RuntimeVersion> {
		ensure_native_runtime(runtime_code)?;
		Ok(enclave_update_runtime::VERSION)
	}
}

impl ReadRuntimeVersion for NativeExecutor {
	fn read_runtime_version(
		&self,
		code: &[u8],
		_ext: &mut dyn Externalities,
	) -> Result<Vec<u8>, String> {
		// `frame_system::set_code` asks this of a proposed new runtime: only the marker (the
		// runtime this binary links) has a version the node can vouch for.
		ensure_native_code(code).map_err(|error| error.to_string())?;
		Ok(enclave_update_runtime::VERSION.encode())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use codec::Decode;
	use sp_core::traits::WrappedRuntimeCode;
	use sp_runtime::traits::{BlakeTwo256, Hash as HashT};
	use sp_state_machine::BasicExternalities;

	fn runtime_code(code: &[u8]) -> (WrappedRuntimeCode<'_>, Vec<u8>) {
		(WrappedRuntimeCode(code.into()), <BlakeTwo256 as HashT>::hash(code).encode())
	}

	#[test]
	fn core_version_is_the_linked_runtime_version() {
		let (fetcher, hash) = runtime_code(NATIVE_RUNTIME_MARKER);
		let code = RuntimeCode { code_fetcher: &fetcher, heap_pages: None, hash };
		let mut ext = BasicExternalities::default();
		let (result, native) =
			NativeExecutor.call(&mut ext, &code, "Core_version", &[], CallContext::Offchain);
		assert!(native);
		let version = RuntimeVersion::decode(&mut &result.unwrap()[..]).unwrap();
		assert_eq!(version, enclave_update_runtime::VERSION);
		assert_eq!(
			NativeExecutor.runtime_version(&mut ext, &code).unwrap(),
			enclave_update_runtime::VERSION
		);
	}

	#[test]
	fn wasm_code_is_refused() {
		let (fetcher, hash) = runtime_code(b"\0asm\x01\0\0\0");
		let code = RuntimeCode { code_fetcher: &fetcher, heap_pages: None, hash };
		let mut ext = BasicExternalities::default();
		let (result, _) =
			NativeExecutor.call(&mut ext, &code, "Core_version", &[], CallContext::Offchain);
		assert!(matches!(result, Err(NativeExecutionError::NotNativeRuntime { len: 8, .. })));
		assert!(NativeExecutor.runtime_version(&mut ext, &code).is_err());
	}

	#[test]
	fn unknown_method_and_panics_are_errors() {
		let mut ext = BasicExternalities::default();
		assert!(matches!(
			call_native(&mut ext, "Nope_nothing", &[]),
			Err(NativeExecutionError::MethodNotFound(_))
		));
		// An argument that does not decode makes the generated dispatcher panic.
		assert!(matches!(
			call_native(&mut ext, "EnclaveUpdateApi_measurement_at", &[1]),
			Err(NativeExecutionError::Panicked { .. })
		));
	}
}
