//! End-to-end figures of the upgrade on the real processes: the node and the worker from
//! `ENCLAVE_UPDATE_BIN_DIR`, else `target/release` if both are built there, else `target/debug`
//! (the bench prints which):
//!
//! - `cutover/gap`: from the moment block XYZ is seen finalized (a subscriber on the node) to the
//!   moment the successor has executed it (its status file says so). Every sample is one more
//!   upgrade of a chain of enclaves on one dev node: W1 takes over from A, W2 from W1, and so on.
//!   The gap in blocks (the finalized head when the successor executed XYZ, minus XYZ) is printed
//!   after the run.
//! - `catch_up/blocks`: blocks per second the active worker executes when it catches up after a
//!   restart (finalized-head walk, a storage proof per block, decryption and execution, a sealed
//!   snapshot per block).
//!
//! Run: `cargo build --release -p enclave-update-node -p enclave-worker && cargo bench -p
//! enclave-update-devnet --bench cutover`.

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use enclave_update_devnet::{
	chain::schedule_call,
	procs::{Process, Worker},
	story::{wait_for_processed, Devnet},
	Measurement,
};
use std::{
	path::Path,
	time::{Duration, Instant},
};

const WAIT: Duration = Duration::from_secs(120);
const CATCH_UP_BLOCKS: u32 = 30;

/// The last processed block in `worker`'s status file (read directly: cheaper than the CLI).
fn processed(worker: &Worker) -> Option<u64> {
	let bytes = std::fs::read(worker.data_dir.join("status.json")).ok()?;
	let status: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
	status["last_processed_block"].as_u64()
}

struct Chain {
	devnet: Devnet,
	current: Worker,
	current_run: Option<Process>,
	next: u8,
	block_gaps: Vec<u32>,
}

impl Chain {
	/// One upgrade from the current enclave to a new one; returns the gap.
	async fn upgrade(&mut self, root: &Path) -> Duration {
		let measurement = Measurement::MrEnclave([self.next; 32]);
		self.next += 1;
		let chain = &self.devnet.chain;
		let xyz = chain.finalized_number().await.unwrap() + 13;
		chain.sudo_ok(schedule_call(&measurement, xyz)).await.unwrap();
		let successor = self.devnet.worker(root, &format!("W{}", self.next), measurement);
		let got = successor.request_keys(&self.current.provide_addr()).unwrap();
		assert!(got.success, "{}", got.stderr);
		let run = successor.run(Some(&self.current.provide_addr())).unwrap();

		// Polled every millisecond, so the moment XYZ is seen is at most ~1 ms late.
		chain.wait_for_finalized(xyz - 1, WAIT).await.unwrap();
		while chain.finalized_number().await.unwrap() < xyz {
			tokio::time::sleep(Duration::from_millis(1)).await;
		}
		let seen = Instant::now();
		while processed(&successor).is_none_or(|n| n < u64::from(xyz)) {
			assert!(seen.elapsed() < WAIT, "the successor did not execute #{xyz}");
			tokio::time::sleep(Duration::from_millis(1)).await;
		}
		let gap = seen.elapsed();
		self.block_gaps.push(chain.finalized_number().await.unwrap() - xyz);

		if let Some(previous) = self.current_run.replace(run) {
			previous.stop(Duration::from_secs(10));
		}
		self.current = successor;
		gap
	}

	/// Stops the active worker, lets the chain run `CATCH_UP_BLOCKS` blocks on, restarts it and
	/// returns how long it took, from its start, to have executed them.
	async fn catch_up(&mut self) -> Duration {
		if let Some(run) = self.current_run.take() {
			run.kill9();
		}
		let chain = &self.devnet.chain;
		let target = chain.finalized_number().await.unwrap() + CATCH_UP_BLOCKS;
		chain.wait_for_finalized(target, WAIT).await.unwrap();
		let started = Instant::now();
		self.current_run = Some(self.current.run(None).unwrap());
		while processed(&self.current).is_none_or(|n| n < u64::from(target)) {
			assert!(started.elapsed() < WAIT, "the worker did not catch up");
			tokio::time::sleep(Duration::from_millis(1)).await;
		}
		started.elapsed()
	}
}

fn bench(c: &mut Criterion) {
	// Debug and release binaries differ several-fold in these figures: say which were measured.
	eprintln!(
		"node and worker binaries from {}",
		enclave_update_devnet::procs::bin_dir().display()
	);
	let runtime = tokio::runtime::Runtime::new().unwrap();
	let root = tempfile::tempdir().unwrap();
	let mut chain = runtime.block_on(async {
		let mut devnet = Devnet::start(root.path()).await.unwrap();
		wait_for_processed(&devnet.a, 1, WAIT).await.unwrap();
		let current_run = devnet.a_run.take();
		let current = devnet.a.clone();
		Chain { devnet, current, current_run, next: 1, block_gaps: Vec::new() }
	});

	let mut group = c.benchmark_group("cutover");
	group
		.sampling_mode(SamplingMode::Flat)
		.sample_size(10)
		.warm_up_time(Duration::from_millis(1));
	group.measurement_time(Duration::from_secs(60));
	group.bench_function("gap", |b| {
		b.iter_custom(|iters| {
			(0..iters)
				.map(|_| runtime.block_on(chain.upgrade(root.path())))
				.sum::<Duration>()
		})
	});
	group.finish();
	let gaps = &chain.block_gaps;
	eprintln!(
		"cut-over gap in blocks over {} upgrades: max {}, all {:?}",
		gaps.len(),
		gaps.iter().max().copied().unwrap_or(0),
		gaps
	);

	let mut group = c.benchmark_group("catch_up");
	group
		.sampling_mode(SamplingMode::Flat)
		.sample_size(10)
		.warm_up_time(Duration::from_millis(1));
	group.measurement_time(Duration::from_secs(60));
	group.throughput(Throughput::Elements(CATCH_UP_BLOCKS.into()));
	group.bench_function("blocks", |b| {
		b.iter_custom(|iters| {
			(0..iters).map(|_| runtime.block_on(chain.catch_up())).sum::<Duration>()
		})
	});
	group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
