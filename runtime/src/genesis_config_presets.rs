//! Genesis presets: the development chain (Alice is sudo; Alice, Bob and Charlie are the
//! council; the well-known dev accounts are endowed; a development enclave is active).

use crate::{
	AccountId, BalancesConfig, CouncilConfig, EnclaveUpdateConfig, RuntimeGenesisConfig,
	SudoConfig, UNIT,
};
use alloc::{vec, vec::Vec};
use enclave_update_primitives::Measurement;
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::Sr25519Keyring;

/// What every dev account is endowed with.
pub const ENDOWMENT: u128 = 1_000_000 * UNIT;

/// The measurement active at genesis on the development chain unless the node is told another:
/// the measurement of the simulated "old" enclave of the devnet story (`0xaa…aa`).
pub const DEV_GENESIS_ENCLAVE: Measurement = Measurement::MrEnclave([0xaa; 32]);

/// The genesis config as JSON patch: sudo `root`, `council` members, `endowed` accounts, and the
/// `genesis_enclave` active from block 0.
pub fn genesis(
	endowed: Vec<AccountId>,
	root: AccountId,
	council: Vec<AccountId>,
	genesis_enclave: Option<Measurement>,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed.into_iter().map(|account| (account, ENDOWMENT)).collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
		council: CouncilConfig { members: council },
		enclave_update: EnclaveUpdateConfig { initial_enclave: genesis_enclave },
	})
}

/// The development chain's genesis.
pub fn development_config_genesis() -> Value {
	genesis(
		Sr25519Keyring::well_known().map(|k| k.to_account_id()).collect(),
		Sr25519Keyring::Alice.to_account_id(),
		vec![
			Sr25519Keyring::Alice.to_account_id(),
			Sr25519Keyring::Bob.to_account_id(),
			Sr25519Keyring::Charlie.to_account_id(),
		],
		Some(DEV_GENESIS_ENCLAVE),
	)
}

/// The preset named `id`, serialized as JSON.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET
		| sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => development_config_genesis(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialization to json is expected to work. qed.")
			.into_bytes(),
	)
}

/// The names of the presets.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
	]
}
