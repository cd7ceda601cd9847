//! The real binaries as child processes: the node and workers, on loopback ports nobody else
//! holds, each with its log in a file, killed when dropped.

use anyhow::{bail, Context, Result};
use enclave_update_primitives::Measurement;
use std::{
	fs::File,
	io::Read,
	net::TcpListener,
	path::{Path, PathBuf},
	process::{Child, Command, Output, Stdio},
	sync::OnceLock,
	time::{Duration, Instant},
};

/// The node binary's name.
pub const NODE_BIN: &str = "enclave-update-node";
/// The worker binary's name: the enclave.
pub const WORKER_BIN: &str = "enclave-worker";
/// The binary of the commands outside the enclave (`schedule`, `shield`, `verify-quote`).
pub const CLI_BIN: &str = "enclave-update-cli";

/// Where the workspace's binaries are: `$ENCLAVE_UPDATE_BIN_DIR`; else the first of the running
/// executable's profile directory (`target/<profile>/`; a test runs from
/// `target/<profile>/deps/`), `target/release/` and `target/debug/` that holds both the node
/// and the worker. A bench runs from `target/release/` and so uses release binaries when they
/// are built, and the debug ones a `cargo test` built otherwise.
pub fn bin_dir() -> &'static Path {
	static DIR: OnceLock<PathBuf> = OnceLock::new();
	DIR.get_or_init(|| {
		if let Some(dir) = std::env::var_os("ENCLAVE_UPDATE_BIN_DIR") {
			return PathBuf::from(dir);
		}
		let exe = std::env::current_exe().unwrap_or_default();
		let mut own = exe.parent().map(Path::to_path_buf).unwrap_or_default();
		if own.file_name().is_some_and(|name| name == "deps") {
			own.pop();
		}
		let target = own.parent().map(Path::to_path_buf).unwrap_or_default();
		[own.clone(), target.join("release"), target.join("debug")]
			.into_iter()
			.find(|dir| dir.join(NODE_BIN).is_file() && dir.join(WORKER_BIN).is_file())
			.unwrap_or(own)
	})
}

/// The path of the workspace binary `name`, which must have been built.
pub fn binary(name: &str) -> Result<PathBuf> {
	let path = bin_dir().join(name);
	if !path.is_file() {
		bail!(
			"{} is not built: run `cargo build --workspace` (or `cargo test --workspace`, which \
			 builds every binary) first, or point ENCLAVE_UPDATE_BIN_DIR at the binaries",
			path.display()
		);
	}
	Ok(path)
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0")
		.and_then(|listener| listener.local_addr())
		.map(|address| address.port())
		.expect("the OS hands out a free loopback port")
}

/// Has the child killed (SIGKILL) as soon as its parent is gone, however the parent ended (a
/// test that panicked or timed out, the devnet driver killed): no node or worker outlives the
/// harness that started it. Linux sends the signal when the *thread* that started the child
/// ends, so long-lived processes are started from the test's or the driver's own thread (as
/// everything here is), never from a short-lived one such as tokio's blocking pool.
fn dies_with_parent(command: &mut Command) {
	#[cfg(target_os = "linux")]
	{
		use std::os::unix::process::CommandExt;
		let parent = std::process::id();
		// SAFETY: between fork and exec the closure calls only prctl(2) and getppid(2), both
		// async-signal-safe, and allocates nothing.
		unsafe {
			command.pre_exec(move || {
				if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
					return Err(std::io::Error::last_os_error());
				}
				// The parent may have died before the prctl: then nobody would send the signal.
				if u32::try_from(libc::getppid()).ok() != Some(parent) {
					return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
				}
				Ok(())
			});
		}
	}
}

fn signal(child: &Child, signal: libc::c_int) {
	if let Ok(pid) = libc::pid_t::try_from(child.id()) {
		// SAFETY: kill(2) on our own child's pid; no memory is involved.
		unsafe {
			libc::kill(pid, signal);
		}
	}
}

/// A child process with its log; killed (SIGKILL) and reaped when dropped.
pub struct Process {
	child: Child,
	log: PathBuf,
	name: String,
}

