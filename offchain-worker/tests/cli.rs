//! The `enclave-worker` binary, run as a process on temporary data directories.

use std::process::Command;

const A: &str = "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

struct Output {
	ok: bool,
	stdout: String,
	stderr: String,
}

fn worker(args: &[&str]) -> Output {
	let out = Command::new(env!("CARGO_BIN_EXE_enclave-worker"))
		.args(args)
		.env("RUST_LOG", "warn")
		.output()
		.expect("run enclave-worker");
	Output {
		ok: out.status.success(),
		stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
		stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
	}
}

/// The genesis hash the keys of these tests are made for (no node runs here).
const GENESIS: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";

/// `enclave-worker <command> --data-dir <dir> --tee sim --measurement <measurement> <extra…>`.
fn sim_worker(command: &str, dir: &str, measurement: &str, extra: &[&str]) -> Output {
	let mut args = vec![command, "--data-dir", dir, "--tee", "sim", "--measurement", measurement];
	args.extend_from_slice(extra);
	worker(&args)
}

fn init(dir: &str, measurement: &str) -> Output {
	sim_worker("init", dir, measurement, &["--genesis", GENESIS])
}

#[test]
fn init_then_status_shows_checksum_and_second_init_is_refused() {
	let tmp = tempfile::tempdir().unwrap();
	let dir = tmp.path().join("a").display().to_string();
	let before = worker(&["status", "--data-dir", &dir, "--json"]);
	assert!(before.ok, "{}", before.stderr);
	let status: serde_json::Value = serde_json::from_str(&before.stdout).unwrap();
	assert_eq!(status["readiness"], "NoKeys");

	let first = init(&dir, A);
	assert!(first.ok, "{}", first.stderr);
	let status = worker(&["status", "--data-dir", &dir, "--json"]);
	assert!(status.ok, "{}", status.stderr);
	let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
	assert_eq!(status["readiness"], "Active");
	assert_eq!(status["measurement"], A);
	let checksum = status["key_checksum"].as_str().unwrap().to_owned();
	assert_eq!(checksum.len(), 66);

	let human = worker(&["status", "--data-dir", &dir, "--tee", "sim", "--measurement", A]);
	assert!(human.ok, "{}", human.stderr);
	assert!(human.stdout.contains(&checksum), "{}", human.stdout);
	assert!(human.stdout.contains("active"), "{}", human.stdout);

	let keys_before = std::fs::read(tmp.path().join("a/keys.sealed")).unwrap();
	let second = init(&dir, A);
	assert!(!second.ok);
	assert!(second.stderr.contains("already exists"), "{}", second.stderr);
	assert_eq!(std::fs::read(tmp.path().join("a/keys.sealed")).unwrap(), keys_before);
}

#[test]
fn another_measurement_cannot_unseal_and_is_told_what_to_do() {
	let tmp = tempfile::tempdir().unwrap();
	let dir = tmp.path().display().to_string();
	assert!(init(&dir, A).ok);
	let other = worker(&["status", "--data-dir", &dir, "--tee", "sim", "--measurement", B]);
	assert!(!other.ok);
	assert!(other.stderr.contains("cannot unseal"), "{}", other.stderr);
	assert!(other.stderr.contains("enclave-worker request-keys"), "{}", other.stderr);
	assert!(!other.stderr.contains("panicked"), "{}", other.stderr);
	// Refusing B's init keeps A's keys.
	assert!(!init(&dir, B).ok);
	assert!(worker(&["status", "--data-dir", &dir, "--tee", "sim", "--measurement", A]).ok);
}

#[test]
fn the_enclave_binary_has_only_the_enclave_commands() {
	let help = worker(&["--help"]);
	assert!(help.ok);
	for word in ["init", "status", "run", "request-keys", "register-evidence"] {
		assert!(help.stdout.contains(word), "{word}: {}", help.stdout);
	}
	// The user's and operator's commands are enclave-update-cli's: editing them must not change
	// the enclave's measurement.
	for command in ["shield", "schedule", "verify-quote", "policy"] {
		let out = worker(&[command, "--help"]);
		assert!(!out.ok, "{command}");
		assert!(out.stderr.contains("unrecognized subcommand"), "{command}: {}", out.stderr);
	}
	// Peers' collateral: the flags of every command that judges evidence.
	for command in ["run", "request-keys"] {
		let help = worker(&[command, "--help"]);
		for flag in ["--collateral-dir", "--pccs-url"] {
			assert!(help.stdout.contains(flag), "{command} {flag}: {}", help.stdout);
		}
	}
}

/// Alice's well-known dev account.
const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

fn register_evidence(dir: &str, measurement: &str, account: &str) -> Output {
	sim_worker("register-evidence", dir, measurement, &["--account", account])
}

#[test]
fn register_evidence_binds_the_account_and_keeps_one_signing_key() {
	let tmp = tempfile::tempdir().unwrap();
	let dir = tmp.path().join("a").display().to_string();
	// No keys yet: nothing to register.
	let without = register_evidence(&dir, A, ALICE);
	assert!(!without.ok);
	assert!(without.stderr.contains("init"), "{}", without.stderr);
	assert!(init(&dir, A).ok);
	let bad = register_evidence(&dir, A, "not-an-account");
	assert!(!bad.ok);
	assert!(bad.stderr.contains("--account"), "{}", bad.stderr);
	assert!(!bad.stderr.contains("panicked"), "{}", bad.stderr);

	let first = register_evidence(&dir, A, ALICE);
	assert!(first.ok, "{}", first.stderr);
	let first: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
	assert_eq!(first["measurement"], A);
	assert_eq!(
		first["account"],
		"0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
	);
	let status = worker(&["status", "--data-dir", &dir, "--json"]);
	let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
	assert_eq!(first["key_set_checksum"], status["key_checksum"]);
	assert_eq!(first["shielding_key"], status["shielding_public_key"]);
	// The signing key is made once; another account gets another quote over it.
	let hex_bob = "0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48";
	let second = register_evidence(&dir, A, hex_bob);
	assert!(second.ok, "{}", second.stderr);
	let second: serde_json::Value = serde_json::from_str(&second.stdout).unwrap();
	assert_eq!(second["signing_key"], first["signing_key"]);
	assert_eq!(second["account"], hex_bob);
	assert_ne!(second["evidence"], first["evidence"]);
	// Another build on the same directory cannot use A's signing key, nor A's keys.
	let other = register_evidence(&dir, B, ALICE);
	assert!(!other.ok);
	assert!(!other.stderr.contains("panicked"), "{}", other.stderr);
}

/// The commands that hand or receive keys take no policy and no pallet names from the host:
/// a flag for any of them is an error, not a setting.
#[test]
fn the_host_cannot_choose_the_policy_or_the_pallets() {
	for command in ["run", "request-keys"] {
		for flag in [
			"--dev",
			"--allow-debug",
			"--allow-status",
			"--reject-advisory",
			"--mrsigner",
			"--min-svn",
			"--product-id",
			"--allow-td-without-sept-ve-disable",
			"--allow-service-td",
			"--pallet",
			"--inbox-pallet",
			"--gramine-root",
		] {
			let out = worker(&[command, flag, "x", "--data-dir", "/nonexistent"]);
			assert!(!out.ok, "{command} {flag}");
			assert!(out.stderr.contains("unexpected argument"), "{command} {flag}: {}", out.stderr);
		}
	}
}
