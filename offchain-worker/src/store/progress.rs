//! The enclave's sealed chain record: what [`crate::chain::rpc::RpcChain`] keeps between runs
//! ([`ChainRecord`]), in the data directory, sealed to the enclave's measurement.

use std::sync::Arc;

use enclave_update_primitives::Measurement;

use super::{Store, StoreError};
use crate::{
	chain::{ChainError, ChainProgress, ChainRecord},
	keys::KeyChecksum,
	tee::SealingKey,
};

/// The chain record of one enclave: its data directory, sealing key and measurement.
pub struct SealedProgress {
	/// The worker's data directory.
	pub store: Store,
	/// The enclave's sealing key.
	pub sealing_key: Arc<SealingKey>,
	/// The enclave's measurement.
	pub measurement: Measurement,
	/// The checksum of the keys the enclave holds, when its caller has unsealed them already:
	/// the chain identity is checked against it, and the keys are not unsealed a second time.
	/// `None`: they are read from the sealed key file (an enclave that has none yet has no
	/// chain identity either).
	pub held_keys: Option<KeyChecksum>,
}

fn record_error(e: StoreError) -> ChainError {
	ChainError::Progress(e.to_string())
}

impl ChainRecord for SealedProgress {
	fn keys_sealed_at(&self) -> Result<Option<ChainProgress>, ChainError> {
		let (store, key, measurement) = (&self.store, &*self.sealing_key, &self.measurement);
		let held = match self.held_keys {
			Some(held) => held,
			None => match store.read_sealed_keys(key, measurement) {
				Ok((keys, _)) => keys.checksum(),
				Err(StoreError::NoKeys(_) | StoreError::SealedByOtherEnclave { .. }) => {
					return Ok(None)
				},
				Err(e) => return Err(record_error(e)),
			},
		};
		match store.read_chain_identity(key, measurement).map_err(record_error)? {
			Some(identity) if identity.key_checksum == held.0 => Ok(Some(ChainProgress {
				genesis_hash: identity.genesis_hash,
				block_number: identity.sealed_at_block,
				block_hash: identity.sealed_at_hash,
			})),
			Some(identity) => Err(ChainError::ChainIdentityOfOtherKeys {
				identity_of: KeyChecksum(identity.key_checksum),
				held,
			}),
			None => Err(ChainError::MissingChainIdentity),
		}
	}

	fn progress(&self) -> Result<Option<ChainProgress>, ChainError> {
		self.store
			.read_chain_progress(&self.sealing_key, &self.measurement)
			.map_err(record_error)
	}

	fn record_progress(&self, progress: &ChainProgress) -> Result<(), ChainError> {
		self.store
			.write_chain_progress(&self.sealing_key, &self.measurement, progress)
			.map_err(record_error)
	}

	fn light_client(&self) -> Result<Option<Vec<u8>>, ChainError> {
		self.store
			.read_light_client(&self.sealing_key, &self.measurement)
			.map_err(record_error)
	}

	fn record_light_client(&self, state: &[u8]) -> Result<(), ChainError> {
		self.store
			.write_light_client(&self.sealing_key, &self.measurement, state)
			.map_err(record_error)
	}
}
