//! [`RpcChain`]: a [`ScheduleSource`] that follows a node over JSON-RPC (subxt's RPC client)
//! and believes nothing the node says without a check:
//!
//! 1. finality comes from the GRANDPA light client ([`LightClient`]): the node's finalized head is
//!    believed only with a justification of the tracked authority set (from `chain_getBlock`), or
//!    as an ancestor of such a block; every authority-set change on the way must be justified by
//!    the outgoing set;
//! 2. the pallet's storage comes from `state_getReadProof` at that block, checked against the
//!    header's state root ([`check_read_proof`]);
//! 3. the block must not be older than the highest block this enclave verified before, which is
//!    kept sealed on disk ([`super::ChainProgress`]) together with the light client's state: a host
//!    replaying an old chain view, in which a retired or cancelled requester was still scheduled,
//!    is refused.
//!
//! The light client starts from the chain's genesis: its header (which must hash to the genesis
//! hash) and pallet-grandpa's authority set proven against its state root. Which genesis is not
//! the node's choice once keys exist: the keys are sealed with their chain identity
//! ([`crate::store::ChainIdentity`]), fixed by `init` for the first enclave of a chain (when
//! there are no keys to steal) and, for every successor and replica, by the attested hand-over
//! (the provider refuses a requester on another chain). Keys without their identity, or with an
//! identity of other keys, are refused ([`ChainError::MissingChainIdentity`],
//! [`ChainError::ChainIdentityOfOtherKeys`]); a node on another chain is
//! [`ChainError::WrongGenesis`], even with the light client's state deleted.
//!
//! The node must store a justification for the blocks it finalizes (`--justification-period
//! 1`; GRANDPA always stores them for authority-set changes): a finalized head without one is
//! not believed until a later head comes with one.

use super::{
	grandpa::{FinalityError, LightClient},
	proof::{
		check_grandpa_proof, check_inbox_proof, check_read_proof, grandpa_keys, InboxKeys,
		PalletKeys,
	},
	registry::{
		check_cut_over_proof, check_registry_proof, cut_over_key, enclaves_prefix, key_set_key,
		VerifiedRegistry,
	},
	BlockNumber, ChainError, ChainProgress, ChainRecord, ScheduleSource, VerifiedSchedule,
};
use enclave_update_primitives::CutOverCommitment;
use sp_core::H256;
use sp_runtime::traits::{BlakeTwo256, Hash as _};
use std::{
	collections::{BTreeMap, HashMap},
	sync::Mutex,
};
use subxt_rpcs::{methods::LegacyRpcMethods, RpcClient};

/// The header format of the chains this worker follows.
pub type Header = sp_runtime::generic::Header<BlockNumber, BlakeTwo256>;

/// The name pallet-grandpa has in `construct_runtime!` of the runtimes this build follows.
pub const GRANDPA_PALLET_NAME: &str = "Grandpa";

/// The consensus engine id of GRANDPA justifications in `chain_getBlock` answers.
const GRANDPA_ENGINE_ID: [u8; 4] = *b"FRNK";

/// The types subxt's RPC client decodes node answers into.
pub enum WorkerRpcConfig {}

impl subxt_rpcs::RpcConfig for WorkerRpcConfig {
	type Header = Header;
	type Hash = H256;
	type AccountId = [u8; 32];
}

/// A block of the finalized chain as the worker accepted it: its header hashed to `hash`, and
/// it is the accepted finalized head or an ancestor of it linked by parent hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedBlock {
	/// Its number.
	pub number: BlockNumber,
	/// Its hash.
	pub hash: [u8; 32],
	/// Its parent's hash.
	pub parent_hash: [u8; 32],
	/// The state root its storage proofs are checked against.
	pub state_root: [u8; 32],
}

impl VerifiedBlock {
	fn from_header(hash: [u8; 32], header: &Header) -> Self {
		Self {
			number: header.number,
			hash,
			parent_hash: header.parent_hash.0,
			state_root: header.state_root.0,
		}
	}
}

