//! What the commands that submit a transaction share (`register`, `commit-cut-over`): the
//! signing account, and submission to the node, waiting for finality.

use std::{path::PathBuf, str::FromStr};

use anyhow::{bail, Context, Result};
use clap::Args;
use subxt::{
	ext::scale_value::Composite, transactions::DynamicPayload, OnlineClient, PolkadotConfig,
};
use subxt_signer::{sr25519::Keypair, SecretUri};

/// The account that signs, as a secret URI.
#[derive(Args, Debug)]
pub struct SignerArgs {
	/// The secret URI of the submitting account, e.g. `//Alice` on a dev chain. Prefer
	/// `--suri-file` elsewhere: a command line is visible to other users of the machine.
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
}

impl SignerArgs {
	/// The sr25519 key pair. Errors never repeat the secret URI.
	pub fn keypair(&self) -> Result<Keypair> {
		let text = match (&self.suri, &self.suri_file) {
			(Some(suri), _) => suri.clone(),
			(None, Some(path)) => std::fs::read_to_string(path)
				.with_context(|| format!("reading {}", path.display()))?
				.lines()
				.next()
				.unwrap_or_default()
				.to_owned(),
			(None, None) => bail!("give --suri or --suri-file"),
		};
		let uri =
			SecretUri::from_str(text.trim()).map_err(|_| anyhow::anyhow!("not a secret URI"))?;
		Keypair::from_uri(&uri).map_err(|_| anyhow::anyhow!("the secret URI gives no sr25519 key"))
	}
}

/// Signs `call` with `signer`, submits it to `node` and waits until it is in a finalized block
/// and succeeded: the extrinsic's hash (0x-hex) and the names of its events from `pallet`.
pub async fn submit(
	node: &str,
	call: &DynamicPayload<Composite<()>>,
	signer: &Keypair,
	pallet: &str,
) -> Result<(String, Vec<String>)> {
	let client = OnlineClient::<PolkadotConfig>::from_insecure_url(node)
		.await
		.with_context(|| format!("connecting to {node}"))?;
	// Immortal: a mortal transaction's birth block may be one the node's pool has no view on
	// yet, which it refuses.
	let params = subxt::config::PolkadotExtrinsicParamsBuilder::new().immortal().build();
	let events = client
		.at_current_block()
		.await?
		.transactions()
		.sign_and_submit_then_watch(call, signer, params)
		.await
		.context("the node refuses the transaction")?
		.wait_for_finalized_success()
		.await
		.context("the transaction failed")?;
	let names = events
		.iter()
		.filter_map(|e| e.ok())
		.filter(|e| e.pallet_name() == pallet)
		.map(|e| e.event_name().to_owned())
		.collect();
	Ok((format!("0x{}", hex::encode(events.extrinsic_hash().as_ref())), names))
}
