//! A scripted node RPC on loopback for the worker's tests: real headers, real trie proofs over
//! real storage, and real GRANDPA justifications signed by the chain's authority keys (the test
//! plays the chain's validators); only the block production is scripted. A [`Tamper`] mode
//! makes it a lying host.

use super::grandpa::{authority_list, justification, keys};
use codec::Encode;
use enclave_update_primitives::{ActiveEnclave, Measurement, ScheduledEnclave};
use enclave_worker::chain::{
	proof::{grandpa_keys, InboxKeys, PalletKeys},
	rpc::{Header, GRANDPA_PALLET_NAME},
};
use jsonrpsee::{
	server::{Server, ServerHandle},
	types::ErrorObjectOwned,
	RpcModule,
};
use sp_core::{ed25519, Blake2Hasher, Bytes, H256};
use sp_runtime::{traits::Header as _, Digest};
use sp_state_machine::{prove_read, Backend, InMemoryBackend};
use std::{
	collections::HashMap,
	sync::{Arc, Mutex},
};

pub use enclave_worker::testing::m;

#[derive(Clone, Copy, PartialEq)]
pub enum Tamper {
	/// Honest answers.
	None,
	/// A byte of the largest read-proof node flipped.
	AlterProof,
	/// Every header asked for answered with the genesis header.
	OtherBlocksHeader,
}

/// One block: its header and its state.
pub struct Block {
	/// The header.
	pub header: Header,
	/// The state.
	pub backend: InMemoryBackend<Blake2Hasher>,
}

/// The scripted chain.
pub struct Chain {
	/// Its blocks, genesis first.
	pub blocks: Vec<Block>,
	/// The index of the block reported finalized.
	pub finalized: usize,
	/// How the node lies, if it does.
	pub tamper: Tamper,
	/// The GRANDPA justifications the node stores, by block number.
	pub justifications: HashMap<u32, Vec<u8>>,
	/// Genesis salt: another value makes another chain.
	pub chain_salt: u8,
	/// The name the runtime gives its inbox pallet in the blocks pushed from now on.
	pub inbox_pallet: &'static str,
	/// How many `chain_getHeader` requests the node answered.
	pub header_requests: usize,
}

/// The chain's GRANDPA authorities.
pub fn authorities() -> Vec<ed25519::Pair> {
	keys(&[1, 2, 3])
}

/// Stores the authorities' justification of block `number`.
pub fn justify(chain: &mut Chain, number: u32) {
	let header = chain.blocks[number as usize].header.clone();
	chain
		.justifications
		.insert(number, justification(&header, 1, 0, &authorities()));
}

/// The chain as the node and the test share it.
pub type Shared = Arc<Mutex<Chain>>;

/// `Timestamp::Now` of block `number`: a block a second.
pub fn block_time_ms(number: u32) -> u64 {
	1_700_000_000_000 + u64::from(number) * 1000
}

/// Appends a block whose EnclaveUpdate storage has `active` and `scheduled`.
pub fn push_block(chain: &mut Chain, salt: u8, active: u8, scheduled: &[(u8, u32)]) {
	let keys = PalletKeys::default();
	let number = chain.blocks.len() as u32;
	let scheduled: Vec<_> = scheduled
		.iter()
		.map(|(b, at)| ScheduledEnclave { measurement: m(*b), activates_at: *at })
		.collect();
	let mut entries = vec![
		(keys.active.clone(), Some(ActiveEnclave { measurement: m(active), since: 0u32 }.encode())),
		(keys.schedule.clone(), Some(scheduled.encode())),
		(b":salt".to_vec(), Some(vec![salt, chain.chain_salt])),
		(keys.timestamp.clone(), Some(block_time_ms(number).encode())),
		// The inbox pallet (its storage version, which FRAME writes at genesis) and one call.
		(InboxKeys::new(chain.inbox_pallet).version, Some(0u16.encode())),
		(InboxKeys::new(chain.inbox_pallet).calls, Some(vec![vec![number as u8]].encode())),
	];
	let [authorities_key, set_id_key] = grandpa_keys(GRANDPA_PALLET_NAME);
	entries.push((authorities_key, Some(authority_list(&authorities()).encode())));
	entries.push((set_id_key, Some(0u64.encode())));
	let mut backend = InMemoryBackend::<Blake2Hasher>::default();
	backend.insert(vec![(None, entries)], Default::default());
	let state_root = backend.storage_root(std::iter::empty(), Default::default()).0;
	let parent = chain.blocks.last().map(|b| b.header.hash()).unwrap_or_default();
	let header = Header::new(number, H256::zero(), state_root, parent, Digest::default());
	chain.blocks.push(Block { header, backend });
}

