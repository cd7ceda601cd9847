//! Storage read proofs of the EnclaveUpdate pallet, checked against a state root.
//!
//! The host hands the worker a header and a `state_getReadProof` answer; only values that the
//! proof's trie nodes connect to the header's state root are believed. A key the proof does not
//! cover is an error, not an absent value: absence must be proven too.

use codec::{Decode, DecodeAll};
use enclave_update_primitives::{ActiveEnclave, Measurement, ScheduledEnclave, SupersededEnclave};
use sp_core::{Blake2Hasher, H256};
use sp_crypto_hashing::twox_128;
use sp_state_machine::{read_proof_check, StorageProof};

use super::BlockNumber;

/// The name the EnclaveUpdate pallet has in `construct_runtime!` of the runtimes this build
/// follows. A constant of the build (see [`crate::measured`]): no host input names the pallet.
pub const PALLET_NAME: &str = "EnclaveUpdate";

/// The name the shielded-call inbox pallet has in `construct_runtime!` of the runtimes this
/// build follows (a constant of the build, see [`crate::measured`]).
pub const INBOX_PALLET_NAME: &str = "ShieldedInbox";

/// The name the enclave registry pallet has in `construct_runtime!` of the runtimes this build
/// follows (a constant of the build, see [`crate::measured`]). Its `KeySet` is the checksum of
/// the chain's one key set, fixed by the first registration.
pub const REGISTRY_PALLET_NAME: &str = "EnclaveRegistry";

/// The storage key of the inbox pallet's `Calls` value (the ciphertexts submitted in a block)
/// for the pallet named `pallet_name` in the runtime.
pub fn inbox_calls_key(pallet_name: &str) -> Vec<u8> {
	storage_value_key(pallet_name, "Calls")
}

/// The storage keys of the inbox pallet that a block's calls are read with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxKeys {
	/// `Calls`: the block's ciphertexts.
	pub calls: Vec<u8>,
	/// The pallet's `:__STORAGE_VERSION__:`, which FRAME writes for every pallet of a runtime
	/// at genesis. Proving it present proves that the pallet exists under this name: an absent
	/// `Calls` value then means "no calls in this block", not "another runtime layout".
	pub version: Vec<u8>,
}

impl InboxKeys {
	/// The keys for the inbox pallet named `pallet_name` in the runtime.
	pub fn new(pallet_name: &str) -> Self {
		InboxKeys {
			calls: inbox_calls_key(pallet_name),
			version: storage_value_key(pallet_name, STORAGE_VERSION_ITEM),
		}
	}

	/// Both keys, in the order a read proof is requested.
	pub fn all(&self) -> [&[u8]; 2] {
		[&self.calls, &self.version]
	}
}

impl Default for InboxKeys {
	fn default() -> Self {
		InboxKeys::new(INBOX_PALLET_NAME)
	}
}

/// The item name under which FRAME keeps a pallet's storage version
/// (`frame_support::traits::STORAGE_VERSION_STORAGE_KEY_POSTFIX`).
pub const STORAGE_VERSION_ITEM: &str = ":__STORAGE_VERSION__:";

/// The storage keys of the pallet's items that the provisioning decision reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PalletKeys {
	/// `Active`.
	pub active: Vec<u8>,
	/// `Schedule`.
	pub schedule: Vec<u8>,
	/// `History`.
	pub history: Vec<u8>,
	/// `Retired`.
	pub retired: Vec<u8>,
	/// pallet-timestamp's `Now`: the chain's time, in milliseconds.
	pub timestamp: Vec<u8>,
	/// The enclave registry's `KeySet`: the checksum of the chain's key set, absent until the
	/// first registration.
	pub key_set: Vec<u8>,
}

/// The name pallet-timestamp has in `construct_runtime!` of the runtimes this build follows.
pub const TIMESTAMP_PALLET_NAME: &str = "Timestamp";

pub(crate) fn storage_value_key(pallet: &str, item: &str) -> Vec<u8> {
	[twox_128(pallet.as_bytes()), twox_128(item.as_bytes())].concat()
}