/// A [`ScheduleSource`] over a node's JSON-RPC; see the module docs.
pub struct RpcChain {
	rpc: std::sync::RwLock<LegacyRpcMethods<WorkerRpcConfig>>,
	url: Option<String>,
	keys: PalletKeys,
	inbox_keys: InboxKeys,
	light: Mutex<LightClient>,
	genesis_hash: [u8; 32],
	progress: Mutex<Option<ChainProgress>>,
	sealed: Option<Box<dyn ChainRecord>>,
	/// The headers the last [`RpcChain::finalized_block`] imported into the light client, by
	/// their hash (each was checked to hash to it): [`RpcChain::blocks_after`] walks the same
	/// headers again and takes them from here instead of fetching each a second time. It looks
	/// a header up by the parent hash of a block it already accepted, so what it finds here is
	/// that parent, whatever else the map holds.
	imported: Mutex<HashMap<[u8; 32], VerifiedBlock>>,
}

fn rpc_error(e: impl std::fmt::Display) -> ChainError {
	ChainError::Rpc(e.to_string())
}

/// The node's header of block `hash`, checked to hash to `hash` (not yet to be final).
async fn checked_header(
	rpc: &LegacyRpcMethods<WorkerRpcConfig>,
	hash: [u8; 32],
) -> Result<Header, ChainError> {
	let header = rpc
		.chain_get_header(Some(H256(hash)))
		.await
		.map_err(rpc_error)?
		.ok_or(ChainError::UnknownBlock)?;
	// The header must be the block asked for, not any header the host likes.
	if BlakeTwo256::hash_of(&header).0 != hash {
		return Err(ChainError::HeaderHashMismatch);
	}
	Ok(header)
}

/// The trie nodes of the node's `state_getReadProof` answer for `keys` at block `at`, which the
/// answer must name.
async fn read_proof<'a>(
	rpc: &LegacyRpcMethods<WorkerRpcConfig>,
	keys: impl IntoIterator<Item = &'a [u8]>,
	at: [u8; 32],
) -> Result<Vec<Vec<u8>>, ChainError> {
	let proof = rpc.state_get_read_proof(keys, Some(H256(at))).await.map_err(rpc_error)?;
	if proof.at.0 != at {
		return Err(ChainError::HeaderHashMismatch);
	}
	Ok(proof.proof.into_iter().map(|bytes| bytes.0).collect())
}

/// The light client's checkpoint: the genesis header (which must hash to `genesis_hash`) and
/// pallet-grandpa's authority set proven against its state root.
async fn checkpoint(
	rpc: &LegacyRpcMethods<WorkerRpcConfig>,
	genesis_hash: [u8; 32],
) -> Result<LightClient, ChainError> {
	let genesis = checked_header(rpc, genesis_hash).await?;
	let keys = grandpa_keys(GRANDPA_PALLET_NAME);
	let nodes = read_proof(rpc, keys.iter().map(|k| &k[..]), genesis_hash).await?;
	let (authorities, set_id) = check_grandpa_proof(genesis.state_root.0, nodes, &keys)?;
	Ok(LightClient::from_checkpoint(genesis, authorities, set_id)?)
}

impl RpcChain {
	/// Connects to the node at `url` (`ws://…`). With `expected_genesis`, a node on another
	/// chain is refused; the sealed progress, when given, must belong to the same chain.
	pub async fn connect(
		url: &str,
		expected_genesis: Option<[u8; 32]>,
		sealed: Option<Box<dyn ChainRecord>>,
	) -> Result<Self, ChainError> {
		let client = RpcClient::from_insecure_url(url).await.map_err(rpc_error)?;
		let mut chain = Self::with_client(client, expected_genesis, sealed).await?;
		chain.url = Some(url.to_string());
		Ok(chain)
	}

	/// Opens a new connection to the node (after it restarted, say). The node must still be on
	/// the same chain. Only for chains made with [`RpcChain::connect`].
	pub async fn reconnect(&self) -> Result<(), ChainError> {
		let Some(url) = &self.url else { return Ok(()) };
		let client = RpcClient::from_insecure_url(url).await.map_err(rpc_error)?;
		let rpc = LegacyRpcMethods::<WorkerRpcConfig>::new(client);
		if rpc.genesis_hash().await.map_err(rpc_error)?.0 != self.genesis_hash {
			return Err(ChainError::WrongGenesis);
		}
		*self.rpc.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = rpc;
		Ok(())
	}

