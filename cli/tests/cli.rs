//! The `enclave-update-cli` binary, run as a process: the commands outside the enclave.

use std::{path::Path, process::Command};

struct Output {
	ok: bool,
	stdout: String,
	stderr: String,
}

fn cli(args: &[&str]) -> Output {
	let out = Command::new(env!("CARGO_BIN_EXE_enclave-update-cli"))
		.args(args)
		.env("RUST_LOG", "warn")
		.output()
		.expect("run enclave-update-cli");
	Output {
		ok: out.status.success(),
		stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
		stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
	}
}

/// The worker's real quote fixtures (Intel-signed, with their collateral).
fn fixture(name: &str) -> String {
	Path::new(env!("CARGO_MANIFEST_DIR"))
		.join("../offchain-worker/tests/fixtures")
		.join(name)
		.display()
		.to_string()
}

#[test]
fn verify_quote_on_real_fixtures() {
	let tdx = cli(&[
		"verify-quote",
		&fixture("tdx_quote"),
		"--collateral",
		&fixture("tdx_quote_collateral.json"),
		"--at",
		"1751624655",
	]);
	assert!(tdx.ok, "{}{}", tdx.stdout, tdx.stderr);
	assert!(tdx.stdout.contains("ACCEPTED") && tdx.stdout.contains("UpToDate"), "{}", tdx.stdout);

	let sgx_args = [
		"verify-quote",
		&fixture("sgx_quote"),
		"--collateral",
		&fixture("sgx_quote_collateral.json"),
		"--at",
		"1751624924",
	];
	let refused = cli(&sgx_args);
	assert!(!refused.ok);
	assert!(refused.stdout.contains("REFUSED"), "{}", refused.stdout);
	assert!(refused.stdout.contains("ConfigurationAndSWHardeningNeeded"), "{}", refused.stdout);

	let mut allowed = sgx_args.to_vec();
	allowed.extend(["--allow-status", "ConfigurationAndSWHardeningNeeded", "--json"]);
	let accepted = cli(&allowed);
	assert!(accepted.ok, "{}", accepted.stdout);
	let json: serde_json::Value = serde_json::from_str(&accepted.stdout).unwrap();
	assert_eq!(json["accepted"], true);
	assert_eq!(json["identity"]["kind"], "sgx");

	let expired = cli(&[
		"verify-quote",
		&fixture("tdx_quote"),
		"--collateral",
		&fixture("tdx_quote_collateral.json"),
		"--at",
		"1800000000",
	]);
	assert!(!expired.ok);
	assert!(expired.stdout.contains("expired"), "{}", expired.stdout);
}

#[test]
fn verify_quote_names_the_td_attribute_it_refuses_and_accepts_it_when_allowed() {
	// Azure's TDX CVM quote of the DCAP corpus (beside the checkout; its absence fails).
	let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
		.join("../../shared/dcap-corpus/corpus/56-tdx-v4-h4x3rotab-tdx-v4-azure-aada49");
	assert!(dir.is_dir(), "the DCAP corpus is missing: {}", dir.display());
	let quote = dir.join("quote.bin").display().to_string();
	let collateral = dir.join("collateral-1.json").display().to_string();
	let args = ["verify-quote", &quote, "--collateral", &collateral, "--at", "1719828495"];
	let refused = cli(&args);
	assert!(!refused.ok, "{}", refused.stdout);
	assert!(refused.stdout.contains("REFUSED: TD attribute SEPT_VE_DISABLE"), "{}", refused.stdout);
	assert!(refused.stdout.contains("SEPT_VE_DISABLE false"), "{}", refused.stdout);
	let mut allowing = args.to_vec();
	allowing.push("--allow-td-without-sept-ve-disable");
	let accepted = cli(&allowing);
	assert!(accepted.ok, "{}{}", accepted.stdout, accepted.stderr);
	assert!(accepted.stdout.contains("ACCEPTED"), "{}", accepted.stdout);
}

