//! `enclave-update-devnet`: the whole upgrade on one machine, step by step. A dev node, the
//! chain's first worker A (measurement A, fresh keys) registering on chain (its quote verified
//! in the runtime, fixing the chain's key set), a stray `init` whose keys the chain refuses,
//! users' shielded calls to the registry's shielding key, B scheduled by
//! sudo, the council (2 of 3) retiring a build that must never get keys, B obtaining the keys
//! from A under mutual attestation and registering too, standby, the cut-over at the scheduled
//! block, a referendum (OpenGov, track EnclaveAdmin) scheduling the build after B, and the proof
//! that nothing was lost: equal key checksums, and B's state equal to a replay of every call from
//! genesis, its hash chained on A's final one.
//! Exits 0 only if all of that held. Every process it started is stopped on the way out, on
//! SIGINT, SIGTERM or SIGHUP too; if the driver is killed outright they die with it.

use anyhow::{bail, ensure, Context, Result};
use clap::Parser;
use enclave_update_devnet::{
	chain::{dev, retire_call, schedule_call, Chain, Keypair, REFERENDUM_VOTES},
	procs::{commit_cut_over, register, verified_registry, verified_schedule, Worker},
	story::{
		callers, check_cut_over, reference_replay, sealed_state, sim_keys, wait_for_processed,
		Devnet,
	},
	Measurement, MEASUREMENT_B, MEASUREMENT_C,
};
use enclave_worker::demo::{seal_call, ShieldedCall};
use std::{
	path::PathBuf,
	time::{Duration, Instant},
};

/// Runs the enclave upgrade story on a local dev chain.
#[derive(Parser, Debug)]
#[command(name = "enclave-update-devnet", version)]
struct Args {
	/// Blocks between the finalized head when B is scheduled and B's activation: the runtime's
	/// MinLeadTime (10) plus room for the blocks GRANDPA has not finalized yet and for the
	/// scheduling transaction's own block.
	#[arg(long, default_value_t = 30)]
	lead: u32,
	/// Blocks B executes after the cut-over before the story checks the result.
	#[arg(long, default_value_t = 5)]
	after: u32,
	/// Keep the node's and workers' data and logs in this directory (default: a temporary
	/// directory, removed at the end).
	#[arg(long, value_name = "DIR")]
	keep: Option<PathBuf>,
}

const WAIT: Duration = Duration::from_secs(180);

/// The build a referendum plans after B, far enough ahead that the story never reaches it.
const MEASUREMENT_D: Measurement = Measurement::MrEnclave([0xdd; 32]);
const D_AFTER_B: u32 = 100_000;
/// How `Chain::council_ok` passes a motion.
const COUNCIL_VOTES: &str = "Alice proposes, Alice and Bob vote aye, Charlie closes";

struct Progress {
	step: u32,
	started: Instant,
}

impl Progress {
	fn step(&mut self, text: &str) {
		self.step += 1;
		println!("[{:>5.1}s] step {:>2}: {text}", self.started.elapsed().as_secs_f64(), self.step);
	}

	fn note(&self, text: &str) {
		println!("           {text}");
	}
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
	let args = Args::parse();
	// A signal drops the story where it stands: dropping its processes kills them and dropping
	// its temporary directory removes their data.
	let outcome = tokio::select! {
		outcome = story(args) => outcome,
		signal = stop_signal() => Err(anyhow::anyhow!("{signal}: stopped every process")),
	};
	match outcome {
		Ok(()) => {
			println!("\nOK: the upgrade lost nothing.");
			std::process::ExitCode::SUCCESS
		},
		Err(e) => {
			eprintln!("\nFAILED: {e:#}");
			std::process::ExitCode::FAILURE
		},
	}
}

