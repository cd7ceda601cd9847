//! Chain specifications: the genesis state of the development chains, built natively.
//!
//! A wasm node asks the runtime's `GenesisBuilder` API (in wasm) to turn a JSON preset into
//! storage. Here the runtime is linked, so the node does the same thing directly: the preset's
//! JSON patch is merged onto the default `RuntimeGenesisConfig`, which builds the storage
//! (`BuildStorage`), and `:code` is set to the [`NATIVE_RUNTIME_MARKER`]. The result is handed to
//! sc-service as a chain spec with raw storage, the format `build-spec --raw` writes.

use crate::executor::NATIVE_RUNTIME_MARKER;
use enclave_update_primitives::Measurement;
use enclave_update_runtime::{genesis_config_presets, AccountId, RuntimeGenesisConfig};
use sc_service::{ChainType, Properties};
use sp_core::storage::{well_known_keys, Storage};
use sp_keyring::Sr25519Keyring;
use sp_runtime::BuildStorage;

/// The chain spec type of this node: no extensions, no host functions (nothing runs in wasm).
pub type ChainSpec = sc_service::GenericChainSpec;

/// Why a genesis state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
	/// The genesis config (defaults plus the preset patch) is not valid JSON for the runtime.
	#[error("invalid genesis config: {0}")]
	Config(#[from] serde_json::Error),
	/// A pallet refused its genesis config.
	#[error("building the genesis storage failed: {0}")]
	Build(String),
}

/// The genesis storage of the runtime configured by `patch` (a JSON patch over the default
/// `RuntimeGenesisConfig`, as the runtime's presets are), with the native runtime as `:code`.
pub fn genesis_storage(patch: serde_json::Value) -> Result<Storage, GenesisError> {
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default())?;
	sc_chain_spec::json_merge(&mut config, patch);
	// `RuntimeGenesisConfig` denies unknown fields, so a patch with a typo fails here.
	let config: RuntimeGenesisConfig = serde_json::from_value(config)?;
	let mut storage = config.build_storage().map_err(GenesisError::Build)?;
	storage.top.insert(well_known_keys::CODE.to_vec(), NATIVE_RUNTIME_MARKER.to_vec());
	Ok(storage)
}

fn dev_accounts() -> (Vec<AccountId>, AccountId, Vec<AccountId>) {
	let endowed = Sr25519Keyring::well_known().map(|k| k.to_account_id()).collect();
	let sudo = Sr25519Keyring::Alice.to_account_id();
	let council = [Sr25519Keyring::Alice, Sr25519Keyring::Bob, Sr25519Keyring::Charlie]
		.iter()
		.map(|k| k.to_account_id())
		.collect();
	(endowed, sudo, council)
}

fn token_properties() -> Properties {
	let mut properties = Properties::new();
	properties.insert("tokenSymbol".into(), "UNIT".into());
	properties.insert("tokenDecimals".into(), 12.into());
	properties.insert("ss58Format".into(), 42.into());
	properties
}

/// A development chain spec (`chain_type` `Development` or `Local`): Alice is sudo; Alice, Bob and
/// Charlie are the council; the well-known dev accounts are endowed; `genesis_enclave` is the
/// active measurement from block 0.
pub fn development_chain_spec(
	id: &str,
	name: &str,
	chain_type: ChainType,
	genesis_enclave: Measurement,
) -> Result<ChainSpec, GenesisError> {
	let (endowed, sudo, council) = dev_accounts();
	let patch = genesis_config_presets::genesis(endowed, sudo, council, Some(genesis_enclave));
	let storage = genesis_storage(patch.clone())?;
	let mut spec = ChainSpec::builder(NATIVE_RUNTIME_MARKER, Default::default())
		.with_name(name)
		.with_id(id)
		.with_chain_type(chain_type)
		.with_properties(token_properties())
		.with_genesis_config_patch(patch)
		.build();
	// Replace the patch (which sc-chain-spec would evaluate by calling the runtime as wasm) with
	// the storage built natively above.
	sc_service::ChainSpec::set_storage(&mut spec, storage);
	Ok(spec)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn dev_genesis_has_the_marker_and_the_enclave() {
		let enclave = Measurement::MrEnclave([7; 32]);
		let spec =
			development_chain_spec("dev", "Development", ChainType::Development, enclave).unwrap();
		let storage = sc_service::ChainSpec::as_storage_builder(&spec).build_storage().unwrap();
		assert_eq!(storage.top[well_known_keys::CODE].as_slice(), NATIVE_RUNTIME_MARKER);

		let mut ext = sp_io::TestExternalities::new(storage);
		ext.execute_with(|| {
			let active = pallet_enclave_update::Active::<enclave_update_runtime::Runtime>::get()
				.expect("an enclave is active at genesis");
			assert_eq!(active.measurement, enclave);
			assert_eq!(
				pallet_sudo::Key::<enclave_update_runtime::Runtime>::get(),
				Some(Sr25519Keyring::Alice.to_account_id())
			);
		});
	}

	#[test]
	fn raw_json_round_trips() {
		let spec = development_chain_spec(
			"dev",
			"Development",
			ChainType::Development,
			genesis_config_presets::DEV_GENESIS_ENCLAVE,
		)
		.unwrap();
		let json = sc_service::ChainSpec::as_json(&spec, true).unwrap();
		let reloaded = ChainSpec::from_json_bytes(json.into_bytes()).unwrap();
		let code =
			sc_service::ChainSpec::as_storage_builder(&reloaded).build_storage().unwrap().top
				[well_known_keys::CODE]
				.clone();
		assert_eq!(code, NATIVE_RUNTIME_MARKER);
	}
}
