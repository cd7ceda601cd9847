//! The chain follower against a scripted node RPC on loopback: honest answers are believed
//! only with their proofs and GRANDPA justifications, and a host that alters a proof, answers
//! with another block's header, forges a block on the real head, serves another chain, swaps
//! or deletes the sealed light-client state, or rolls the chain back (also across a restart)
//! is refused.
//!
//! The scripted node serves real headers, real trie proofs over real storage and real GRANDPA
//! justifications (the test holds the chain's authority keys, as the chain's validators do);
//! only the block production is scripted. The same follower runs against the real node in the
//! devnet's end-to-end tests.

mod support;

use codec::Encode;
use enclave_update_primitives::{ActiveEnclave, Measurement, ScheduledEnclave};
use enclave_worker::{
	chain::{
		grandpa::FinalityError,
		proof::grandpa_keys,
		proof::PalletKeys,
		rpc::{Header, RpcChain, SealedProgress, GRANDPA_PALLET_NAME},
		ChainError, ScheduleSource,
	},
	store::Store,
	tee::{SimTee, Tee},
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
use support::{authority_list, justification, keys};

fn m(byte: u8) -> Measurement {
	Measurement::MrEnclave([byte; 32])
}

#[derive(Clone, Copy, PartialEq)]
enum Tamper {
	None,
	AlterProof,
	OtherBlocksHeader,
}

struct Block {
	header: Header,
	backend: InMemoryBackend<Blake2Hasher>,
}

struct Chain {
	blocks: Vec<Block>,
	finalized: usize,
	tamper: Tamper,
	/// The GRANDPA justifications the node stores, by block number.
	justifications: HashMap<u32, Vec<u8>>,
	/// Genesis salt: another value makes another chain.
	chain_salt: u8,
}

/// The chain's GRANDPA authorities.
fn authorities() -> Vec<ed25519::Pair> {
	keys(&[1, 2, 3])
}

/// Stores the authorities' justification of block `number`.
fn justify(chain: &mut Chain, number: u32) {
	let header = chain.blocks[number as usize].header.clone();
	chain.justifications.insert(number, justification(&header, 1, 0, &authorities()));
}

type Shared = Arc<Mutex<Chain>>;

/// `Timestamp::Now` of block `number`: a block a second.
fn block_time_ms(number: u32) -> u64 {
	1_700_000_000_000 + u64::from(number) * 1000
}

/// Appends a block whose EnclaveUpdate storage has `active` and `scheduled`.
fn push_block(chain: &mut Chain, salt: u8, active: u8, scheduled: &[(u8, u32)]) {
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

fn block_by_hash(chain: &Chain, hash: H256) -> Option<&Block> {
	chain.blocks.iter().find(|b| b.header.hash() == hash)
}

fn rpc_err(msg: &str) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(-32000, msg.to_string(), None::<()>)
}

async fn serve(chain: Shared) -> (String, ServerHandle) {
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
			let chain = chain.lock().unwrap();
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
			let justifications =
				chain.justifications.get(&block.header.number).map(|j| vec![(*b"FRNK", j.clone())]);
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

fn chain_with_salt(chain_salt: u8) -> Shared {
	let mut chain = Chain {
		blocks: Vec::new(),
		finalized: 0,
		tamper: Tamper::None,
		justifications: HashMap::new(),
		chain_salt,
	};
	push_block(&mut chain, 0, 0xaa, &[]);
	push_block(&mut chain, 1, 0xaa, &[(0xbb, 10)]);
	justify(&mut chain, 1);
	chain.finalized = 1;
	Arc::new(Mutex::new(chain))
}

fn two_block_chain() -> Shared {
	chain_with_salt(0)
}

/// Appends a finalized, justified block.
fn finalize_next(chain: &Shared, active: u8) {
	let mut chain = chain.lock().unwrap();
	let number = chain.blocks.len() as u32;
	push_block(&mut chain, number as u8, active, &[]);
	justify(&mut chain, number);
	chain.finalized = number as usize;
}

async fn follower(url: &str) -> Result<RpcChain, ChainError> {
	RpcChain::connect(url, None, PalletKeys::default(), None).await
}

#[tokio::test]
async fn honest_answers_are_verified() {
	let chain = two_block_chain();
	let (url, _server) = serve(chain.clone()).await;
	let follower = follower(&url).await.unwrap();
	let view = follower.verified_schedule().await.unwrap();
	assert_eq!(view.block_number, 1);
	assert_eq!(view.timestamp_ms, block_time_ms(1));
	assert_eq!(view.genesis_hash, chain.lock().unwrap().blocks[0].header.hash().0);
	assert_eq!(view.active.map(|a| a.measurement), Some(m(0xaa)));
	assert_eq!(view.scheduled, vec![ScheduledEnclave { measurement: m(0xbb), activates_at: 10 }]);
	assert!(view.decide(&m(0xaa), &m(0xbb)).is_allowed());
	assert!(!view.decide(&m(0xaa), &m(0xcc)).is_allowed());
}

#[tokio::test]
async fn an_altered_proof_is_refused() {
	let chain = two_block_chain();
	let (url, _server) = serve(chain.clone()).await;
	let follower = follower(&url).await.unwrap();
	chain.lock().unwrap().tamper = Tamper::AlterProof;
	let err = follower.verified_schedule().await.unwrap_err();
	assert!(matches!(err, ChainError::Proof(_)), "{err}");
}

#[tokio::test]
async fn another_blocks_header_is_refused() {
	let chain = two_block_chain();
	chain.lock().unwrap().tamper = Tamper::OtherBlocksHeader;
	let (url, _server) = serve(chain).await;
	let err = follower(&url).await.unwrap().verified_schedule().await.unwrap_err();
	assert!(matches!(err, ChainError::HeaderHashMismatch), "{err}");
}

#[tokio::test]
async fn another_chain_is_refused() {
	let (url, _server) = serve(two_block_chain()).await;
	let err = RpcChain::connect(&url, Some([7; 32]), PalletKeys::default(), None)
		.await
		.err()
		.expect("refused");
	assert!(matches!(err, ChainError::WrongGenesis), "{err}");
}

#[tokio::test]
async fn a_rollback_is_refused_also_after_a_restart() {
	let chain = two_block_chain();
	finalize_next(&chain, 0xaa);
	let (url, _server) = serve(chain.clone()).await;

	let dir = tempfile::tempdir().unwrap();
	let tee = SimTee::in_data_dir(m(0xaa), dir.path());
	let sealed = || SealedProgress {
		store: Store::open(dir.path().join("data")).unwrap(),
		sealing_key: Arc::new(tee.sealing_key().unwrap()),
		measurement: m(0xaa),
	};
	let connect = |sealed| RpcChain::connect(&url, None, PalletKeys::default(), Some(sealed));

	let follower = connect(sealed()).await.unwrap();
	assert_eq!(follower.verified_schedule().await.unwrap().block_number, 2);

	// The host now claims block 1 is the finalized head, where another schedule held.
	chain.lock().unwrap().finalized = 1;
	let err = follower.verified_schedule().await.unwrap_err();
	assert!(matches!(err, ChainError::StaleView { offered: 1, verified: 2 }), "{err}");

	// A restarted worker remembers: the high-water mark is sealed on disk.
	let restarted = connect(sealed()).await.unwrap();
	assert_eq!(restarted.progress().map(|p| p.block_number), Some(2));
	let err = restarted.verified_schedule().await.unwrap_err();
	assert!(matches!(err, ChainError::StaleView { offered: 1, verified: 2 }), "{err}");

	// Moving forward again works.
	chain.lock().unwrap().finalized = 2;
	assert_eq!(restarted.verified_schedule().await.unwrap().block_number, 2);
}

/// A worker bound to the chain of `url`, its data directory and its sealed state.
struct Sealed {
	dir: tempfile::TempDir,
	tee: SimTee,
}

impl Sealed {
	fn new() -> Self {
		let dir = tempfile::tempdir().unwrap();
		let tee = SimTee::in_data_dir(m(0xaa), dir.path());
		Sealed { dir, tee }
	}

	fn progress(&self) -> SealedProgress {
		SealedProgress {
			store: Store::open(self.dir.path().join("data")).unwrap(),
			sealing_key: Arc::new(self.tee.sealing_key().unwrap()),
			measurement: m(0xaa),
		}
	}

	async fn connect(&self, url: &str) -> Result<RpcChain, ChainError> {
		RpcChain::connect(url, None, PalletKeys::default(), Some(self.progress())).await
	}

	fn data(&self, name: &str) -> std::path::PathBuf {
		self.dir.path().join("data").join(name)
	}
}

#[tokio::test]
async fn a_forged_block_on_the_real_head_is_not_believed() {
	let chain = two_block_chain();
	let (url, _server) = serve(chain.clone()).await;
	let follower = follower(&url).await.unwrap();
	assert_eq!(follower.verified_schedule().await.unwrap().block_number, 1);

	// The host builds block 2 on the real head, with storage of its own that schedules its
	// measurement 0xee now, and reports it finalized.
	{
		let mut chain = chain.lock().unwrap();
		push_block(&mut chain, 2, 0xaa, &[(0xee, 2)]);
		chain.finalized = 2;
	}
	// Without a justification it is not believed: the view stays at the justified block 1.
	let view = follower.verified_schedule().await.unwrap();
	assert_eq!(view.block_number, 1);
	assert!(!view.decide(&m(0xaa), &m(0xee)).is_allowed());

	// Signed by keys of its own, it is refused.
	let forged = chain.lock().unwrap().blocks[2].header.clone();
	let attacker = keys(&[0xa1, 0xa2, 0xa3]);
	chain.lock().unwrap().justifications.insert(2, justification(&forged, 1, 0, &attacker));
	let err = follower.verified_schedule().await.unwrap_err();
	assert!(
		matches!(
			err,
			ChainError::Finality(FinalityError::UnknownAuthority { number: 2, set_id: 0 })
		),
		"{err}"
	);
	assert_eq!(follower.light_client().head().number, 1);
}

#[tokio::test]
async fn the_sealed_light_client_binds_the_worker_to_its_chain() {
	let chain = two_block_chain();
	let (url, _server) = serve(chain.clone()).await;
	let worker = Sealed::new();
	assert_eq!(
		worker.connect(&url).await.unwrap().verified_schedule().await.unwrap().block_number,
		1
	);

	// Another chain's genesis (the host's own chain) is refused.
	let (other_url, _other) = serve(chain_with_salt(9)).await;
	let err = worker.connect(&other_url).await.err().expect("refused");
	assert!(matches!(err, ChainError::WrongGenesis), "{err}");

	// With the light-client file deleted, the chain progress still binds it: refused.
	let light = std::fs::read(worker.data("chain.grandpa")).unwrap();
	std::fs::remove_file(worker.data("chain.grandpa")).unwrap();
	let err = worker.connect(&url).await.err().expect("refused");
	assert!(matches!(err, ChainError::Progress(_)), "{err}");

	// A light-client file sealed by another enclave (here: of another worker, on the host's
	// chain) is refused, not ignored.
	let other = Sealed {
		dir: tempfile::tempdir().unwrap(),
		tee: SimTee::in_data_dir(m(0xcc), worker.dir.path()),
	};
	let other_progress = SealedProgress { measurement: m(0xcc), ..other.progress() };
	RpcChain::connect(&other_url, None, PalletKeys::default(), Some(other_progress)).await.unwrap();
	std::fs::copy(other.data("chain.grandpa"), worker.data("chain.grandpa")).unwrap();
	let err = worker.connect(&url).await.err().expect("refused");
	assert!(matches!(err, ChainError::Progress(_)), "{err}");

	// Put back, the worker goes on with its chain.
	std::fs::write(worker.data("chain.grandpa"), light).unwrap();
	finalize_next(&chain, 0xaa);
	assert_eq!(
		worker.connect(&url).await.unwrap().verified_schedule().await.unwrap().block_number,
		2
	);
}
