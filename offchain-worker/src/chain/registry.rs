//! The enclave registry (`pallet-enclave-registry`) as the chain proves it: the registered
//! enclaves' records and the chain's key set, read with storage proofs checked against a
//! verified header's state root. Users take the shielding key from here, not from a file the
//! host writes.
//!
//! The records are listed by the node (`state_getKeysPaged`), which a lying host can shorten but
//! not forge: every record shown is proven, and a record whose key set is not the chain's is
//! never used.

use codec::Encode;
use enclave_update_primitives::CutOverCommitment;
use sp_crypto_hashing::{blake2_128, twox_64};
use sp_state_machine::StorageProof;

use super::{
	proof::{decode, read_proven, storage_value_key, ProofError, REGISTRY_PALLET_NAME},
	BlockNumber,
};

/// The prefix of the registry's `Enclaves` map (its keys are this, then `Blake2_128Concat` of
/// the account).
pub fn enclaves_prefix() -> Vec<u8> {
	storage_value_key(REGISTRY_PALLET_NAME, "Enclaves")
}

/// The registry's `KeySet` value.
pub fn key_set_key() -> Vec<u8> {
	storage_value_key(REGISTRY_PALLET_NAME, "KeySet")
}

/// The storage key of the record of `account` (its SCALE encoding).
pub fn enclave_key(account: &[u8]) -> Vec<u8> {
	[enclaves_prefix(), blake2_128(account).to_vec(), account.to_vec()].concat()
}

/// The storage key of the registry's cut-over commitment for the predecessor's last block
/// `last_block` (`CutOvers`, a `Twox64Concat` map by block number).
pub fn cut_over_key(last_block: BlockNumber) -> Vec<u8> {
	let encoded = last_block.encode();
	[storage_value_key(REGISTRY_PALLET_NAME, "CutOvers"), twox_64(&encoded).to_vec(), encoded]
		.concat()
}

/// Checks `proof` of [`cut_over_key`]`(last_block)` against `state_root`: the commitment the
/// predecessor made for its last block `last_block`, `None` while there is none. A commitment
/// stored under the key of another block is refused.
pub fn check_cut_over_proof(
	state_root: [u8; 32],
	proof: Vec<Vec<u8>>,
	last_block: BlockNumber,
) -> Result<Option<CutOverCommitment<BlockNumber>>, ProofError> {
	let proof = StorageProof::new(proof);
	let item = "EnclaveRegistry::CutOvers";
	let commitment: Option<CutOverCommitment<BlockNumber>> =
		decode(item, read_proven(state_root, &proof, item, &cut_over_key(last_block))?)?;
	if commitment.is_some_and(|c| c.last_block != last_block) {
		return Err(ProofError::Inconsistent { item });
	}
	Ok(commitment)
}

/// The account (SCALE-encoded) a key of the `Enclaves` map names, `None` for a key that is not
/// one (another prefix, or a hash that does not match the account).
pub fn account_of_key(key: &[u8]) -> Option<Vec<u8>> {
	let rest = key.strip_prefix(&enclaves_prefix()[..])?;
	let (hash, account) = rest.split_at_checked(16)?;
	(hash == blake2_128(account)).then(|| account.to_vec())
}

/// One registered enclave: the pallet's record, with the URL as a vector (the runtime's bounded
/// URL encodes as one).
pub type RegisteredEnclave =
	enclave_update_primitives::registry::EnclaveRecord<Vec<u8>, BlockNumber>;

/// Registered enclaves, each with its account (SCALE-encoded).
pub type RegisteredEnclaves = Vec<(Vec<u8>, RegisteredEnclave)>;

/// The registry at one verified block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRegistry {
	/// The verified block's number.
	pub block_number: BlockNumber,
	/// The verified block's hash.
	pub block_hash: [u8; 32],
	/// `KeySet`: the chain's key-set checksum, `None` until the first registration.
	pub key_set: Option<[u8; 32]>,
	/// The records the node listed, each proven, by account (SCALE-encoded).
	pub enclaves: RegisteredEnclaves,
}

/// Why the registry gives no shielding key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
	/// No enclave has registered: the chain has no key set yet.
	#[error("no enclave is registered on the chain yet: its key set is not fixed")]
	NoKeySet,
	/// The key set is fixed but the node listed no record of it.
	#[error("the node lists no registered enclave holding the chain's key set")]
	NoRecord,
	/// Records of the chain's key set name different shielding keys (the pallet never stores
	/// that: a runtime with another layout, or another derivation of the shielding key).
	#[error("registered enclaves of one key set name different shielding keys")]
	ShieldingKeysDiffer,
}

