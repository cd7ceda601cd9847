//! dcap-qvl's real Intel TDX sample and its collateral (the worker's test fixtures), as the
//! benches that verify it read them.

// Included by several benches, each using part of it.
#![allow(dead_code)]

use enclave_worker::attestation::Collateral;
use std::path::Path;

/// A time inside the TDX sample's collateral window.
pub const TDX_AT: u64 = 1_751_624_655;

/// The worker's test fixture `name`.
pub fn fixture(name: &str) -> Vec<u8> {
	let path = Path::new(env!("CARGO_MANIFEST_DIR"))
		.join("../offchain-worker/tests/fixtures")
		.join(name);
	std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The TDX sample: its quote, and its collateral as the worker reads it and as dcap-qvl does.
pub struct TdxSample {
	pub quote: Vec<u8>,
	pub collateral: Collateral,
	pub dcap_collateral: dcap_qvl::QuoteCollateralV3,
}

pub fn tdx_sample() -> TdxSample {
	let collateral_json = fixture("tdx_quote_collateral.json");
	TdxSample {
		quote: fixture("tdx_quote"),
		collateral: Collateral::from_json(&collateral_json).expect("the sample's collateral"),
		dcap_collateral: serde_json::from_slice(&collateral_json).expect("the sample's collateral"),
	}
}
