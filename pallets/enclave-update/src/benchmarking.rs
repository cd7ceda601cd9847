//! Benchmarks of the EnclaveUpdate pallet, at the worst case of each path: the retired set is
//! full in every benchmark (every call searches it) and the schedule has `s` entries.

use super::*;
use enclave_update_primitives::TD_IDENTITY_LEN;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{EnsureOrigin, Get, Hooks},
	BoundedVec,
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::{One, Saturating};

/// A distinct TDX measurement (the largest encoding) for each `seed`.
fn measurement(seed: u32) -> Measurement {
	let mut bytes = [0u8; TD_IDENTITY_LEN];
	bytes[..4].copy_from_slice(&seed.to_le_bytes());
	bytes[4] = 0xbe;
	Measurement::TdIdentity(bytes)
}

/// Seeds above this one are reserved for retired measurements.
const RETIRED_SEED: u32 = 1 << 30;

/// Fills the retired set with `r` measurements that sort after every scheduled one.
fn retire_many<T: Config>(r: u32) {
	let retired: alloc::vec::Vec<_> = (0..r).map(|i| measurement(RETIRED_SEED + i)).collect();
	let mut retired = BoundedVec::truncate_from(retired);
	retired.sort();
	Retired::<T>::put(retired);
}

/// Schedules `s` measurements at consecutive blocks after the minimum lead time and returns the
/// block after the last one.
fn schedule_many<T: Config>(s: u32) -> BlockNumberFor<T> {
	let now = frame_system::Pallet::<T>::block_number();
	let mut at = now.saturating_add(T::MinLeadTime::get()).saturating_add(One::one());
	let mut schedule = BoundedVec::<_, T::MaxScheduled>::default();
	for i in 0..s {
		schedule
			.try_push(ScheduledEnclave { measurement: measurement(i), activates_at: at })
			.expect("s <= MaxScheduled");
		at = at.saturating_add(One::one());
	}
	NextActivation::<T>::set(schedule.first().map(|e| e.activates_at));
	Schedule::<T>::put(schedule);
	at
}

/// A full history, as a long-running chain has.
fn fill_history<T: Config>() {
	let history = (0..T::MaxHistory::get())
		.map(|i| SupersededEnclave {
			measurement: measurement(RETIRED_SEED / 2 + i),
			activated_at: BlockNumberFor::<T>::from(i),
			superseded_at: BlockNumberFor::<T>::from(i + 1),
		})
		.collect::<alloc::vec::Vec<_>>();
	History::<T>::put(BoundedVec::truncate_from(history));
	Active::<T>::put(ActiveEnclave {
		measurement: measurement(RETIRED_SEED / 4),
		since: BlockNumberFor::<T>::from(T::MaxHistory::get()),
	});
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn schedule_enclave(
		s: Linear<0, { T::MaxScheduled::get() - 1 }>,
	) -> Result<(), BenchmarkError> {
		let origin =
			T::ScheduleOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		retire_many::<T>(T::MaxRetired::get());
		fill_history::<T>();
		let at = schedule_many::<T>(s);
		let new = measurement(s);

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, new, at);

		assert_eq!(Schedule::<T>::get().last().map(|e| e.measurement), Some(new));
		Ok(())
	}

	#[benchmark]
	fn cancel_scheduled(s: Linear<1, { T::MaxScheduled::get() }>) -> Result<(), BenchmarkError> {
		let origin =
			T::ScheduleOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		fill_history::<T>();
		schedule_many::<T>(s);
		// The first entry: every later one shifts, and NextActivation changes.
		let canceled = measurement(0);

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, canceled);

		assert_eq!(Schedule::<T>::get().len() as u32, s - 1);
		Ok(())
	}

	#[benchmark]
	fn retire_enclave(
		s: Linear<1, { T::MaxScheduled::get() }>,
		r: Linear<0, { T::MaxRetired::get() - 1 }>,
	) -> Result<(), BenchmarkError> {
		let origin =
			T::RetireOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		fill_history::<T>();
		retire_many::<T>(r);
		schedule_many::<T>(s);
		let retired = measurement(0);

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, retired);

		assert!(Pallet::<T>::is_retired(&retired));
		assert_eq!(Schedule::<T>::get().len() as u32, s - 1);
		Ok(())
	}

	#[benchmark]
	fn on_initialize_idle() {
		fill_history::<T>();
		schedule_many::<T>(T::MaxScheduled::get());
		let now = frame_system::Pallet::<T>::block_number();

		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}

		assert_eq!(Schedule::<T>::get().len() as u32, T::MaxScheduled::get());
	}

	#[benchmark]
	fn on_initialize_activation() {
		fill_history::<T>();
		schedule_many::<T>(T::MaxScheduled::get());
		let at = NextActivation::<T>::get().expect("schedule is full");
		frame_system::Pallet::<T>::set_block_number(at);

		#[block]
		{
			Pallet::<T>::on_initialize(at);
		}

		assert_eq!(Active::<T>::get().map(|a| a.measurement), Some(measurement(0)));
		assert_eq!(History::<T>::get().len() as u32, T::MaxHistory::get());
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
