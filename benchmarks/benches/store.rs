//! Sealed state snapshots: `Store::write_snapshot` + `Store::read_snapshot` (encode,
//! atomic write with fsyncs, read, authenticate, decode) against raw in-memory
//! XChaCha20-Poly1305 encrypt + decrypt of the same bytes, at 1 MiB, 64 MiB and 512 MiB,
//! in one run. Throughput is reported in bytes of state per second.

use std::time::Duration;

use chacha20poly1305::{
	aead::{AeadInPlace, KeyInit},
	XChaCha20Poly1305, XNonce,
};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use enclave_worker::{keys::KeyMaterial, store::Store, Measurement};

const MIB: usize = 1024 * 1024;

fn snapshots(c: &mut Criterion) {
	let keys = KeyMaterial::generate();
	let writer = Measurement::MrEnclave([0xaa; 32]);
	let dir = tempfile::tempdir().expect("temp dir");
	let store = Store::open(dir.path()).expect("store");
	let raw_cipher = XChaCha20Poly1305::new(keys.state.expose_secret().into());
	let nonce = XNonce::from([7u8; 24]);

	let mut group = c.benchmark_group("snapshot_write_read");
	for size in [MIB, 64 * MIB, 512 * MIB] {
		// Few samples for the large sizes: each iteration moves the state several times.
		let (samples, time) =
			if size > MIB { (10, Duration::from_secs(20)) } else { (30, Duration::from_secs(5)) };
		group
			.sample_size(samples)
			.measurement_time(time)
			.throughput(Throughput::Bytes(size as u64));
		let state: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();

		group.bench_with_input(BenchmarkId::new("store_sealed", size / MIB), &state, |b, state| {
			b.iter(|| {
				store.write_snapshot(&keys.state, &writer, 1, &[1; 32], state).expect("write");
				let (snapshot, _) = store.read_snapshot(&keys.state).expect("read");
				black_box(snapshot.state.len())
			})
		});

		let mut buffer = state.clone();
		group.bench_function(BenchmarkId::new("raw_aead", size / MIB), |b| {
			b.iter(|| {
				let tag =
					raw_cipher.encrypt_in_place_detached(&nonce, b"", &mut buffer).expect("seal");
				raw_cipher
					.decrypt_in_place_detached(&nonce, b"", &mut buffer, &tag)
					.expect("open");
				black_box(buffer.len())
			})
		});
	}
	group.finish();
}

criterion_group!(benches, snapshots);
criterion_main!(benches);
