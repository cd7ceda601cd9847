//! GRANDPA justification verification: the worker's light client
//! (`enclave_worker::chain::grandpa::LightClient::import`: link check, digest scan, the
//! bridges' strict verifier) against bare ed25519 verification of the same precommit
//! signatures, at 1, 10, 100 and 300 authorities, in one run. The ratio of the two is the
//! light client's overhead over the signature checks it cannot avoid.
//!
//! Each justification carries the supermajority GRANDPA needs (`n - (n - 1) / 3` of `n`
//! equal-weight authorities), as a node sends it.

#[path = "../../offchain-worker/tests/support/grandpa.rs"]
#[allow(dead_code)]
mod support;

use criterion::{black_box, criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use enclave_worker::chain::{grandpa::LightClient, rpc::Header};
use sp_core::{ed25519, Pair as _, H256};
use sp_runtime::{traits::Header as _, Digest};
use std::collections::BTreeMap;

fn finality(c: &mut Criterion) {
	let mut group = c.benchmark_group("justification");
	for n in [1u32, 10, 100, 300] {
		let authorities = (0..n).map(|i| {
			let mut seed = [0u8; 32];
			seed[..4].copy_from_slice(&i.to_le_bytes());
			ed25519::Pair::from_seed(&seed)
		});
		let authorities: Vec<_> = authorities.collect();
		let genesis =
			Header::new(0, H256::zero(), H256::repeat_byte(1), H256::zero(), Digest::default());
		let client =
			LightClient::from_checkpoint(genesis.clone(), support::authority_list(&authorities), 0)
				.expect("a valid checkpoint");
		let header =
			Header::new(1, H256::zero(), H256::repeat_byte(2), genesis.hash(), Digest::default());
		let signers = &authorities[..(n - (n - 1) / 3) as usize];
		let justification = support::justification(&header, 1, 0, signers);
		let justifications = BTreeMap::from([(header.hash(), justification)]);
		let headers = vec![header.clone()];

		group.bench_with_input(BenchmarkId::new("light_client", n), &n, |b, _| {
			b.iter_batched(
				|| client.clone(),
				|mut client| assert!(client.import(black_box(&headers), &justifications).unwrap()),
				BatchSize::SmallInput,
			)
		});

		let payload = sp_consensus_grandpa::localized_payload(
			1,
			0,
			&finality_grandpa::Message::<H256, u32>::Precommit(finality_grandpa::Precommit {
				target_hash: header.hash(),
				target_number: 1,
			}),
		);
		let signed: Vec<_> =
			signers.iter().map(|pair| (pair.sign(&payload), pair.public())).collect();
		group.bench_with_input(BenchmarkId::new("bare_ed25519", n), &n, |b, _| {
			b.iter(|| {
				for (signature, public) in &signed {
					assert!(ed25519::Pair::verify(signature, black_box(&payload), public));
				}
			})
		});
	}
	group.finish();
}

criterion_group!(benches, finality);
criterion_main!(benches);