	fn rpc(&self) -> LegacyRpcMethods<WorkerRpcConfig> {
		self.rpc.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
	}

	/// As [`RpcChain::connect`], over an existing client.
	pub async fn with_client(
		client: RpcClient,
		expected_genesis: Option<[u8; 32]>,
		sealed: Option<Box<dyn ChainRecord>>,
	) -> Result<Self, ChainError> {
		let rpc = LegacyRpcMethods::<WorkerRpcConfig>::new(client);
		let genesis_hash = rpc.genesis_hash().await.map_err(rpc_error)?.0;
		let bound = match &sealed {
			Some(s) => s.keys_sealed_at()?,
			None => None,
		};
		if [expected_genesis, bound.map(|b| b.genesis_hash)]
			.iter()
			.flatten()
			.any(|expected| *expected != genesis_hash)
		{
			return Err(ChainError::WrongGenesis);
		}
		let (progress, light) = match &sealed {
			Some(s) => (s.progress()?, s.light_client()?),
			None => (None, None),
		};
		if progress.is_some_and(|p| p.genesis_hash != genesis_hash) {
			return Err(ChainError::WrongGenesis);
		}
		let light = match light {
			Some(bytes) => {
				let light = LightClient::decode_state(&bytes)?;
				if light.genesis_hash() != genesis_hash {
					return Err(ChainError::WrongGenesis);
				}
				light
			},
			// Progress without the light client's state: the host removed the file that binds
			// this enclave to its chain. Starting over would let it pick another chain.
			None if progress.is_some() => {
				return Err(ChainError::Progress(
					"the sealed light-client state is missing while chain progress exists".into(),
				))
			},
			None => {
				let light = checkpoint(&rpc, genesis_hash).await?;
				tracing::info!(
					genesis = %hex::encode(genesis_hash),
					set_id = light.set_id(),
					authorities = light.authorities().len(),
					"GRANDPA light client starts from the node's genesis"
				);
				if let Some(s) = &sealed {
					s.record_light_client(&light.encode_state())?;
				}
				light
			},
		};
		// The block the keys were sealed at is the oldest head accepted, also when the recorded
		// progress is gone or older (the host deleted or replayed it): the light client may have
		// to start from the genesis checkpoint again, but no view older than that block is used.
		let progress = match (progress, bound) {
			(Some(recorded), Some(sealed)) if sealed.block_number > recorded.block_number => {
				Some(sealed)
			},
			(None, sealed) => sealed,
			(recorded, _) => recorded,
		};
		Ok(RpcChain {
			rpc: std::sync::RwLock::new(rpc),
			url: None,
			keys: PalletKeys::default(),
			inbox_keys: InboxKeys::default(),
			light: Mutex::new(light),
			genesis_hash,
			progress: Mutex::new(progress),
			sealed,
			imported: Mutex::new(HashMap::new()),
		})
	}

	/// The header of block `hash`, checked to hash to `hash` (not yet to be final).
	async fn header(&self, hash: [u8; 32]) -> Result<Header, ChainError> {
		checked_header(&self.rpc(), hash).await
	}

	/// The GRANDPA justification the node stores with block `hash`, if any.
	async fn justification(&self, hash: H256) -> Result<Option<Vec<u8>>, ChainError> {
		let block = self.rpc().chain_get_block(Some(hash)).await.map_err(rpc_error)?;
		let Some(block) = block else { return Err(ChainError::UnknownBlock) };
		if BlakeTwo256::hash_of(&block.block.header) != hash {
			return Err(ChainError::HeaderHashMismatch);
		}
		Ok(block.justifications.and_then(|justifications| {
			justifications
				.into_iter()
				.find(|(engine, _)| *engine == GRANDPA_ENGINE_ID)
				.map(|(_, justification)| justification)
		}))
	}

	/// The light client's state now (a copy).
	pub fn light_client(&self) -> LightClient {
		self.light.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
	}