impl VerifiedRegistry {
	/// The records that hold the chain's key set (a record of another set cannot exist under
	/// the pallet's rules; it is skipped all the same).
	pub fn of_key_set(&self) -> impl Iterator<Item = &(Vec<u8>, RegisteredEnclave)> {
		self.enclaves.iter().filter(|(_, r)| Some(r.key_set_checksum) == self.key_set)
	}

	/// The chain's one shielding public key: the one every record of its key set names.
	pub fn shielding_key(&self) -> Result<[u8; 32], RegistryError> {
		if self.key_set.is_none() {
			return Err(RegistryError::NoKeySet);
		}
		let mut keys = self.of_key_set().map(|(_, r)| r.shielding_key);
		let first = keys.next().ok_or(RegistryError::NoRecord)?;
		if keys.any(|k| k != first) {
			return Err(RegistryError::ShieldingKeysDiffer);
		}
		Ok(first)
	}
}

/// Checks `proof` of [`key_set_key`] and `record_keys` (keys of the `Enclaves` map) against
/// `state_root`. A listed key the proof shows absent is dropped (the node listed a stale key);
/// a key that is not a record key is refused.
pub fn check_registry_proof(
	state_root: [u8; 32],
	proof: Vec<Vec<u8>>,
	record_keys: &[Vec<u8>],
) -> Result<(Option<[u8; 32]>, RegisteredEnclaves), ProofError> {
	let proof = StorageProof::new(proof);
	let key_set = decode(
		"EnclaveRegistry::KeySet",
		read_proven(state_root, &proof, "EnclaveRegistry::KeySet", &key_set_key())?,
	)?;
	let mut enclaves = Vec::with_capacity(record_keys.len());
	for key in record_keys {
		let item = "EnclaveRegistry::Enclaves";
		let account = account_of_key(key).ok_or(ProofError::Inconsistent { item })?;
		if let Some(record) = decode(item, read_proven(state_root, &proof, item, key)?)? {
			enclaves.push((account, record));
		}
	}
	Ok((key_set, enclaves))
}

#[cfg(test)]
mod tests {
	use super::*;
	use assert_matches::assert_matches;
	use enclave_update_primitives::{
		registry::{EvidenceKind, TcbStatus},
		Measurement,
	};
	use sp_core::Blake2Hasher;
	use sp_state_machine::{prove_read, Backend, InMemoryBackend};

	type RuntimeRecord = pallet_enclave_registry::EnclaveRecordOf<enclave_update_runtime::Runtime>;

	fn runtime_record(shielding_key: [u8; 32], key_set: [u8; 32]) -> RuntimeRecord {
		RuntimeRecord {
			kind: EvidenceKind::Simulated,
			measurement: Measurement::MrEnclave([1; 32]),
			signing_key: [2; 32],
			url: b"127.0.0.1:7001".to_vec().try_into().unwrap(),
			shielding_key,
			key_set_checksum: key_set,
			registered_at: 5,
			attested_at: 9,
			tcb_status: TcbStatus::UpToDate,
			evidence_hash: [4; 32],
		}
	}

	fn proven(
		entries: Vec<(Vec<u8>, Vec<u8>)>,
		keys: &[Vec<u8>],
	) -> Result<(Option<[u8; 32]>, RegisteredEnclaves), ProofError> {
		let mut backend = InMemoryBackend::<Blake2Hasher>::default();
		backend.insert(
			vec![(None, entries.into_iter().map(|(k, v)| (k, Some(v))).collect())],
			Default::default(),
		);
		let key_set = key_set_key();
		let all: Vec<&[u8]> =
			std::iter::once(&key_set[..]).chain(keys.iter().map(|k| &k[..])).collect();
		let proof = prove_read(backend.clone(), all).unwrap();
		let root = backend.storage_root(std::iter::empty(), Default::default()).0;
		check_registry_proof(root.into(), proof.into_iter_nodes().collect(), keys)
	}

