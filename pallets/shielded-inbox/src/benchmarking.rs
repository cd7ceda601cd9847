//! Benchmarks of the ShieldedInbox pallet, at the worst case: ciphertexts of
//! [`Config::MaxCallLen`] bytes, and an inbox that is as full as the path allows.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{Get, Hooks},
	BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};

/// A ciphertext of the largest allowed length.
fn longest_ciphertext<T: Config>(fill: u8) -> Ciphertext<T> {
	let bytes = alloc::vec![fill; T::MaxCallLen::get() as usize];
	BoundedVec::truncate_from(bytes)
}

/// Fills the inbox with `n` ciphertexts of the largest allowed length.
fn fill_inbox<T: Config>(n: u32) {
	let calls = (0..n).map(|i| longest_ciphertext::<T>(i as u8)).collect::<alloc::vec::Vec<_>>();
	Calls::<T>::put(BoundedVec::truncate_from(calls));
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn submit() {
		let caller: T::AccountId = whitelisted_caller();
		let room_for_one = T::MaxCallsPerBlock::get() - 1;
		fill_inbox::<T>(room_for_one);
		let ciphertext = longest_ciphertext::<T>(0xff);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), ciphertext);

		assert_eq!(Calls::<T>::decode_len(), Some(T::MaxCallsPerBlock::get() as usize));
		assert_eq!(TotalSubmitted::<T>::get(), 1);
	}

	#[benchmark]
	fn on_initialize_empty() {
		let now = frame_system::Pallet::<T>::block_number();

		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}

		assert!(!Calls::<T>::exists());
	}

	#[benchmark]
	fn on_initialize_clear() {
		fill_inbox::<T>(T::MaxCallsPerBlock::get());
		let now: BlockNumberFor<T> = frame_system::Pallet::<T>::block_number();

		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}

		assert!(!Calls::<T>::exists());
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