impl PalletKeys {
	/// The keys for the pallet named `pallet_name` in the runtime (its `construct_runtime!`
	/// name, e.g. [`PALLET_NAME`]).
	pub fn new(pallet_name: &str) -> Self {
		PalletKeys {
			active: storage_value_key(pallet_name, "Active"),
			schedule: storage_value_key(pallet_name, "Schedule"),
			history: storage_value_key(pallet_name, "History"),
			retired: storage_value_key(pallet_name, "Retired"),
			timestamp: storage_value_key(TIMESTAMP_PALLET_NAME, "Now"),
			key_set: super::registry::key_set_key(),
		}
	}

	/// All keys, in the order a read proof is requested.
	pub fn all(&self) -> [&[u8]; 6] {
		[&self.active, &self.schedule, &self.history, &self.retired, &self.timestamp, &self.key_set]
	}
}

impl Default for PalletKeys {
	fn default() -> Self {
		PalletKeys::new(PALLET_NAME)
	}
}

/// The pallet's storage as proven (with the chain's time and key set).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProvenStorage {
	/// `Active`.
	pub active: Option<ActiveEnclave<BlockNumber>>,
	/// `History`.
	pub superseded: Vec<SupersededEnclave<BlockNumber>>,
	/// `Schedule`.
	pub scheduled: Vec<ScheduledEnclave<BlockNumber>>,
	/// `Retired`.
	pub retired: Vec<Measurement>,
	/// `Timestamp::Now` in milliseconds (0 at genesis, where it is unset): the chain's time,
	/// which the worker uses instead of the host's clock (collateral validity, challenge
	/// freshness).
	pub timestamp_ms: u64,
	/// `EnclaveRegistry::KeySet`: the checksum of the chain's one key set, fixed by the first
	/// registration; `None` while no enclave has registered. Keys with another checksum are
	/// neither handed out nor accepted.
	pub key_set: Option<[u8; 32]>,
}

/// Why a read proof was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
	/// The proof's nodes do not connect the key to the state root (forged or foreign proof,
	/// or a value altered on the way).
	#[error("the proof does not prove {item} against the state root: {reason}")]
	NotProven {
		/// The storage item.
		item: &'static str,
		/// What the trie lookup reported.
		reason: String,
	},
	/// The proven bytes are not the item's SCALE encoding (a runtime with another layout).
	#[error("the proven value of {item} does not decode")]
	Undecodable {
		/// The storage item.
		item: &'static str,
	},
	/// The proof shows the item absent whose presence proves the pallet exists under the name
	/// this build reads: the runtime renamed or removed it, and this build cannot follow it.
	#[error("the proof shows no {item}: the runtime has no such pallet under the name this build reads (renamed or removed)")]
	PalletMissing {
		/// The storage item.
		item: &'static str,
	},
	/// The proven schedule breaks the pallet's invariants (sorted, retired set sorted).
	#[error("the proven {item} breaks the pallet's invariants")]
	Inconsistent {
		/// The storage item.
		item: &'static str,
	},
}

pub(super) fn read_proven(
	state_root: [u8; 32],
	proof: &StorageProof,
	item: &'static str,
	key: &[u8],
) -> Result<Option<Vec<u8>>, ProofError> {
	let mut values =
		read_proof_check::<Blake2Hasher, _>(H256::from(state_root), proof.clone(), [key])
			.map_err(|e| ProofError::NotProven { item, reason: e.to_string() })?;
	Ok(values.remove(key).flatten())
}

/// Checks `proof` of the inbox's `Calls` value and storage version ([`InboxKeys`]) against
/// `state_root` and returns the block's ciphertexts in inclusion order (none when the value is
/// absent, which the proof must show too). A state without the pallet's storage version has no
/// inbox pallet under the name this build reads ([`ProofError::PalletMissing`]): reading its
/// absent `Calls` as "no calls" would silently drop every user's call.
pub fn check_inbox_proof(
	state_root: [u8; 32],
	proof: Vec<Vec<u8>>,
	keys: &InboxKeys,
) -> Result<Vec<Vec<u8>>, ProofError> {
	let proof = StorageProof::new(proof);
	if read_proven(state_root, &proof, "ShieldedInbox::StorageVersion", &keys.version)?.is_none() {
		return Err(ProofError::PalletMissing { item: "ShieldedInbox::StorageVersion" });
	}
	let value = read_proven(state_root, &proof, "ShieldedInbox::Calls", &keys.calls)?;
	Ok(decode("ShieldedInbox::Calls", value)?.unwrap_or_default())
}