	#[test]
	fn the_runtime_record_decodes_as_proven() {
		let record = runtime_record([3; 32], [8; 32]);
		let key = enclave_key(&[7; 32]);
		let (key_set, enclaves) = proven(
			vec![(key_set_key(), [8u8; 32].encode()), (key.clone(), record.encode())],
			&[key],
		)
		.unwrap();
		assert_eq!(key_set, Some([8; 32]));
		let (account, got) = &enclaves[0];
		assert_eq!(account, &vec![7; 32]);
		assert_eq!(got.url, b"127.0.0.1:7001");
		assert_eq!(got.encode(), record.encode());
		let registry = VerifiedRegistry {
			block_number: 1,
			block_hash: [0; 32],
			key_set,
			enclaves: enclaves.clone(),
		};
		assert_eq!(registry.shielding_key(), Ok([3; 32]));
	}

	#[test]
	fn a_runtime_commitment_is_read_under_its_block() {
		let commitment = CutOverCommitment {
			measurement: Measurement::MrEnclave([1; 32]),
			last_block: 56u32,
			block_hash: [2; 32],
			state_hash: [3; 32],
		};
		// The runtime's key for block 56 of `CutOvers`.
		let runtime_key =
			pallet_enclave_registry::CutOvers::<enclave_update_runtime::Runtime>::hashed_key_for(
				56,
			);
		assert_eq!(cut_over_key(56), runtime_key);
		let mut backend = InMemoryBackend::<Blake2Hasher>::default();
		backend.insert(
			vec![(None, vec![(cut_over_key(56), Some(commitment.encode()))])],
			Default::default(),
		);
		let root = backend.storage_root(std::iter::empty(), Default::default()).0.into();
		let proof = |keys: &[Vec<u8>]| {
			let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
			prove_read(backend.clone(), keys).unwrap().into_iter_nodes().collect::<Vec<_>>()
		};
		assert_eq!(
			check_cut_over_proof(root, proof(&[cut_over_key(56)]), 56),
			Ok(Some(commitment))
		);
		assert_eq!(check_cut_over_proof(root, proof(&[cut_over_key(57)]), 57), Ok(None));
		assert_matches!(
			check_cut_over_proof(root, proof(&[cut_over_key(57)]), 56),
			Err(ProofError::NotProven { .. })
		);
	}

	#[test]
	fn the_map_key_names_the_account() {
		let key = enclave_key(&[7; 32]);
		assert_eq!(account_of_key(&key), Some(vec![7; 32]));
		let mut other = key.clone();
		*other.last_mut().unwrap() ^= 1;
		assert_eq!(account_of_key(&other), None, "the hash does not match the account");
		assert_eq!(account_of_key(&key_set_key()), None);
	}

	#[test]
	fn a_key_the_proof_does_not_cover_is_refused() {
		let key = enclave_key(&[7; 32]);
		let record = runtime_record([3; 32], [8; 32]).encode();
		let mut backend = InMemoryBackend::<Blake2Hasher>::default();
		backend.insert(
			vec![(
				None,
				vec![(key_set_key(), Some([8u8; 32].encode())), (key.clone(), Some(record))],
			)],
			Default::default(),
		);
		// A proof of the key set only, offered for the record too.
		let proof = prove_read(backend.clone(), [&key_set_key()[..]]).unwrap();
		let root = backend.storage_root(std::iter::empty(), Default::default()).0;
		let result = check_registry_proof(root.into(), proof.into_iter_nodes().collect(), &[key]);
		assert_matches!(result, Err(ProofError::NotProven { .. }));
	}

	#[test]
	fn no_key_set_or_no_record_gives_no_shielding_key() {
		let none = VerifiedRegistry {
			block_number: 1,
			block_hash: [0; 32],
			key_set: None,
			enclaves: vec![],
		};
		assert_eq!(none.shielding_key(), Err(RegistryError::NoKeySet));
		let (_, record) = proven(
			vec![(enclave_key(&[7; 32]), runtime_record([3; 32], [9; 32]).encode())],
			&[enclave_key(&[7; 32])],
		)
		.unwrap()
		.1
		.remove(0);
		// A record of another key set is never the chain's shielding key.
		let other_set = VerifiedRegistry {
			key_set: Some([8; 32]),
			enclaves: vec![(vec![7; 32], record.clone())],
			..none.clone()
		};
		assert_eq!(other_set.shielding_key(), Err(RegistryError::NoRecord));
		let mut differing = record.clone();
		differing.shielding_key = [4; 32];
		let two = VerifiedRegistry {
			key_set: Some([9; 32]),
			enclaves: vec![(vec![7; 32], record), (vec![6; 32], differing)],
			..none
		};
		assert_eq!(two.shielding_key(), Err(RegistryError::ShieldingKeysDiffer));
	}
}
