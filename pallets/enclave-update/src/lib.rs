//! # EnclaveUpdate Pallet
//!
//! A governed, block-scheduled list of the TEE enclave measurements (SGX MRENCLAVE, TDX identity
//! digest) that may hold a chain's confidential keys.
//!
//! ## Pallet API
//!
//! See the [`pallet`] module for the [`Config`], the [`Call`]s, the [`Event`]s and the
//! [`Error`]s. The measurement types and the provisioning rules live in
//! [`enclave_update_primitives`], shared with the worker running inside the TEE.
//!
//! ## Overview
//!
//! An enclave seals its secrets (the shielding key users encrypt to, and the state-encryption
//! key) to its own measurement, so a new build cannot unseal them: the running enclave must hand
//! them over. This pallet is the authority on who may receive them:
//!
//! - exactly one measurement is **active** and produces state;
//! - governance ([`Config::ScheduleOrigin`]: sudo, a council majority, a referendum) schedules a
//!   successor for a future block, at least [`Config::MinLeadTime`] blocks ahead so it can request
//!   the keys before the cut-over;
//! - at that block (the pallet's `on_initialize`) the successor becomes active and the previous
//!   measurement is kept in a bounded history;
//! - [`Config::RetireOrigin`] can retire a measurement after a TEE vulnerability: it never provides
//!   nor receives keys again.
//!
//! Workers read this storage (with storage proofs) and call
//! [`enclave_update_primitives::provisioning_decision`]; the runtime API in
//! `enclave-update-runtime-api` exposes the same decision, see [`Pallet::with_schedule_view`].
//!
//! ## Interface
//!
//! ### Dispatchable functions
//!
//! - [`schedule_enclave`](Pallet::schedule_enclave): allow a measurement to become active at a
//!   future block.
//! - [`cancel_scheduled`](Pallet::cancel_scheduled): remove a measurement from the schedule.
//! - [`retire_enclave`](Pallet::retire_enclave): revoke a measurement for good.
//!
//! ### Storage
//!
//! - [`Active`]: the active measurement and the block it became active at.
//! - [`Schedule`]: the successors, sorted by strictly increasing activation block.
//! - [`NextActivation`]: the first block of the schedule, so an idle block costs one read.
//! - [`History`]: superseded measurements, oldest first, at most [`Config::MaxHistory`].
//! - [`Retired`]: retired measurements, sorted.
//!
//! ## Usage
//!
//! Wiring the pallet into a runtime: the test runtime's configuration (root schedules, a security
//! council retires). The development runtime (`runtime/src/lib.rs`) lets sudo or a 2/3 council
//! majority schedule, and a referendum on the enclave tracks.
#![doc = docify::embed!("src/mock.rs", config)]
//!
//! The chain's first enclave is named at genesis (`initial_enclave`):
#![doc = docify::embed!("src/mock.rs", new_test_ext)]
//!
//! ## Implementation notes
//!
//! - Activation happens in `on_initialize`, so the state of block `n` already reflects an
//!   activation at `n`: the scheduled enclave produces the state of its first block.
//! - Removing the active measurement is impossible by design (there is no "cancel active" and
//!   retiring the active measurement is refused): it would leave no enclave allowed to hand the
//!   keys on, and the keys would be lost. Schedule a successor, then retire the old one.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

