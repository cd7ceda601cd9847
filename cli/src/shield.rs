//! `shield`: a shielded call (HPKE to a worker's shielding key, bound to one chain), printed as
//! the envelope the inbox pallet's `submit` takes. The shielding key and the genesis hash come
//! from the chain itself (`--node`: the enclave registry, proof-checked at a GRANDPA-verified
//! head), or are given (`--to`, `--genesis`).

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use enclave_worker::demo::{try_seal_call, ShieldedCall};

use crate::parse_hex;

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("call").required(true).args(["put", "delete", "increment"])))]
#[command(group(clap::ArgGroup::new("recipient").required(true).args(["to", "node"])))]
pub struct ShieldArgs {
	/// Take the shielding key and the genesis hash from this node's chain: the key the
	/// registered enclaves of the chain's key set name, read with storage proofs at the
	/// GRANDPA-verified finalized head (a node can withhold it, not forge it).
	#[arg(long, value_name = "URL")]
	node: Option<String>,
	/// The shielding public key (0x-hex, 32 bytes) instead, as a source you trust shows it
	/// (e.g. `enclave-worker status` to the enclave's operator).
	#[arg(long, value_name = "HEX", requires = "genesis")]
	to: Option<String>,
	/// The chain's genesis hash (0x-hex, 32 bytes): the call opens on that chain only. With
	/// `--node`, the node must be on this chain.
	#[arg(long, value_name = "HEX")]
	genesis: Option<String>,
	/// Set KEY to VALUE (UTF-8, at most 64 and 512 bytes; VALUE may contain `=`).
	#[arg(long, value_name = "KEY=VALUE")]
	put: Option<String>,
	/// Remove KEY: its value and its counter.
	#[arg(long, value_name = "KEY")]
	delete: Option<String>,
	/// Add N to the counter KEY (KEY may contain `:`, N follows the last one).
	#[arg(long, value_name = "KEY:N")]
	increment: Option<String>,
}

fn hash32(text: &str, what: &str) -> Result<[u8; 32]> {
	let bytes = parse_hex(text, what)?;
	<[u8; 32]>::try_from(bytes.as_slice())
		.ok()
		.with_context(|| format!("{what}: need 32 bytes, got {}", bytes.len()))
}

pub async fn shield(args: &ShieldArgs) -> Result<ExitCode> {
	let genesis = args.genesis.as_deref().map(|g| hash32(g, "--genesis")).transpose()?;
	let (recipient, genesis_hash) = match (&args.to, &args.node) {
		(Some(to), _) => (hash32(to, "--to")?, genesis.context("--to needs --genesis")?),
		(None, Some(node)) => {
			let (chain, registry) = crate::registry::verified_registry(node).await?;
			if genesis.is_some_and(|g| g != chain.genesis_hash()) {
				bail!("the node at {node} is on another chain than --genesis");
			}
			let key = registry.shielding_key().with_context(|| {
				format!("no shielding key in the registry at #{}", registry.block_number)
			})?;
			(key, chain.genesis_hash())
		},
		(None, None) => bail!("give --node, or --to and --genesis"),
	};
	// clap's group guarantees exactly one of the three.
	let call = match (&args.put, &args.delete, &args.increment) {
		(Some(put), None, None) => {
			let (key, value) = put.split_once('=').context("--put: expected KEY=VALUE")?;
			ShieldedCall::Put { key: key.into(), value: value.into() }
		},
		(None, Some(key), None) => ShieldedCall::Delete { key: key.as_bytes().to_vec() },
		(None, None, Some(increment)) => {
			let (key, by) = increment.rsplit_once(':').context("--increment: expected KEY:N")?;
			let by = by.parse().with_context(|| format!("--increment: {by:?} is not a u64"))?;
			ShieldedCall::Increment { key: key.into(), by }
		},
		_ => bail!("give exactly one of --put, --delete, --increment"),
	};
	call.check_bounds().context("the worker would skip this call")?;
	let envelope = try_seal_call(&recipient, &genesis_hash, &call).context("--to")?;
	println!("0x{}", hex::encode(envelope));
	Ok(ExitCode::SUCCESS)
}
