//! The real `enclave-worker` binary killed with SIGKILL at random moments of `init` and of
//! `request-keys` (against a scripted node and a provider on loopback). After every kill: the
//! keys are absent or complete and unsealable, a read-only `status` agrees with the sealed
//! files and changes nothing on disk, and the next command that writes leaves no temp file.
//! A `request-keys` that fails after a killed one never reports "no keys" while keys are
//! sealed.
//!
//! The kill delays are drawn from the duration of an uninterrupted run measured first: they
//! land anywhere from process start to the last write. Nothing asserts on timing.

use std::{
	collections::BTreeMap,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	sync::Arc,
	time::{Duration, Instant},
};

mod support;

use enclave_worker::{
	attestation::{AttestationPolicy, Verifier},
	chain::rpc::RpcChain,
	keys::{KeyMaterial, KeyStore},
	provisioning::{Provider, ProviderConfig},
	store::Store,
	tee::{SimTee, Tee},
	testing::m,
};

const A: u8 = 0xaa;
const B: u8 = 0xbb;
/// Any single process run that takes longer is a hang, and fails the test.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(30);
const INIT_KILLS: usize = 60;
const REQUEST_KILLS: usize = 30;

/// The genesis hash `init` binds the keys of these tests to (no node runs for `init`).
const GENESIS: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";

fn hex_measurement(byte: u8) -> String {
	format!("0x{}", hex::encode([byte; 32]))
}

fn as_strs(args: &[String]) -> Vec<&str> {
	args.iter().map(String::as_str).collect()
}

/// A uniformly random duration in `[0, max]`.
fn random_delay(max: Duration) -> Duration {
	let mut bytes = [0u8; 8];
	rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
	let micros = max.as_micros().max(1) as u64;
	Duration::from_micros(u64::from_le_bytes(bytes) % (micros + 1))
}

/// A child process killed and reaped when dropped, also when an assertion fails.
struct Reaped(Child);

impl Drop for Reaped {
	fn drop(&mut self) {
		let _ = self.0.kill();
		let _ = self.0.wait();
	}
}

struct Output {
	ok: bool,
	stdout: String,
	stderr: String,
}

/// Scratch space for the processes' output, outside every data directory.
struct Worker {
	scratch: tempfile::TempDir,
}

impl Worker {
	fn new() -> Self {
		Self { scratch: tempfile::tempdir().expect("scratch dir") }
	}

	fn spawn(&self, args: &[&str]) -> Reaped {
		let out = std::fs::File::create(self.scratch.path().join("stdout")).unwrap();
		let err = std::fs::File::create(self.scratch.path().join("stderr")).unwrap();
		let child = Command::new(env!("CARGO_BIN_EXE_enclave-worker"))
			.args(args)
			.env("RUST_LOG", "warn")
			.stdin(Stdio::null())
			.stdout(out)
			.stderr(err)
			.spawn()
			.expect("spawn enclave-worker");
		Reaped(child)
	}

	/// Runs to completion (bounded by [`PROCESS_TIMEOUT`]).
	fn run(&self, args: &[&str]) -> Output {
		let mut child = self.spawn(args);
		let started = Instant::now();
		let status = loop {
			if let Some(status) = child.0.try_wait().unwrap() {
				break status;
			}
			assert!(started.elapsed() < PROCESS_TIMEOUT, "enclave-worker {args:?} hung");
			std::thread::sleep(Duration::from_millis(2));
		};
		let read = |name| std::fs::read_to_string(self.scratch.path().join(name)).unwrap();
		Output { ok: status.success(), stdout: read("stdout"), stderr: read("stderr") }
	}

	/// Starts `args`, kills it with SIGKILL after a random delay of at most `max`.
	fn kill_after_random_delay(&self, args: &[&str], max: Duration) {
		let mut child = self.spawn(args);
		std::thread::sleep(random_delay(max));
		let _ = child.0.kill();
		child.0.wait().unwrap();
	}

	/// How long an uninterrupted run of `args` takes (it must succeed).
	fn duration_of(&self, args: &[&str]) -> Duration {
		let started = Instant::now();
		let out = self.run(args);
		assert!(out.ok, "{args:?}: {}", out.stderr);
		started.elapsed()
	}
}

/// What the kills hit (printed, not asserted: the delays are random).
#[derive(Debug, Default)]
struct Tally {
	/// Keys were sealed when the process died.
	with_keys: usize,
	/// A temp file was left.
	with_leftovers: usize,
}

impl Tally {
	fn count(&mut self, dir: &Path, keys: bool) {
		self.with_keys += usize::from(keys);
		self.with_leftovers += usize::from(!temp_files(dir).is_empty());
	}
}

