//! `shield`: a shielded call (HPKE to a worker's shielding key, bound to one chain), printed as
//! the envelope the inbox pallet's `submit` takes.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use enclave_worker::demo::{try_seal_call, ShieldedCall};

use crate::parse_hex;

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("call").required(true).args(["put", "delete", "increment"])))]
pub struct ShieldArgs {
	/// The worker's shielding public key (0x-hex, 32 bytes), as `enclave-worker status` shows it.
	#[arg(long, value_name = "HEX")]
	to: String,
	/// The chain's genesis hash (0x-hex, 32 bytes): the call opens on that chain only.
	#[arg(long, value_name = "HEX")]
	genesis: String,
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

pub fn shield(args: &ShieldArgs) -> Result<ExitCode> {
	let hash32 = |text: &str, what: &str| -> Result<[u8; 32]> {
		let bytes = parse_hex(text, what)?;
		<[u8; 32]>::try_from(bytes.as_slice())
			.ok()
			.with_context(|| format!("{what}: need 32 bytes, got {}", bytes.len()))
	};
	let recipient = hash32(&args.to, "--to")?;
	let genesis_hash = hash32(&args.genesis, "--genesis")?;
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
