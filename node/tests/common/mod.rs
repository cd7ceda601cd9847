//! Starting the real `enclave-update-node` binary for a test and talking to it with subxt.

#![allow(dead_code)]

use codec::Decode;
use enclave_update_primitives::Measurement;
use std::{
	fs::File,
	net::TcpListener,
	path::{Path, PathBuf},
	process::{Child, Command, Output, Stdio},
	time::{Duration, Instant},
};
use subxt::{
	dynamic::Value,
	rpcs::{rpc_params, RpcClient},
	OnlineClient, PolkadotConfig,
};

/// The client type the tests use: the runtime has `MultiAddress<AccountId32, ()>` addresses and
/// `u32` block numbers, as Polkadot.
pub type Client = OnlineClient<PolkadotConfig>;

/// How long a node may take to answer RPC after it was started (a debug build opens its database
/// and builds genesis).
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0")
		.and_then(|listener| listener.local_addr())
		.map(|address| address.port())
		.expect("the OS hands out a free loopback port")
}

/// How long a node may take to exit after SIGTERM before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a test node keeps its database.
pub enum Database<'a> {
	/// `--base-path <path>`: the database outlives the process, for restarts and `purge-chain`.
	At(&'a Path),
	/// `--tmp`: a fresh database in a directory the node deletes when it exits.
	Tmp,
}

/// A running node; dropping it kills the process.
pub struct Node {
	child: Child,
	/// The node's JSON-RPC port on 127.0.0.1.
	pub rpc_port: u16,
	/// The node's p2p listen address (without its peer id).
	pub p2p_address: String,
	log: PathBuf,
	/// The directory of the log of a `--tmp` node; removed after the process is killed.
	_log_dir: Option<tempfile::TempDir>,
}

/// The slot duration of the test chains: short, so activation blocks come quickly.
pub const SLOT_DURATION_MS: u64 = 500;

impl Node {
	/// Starts `enclave-update-node --dev` (Alice authors and finalizes alone) with its database
	/// under `base_path`.
	pub fn start(base_path: &Path, extra_args: &[&str]) -> Node {
		Self::start_with(Database::At(base_path), &["--dev"], extra_args)
	}

	/// Starts `enclave-update-node` on `chain_args` (`--dev`, or `--chain local --alice`, ...) with
	/// its database in `database`, a block every [`SLOT_DURATION_MS`], and `extra_args`.
	pub fn start_with(database: Database<'_>, chain_args: &[&str], extra_args: &[&str]) -> Node {
		let rpc_port = free_port();
		let p2p_port = free_port();
		let mut command = Command::new(env!("CARGO_BIN_EXE_enclave-update-node"));
		command.args(chain_args);
		let (log_dir, log_dir_guard) = match database {
			Database::At(base_path) => {
				std::fs::create_dir_all(base_path).expect("base path can be created");
				command.arg("--base-path").arg(base_path);
				(base_path.to_path_buf(), None)
			},
			Database::Tmp => {
				command.arg("--tmp");
				let dir = tempfile::tempdir().expect("a directory for the node's log");
				(dir.path().to_path_buf(), Some(dir))
			},
		};
		let log = log_dir.join(format!("node-{rpc_port}.log"));
		let p2p_address = format!("/ip4/127.0.0.1/tcp/{p2p_port}");
		let log_file = File::create(&log).expect("log file can be created");
		let child = command
			.args(["--rpc-port", &rpc_port.to_string()])
			.args(["--listen-addr", &p2p_address])
			.args(["--no-prometheus", "--no-telemetry", "--no-mdns"])
			.args(["--slot-duration-ms", &SLOT_DURATION_MS.to_string()])
			.args(extra_args)
			.stdin(Stdio::null())
			.stdout(log_file.try_clone().expect("log file handle"))
			.stderr(log_file)
			.spawn()
			.expect("the node binary starts");
		Node { child, rpc_port, p2p_address, log, _log_dir: log_dir_guard }
	}

	/// `ws://127.0.0.1:<rpc port>`.
	pub fn url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// The node's log so far (for failure messages).
	pub fn log(&self) -> String {
		std::fs::read_to_string(&self.log).unwrap_or_default()
	}

	/// Waits until the node answers `system_health` and returns an RPC client and a subxt client
	/// on one connection. Panics with the node's log if it exits or does not answer in time.
	pub async fn connect(&mut self) -> (RpcClient, Client) {
		let started = Instant::now();
		loop {
			if let Some(status) = self.child.try_wait().expect("the node process can be polled") {
				panic!("the node exited with {status} before answering RPC:\n{}", self.log());
			}
			if let Ok(rpc) = RpcClient::from_insecure_url(self.url()).await {
				let health: Result<serde_json::Value, _> =
					rpc.request("system_health", rpc_params![]).await;
				if health.is_ok() {
					let client = Client::from_rpc_client(rpc.clone())
						.await
						.expect("subxt connects to a live node");
					return (rpc, client);
				}
			}
			if started.elapsed() > STARTUP_TIMEOUT {
				panic!("the node did not answer RPC within {STARTUP_TIMEOUT:?}:\n{}", self.log());
			}
			tokio::time::sleep(Duration::from_millis(200)).await;
		}
	}