	/// The newest block the light client believes final, after importing what the node offers
	/// up to its finalized head (see the module docs). A node behind that block is a rollback
	/// ([`ChainError::StaleView`]); a node on another fork is refused
	/// ([`FinalityError::NotDescendant`]).
	pub async fn finalized_block(&self) -> Result<VerifiedBlock, ChainError> {
		let hash = self.rpc().chain_get_finalized_head().await.map_err(rpc_error)?;
		let target = self.header(hash.0).await?;
		let current = self.light_client();
		let head = current.head();
		if target.number < head.number {
			return Err(ChainError::StaleView { offered: target.number, verified: head.number });
		}
		if target.number == head.number {
			return if hash == head.hash() {
				Ok(VerifiedBlock::from_header(hash.0, head))
			} else {
				Err(FinalityError::ConflictingHead { number: head.number }.into())
			};
		}
		// The headers from the light client's head (excluded) to the target, oldest first, and
		// their hashes (each header was checked to hash to its own).
		let mut headers = vec![target];
		let mut hashes = vec![hash.0];
		while headers.last().is_some_and(|h| h.number > head.number + 1) {
			let parent = headers.last().map(|h| h.parent_hash.0).unwrap_or_default();
			let header = self.header(parent).await?;
			headers.push(header);
			hashes.push(parent);
		}
		headers.reverse();
		hashes.reverse();
		let mut justifications = BTreeMap::new();
		for hash in current.justifications_needed(&headers)? {
			if let Some(justification) = self.justification(hash).await? {
				justifications.insert(hash, justification);
			}
		}
		let mut next = current;
		if next.import(&headers, &justifications)? {
			if let Some(s) = &self.sealed {
				s.record_light_client(&next.encode_state())?;
			}
			*self.light.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = next.clone();
			*self.imported.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = hashes
				.iter()
				.zip(&headers)
				.map(|(hash, header)| (*hash, VerifiedBlock::from_header(*hash, header)))
				.collect();
		}
		let head = next.head();
		Ok(VerifiedBlock::from_header(head.hash().0, head))
	}

	/// The blocks after `from` (number and hash of a block the worker holds state for) up to
	/// and including the verified `head`, oldest first. They are found by walking back from
	/// `head` along parent hashes, so each is an ancestor of the accepted head; the walk must
	/// end on `from`, else `from` is not on the finalized chain ([`ChainError::NotAncestor`]).
	pub async fn blocks_after(
		&self,
		from: (BlockNumber, [u8; 32]),
		head: &VerifiedBlock,
	) -> Result<Vec<VerifiedBlock>, ChainError> {
		if head.number < from.0 {
			return Err(ChainError::StaleView { offered: head.number, verified: from.0 });
		}
		if head.number == from.0 {
			return if head.hash == from.1 { Ok(Vec::new()) } else { Err(ChainError::NotAncestor) };
		}
		let mut blocks = vec![*head];
		let mut parent = head.parent_hash;
		let mut number = head.number;
		while number > from.0 + 1 {
			let imported = self
				.imported
				.lock()
				.unwrap_or_else(|poisoned| poisoned.into_inner())
				.get(&parent)
				.copied();
			let block = match imported {
				Some(block) => block,
				None => VerifiedBlock::from_header(parent, &self.header(parent).await?),
			};
			if block.number + 1 != number {
				return Err(ChainError::HeaderHashMismatch);
			}
			parent = block.parent_hash;
			number = block.number;
			blocks.push(block);
		}
		if parent != from.1 {
			return Err(ChainError::NotAncestor);
		}
		blocks.reverse();
		Ok(blocks)
	}

	/// The shielded calls submitted in `block` (the inbox pallet's `Calls` at that block),
	/// read with a storage proof checked against the block's state root.
	pub async fn inbox_at(&self, block: &VerifiedBlock) -> Result<Vec<Vec<u8>>, ChainError> {
		let nodes = read_proof(&self.rpc(), self.inbox_keys.all(), block.hash).await?;
		Ok(check_inbox_proof(block.state_root, nodes, &self.inbox_keys)?)
	}

	/// The genesis hash of the followed chain.
	pub fn genesis_hash(&self) -> [u8; 32] {
		self.genesis_hash
	}

	/// The highest block verified so far.
	pub fn progress(&self) -> Option<ChainProgress> {
		*self.progress.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
	}

