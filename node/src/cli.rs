//! Command-line interface: the standard Substrate node flags (`sc_cli::RunCmd`: `--dev`,
//! `--chain`, `--alice`, `--validator`, ...) plus this node's genesis, finality and development
//! clock options (`--dev-clock-start`, which runs a built-in chain at another time, e.g. inside
//! the validity window of a sample quote's collateral).

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

	/// Development only: the chain time (`pallet_timestamp`, in unix seconds) at this node's
	/// start, for the built-in `dev` and `local` chains; refused for a chain spec file. The node
	/// authors and checks blocks as if its clock had been set to this time when it started, and
	/// then runs on from there: for example inside the validity window of a sample quote's
	/// collateral (Intel's samples are valid for a month of 2025).
	///
	/// The chain's clock is a consensus input, and this shifts only this node's view of it:
	/// other nodes of the chain keep theirs (the nodes of a `local` chain need the same start,
	/// given at the same moment: a block from a later slot than a node's clock is refused).
	/// Restarting a chain with the same start moves its clock back, which the runtime refuses
	/// (Aura's slots must increase), so use it on fresh chains (`--tmp`).
	#[arg(long, value_name = "UNIX_SECONDS", value_parser = parse_dev_clock_start)]
	pub dev_clock_start: Option<u64>,
}

/// The latest `--dev-clock-start`: 9999-12-31T23:59:59Z, so that the time in milliseconds
/// (what `pallet_timestamp` stores) is far from overflowing.
pub const MAX_DEV_CLOCK_START: u64 = 253_402_300_799;

/// A chain start time: unix seconds after the epoch, no later than [`MAX_DEV_CLOCK_START`].
fn parse_dev_clock_start(text: &str) -> Result<u64, String> {
	let seconds: u64 =
		text.parse().map_err(|error| format!("not a unix time in seconds: {error}"))?;
	if seconds == 0 || seconds > MAX_DEV_CLOCK_START {
		return Err(format!(
			"a chain start time must be after the unix epoch and at most {MAX_DEV_CLOCK_START} \
			 (year 9999), got {seconds}"
		));
	}
	Ok(seconds)
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
	fn the_dev_clock_start_is_a_unix_time_in_seconds() {
		let cli = Cli::try_from_iter(["node", "--dev", "--dev-clock-start", "1751624655"]).unwrap();
		assert_eq!(cli.node.dev_clock_start, Some(1_751_624_655));
		assert_eq!(Cli::try_from_iter(["node", "--dev"]).unwrap().node.dev_clock_start, None);
		let latest = MAX_DEV_CLOCK_START.to_string();
		let cli = Cli::try_from_iter(["node", "--dev-clock-start", &latest]).unwrap();
		assert_eq!(cli.node.dev_clock_start, Some(MAX_DEV_CLOCK_START));
		let too_late = (MAX_DEV_CLOCK_START + 1).to_string();
		for bad in ["0", "-1", "soon", "1751624655.5", &too_late] {
			// `=`: a value, even one that looks like a flag.
			let argument = format!("--dev-clock-start={bad}");
			let error = Cli::try_from_iter(["node", &argument]).unwrap_err();
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