impl Process {
	fn spawn(name: &str, command: &mut Command, log: PathBuf) -> Result<Process> {
		let file = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
		dies_with_parent(command);
		let child = command
			.stdin(Stdio::null())
			.stdout(file.try_clone()?)
			.stderr(file)
			.spawn()
			.with_context(|| format!("starting {name}"))?;
		Ok(Process { child, log, name: name.to_string() })
	}

	/// As [`Process::spawn`], with the output reaching the log through pipes that threads of
	/// this process drain: a limit on the size of the files the child may write (RLIMIT_FSIZE,
	/// as a full disk would) then does not apply to its log.
	fn spawn_piped(name: &str, command: &mut Command, log: PathBuf) -> Result<Process> {
		let file = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
		dies_with_parent(command);
		let mut child = command
			.stdin(Stdio::null())
			.stdout(Stdio::piped())
			.stderr(Stdio::piped())
			.spawn()
			.with_context(|| format!("starting {name}"))?;
		let outputs: [Box<dyn Read + Send>; 2] = [
			Box::new(child.stdout.take().expect("piped")),
			Box::new(child.stderr.take().expect("piped")),
		];
		for mut output in outputs {
			let mut file = file.try_clone()?;
			// Ends when the child has exited and the pipe is closed.
			std::thread::spawn(move || std::io::copy(&mut output, &mut file));
		}
		Ok(Process { child, log, name: name.to_string() })
	}

	/// Its process id.
	pub fn pid(&self) -> u32 {
		self.child.id()
	}

	/// The log so far.
	pub fn log(&self) -> String {
		std::fs::read_to_string(&self.log).unwrap_or_default()
	}

	/// The log file.
	pub fn log_path(&self) -> &Path {
		&self.log
	}

	/// Whether it has exited (and how).
	pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
		self.child.try_wait().ok().flatten()
	}

	/// Kills it abruptly (SIGKILL: no clean-up of any kind, like a power cut) and reaps it.
	pub fn kill9(mut self) {
		self.reap_killed();
	}

	fn reap_killed(&mut self) {
		if let Ok(None) = self.child.try_wait() {
			let _ = self.child.kill();
			let _ = self.child.wait();
		}
	}

	/// Stops it as an operator would (SIGTERM) and waits up to `grace`, then kills it.
	pub fn stop(mut self, grace: Duration) -> Option<std::process::ExitStatus> {
		signal(&self.child, libc::SIGTERM);
		let deadline = Instant::now() + grace;
		while Instant::now() < deadline {
			if let Ok(Some(status)) = self.child.try_wait() {
				return Some(status);
			}
			std::thread::sleep(Duration::from_millis(50));
		}
		eprintln!("{} did not stop within {grace:?}; killing it", self.name);
		self.reap_killed();
		None
	}
}

impl Drop for Process {
	fn drop(&mut self) {
		self.reap_killed();
	}
}

/// A running `enclave-update-node --dev`.
pub struct Node {
	/// The process.
	pub process: Process,
	/// Its JSON-RPC port on 127.0.0.1.
	pub rpc_port: u16,
	base_path: PathBuf,
	genesis_runtime: Option<PathBuf>,
}

/// The slot duration of the devnet's chain: a block every half second.
pub const SLOT_DURATION_MS: u64 = 500;

impl Node {
	/// Starts a dev node (Alice authors every slot and finalizes with GRANDPA alone) with its
	/// database under `base_path`, keeping the state of every finalized block (workers read the
	/// inbox of each block they execute, however far behind they are). With `genesis_runtime`,
	/// the chain starts on that wasm blob instead of the node's own runtime.
	pub fn start(base_path: &Path, genesis_runtime: Option<&Path>) -> Result<Node> {
		Self::start_on(base_path, genesis_runtime.map(Path::to_path_buf), free_port())
	}

