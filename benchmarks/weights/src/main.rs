//! `enclave-update-weights`: runs one pallet's frame-benchmarking benchmarks on the development
//! runtime, natively, and writes the pallet's `weights.rs` (`pallet_enclave_update` or
//! `pallet_shielded_inbox`: every pallet in the runtime's `define_benchmarks!`).
//!
//! polkadot-sdk's `frame-omni-bencher` executes a wasm runtime; the machines of this project
//! have no wasm32 target, so this tool calls the runtime's `Benchmark` API through the native
//! dispatcher that `impl_runtime_apis!` generates, inside externalities that count database
//! reads and writes ([`tracking`]). The regression (`min_squares_iqr`) is frame-benchmarking's
//! own. Runtime users regenerate the weights on their reference hardware with their own runtime
//! and `frame-omni-bencher`.
//!
//! ```text
//! cargo run --release -p enclave-update-weights -- --output pallets/enclave-update/src/weights.rs
//! cargo run --release -p enclave-update-weights -- --pallet pallet_shielded_inbox \
//!     --output pallets/shielded-inbox/src/weights.rs
//! ```

mod template;
mod tracking;

use anyhow::{anyhow, bail, Context};
use clap::Parser;
use codec::{Decode, Encode};
use enclave_update_runtime::{apis::api::dispatch, RuntimeGenesisConfig};
use frame_benchmarking::{
	Analysis, BenchmarkBatch, BenchmarkConfig, BenchmarkList, BenchmarkParameter, BenchmarkResult,
	BenchmarkSelector,
};
use frame_support::traits::StorageInfo;
use sp_runtime::BuildStorage;
use std::{
	collections::{BTreeMap, BTreeSet},
	path::PathBuf,
};

/// PoV bytes per additional trie layer on the path to a top-level key (as frame-benchmarking-cli
/// counts them: 15 sibling hashes of 33 bytes).
const BYTES_PER_TRIE_LAYER: u32 = 15 * 33;

/// Runs the pallet's benchmarks natively and writes `weights.rs`.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
	/// Values measured per component, spread evenly between its lowest and highest value.
	#[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(2..))]
	steps: u32,
	/// Measurements of each component selection (the runtime's internal repeats).
	#[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
	repeat: u32,
	/// Trie layers assumed above each storage value when estimating the proof size.
	#[arg(long, default_value_t = 2)]
	additional_trie_layers: u32,
	/// The pallet to benchmark, as the runtime's `define_benchmarks!` names it.
	#[arg(long, default_value = "pallet_enclave_update")]
	pallet: String,
	/// Where to write the weights; prints them when omitted.
	#[arg(long)]
	output: Option<PathBuf>,
}

/// The fitted weight of one benchmark.
pub struct BenchmarkWeight {
	/// The benchmark (and weight function) name.
	pub name: String,
	/// Component names and their ranges, in the order of the weight function's parameters.
	pub components: Vec<(String, u32, u32)>,
	/// The fastest single measurement, in picoseconds.
	pub minimum_ref_time: u128,
	/// Base execution time in picoseconds.
	pub base_ref_time: u128,
	/// Execution time per unit of each component, in picoseconds.
	pub ref_time_slopes: Vec<u128>,
	/// Database reads, base and per component.
	pub base_reads: u128,
	/// Reads per unit of each component.
	pub read_slopes: Vec<u128>,
	/// Database writes, base.
	pub base_writes: u128,
	/// Writes per unit of each component.
	pub write_slopes: Vec<u128>,
	/// Worst-case proof size in bytes (MaxEncodedLen of every value read, plus trie layers).
	pub proof_size: u64,
	/// The storage items read or written, for the doc comment.
	pub storage: Vec<String>,
}

fn main() -> anyhow::Result<()> {
	let cli = Cli::parse();
	let storage = RuntimeGenesisConfig::default().build_storage().map_err(|e| anyhow!(e))?;
	let mut ext = sp_io::TestExternalities::new(storage);
	let mut backend = ext.ext();
	let mut tracking = tracking::TrackingExt::new(&mut backend);
	let weights = sp_externalities::set_and_run_with_externalities(&mut tracking, || run(&cli))?;

	let rendered = template::render(&cli.pallet, &weights, &cli_summary(&cli), &command(&cli));
	match &cli.output {
		Some(path) => {
			std::fs::write(path, rendered)
				.with_context(|| format!("writing {}", path.display()))?;
			eprintln!("wrote {}", path.display());
		},
		None => print!("{rendered}"),
	}
	Ok(())
}

