//! The chain follower against a scripted node RPC on loopback: honest answers are believed
//! only with their proofs and GRANDPA justifications, and a host that alters a proof, answers
//! with another block's header, forges a block on the real head, serves another chain, swaps
//! or deletes the sealed light-client state, or rolls the chain back (also across a restart)
//! is refused.
//!
//! The scripted node serves real headers, real trie proofs over real storage and real GRANDPA
//! justifications (the test holds the chain's authority keys, as the chain's validators do);
//! only the block production is scripted. The same follower runs against the real node in the
//! end-to-end tests (`tests/`).

mod support;

use assert_matches::assert_matches;
use enclave_update_primitives::ScheduledEnclave;
use enclave_worker::{
	chain::{grandpa::FinalityError, proof::ProofError, rpc::RpcChain, ChainError, ScheduleSource},
	keys::KeyMaterial,
	store::{ChainIdentity, SealedProgress, Store},
	tee::{SimTee, Tee},
};
use std::sync::Arc;
use support::{justification, keys, node::*};

async fn follower(url: &str) -> Result<RpcChain, ChainError> {
	RpcChain::connect(url, None, None).await
}

#[tokio::test]
async fn honest_answers_are_verified() {
	let chain = two_block_chain();
	let (url, _server) = serve(chain.clone()).await;
	let follower = follower(&url).await.unwrap();
	let view = follower.verified_schedule().await.unwrap();
	assert_eq!(view.block_number, 1);
	assert_eq!(view.storage.timestamp_ms, block_time_ms(1));
	assert_eq!(view.genesis_hash, chain.lock().unwrap().blocks[0].header.hash().0);
	assert_eq!(view.storage.active.map(|a| a.measurement), Some(m(0xaa)));
	assert_eq!(
		view.storage.scheduled,
		vec![ScheduledEnclave { measurement: m(0xbb), activates_at: 10 }]
	);
	assert!(view.decide(&m(0xaa), &m(0xbb)).is_allowed());
	assert!(!view.decide(&m(0xaa), &m(0xcc)).is_allowed());
}

/// A runtime upgrade that renames the inbox pallet: the calls are on chain, under a name this
/// build does not read. Reading them as "none" would drop every user's call in silence.
#[tokio::test]
async fn a_renamed_inbox_pallet_is_refused() {
	let chain = two_block_chain();
	{
		let mut chain = chain.lock().unwrap();
		chain.inbox_pallet = "Inbox";
		push_block(&mut chain, 2, 0xaa, &[]);
		justify(&mut chain, 2);
		chain.finalized = 2;
	}
	let (url, _server) = serve(chain).await;
	let follower = follower(&url).await.unwrap();
	let head = follower.finalized_block().await.unwrap();
	assert_eq!(head.number, 2);
	let err = follower.inbox_at(&head).await.unwrap_err();
	assert_matches!(
		err,
		ChainError::Proof(ProofError::PalletMissing { item: "ShieldedInbox::StorageVersion" }),
		"{err}"
	);
	// Block 1, before the rename, is read as it was.
	let blocks = follower.blocks_after((0, follower.genesis_hash()), &head).await.unwrap();
	assert_eq!(blocks.iter().map(|b| b.number).collect::<Vec<_>>(), [1, 2]);
	assert_eq!(follower.inbox_at(&blocks[0]).await.unwrap(), vec![vec![1u8]]);
}

