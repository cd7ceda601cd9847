//! # ShieldedInbox Pallet
//!
//! An on-chain inbox of shielded calls: ciphertexts that users encrypt to the TEE worker's
//! shielding key (HPKE) and that only the worker, inside its enclave, can open.
//!
//! ## Pallet API
//!
//! See the [`pallet`] module for the [`Config`], the [`Call`]s, the [`Event`]s and the
//! [`Error`]s.
//!
//! ## Overview
//!
//! The chain orders shielded calls; it cannot read them. Any signed account submits an opaque
//! ciphertext, at most [`Config::MaxCallLen`] bytes, and the pallet appends it to [`Calls`]: the
//! ciphertexts of the current block, in inclusion order, at most [`Config::MaxCallsPerBlock`].
//! [`Hooks::on_initialize`](frame_support::traits::Hooks::on_initialize) empties the inbox at
//! the start of the next block, so the state after block `n` holds exactly the calls included in
//! block `n`.
//!
//! The worker reads that one storage value per block with a storage read proof checked against
//! the block's state root, decrypts each ciphertext with its shielding key and applies it to its
//! encrypted state. The pallet does not, and cannot, check a ciphertext: one that does not
//! decrypt, or decrypts to an invalid call, is the worker's to skip. The transaction fee and the
//! per-block bound are what limit spam.
//!
//! ## Interface
//!
//! ### Dispatchable functions
//!
//! - [`submit`](Pallet::submit): append a ciphertext to the current block's inbox.
//!
//! ### Storage
//!
//! - [`Calls`]: the ciphertexts submitted in the current block, in inclusion order.
//! - [`TotalSubmitted`]: how many ciphertexts were ever submitted, for operators (named `Submitted`
//!   up to storage version 1, see [Migrations](#migrations)).
//!
//! ## Usage
//!
//! Wiring the pallet into a runtime (the test runtime's configuration):
#![doc = docify::embed!("src/mock.rs", config)]
//!
//! and in the runtime declaration, under the name the worker reads (`ShieldedInbox`, compiled
//! into the worker's build), e.g. `#[runtime::pallet_index(11)] pub type ShieldedInbox =
//! pallet_shielded_inbox;`.
//!
//! A client submits `ShieldedInbox::submit(ciphertext)` as a signed extrinsic.
//!
//! ## Storage layout the worker relies on
//!
//! The worker proves a single storage value per block, so this layout is a contract and must not
//! change without the worker changing with it:
//!
//! - key: `twox128("<PalletName>") ++ twox128("Calls")`, where `<PalletName>` is the pallet's name
//!   in the runtime (`ShieldedInbox` in the development runtime);
//! - value: the SCALE encoding of `Vec<Vec<u8>>` (a bounded vector encodes as a vector), the
//!   ciphertexts in inclusion order; an absent value is an empty inbox.
//!
//! The storage-version-2 migration (see [Migrations](#migrations)) leaves it untouched.
//!
//! ## Migrations
//!
//! The pallet is at storage version 2. A runtime whose chain started on an older version of the
//! pallet runs the migrations from its on-chain version up, once, in its `Executive`:
//!
//! - **v1 → v2**, [`migrations::v2::MigrateV1ToV2`]: the counter of submitted ciphertexts moves
//!   from `Submitted` to [`TotalSubmitted`]. Its type (`u64`) and meaning are unchanged; only its
//!   key moves, from `twox128("<PalletName>") ++ twox128("Submitted")` to `twox128("<PalletName>")
//!   ++ twox128("TotalSubmitted")`. The reason is the name clients see: in polkadot.js and subxt
//!   the storage item was `query.shieldedInbox.submitted`, the same name as the event
//!   `ShieldedInbox.Submitted`, and the counter is a total, not one submission.
//!
//! The migration is a [`VersionedMigration`](frame_support::migrations::VersionedMigration):
//! it runs only while the on-chain storage version is 1 and then sets it to 2, so a runtime can
//! leave it in its tuple for an upgrade or two and a second run is a no-op. A chain created with
//! this version of the pallet starts at storage version 2 and never runs it.
//!
//! A runtime adds `pallet_shielded_inbox::migrations::v2::MigrateV1ToV2<Runtime>` to the
//! single-block migrations its `Executive` runs on the upgrade: `frame_system`'s
//! `SingleBlockMigrations` (the migrations tuple that `Executive` runs before the pallets'
//! `on_runtime_upgrade` hooks; `Executive`'s own sixth type parameter is deprecated for it):
//!
//! `pub type Migrations = (pallet_shielded_inbox::migrations::v2::MigrateV1ToV2<Runtime>,);`
//! and `type SingleBlockMigrations = Migrations;` in its `frame_system::Config`, as the
//! development runtime does (`runtime/src/lib.rs`, whose try-runtime test runs it).
//!
//! Under the `try-runtime` feature its `pre_upgrade` and `post_upgrade` hooks check that the
//! value arrived under the new key, that the old key is gone and that the on-chain storage
//! version is 2.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod migrations;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

