//! The demo state machine the enclave carries across an upgrade: (a) blocks per second of
//! `ExecutedState::apply_block` with 16 shielded calls per block over a state of ~10k entries,
//! (b) sealing and opening one shielded call (HPKE X25519/ChaCha20-Poly1305), and (c) snapshot
//! seal + unseal (`store::encode_snapshot` + `store::decode_snapshot`, no disk) at the demo's
//! state size after 1000 blocks and at 256 MiB.

use std::time::Duration;

use criterion::{
	black_box, criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use enclave_worker::{
	demo::{open_call, seal_call, ExecutedState, ShieldedCall},
	keys::{KeyMaterial, ShieldingKey},
	store::{decode_snapshot, encode_snapshot},
	Measurement,
};

const GENESIS: [u8; 32] = [0x11; 32];
const CALLS_PER_BLOCK: usize = 16;
/// Of each block's calls, this many put a fresh key; the rest increment a few counters.
const PUTS_PER_BLOCK: usize = 10;
const WARM_UP_BLOCKS: u64 = 1000;
const MIB: usize = 1024 * 1024;

fn block_hash(number: u64) -> [u8; 32] {
	let mut out = [0xbb; 32];
	out[..8].copy_from_slice(&number.to_le_bytes());
	out
}

fn block_calls(key: &ShieldingKey, number: u64) -> Vec<Vec<u8>> {
	(0..CALLS_PER_BLOCK)
		.map(|i| {
			let call = if i < PUTS_PER_BLOCK {
				ShieldedCall::Put {
					key: format!("account-{number}-{i}").into_bytes(),
					value: vec![i as u8; 64],
				}
			} else {
				ShieldedCall::Increment { key: format!("counter-{}", i % 4).into_bytes(), by: 1 }
			};
			seal_call(&key.public_key(), &GENESIS, &call)
		})
		.collect()
}

/// The state after [`WARM_UP_BLOCKS`] blocks: 10k entries.
fn warmed_up_state(key: &ShieldingKey) -> ExecutedState {
	let mut state = ExecutedState::genesis(GENESIS);
	for number in 1..=WARM_UP_BLOCKS {
		let parent = if number == 1 { GENESIS } else { block_hash(number - 1) };
		state
			.apply_block(key, number, parent, block_hash(number), &block_calls(key, number))
			.expect("next block");
	}
	state
}

fn demo(c: &mut Criterion) {
	let keys = KeyMaterial::generate();
	let key = &keys.shielding;
	let mut state = warmed_up_state(key);
	assert_eq!(state.state.entries.len(), WARM_UP_BLOCKS as usize * PUTS_PER_BLOCK);
	let state_bytes = state.to_bytes();
	eprintln!(
		"demo state after {WARM_UP_BLOCKS} blocks: {} entries, {} bytes encoded",
		state.state.entries.len(),
		state_bytes.len()
	);

	// (a) Blocks per second. The same 16 ciphertexts in every block: puts overwrite keys
	// of the same state size, so the state stays at ~10k entries.
	let calls = block_calls(key, 0);
	let mut group = c.benchmark_group("demo_apply_block");
	group.throughput(Throughput::Elements(1));
	group.bench_function(BenchmarkId::new("16_calls_10k_entries", "blocks"), |b| {
		b.iter(|| {
			let number = state.block_number + 1;
			let parent = state.block_hash;
			black_box(state.apply_block(key, number, parent, block_hash(number), &calls))
				.expect("next block")
		})
	});
	group.finish();

	// (b) One call.
	let call = ShieldedCall::Put { key: b"account-1".to_vec(), value: vec![7; 64] };
	let sealed = seal_call(&key.public_key(), &GENESIS, &call);
	let mut group = c.benchmark_group("demo_call");
	group.throughput(Throughput::Elements(1));
	group.bench_function("seal", |b| {
		b.iter(|| black_box(seal_call(&key.public_key(), &GENESIS, black_box(&call))))
	});
	group.bench_function("open", |b| {
		b.iter(|| black_box(open_call(key, &GENESIS, black_box(&sealed))).expect("opens"))
	});
	group.finish();

	// (c) Snapshot seal + unseal in memory.
	let writer = Measurement::MrEnclave([0xaa; 32]);
	let mut group = c.benchmark_group("demo_snapshot_seal_unseal");
	group.throughput(Throughput::Bytes(state_bytes.len() as u64));
	group.bench_function(BenchmarkId::new("after_1000_blocks", state_bytes.len()), |b| {
		b.iter(|| {
			let file = encode_snapshot(&keys.state, &writer, 1, &state.state_hash, &state_bytes)
				.expect("seal");
			black_box(decode_snapshot(&keys.state, file).expect("unseal").state.len())
		})
	});
	// Including the state's own encoding and decoding, as the worker does after every block.
	group.bench_function(BenchmarkId::new("after_1000_blocks_with_state_codec", "state"), |b| {
		b.iter(|| {
			let bytes = state.to_bytes();
			let file =
				encode_snapshot(&keys.state, &writer, 1, &state.state_hash, &bytes).expect("seal");
			let snapshot = decode_snapshot(&keys.state, file).expect("unseal");
			black_box(ExecutedState::from_bytes(&snapshot.state).expect("decode"))
		})
	});
	// 256 MiB: flat sampling, one iteration per sample, so a run stays well under a minute.
	let big: Vec<u8> = (0..256 * MIB).map(|i| (i % 251) as u8).collect();
	group
		.sampling_mode(SamplingMode::Flat)
		.sample_size(10)
		.warm_up_time(Duration::from_secs(1))
		.measurement_time(Duration::from_secs(10))
		.throughput(Throughput::Bytes(big.len() as u64));
	group.bench_function(BenchmarkId::new("mib", 256), |b| {
		b.iter(|| {
			let file = encode_snapshot(&keys.state, &writer, 1, &[1; 32], &big).expect("seal");
			black_box(decode_snapshot(&keys.state, file).expect("unseal").state.len())
		})
	});
	group.finish();
}

criterion_group!(benches, demo);
criterion_main!(benches);