#[test]
fn pccs_url_is_a_collateral_flag() {
	let tmp = tempfile::tempdir().unwrap();
	let cache = tmp.path().join("collateral").display().to_string();
	// Connection refused on loopback: no network, and nothing is cached.
	let pccs = "http://127.0.0.1:9/sgx/certification/v4/";
	let fixture_tdx = fixture("tdx_quote");
	let verify = |extra: &[&str]| {
		let mut args = vec!["verify-quote", &fixture_tdx, "--at", "1751624655"];
		args.extend_from_slice(extra);
		cli(&args)
	};

	let without_cache = verify(&["--pccs-url", pccs]);
	assert!(!without_cache.ok);
	assert!(without_cache.stderr.contains("--collateral-dir"), "{}", without_cache.stderr);

	let out = verify(&["--collateral-dir", &cache, "--pccs-url", pccs]);
	assert!(!out.ok, "{}", out.stdout);
	assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
	// The worker library's `pccs` feature decides (this crate's turns it on; a build of the
	// workspace may unify it on from elsewhere).
	if out.stderr.contains("PCCS fetch") {
		assert!(!out.stderr.contains("--pccs-url needs"), "{}", out.stderr);
	} else {
		assert!(out.stderr.contains("--pccs-url needs"), "{}", out.stderr);
		assert!(out.stderr.contains("--features pccs"), "{}", out.stderr);
	}
}

#[test]
fn help_explains_every_subcommand() {
	let help = cli(&["--help"]);
	assert!(help.ok);
	for word in ["shield", "schedule", "verify-quote", "policy", "registry", "register"] {
		assert!(help.stdout.contains(word), "{word}: {}", help.stdout);
	}
	let register_help = cli(&["register", "--help"]);
	for flag in ["--evidence", "--collateral", "--url", "--suri", "--suri-file", "--node"] {
		assert!(register_help.stdout.contains(flag), "{flag}: {}", register_help.stdout);
	}
	let verify_help = cli(&["verify-quote", "--help"]);
	for flag in [
		"--collateral",
		"--collateral-dir",
		"--pccs-url",
		"--at",
		"--allow-status",
		"--reject-advisory",
	] {
		assert!(verify_help.stdout.contains(flag), "{flag}: {}", verify_help.stdout);
	}
}

/// `policy` prints the measured configuration the worker's library compiles into the enclave:
/// the same value, whatever the build's features (the production package checks the shipped
/// build's).
#[test]
fn policy_prints_the_measured_configuration() {
	let policy = cli(&["policy", "--json"]);
	assert!(policy.ok, "{}", policy.stderr);
	let shown: serde_json::Value = serde_json::from_str(&policy.stdout).unwrap();
	assert_eq!(shown, serde_json::to_value(enclave_worker::measured::configuration()).unwrap());
	assert_eq!(shown["policy"]["allow_debug"], false);
	assert_eq!(shown["policy"]["accepted_tcb_statuses"], serde_json::json!(["UpToDate"]));
	assert_eq!(shown["pallets"]["inbox"], "ShieldedInbox");
	let text = cli(&["policy"]);
	assert!(text.ok, "{}", text.stderr);
	assert!(text.stdout.contains("debug enclaves:         refused"), "{}", text.stdout);
}