/// Every entry of `dir` with its content and modification time (`None`: no directory).
fn snapshot(dir: &Path) -> Option<BTreeMap<String, (Vec<u8>, std::time::SystemTime)>> {
	let entries = std::fs::read_dir(dir).ok()?;
	let mut files = BTreeMap::new();
	for entry in entries {
		let entry = entry.unwrap();
		let meta = entry.metadata().unwrap();
		let content =
			if meta.is_file() { std::fs::read(entry.path()).unwrap() } else { Vec::new() };
		files.insert(entry.file_name().into_string().unwrap(), (content, meta.modified().unwrap()));
	}
	let meta = std::fs::metadata(dir).unwrap();
	files.insert(".".into(), (Vec::new(), meta.modified().unwrap()));
	Some(files)
}

/// The temp files in `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
	let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
	entries
		.map(|e| e.unwrap().file_name().into_string().unwrap())
		.filter(|name| name.starts_with('.') && name.contains(".tmp-"))
		.collect()
}

/// The checksum of the keys sealed in `dir` for `measurement`, `None` when there are none.
/// Panics unless they are complete and unseal. Reads only (no host secret is created).
fn sealed_checksum(dir: &Path, measurement: u8) -> Option<String> {
	let store = Store::open_read_only(dir);
	if !store.has_keys() {
		return None;
	}
	let tee = SimTee::in_data_dir(m(measurement), dir).without_creating_host_secret();
	let sealing_key = tee.sealing_key().expect("keys are sealed, so the host secret exists");
	let (keys, _) = store
		.read_sealed_keys(&sealing_key, &m(measurement))
		.expect("sealed keys are complete and unseal");
	Some(keys.checksum().to_string())
}

/// Asserts that `status` (read-only: nothing in `dir` changes, a missing `dir` stays missing)
/// agrees with the sealed key files, and returns the sealed checksum.
fn assert_status_agrees(worker: &Worker, dir: &Path, measurement: u8) -> Option<String> {
	let sealed = sealed_checksum(dir, measurement);
	let dir_arg = dir.display().to_string();
	let hex = hex_measurement(measurement);
	let before = snapshot(dir);
	let mut args = vec!["status", "--data-dir", &dir_arg, "--json"];
	if sealed.is_some() {
		args.extend(["--tee", "sim", "--measurement", &hex]);
	}
	let out = worker.run(&args);
	assert!(out.ok, "status: {}", out.stderr);
	assert_eq!(snapshot(dir), before, "status changed the data directory");
	let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
	let readiness = status["readiness"].as_str().unwrap();
	match &sealed {
		Some(checksum) => {
			assert!(!["NoKeys", "Provisioning"].contains(&readiness), "{status}");
			assert_eq!(status["key_checksum"].as_str(), Some(checksum.as_str()), "{status}");
			assert_eq!(status["measurement"].as_str(), Some(hex.as_str()), "{status}");
		},
		None => {
			assert!(["NoKeys", "Provisioning"].contains(&readiness), "{status}");
			assert!(status["key_checksum"].is_null(), "{status}");
		},
	}
	sealed
}

#[test]
fn status_creates_nothing_and_changes_nothing() {
	let worker = Worker::new();
	let tmp = tempfile::tempdir().unwrap();
	let dir = tmp.path().join("data");
	let dir_arg = dir.display().to_string();
	let a = hex_measurement(A);
	let other = hex_measurement(0x01);
	for args in [
		vec!["status", "--data-dir", &dir_arg],
		vec!["status", "--data-dir", &dir_arg, "--json"],
		vec!["status", "--data-dir", &dir_arg, "--tee", "sim", "--measurement", &a],
	] {
		worker.run(&args);
		assert!(!dir.exists(), "{args:?} created the data directory");
	}
	assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);

	let out = worker.run(&[
		"init",
		"--data-dir",
		&dir_arg,
		"--tee",
		"sim",
		"--measurement",
		&a,
		"--genesis",
		GENESIS,
	]);
	assert!(out.ok, "{}", out.stderr);
	// A leftover of a killed write stays until a command that writes starts.
	std::fs::write(dir.join(".keys.sealed.tmp-1-0"), b"leftover").unwrap();
	let before = snapshot(&dir);
	for args in [
		vec!["status", "--data-dir", &dir_arg],
		vec!["status", "--data-dir", &dir_arg, "--tee", "sim", "--measurement", &a],
		// Another build: refused, and still nothing written (no host secret of its own).
		vec!["status", "--data-dir", &dir_arg, "--tee", "sim", "--measurement", &other],
	] {
		worker.run(&args);
		assert_eq!(snapshot(&dir), before, "{args:?} changed the data directory");
	}
	assert_status_agrees(&worker, &dir, A);
}