	fn start_on(base_path: &Path, genesis_runtime: Option<PathBuf>, rpc_port: u16) -> Result<Node> {
		std::fs::create_dir_all(base_path)?;
		let log = base_path.join(format!("node-{}.log", unique_suffix()));
		let mut command = Command::new(binary(NODE_BIN)?);
		command
			.arg("--dev")
			.arg("--base-path")
			.arg(base_path)
			.args(["--rpc-port", &rpc_port.to_string()])
			.args(["--listen-addr", &format!("/ip4/127.0.0.1/tcp/{}", free_port())])
			.args(["--no-prometheus", "--no-telemetry", "--no-mdns"])
			.args(["--state-pruning", "archive-canonical"])
			.args(["--slot-duration-ms", &SLOT_DURATION_MS.to_string()])
			// The workers' GRANDPA light clients believe a finalized head only with its
			// justification: the node stores one for every block GRANDPA finalizes.
			.args(["--justification-period", "1"])
			// The fork-aware pool parks a transaction that arrives while it updates its views after
			// an import until a later block: with a block every half second, the devnet's paced
			// shielded calls then arrive in bursts and leave most blocks empty.
			.args(["--pool-type", "single-state"]);
		if let Some(runtime) = &genesis_runtime {
			command.arg("--genesis-runtime").arg(runtime);
		}
		let process = Process::spawn(NODE_BIN, &mut command, log)?;
		Ok(Node { process, rpc_port, base_path: base_path.to_path_buf(), genesis_runtime })
	}

	/// `ws://127.0.0.1:<rpc port>`.
	pub fn url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// Kills the node abruptly and starts it again on the same database and port.
	pub fn crash_and_restart(self) -> Result<Node> {
		let (base_path, genesis_runtime, rpc_port) =
			(self.base_path.clone(), self.genesis_runtime.clone(), self.rpc_port);
		self.process.kill9();
		Self::start_on(&base_path, genesis_runtime, rpc_port)
	}
}

