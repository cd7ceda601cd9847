//! The production build: the worker built WITHOUT the `dev-tee` feature, as it ships.
//!
//! Run it with `cargo test --locked --manifest-path offchain-worker/production/Cargo.toml` (the
//! README's test command does). This package lives outside the main workspace, whose builds
//! turn `dev-tee` on because the devnet and the benchmarks enable it; its `enclave-worker`
//! binary is the shipped binary's source, built against the worker without dev features.
//!
//! What it checks is what a host could try against a shipped worker: hand it simulated
//! evidence (whose signing key is public), a real Intel-signed quote of a debug enclave, or
//! pick the policy, the pallets or the simulated TEE on the command line.
#![cfg(not(feature = "dev-tee"))]

#[path = "../../tests/support/corpus.rs"]
mod corpus_support;
use corpus_support::corpus_root;

use std::process::Command;

use enclave_worker::{
	attestation::{
		sim_quote::{SignSimQuote, SimQuote},
		AttestationError, Collateral, EvidenceKind, PeerIdentity, TcbStatus, Verifier,
	},
	measured, Measurement,
};

fn worker(args: &[&str]) -> (bool, String, String) {
	let out = Command::new(env!("CARGO_BIN_EXE_enclave-worker"))
		.args(args)
		.env("RUST_LOG", "off")
		.output()
		.expect("run enclave-worker");
	(
		out.status.success(),
		String::from_utf8_lossy(&out.stdout).into_owned(),
		String::from_utf8_lossy(&out.stderr).into_owned(),
	)
}

/// A simulated quote, validly signed with the dev attestation key (which anyone can derive),
/// claiming a measurement the chain might schedule.
fn simulated_quote(report_data: [u8; 64]) -> Vec<u8> {
	SimQuote {
		measurement: Measurement::MrEnclave([0xbb; 32]),
		signer: [0; 32],
		product_id: 0,
		svn: 0,
		debug: false,
		report_data,
	}
	.sign_with_dev_key()
}

#[test]
fn simulated_evidence_is_refused_by_construction() {
	const { assert!(!measured::ACCEPTS_SIMULATED_EVIDENCE) };
	let policy = measured::policy();
	assert!(!policy.accepts_simulated());
	let verifier = Verifier::new(policy);
	let quote = simulated_quote([7; 64]);
	assert_eq!(
		verifier.verify(&quote, None, 0, Some(&[7; 64])).unwrap_err(),
		AttestationError::SimulatedQuoteRefused
	);
	assert_eq!(
		verifier.check_evidence(&quote, None, 0).unwrap_err(),
		AttestationError::SimulatedQuoteRefused
	);
	// And a simulated identity that reached the policy some other way is refused there too.
	let identity = PeerIdentity {
		kind: EvidenceKind::Simulated,
		measurement: Measurement::MrEnclave([0xbb; 32]),
		signer: None,
		product_id: None,
		svn: None,
		debug: false,
		td_attributes: None,
		service_td: None,
		tcb_status: TcbStatus::UpToDate,
		advisory_ids: Vec::new(),
		report_data: [7; 64],
		collateral_expires_at: None,
	};
	assert_eq!(
		measured::policy().evaluate(&identity, None).unwrap_err(),
		AttestationError::SimulatedQuoteRefused
	);
}

/// Real Intel-signed quotes of debug enclaves (the corpus's `"debug": true` entries, verified
/// against their own collateral at its recorded time): the shipped policy refuses each as a
/// debug enclave, not for some other reason.
#[test]
fn a_debug_enclave_is_refused() {
	let dir = corpus_root().join("corpus");
	let mut refused = 0;
	let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
	names.sort();
	for entry in names {
		let Ok(meta) = std::fs::read(entry.join("meta.json")) else { continue };
		let meta: serde_json::Value = serde_json::from_slice(&meta).unwrap();
		if meta["info"]["debug"] != true {
			continue;
		}
		let quote = std::fs::read(entry.join("quote.bin")).unwrap();
		let Some(first) = meta["collaterals"].as_array().and_then(|c| c.first()) else { continue };
		let collateral =
			Collateral::from_file(&entry.join(first["file"].as_str().unwrap())).unwrap();
		let at = first["at"].as_u64().unwrap();
		let verdict = Verifier::new(measured::policy()).verify(&quote, Some(&collateral), at, None);
		// Quotes this worker does not take at all (another encoding, a platform it does not
		// support) are refused before any policy; the rest must be refused as debug.
		match verdict {
			Err(AttestationError::DebugEnclave) => refused += 1,
			Err(
				AttestationError::NonCanonical(_)
				| AttestationError::UnsupportedQuote(_)
				| AttestationError::Malformed(_),
			) => {},
			other => panic!("{}: {other:?}", entry.display()),
		}
	}
	assert!(refused >= 2, "only {refused} debug quotes of the corpus reached the policy");
}

