//! Deterministic replay of the fuzz functions (`src/fuzzing.rs`, also driven by the
//! cargo-fuzz targets in `fuzz/`) over seeded random inputs and mutations of real files,
//! so that every `cargo test` run exercises them without a fuzzing toolchain.

use enclave_worker::{
	fuzzing,
	keys::KeyMaterial,
	store::encode_snapshot,
	tee::{SimTee, Tee},
	Measurement,
};

/// xorshift64: a fixed seed gives the same inputs on every run.
struct Rng(u64);

impl Rng {
	fn next(&mut self) -> u64 {
		self.0 ^= self.0 << 13;
		self.0 ^= self.0 >> 7;
		self.0 ^= self.0 << 17;
		self.0
	}

	fn below(&mut self, n: usize) -> usize {
		(self.next() % n.max(1) as u64) as usize
	}

	fn bytes(&mut self, len: usize) -> Vec<u8> {
		(0..len).map(|_| self.next() as u8).collect()
	}

	/// Flips, overwrites, truncates or extends `seed`.
	fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
		let mut out = seed.to_vec();
		for _ in 0..=self.below(4) {
			match self.below(4) {
				0 if !out.is_empty() => {
					let at = self.below(out.len());
					out[at] ^= 1 << self.below(8);
				},
				1 if !out.is_empty() => {
					let at = self.below(out.len());
					out[at] = self.next() as u8;
				},
				2 => out.truncate(self.below(out.len() + 1)),
				_ => {
					let len = self.below(64);
					let extra = self.bytes(len);
					out.extend(extra);
				},
			}
		}
		out
	}
}

fn fixture(name: &str) -> Vec<u8> {
	std::fs::read(
		std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
			.join("tests/fixtures")
			.join(name),
	)
	.unwrap()
}

#[test]
fn evidence_decoder_survives_random_and_mutated_inputs() {
	let mut rng = Rng(0x5eed_0001);
	let dir = tempfile::tempdir().unwrap();
	let sim = SimTee::in_data_dir(Measurement::MrEnclave([3; 32]), dir.path())
		.quote(&[1; 64])
		.unwrap();
	let seeds = [fixture("sgx_quote"), fixture("tdx_quote"), sim];
	for _ in 0..300 {
		let len = rng.below(600);
		fuzzing::evidence(&rng.bytes(len));
	}
	// Mutated real quotes reach deep into the verifier; each costs a full verification.
	for i in 0..150 {
		let input = rng.mutate(&seeds[i % seeds.len()]);
		fuzzing::evidence(&input);
	}
}

#[test]
fn store_parser_survives_random_and_mutated_inputs() {
	let mut rng = Rng(0x5eed_0002);
	let keys = KeyMaterial::generate();
	let snapshot =
		encode_snapshot(&keys.state, &Measurement::TdIdentity([9; 48]), 5, &[1; 32], b"state")
			.unwrap();
	let plaintext = keys.to_plaintext().to_vec();
	for _ in 0..2_000 {
		let len = rng.below(300);
		fuzzing::store_file(&rng.bytes(len));
		fuzzing::store_file(&rng.mutate(&snapshot));
		fuzzing::store_file(&rng.mutate(&plaintext));
	}
}