fn unique_suffix() -> String {
	use std::sync::atomic::{AtomicU32, Ordering};
	static NEXT: AtomicU32 = AtomicU32::new(0);
	format!("{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// One simulated enclave: a measurement and a data directory, driven through the
/// `enclave-worker` command line.
#[derive(Clone, Debug)]
pub struct Worker {
	/// A short name for logs ("A", "B").
	pub name: String,
	/// Its data directory.
	pub data_dir: PathBuf,
	/// Its (simulated) measurement.
	pub measurement: Measurement,
	/// The node it follows.
	pub node_url: String,
	/// Its provisioning port, when it serves one.
	pub provide_port: u16,
}

/// Runs a one-shot worker `command` to its end (it dies with this process), with `what` in the
/// error if it cannot start.
fn run_worker_command(mut command: Command, what: &str) -> Result<CommandResult> {
	dies_with_parent(&mut command);
	let output = command
		.env("RUST_LOG", "info")
		.stdin(Stdio::null())
		.output()
		.with_context(|| format!("running {what}"))?;
	Ok(output.into())
}

/// `enclave-update-cli schedule --node <node_url> --json`: the enclave schedule as a worker reads
/// it, every storage value checked against the block's state root.
pub fn verified_schedule(node_url: &str) -> Result<serde_json::Value> {
	let mut command = Command::new(binary(CLI_BIN)?);
	command.args(["schedule", "--node", node_url, "--json"]);
	let result = run_worker_command(command, "enclave-update-cli schedule")?;
	if !result.success {
		bail!("enclave-update-cli schedule failed: {}", result.stderr);
	}
	result.json()
}

/// `enclave-update-cli registry --node <node_url> --json`: the enclave registry at the verified
/// finalized head, every record read with a storage proof.
pub fn verified_registry(node_url: &str) -> Result<serde_json::Value> {
	let mut command = Command::new(binary(CLI_BIN)?);
	command.args(["registry", "--node", node_url, "--json"]);
	let result = run_worker_command(command, "enclave-update-cli registry")?;
	if !result.success {
		bail!("enclave-update-cli registry failed: {}", result.stderr);
	}
	result.json()
}

/// `enclave-update-cli register --json`: submits the registration `evidence` (a file
/// `enclave-worker register-evidence` wrote) for the enclave serving at `url`, signed by `suri`.
pub fn register(node_url: &str, evidence: &Path, url: &str, suri: &str) -> Result<CommandResult> {
	let mut command = Command::new(binary(CLI_BIN)?);
	command.args(["register", "--node", node_url, "--url", url, "--suri", suri, "--json"]);
	command.arg("--evidence").arg(evidence);
	run_worker_command(command, "enclave-update-cli register")
}

/// `enclave-update-cli commit-cut-over --json`: submits the signed cut-over `commitment` (the
/// file a predecessor's `run` wrote), signed by `suri`.
pub fn commit_cut_over(node_url: &str, commitment: &Path, suri: &str) -> Result<CommandResult> {
	let mut command = Command::new(binary(CLI_BIN)?);
	command.args(["commit-cut-over", "--node", node_url, "--suri", suri, "--json"]);
	command.arg("--commitment").arg(commitment);
	run_worker_command(command, "enclave-update-cli commit-cut-over")
}

/// The result of a one-shot worker command.
#[derive(Debug)]
pub struct CommandResult {
	/// Whether it exited 0.
	pub success: bool,
	/// Its standard output.
	pub stdout: String,
	/// Its standard error (the logs).
	pub stderr: String,
}

impl CommandResult {
	/// The standard output parsed as JSON.
	pub fn json(&self) -> Result<serde_json::Value> {
		serde_json::from_str(&self.stdout)
			.with_context(|| format!("not JSON: {}\nstderr: {}", self.stdout, self.stderr))
	}
}

impl From<Output> for CommandResult {
	fn from(output: Output) -> Self {
		Self {
			success: output.status.success(),
			stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
			stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
		}
	}
}

impl Worker {
	/// A worker named `name` with `measurement`, its data under `root/<name>`.
	pub fn new(root: &Path, name: &str, measurement: Measurement, node_url: &str) -> Worker {
		Worker {
			name: name.to_string(),
			data_dir: root.join(format!("worker-{name}")),
			measurement,
			node_url: node_url.to_string(),
			provide_port: free_port(),
		}
	}

	/// The signed commitment to its final state its `run` leaves at its cut-over.
	pub fn cut_over_commitment(&self) -> PathBuf {
		self.data_dir.join(enclave_worker::registration::CUT_OVER_FILE)
	}

	/// `127.0.0.1:<provide port>`.
	pub fn provide_addr(&self) -> String {
		format!("127.0.0.1:{}", self.provide_port)
	}

	fn command(&self, subcommand: &str) -> Result<Command> {
		let mut command = Command::new(binary(WORKER_BIN)?);
		command.arg(subcommand).arg("--data-dir").arg(&self.data_dir).args([
			"--tee",
			"sim",
			"--measurement",
			&self.measurement.to_string(),
		]);
		Ok(command)
	}

	fn output(&self, command: Command) -> Result<CommandResult> {
		run_worker_command(command, &format!("worker {}", self.name))
	}

	/// `enclave-worker init --node <node>`: fresh keys (the chain's first enclave only), bound
	/// to the node's chain.
	pub fn init(&self) -> Result<CommandResult> {
		std::fs::create_dir_all(&self.data_dir)?;
		let mut command = self.command("init")?;
		command.args(["--node", &self.node_url]);
		self.output(command)
	}

	/// `enclave-worker status --json` with this enclave's TEE (checks it can unseal the keys).
	pub fn status(&self) -> Result<serde_json::Value> {
		let mut command = self.command("status")?;
		command.arg("--json");
		let result = self.output(command)?;
		if !result.success {
			bail!("status of worker {} failed: {}", self.name, result.stderr);
		}
		result.json()
	}

	/// `enclave-worker register-evidence --account <account>`, written to a file of its data
	/// directory for `register`: the quote binding `account` and this enclave's keys.
	pub fn register_evidence(&self, account: &str) -> Result<PathBuf> {
		let mut command = self.command("register-evidence")?;
		command.args(["--account", account]);
		let result = self.output(command)?;
		if !result.success {
			bail!("register-evidence of worker {} failed: {}", self.name, result.stderr);
		}
		let path = self.data_dir.join(format!("registration-{}.json", unique_suffix()));
		std::fs::write(&path, &result.stdout)?;
		Ok(path)
	}

	fn request_keys_command(&self, provider: &str) -> Result<Command> {
		std::fs::create_dir_all(&self.data_dir)?;
		let mut command = self.command("request-keys")?;
		command.args(["--from", provider, "--node", &self.node_url, "--json"]);
		Ok(command)
	}

	/// `enclave-worker request-keys --from <provider> --json`.
	pub fn request_keys(&self, provider: &str) -> Result<CommandResult> {
		self.output(self.request_keys_command(provider)?)
	}

	/// `enclave-worker request-keys --json` without `--from`: from an enclave the chain's
	/// registry names.
	pub fn request_keys_from_registry(&self) -> Result<CommandResult> {
		std::fs::create_dir_all(&self.data_dir)?;
		let mut command = self.command("request-keys")?;
		command.args(["--node", &self.node_url, "--json"]);
		self.output(command)
	}

	/// Starts `request-keys` as [`Worker::request_keys`] runs it, without waiting for it (to
	/// kill it half-way).
	pub fn start_request_keys(&self, provider: &str) -> Result<Process> {
		let mut command = self.request_keys_command(provider)?;
		command.env("RUST_LOG", "info,enclave_worker=debug");
		let log = self.data_dir.join(format!("request-keys-{}.log", unique_suffix()));
		Process::spawn(&format!("request-keys of {}", self.name), &mut command, log)
	}

	fn run_command(&self, predecessor: Option<&str>) -> Result<Command> {
		let mut command = self.command("run")?;
		command
			.args(["--node", &self.node_url, "--provide-on", &self.provide_addr()])
			.args(["--poll-ms", "100"])
			.env("RUST_LOG", "info,enclave_worker=debug");
		if let Some(predecessor) = predecessor {
			command.args(["--predecessor", predecessor]);
		}
		Ok(command)
	}

	fn run_log(&self) -> PathBuf {
		self.data_dir.join(format!("run-{}.log", unique_suffix()))
	}

	/// Starts `enclave-worker run --provide-on <port>`, continuing from `predecessor`'s
	/// snapshot when its own stretch of blocks starts after the predecessor's.
	pub fn run(&self, predecessor: Option<&str>) -> Result<Process> {
		let mut command = self.run_command(predecessor)?;
		Process::spawn(&format!("worker {}", self.name), &mut command, self.run_log())
	}

	/// Starts `run` as [`Worker::run`] does, with `adjust` applied to the command first, and
	/// its log written by this process: a limit on the size of the files the worker may write
	/// (RLIMIT_FSIZE, a full disk) then leaves its log whole.
	pub fn run_adjusted(
		&self,
		predecessor: Option<&str>,
		adjust: impl FnOnce(&mut Command),
	) -> Result<Process> {
		let mut command = self.run_command(predecessor)?;
		adjust(&mut command);
		Process::spawn_piped(&format!("worker {}", self.name), &mut command, self.run_log())
	}
}

/// Waits until `condition` holds, polling every `every`, for at most `timeout`.
pub async fn wait_until<F, Fut>(
	what: &str,
	timeout: Duration,
	every: Duration,
	mut condition: F,
) -> Result<()>
where
	F: FnMut() -> Fut,
	Fut: std::future::Future<Output = Result<bool>>,
{
	let deadline = Instant::now() + timeout;
	let mut last_error = None;
	loop {
		match condition().await {
			Ok(true) => return Ok(()),
			Ok(false) => {},
			Err(e) => last_error = Some(e),
		}
		if Instant::now() > deadline {
			match last_error {
				Some(e) => bail!("{what}: not within {timeout:?} (last error: {e:#})"),
				None => bail!("{what}: not within {timeout:?}"),
			}
		}
		tokio::time::sleep(every).await;
	}
}