/// Resolves with the name of the first of SIGINT, SIGTERM and SIGHUP to arrive.
async fn stop_signal() -> &'static str {
	use tokio::signal::unix::{signal, SignalKind};
	let watched = (
		signal(SignalKind::interrupt()),
		signal(SignalKind::terminate()),
		signal(SignalKind::hangup()),
	);
	let (Ok(mut interrupt), Ok(mut terminate), Ok(mut hangup)) = watched else {
		// The children still die with the driver (see `procs`), only less gracefully.
		eprintln!("cannot watch SIGINT, SIGTERM and SIGHUP");
		return std::future::pending().await;
	};
	tokio::select! {
		_ = interrupt.recv() => "SIGINT",
		_ = terminate.recv() => "SIGTERM",
		_ = hangup.recv() => "SIGHUP",
	}
}

/// `worker`'s record in the `enclave-update-cli registry --json` answer `registry`, if any.
fn record_of(registry: &serde_json::Value, worker: &Worker) -> Option<serde_json::Value> {
	let measurement = worker.measurement.to_string();
	registry["enclaves"]
		.as_array()?
		.iter()
		.find(|r| r["measurement"] == measurement.as_str())
		.cloned()
}

/// An account's id as 0x-hex, as `register-evidence --account` takes it.
fn account_hex(account: &Keypair) -> String {
	format!("0x{}", hex::encode(account.public_key().0))
}

/// `worker` registers from the account of `suri` (`account`), as its operator would:
/// `enclave-worker register-evidence`, then `enclave-update-cli register`.
fn register_worker(
	progress: &Progress,
	node_url: &str,
	worker: &Worker,
	suri: &str,
	account: &Keypair,
) -> Result<()> {
	let evidence = worker.register_evidence(&account_hex(account))?;
	let result = register(node_url, &evidence, &worker.provide_addr(), suri)?;
	ensure!(result.success, "the registration of {} failed: {}", worker.name, result.stderr);
	let answer = result.json()?;
	progress.note(&format!(
		"`enclave-update-cli register`: {} from {} (events {})",
		worker.name,
		account_hex(account),
		answer["events"]
	));
	Ok(())
}

fn show_status(progress: &Progress, worker: &Worker) -> Result<serde_json::Value> {
	let status = worker.status()?;
	progress.note(&format!(
		"worker {}: {} | measurement {} | key checksum {} | last block {} | state hash {}",
		worker.name,
		status["readiness"].as_str().unwrap_or("-"),
		status["measurement"].as_str().unwrap_or("-"),
		status["key_checksum"].as_str().unwrap_or("-"),
		status["last_processed_block"].as_u64().map_or("-".into(), |n| format!("#{n}")),
		status["state_hash"].as_str().unwrap_or("-"),
	));
	Ok(status)
}