/// A round walks the new headers once: `blocks_after` takes those `finalized_block` imported
/// from the light client's import instead of asking the node again, and asks the node only for
/// older ones, which it checks as before.
#[tokio::test]
async fn the_blocks_after_an_import_are_not_fetched_again() {
	let chain = two_block_chain();
	let (url, _server) = serve(chain.clone()).await;
	let follower = follower(&url).await.unwrap();
	let first = follower.finalized_block().await.unwrap();
	assert_eq!(first.number, 1);
	for _ in 0..5 {
		finalize_next(&chain, 0xaa);
	}
	let requests = || chain.lock().unwrap().header_requests;

	let before = requests();
	let head = follower.finalized_block().await.unwrap();
	assert_eq!(head.number, 6);
	// The finalized head and its parents down to block 2.
	assert_eq!(requests() - before, 5);

	let before = requests();
	let blocks = follower.blocks_after((1, first.hash), &head).await.unwrap();
	assert_eq!(blocks.iter().map(|b| b.number).collect::<Vec<_>>(), [2, 3, 4, 5, 6]);
	assert_eq!(requests(), before, "every header was taken from the import");
	{
		let node = chain.lock().unwrap();
		for block in &blocks {
			let header = &node.blocks[block.number as usize].header;
			assert_eq!(block.hash, header.hash().0);
			assert_eq!(block.state_root, header.state_root.0);
		}
	}

	// From genesis, block 1 is older than the import: it is fetched, and checked to be the
	// parent of block 2.
	let before = requests();
	let blocks = follower.blocks_after((0, follower.genesis_hash()), &head).await.unwrap();
	assert_eq!(blocks.iter().map(|b| b.number).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
	assert_eq!(requests() - before, 1);

	// A block the walk does not reach is still refused.
	let err = follower.blocks_after((1, [9; 32]), &head).await.unwrap_err();
	assert_matches!(err, ChainError::NotAncestor, "{err}");
}

#[tokio::test]
async fn an_altered_proof_is_refused() {
	let chain = two_block_chain();
	let (url, _server) = serve(chain.clone()).await;
	let follower = follower(&url).await.unwrap();
	chain.lock().unwrap().tamper = Tamper::AlterProof;
	let err = follower.verified_schedule().await.unwrap_err();
	assert_matches!(err, ChainError::Proof(_), "{err}");
}

#[tokio::test]
async fn another_blocks_header_is_refused() {
	let chain = two_block_chain();
	chain.lock().unwrap().tamper = Tamper::OtherBlocksHeader;
	let (url, _server) = serve(chain).await;
	let err = follower(&url).await.unwrap().verified_schedule().await.unwrap_err();
	assert_matches!(err, ChainError::HeaderHashMismatch, "{err}");
}

#[tokio::test]
async fn another_chain_is_refused() {
	let (url, _server) = serve(two_block_chain()).await;
	let err = RpcChain::connect(&url, Some([7; 32]), None).await.err().expect("refused");
	assert_matches!(err, ChainError::WrongGenesis, "{err}");
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
		held_keys: None,
	};
	let connect = |sealed| RpcChain::connect(&url, None, Some(Box::new(sealed)));

	let follower = connect(sealed()).await.unwrap();
	assert_eq!(follower.verified_schedule().await.unwrap().block_number, 2);

	// The host now claims block 1 is the finalized head, where another schedule held.
	chain.lock().unwrap().finalized = 1;
	let err = follower.verified_schedule().await.unwrap_err();
	assert_matches!(err, ChainError::StaleView { offered: 1, verified: 2 }, "{err}");

	// A restarted worker remembers: the high-water mark is sealed on disk.
	let restarted = connect(sealed()).await.unwrap();
	assert_eq!(restarted.progress().map(|p| p.block_number), Some(2));
	let err = restarted.verified_schedule().await.unwrap_err();
	assert_matches!(err, ChainError::StaleView { offered: 1, verified: 2 }, "{err}");

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

	/// A worker holding fresh keys of the chain `genesis`, sealed at the block `sealed_at`
	/// (number, hash), with their chain identity and no chain file yet.
	fn with_keys(genesis: [u8; 32], sealed_at: (u32, [u8; 32])) -> (Self, KeyMaterial) {
		let worker = Self::new();
		let sealed = worker.progress();
		let keys = KeyMaterial::generate();
		let identity = ChainIdentity {
			genesis_hash: genesis,
			key_checksum: keys.checksum().0,
			sealed_at_block: sealed_at.0,
			sealed_at_hash: sealed_at.1,
		};
		sealed
			.store
			.write_chain_identity(&sealed.sealing_key, &m(0xaa), &identity)
			.unwrap();
		sealed.store.init_keys(&sealed.sealing_key, &m(0xaa), &keys).unwrap();
		(worker, keys)
	}

	fn progress(&self) -> SealedProgress {
		SealedProgress {
			store: Store::open(self.dir.path().join("data")).unwrap(),
			sealing_key: Arc::new(self.tee.sealing_key().unwrap()),
			measurement: m(0xaa),
			held_keys: None,
		}
	}

	async fn connect(&self, url: &str) -> Result<RpcChain, ChainError> {
		RpcChain::connect(url, None, Some(Box::new(self.progress()))).await
	}

	/// The block of the view a fresh connection to `url` verifies.
	async fn verified_block(&self, url: &str) -> u32 {
		self.connect(url).await.unwrap().verified_schedule().await.unwrap().block_number
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
	chain
		.lock()
		.unwrap()
		.justifications
		.insert(2, justification(&forged, 1, 0, &attacker));
	let err = follower.verified_schedule().await.unwrap_err();
	assert_matches!(
		err,
		ChainError::Finality(FinalityError::UnknownAuthority { number: 2, set_id: 0 }),
		"{err}"
	);
	assert_eq!(follower.light_client().head().number, 1);
}

#[tokio::test]
async fn the_sealed_light_client_binds_the_worker_to_its_chain() {
	let chain = two_block_chain();
	let (url, _server) = serve(chain.clone()).await;
	let worker = Sealed::new();
	assert_eq!(worker.verified_block(&url).await, 1);

	// Another chain's genesis (the host's own chain) is refused.
	let (other_url, _other) = serve(chain_with_salt(9)).await;
	let err = worker.connect(&other_url).await.err().expect("refused");
	assert_matches!(err, ChainError::WrongGenesis, "{err}");

	// With the light-client file deleted, the chain progress still binds it: refused.
	let light = std::fs::read(worker.data("chain.grandpa")).unwrap();
	std::fs::remove_file(worker.data("chain.grandpa")).unwrap();
	let err = worker.connect(&url).await.err().expect("refused");
	assert_matches!(err, ChainError::Progress(_), "{err}");

	// A light-client file sealed by another enclave (here: of another worker, on the host's
	// chain) is refused, not ignored.
	let other = Sealed {
		dir: tempfile::tempdir().unwrap(),
		tee: SimTee::in_data_dir(m(0xcc), worker.dir.path()),
	};
	let other_progress = SealedProgress { measurement: m(0xcc), ..other.progress() };
	RpcChain::connect(&other_url, None, Some(Box::new(other_progress)))
		.await
		.unwrap();
	std::fs::copy(other.data("chain.grandpa"), worker.data("chain.grandpa")).unwrap();
	let err = worker.connect(&url).await.err().expect("refused");
	assert_matches!(err, ChainError::Progress(_), "{err}");

	// Put back, the worker goes on with its chain.
	std::fs::write(worker.data("chain.grandpa"), light).unwrap();
	finalize_next(&chain, 0xaa);
	assert_eq!(worker.verified_block(&url).await, 2);
}

/// Keys are bound to their chain by the sealed chain identity, not by files a host can delete:
/// with every chain file gone, the node of another chain is still refused; keys without their
/// identity are refused; and an identity the same enclave build made for other keys (a fresh
/// `init` on the host's own chain, on the same CPU) does not fit these keys.
#[tokio::test]
async fn the_keys_bind_the_worker_to_their_chain_whatever_files_are_deleted() {
	let chain = two_block_chain();
	let (url, _server) = serve(chain.clone()).await;
	let genesis = chain.lock().unwrap().blocks[0].header.hash().0;
	let (other_url, _other) = serve(chain_with_salt(9)).await;
	let other_genesis = RpcChain::connect(&other_url, None, None).await.unwrap().genesis_hash();

	let (worker, keys) = Sealed::with_keys(genesis, (0, genesis));
	assert_eq!(worker.verified_block(&url).await, 1);

	// The host deletes the light client's state and the progress, and offers its own chain.
	for file in ["chain.grandpa", "chain.progress"] {
		std::fs::remove_file(worker.data(file)).unwrap();
	}
	let err = worker.connect(&other_url).await.err().expect("refused");
	assert_matches!(err, ChainError::WrongGenesis, "{err}");
	assert!(!worker.data("chain.grandpa").exists(), "nothing written for the other chain");
	// Its own chain it follows again, from the checkpoint of the genesis its keys name.
	assert_eq!(worker.verified_block(&url).await, 1);

	// An identity the same build sealed for other keys (the host's own `init` on its chain).
	let host_init = Sealed { dir: tempfile::tempdir().unwrap(), tee: worker.tee.clone() };
	let host_sealed = host_init.progress();
	let host_keys = KeyMaterial::generate();
	host_sealed
		.store
		.write_chain_identity(
			&host_sealed.sealing_key,
			&m(0xaa),
			&ChainIdentity {
				genesis_hash: other_genesis,
				key_checksum: host_keys.checksum().0,
				sealed_at_block: 0,
				sealed_at_hash: other_genesis,
			},
		)
		.unwrap();
	let own_identity = std::fs::read(worker.data("chain.identity")).unwrap();
	std::fs::copy(host_init.data("chain.identity"), worker.data("chain.identity")).unwrap();
	for file in ["chain.grandpa", "chain.progress"] {
		std::fs::remove_file(worker.data(file)).unwrap();
	}
	let err = worker.connect(&other_url).await.err().expect("refused");
	assert_matches!(err, ChainError::ChainIdentityOfOtherKeys { identity_of, held }
			if identity_of == host_keys.checksum() && held == keys.checksum(), "{err}");
	// The same for a caller that unsealed the keys already and passes their checksum.
	let given = SealedProgress { held_keys: Some(keys.checksum()), ..worker.progress() };
	let err = RpcChain::connect(&other_url, None, Some(Box::new(given)))
		.await
		.err()
		.expect("refused");
	assert_matches!(err, ChainError::ChainIdentityOfOtherKeys { identity_of, held }
			if identity_of == host_keys.checksum() && held == keys.checksum(), "{err}");

	// No identity at all: refused, not learned again from the node.
	std::fs::remove_file(worker.data("chain.identity")).unwrap();
	for url in [&url, &other_url] {
		let err = worker.connect(url).await.err().expect("refused");
		assert_matches!(err, ChainError::MissingChainIdentity, "{err}");
	}
	assert!(!worker.data("chain.grandpa").exists());

	// Restored from backup, the worker goes on.
	std::fs::write(worker.data("chain.identity"), own_identity).unwrap();
	assert_eq!(worker.verified_block(&url).await, 1);
}

/// The block the keys were sealed at is the oldest head the worker accepts, and no deleted file
/// lowers it: with the light client's state and the progress gone, the light client starts again
/// from the genesis checkpoint, but a node that withholds the newer blocks and reports an older
/// finalized head is refused, as the lost progress would have refused it.
#[tokio::test]
async fn no_head_older_than_the_keys_is_accepted_whatever_files_are_deleted() {
	let chain = two_block_chain();
	finalize_next(&chain, 0xaa);
	finalize_next(&chain, 0xaa);
	let (url, _server) = serve(chain.clone()).await;
	let (genesis, third) = {
		let chain = chain.lock().unwrap();
		(chain.blocks[0].header.hash().0, chain.blocks[3].header.hash().0)
	};

	// Keys received in a hand-over decided at block 3, and no chain file (yet, or any more).
	let (worker, _keys) = Sealed::with_keys(genesis, (3, third));

	// The node withholds blocks 2 and 3 and reports block 1 as the finalized head.
	chain.lock().unwrap().finalized = 1;
	let follower = worker.connect(&url).await.unwrap();
	assert_eq!(follower.progress().map(|p| p.block_number), Some(3));
	let err = follower.verified_schedule().await.unwrap_err();
	assert_matches!(err, ChainError::StaleView { offered: 1, verified: 3 }, "{err}");
	assert!(!worker.data("chain.progress").exists(), "no progress recorded from block 1");

	// From block 3 on, it goes on, and records its progress from block 4.
	chain.lock().unwrap().finalized = 3;
	assert_eq!(worker.verified_block(&url).await, 3);
	finalize_next(&chain, 0xaa);
	assert_eq!(worker.verified_block(&url).await, 4);

	// The host deletes the chain files again and reports block 2: the progress (block 4) is
	// gone, the keys' block 3 is not.
	for file in ["chain.grandpa", "chain.progress"] {
		std::fs::remove_file(worker.data(file)).unwrap();
	}
	chain.lock().unwrap().finalized = 2;
	let err = worker.connect(&url).await.unwrap().verified_schedule().await.unwrap_err();
	assert_matches!(err, ChainError::StaleView { offered: 2, verified: 3 }, "{err}");
}
