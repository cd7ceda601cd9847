//! `commit-cut-over`: submit a predecessor's signed commitment to its final state
//! (`EnclaveRegistry::commit_cut_over`), from the file its `run` leaves in its data directory at
//! the cut-over, signed by the account of its registration.
//!
//! The runtime checks the enclave's signature against the registered signing key, that the
//! enclave's measurement was superseded right after the committed block, and the block's hash.
//! Until it is on chain, the successor waits: it takes the final snapshot only if it is the
//! committed state.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Context, Result};
use clap::Args;
use enclave_worker::registration::SignedCutOver;
use subxt::{dynamic::Value, ext::scale_value::Composite};

use crate::submit::{submit, SignerArgs};

#[derive(Args, Debug)]
pub struct CommitCutOverArgs {
	/// The node's WebSocket RPC endpoint.
	#[arg(long, value_name = "URL", default_value = "ws://127.0.0.1:9944")]
	node: String,
	/// The signed commitment: `cutover.commitment.json` in the predecessor's data directory.
	#[arg(long, value_name = "FILE")]
	commitment: PathBuf,
	/// The account of the predecessor's registration.
	#[command(flatten)]
	signer: SignerArgs,
	/// Print JSON instead of text.
	#[arg(long)]
	json: bool,
}

pub async fn commit_cut_over(args: &CommitCutOverArgs) -> Result<ExitCode> {
	let text = std::fs::read_to_string(&args.commitment)
		.with_context(|| format!("reading {}", args.commitment.display()))?;
	let signed: SignedCutOver = serde_json::from_str(&text)
		.context("--commitment: not the signed commitment an enclave writes at its cut-over")?;
	let signer = args.signer.keypair()?;
	let call = subxt::dynamic::transaction(
		"EnclaveRegistry",
		"commit_cut_over",
		Composite::named([
			("last_block", Value::u128(u128::from(signed.last_block))),
			("block_hash", Value::from_bytes(signed.block_hash)),
			("state_hash", Value::from_bytes(signed.state_hash)),
			("signature", Value::from_bytes(signed.signature)),
		]),
	);
	let (extrinsic, names) = submit(&args.node, &call, &signer, "EnclaveRegistry")
		.await
		.context("the commitment was refused")?;
	if args.json {
		let value = serde_json::json!({
			"extrinsic_hash": extrinsic,
			"measurement": signed.measurement,
			"last_block": signed.last_block,
			"state_hash": format!("0x{}", hex::encode(signed.state_hash)),
			"events": names,
		});
		println!("{}", serde_json::to_string_pretty(&value)?);
	} else {
		println!(
			"committed the state 0x{} after block #{} of {} (extrinsic {extrinsic}, finalized)",
			hex::encode(signed.state_hash),
			signed.last_block,
			signed.measurement
		);
	}
	Ok(ExitCode::SUCCESS)
}
