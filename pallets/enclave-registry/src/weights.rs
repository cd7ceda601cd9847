//! Weights for `pallet_enclave_registry`.
//!
//! NOT YET GENERATED: `bash benchmarks/regenerate-weights.sh` (frame-omni-bencher on the dev
//! runtime's wasm built with `runtime-benchmarks`) rewrites this file from
//! `benchmarks/weights-template.hbs`. Until then these are upper bounds set by hand: DCAP
//! verification in the wasm runtime is dominated by about ten P-256 signature verifications
//! in pure Rust; the storage parts are a few reads and writes of small values.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_enclave_registry`.
pub trait WeightInfo {
	fn verify_dcap_quote() -> Weight;
	fn store_registration() -> Weight;
	fn remove_enclave() -> Weight;
}

/// Weights for `pallet_enclave_registry` using the Substrate node and recommended hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn verify_dcap_quote() -> Weight {
		Weight::from_parts(200_000_000_000, 0)
	}
	fn store_registration() -> Weight {
		Weight::from_parts(50_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(7_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	fn remove_enclave() -> Weight {
		Weight::from_parts(30_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn verify_dcap_quote() -> Weight {
		Weight::from_parts(200_000_000_000, 0)
	}
	fn store_registration() -> Weight {
		Weight::from_parts(50_000_000, 4_000)
			.saturating_add(RocksDbWeight::get().reads(7_u64))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
	}
	fn remove_enclave() -> Weight {
		Weight::from_parts(30_000_000, 4_000)
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
}
