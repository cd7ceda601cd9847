//! `registry`: the chain's enclave registry at the node's finalized head (GRANDPA-verified),
//! every record read with a storage proof: the key set, the shielding key users encrypt to, and
//! each registered enclave.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use enclave_worker::chain::{registry::VerifiedRegistry, rpc::RpcChain};

#[derive(Args, Debug)]
pub struct RegistryArgs {
	/// The node's WebSocket RPC endpoint.
	#[arg(long, value_name = "URL", default_value = "ws://127.0.0.1:9944")]
	node: String,
	/// Print JSON instead of text.
	#[arg(long)]
	json: bool,
}

/// The registry at the node's finalized head, every value proof-checked.
pub async fn verified_registry(node: &str) -> Result<(RpcChain, VerifiedRegistry)> {
	let chain = RpcChain::connect(node, None, None)
		.await
		.with_context(|| format!("connecting to {node}"))?;
	let registry = chain.verified_registry().await.context("reading the enclave registry")?;
	Ok((chain, registry))
}

pub async fn registry(args: &RegistryArgs) -> Result<ExitCode> {
	let (chain, registry) = verified_registry(&args.node).await?;
	let hex = |bytes: &[u8]| format!("0x{}", hex::encode(bytes));
	let shielding_key = registry.shielding_key();
	if args.json {
		let enclaves: Vec<_> = registry
			.enclaves
			.iter()
			.map(|(account, r)| {
				serde_json::json!({
					"account": hex(account),
					"kind": format!("{:?}", r.kind),
					"measurement": r.measurement,
					"url": String::from_utf8_lossy(&r.url),
					"signing_key": hex(&r.signing_key),
					"shielding_key": hex(&r.shielding_key),
					"key_set_checksum": hex(&r.key_set_checksum),
					"registered_at": r.registered_at,
					"attested_at": r.attested_at,
					"tcb_status": format!("{:?}", r.tcb_status),
					"evidence_hash": hex(&r.evidence_hash),
				})
			})
			.collect();
		let value = serde_json::json!({
			"genesis_hash": hex(&chain.genesis_hash()),
			"block_number": registry.block_number,
			"block_hash": hex(&registry.block_hash),
			"key_set": registry.key_set.map(|k| hex(&k)),
			"shielding_key": shielding_key.as_ref().ok().map(|k| hex(k)),
			"enclaves": enclaves,
		});
		println!("{}", serde_json::to_string_pretty(&value)?);
	} else {
		println!("verified block: #{} {}", registry.block_number, hex(&registry.block_hash));
		println!("key set:        {}", registry.key_set.map_or("-".into(), |k| hex(&k)));
		match &shielding_key {
			Ok(key) => println!("shielding key:  {}", hex(key)),
			Err(e) => println!("shielding key:  - ({e})"),
		}
		for (account, r) in &registry.enclaves {
			println!(
				"enclave:        {} from {} at {} ({:?}, {:?}, attested #{}, registered #{})",
				r.measurement,
				hex(account),
				String::from_utf8_lossy(&r.url),
				r.kind,
				r.tcb_status,
				r.attested_at,
				r.registered_at
			);
		}
	}
	Ok(ExitCode::SUCCESS)
}