async fn story(args: Args) -> Result<()> {
	ensure!(args.lead >= 20, "--lead must exceed the runtime's MinLeadTime (10) by 10 or more");
	let temp = tempfile::tempdir()?;
	let root = match &args.keep {
		Some(dir) => {
			std::fs::create_dir_all(dir)?;
			dir.clone()
		},
		None => temp.path().to_path_buf(),
	};
	let mut progress = Progress { step: 0, started: Instant::now() };

	progress.step("start the dev node and worker A (measurement A, the genesis enclave)");
	let mut devnet = Devnet::start(&root).await?;
	progress.note(&format!(
		"node: {} | genesis 0x{}",
		devnet.node.url(),
		hex::encode(devnet.genesis_hash)
	));
	wait_for_processed(&devnet.a, 1, WAIT).await?;
	let a_status = show_status(&progress, &devnet.a)?;

	progress.step("A registers on chain from Alice's account: the runtime verifies its quote");
	register_worker(&progress, &devnet.node.url(), &devnet.a, "//Alice", &dev::alice())?;
	let registry = verified_registry(&devnet.node.url())?;
	let a_record = record_of(&registry, &devnet.a)
		.with_context(|| format!("the registry lacks A's record: {registry}"))?;
	ensure!(registry["key_set"] == a_status["key_checksum"], "the key set is not A's: {registry}");
	ensure!(
		registry["shielding_key"] == a_status["shielding_public_key"],
		"the registry's shielding key is not A's: {registry}"
	);
	progress.note(&format!(
		"`enclave-update-cli registry` at #{} (proof-checked): key set {} fixed, shielding key {}",
		registry["block_number"],
		registry["key_set"].as_str().unwrap_or("-"),
		registry["shielding_key"].as_str().unwrap_or("-")
	));

	progress.step("a stray `init` of build A elsewhere makes its own keys: the chain refuses them");
	let stray = devnet.worker(&root, "A2", enclave_update_devnet::MEASUREMENT_A);
	ensure!(stray.init()?.success, "the stray init failed");
	let evidence = stray.register_evidence(&account_hex(&dev::charlie()))?;
	let refused = register(&devnet.node.url(), &evidence, &stray.provide_addr(), "//Charlie")?;
	ensure!(!refused.success, "a second key set was registered");
	ensure!(refused.stderr.contains("KeySetMismatch"), "refused otherwise: {}", refused.stderr);
	progress.note("refused: EnclaveRegistry::KeySetMismatch (one key set per chain)");

	progress
		.step("users submit shielded calls (HPKE to the registry's shielding key) in every block");
	let shielding_key =
		hex::decode(registry["shielding_key"].as_str().unwrap_or("").trim_start_matches("0x"))?
			.try_into()
			.map_err(|_| anyhow::anyhow!("the registry shows no 32-byte shielding key"))?;
	let traffic = tokio::spawn(submit_calls(devnet.node.url(), shielding_key, devnet.genesis_hash));

	// Root and two thirds of the council may both schedule and retire (the runtime's
	// ScheduleOrigin and RetireOrigin); the story uses both, and a referendum below.
	progress.step("the council retires measurement C, a build that must never get keys");
	devnet.chain.council_ok(retire_call(&MEASUREMENT_C)).await?;
	progress.note(&format!("origin: council motion, 2 of 3 ({COUNCIL_VOTES}): retire_enclave(C)"));

	// Counted from here, after the council's motion: the lead is B's time to get the keys before
	// its block, and only what B needs happens in it.
	let xyz = devnet.chain.finalized_number().await? + args.lead;
	progress.step(&format!("sudo schedules measurement B for block #{xyz}"));
	devnet.chain.sudo_ok(schedule_call(&MEASUREMENT_B, xyz)).await?;
	progress.note(&format!("origin: Root, through sudo (Alice): schedule_enclave(B, #{xyz})"));
	progress.step("C, retired by the council, asks A for the keys: refused");
	let c = devnet.worker(&root, "C", MEASUREMENT_C);
	let refused = c.request_keys(&devnet.a.provide_addr())?;
	ensure!(!refused.success, "C was given the keys");
	progress.note(&format!(
		"refused: {}",
		refused.stderr.lines().rfind(|l| l.contains("refused")).unwrap_or("").trim()
	));

	progress.step(
		"worker B requests the keys from the enclave the registry names, A (mutual attestation, \
		 both views proof-checked)",
	);
	let b = devnet.worker(&root, "B", MEASUREMENT_B);
	let got = b.request_keys_from_registry()?;
	ensure!(got.success, "B was refused: {}", got.stderr);
	let answer = got.json()?;
	progress.note(&format!(
		"B received keys {} ({})",
		answer["key_checksum"].as_str().unwrap_or("-"),
		answer["provider_reason"].as_str().unwrap_or("-")
	));
	ensure!(answer["key_checksum"] == a_status["key_checksum"], "B's keys differ from A's");

	progress.step("worker B runs in standby, following the chain without executing");
	let b_run = b.run(Some(&devnet.a.provide_addr()))?;
	tokio::time::sleep(Duration::from_secs(2)).await;
	show_status(&progress, &b)?;

	progress.step(&format!(
		"cut-over: A stops after #{}, commits to its final state on chain; B checks the snapshot \
		 against the commitment and executes from #{xyz}",
		xyz - 1
	));
	let mut shown = 0;
	let mut committed = None;
	loop {
		let head = devnet.chain.finalized_number().await?;
		let commitment = devnet.a.cut_over_commitment();
		if committed.is_none() && commitment.is_file() {
			// What A's operator does when A has stopped: submit the commitment A signed.
			let result = commit_cut_over(&devnet.node.url(), &commitment, "//Alice")?;
			ensure!(result.success, "A's commitment was refused: {}", result.stderr);
			let answer = result.json()?;
			progress.note(&format!(
				"`enclave-update-cli commit-cut-over`: A's state after #{} is 0x{}",
				answer["last_block"],
				answer["state_hash"].as_str().unwrap_or("-").trim_start_matches("0x")
			));
			committed = Some(answer);
		}
		if head != shown && head % 3 == 0 {
			let a = devnet.a.status()?;
			let b = b.status()?;
			let at = |s: &serde_json::Value| {
				s["last_processed_block"].as_u64().map_or("-".into(), |n| format!("#{n}"))
			};
			progress.note(&format!(
				"head #{head} | A {} at {} | B {} at {}",
				a["readiness"].as_str().unwrap_or("-"),
				at(&a),
				b["readiness"].as_str().unwrap_or("-"),
				at(&b)
			));
			shown = head;
		}
		if head >= xyz + args.after {
			break;
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	traffic.abort();
	let last = devnet.chain.finalized_number().await? + 1;
	devnet.chain.wait_for_finalized(last, WAIT).await?;
	wait_for_processed(&b, u64::from(last), WAIT).await?;

	progress.step("both workers' status");
	let a_status = show_status(&progress, &devnet.a)?;
	let b_status = show_status(&progress, &b)?;
	check_cut_over(&a_status, &b_status, xyz).context("A → B")?;
	progress.note(&format!(
		"A retired after #{}, B active, identical key checksums: {}",
		xyz - 1,
		b_status["key_checksum"].as_str().unwrap_or("-")
	));
	let committed = committed.context("A never wrote its cut-over commitment")?;
	ensure!(
		committed["state_hash"] == a_status["state_hash"],
		"the commitment is not A's final state: {committed}"
	);
	progress.note("B continued from the committed state: A's final state hash, on chain");

	progress.step("B registers from Bob's account: the chain's key set, a signing key of its own");
	register_worker(&progress, &devnet.node.url(), &b, "//Bob", &dev::bob())?;
	let registry = verified_registry(&devnet.node.url())?;
	let b_record = record_of(&registry, &b)
		.with_context(|| format!("the registry lacks B's record: {registry}"))?;
	// A's record went in the idle time of the block that took its commitment: its last
	// hand-over was done.
	ensure!(
		record_of(&registry, &devnet.a).is_none(),
		"A's record outlived its cut-over commitment: {registry}"
	);
	ensure!(
		a_record["key_set_checksum"] == b_record["key_set_checksum"],
		"two key sets: {registry}"
	);
	ensure!(a_record["signing_key"] != b_record["signing_key"], "B took A's signing key");
	progress.note(&format!(
		"registry: B at {}, key set {} (A's), signing key {} (A's was {}); A's record went once \
		 its commitment was on chain",
		b_record["url"].as_str().unwrap_or("-"),
		registry["key_set"].as_str().unwrap_or("-"),
		b_record["signing_key"].as_str().unwrap_or("-"),
		a_record["signing_key"].as_str().unwrap_or("-")
	));

	// The next build is the token holders' decision: a referendum on the track whose origin may
	// schedule (the runtime's ScheduleOrigin: Root, two thirds of the council, or EnclaveAdmin).
	let d_at = xyz + D_AFTER_B;
	progress.step(&format!("a referendum schedules the build after B, measurement D, for #{d_at}"));
	let referendum = devnet
		.chain
		.referendum_ok("EnclaveAdmin", schedule_call(&MEASUREMENT_D, d_at))
		.await?;
	progress.note(&format!(
		"origin: referendum #{} on track EnclaveAdmin ({REFERENDUM_VOTES}): schedule_enclave(D, \
		 #{d_at})",
		referendum.index
	));
	let (ref_time, proof_size) = devnet.chain.block_weight(referendum.enacted).await?;
	progress.note(&format!(
		"submitted at #{}, enacted at #{} ({} blocks); the enactment block's weight: ref_time {}, \
		 proof_size {}",
		referendum.submitted,
		referendum.enacted,
		referendum.enacted - referendum.submitted,
		ref_time,
		proof_size
	));
	let schedule = verified_schedule(&devnet.node.url())?;
	let d = MEASUREMENT_D.to_string();
	ensure!(
		schedule["scheduled"]
			.as_array()
			.is_some_and(|s| s.iter().any(|e| e["measurement"] == d.as_str())),
		"the workers' proof-checked view does not schedule D: {schedule}"
	);
	progress.note(&format!(
		"`enclave-update-cli schedule` at #{} (proof-checked): D scheduled for #{d_at}",
		schedule["block_number"]
	));

	progress.step("state-hash continuity: replay every shielded call from genesis");
	let keys = sim_keys(&devnet.a)?;
	let at_cut_over = reference_replay(&devnet.chain, devnet.genesis_hash, &keys, xyz - 1).await?;
	let a_final = sealed_state(&devnet.a, &keys)?;
	ensure!(a_final == at_cut_over, "A's final state differs from the replay up to #{}", xyz - 1);
	progress.note(&format!(
		"A's final state hash (#{}):   0x{}",
		xyz - 1,
		hex::encode(a_final.state_hash)
	));
	let b_state = sealed_state(&b, &keys)?;
	let upto = u32::try_from(b_state.block_number)?;
	ensure!(upto >= last, "B's sealed state is behind its status");
	let reference = reference_replay(&devnet.chain, devnet.genesis_hash, &keys, upto).await?;
	if b_state != reference {
		bail!("B's state differs from the replay of every call up to #{upto}");
	}
	progress.note(&format!(
		"B's state hash (#{upto}):        0x{} = replay from genesis",
		hex::encode(b_state.state_hash)
	));
	progress.note(&format!(
		"calls applied {} | malformed skipped {} | counter = {}",
		b_state.applied_total,
		b_state.skipped_total,
		b_state.state.counter(b"counter")
	));

	progress.step("stop every process");
	b_run.stop(Duration::from_secs(10));
	if let Some(a_run) = devnet.a_run.take() {
		a_run.stop(Duration::from_secs(10));
	}
	devnet.node.process.stop(Duration::from_secs(30));
	if let Some(dir) = &args.keep {
		println!("data and logs kept in {}", dir.display());
	}
	Ok(())
}

/// Submits shielded calls until aborted: increments and puts, and every eleventh a malformed
/// ciphertext (skipped and counted by the worker).
async fn submit_calls(url: String, key: [u8; 32], genesis: [u8; 32]) -> Result<()> {
	let chain = Chain::connect(&url, WAIT).await.context("the traffic client connects")?;
	let callers = callers();
	for i in 0u64.. {
		let call = if i % 2 == 0 {
			ShieldedCall::Increment { key: b"counter".to_vec(), by: 1 }
		} else {
			ShieldedCall::Put {
				key: format!("user-{}", i % 7).into_bytes(),
				value: i.to_le_bytes().to_vec(),
			}
		};
		let ciphertext =
			if i % 11 == 10 { b"garbage".to_vec() } else { seal_call(&key, &genesis, &call) };
		let _ = chain.submit_shielded(&ciphertext, &callers[(i % 3) as usize]).await;
		tokio::time::sleep(Duration::from_millis(150)).await;
	}
	Ok(())
}
