//! Entry points shared by the cargo-fuzz targets in `offchain-worker/fuzz/` and by the
//! deterministic replay in `tests/fuzz_replay.rs`, so both exercise the same code. Each
//! function must return normally for every input: a panic is a bug.
//!
//! Only with the `fuzzing` feature, which the fuzz crate and this crate's own tests turn on: the
//! enclave's binary is built without it, so neither this code nor the fixture it embeds is an
//! input of its measurement. The fixed state key below only decrypts fuzz inputs: it is public
//! by design and never protects data.

use std::sync::OnceLock;

use crate::{
	attestation::{decode_evidence, Collateral, Verifier},
	keys::{KeyMaterial, StateKey},
	store::{decode_snapshot, parse_file},
};

const TDX_COLLATERAL: &[u8] = include_bytes!("../tests/fixtures/tdx_quote_collateral.json");
/// Inside the TDX fixture's collateral window.
const TDX_AT: u64 = 1_751_624_655;

fn collateral() -> Option<&'static Collateral> {
	static COLLATERAL: OnceLock<Option<Collateral>> = OnceLock::new();
	COLLATERAL.get_or_init(|| Collateral::from_json(TDX_COLLATERAL).ok()).as_ref()
}

fn state_key() -> &'static StateKey {
	static KEY: OnceLock<StateKey> = OnceLock::new();
	KEY.get_or_init(|| StateKey::from_bytes(&mut [0x42; 32]))
}

/// The evidence decoder and the whole verification path (DCAP against the TDX fixture's
/// collateral; simulated quotes as this build's measured policy judges them: verified in a
/// `dev-tee` build, refused in a production one).
pub fn evidence(data: &[u8]) {
	let decoded = decode_evidence(data);
	let verifier = Verifier::new(crate::measured::policy());
	let verified = verifier.check_evidence(data, collateral(), TDX_AT);
	// Whatever the verifier accepts, the decoder must have accepted.
	assert!(verified.is_err() || decoded.is_ok());
}

/// The store's file parser, snapshot decoding and key material decoding.
pub fn store_file(data: &[u8]) {
	if let Ok(parsed) = parse_file(data) {
		assert_eq!(parsed.header.len(), crate::store::HEADER_LEN);
	}
	let _ = decode_snapshot(state_key(), data.to_vec());
	let _ = KeyMaterial::from_plaintext(data);
}
