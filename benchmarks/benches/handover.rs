//! The key hand-over (`enclave_worker::provisioning`):
//!
//! - `handover/full_loopback_sim`: a complete hand-over A → B over loopback TCP with sim quotes
//!   (challenge, quote, verification and decision, HPKE, the provider's quote, the requester's
//!   checks, sealing the keys to B with fsync, ack). The requester's key file is removed between
//!   runs, outside the timing, so every run writes. Before criterion runs, p50/p99/max over
//!   [`PERCENTILE_RUNS`] hand-overs are printed.
//! - `provider_decision/*`: the provider's decision path against bare `dcap_qvl::verify::verify` on
//!   the same real TDX quote, in one run. `proof_check_and_decision_tdx` is the whole path:
//!   `chain::proof::check_read_proof` of a real storage proof of the pallet's `Active`, `Schedule`,
//!   `History` and `Retired` (made from an in-memory state trie holding them among
//!   [`FILLER_ENTRIES`] other entries), then `provisioning::authorize_requester` over the proven
//!   view (evidence verification with collateral and policy, report-data binding,
//!   `VerifiedSchedule::decide`). `proof_check` is the proof check alone. Before criterion runs,
//!   the medians of the whole path and of bare `verify` over [`MEDIAN_RUNS`] interleaved runs and
//!   their ratio (our overhead) are printed.

#[path = "support/fixtures.rs"]
mod fixtures;
use fixtures::{tdx_sample, TdxSample, TDX_AT};

use std::{
	net::SocketAddr,
	sync::Arc,
	time::{Duration, Instant},
};

use codec::Encode;
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use enclave_update_primitives::{
	ActiveEnclave, Allowed, Measurement, ScheduledEnclave, SupersededEnclave,
};
use enclave_worker::{
	attestation::{AttestationPolicy, Collateral, Verifier},
	chain::{
		proof::{check_read_proof, PalletKeys},
		BlockNumber, VerifiedSchedule,
	},
	keys::{KeyMaterial, KeyStore},
	provisioning::{authorize_requester, request_keys, Provider, ProviderConfig, RequesterConfig},
	store::Store,
	tee::SimTee,
	testing::{view, FixedSchedule},
};

/// Hand-overs timed for the printed percentiles.
const PERCENTILE_RUNS: usize = 300;
/// Runs of each decision path timed for the printed medians.
const MEDIAN_RUNS: usize = 101;
/// Other entries of the state trie the pallet's storage is proven from, so the proof has
/// the branch nodes of a populated state rather than of a trie holding four values.
const FILLER_ENTRIES: u32 = 2_000;

const A: Measurement = Measurement::MrEnclave([0xa; 32]);
const B: Measurement = Measurement::MrEnclave([0xb; 32]);

/// The view of the benchmarks: `active` with its successor `next` scheduled, at the chain time
/// of the TDX sample's collateral.
fn schedule(active: Measurement, next: Measurement) -> VerifiedSchedule {
	let mut view = view(active, &[(next, 100)]);
	view.storage.timestamp_ms = TDX_AT * 1000;
	view
}

struct Requester {
	_dir: tempfile::TempDir,
	tee: SimTee,
	store: Store,
	view: FixedSchedule,
	verifier: Verifier,
	config: RequesterConfig,
}

impl Requester {
	fn new() -> Self {
		let dir = tempfile::tempdir().expect("temp dir");
		let tee = SimTee::in_data_dir(B, dir.path());
		let store = Store::open(dir.path()).expect("store");
		Self {
			_dir: dir,
			tee,
			store,
			view: FixedSchedule(schedule(A, B)),
			verifier: Verifier::new(AttestationPolicy::dev()),
			config: RequesterConfig::default(),
		}
	}

	/// One timed hand-over; the key file is removed first (untimed) so each run seals.
	async fn handover(&self, addr: SocketAddr) -> Duration {
		for path in [self.store.keys_path(), self.store.keys_path().with_extension("sealed.prev")] {
			let _ = std::fs::remove_file(path);
		}
		let start = Instant::now();
		let handover =
			request_keys(addr, &self.tee, &self.verifier, &self.view, &self.store, &self.config)
				.await
				.expect("hand-over");
		let elapsed = start.elapsed();
		black_box(handover);
		elapsed
	}
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
	let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
	sorted[index.min(sorted.len() - 1)]
}

fn full_handover(c: &mut Criterion) {
	let runtime = tokio::runtime::Builder::new_multi_thread()
		.worker_threads(2)
		.enable_all()
		.build()
		.expect("runtime");
	let provider_dir = tempfile::tempdir().expect("temp dir");
	let addr = runtime.block_on(async {
		let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
		let addr = listener.local_addr().expect("addr");
		let provider = Provider::new(
			Arc::new(SimTee::in_data_dir(A, provider_dir.path())),
			Arc::new(KeyStore::with_keys(KeyMaterial::generate())),
			Verifier::new(AttestationPolicy::dev()),
			FixedSchedule(schedule(A, B)),
			ProviderConfig::default(),
		);
		tokio::spawn(provider.serve(listener));
		addr
	});
	let requester = Requester::new();

	let mut samples: Vec<Duration> = (0..PERCENTILE_RUNS)
		.map(|_| runtime.block_on(requester.handover(addr)))
		.collect();
	samples.sort();
	println!(
		"handover/full_loopback_sim over {PERCENTILE_RUNS} runs: p50 {:?}, p99 {:?}, max {:?}",
		percentile(&samples, 0.50),
		percentile(&samples, 0.99),
		samples[samples.len() - 1],
	);

	let mut group = c.benchmark_group("handover");
	group.sample_size(200);
	group.bench_function("full_loopback_sim", |b| {
		b.iter_custom(|iters| {
			(0..iters).map(|_| runtime.block_on(requester.handover(addr))).sum::<Duration>()
		})
	});
	group.finish();
}

