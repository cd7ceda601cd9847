//! The development preset's genesis state, as the benches that execute the runtime start from.

use enclave_update_runtime::{
	genesis_config_presets::development_config_genesis, RuntimeGenesisConfig,
};
use sp_core::storage::Storage;
use sp_runtime::BuildStorage;

/// The default genesis config with the development preset merged in, built to storage.
pub fn development() -> Storage {
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
	sc_chain_spec::json_merge(&mut config, development_config_genesis());
	serde_json::from_value::<RuntimeGenesisConfig>(config)
		.unwrap()
		.build_storage()
		.unwrap()
}
