//! `register`: submit an enclave's registration (`EnclaveRegistry::register_enclave`) from the
//! evidence `enclave-worker register-evidence` printed, signed by the account it binds.
//!
//! The runtime verifies the quote (DCAP in the wasm, at the chain's time, under its policy),
//! checks that its report data binds the submitting account and the registered keys, that the
//! measurement is active or scheduled, and that the key set is the chain's. This command only
//! checks what it can say more clearly first: that the evidence is for the signing account.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{bail, Context, Result};
use clap::Args;
use codec::Encode;
use enclave_worker::{attestation::Collateral, registration::RegistrationEvidence};
use subxt::{dynamic::Value, ext::scale_value::Composite};

use crate::submit::{submit, SignerArgs};

#[derive(Args, Debug)]
pub struct RegisterArgs {
	/// The node's WebSocket RPC endpoint.
	#[arg(long, value_name = "URL", default_value = "ws://127.0.0.1:9944")]
	node: String,
	/// The JSON `enclave-worker register-evidence` printed (`-`: standard input).
	#[arg(long, value_name = "FILE")]
	evidence: PathBuf,
	/// The DCAP collateral of the quote (a collateral JSON file, as `verify-quote --collateral`
	/// takes); none for a simulated quote.
	#[arg(long, value_name = "FILE")]
	collateral: Option<PathBuf>,
	/// Where the enclave's provisioning service listens (its `run --provide-on`, e.g.
	/// `10.0.0.5:7001`), for the enclaves that request keys from it.
	#[arg(long, value_name = "ADDR")]
	url: String,
	/// The account that submits (and that the evidence binds).
	#[command(flatten)]
	signer: SignerArgs,
	/// Print JSON instead of text.
	#[arg(long)]
	json: bool,
}

fn read_evidence(path: &PathBuf) -> Result<RegistrationEvidence> {
	let text = if path.as_os_str() == "-" {
		std::io::read_to_string(std::io::stdin()).context("reading the evidence from stdin")?
	} else {
		std::fs::read_to_string(path)
			.with_context(|| format!("reading the evidence {}", path.display()))?
	};
	serde_json::from_str(&text)
		.context("--evidence: not the JSON of `enclave-worker register-evidence`")
}

pub async fn register(args: &RegisterArgs) -> Result<ExitCode> {
	let evidence = read_evidence(&args.evidence)?;
	let signer = args.signer.keypair()?;
	let account = signer.public_key().0;
	if evidence.account != account {
		bail!(
			"the evidence binds the account 0x{}, not the signer's 0x{}: run `enclave-worker \
			 register-evidence --account` with the submitting account",
			hex::encode(&evidence.account),
			hex::encode(account)
		);
	}
	let collateral = match &args.collateral {
		Some(path) => Collateral::from_file(path)
			.with_context(|| format!("--collateral {}", path.display()))?
			.as_dcap()
			.encode(),
		None => Vec::new(),
	};
	let call = subxt::dynamic::transaction(
		"EnclaveRegistry",
		"register_enclave",
		Composite::named([
			("evidence", Value::from_bytes(&evidence.evidence)),
			("collateral", Value::from_bytes(&collateral)),
			("url", Value::from_bytes(args.url.as_bytes())),
			("signing_key", Value::from_bytes(evidence.signing_key)),
			("shielding_key", Value::from_bytes(evidence.shielding_key)),
			("key_set_checksum", Value::from_bytes(evidence.key_set_checksum)),
		]),
	);
	let (extrinsic, names) = submit(&args.node, &call, &signer, "EnclaveRegistry")
		.await
		.context("the registration failed")?;
	if args.json {
		let value = serde_json::json!({
			"extrinsic_hash": extrinsic,
			"account": format!("0x{}", hex::encode(account)),
			"measurement": evidence.measurement,
			"signing_key": format!("0x{}", hex::encode(evidence.signing_key)),
			"events": names,
		});
		println!("{}", serde_json::to_string_pretty(&value)?);
	} else {
		println!(
			"registered {} from 0x{} (extrinsic {extrinsic}, finalized): {}",
			evidence.measurement,
			hex::encode(account),
			names.join(", ")
		);
	}
	Ok(ExitCode::SUCCESS)
}
