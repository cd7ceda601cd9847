//! Chain specifications: the runtime's wasm blob and one of its genesis presets.
//!
//! The built-in chains take the preset from the blob itself (its `GenesisBuilder` API, executed
//! as wasm), set the measurement active at genesis, and leave building the genesis storage to
//! the blob too: what the node stores as `:code` is exactly what built the genesis state.

use crate::service::HostFunctions;
use enclave_update_primitives::Measurement;
use sc_chain_spec::GenesisConfigBuilderRuntimeCaller;
use sc_service::{ChainType, Properties};
use std::path::Path;

/// The chain spec type of this node: no extensions; the host functions the runtime may call.
pub type ChainSpec = sc_service::GenericChainSpec<Option<()>, HostFunctions>;

/// A built-in chain: its id, name, type and the runtime's preset it starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinChain {
	/// `--dev` / `--chain dev`: Alice alone authors and finalizes.
	Development,
	/// `--chain local`: Alice and Bob, two node processes, finalize together.
	Local,
}

impl BuiltinChain {
	/// The built-in chain `--chain id` names, if any (no `--chain` at all means `dev`).
	pub fn from_id(id: &str) -> Option<Self> {
		match id {
			"" | "dev" => Some(Self::Development),
			"local" => Some(Self::Local),
			_ => None,
		}
	}

	fn id(self) -> &'static str {
		match self {
			Self::Development => "dev",
			Self::Local => "local_testnet",
		}
	}

	fn name(self) -> &'static str {
		match self {
			Self::Development => "Development",
			Self::Local => "Local Testnet",
		}
	}

	fn chain_type(self) -> ChainType {
		match self {
			Self::Development => ChainType::Development,
			Self::Local => ChainType::Local,
		}
	}

	fn preset(self) -> &'static str {
		match self {
			Self::Development => sp_genesis_builder::DEV_RUNTIME_PRESET,
			Self::Local => sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET,
		}
	}
}

/// Why a chain spec could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ChainSpecError {
	/// The node was built without the runtime's wasm blob.
	#[error("{0}")]
	NoWasmBinary(&'static str),
	/// The blob has no such preset, or its `GenesisBuilder` failed.
	#[error("the runtime's genesis preset `{preset}`: {reason}")]
	Preset {
		/// The preset asked for.
		preset: &'static str,
		/// What the runtime said.
		reason: String,
	},
	/// `--genesis-runtime` could not be read.
	#[error("the genesis runtime {path}: {reason}")]
	GenesisRuntime {
		/// The file.
		path: String,
		/// Why it could not be read.
		reason: std::io::Error,
	},
	/// `--chain` names neither a built-in chain nor a file.
	#[error(
		"unknown chain `{0}`: expected `dev`, `local`, or the path of a chain spec JSON file \
		 (`build-spec` writes one)"
	)]
	UnknownChain(String),
	/// The chain spec file does not parse.
	#[error("chain spec {path}: {reason}")]
	InvalidFile {
		/// The file.
		path: String,
		/// What is wrong with it.
		reason: String,
	},
}

fn token_properties() -> Properties {
	let mut properties = Properties::new();
	properties.insert("tokenSymbol".into(), "UNIT".into());
	properties.insert("tokenDecimals".into(), 12.into());
	properties.insert("ss58Format".into(), 42.into());
	properties
}

/// What the command line changes in a built-in chain's genesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisOverrides {
	/// The runtime blob to start on, if not the node's own.
	pub runtime: Option<std::path::PathBuf>,
	/// The measurement active from block 0.
	pub genesis_enclave: Measurement,
	/// The slot duration in milliseconds, if not the preset's.
	pub slot_duration_ms: Option<u64>,
}

#[cfg(test)]
impl GenesisOverrides {
	/// The dev preset as it is, with `genesis_enclave` active.
	pub fn enclave(genesis_enclave: Measurement) -> Self {
		Self { runtime: None, genesis_enclave, slot_duration_ms: None }
	}
}

/// The chain spec of a built-in chain on the runtime `code`, with its preset changed as
/// `overrides` say.
pub fn builtin_chain_spec(
	chain: BuiltinChain,
	code: &[u8],
	overrides: &GenesisOverrides,
) -> Result<ChainSpec, ChainSpecError> {
	let preset = chain.preset();
	let mut patch = GenesisConfigBuilderRuntimeCaller::<HostFunctions>::new(code)
		.get_named_preset(Some(&preset.to_string()))
		.map_err(|reason| ChainSpecError::Preset { preset, reason })?;
	sc_chain_spec::json_merge(
		&mut patch,
		serde_json::json!({ "enclaveUpdate": { "initialEnclave": overrides.genesis_enclave } }),
	);
	if let Some(slot_duration_ms) = overrides.slot_duration_ms {
		sc_chain_spec::json_merge(
			&mut patch,
			serde_json::json!({ "blockTime": { "slotDurationMs": slot_duration_ms } }),
		);
	}
	Ok(ChainSpec::builder(code, None)
		.with_name(chain.name())
		.with_id(chain.id())
		.with_chain_type(chain.chain_type())
		.with_properties(token_properties())
		.with_genesis_config_patch(patch)
		.build())
}

