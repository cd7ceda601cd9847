//! # DevAuthorities: authority-set changes on development chains
//!
//! A production chain changes its GRANDPA authority set through its session pallet, at session
//! boundaries. The development runtime has no sessions, so this pallet gives root (sudo) one
//! call to schedule a change: [`Pallet::schedule_grandpa_change`]. It exists so that the
//! workers' light clients can be shown to follow a real set change on a running chain
//! (`tests/finality.rs`). A production runtime does not include it.
//!
//! The change goes through pallet-grandpa's own `schedule_change` (a regular change, never a
//! forced one): the block that calls it signals a `ScheduledChange` digest, and the block
//! `delay` blocks later enacts it. `Grandpa::CurrentSetId` counts the change, as the session
//! pallet's hook does on a chain with sessions.

pub use pallet::*;

#[frame_support::pallet]
pub mod pallet {
	use alloc::vec::Vec;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use sp_consensus_grandpa::AuthorityId;

	/// The pallet.
	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Configuration.
	#[pallet::config]
	pub trait Config: frame_system::Config + pallet_grandpa::Config {}

	/// Errors.
	#[pallet::error]
	pub enum Error<T> {
		/// pallet-grandpa refused the change: another change is pending.
		ChangePending,
		/// The next set is empty, has an authority of weight zero, or more authorities than
		/// pallet-grandpa's `MaxAuthorities`.
		InvalidSet,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Schedules a GRANDPA authority-set change to `next` (the current authorities when
		/// `None`), enacted `delay` blocks after this one. Root only.
		#[pallet::call_index(0)]
		#[pallet::weight({
			let authorities = next.as_ref().map_or(T::MaxAuthorities::get(), |n| n.len() as u32);
			// Reads PendingChange, NextForced and Authorities; writes PendingChange and
			// CurrentSetId; plus the copy of the list.
			T::DbWeight::get()
				.reads_writes(3, 2)
				.saturating_add(Weight::from_parts(50_000 * u64::from(authorities), 40 * u64::from(authorities)))
		})]
		pub fn schedule_grandpa_change(
			origin: OriginFor<T>,
			next: Option<Vec<(AuthorityId, u64)>>,
			delay: BlockNumberFor<T>,
		) -> DispatchResult {
			ensure_root(origin)?;
			let next = match next {
				Some(next) => next,
				None => pallet_grandpa::Authorities::<T>::get().into_inner(),
			};
			ensure!(
				!next.is_empty()
					&& next.len() <= T::MaxAuthorities::get() as usize
					&& next.iter().all(|(_, weight)| *weight > 0),
				Error::<T>::InvalidSet
			);
			pallet_grandpa::Pallet::<T>::schedule_change(next, delay, None)
				.map_err(|_| Error::<T>::ChangePending)?;
			pallet_grandpa::CurrentSetId::<T>::mutate(|id| *id = id.saturating_add(1));
			Ok(())
		}
	}
}
