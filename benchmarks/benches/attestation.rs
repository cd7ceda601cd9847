//! Quote verification: the worker's full path (`enclave_worker::attestation::Verifier::verify`:
//! framing + PCK chain structure, collateral window, dcap-qvl verification with claims,
//! policy) against bare `dcap_qvl::verify::verify` on the same real TDX quote, in one run.
//! The ratio of the two medians is the overhead of our checks.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use enclave_worker::attestation::{AttestationPolicy, Collateral, Verifier};

/// Inside the TDX sample's collateral window.
const TDX_AT: u64 = 1_751_624_655;

fn fixture(name: &str) -> Vec<u8> {
	let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
		.join("../offchain-worker/tests/fixtures")
		.join(name);
	std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn verify(c: &mut Criterion) {
	let quote = fixture("tdx_quote");
	let collateral_json = fixture("tdx_quote_collateral.json");
	let collateral = Collateral::from_json(&collateral_json).expect("collateral");
	let dcap_collateral: dcap_qvl::QuoteCollateralV3 =
		serde_json::from_slice(&collateral_json).expect("collateral");
	let verifier = Verifier::new(AttestationPolicy::default());
	// Both paths must accept the quote, or the comparison means nothing.
	verifier.verify(&quote, Some(&collateral), TDX_AT, None).expect("ours accepts");
	dcap_qvl::verify::verify(&quote, &dcap_collateral, TDX_AT).expect("dcap-qvl accepts");

	let mut group = c.benchmark_group("verify_tdx_quote");
	group.bench_function("enclave_worker_verifier", |b| {
		b.iter(|| verifier.verify(black_box(&quote), Some(&collateral), TDX_AT, None))
	});
	group.bench_function("bare_dcap_qvl_verify", |b| {
		b.iter(|| dcap_qvl::verify::verify(black_box(&quote), &dcap_collateral, TDX_AT))
	});
	group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