/// The chain `id` names: a built-in chain on this node's runtime (changed as `overrides` say),
/// or a chain spec file.
pub fn load(id: &str, overrides: GenesisOverrides) -> Result<ChainSpec, ChainSpecError> {
	if let Some(chain) = BuiltinChain::from_id(id) {
		return match &overrides.runtime {
			Some(path) => {
				let code = std::fs::read(path).map_err(|reason| {
					ChainSpecError::GenesisRuntime { path: path.display().to_string(), reason }
				})?;
				builtin_chain_spec(chain, &code, &overrides)
			},
			None => {
				let code =
					enclave_update_runtime::wasm_binary().map_err(ChainSpecError::NoWasmBinary)?;
				builtin_chain_spec(chain, code, &overrides)
			},
		};
	}
	if !Path::new(id).is_file() {
		return Err(ChainSpecError::UnknownChain(id.into()));
	}
	ChainSpec::from_json_file(id.into())
		.map_err(|reason| ChainSpecError::InvalidFile { path: id.into(), reason })
}

#[cfg(test)]
mod tests {
	use super::*;
	use enclave_update_runtime::genesis_config_presets::DEV_GENESIS_ENCLAVE;
	use sp_core::storage::well_known_keys;

	fn wasm() -> &'static [u8] {
		enclave_update_runtime::wasm_binary().expect("the tests need the wasm blob")
	}

	#[test]
	fn dev_genesis_is_built_by_the_wasm_blob_and_names_the_enclave() {
		let enclave = Measurement::MrEnclave([7; 32]);
		let spec = builtin_chain_spec(
			BuiltinChain::Development,
			wasm(),
			&GenesisOverrides::enclave(enclave),
		)
		.unwrap();
		let storage = sc_service::ChainSpec::as_storage_builder(&spec).build_storage().unwrap();
		assert_eq!(storage.top[well_known_keys::CODE].as_slice(), wasm());

		let mut ext = sp_io::TestExternalities::new(storage);
		ext.execute_with(|| {
			let active = pallet_enclave_update::Active::<enclave_update_runtime::Runtime>::get()
				.expect("an enclave is active at genesis");
			assert_eq!(active.measurement, enclave);
			assert_eq!(
				pallet_aura::Authorities::<enclave_update_runtime::Runtime>::get().len(),
				1,
				"Alice alone authors a dev chain"
			);
		});
	}

	#[test]
	fn the_slot_duration_is_set_at_genesis() {
		let storage_with = |slot_duration_ms| {
			let overrides = GenesisOverrides {
				runtime: None,
				genesis_enclave: DEV_GENESIS_ENCLAVE,
				slot_duration_ms,
			};
			let spec = builtin_chain_spec(BuiltinChain::Development, wasm(), &overrides).unwrap();
			sc_service::ChainSpec::as_storage_builder(&spec).build_storage()
		};
		let slot_of = |storage| {
			sp_io::TestExternalities::new(storage).execute_with(
				enclave_update_runtime::block_time::Pallet::<enclave_update_runtime::Runtime>::slot_duration_ms,
			)
		};
		assert_eq!(
			slot_of(storage_with(None).unwrap()),
			enclave_update_runtime::DEV_MILLI_SECS_PER_BLOCK
		);
		assert_eq!(slot_of(storage_with(Some(400)).unwrap()), 400);
		// The runtime refuses it when it builds the genesis (a wasm trap: its panic message does
		// not cross the executor); the command line refuses it before that, with the reason.
		assert!(storage_with(Some(401)).is_err());
	}

	#[test]
	fn the_local_chain_has_two_authorities() {
		let spec = builtin_chain_spec(
			BuiltinChain::Local,
			wasm(),
			&GenesisOverrides::enclave(DEV_GENESIS_ENCLAVE),
		)
		.unwrap();
		let storage = sc_service::ChainSpec::as_storage_builder(&spec).build_storage().unwrap();
		sp_io::TestExternalities::new(storage).execute_with(|| {
			assert_eq!(pallet_aura::Authorities::<enclave_update_runtime::Runtime>::get().len(), 2);
			assert_eq!(
				pallet_grandpa::Pallet::<enclave_update_runtime::Runtime>::grandpa_authorities()
					.len(),
				2
			);
		});
	}

	#[test]
	fn raw_json_round_trips() {
		let spec = builtin_chain_spec(
			BuiltinChain::Development,
			wasm(),
			&GenesisOverrides::enclave(DEV_GENESIS_ENCLAVE),
		)
		.unwrap();
		let json = sc_service::ChainSpec::as_json(&spec, true).unwrap();
		let reloaded = ChainSpec::from_json_bytes(json.into_bytes()).unwrap();
		let code = sc_service::ChainSpec::as_storage_builder(&reloaded)
			.build_storage()
			.unwrap()
			.top[well_known_keys::CODE]
			.clone();
		assert_eq!(code, wasm());
	}

	#[test]
	fn unknown_chains_and_corrupt_files_are_clear_errors() {
		let error = load("no-such-chain", GenesisOverrides::enclave(DEV_GENESIS_ENCLAVE))
			.err()
			.expect("an unknown chain is refused");
		assert!(matches!(error, ChainSpecError::UnknownChain(_)), "{error}");
		assert!(error.to_string().contains("expected `dev`, `local`"), "{error}");

		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("spec.json");
		std::fs::write(&path, b"{ not json").unwrap();
		let error = load(path.to_str().unwrap(), GenesisOverrides::enclave(DEV_GENESIS_ENCLAVE))
			.err()
			.expect("a corrupt chain spec is refused");
		assert!(matches!(error, ChainSpecError::InvalidFile { .. }), "{error}");
	}

	#[test]
	fn a_preset_the_runtime_lacks_is_a_clear_error() {
		let error = GenesisConfigBuilderRuntimeCaller::<HostFunctions>::new(wasm())
			.get_named_preset(Some(&"no-such-preset".to_string()))
			.unwrap_err();
		assert!(error.contains("no-such-preset"), "{error}");
	}
}
