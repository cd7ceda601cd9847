//! Weights for `pallet_enclave_update`.
//!
//! Placeholder until `benchmarks/weights` regenerates this file from benchmark runs.

#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use core::marker::PhantomData;
use frame_support::{
	traits::Get,
	weights::{constants::RocksDbWeight, Weight},
};

/// Weight functions needed for `pallet_enclave_update`.
pub trait WeightInfo {
	fn schedule_enclave(s: u32) -> Weight;
	fn cancel_scheduled(s: u32) -> Weight;
	fn retire_enclave(s: u32, r: u32) -> Weight;
	fn on_initialize_idle() -> Weight;
	fn on_initialize_activation() -> Weight;
}

/// Weights for `pallet_enclave_update` using the Substrate node and recommended hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn schedule_enclave(_s: u32) -> Weight {
		Weight::from_parts(0, 0)
	}
	fn cancel_scheduled(_s: u32) -> Weight {
		Weight::from_parts(0, 0)
	}
	fn retire_enclave(_s: u32, _r: u32) -> Weight {
		Weight::from_parts(0, 0)
	}
	fn on_initialize_idle() -> Weight {
		Weight::from_parts(0, 0)
	}
	fn on_initialize_activation() -> Weight {
		Weight::from_parts(0, 0)
	}
}

impl WeightInfo for () {
	fn schedule_enclave(_s: u32) -> Weight {
		Weight::from_parts(0, 0)
	}
	fn cancel_scheduled(_s: u32) -> Weight {
		Weight::from_parts(0, 0)
	}
	fn retire_enclave(_s: u32, _r: u32) -> Weight {
		Weight::from_parts(0, 0)
	}
	fn on_initialize_idle() -> Weight {
		Weight::from_parts(0, 0)
	}
	fn on_initialize_activation() -> Weight {
		Weight::from_parts(0, 0)
	}
}
