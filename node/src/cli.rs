//! Command-line interface: the standard Substrate node flags (`sc_cli::RunCmd`) plus this node's
//! genesis and sealing options.

use enclave_update_primitives::Measurement;
use enclave_update_runtime::genesis_config_presets::DEV_GENESIS_ENCLAVE;
use std::time::Duration;

/// Block time of interval sealing with `--dev` unless `--block-time-ms` says otherwise: the one
/// the runtime's `MinimumPeriod` is made for.
pub const DEV_BLOCK_TIME_MS: u64 = enclave_update_runtime::DEV_MILLI_SECS_PER_BLOCK;
/// Block time of interval sealing without `--dev` unless `--block-time-ms` says otherwise: the
/// runtime's nominal block time.
pub const DEFAULT_BLOCK_TIME_MS: u64 = enclave_update_runtime::MILLI_SECS_PER_BLOCK;

/// The node's command line.
#[derive(Debug, clap::Parser)]
pub struct Cli {
	/// A subcommand; without one the node runs.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// The standard node options (`--dev`, `--base-path`, `--tmp`, `--rpc-port`, ...).
	#[command(flatten)]
	pub run: sc_cli::RunCmd,

	/// This node's own options.
	#[command(flatten)]
	pub node: NodeParams,
}

/// Options of the enclave-update node beyond the standard ones.
#[derive(Debug, Clone, clap::Args)]
pub struct NodeParams {
	/// The enclave measurement (hex: 32 bytes for an SGX MRENCLAVE, 48 for a TDX MRTD) active at
	/// genesis of the built-in `dev` and `local` chains. Ignored for a chain spec file, whose
	/// genesis is already fixed.
	#[arg(long, value_name = "HEX", global = true, default_value_t = DEV_GENESIS_ENCLAVE)]
	pub genesis_enclave: Measurement,

	/// Seal a block every this many milliseconds (and finalize it); `0` turns interval sealing
	/// off. Default: 1000 with `--dev`, 6000 otherwise.
	#[arg(long, value_name = "MS")]
	pub block_time_ms: Option<u64>,

	/// Also seal a block as soon as a transaction enters the pool. Default: on with `--dev`,
	/// off otherwise.
	#[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
	pub instant_seal: Option<bool>,
}

/// When the node seals blocks. Every sealed block is finalized at once; `engine_createBlock`
/// (the manual-seal RPC) can seal more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sealing {
	/// Seal on every transaction that enters the pool.
	pub on_transaction: bool,
	/// Seal at this interval.
	pub interval: Option<Duration>,
}

impl NodeParams {
	/// The sealing the options ask for, with the defaults of a `--dev` node or of another one.
	pub fn sealing(&self, dev: bool) -> Sealing {
		let default_ms = if dev { DEV_BLOCK_TIME_MS } else { DEFAULT_BLOCK_TIME_MS };
		let interval_ms = self.block_time_ms.unwrap_or(default_ms);
		Sealing {
			on_transaction: self.instant_seal.unwrap_or(dev),
			interval: (interval_ms > 0).then(|| Duration::from_millis(interval_ms)),
		}
	}
}

/// The node's subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Subcommand {
	/// Key management utilities.
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Build a chain specification (with `--raw`, the genesis storage itself).
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Export a chain specification.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),
}

#[cfg(test)]
mod tests {
	use super::*;
	use sc_cli::SubstrateCli;

	#[test]
	fn dev_defaults_seal_on_transactions_every_second() {
		let cli = Cli::try_from_iter(["node", "--dev"]).unwrap();
		let sealing = cli.node.sealing(cli.run.shared_params.is_dev());
		assert_eq!(
			sealing,
			Sealing { on_transaction: true, interval: Some(Duration::from_millis(1000)) }
		);
		assert_eq!(cli.node.genesis_enclave, DEV_GENESIS_ENCLAVE);
	}

	#[test]
	fn sealing_flags_override_the_defaults() {
		let cli = Cli::try_from_iter([
			"node",
			"--dev",
			"--block-time-ms",
			"0",
			"--instant-seal",
			"false",
		])
		.unwrap();
		assert_eq!(cli.node.sealing(true), Sealing { on_transaction: false, interval: None });
		let cli = Cli::try_from_iter(["node"]).unwrap();
		assert_eq!(
			cli.node.sealing(false),
			Sealing { on_transaction: false, interval: Some(Duration::from_millis(6000)) }
		);
	}

	#[test]
	fn a_bad_measurement_is_a_parse_error() {
		let error = Cli::try_from_iter(["node", "--genesis-enclave", "0xzz"]).unwrap_err();
		assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
		assert!(error.to_string().contains("measurement is not hex"), "{error}");
		let error = Cli::try_from_iter(["node", "--genesis-enclave", "0x0102"]).unwrap_err();
		assert!(error.to_string().contains("measurement has 2 bytes"), "{error}");
	}

	#[test]
	fn the_genesis_enclave_is_accepted_after_a_subcommand() {
		let hex = format!("0x{}", "bb".repeat(48));
		let cli =
			Cli::try_from_iter(["node", "build-spec", "--dev", "--genesis-enclave", &hex]).unwrap();
		assert_eq!(cli.node.genesis_enclave, Measurement::MrTd([0xbb; 48]));
	}
}
