//! `register`: submit an enclave's registration (`EnclaveRegistry::register_enclave`) from the
//! evidence `enclave-worker register-evidence` printed, signed by the account it binds.
//!
//! The runtime verifies the quote (DCAP in the wasm, at the chain's time, under its policy),
//! checks that its report data binds the submitting account and the registered keys, that the
//! measurement is active or scheduled, and that the key set is the chain's. This command only
//! checks what it can say more clearly first: that the evidence is for the signing account.

use std::{path::PathBuf, process::ExitCode, str::FromStr};

use anyhow::{bail, Context, Result};
use clap::Args;
use codec::Encode;
use enclave_worker::{attestation::Collateral, registration::RegistrationEvidence};
use subxt::{dynamic::Value, ext::scale_value::Composite, OnlineClient, PolkadotConfig};
use subxt_signer::{sr25519::Keypair, SecretUri};

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
	/// The secret URI of the account that submits (and the evidence binds), e.g. `//Alice` on a
	/// dev chain. Prefer `--suri-file` elsewhere: a command line is visible to other users.
	#[arg(
		long,
		value_name = "SURI",
		conflicts_with = "suri_file",
		required_unless_present = "suri_file"
	)]
	suri: Option<String>,
	/// A file holding the secret URI (its first line).
	#[arg(long, value_name = "FILE")]
	suri_file: Option<PathBuf>,
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

fn signer(args: &RegisterArgs) -> Result<Keypair> {
	let text = match (&args.suri, &args.suri_file) {
		(Some(suri), _) => suri.clone(),
		(None, Some(path)) => std::fs::read_to_string(path)
			.with_context(|| format!("reading {}", path.display()))?
			.lines()
			.next()
			.unwrap_or_default()
			.to_owned(),
		(None, None) => bail!("give --suri or --suri-file"),
	};
	// The secret URI is not repeated in any error.
	let uri = SecretUri::from_str(text.trim()).map_err(|_| anyhow::anyhow!("not a secret URI"))?;
	Keypair::from_uri(&uri).map_err(|_| anyhow::anyhow!("the secret URI gives no sr25519 key"))
}

pub async fn register(args: &RegisterArgs) -> Result<ExitCode> {
	let evidence = read_evidence(&args.evidence)?;
	let signer = signer(args)?;
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
	let client = OnlineClient::<PolkadotConfig>::from_insecure_url(&args.node)
		.await
		.with_context(|| format!("connecting to {}", args.node))?;
	// Immortal: a mortal transaction's birth block may be one the node's pool has no view on
	// yet, which it refuses.
	let params = subxt::config::PolkadotExtrinsicParamsBuilder::new().immortal().build();
	let events = client
		.at_current_block()
		.await?
		.transactions()
		.sign_and_submit_then_watch(&call, &signer, params)
		.await
		.context("the node refuses the transaction")?
		.wait_for_finalized_success()
		.await
		.context("the registration failed")?;
	let names: Vec<String> = events
		.iter()
		.filter_map(|e| e.ok())
		.filter(|e| e.pallet_name() == "EnclaveRegistry")
		.map(|e| e.event_name().to_owned())
		.collect();
	let extrinsic = format!("0x{}", hex::encode(events.extrinsic_hash().as_ref()));
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