/// The storage keys of pallet-grandpa's `Authorities` and `CurrentSetId` for the pallet named
/// `pallet_name` in the runtime (`Grandpa` in the dev runtime).
pub fn grandpa_keys(pallet_name: &str) -> [Vec<u8>; 2] {
	[storage_value_key(pallet_name, "Authorities"), storage_value_key(pallet_name, "CurrentSetId")]
}

/// Checks `proof` of pallet-grandpa's `Authorities` and `CurrentSetId` (keys [`grandpa_keys`])
/// against `state_root`: the authority set a light client starts from. An absent or empty
/// authority list is an error (no set could ever finalize anything).
pub fn check_grandpa_proof(
	state_root: [u8; 32],
	proof: Vec<Vec<u8>>,
	keys: &[Vec<u8>; 2],
) -> Result<(sp_consensus_grandpa::AuthorityList, sp_consensus_grandpa::SetId), ProofError> {
	let proof = StorageProof::new(proof);
	let authorities: sp_consensus_grandpa::AuthorityList = decode(
		"Grandpa::Authorities",
		read_proven(state_root, &proof, "Grandpa::Authorities", &keys[0])?,
	)?
	.unwrap_or_default();
	if authorities.is_empty() {
		return Err(ProofError::Inconsistent { item: "Grandpa::Authorities" });
	}
	let set_id = decode(
		"Grandpa::CurrentSetId",
		read_proven(state_root, &proof, "Grandpa::CurrentSetId", &keys[1])?,
	)?
	.unwrap_or_default();
	Ok((authorities, set_id))
}

pub(super) fn decode<T: Decode>(
	item: &'static str,
	bytes: Option<Vec<u8>>,
) -> Result<Option<T>, ProofError> {
	bytes
		.map(|bytes| T::decode_all(&mut &bytes[..]).map_err(|_| ProofError::Undecodable { item }))
		.transpose()
}