pub use enclave_update_primitives::{
	ActiveEnclave, Measurement, ScheduleView, ScheduledEnclave, SupersededEnclave,
};
pub use pallet::*;
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use enclave_update_primitives::{provisioning_decision, Decision};
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use sp_runtime::traits::{Saturating, Zero};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the pallet.
	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The origin that may schedule and cancel enclave updates: root (sudo) and/or a
		/// governance origin such as a council majority.
		type ScheduleOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// The origin that may retire a measurement (emergency revocation).
		type RetireOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// The minimum number of blocks between scheduling and activation: the time the successor
		/// has to request the keys from the active enclave before the cut-over.
		#[pallet::constant]
		type MinLeadTime: Get<BlockNumberFor<Self>>;

		/// The maximum number of measurements scheduled at once.
		#[pallet::constant]
		type MaxScheduled: Get<u32>;

		/// The maximum number of superseded measurements remembered; the oldest is dropped.
		#[pallet::constant]
		type MaxHistory: Get<u32>;

		/// The maximum number of retired measurements.
		#[pallet::constant]
		type MaxRetired: Get<u32>;

		/// Weight information for the calls and hooks of this pallet.
		type WeightInfo: WeightInfo;
	}

	/// The active measurement and the block it became active at.
	#[pallet::storage]
	pub type Active<T: Config> = StorageValue<_, ActiveEnclave<BlockNumberFor<T>>, OptionQuery>;

	/// Scheduled successors, sorted by strictly increasing activation block.
	#[pallet::storage]
	pub type Schedule<T: Config> = StorageValue<
		_,
		BoundedVec<ScheduledEnclave<BlockNumberFor<T>>, T::MaxScheduled>,
		ValueQuery,
	>;

	/// The activation block of the first scheduled successor: `on_initialize` reads only this.
	#[pallet::storage]
	pub type NextActivation<T: Config> = StorageValue<_, BlockNumberFor<T>, OptionQuery>;

	/// Superseded measurements, oldest first; the last one was superseded by [`Active`].
	#[pallet::storage]
	pub type History<T: Config> = StorageValue<
		_,
		BoundedVec<SupersededEnclave<BlockNumberFor<T>>, T::MaxHistory>,
		ValueQuery,
	>;

	/// Retired measurements, sorted ascending.
	#[pallet::storage]
	pub type Retired<T: Config> =
		StorageValue<_, BoundedVec<Measurement, T::MaxRetired>, ValueQuery>;

	/// Genesis configuration.
	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The measurement active from the genesis block, if any.
		pub initial_enclave: Option<Measurement>,
		/// Successors scheduled at genesis: strictly increasing blocks, all after block 0.
		pub initial_schedule: Vec<(Measurement, BlockNumberFor<T>)>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			if let Some(measurement) = self.initial_enclave {
				Active::<T>::put(ActiveEnclave { measurement, since: Zero::zero() });
			}
			let mut schedule = BoundedVec::<_, T::MaxScheduled>::default();
			for (measurement, activates_at) in &self.initial_schedule {
				assert!(
					!activates_at.is_zero(),
					"enclave-update genesis: {measurement} is scheduled for block 0; use initial_enclave"
				);
				assert!(
					schedule
						.last()
						.is_none_or(|last: &ScheduledEnclave<_>| last.activates_at < *activates_at),
					"enclave-update genesis: initial_schedule must have strictly increasing blocks"
				);
				assert!(
					!schedule.iter().any(|s| s.measurement == *measurement)
						&& self.initial_enclave.as_ref() != Some(measurement),
					"enclave-update genesis: {measurement} is scheduled twice"
				);
				schedule
					.try_push(ScheduledEnclave {
						measurement: *measurement,
						activates_at: *activates_at,
					})
					.expect("enclave-update genesis: initial_schedule is longer than MaxScheduled");
			}
			NextActivation::<T>::set(schedule.first().map(|s| s.activates_at));
			Schedule::<T>::put(schedule);
		}
	}

	/// Events of this pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A measurement was scheduled to become active at `activates_at`.
		Scheduled {
			/// The scheduled measurement.
			measurement: Measurement,
			/// Its activation (cut-over) block.
			activates_at: BlockNumberFor<T>,
		},
		/// A scheduled measurement was removed from the schedule.
		Canceled {
			/// The measurement that will no longer activate.
			measurement: Measurement,
			/// The block it was scheduled for.
			activates_at: BlockNumberFor<T>,
		},
		/// A scheduled measurement became active in this block.
		Activated {
			/// The now active measurement.
			measurement: Measurement,
			/// The measurement it superseded, if any.
			previous: Option<Measurement>,
		},
		/// A measurement was retired: it never provides nor receives keys again.
		Retired {
			/// The retired measurement.
			measurement: Measurement,
			/// Whether it was removed from the schedule as well.
			was_scheduled: bool,
		},
	}

	/// Errors of this pallet.
	#[pallet::error]
	pub enum Error<T> {
		/// The activation block is not after the current block.
		ActivationBlockInPast,
		/// The activation block is closer than [`Config::MinLeadTime`] blocks.
		ActivationTooSoon,
		/// The activation block is not after the last scheduled activation block.
		NotAfterLastScheduled,
		/// The measurement is already in the schedule.
		AlreadyScheduled,
		/// The measurement is the active one: it cannot be scheduled again nor cancelled.
		AlreadyActive,
		/// The measurement is retired and can never be scheduled again.
		MeasurementRetired,
		/// The schedule holds [`Config::MaxScheduled`] measurements already.
		ScheduleFull,
		/// The measurement is not in the schedule.
		NotScheduled,
		/// The measurement is retired already.
		AlreadyRetired,
		/// The active measurement cannot be retired: nobody could hand the keys on. Schedule a
		/// successor first and retire this measurement once the successor is active.
		CannotRetireActive,
		/// [`Config::MaxRetired`] measurements are retired already.
		RetiredFull,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			match NextActivation::<T>::get() {
				Some(at) if at <= now => {
					let activated = Self::activate_due(now);
					T::WeightInfo::on_initialize_activation().saturating_mul(activated.into())
				},
				_ => T::WeightInfo::on_initialize_idle(),
			}
		}

		#[cfg(feature = "std")]
		fn integrity_test() {
			assert!(T::MaxScheduled::get() >= 1, "MaxScheduled must allow one successor");
			assert!(T::MaxHistory::get() >= 1, "MaxHistory must keep the immediate predecessor");
			assert!(T::MaxRetired::get() >= 1, "MaxRetired must allow one retirement");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(now: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state(now)
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Allow `measurement` to become the active enclave at block `activates_at`.
		///
		/// The block must be at least [`Config::MinLeadTime`] blocks ahead and after every block
		/// already scheduled. From now until `activates_at` the active enclave may provision its
		/// keys to `measurement`.
		///
		/// Can only be called by [`Config::ScheduleOrigin`]. Emits [`Event::Scheduled`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::schedule_enclave(T::MaxScheduled::get()))]
		pub fn schedule_enclave(
			origin: OriginFor<T>,
			measurement: Measurement,
			activates_at: BlockNumberFor<T>,
		) -> DispatchResult {
			T::ScheduleOrigin::ensure_origin(origin)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(activates_at > now, Error::<T>::ActivationBlockInPast);
			ensure!(
				activates_at >= now.saturating_add(T::MinLeadTime::get()),
				Error::<T>::ActivationTooSoon
			);
			ensure!(!Self::is_retired(&measurement), Error::<T>::MeasurementRetired);
			// Also after other successors: cancelling them would leave the active measurement
			// as its own successor.
			ensure!(
				Active::<T>::get().map(|a| a.measurement) != Some(measurement),
				Error::<T>::AlreadyActive
			);

			Schedule::<T>::try_mutate(|schedule| -> DispatchResult {
				if let Some(last) = schedule.last() {
					ensure!(activates_at > last.activates_at, Error::<T>::NotAfterLastScheduled);
				}
				ensure!(
					!schedule.iter().any(|s| s.measurement == measurement),
					Error::<T>::AlreadyScheduled
				);
				schedule
					.try_push(ScheduledEnclave { measurement, activates_at })
					.map_err(|_| Error::<T>::ScheduleFull)?;
				NextActivation::<T>::set(schedule.first().map(|s| s.activates_at));
				Ok(())
			})?;

			Self::deposit_event(Event::Scheduled { measurement, activates_at });
			Ok(())
		}

		/// Remove `measurement` from the schedule before it activates.
		///
		/// Can only be called by [`Config::ScheduleOrigin`]. Emits [`Event::Canceled`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::cancel_scheduled(T::MaxScheduled::get()))]
		pub fn cancel_scheduled(origin: OriginFor<T>, measurement: Measurement) -> DispatchResult {
			T::ScheduleOrigin::ensure_origin(origin)?;
			let canceled = Self::take_scheduled(&measurement).ok_or_else(|| {
				if Active::<T>::get().map(|a| a.measurement) == Some(measurement) {
					Error::<T>::AlreadyActive
				} else {
					Error::<T>::NotScheduled
				}
			})?;
			Self::deposit_event(Event::Canceled {
				measurement,
				activates_at: canceled.activates_at,
			});
			Ok(())
		}

		/// Retire `measurement` for good: it is removed from the schedule and never provides nor
		/// receives keys again. Use it after a TEE vulnerability affecting that build.
		///
		/// The active measurement cannot be retired (see [`Error::CannotRetireActive`]).
		///
		/// Can only be called by [`Config::RetireOrigin`]. Emits [`Event::Retired`], and
		/// [`Event::Canceled`] first when the measurement was scheduled.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::retire_enclave(
			T::MaxScheduled::get(),
			T::MaxRetired::get(),
		))]
		pub fn retire_enclave(origin: OriginFor<T>, measurement: Measurement) -> DispatchResult {
			T::RetireOrigin::ensure_origin(origin)?;
			ensure!(
				Active::<T>::get().map(|a| a.measurement) != Some(measurement),
				Error::<T>::CannotRetireActive
			);
			Retired::<T>::try_mutate(|retired| -> DispatchResult {
				let index = match retired.binary_search(&measurement) {
					Ok(_) => return Err(Error::<T>::AlreadyRetired.into()),
					Err(index) => index,
				};
				retired.try_insert(index, measurement).map_err(|_| Error::<T>::RetiredFull)?;
				Ok(())
			})?;
			let canceled = Self::take_scheduled(&measurement);
			if let Some(canceled) = canceled {
				Self::deposit_event(Event::Canceled {
					measurement,
					activates_at: canceled.activates_at,
				});
			}
			Self::deposit_event(Event::Retired { measurement, was_scheduled: canceled.is_some() });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Whether `measurement` is retired.
		pub fn is_retired(measurement: &Measurement) -> bool {
			Retired::<T>::get().binary_search(measurement).is_ok()
		}

		/// The measurement active at `block`: from the history for past blocks, from the schedule
		/// for future ones; `None` before the first enclave or beyond the kept history.
		pub fn measurement_at(block: BlockNumberFor<T>) -> Option<Measurement> {
			Self::with_schedule_view(|view| view.measurement_at(block))
		}

		/// [`provisioning_decision`] over this pallet's storage at the current block.
		pub fn provisioning_decision(
			provider: &Measurement,
			requester: &Measurement,
		) -> Decision<BlockNumberFor<T>> {
			let now = frame_system::Pallet::<T>::block_number();
			Self::with_schedule_view(|view| provisioning_decision(view, provider, requester, now))
		}

		/// Runs `f` over a [`ScheduleView`] of this pallet's storage.
		pub fn with_schedule_view<R>(
			f: impl FnOnce(&ScheduleView<'_, BlockNumberFor<T>>) -> R,
		) -> R {
			let superseded = History::<T>::get();
			let scheduled = Schedule::<T>::get();
			let retired = Retired::<T>::get();
			f(&ScheduleView {
				active: Active::<T>::get(),
				superseded: &superseded,
				scheduled: &scheduled,
				retired: &retired,
			})
		}

		/// Removes `measurement` from the schedule, returning its entry.
		fn take_scheduled(
			measurement: &Measurement,
		) -> Option<ScheduledEnclave<BlockNumberFor<T>>> {
			Schedule::<T>::mutate(|schedule| {
				let index = schedule.iter().position(|s| &s.measurement == measurement)?;
				let removed = schedule.remove(index);
				NextActivation::<T>::set(schedule.first().map(|s| s.activates_at));
				Some(removed)
			})
		}

		/// Activates every scheduled measurement whose block has come, in order, and returns how
		/// many. Normally one: blocks are strictly increasing and each block is initialised.
		fn activate_due(now: BlockNumberFor<T>) -> u32 {
			let mut schedule = Schedule::<T>::get();
			let due = schedule.iter().take_while(|s| s.activates_at <= now).count();
			let mut active = Active::<T>::get();
			let mut history = History::<T>::get();
			for next in schedule.iter().take(due) {
				let previous = active.map(|a| a.measurement);
				if let Some(superseded) = active {
					let entry = SupersededEnclave {
						measurement: superseded.measurement,
						activated_at: superseded.since,
						superseded_at: next.activates_at,
					};
					// Appends, evicting the oldest entry when the history is full.
					if let Err(forgotten) = history.force_insert_keep_right(history.len(), entry) {
						frame_support::defensive!(
							forgotten,
							"MaxHistory >= 1 (integrity_test): evicting the oldest makes room"
						);
					}
				}
				active =
					Some(ActiveEnclave { measurement: next.measurement, since: next.activates_at });
				Self::deposit_event(Event::Activated { measurement: next.measurement, previous });
			}
			schedule.retain(|s| s.activates_at > now);
			NextActivation::<T>::set(schedule.first().map(|s| s.activates_at));
			Schedule::<T>::put(schedule);
			History::<T>::put(history);
			Active::<T>::set(active);
			due as u32
		}

		/// Checks the pallet's invariants:
		///
		/// - the schedule's blocks are strictly increasing and all in the future;
		/// - [`NextActivation`] is the schedule's first block;
		/// - no measurement is scheduled twice, and none is both scheduled and retired;
		/// - the active measurement is not retired and not scheduled as its own successor;
		/// - the retired set is sorted without duplicates;
		/// - the history is ordered and its last entry was superseded when the active one began.
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state(now: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			let schedule = Schedule::<T>::get();
			let retired = Retired::<T>::get();
			let history = History::<T>::get();
			let active = Active::<T>::get();

			ensure!(
				schedule.windows(2).all(|w| w[0].activates_at < w[1].activates_at),
				"schedule is not strictly increasing"
			);
			ensure!(schedule.iter().all(|s| s.activates_at > now), "an activation is overdue");
			ensure!(
				NextActivation::<T>::get() == schedule.first().map(|s| s.activates_at),
				"NextActivation does not match the schedule"
			);
			for (i, s) in schedule.iter().enumerate() {
				ensure!(
					!schedule[i + 1..].iter().any(|o| o.measurement == s.measurement),
					"a measurement is scheduled twice"
				);
				ensure!(
					retired.binary_search(&s.measurement).is_err(),
					"a retired measurement is scheduled"
				);
			}
			ensure!(retired.windows(2).all(|w| w[0] < w[1]), "retired set is not sorted");
			if let Some(active) = active {
				ensure!(
					retired.binary_search(&active.measurement).is_err(),
					"the active measurement is retired"
				);
				ensure!(
					schedule.first().map(|s| s.measurement) != Some(active.measurement),
					"the active measurement is its own successor"
				);
				if let Some(last) = history.last() {
					ensure!(
						last.superseded_at == active.since,
						"history does not end where the active enclave began"
					);
				}
			}
			ensure!(
				history.iter().all(|h| h.activated_at <= h.superseded_at)
					&& history.windows(2).all(|w| w[0].superseded_at <= w[1].activated_at),
				"history is not ordered"
			);
			Ok(())
		}
	}
}
