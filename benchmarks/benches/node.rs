//! The dev node as a client sees it: how long a sudo `schedule_enclave` takes from
//! `author_submitExtrinsic` to its block (Aura authors one per slot) and on to that block's
//! GRANDPA finality. (Block execution, wasm against native, is the `execution` bench.)
//!
//! Not a criterion bench: each figure needs a running node, so this program starts one
//! (`enclave-update-node`, built beforehand: `cargo build --release -p enclave-update-node`, or
//! named by `ENCLAVE_UPDATE_NODE`), drives it over JSON-RPC on loopback and prints the figures.
//! Without a node binary it says so and exits successfully, so `cargo bench` still runs the others.

use std::{
	net::TcpListener,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};
use subxt::{
	config::PolkadotExtrinsicParamsBuilder,
	dynamic::Value,
	ext::scale_value::Composite,
	rpcs::{rpc_params, RpcClient},
	OnlineClient, PolkadotConfig,
};
use subxt_signer::sr25519::dev;

/// `schedule_enclave` calls timed from submission to inclusion.
const SCHEDULE_SAMPLES: usize = 20;

type Client = OnlineClient<PolkadotConfig>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
	// `cargo bench` passes `--bench` (and maybe a filter); a filter that does not name this bench
	// skips it, as criterion benches do.
	if let Some(filter) = std::env::args().skip(1).find(|arg| !arg.starts_with('-')) {
		if !"node".contains(filter.as_str()) {
			return Ok(());
		}
	}
	let Some(binary) = node_binary() else {
		println!(
			"node bench skipped: no enclave-update-node binary (build it with `cargo build \
			 --release -p enclave-update-node` or set ENCLAVE_UPDATE_NODE)"
		);
		return Ok(());
	};
	match &binary.profile {
		Some(profile) => println!("node bench: {} ({profile} build)", binary.path.display()),
		None => println!("node bench: {} (ENCLAVE_UPDATE_NODE)", binary.path.display()),
	}
	if binary.profile.as_deref() == Some("debug") {
		println!(
			"node bench: no release build found, so these figures are a debug build's, far \
			 below a release node's (`cargo build --release -p enclave-update-node`)"
		);
	}
	tokio::runtime::Builder::new_multi_thread()
		.enable_all()
		.build()?
		.block_on(async { submission_to_finality(&binary.path).await })
}

/// The node binary the bench runs.
struct NodeBinary {
	path: PathBuf,
	/// The cargo profile directory it was found in; `None` when `ENCLAVE_UPDATE_NODE` named it.
	profile: Option<String>,
}

/// The node binary: `ENCLAVE_UPDATE_NODE`, else the one next to this bench's profile directory
/// (`target/release` for `cargo bench`), else the release build, else the debug build.
fn node_binary() -> Option<NodeBinary> {
	if let Some(path) = std::env::var_os("ENCLAVE_UPDATE_NODE") {
		return Some(NodeBinary { path: path.into(), profile: None });
	}
	let exe = std::env::current_exe().ok()?;
	// target/<profile>/deps/node-<hash>
	let profile_dir = exe.parent()?.parent()?;
	let target_dir = profile_dir.parent()?;
	[profile_dir.to_path_buf(), target_dir.join("release"), target_dir.join("debug")]
		.into_iter()
		.map(|dir| dir.join("enclave-update-node"))
		.find(|path| path.is_file())
		.map(|path| {
			let profile = path
				.parent()
				.and_then(Path::file_name)
				.map(|name| name.to_string_lossy().into_owned());
			NodeBinary { path, profile }
		})
}

/// A node process with its RPC connections.
struct Node {
	_process: KillOnDrop,
	rpc: RpcClient,
	client: Client,
}

/// A child process killed (and reaped) when dropped, on every path out of the bench, errors
/// included.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
	fn drop(&mut self) {
		let _ = self.0.kill();
		let _ = self.0.wait();
	}
}