#[test]
fn init_killed_at_random_moments_leaves_no_keys_or_complete_ones() {
	let worker = Worker::new();
	let tmp = tempfile::tempdir().unwrap();
	let a = hex_measurement(A);
	let init_args = |dir: &str| -> Vec<String> {
		["init", "--data-dir", dir, "--tee", "sim", "--measurement", &a, "--genesis", GENESIS]
			.map(str::to_owned)
			.to_vec()
	};
	let calibration = tmp.path().join("calibration").display().to_string();
	let full = worker.duration_of(&as_strs(&init_args(&calibration)));
	let mut tally = Tally::default();
	for i in 0..INIT_KILLS {
		let dir = tmp.path().join(format!("d{i}"));
		let dir_arg = dir.display().to_string();
		let args = init_args(&dir_arg);
		let args = as_strs(&args);
		worker.kill_after_random_delay(&args, full + full / 4);
		let killed_with = assert_status_agrees(&worker, &dir, A);
		tally.count(&dir, killed_with.is_some());

		// The next start-up: a fresh init, or a refusal that keeps the sealed keys.
		let out = worker.run(&args);
		assert!(
			out.ok || (killed_with.is_some() && out.stderr.contains("already exists")),
			"{}",
			out.stderr
		);
		assert_eq!(temp_files(&dir), Vec::<String>::new(), "iteration {i}");
		let now = assert_status_agrees(&worker, &dir, A).expect("keys after init");
		if let Some(killed_with) = killed_with {
			assert_eq!(now, killed_with, "keys sealed before the kill are kept");
		}
	}
	eprintln!("init: {tally:?}");
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> String {
	let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
	listener.local_addr().unwrap().to_string()
}

#[test]
fn request_keys_killed_at_random_moments_then_failing_never_reports_no_keys() {
	let runtime = tokio::runtime::Builder::new_multi_thread()
		.worker_threads(2)
		.enable_all()
		.build()
		.unwrap();
	// Block 1 schedules B; justified by the chain's GRANDPA authorities.
	let (node, _server) = runtime.block_on(support::node::serve(support::node::two_block_chain()));

	// The provider A, in this process, following the same node.
	let provider_dir = tempfile::tempdir().unwrap();
	let material = KeyMaterial::generate();
	let provider_checksum = material.checksum().to_string();
	let provider_addr = runtime.block_on(async {
		let chain = RpcChain::connect(&node, None, None).await.expect("provider follows the node");
		let config = ProviderConfig {
			// Killed requesters leave their challenges outstanding.
			max_outstanding_challenges: 4 * REQUEST_KILLS + 16,
			..ProviderConfig::default()
		};
		let provider = Provider::new(
			Arc::new(SimTee::in_data_dir(m(A), provider_dir.path())),
			Arc::new(KeyStore::with_keys(material)),
			Verifier::new(AttestationPolicy::dev()),
			chain,
			config,
		);
		let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
		let addr = listener.local_addr().unwrap().to_string();
		tokio::spawn(provider.serve(listener));
		addr
	});

	let worker = Worker::new();
	let tmp = tempfile::tempdir().unwrap();
	let b = hex_measurement(B);
	let request = |dir: &str, from: &str| -> Vec<String> {
		[
			"request-keys",
			"--data-dir",
			dir,
			"--tee",
			"sim",
			"--measurement",
			&b,
			"--node",
			&node,
			"--from",
			from,
		]
		.map(str::to_owned)
		.to_vec()
	};
	let calibration = tmp.path().join("calibration").display().to_string();
	let full = worker.duration_of(&as_strs(&request(&calibration, &provider_addr)));
	assert_eq!(sealed_checksum(Path::new(&calibration), B), Some(provider_checksum.clone()));

	let mut tally = Tally::default();
	for i in 0..REQUEST_KILLS {
		let dir: PathBuf = tmp.path().join(format!("d{i}"));
		let dir_arg = dir.display().to_string();
		let killed = request(&dir_arg, &provider_addr);
		let killed = as_strs(&killed);
		worker.kill_after_random_delay(&killed, full + full / 4);
		let sealed = assert_status_agrees(&worker, &dir, B);
		tally.count(&dir, sealed.is_some());
		if let Some(checksum) = &sealed {
			assert_eq!(checksum, &provider_checksum, "iteration {i}");
		}

		// The next start-up fails (no provider there): it cleans up, and keeps the readiness.
		let failing = request(&dir_arg, &closed_port());
		let failing = as_strs(&failing);
		let out = worker.run(&failing);
		assert!(!out.ok, "iteration {i}");
		assert!(out.stderr.contains("key request refused"), "iteration {i}: {}", out.stderr);
		assert_eq!(temp_files(&dir), Vec::<String>::new(), "iteration {i}");
		assert_eq!(assert_status_agrees(&worker, &dir, B), sealed, "iteration {i}");

		// And a complete request ends with the provider's keys.
		let out = worker.run(&killed);
		assert!(out.ok, "iteration {i}: {}", out.stderr);
		assert_eq!(temp_files(&dir), Vec::<String>::new(), "iteration {i}");
		assert_eq!(assert_status_agrees(&worker, &dir, B), Some(provider_checksum.clone()));
	}
	eprintln!("request-keys: {tally:?}");
}