/// The pallet's storage with `active` and its scheduled successor `next`, in a state trie with
/// [`FILLER_ENTRIES`] other entries: the state root, and the nodes `state_getReadProof` of
/// [`PalletKeys::all`] returns.
fn proven_pallet_storage(
	keys: &PalletKeys,
	active: Measurement,
	next: Measurement,
) -> ([u8; 32], Vec<Vec<u8>>) {
	use sp_core::{Blake2Hasher, Hasher};
	use sp_state_machine::{prove_read, Backend, InMemoryBackend};

	let pallet = [
		(keys.active.clone(), ActiveEnclave { measurement: active, since: 5u32 }.encode()),
		(
			keys.schedule.clone(),
			vec![ScheduledEnclave { measurement: next, activates_at: 100u32 }].encode(),
		),
		(
			keys.history.clone(),
			vec![SupersededEnclave {
				measurement: Measurement::MrEnclave([0x9; 32]),
				activated_at: 0u32,
				superseded_at: 5,
			}]
			.encode(),
		),
		(keys.retired.clone(), vec![Measurement::MrEnclave([0x8; 32])].encode()),
	];
	let filler = (0..FILLER_ENTRIES)
		.map(|i| (Blake2Hasher::hash(&i.to_le_bytes()).0.to_vec(), [0u8; 40].to_vec()));
	let mut backend = InMemoryBackend::<Blake2Hasher>::default();
	backend.insert(
		vec![(None, pallet.into_iter().chain(filler).map(|(k, v)| (k, Some(v))).collect())],
		Default::default(),
	);
	let root = backend.storage_root(std::iter::empty(), Default::default()).0;
	let proof = prove_read(backend, keys.all()).expect("the keys are provable");
	(root.into(), proof.into_iter_nodes().collect())
}

/// A state root and a read proof of the pallet's keys against it.
struct Proof {
	root: [u8; 32],
	nodes: Vec<Vec<u8>>,
	keys: PalletKeys,
}

/// The provider's whole decision path: the proof check, then verification, policy and the
/// decision over the proven view.
fn proof_check_and_decision(
	proof: &Proof,
	verifier: &Verifier,
	quote: &[u8],
	collateral: &Collateral,
	expected: &[u8; 64],
) -> Allowed<BlockNumber> {
	let storage =
		check_read_proof(proof.root, proof.nodes.clone(), &proof.keys).expect("the proof checks");
	let view = VerifiedSchedule {
		genesis_hash: [0x99; 32],
		block_number: 10,
		block_hash: [0x10; 32],
		storage,
	};
	authorize_requester(verifier, quote, Some(collateral), TDX_AT, expected, &view, &A)
		.expect("the requester is allowed")
		.1
}

fn median(mut samples: Vec<Duration>) -> Duration {
	samples.sort();
	samples[samples.len() / 2]
}

fn provider_decision(c: &mut Criterion) {
	let TdxSample { quote, collateral, dcap_collateral } = tdx_sample();
	let verifier = Verifier::new(AttestationPolicy::default());
	let identity = verifier.verify(&quote, Some(&collateral), TDX_AT, None).expect("ours accepts");
	// The sample TD is the scheduled successor of A; its report data is the expected binding.
	let expected = identity.report_data;
	let keys = PalletKeys::default();
	let (root, nodes) = proven_pallet_storage(&keys, A, identity.measurement);
	let proof = Proof { root, nodes, keys };
	let full = || proof_check_and_decision(&proof, &verifier, &quote, &collateral, &expected);
	println!("provider_decision: the sample TD is allowed as {:?}", full());
	dcap_qvl::verify::verify(&quote, &dcap_collateral, TDX_AT).expect("dcap-qvl accepts");
	println!(
		"provider_decision: a proof of {} nodes ({} bytes)",
		proof.nodes.len(),
		proof.nodes.iter().map(Vec::len).sum::<usize>()
	);

	let (mut ours, mut bare) = (Vec::new(), Vec::new());
	for _ in 0..MEDIAN_RUNS {
		let start = Instant::now();
		black_box(full());
		ours.push(start.elapsed());
		let start = Instant::now();
		black_box(dcap_qvl::verify::verify(black_box(&quote), &dcap_collateral, TDX_AT))
			.expect("accepted");
		bare.push(start.elapsed());
	}
	let (ours, bare) = (median(ours), median(bare));
	println!(
		"provider_decision medians over {MEDIAN_RUNS} runs: proof check + decision {ours:?}, \
		 bare dcap_qvl::verify {bare:?}, ratio {:.2}",
		ours.as_secs_f64() / bare.as_secs_f64()
	);

	let mut group = c.benchmark_group("provider_decision");
	group.bench_function("proof_check_and_decision_tdx", |b| b.iter(full));
	group.bench_function("bare_dcap_qvl_verify_tdx", |b| {
		b.iter(|| dcap_qvl::verify::verify(black_box(&quote), &dcap_collateral, TDX_AT))
	});
	group.bench_function("proof_check", |b| {
		b.iter_batched(
			|| proof.nodes.clone(),
			|nodes| check_read_proof(proof.root, nodes, &proof.keys),
			BatchSize::SmallInput,
		)
	});
	group.finish();
}

criterion_group!(benches, full_handover, provider_decision);
criterion_main!(benches);