/// The block with `hash`.
pub fn block_by_hash(chain: &Chain, hash: H256) -> Option<&Block> {
	chain.blocks.iter().find(|b| b.header.hash() == hash)
}

/// A JSON-RPC error answer.
pub fn rpc_err(msg: &str) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(-32000, msg.to_string(), None::<()>)
}

/// Serves `chain` on a free loopback port; returns its `ws://` URL.
pub async fn serve(chain: Shared) -> (String, ServerHandle) {
	let mut module = RpcModule::new(chain);
	module
		.register_method("chain_getBlockHash", |params, chain, _| {
			let number: Option<u32> = params.one().ok();
			let chain = chain.lock().unwrap();
			Ok::<_, ErrorObjectOwned>(
				chain.blocks.get(number.unwrap_or(0) as usize).map(|b| b.header.hash()),
			)
		})
		.unwrap();
	module
		.register_method("chain_getFinalizedHead", |_, chain, _| {
			let chain = chain.lock().unwrap();
			Ok::<_, ErrorObjectOwned>(chain.blocks[chain.finalized].header.hash())
		})
		.unwrap();
	module
		.register_method("chain_getHeader", |params, chain, _| {
			let hash: H256 = params.one().map_err(|_| rpc_err("bad params"))?;
			let mut chain = chain.lock().unwrap();
			chain.header_requests += 1;
			let header = block_by_hash(&chain, hash).map(|b| b.header.clone());
			Ok::<_, ErrorObjectOwned>(match (chain.tamper, header) {
				(Tamper::OtherBlocksHeader, Some(_)) => Some(chain.blocks[0].header.clone()),
				(_, header) => header,
			})
		})
		.unwrap();
	module
		.register_method("chain_getBlock", |params, chain, _| {
			let hash: H256 = params.one().map_err(|_| rpc_err("bad params"))?;
			let chain = chain.lock().unwrap();
			let Some(block) = block_by_hash(&chain, hash) else {
				return Ok::<_, ErrorObjectOwned>(serde_json::Value::Null);
			};
			let justifications = chain
				.justifications
				.get(&block.header.number)
				.map(|j| vec![(*b"FRNK", j.clone())]);
			Ok(serde_json::json!({
				"block": { "header": block.header, "extrinsics": [] },
				"justifications": justifications,
			}))
		})
		.unwrap();
	module
		.register_method("state_getReadProof", |params, chain, _| {
			let (keys, hash): (Vec<Bytes>, H256) =
				params.parse().map_err(|_| rpc_err("bad params"))?;
			let chain = chain.lock().unwrap();
			let block = block_by_hash(&chain, hash).ok_or_else(|| rpc_err("unknown block"))?;
			let proof = prove_read(block.backend.clone(), keys.iter().map(|k| &k.0[..]))
				.map_err(|e| rpc_err(&e.to_string()))?;
			let mut nodes: Vec<Bytes> = proof.into_iter_nodes().map(Bytes).collect();
			if chain.tamper == Tamper::AlterProof {
				// The host flips a byte of the largest node (the one holding the values).
				if let Some(node) = nodes.iter_mut().max_by_key(|n| n.0.len()) {
					let last = node.0.len() - 1;
					node.0[last] ^= 0x01;
				}
			}
			Ok::<_, ErrorObjectOwned>(serde_json::json!({ "at": hash, "proof": nodes }))
		})
		.unwrap();
	let server = Server::builder().build("127.0.0.1:0").await.unwrap();
	let url = format!("ws://{}", server.local_addr().unwrap());
	(url, server.start(module))
}

/// [`two_block_chain`] of another chain (another genesis) for each `chain_salt`.
pub fn chain_with_salt(chain_salt: u8) -> Shared {
	let mut chain = Chain {
		blocks: Vec::new(),
		finalized: 0,
		tamper: Tamper::None,
		justifications: HashMap::new(),
		chain_salt,
		inbox_pallet: enclave_worker::chain::proof::INBOX_PALLET_NAME,
		header_requests: 0,
	};
	push_block(&mut chain, 0, 0xaa, &[]);
	push_block(&mut chain, 1, 0xaa, &[(0xbb, 10)]);
	justify(&mut chain, 1);
	chain.finalized = 1;
	Arc::new(Mutex::new(chain))
}

/// Genesis (0xaa active) and block 1 (0xbb scheduled for block 10), justified and finalized.
pub fn two_block_chain() -> Shared {
	chain_with_salt(0)
}

/// Appends a finalized, justified block.
pub fn finalize_next(chain: &Shared, active: u8) {
	let mut chain = chain.lock().unwrap();
	let number = chain.blocks.len() as u32;
	push_block(&mut chain, number as u8, active, &[]);
	justify(&mut chain, number);
	chain.finalized = number as usize;
}