/// Checks `proof` (the nodes of a `state_getReadProof` answer for [`PalletKeys::all`]) against
/// `state_root` and decodes the pallet's storage from it.
pub fn check_read_proof(
	state_root: [u8; 32],
	proof: Vec<Vec<u8>>,
	keys: &PalletKeys,
) -> Result<ProvenStorage, ProofError> {
	let proof = StorageProof::new(proof);
	let read = |item: &'static str, key: &[u8]| read_proven(state_root, &proof, item, key);
	let storage = ProvenStorage {
		active: decode("Active", read("Active", &keys.active)?)?,
		scheduled: decode("Schedule", read("Schedule", &keys.schedule)?)?.unwrap_or_default(),
		superseded: decode("History", read("History", &keys.history)?)?.unwrap_or_default(),
		retired: decode("Retired", read("Retired", &keys.retired)?)?.unwrap_or_default(),
		timestamp_ms: decode("Timestamp::Now", read("Timestamp::Now", &keys.timestamp)?)?
			.unwrap_or_default(),
		key_set: decode(
			"EnclaveRegistry::KeySet",
			read("EnclaveRegistry::KeySet", &keys.key_set)?,
		)?,
	};
	if !storage.scheduled.windows(2).all(|w| w[0].activates_at < w[1].activates_at) {
		return Err(ProofError::Inconsistent { item: "Schedule" });
	}
	// provisioning_decision binary-searches the retired set.
	if !storage.retired.windows(2).all(|w| w[0] < w[1]) {
		return Err(ProofError::Inconsistent { item: "Retired" });
	}
	Ok(storage)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::testing::m;
	use assert_matches::assert_matches;
	use codec::Encode;
	use sp_state_machine::{prove_read, Backend, InMemoryBackend};

	fn backend_with(entries: Vec<(Vec<u8>, Vec<u8>)>) -> InMemoryBackend<Blake2Hasher> {
		let mut backend = InMemoryBackend::<Blake2Hasher>::default();
		backend.insert(
			vec![(None, entries.into_iter().map(|(k, v)| (k, Some(v))).collect())],
			Default::default(),
		);
		backend
	}

	fn prove(
		backend: &InMemoryBackend<Blake2Hasher>,
		keys: &PalletKeys,
	) -> ([u8; 32], Vec<Vec<u8>>) {
		let proof = prove_read(backend.clone(), keys.all()).unwrap();
		(
			backend.storage_root(std::iter::empty(), Default::default()).0.into(),
			proof.into_iter_nodes().collect(),
		)
	}

	fn sample() -> (InMemoryBackend<Blake2Hasher>, PalletKeys, ProvenStorage) {
		let keys = PalletKeys::default();
		let storage = ProvenStorage {
			active: Some(ActiveEnclave { measurement: m(1), since: 10 }),
			superseded: vec![SupersededEnclave {
				measurement: m(0),
				activated_at: 0,
				superseded_at: 10,
			}],
			scheduled: vec![ScheduledEnclave { measurement: m(2), activates_at: 30 }],
			retired: vec![m(7), m(9)],
			timestamp_ms: 0,
			key_set: Some([0x5c; 32]),
		};
		let backend = backend_with(vec![
			(keys.active.clone(), storage.active.unwrap().encode()),
			(keys.schedule.clone(), storage.scheduled.encode()),
			(keys.history.clone(), storage.superseded.encode()),
			(keys.retired.clone(), storage.retired.encode()),
			(keys.key_set.clone(), storage.key_set.unwrap().encode()),
			(b"unrelated".to_vec(), vec![1, 2, 3]),
		]);
		(backend, keys, storage)
	}

	#[test]
	fn a_valid_proof_yields_the_storage() {
		let (backend, keys, storage) = sample();
		let (root, proof) = prove(&backend, &keys);
		assert_eq!(check_read_proof(root, proof, &keys), Ok(storage));
	}

	#[test]
	fn inbox_calls_are_proven_and_tampering_is_refused() {
		let keys = InboxKeys::default();
		assert_eq!(keys.calls, [twox_128(b"ShieldedInbox"), twox_128(b"Calls")].concat());
		let version = (keys.version.clone(), 0u16.encode());
		let prove_inbox = |backend: &InMemoryBackend<Blake2Hasher>| -> ([u8; 32], Vec<Vec<u8>>) {
			let root = backend.storage_root(std::iter::empty(), Default::default()).0.into();
			(root, prove_read(backend.clone(), keys.all()).unwrap().into_iter_nodes().collect())
		};
		let calls = vec![vec![1u8, 2, 3], vec![], vec![9; 40]];
		let backend = backend_with(vec![
			(keys.calls.clone(), calls.encode()),
			version.clone(),
			(b"unrelated".to_vec(), vec![1]),
		]);
		let (root, nodes) = prove_inbox(&backend);
		assert_eq!(check_inbox_proof(root, nodes.clone(), &keys), Ok(calls.clone()));

		// Another state root (a host lying about the block) is refused.
		let mut other_root = root;
		other_root[0] ^= 1;
		assert_matches!(
			check_inbox_proof(other_root, nodes.clone(), &keys),
			Err(ProofError::NotProven { .. })
		);
		// A proof of another value (a host altering the calls) is refused.
		let forged =
			backend_with(vec![(keys.calls.clone(), vec![vec![7u8]].encode()), version.clone()]);
		let (_, forged_nodes) = prove_inbox(&forged);
		assert_matches!(
			check_inbox_proof(root, forged_nodes, &keys),
			Err(ProofError::NotProven { .. })
		);
		// An empty inbox is proven empty.
		let empty = backend_with(vec![version.clone(), (b"unrelated".to_vec(), vec![1])]);
		let (empty_root, empty_nodes) = prove_inbox(&empty);
		assert_eq!(check_inbox_proof(empty_root, empty_nodes, &keys), Ok(vec![]));

		// The inbox pallet under another name: the calls are there, but not where this build
		// reads. An empty inbox would drop them silently; the missing pallet is refused.
		let renamed = InboxKeys::new("Inbox");
		let elsewhere = backend_with(vec![
			(renamed.calls.clone(), calls.encode()),
			(renamed.version.clone(), 0u16.encode()),
		]);
		let (renamed_root, renamed_nodes) = prove_inbox(&elsewhere);
		assert_eq!(
			check_inbox_proof(renamed_root, renamed_nodes, &keys),
			Err(ProofError::PalletMissing { item: "ShieldedInbox::StorageVersion" })
		);
	}

	#[test]
	fn absent_items_are_proven_absent() {
		let keys = PalletKeys::default();
		let backend = backend_with(vec![(b"unrelated".to_vec(), vec![1])]);
		let (root, proof) = prove(&backend, &keys);
		assert_eq!(check_read_proof(root, proof, &keys), Ok(ProvenStorage::default()));
	}

	#[test]
	fn a_proof_against_another_root_is_refused() {
		let (backend, keys, _) = sample();
		let (mut root, proof) = prove(&backend, &keys);
		root[0] ^= 1;
		assert_matches!(
			check_read_proof(root, proof, &keys),
			Err(ProofError::NotProven { item: "Active", .. })
		);
	}

	#[test]
	fn an_altered_value_is_refused() {
		let (backend, keys, storage) = sample();
		let (root, proof) = prove(&backend, &keys);
		// The host swaps the retired set for an empty one in the proof's leaf node.
		let retired = storage.retired.encode();
		let altered: Vec<Vec<u8>> = proof
			.into_iter()
			.map(|node| match node.windows(retired.len()).position(|w| w == retired) {
				Some(at) => {
					let mut node = node.clone();
					node[at + 1] ^= 0xff;
					node
				},
				None => node,
			})
			.collect();
		assert_matches!(check_read_proof(root, altered, &keys), Err(ProofError::NotProven { .. }));
	}

	#[test]
	fn a_proof_missing_nodes_is_refused() {
		let (backend, keys, _) = sample();
		let (root, proof) = prove(&backend, &keys);
		// Only the nodes proving `Active`: the other keys are not covered.
		let partial = prove_read(backend.clone(), [&keys.active[..]])
			.unwrap()
			.into_iter_nodes()
			.collect();
		assert_matches!(
			check_read_proof(root, partial, &keys),
			Err(ProofError::NotProven { item: "Schedule", .. })
		);
		assert!(check_read_proof(root, proof, &keys).is_ok());
	}

	#[test]
	fn undecodable_and_inconsistent_values_are_refused() {
		let keys = PalletKeys::default();
		let backend = backend_with(vec![(keys.schedule.clone(), vec![0xff, 0xff])]);
		let (root, proof) = prove(&backend, &keys);
		assert_eq!(
			check_read_proof(root, proof, &keys),
			Err(ProofError::Undecodable { item: "Schedule" })
		);

		let unsorted = vec![m(9), m(7)];
		let backend = backend_with(vec![(keys.retired.clone(), unsorted.encode())]);
		let (root, proof) = prove(&backend, &keys);
		assert_eq!(
			check_read_proof(root, proof, &keys),
			Err(ProofError::Inconsistent { item: "Retired" })
		);
	}

	#[test]
	fn keys_match_the_pallet() {
		use enclave_update_runtime::{Runtime, RuntimeGenesisConfig};
		use sp_runtime::BuildStorage;

		let mut genesis = RuntimeGenesisConfig::default();
		genesis.enclave_update.initial_enclave = Some(m(0xaa));
		genesis.enclave_update.initial_schedule = vec![(m(0xbb), 20)];
		let storage = genesis.build_storage().unwrap();
		let mut ext = sp_io::TestExternalities::new(storage.clone());
		let expected = ext.execute_with(|| ProvenStorage {
			active: pallet_enclave_update::Active::<Runtime>::get(),
			superseded: pallet_enclave_update::History::<Runtime>::get().into_inner(),
			scheduled: pallet_enclave_update::Schedule::<Runtime>::get().into_inner(),
			retired: pallet_enclave_update::Retired::<Runtime>::get().into_inner(),
			// Unset at genesis.
			timestamp_ms: 0,
			// No enclave registered at genesis.
			key_set: None,
		});
		assert!(expected.active.is_some() && !expected.scheduled.is_empty());
		// The registry is in the runtime under the name this build reads: its storage version
		// is where the build looks, so an absent `KeySet` means "none registered", not "the
		// pallet moved".
		assert!(storage
			.top
			.contains_key(&storage_value_key(REGISTRY_PALLET_NAME, STORAGE_VERSION_ITEM)));

		let backend = backend_with(storage.top.into_iter().collect());
		let keys = PalletKeys::default();
		let (root, proof) = prove(&backend, &keys);
		assert_eq!(check_read_proof(root, proof, &keys), Ok(expected));
	}
}
