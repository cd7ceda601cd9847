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
		sim_quote::SimQuote, AttestationError, Collateral, EvidenceKind, PeerIdentity, TcbStatus,
		Verifier,
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
	for command in ["run", "request-keys", "init"] {
		for flag in ["--measurement", "--host-secret", "--dev", "--allow-debug", "--inbox-pallet"] {
			let (ok, _, stderr) = worker(&[command, flag, "x"]);
			assert!(!ok, "{command} {flag}");
			assert!(stderr.contains("unexpected argument"), "{command} {flag}: {stderr}");
		}
	}
	let (ok, stdout, stderr) = worker(&["policy", "--json"]);
	assert!(ok, "{stderr}");
	let shown: serde_json::Value = serde_json::from_str(&stdout).unwrap();
	assert_eq!(shown["accepts_simulated_evidence"], false);
	assert_eq!(shown["policy"]["allow_debug"], false);
	assert!(shown["policy"].get("dev_mode").is_none(), "{stdout}");
	// verify-quote, the operator's diagnostic, cannot turn simulated evidence on either.
	let quote = std::env::temp_dir().join(format!("sim-quote-{}", std::process::id()));
	std::fs::write(&quote, simulated_quote([0; 64])).unwrap();
	let (ok, stdout, _) = worker(&["verify-quote", quote.to_str().unwrap(), "--allow-debug"]);
	std::fs::remove_file(&quote).unwrap();
	assert!(!ok);
	assert!(stdout.contains("simulated"), "{stdout}");
}