fn free_port() -> Result<u16, BoxError> {
	Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn start(binary: &Path, base_path: &Path) -> Result<Node, BoxError> {
	let rpc_port = free_port()?;
	let p2p_port = free_port()?;
	let mut child = KillOnDrop(
		Command::new(binary)
			.arg("--dev")
			.arg("--base-path")
			.arg(base_path)
			.args(["--rpc-port", &rpc_port.to_string()])
			.args(["--listen-addr", &format!("/ip4/127.0.0.1/tcp/{p2p_port}")])
			.args(["--no-prometheus", "--no-telemetry", "--no-mdns", "--log", "error"])
			// The dev chain's one-second slots.
			.stdin(Stdio::null())
			.stdout(Stdio::null())
			.stderr(Stdio::inherit())
			.spawn()?,
	);
	let url = format!("ws://127.0.0.1:{rpc_port}");
	let deadline = Instant::now() + Duration::from_secs(120);
	loop {
		if let Some(status) = child.0.try_wait()? {
			return Err(format!("the node exited with {status}").into());
		}
		if let Ok(rpc) = RpcClient::from_insecure_url(&url).await {
			if rpc.request::<serde_json::Value>("system_health", rpc_params![]).await.is_ok() {
				let client = Client::from_rpc_client(rpc.clone()).await?;
				return Ok(Node { _process: child, rpc, client });
			}
		}
		if Instant::now() > deadline {
			return Err("the node did not answer RPC within 120 s".into());
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

fn hex(bytes: &[u8]) -> String {
	let digits: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
	format!("0x{digits}")
}

fn schedule_call(byte: u8, activates_at: u32) -> Value {
	Value::unnamed_variant(
		"EnclaveUpdate",
		[Value::named_variant(
			"schedule_enclave",
			[
				(
					"measurement",
					Value::unnamed_variant("MrEnclave", [Value::from_bytes([byte; 32])]),
				),
				("activates_at", Value::u128(activates_at.into())),
			],
		)],
	)
}

fn cancel_call(byte: u8) -> Value {
	Value::unnamed_variant(
		"EnclaveUpdate",
		[Value::named_variant(
			"cancel_scheduled",
			[("measurement", Value::unnamed_variant("MrEnclave", [Value::from_bytes([byte; 32])]))],
		)],
	)
}

/// Signs `sudo(call)` by Alice with `nonce`.
async fn signed_sudo(client: &Client, call: Value, nonce: u64) -> Result<String, BoxError> {
	let at = client.at_current_block().await?;
	let payload = subxt::dynamic::transaction("Sudo", "sudo", Composite::named([("call", call)]));
	let params = PolkadotExtrinsicParamsBuilder::new().nonce(nonce).immortal().build();
	let tx = at.transactions().create_signed(&payload, &dev::alice(), params).await?;
	Ok(hex(tx.encoded()))
}

/// Submits `tx` and waits for the first new block that contains it, then for that block to be
/// finalized: the times from the `author_submitExtrinsic` request to that block's header
/// notification and to its finality notification.
async fn time_to_finality(rpc: &RpcClient, tx: &str) -> Result<(Duration, Duration), BoxError> {
	let mut heads = rpc
		.subscribe::<serde_json::Value>(
			"chain_subscribeNewHeads",
			rpc_params![],
			"chain_unsubscribeNewHeads",
		)
		.await?;
	let mut finalized = rpc
		.subscribe::<serde_json::Value>(
			"chain_subscribeFinalizedHeads",
			rpc_params![],
			"chain_unsubscribeFinalizedHeads",
		)
		.await?;
	let submitted = Instant::now();
	rpc.request::<String>("author_submitExtrinsic", rpc_params![tx]).await?;
	let deadline = Duration::from_secs(30);
	let (included_at, included) = loop {
		let head = tokio::time::timeout(deadline, heads.next())
			.await?
			.ok_or("the head subscription ended")??;
		let arrived = submitted.elapsed();
		let number = head["number"].as_str().ok_or("a header without number")?;
		let hash: String = rpc.request("chain_getBlockHash", rpc_params![number]).await?;
		let block: serde_json::Value = rpc.request("chain_getBlock", rpc_params![hash]).await?;
		let contains = block["block"]["extrinsics"]
			.as_array()
			.is_some_and(|extrinsics| extrinsics.iter().any(|x| x.as_str() == Some(tx)));
		if contains {
			break (arrived, block_number(number)?);
		}
		if arrived > deadline {
			return Err("the transaction was not included within 30 s".into());
		}
	};
	loop {
		let head = tokio::time::timeout(deadline, finalized.next())
			.await?
			.ok_or("the finalized head subscription ended")??;
		let number = head["number"].as_str().ok_or("a header without number")?;
		if block_number(number)? >= included {
			return Ok((included_at, submitted.elapsed()));
		}
		if submitted.elapsed() > deadline {
			return Err("the block was not finalized within 30 s".into());
		}
	}
}

fn block_number(hex_number: &str) -> Result<u32, BoxError> {
	Ok(u32::from_str_radix(hex_number.trim_start_matches("0x"), 16)?)
}

fn report(what: &str, mut samples: Vec<Duration>) {
	samples.sort();
	let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
	println!(
		"node/schedule submit->{what} ({} samples, --dev, 1 s slots): mean {:.1} ms, median \
		 {:.1} ms, min {:.1} ms, max {:.1} ms",
		samples.len(),
		mean.as_secs_f64() * 1000.0,
		samples[samples.len() / 2].as_secs_f64() * 1000.0,
		samples[0].as_secs_f64() * 1000.0,
		samples[samples.len() - 1].as_secs_f64() * 1000.0,
	);
}

/// `author_submitExtrinsic` of a sudo `schedule_enclave` to its block and to its finality, on a
/// `--dev` node (Alice authors each slot and finalizes alone).
async fn submission_to_finality(binary: &Path) -> Result<(), BoxError> {
	let dir = tempfile::tempdir()?;
	let node = start(binary, dir.path()).await?;
	// Wait for the first blocks, so the pool has a view to admit transactions to.
	tokio::time::sleep(Duration::from_millis(2500)).await;

	let mut inclusion = Vec::with_capacity(SCHEDULE_SAMPLES);
	let mut finality = Vec::with_capacity(SCHEDULE_SAMPLES);
	let mut nonce = 0;
	for sample in 0..SCHEDULE_SAMPLES {
		let byte = 0x10 + sample as u8;
		let header: serde_json::Value = node.rpc.request("chain_getHeader", rpc_params![]).await?;
		let best = block_number(header["number"].as_str().ok_or("no number")?)?;
		let schedule = signed_sudo(&node.client, schedule_call(byte, best + 1_000), nonce).await?;
		let (included, finalized) = time_to_finality(&node.rpc, &schedule).await?;
		inclusion.push(included);
		finality.push(finalized);
		// Keep the bounded schedule from filling up; not timed.
		let cancel = signed_sudo(&node.client, cancel_call(byte), nonce + 1).await?;
		time_to_finality(&node.rpc, &cancel).await?;
		nonce += 2;
	}
	report("inclusion", inclusion);
	report("GRANDPA finality", finality);
	Ok(())
}
