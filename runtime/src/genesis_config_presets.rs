//! Genesis presets, served by the runtime's `GenesisBuilder` API (`build-spec`, `--chain`):
//!
//! - `development`: Alice alone authors (Aura) and finalizes (GRANDPA); a `--dev` node.
//! - `local_testnet`: Alice and Bob author and finalize together, as two node processes; GRANDPA
//!   needs both (a supermajority of two is two).
//!
//! In both, a block is authored every second (a genesis without `blockTime` has six-second
//! slots, a production chain's); Alice is sudo; Alice, Bob and Charlie are the council; the
//! well-known dev accounts are endowed; [`DEV_GENESIS_ENCLAVE`] is the active measurement. These
//! keys are public: such a chain proves the mechanics, not security.

use crate::{
	AccountId, AuraConfig, BalancesConfig, BlockTimeConfig, CouncilConfig, EnclaveUpdateConfig,
	GrandpaConfig, RuntimeGenesisConfig, SudoConfig, DEV_MILLI_SECS_PER_BLOCK, UNIT,
};
use alloc::{vec, vec::Vec};
use enclave_update_primitives::Measurement;
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// What every dev account is endowed with.
pub const ENDOWMENT: u128 = 1_000_000 * UNIT;

/// The measurement active at genesis on the development chains unless the node is told another:
/// the measurement of the simulated "old" enclave of the devnet story (`0xaa…aa`).
pub const DEV_GENESIS_ENCLAVE: Measurement = Measurement::MrEnclave([0xaa; 32]);

/// The authority keys of a well-known dev account, the ones `--alice`, `--bob`, … put in a node's
/// keystore: its sr25519 key for Aura and its ed25519 key for GRANDPA.
pub fn authority_keys(aura: Sr25519Keyring, grandpa: Ed25519Keyring) -> (AuraId, GrandpaId) {
	(aura.public().into(), grandpa.public().into())
}

/// The genesis config as JSON patch: one block a second, the Aura and GRANDPA `authorities`, sudo
/// `root`, `council` members, `endowed` accounts, and the `genesis_enclave` active from block 0.
pub fn genesis(
	authorities: Vec<(AuraId, GrandpaId)>,
	endowed: Vec<AccountId>,
	root: AccountId,
	council: Vec<AccountId>,
	genesis_enclave: Option<Measurement>,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		block_time: BlockTimeConfig { slot_duration_ms: Some(DEV_MILLI_SECS_PER_BLOCK) },
		aura: AuraConfig {
			authorities: authorities.iter().map(|(aura, _)| aura.clone()).collect::<Vec<_>>(),
		},
		grandpa: GrandpaConfig {
			authorities: authorities
				.iter()
				.map(|(_, grandpa)| (grandpa.clone(), 1))
				.collect::<Vec<_>>(),
		},
		balances: BalancesConfig {
			balances: endowed.into_iter().map(|account| (account, ENDOWMENT)).collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
		council: CouncilConfig { members: council },
		enclave_update: EnclaveUpdateConfig { initial_enclave: genesis_enclave },
	})
}

/// A development chain's genesis with `validators` as its authorities.
fn development_genesis(validators: &[(Sr25519Keyring, Ed25519Keyring)]) -> Value {
	genesis(
		validators
			.iter()
			.map(|&(aura, grandpa)| authority_keys(aura, grandpa))
			.collect(),
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

/// The `development` preset: Alice alone is the authority.
pub fn development_config_genesis() -> Value {
	development_genesis(&[(Sr25519Keyring::Alice, Ed25519Keyring::Alice)])
}

/// The `local_testnet` preset: Alice and Bob are the authorities.
pub fn local_testnet_genesis() -> Value {
	development_genesis(&[
		(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
		(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
	])
}

/// The preset named `id`, serialized as JSON.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_testnet_genesis(),
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
