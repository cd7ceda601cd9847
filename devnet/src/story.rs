//! The pieces of the upgrade story that the devnet command and the end-to-end tests share: a
//! node with the chain's first worker running, shielded calls, the reference replay.

use anyhow::{anyhow, bail, ensure, Context, Result};
use enclave_worker::{
	demo::{seal_call, ExecutedState, ShieldedCall},
	keys::KeyMaterial,
	store::Store,
	tee::{SimTee, Tee},
};
use std::{path::Path, time::Duration};

use crate::{
	chain::{dev, Chain, Keypair},
	procs::{wait_until, Node, Process, Worker},
	Measurement, MEASUREMENT_A,
};

/// How long a debug node may take to start and answer.
pub const NODE_STARTUP: Duration = Duration::from_secs(120);

/// A running devnet: the node, the client, and worker A (the chain's first enclave, running).
pub struct Devnet {
	/// The node (dropped last among the processes, so workers never outlive it in a test).
	pub node: Node,
	/// The client.
	pub chain: Chain,
	/// The genesis hash.
	pub genesis_hash: [u8; 32],
	/// Worker A.
	pub a: Worker,
	/// Worker A's `run` process.
	pub a_run: Option<Process>,
}

impl Devnet {
	/// Starts the node under `root`, initialises worker A (measurement A, the dev genesis
	/// enclave) and runs it with its provisioning port open.
	pub async fn start(root: &Path) -> Result<Devnet> {
		Self::start_on(root, None).await
	}

	/// [`Devnet::start`], with the chain on `genesis_runtime` (a wasm blob) instead of the node's
	/// own runtime, when given.
	pub async fn start_on(root: &Path, genesis_runtime: Option<&Path>) -> Result<Devnet> {
		let node = Node::start(&root.join("node"), genesis_runtime)?;
		let chain = Chain::connect(&node.url(), NODE_STARTUP)
			.await
			.with_context(|| format!("node log:\n{}", node.process.log()))?;
		let genesis_hash = chain.genesis_hash().await?;
		let a = Worker::new(root, "A", MEASUREMENT_A, &node.url());
		let init = a.init()?;
		if !init.success {
			bail!("worker A init failed: {}", init.stderr);
		}
		let a_run = Some(a.run(None)?);
		Ok(Devnet { node, chain, genesis_hash, a, a_run })
	}

	/// A worker with `measurement` following this devnet's node.
	pub fn worker(&self, root: &Path, name: &str, measurement: Measurement) -> Worker {
		Worker::new(root, name, measurement, &self.node.url())
	}

	/// The first worker's shielding public key, as `status` reports it.
	pub fn shielding_public_key(&self) -> Result<[u8; 32]> {
		let status = self.a.status()?;
		let text = status["shielding_public_key"]
			.as_str()
			.ok_or_else(|| anyhow!("worker A reports no shielding key"))?;
		hex::decode(text.trim_start_matches("0x"))?
			.try_into()
			.map_err(|_| anyhow!("a 32-byte shielding key"))
	}

	/// Seals `call` to the shielding key and submits it, signed by `signer`, without waiting
	/// for its block.
	pub async fn submit_call(&self, call: &ShieldedCall, signer: &Keypair) -> Result<()> {
		let key = self.shielding_public_key()?;
		let ciphertext = seal_call(&key, &self.genesis_hash, call);
		self.chain.submit_shielded(&ciphertext, signer).await
	}
}

/// The accounts that submit shielded calls, so several fit in one block (each account's
/// transactions are ordered by nonce).
pub fn callers() -> [Keypair; 3] {
	[dev::dave(), dev::eve(), dev::ferdie()]
}

/// Waits until `worker`'s status reports `last_processed_block >= number`.
pub async fn wait_for_processed(worker: &Worker, number: u64, timeout: Duration) -> Result<()> {
	wait_until(
		&format!("worker {} processed block #{number}", worker.name),
		timeout,
		Duration::from_millis(150),
		|| async {
			let status = worker.status()?;
			Ok(status["last_processed_block"].as_u64().is_some_and(|n| n >= number))
		},
	)
	.await
}