/// The command that regenerates the file, every option spelled out: the header names the pallet
/// and settings even when they were left at their defaults, and does not depend on where the
/// build's target directory is.
fn command(cli: &Cli) -> String {
	let mut command = format!(
		"{} --pallet {} --steps {} --repeat {} --additional-trie-layers {}",
		env!("CARGO_BIN_NAME"),
		cli.pallet,
		cli.steps,
		cli.repeat,
		cli.additional_trie_layers
	);
	if let Some(output) = &cli.output {
		command.push_str(&format!(" --output {}", output.display()));
	}
	command
}

fn cli_summary(cli: &Cli) -> String {
	format!(
		"steps {}, repeat {}, additional trie layers {}",
		cli.steps, cli.repeat, cli.additional_trie_layers
	)
}

/// Calls a runtime API function through the native dispatcher.
fn call<R: Decode>(method: &str, args: impl Encode) -> anyhow::Result<R> {
	let encoded =
		dispatch(method, &args.encode()).ok_or_else(|| anyhow!("the runtime has no {method}"))?;
	R::decode(&mut &encoded[..]).with_context(|| format!("decoding the answer of {method}"))
}

fn run_benchmark(config: BenchmarkConfig) -> anyhow::Result<Vec<BenchmarkResult>> {
	let name = String::from_utf8_lossy(&config.benchmark).into_owned();
	let batches: Result<Vec<BenchmarkBatch>, String> =
		call("Benchmark_dispatch_benchmark", config)?;
	let batches = batches.map_err(|e| anyhow!("benchmark {name} failed: {e}"))?;
	Ok(batches.into_iter().flat_map(|b| b.results).collect())
}

/// The component selections to measure: each component stepped from low to high while the
/// others stay at their highest value, as frame-benchmarking-cli does.
fn selections(
	components: &[(BenchmarkParameter, u32, u32)],
	steps: u32,
) -> Vec<Vec<(BenchmarkParameter, u32)>> {
	let highest: Vec<_> = components.iter().map(|(p, _, high)| (*p, *high)).collect();
	if components.is_empty() {
		return vec![highest];
	}
	let mut seen = BTreeSet::new();
	let mut out = Vec::new();
	for (index, (_, low, high)) in components.iter().enumerate() {
		for step in 0..steps {
			let value = low + (high - low) * step / (steps - 1);
			let mut selection = highest.clone();
			selection[index].1 = value;
			let key: Vec<u32> = selection.iter().map(|(_, v)| *v).collect();
			if seen.insert(key) {
				out.push(selection);
			}
		}
	}
	out
}

fn run(cli: &Cli) -> anyhow::Result<Vec<BenchmarkWeight>> {
	let (lists, storage_info): (Vec<BenchmarkList>, Vec<StorageInfo>) =
		call("Benchmark_benchmark_metadata", false)?;
	let pallet = &cli.pallet;
	let list = lists.iter().find(|l| l.pallet == pallet.as_bytes()).ok_or_else(|| {
		let known: Vec<_> = lists.iter().map(|l| String::from_utf8_lossy(&l.pallet)).collect();
		anyhow!("the runtime does not benchmark {pallet}; it benchmarks {}", known.join(", "))
	})?;

	let mut weights = Vec::new();
	for benchmark in &list.benchmarks {
		let name = String::from_utf8(benchmark.name.clone())?;
		let config = |selected_components, verify, internal_repeats| BenchmarkConfig {
			pallet: list.pallet.clone(),
			instance: list.instance.clone(),
			benchmark: benchmark.name.clone(),
			selected_components,
			verify,
			internal_repeats,
		};
		// One run with the benchmark's own checks, at the worst case, before measuring.
		let highest = benchmark.components.iter().map(|(p, _, high)| (*p, *high)).collect();
		run_benchmark(config(highest, true, 1))?;

		let mut results = Vec::new();
		for selection in selections(&benchmark.components, cli.steps) {
			results.extend(run_benchmark(config(selection, false, cli.repeat))?);
		}
		if results.is_empty() {
			bail!("benchmark {name} produced no results");
		}
		let fit = |selector| {
			Analysis::min_squares_iqr(&results, selector)
				.map_err(|e| anyhow!("fitting {name}: {e}"))
		};
		let time = fit(BenchmarkSelector::ExtrinsicTime)?;
		let reads = fit(BenchmarkSelector::Reads)?;
		let writes = fit(BenchmarkSelector::Writes)?;
		let (proof_size, storage) =
			proof_size_and_storage(&results, &storage_info, cli.additional_trie_layers);
		eprintln!(
			"{name}: base {} ps, slopes {:?} ps, reads {}, writes {}, proof {proof_size} bytes",
			time.base, time.slopes, reads.base, writes.base
		);
		weights.push(BenchmarkWeight {
			name,
			components: benchmark
				.components
				.iter()
				.map(|(p, low, high)| (p.to_string(), *low, *high))
				.collect(),
			minimum_ref_time: time.minimum.saturating_mul(1000),
			base_ref_time: time.base,
			ref_time_slopes: time.slopes,
			base_reads: upper_bound_base(&results, reads.base, &reads.slopes, |r| r.reads),
			read_slopes: reads.slopes,
			base_writes: upper_bound_base(&results, writes.base, &writes.slopes, |r| r.writes),
			write_slopes: writes.slopes,
			proof_size,
			storage,
		});
	}
	Ok(weights)
}