#[test]
fn the_host_cannot_pick_the_simulated_tee_or_the_policy() {
	for args in [
		&["init", "--data-dir", "/nonexistent", "--tee", "sim"][..],
		&["status", "--data-dir", "/nonexistent", "--tee", "sim"],
	] {
		let (ok, _, stderr) = worker(args);
		assert!(!ok);
		assert!(stderr.contains("invalid value 'sim'"), "{args:?}: {stderr}");
	}
	for command in ["run", "request-keys", "init", "register-evidence"] {
		for flag in ["--measurement", "--host-secret", "--dev", "--allow-debug", "--inbox-pallet"] {
			let (ok, _, stderr) = worker(&[command, flag, "x"]);
			assert!(!ok, "{command} {flag}");
			assert!(stderr.contains("unexpected argument"), "{command} {flag}: {stderr}");
		}
	}
	// The user's and operator's commands are not in the enclave's binary (enclave-update-cli).
	for command in ["policy", "verify-quote", "schedule", "shield", "registry", "register"] {
		let (ok, _, stderr) = worker(&[command]);
		assert!(!ok, "{command}");
		assert!(stderr.contains("unrecognized subcommand"), "{command}: {stderr}");
	}
	// What `enclave-update-cli policy` prints for this build.
	let shown = serde_json::to_value(measured::configuration()).unwrap();
	assert_eq!(shown["accepts_simulated_evidence"], false);
	assert_eq!(shown["policy"]["allow_debug"], false);
	assert!(shown["policy"].get("dev_mode").is_none(), "{shown}");
	// verify-quote's relaxations of the measured policy cannot turn simulated evidence on.
	let mut relaxed = measured::policy();
	relaxed.allow_debug = true;
	relaxed.allow_td_without_sept_ve_disable = true;
	relaxed.allow_service_td = true;
	relaxed
		.accepted_tcb_statuses
		.extend([TcbStatus::OutOfDate, TcbStatus::SWHardeningNeeded]);
	assert!(!relaxed.accepts_simulated());
	let refused = Verifier::new(relaxed).check_evidence(&simulated_quote([0; 64]), None, 0);
	assert!(matches!(refused, Err(AttestationError::SimulatedQuoteRefused)), "{refused:?}");
}

/// What the shipped binary's measurement covers from this repository: the sources cargo recorded
/// as its inputs (the dep-info file beside it) are the worker's and the primitives', and nothing
/// else: not the client's (`cli/`), whose edits therefore never change the enclave binary, nor the
/// fuzz entry points and their fixture, nor the simulated TEE.
#[test]
fn the_enclave_binary_is_built_from_the_worker_and_the_primitives_only() {
	// `cargo build` writes the binary's dep-info beside it (a test build does not); here it
	// finds the binary fresh, built with the same features, and only writes that file.
	// Without the variables cargo sets for a test (some build scripts watch them, and would
	// rebuild).
	let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
	let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
	build.args(["build", "--quiet", "--offline", "--locked", "--bin", "enclave-worker"]);
	build.arg("--manifest-path").arg(&manifest);
	for (name, _) in std::env::vars_os() {
		let name = name.to_string_lossy();
		let set_for_tests = ["CARGO_MANIFEST_", "CARGO_PKG_", "CARGO_BIN_", "CARGO_CRATE_"]
			.iter()
			.any(|prefix| name.starts_with(prefix))
			|| [
				"CARGO_PRIMARY_PACKAGE",
				"CARGO_TARGET_TMPDIR",
				"CARGO_RUSTC_CURRENT_DIR",
				"OUT_DIR",
			]
			.contains(&&*name);
		if set_for_tests {
			build.env_remove(&*name);
		}
	}
	let build = build.output().expect("run cargo build");
	assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
	let binary = std::path::Path::new(env!("CARGO_BIN_EXE_enclave-worker"));
	let dep_info = binary.with_extension("d");
	let text = std::fs::read_to_string(&dep_info)
		.unwrap_or_else(|e| panic!("cargo's dep-info {}: {e}", dep_info.display()));
	let (_, inputs) = text.split_once(": ").expect("`target: inputs`");
	let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
		.join("../..")
		.canonicalize()
		.unwrap();
	let inputs: Vec<std::path::PathBuf> = inputs
		.split_whitespace()
		.map(|input| {
			let input = std::path::Path::new(input).canonicalize().unwrap();
			input
				.strip_prefix(&root)
				.unwrap_or_else(|_| {
					panic!(
						"{} is outside the repository (dependencies count as libraries)",
						input.display()
					)
				})
				.to_path_buf()
		})
		.collect();
	assert!(inputs.contains(&"offchain-worker/src/bin/enclave-worker.rs".into()), "{inputs:?}");
	for relative in &inputs {
		assert!(
			relative.starts_with("offchain-worker/src") || relative.starts_with("primitives/src"),
			"{} is an input of the enclave binary",
			relative.display()
		);
		for excluded in ["fuzzing.rs", "tee/sim.rs", "tests/fixtures"] {
			let shown = relative.to_string_lossy();
			assert!(!shown.contains(excluded), "{shown} is an input of the enclave binary");
		}
	}
}