	/// Stops the node as an operator would (SIGTERM, so the database is closed cleanly) and waits
	/// for it to exit, without holding up the runtime's worker thread; kills it if it does not
	/// exit within [`STOP_TIMEOUT`].
	pub async fn stop(mut self) {
		let terminate = tokio::process::Command::new("kill")
			.args(["-TERM", &self.child.id().to_string()])
			.kill_on_drop(true)
			.status();
		// Should the signal not go out, the node is killed once the deadline has passed.
		let _ = tokio::time::timeout(STOP_TIMEOUT, terminate).await;
		let deadline = Instant::now() + STOP_TIMEOUT;
		while Instant::now() < deadline {
			if let Ok(Some(_)) = self.child.try_wait() {
				return;
			}
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
		self.kill();
	}

	fn kill(&mut self) {
		// Nothing to do for a process that already exited (and was reaped).
		if let Ok(None) = self.child.try_wait() {
			let _ = self.child.kill();
			let _ = self.child.wait();
		}
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		self.kill();
	}
}

/// Runs the node binary with `args` to completion, killing it after `timeout`: for the
/// subcommands and the argument errors, which exit by themselves.
pub async fn run_node(args: &[&str], timeout: Duration) -> Output {
	let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_enclave-update-node"))
		.args(args)
		.stdin(Stdio::null())
		.kill_on_drop(true)
		.output();
	tokio::time::timeout(timeout, output)
		.await
		.unwrap_or_else(|_| panic!("enclave-update-node {args:?} did not exit within {timeout:?}"))
		.expect("the node binary runs")
}

/// The measurement `[byte; 32]` as an SGX MRENCLAVE.
pub fn mr_enclave(byte: u8) -> Measurement {
	Measurement::MrEnclave([byte; 32])
}

/// The calls, as the devnet builds them (not every test binary that includes this module uses
/// them, as with the items above).
#[allow(unused_imports)]
pub use enclave_update_devnet::chain::{call, measurement_value, schedule_call, sudo};

/// The number of the newest finalized block.
pub async fn finalized_number(rpc: &RpcClient) -> u32 {
	let hash: serde_json::Value = rpc
		.request("chain_getFinalizedHead", rpc_params![])
		.await
		.expect("a finalized head");
	let header: serde_json::Value =
		rpc.request("chain_getHeader", rpc_params![hash]).await.expect("its header");
	let number = header["number"].as_str().expect("a hex block number");
	u32::from_str_radix(number.trim_start_matches("0x"), 16).expect("a hex block number")
}

/// The number of the best block.
pub async fn best_number(rpc: &RpcClient) -> u32 {
	let header: serde_json::Value = rpc
		.request("chain_getHeader", rpc_params![])
		.await
		.expect("chain_getHeader answers");
	let number = header["number"].as_str().expect("a hex block number");
	u32::from_str_radix(number.trim_start_matches("0x"), 16).expect("a hex block number")
}

/// The pallet's schedule at the latest finalized block, decoded with the runtime's own types.
pub async fn schedule(client: &Client) -> Vec<enclave_update_primitives::ScheduledEnclave<u32>> {
	let at = client.at_current_block().await.expect("a finalized block");
	let address = subxt::dynamic::storage::<(), Value>("EnclaveUpdate", "Schedule");
	match at.storage().try_fetch(address, ()).await.expect("storage query answers") {
		Some(value) => Decode::decode(&mut value.bytes()).expect("the schedule decodes"),
		None => Vec::new(),
	}
}

/// Calls a runtime API method through the `state_call` RPC and decodes its SCALE output.
pub async fn state_call<T: Decode>(rpc: &RpcClient, method: &str, args: &[u8]) -> T {
	let args = format!("0x{}", hex(args));
	let output: String = rpc
		.request("state_call", rpc_params![method, args])
		.await
		.expect("state_call answers");
	let bytes = unhex(&output);
	T::decode(&mut &bytes[..]).expect("the runtime API output decodes")
}

/// Waits (bounded) until the finalized chain reaches `number`, returning that block's hash.
pub async fn wait_for_finalized(client: &Client, number: u64, timeout: Duration) {
	let mut blocks = client.stream_blocks().await.expect("finalized blocks can be followed");
	tokio::time::timeout(timeout, async {
		while let Some(block) = blocks.next().await {
			if block.expect("a finalized block").number() >= number {
				return;
			}
		}
		panic!("the block subscription ended");
	})
	.await
	.unwrap_or_else(|_| panic!("block {number} was not finalized within {timeout:?}"));
}

fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
	let digits = text.trim_start_matches("0x");
	(0..digits.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex output"))
		.collect()
}
