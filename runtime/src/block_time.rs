//! # BlockTime: the chain's slot duration, fixed at genesis
//!
//! Aura's slot duration is the block time, and pallet-timestamp's `MinimumPeriod` is half of it.
//! A runtime usually compiles it in; here it is part of the genesis config instead, so that one
//! runtime serves a production-shaped chain (six-second slots, the default) and development
//! chains whose tests want blocks every fraction of a second. Nothing can change it after
//! genesis: Aura numbers slots by `timestamp / slot duration`, and changing the duration of a
//! running chain would move every later block into another slot.
//!
//! [`SlotDuration`] implements `Get<u64>` for the two pallets' `Config`. Reading it costs one
//! storage read of eight bytes, in blocks' timestamp inherent and in Aura's slot check.

pub use pallet::*;

#[frame_support::pallet]
pub mod pallet {
	use frame_support::pallet_prelude::*;

	/// The pallet.
	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Configuration: none beyond frame-system's.
	#[pallet::config]
	pub trait Config: frame_system::Config {}

	/// The default slot duration: six seconds, a production chain's block time.
	#[pallet::type_value]
	pub fn DefaultSlotDuration() -> u64 {
		crate::MILLI_SECS_PER_BLOCK
	}

	/// The slot duration in milliseconds, set at genesis.
	#[pallet::storage]
	pub type SlotDurationMs<T: Config> = StorageValue<_, u64, ValueQuery, DefaultSlotDuration>;

	/// Genesis configuration.
	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The slot duration in milliseconds: even, and at least [`MIN_SLOT_DURATION_MS`].
		/// Absent means [`DefaultSlotDuration`].
		pub slot_duration_ms: Option<u64>,
		#[serde(skip)]
		#[doc(hidden)]
		pub _config: core::marker::PhantomData<T>,
	}

	/// The shortest slot this runtime accepts: blocks must be authored, gossiped and imported
	/// within it.
	pub const MIN_SLOT_DURATION_MS: u64 = 100;

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			if let Some(duration) = self.slot_duration_ms {
				// A genesis config is checked once, when the chain spec is built: refusing it
				// there is the clear error a chain-spec author needs.
				assert!(
					duration >= MIN_SLOT_DURATION_MS && duration % 2 == 0,
					"blockTime.slotDurationMs must be even and at least {MIN_SLOT_DURATION_MS}, \
					 got {duration}"
				);
				SlotDurationMs::<T>::put(duration);
			}
		}
	}

	impl<T: Config> Pallet<T> {
		/// The slot duration in milliseconds.
		pub fn slot_duration_ms() -> u64 {
			SlotDurationMs::<T>::get()
		}
	}

	/// The slot duration, for Aura's `SlotDuration`.
	pub struct SlotDuration<T>(core::marker::PhantomData<T>);

	impl<T: Config> Get<u64> for SlotDuration<T> {
		fn get() -> u64 {
			SlotDurationMs::<T>::get()
		}
	}

	/// Half the slot duration, for pallet-timestamp's `MinimumPeriod`.
	pub struct HalfSlotDuration<T>(core::marker::PhantomData<T>);

	impl<T: Config> Get<u64> for HalfSlotDuration<T> {
		fn get() -> u64 {
			SlotDurationMs::<T>::get() / 2
		}
	}
}