/// The keys of a simulated worker, unsealed as that enclave would (same measurement, same
/// per-host secret): the reference replay decrypts the calls with them. Only possible with the
/// sim backend, which is what a test has.
pub fn sim_keys(worker: &Worker) -> Result<KeyMaterial> {
	let tee = SimTee::new(
		worker.measurement,
		worker.data_dir.join(enclave_worker::tee::sim::HOST_SECRET_FILE),
	);
	let store = Store::open(&worker.data_dir)?;
	Ok(store.read_sealed_keys(&tee.sealing_key()?, &tee.identity()?.measurement)?.0)
}

/// The state a worker must have after block `upto`: every block's inbox, read from the node,
/// replayed from genesis.
pub async fn reference_replay(
	chain: &Chain,
	genesis_hash: [u8; 32],
	keys: &KeyMaterial,
	upto: u32,
) -> Result<ExecutedState> {
	let mut blocks = Vec::with_capacity(upto as usize);
	for number in 1..=upto {
		let block = chain.block_calls(number).await?;
		blocks.push((u64::from(number), block.parent_hash, block.hash, block.calls));
	}
	Ok(enclave_worker::demo::replay(genesis_hash, &keys.shielding, blocks)?)
}

/// Which of the blocks `from..=to` carried no shielded call.
pub async fn blocks_without_calls(chain: &Chain, from: u32, to: u32) -> Result<Vec<u32>> {
	let mut empty = Vec::new();
	for number in from..=to {
		if chain.block_calls(number).await?.calls.is_empty() {
			empty.push(number);
		}
	}
	Ok(empty)
}

/// The state a worker sealed in its data directory (its latest snapshot).
pub fn sealed_state(worker: &Worker, keys: &KeyMaterial) -> Result<ExecutedState> {
	let store = Store::open(&worker.data_dir)?;
	let (snapshot, _) = store.read_snapshot(&keys.state)?;
	Ok(ExecutedState::from_snapshot(&snapshot)?)
}

/// The state `worker` sealed, checked against the reference replay of every call from genesis
/// up to its block; returns it.
pub async fn check_against_replay(
	chain: &Chain,
	genesis_hash: [u8; 32],
	worker: &Worker,
	keys: &KeyMaterial,
) -> Result<ExecutedState> {
	let state = sealed_state(worker, keys)?;
	let upto = u32::try_from(state.block_number)?;
	let reference = reference_replay(chain, genesis_hash, keys, upto).await?;
	if state != reference {
		bail!(
			"worker {}'s state at #{upto} differs from the replay of every call: {state:?} vs \
			 {reference:?}",
			worker.name
		);
	}
	Ok(state)
}

/// Checks the statuses of a cut-over at block `xyz` (`enclave-worker status --json`): the
/// predecessor retired after its last block `xyz - 1`, the successor active, both with the same
/// key checksum.
pub fn check_cut_over(
	predecessor: &serde_json::Value,
	successor: &serde_json::Value,
	xyz: u32,
) -> Result<()> {
	ensure!(predecessor["readiness"] == "Retired", "the predecessor is not retired: {predecessor}");
	ensure!(
		predecessor["last_processed_block"] == u64::from(xyz - 1),
		"the predecessor's last block is not #{}: {predecessor}",
		xyz - 1
	);
	ensure!(successor["readiness"] == "Active", "the successor is not active: {successor}");
	ensure!(
		predecessor["key_checksum"] == successor["key_checksum"],
		"the key checksums differ: {predecessor} vs {successor}"
	);
	Ok(())
}

/// Waits until something accepts connections at `addr` (a worker's provisioning port).
pub async fn wait_serving(addr: &str, timeout: Duration) -> Result<()> {
	wait_until(
		&format!("{addr} accepts connections"),
		timeout,
		Duration::from_millis(100),
		|| async { Ok(tokio::net::TcpStream::connect(addr).await.is_ok()) },
	)
	.await
}
