//! Command-line interface: the standard Substrate node flags (`sc_cli::RunCmd`: `--dev`,
//! `--chain`, `--alice`, `--validator`, ...) plus this node's genesis and finality options.

use enclave_update_primitives::Measurement;
use enclave_update_runtime::genesis_config_presets::DEV_GENESIS_ENCLAVE;

/// Blocks between two justifications GRANDPA stores unasked, unless `--justification-period`
/// says otherwise (polkadot-sdk's templates use the same).
pub const DEFAULT_JUSTIFICATION_PERIOD: u32 = 512;

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
	/// The enclave measurement (hex: 32 bytes for an SGX MRENCLAVE, 48 for a TDX identity digest)
	/// active at genesis of the built-in `dev` and `local` chains. Ignored for a chain spec file,
	/// whose genesis is already fixed.
	#[arg(long, value_name = "HEX", global = true, default_value_t = DEV_GENESIS_ENCLAVE)]
	pub genesis_enclave: Measurement,

	/// The slot duration (block time) of the built-in `dev` and `local` chains, in milliseconds:
	/// even, at least 100. Default: the runtime's development presets' (1000). Ignored for a chain
	/// spec file, whose genesis is already fixed.
	#[arg(long, value_name = "MS", global = true, value_parser = parse_slot_duration)]
	pub slot_duration_ms: Option<u64>,

	/// Start the built-in `dev` or `local` chain on this runtime wasm blob instead of the one
	/// built into the node: for example a chain's previous release, to rehearse a runtime
	/// upgrade to the node's own. Ignored for a chain spec file, which has its `:code`.
	#[arg(long, value_name = "FILE", global = true)]
	pub genesis_runtime: Option<std::path::PathBuf>,

	/// Store a GRANDPA justification for a finalized block in every this many (blocks that change
	/// the authority set always get one); `chain_getBlock` returns it with the block. A light
	/// client proves a finalized block with the next stored justification and the headers up to
	/// it, so a smaller period gives shorter proofs at the cost of storage.
	#[arg(
		long,
		value_name = "BLOCKS",
		global = true,
		default_value_t = DEFAULT_JUSTIFICATION_PERIOD,
		value_parser = clap::value_parser!(u32).range(1..),
	)]
	pub justification_period: u32,
}

/// A slot duration the runtime's `BlockTime` genesis accepts: even, and at least its minimum.
fn parse_slot_duration(text: &str) -> Result<u64, String> {
	let minimum = enclave_update_runtime::block_time::MIN_SLOT_DURATION_MS;
	let ms: u64 = text.parse().map_err(|error| format!("not a number of milliseconds: {error}"))?;
	if ms < minimum || ms % 2 != 0 {
		return Err(format!("a slot duration must be even and at least {minimum} ms, got {ms}"));
	}
	Ok(ms)
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
	fn dev_defaults() {
		let cli = Cli::try_from_iter(["node", "--dev"]).unwrap();
		assert!(cli.run.shared_params.is_dev());
		assert_eq!(cli.node.genesis_enclave, DEV_GENESIS_ENCLAVE);
		assert_eq!(cli.node.justification_period, DEFAULT_JUSTIFICATION_PERIOD);
	}

	#[test]
	fn the_justification_period_is_a_positive_number_of_blocks() {
		let cli = Cli::try_from_iter(["node", "--dev", "--justification-period", "1"]).unwrap();
		assert_eq!(cli.node.justification_period, 1);
		let error = Cli::try_from_iter(["node", "--justification-period", "0"]).unwrap_err();
		assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
	}

	#[test]
	fn a_slot_duration_the_runtime_refuses_is_a_parse_error() {
		let cli = Cli::try_from_iter(["node", "--dev", "--slot-duration-ms", "500"]).unwrap();
		assert_eq!(cli.node.slot_duration_ms, Some(500));
		for bad in ["501", "98", "fast"] {
			let error = Cli::try_from_iter(["node", "--slot-duration-ms", bad]).unwrap_err();
			assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
		}
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
		assert_eq!(cli.node.genesis_enclave, Measurement::TdIdentity([0xbb; 48]));
	}
}