pub use pallet::*;
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;

	/// The in-code storage version.
	///
	/// - 1: the counter of submitted ciphertexts is stored as `Submitted`.
	/// - 2: it is stored as [`TotalSubmitted`]; [`migrations::v2::MigrateV1ToV2`] moves it.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(2);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the pallet.
	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The maximum length of one ciphertext, in bytes.
		#[pallet::constant]
		type MaxCallLen: Get<u32>;

		/// The maximum number of ciphertexts one block may include.
		#[pallet::constant]
		type MaxCallsPerBlock: Get<u32>;

		/// Weight information for the calls and hooks of this pallet.
		type WeightInfo: WeightInfo;
	}

	/// One ciphertext, as submitted.
	pub type Ciphertext<T> = BoundedVec<u8, <T as Config>::MaxCallLen>;

	/// The ciphertexts submitted in the current block, in inclusion order; emptied at the start
	/// of the next block. The worker reads this value with a storage proof: see the crate docs,
	/// "Storage layout the worker relies on".
	#[pallet::storage]
	pub type Calls<T: Config> =
		StorageValue<_, BoundedVec<BoundedVec<u8, T::MaxCallLen>, T::MaxCallsPerBlock>, ValueQuery>;

	/// How many ciphertexts were ever submitted.
	///
	/// Named `Submitted` up to storage version 1; renamed in storage version 2 (see the crate
	/// docs, "Migrations") so that clients do not confuse `query.shieldedInbox.totalSubmitted`
	/// with the event [`Event::Submitted`].
	#[pallet::storage]
	pub type TotalSubmitted<T: Config> = StorageValue<_, u64, ValueQuery>;

	/// Events of this pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A ciphertext was added to the current block's inbox.
		Submitted {
			/// The submitting account.
			who: T::AccountId,
			/// Its position in [`Calls`] for this block.
			index: u32,
			/// Its length in bytes.
			len: u32,
		},
	}

	/// Errors of this pallet.
	#[pallet::error]
	pub enum Error<T> {
		/// The current block holds [`Config::MaxCallsPerBlock`] ciphertexts already.
		InboxFull,
		/// The ciphertext is empty: no encryption produces zero bytes.
		EmptyCall,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(_now: BlockNumberFor<T>) -> Weight {
			// An emptied inbox is absent from storage, so `exists` tells the two cases apart
			// without reading the calls.
			if Calls::<T>::exists() {
				Calls::<T>::kill();
				T::WeightInfo::on_initialize_clear()
			} else {
				T::WeightInfo::on_initialize_empty()
			}
		}

		#[cfg(feature = "std")]
		fn integrity_test() {
			assert!(T::MaxCallLen::get() > 0, "MaxCallLen must allow a non-empty ciphertext");
			assert!(T::MaxCallsPerBlock::get() > 0, "MaxCallsPerBlock must allow one call");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_now: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Append `ciphertext`, encrypted to the worker's shielding key, to the current block's
		/// inbox. The pallet cannot check its content.
		///
		/// Can be called by any signed account. Emits [`Event::Submitted`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::submit())]
		pub fn submit(origin: OriginFor<T>, ciphertext: Ciphertext<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!ciphertext.is_empty(), Error::<T>::EmptyCall);
			let index = Calls::<T>::decode_len().unwrap_or(0) as u32;
			let len = ciphertext.len() as u32;
			// Appends without decoding the calls already in the inbox.
			Calls::<T>::try_append(ciphertext).map_err(|_| Error::<T>::InboxFull)?;
			TotalSubmitted::<T>::mutate(|total| *total = total.saturating_add(1));
			Self::deposit_event(Event::Submitted { who, index, len });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Checks the pallet's invariants on the raw stored value, which a bounded decode would
		/// silently turn into an empty inbox:
		///
		/// - [`Calls`] decodes as `Vec<Vec<u8>>` and holds at most [`Config::MaxCallsPerBlock`]
		///   ciphertexts;
		/// - each ciphertext is non-empty and at most [`Config::MaxCallLen`] bytes;
		/// - [`TotalSubmitted`] counts at least the ciphertexts in [`Calls`].
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let raw = frame_support::storage::unhashed::get_raw(&Calls::<T>::hashed_key());
			let calls = match raw {
				Some(raw) => alloc::vec::Vec::<alloc::vec::Vec<u8>>::decode(&mut &raw[..])
					.map_err(|_| "Calls does not decode as Vec<Vec<u8>>")?,
				None => alloc::vec::Vec::new(),
			};
			ensure!(
				calls.len() <= T::MaxCallsPerBlock::get() as usize,
				"Calls holds more than MaxCallsPerBlock ciphertexts"
			);
			ensure!(
				calls.iter().all(|c| !c.is_empty() && c.len() <= T::MaxCallLen::get() as usize),
				"a ciphertext is empty or longer than MaxCallLen"
			);
			ensure!(
				TotalSubmitted::<T>::get() >= calls.len() as u64,
				"TotalSubmitted counts fewer ciphertexts than Calls holds"
			);
			Ok(())
		}
	}
}