#[test]
fn shield_encrypts_calls_the_worker_opens() {
	use enclave_worker::{
		demo::{open_call, ShieldedCall},
		keys::ShieldingKey,
	};
	let key = ShieldingKey::generate();
	let to = format!("0x{}", hex::encode(key.public_key()));
	let genesis = [0x42u8; 32];
	let genesis_hex = hex::encode(genesis);
	let shield = |call: &[&str]| {
		let mut args = vec!["shield", "--to", &to, "--genesis", &genesis_hex];
		args.extend_from_slice(call);
		cli(&args)
	};
	let open = |out: &Output| {
		assert!(out.ok, "{}", out.stderr);
		let text = out.stdout.trim();
		let bytes = hex::decode(text.strip_prefix("0x").expect("0x-hex")).unwrap();
		open_call(&key, &genesis, &bytes).unwrap()
	};

	let put = shield(&["--put", "name=s3cr3t=value"]);
	assert!(!put.stdout.contains("s3cr3t"), "{}", put.stdout);
	assert_eq!(
		open(&put),
		ShieldedCall::Put { key: b"name".to_vec(), value: b"s3cr3t=value".to_vec() }
	);
	assert_eq!(
		open(&shield(&["--increment", "a:b:5"])),
		ShieldedCall::Increment { key: b"a:b".to_vec(), by: 5 }
	);
	assert_eq!(
		open(&shield(&["--delete", "name"])),
		ShieldedCall::Delete { key: b"name".to_vec() }
	);
	// Sealed for this chain only.
	let bytes = hex::decode(&shield(&["--delete", "k"]).stdout.trim()[2..]).unwrap();
	assert!(open_call(&key, &[0x43; 32], &bytes).is_err());

	let long_key = format!("{}=v", "k".repeat(65));
	for (call, message) in [
		(vec![], "required"),
		(vec!["--put", "a=1", "--delete", "a"], "cannot be used with"),
		(vec!["--put", "no-equals-sign"], "KEY=VALUE"),
		(vec!["--increment", "n:lots"], "not a u64"),
		(vec!["--increment", "n"], "KEY:N"),
		(vec!["--put", long_key.as_str()], "size bounds"),
	] {
		let out = shield(&call);
		assert!(!out.ok, "{call:?}: {}", out.stdout);
		assert!(out.stderr.contains(message), "{call:?}: {}", out.stderr);
		assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
	}
	for (to, genesis, message) in [
		("0xzz", genesis_hex.as_str(), "--to: bad hex"),
		(to.as_str(), "0x1234", "--genesis: need 32 bytes, got 2"),
		(&format!("0x{}", "00".repeat(32)), genesis_hex.as_str(), "low-order"),
	] {
		let out = cli(&["shield", "--to", to, "--genesis", genesis, "--delete", "k"]);
		assert!(!out.ok);
		assert!(out.stderr.contains(message), "{message}: {}", out.stderr);
	}
	// `--to` needs the chain it is for; `--node` and `--to` exclude each other.
	let out = cli(&["shield", "--to", &to, "--delete", "k"]);
	assert!(!out.ok && out.stderr.contains("--genesis"), "{}", out.stderr);
	let out = cli(&["shield", "--to", &to, "--node", "ws://127.0.0.1:1", "--delete", "k"]);
	assert!(!out.ok && out.stderr.contains("cannot be used with"), "{}", out.stderr);
	let help = cli(&["shield", "--help"]);
	for flag in ["--node", "--to", "--genesis", "--put", "--delete", "--increment", "status"] {
		assert!(help.stdout.contains(flag), "{flag}: {}", help.stdout);
	}
}

/// `register` refuses, before it contacts any node, evidence that is not the worker's JSON and
/// evidence bound to another account than the signer's; it never repeats the secret URI.
#[test]
fn register_checks_the_evidence_before_submitting() {
	use enclave_worker::{registration::RegistrationEvidence, tee::TeeKind, Measurement};
	let dir = tempfile::tempdir().unwrap();
	let garbage = dir.path().join("garbage.json");
	std::fs::write(&garbage, "{\"not\": \"evidence\"}").unwrap();
	// Bob's account, while //Alice signs.
	let bob =
		hex::decode("8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48").unwrap();
	let evidence = RegistrationEvidence {
		tee: TeeKind::Sim,
		measurement: Measurement::MrEnclave([0xaa; 32]),
		account: bob,
		signing_key: [1; 32],
		shielding_key: [2; 32],
		key_set_checksum: [3; 32],
		evidence: vec![4; 8],
	};
	let for_bob = dir.path().join("bob.json");
	std::fs::write(&for_bob, serde_json::to_string(&evidence).unwrap()).unwrap();
	let register = |file: &std::path::Path, suri: &str| {
		let file = file.display().to_string();
		// Port 1 on loopback: a node is never reached.
		let args = ["register", "--node", "ws://127.0.0.1:1", "--evidence", &file, "--url", "x"];
		let mut args = args.to_vec();
		args.extend(["--suri", suri]);
		cli(&args)
	};
	let out = register(&garbage, "//Alice");
	assert!(!out.ok);
	assert!(out.stderr.contains("register-evidence"), "{}", out.stderr);
	let out = register(&for_bob, "//Alice");
	assert!(!out.ok);
	assert!(out.stderr.contains("not the signer's"), "{}", out.stderr);
	let out = register(&for_bob, "not a //secret uri with spaces");
	assert!(!out.ok);
	assert!(!out.stderr.contains("secret uri with spaces"), "{}", out.stderr);
	assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}