/// The smallest base, at least the fitted one, with which `base + slopes · components` is at
/// least the `count` of every result: a weight must never undercount database accesses, and a
/// path taken only at some component values (an extra read when the schedule is empty) would
/// otherwise be fitted away.
fn upper_bound_base(
	results: &[BenchmarkResult],
	fitted: u128,
	slopes: &[u128],
	count: impl Fn(&BenchmarkResult) -> u32,
) -> u128 {
	results
		.iter()
		.map(|result| {
			let linear: u128 = result
				.components
				.iter()
				.zip(slopes)
				.map(|((_, value), slope)| slope * u128::from(*value))
				.sum();
			u128::from(count(result)).saturating_sub(linear)
		})
		.fold(fitted, u128::max)
}

/// The worst proof size over `results`: for every storage value read, its `MaxEncodedLen` plus
/// `layers` trie layers. Also describes each storage item touched, with its most reads and
/// writes in one run.
fn proof_size_and_storage(
	results: &[BenchmarkResult],
	storage_info: &[StorageInfo],
	layers: u32,
) -> (u64, Vec<String>) {
	let mut worst = 0u64;
	let mut touched = BTreeMap::<String, (Option<u32>, u32, u32)>::new();
	for result in results {
		let mut proof = 0u64;
		for (key, reads, writes, whitelisted) in &result.keys {
			if *whitelisted {
				continue;
			}
			let Some(info) = storage_info.iter().find(|info| key.starts_with(&info.prefix)) else {
				continue;
			};
			if *reads > 0 {
				proof += u64::from(info.max_size.unwrap_or(0))
					+ u64::from(layers * BYTES_PER_TRIE_LAYER);
			}
			let name = format!(
				"{}::{}",
				String::from_utf8_lossy(&info.pallet_name),
				String::from_utf8_lossy(&info.storage_name)
			);
			let entry = touched.entry(name).or_insert((info.max_size, 0, 0));
			entry.1 = entry.1.max(*reads);
			entry.2 = entry.2.max(*writes);
		}
		worst = worst.max(proof);
	}
	let storage = touched
		.into_iter()
		.map(|(name, (max_size, reads, writes))| {
			let size = max_size.map_or("unbounded".to_string(), |s| format!("{s} bytes"));
			format!("`{name}` (r:{reads} w:{writes}, max {size})")
		})
		.collect();
	(worst, storage)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn selections_step_each_component_with_the_others_at_max() {
		let components = [(BenchmarkParameter::s, 1, 8), (BenchmarkParameter::r, 0, 127)];
		let selections = selections(&components, 3);
		let values: Vec<Vec<u32>> =
			selections.iter().map(|s| s.iter().map(|(_, v)| *v).collect()).collect();
		assert_eq!(values, vec![vec![1, 127], vec![4, 127], vec![8, 127], vec![8, 0], vec![8, 63]]);
		assert_eq!(super::selections(&[], 3), vec![vec![]]);
	}

	#[test]
	fn the_recorded_command_names_the_pallet_and_every_setting() {
		let cli = Cli::parse_from([
			"target/release/enclave-update-weights",
			"--output",
			"pallets/enclave-update/src/weights.rs",
			"--steps",
			"50",
		]);
		assert_eq!(
			command(&cli),
			"enclave-update-weights --pallet pallet_enclave_update --steps 50 --repeat 20 \
			 --additional-trie-layers 2 --output pallets/enclave-update/src/weights.rs"
		);
		let cli = Cli::parse_from(["enclave-update-weights", "--pallet", "pallet_shielded_inbox"]);
		assert_eq!(
			command(&cli),
			"enclave-update-weights --pallet pallet_shielded_inbox --steps 20 --repeat 20 \
			 --additional-trie-layers 2"
		);
	}

	#[test]
	fn upper_bound_base_covers_every_observation() {
		let result = |s, reads| BenchmarkResult {
			components: vec![(BenchmarkParameter::s, s)],
			reads,
			..Default::default()
		};
		// Three reads at s = 0, two otherwise: the fit says 2, the bound says 3.
		let results = vec![result(0, 3), result(4, 2), result(8, 2)];
		assert_eq!(upper_bound_base(&results, 2, &[0], |r| r.reads), 3);
		// With a slope the base accounts for it.
		let results = vec![result(1, 2), result(4, 5)];
		assert_eq!(upper_bound_base(&results, 1, &[1], |r| r.reads), 1);
	}
}