	/// The pallet's storage at `block` (from [`RpcChain::finalized_block`] or
	/// [`RpcChain::blocks_after`]), read with a proof checked against its state root.
	pub async fn verified_at(&self, block: &VerifiedBlock) -> Result<VerifiedSchedule, ChainError> {
		self.check_not_older(block.number)?;
		let hash = block.hash;
		let nodes = read_proof(&self.rpc(), self.keys.all(), hash).await?;
		let storage = check_read_proof(block.state_root, nodes, &self.keys)?;

		self.record(ChainProgress {
			genesis_hash: self.genesis_hash,
			block_number: block.number,
			block_hash: hash,
		})?;
		Ok(VerifiedSchedule {
			genesis_hash: self.genesis_hash,
			block_number: block.number,
			block_hash: hash,
			storage,
		})
	}

	/// The enclave registry at the verified finalized head: the chain's key set and every
	/// record the node lists, each read with a proof checked against the head's state root
	/// (the node can leave records out, not forge one).
	pub async fn verified_registry(&self) -> Result<VerifiedRegistry, ChainError> {
		let head = self.finalized_block().await?;
		self.registry_at(&head).await
	}

	/// The enclave registry at the verified `block` (from [`RpcChain::finalized_block`]), as
	/// [`RpcChain::verified_registry`] reads it.
	pub async fn registry_at(&self, block: &VerifiedBlock) -> Result<VerifiedRegistry, ChainError> {
		/// Keys asked for per `state_getKeysPaged` call.
		const PAGE: u32 = 256;
		let rpc = self.rpc();
		let at = Some(H256(block.hash));
		let prefix = enclaves_prefix();
		let mut record_keys: Vec<Vec<u8>> = Vec::new();
		loop {
			let start = record_keys.last().cloned();
			let page = rpc
				.state_get_keys_paged(&prefix, PAGE, start.as_deref(), at)
				.await
				.map_err(rpc_error)?;
			let full = page.len() == PAGE as usize;
			// A page must move forward, or a lying node would keep this loop going.
			let advanced = page.last().is_some_and(|last| start.as_ref().is_none_or(|s| last > s));
			record_keys.extend(page);
			if !full || !advanced {
				break;
			}
		}
		let key_set = key_set_key();
		let keys = std::iter::once(&key_set[..]).chain(record_keys.iter().map(|k| &k[..]));
		let nodes = read_proof(&rpc, keys, block.hash).await?;
		let (key_set, enclaves) = check_registry_proof(block.state_root, nodes, &record_keys)?;
		Ok(VerifiedRegistry {
			block_number: block.number,
			block_hash: block.hash,
			key_set,
			enclaves,
		})
	}

	/// The registry's cut-over commitment for the predecessor's last block `last_block`, at
	/// the verified `block`, read with a proof checked against its state root (`None` while the
	/// predecessor's operator has not submitted it).
	pub async fn cut_over_commitment(
		&self,
		block: &VerifiedBlock,
		last_block: BlockNumber,
	) -> Result<Option<CutOverCommitment<BlockNumber>>, ChainError> {
		let key = cut_over_key(last_block);
		let nodes = read_proof(&self.rpc(), [&key[..]], block.hash).await?;
		Ok(check_cut_over_proof(block.state_root, nodes, last_block)?)
	}

	fn check_not_older(&self, offered: BlockNumber) -> Result<(), ChainError> {
		match self.progress() {
			Some(verified) if offered < verified.block_number => {
				Err(ChainError::StaleView { offered, verified: verified.block_number })
			},
			_ => Ok(()),
		}
	}

	fn record(&self, progress: ChainProgress) -> Result<(), ChainError> {
		let mut current = self.progress.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
		// Concurrent verifications may finish out of order: keep the highest.
		if current.is_some_and(|c| c.block_number >= progress.block_number) {
			return Ok(());
		}
		if let Some(sealed) = &self.sealed {
			sealed.record_progress(&progress)?;
		}
		*current = Some(progress);
		Ok(())
	}
}

impl ScheduleSource for RpcChain {
	async fn verified_schedule(&self) -> Result<VerifiedSchedule, ChainError> {
		let head = self.finalized_block().await?;
		self.verified_at(&head).await
	}
}
