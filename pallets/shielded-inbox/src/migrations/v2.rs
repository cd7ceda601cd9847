//! Storage version 1 → 2: the counter of submitted ciphertexts is renamed from `Submitted` to
//! [`TotalSubmitted`].
//!
//! Why: in polkadot.js and subxt the storage item showed up as `query.shieldedInbox.submitted`,
//! the same name as the event `ShieldedInbox.Submitted`, although it is a total over the chain's
//! life, not one submission. The value's type (`u64`) and meaning do not change; only its key
//! does, from `twox128("<PalletName>") ++ twox128("Submitted")` to
//! `twox128("<PalletName>") ++ twox128("TotalSubmitted")`. [`Calls`](crate::Calls), whose layout
//! the worker proves, is not touched.
//!
//! A runtime uses [`MigrateV1ToV2`]; [`InnerMigrateV1ToV2`] is the unversioned step inside it.

use crate::{Config, TotalSubmitted};
use frame_support::{
	traits::{Get, UncheckedOnRuntimeUpgrade},
	weights::Weight,
};

#[cfg(feature = "try-runtime")]
use alloc::vec::Vec;

/// The storage items of storage version 1 that version 2 renamed, declared again with
/// [`storage_alias`](frame_support::storage_alias) so the migration can read and remove them
/// after the pallet itself stopped declaring them.
// `storage_alias` also emits a public `Submitted_Storage_Instance` prefix struct that it gives no
// docs and copies no attributes to, so only the module can allow it; the alias is documented.
#[allow(missing_docs)]
pub mod v1 {
	use frame_support::{pallet_prelude::OptionQuery, storage_alias};

	/// Storage version 1 of [`TotalSubmitted`](crate::TotalSubmitted): the same `u64` under the
	/// key `twox128("<PalletName>") ++ twox128("Submitted")`.
	///
	/// An `OptionQuery`, where the pallet's item is a `ValueQuery`, so that the migration can
	/// tell an absent key (nothing to move) from a stored value.
	#[storage_alias]
	pub type Submitted<T: crate::Config> = StorageValue<crate::Pallet<T>, u64, OptionQuery>;
}

/// Moves the counter from [`v1::Submitted`] to [`TotalSubmitted`], without looking at the
/// storage version.
///
/// Do not put this in a runtime: it would run on every upgrade. Use [`MigrateV1ToV2`], which runs
/// it only at storage version 1 and then sets version 2.
pub struct InnerMigrateV1ToV2<T>(core::marker::PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV1ToV2<T> {
	/// Records the v1 counter and whatever the new key already holds, both as `Option<u64>`, for
	/// [`post_upgrade`](Self::post_upgrade) to check against.
	#[cfg(feature = "try-runtime")]
	fn pre_upgrade() -> Result<Vec<u8>, sp_runtime::TryRuntimeError> {
		use codec::Encode;

		let old = v1::Submitted::<T>::get();
		// `try_get`, not `get`: an absent `TotalSubmitted` must stay absent, which `get`'s
		// default of 0 would hide.
		let new = TotalSubmitted::<T>::try_get().ok();
		Ok((old, new).encode())
	}

	/// Takes the v1 counter, if any, and adds it to [`TotalSubmitted`].
	///
	/// Weight: one read when there is no v1 counter; otherwise two reads and two writes (taking
	/// the old key reads and removes it; adding to the new key reads and writes it).
	fn on_runtime_upgrade() -> Weight {
		let Some(old) = v1::Submitted::<T>::take() else {
			// A v1 chain where nothing was ever submitted has no counter (the `ValueQuery`
			// default 0 is never stored), and 0 is also what the renamed item reads.
			return T::DbWeight::get().reads(1);
		};
		// Normally the new key is absent here and this writes `old`. It can hold a value if a
		// runtime with this pallet version ran blocks before the migration did (say the upgrade
		// that brought it forgot the migration, so the on-chain version stayed 1): those blocks
		// counted their submissions from 0 under the new key, and those submissions are distinct
		// from the ones counted under the old key, so the total is the sum. Saturating, like the
		// counting itself in `submit`: `u64` does not overflow in practice, and a migration must
		// not panic.
		TotalSubmitted::<T>::mutate(|total| *total = total.saturating_add(old));
		T::DbWeight::get().reads_writes(2, 2)
	}

	/// Checks, against what [`pre_upgrade`](Self::pre_upgrade) recorded, that:
	///
	/// - [`TotalSubmitted`] holds the v1 counter plus what it held before (and is still absent if
	///   both were);
	/// - the v1 key is gone;
	/// - the on-chain storage version is 2, which [`MigrateV1ToV2`] sets before calling this.
	#[cfg(feature = "try-runtime")]
	fn post_upgrade(state: Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
		use crate::Pallet;
		use codec::Decode;
		use frame_support::{ensure, traits::GetStorageVersion};

		let (old, new) = <(Option<u64>, Option<u64>)>::decode(&mut &state[..])
			.map_err(|_| "v2 migration: the pre_upgrade state does not decode")?;
		let expected = match (old, new) {
			(None, None) => None,
			_ => Some(old.unwrap_or(0).saturating_add(new.unwrap_or(0))),
		};
		ensure!(
			TotalSubmitted::<T>::try_get().ok() == expected,
			"v2 migration: TotalSubmitted does not hold the v1 Submitted counter"
		);
		ensure!(!v1::Submitted::<T>::exists(), "v2 migration: the v1 Submitted key still exists");
		ensure!(
			Pallet::<T>::on_chain_storage_version() == 2,
			"v2 migration: the on-chain storage version is not 2"
		);
		Ok(())
	}
}

/// The v1 → v2 migration a runtime adds to its single-block migrations (see the crate docs,
/// "Migrations"): runs [`InnerMigrateV1ToV2`] only if the on-chain storage version is 1, then
/// sets it to 2, and counts the read and the write of the version in its weight. At any other
/// on-chain version it is a no-op of one read, so it is safe to leave in the runtime for a while.
pub type MigrateV1ToV2<T> = frame_support::migrations::VersionedMigration<
	1,
	2,
	InnerMigrateV1ToV2<T>,
	crate::pallet::Pallet<T>,
	<T as frame_system::Config>::DbWeight,
>;

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{mock::*, Pallet};
	use codec::Encode;
	use frame_support::{
		assert_ok,
		traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion},
	};
	use sp_crypto_hashing::twox_128;

	/// The test runtime's database weights: distinct read and write costs, so a weight tells how
	/// many of each it counts.
	fn db() -> frame_support::weights::RuntimeDbWeight {
		<Test as frame_system::Config>::DbWeight::get()
	}

	/// The key of the counter under `item`, as clients compute it.
	fn raw_key(item: &[u8]) -> Vec<u8> {
		[twox_128(b"ShieldedInbox"), twox_128(item)].concat()
	}

	/// Puts the test chain back at storage version 1, as a chain started on the previous runtime.
	fn at_storage_version_1() {
		StorageVersion::new(1).put::<Pallet<Test>>();
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 1);
	}

	#[test]
	fn the_v1_alias_and_the_v2_item_use_the_documented_keys() {
		new_test_ext().execute_with(|| {
			assert_eq!(v1::Submitted::<Test>::hashed_key().to_vec(), raw_key(b"Submitted"));
			assert_eq!(TotalSubmitted::<Test>::hashed_key().to_vec(), raw_key(b"TotalSubmitted"));
		});
	}

	#[test]
	fn a_fresh_chain_starts_at_storage_version_2() {
		new_test_ext().execute_with(|| {
			assert_eq!(Pallet::<Test>::on_chain_storage_version(), 2);
			assert_eq!(Pallet::<Test>::in_code_storage_version(), 2);
			// So the migration does nothing there but read the version.
			assert_eq!(MigrateV1ToV2::<Test>::on_runtime_upgrade(), db().reads(1));
			assert!(!TotalSubmitted::<Test>::exists());
		});
	}

	#[test]
	fn the_migration_moves_the_v1_counter_to_total_submitted_and_sets_version_2() {
		new_test_ext().execute_with(|| {
			at_storage_version_1();
			v1::Submitted::<Test>::put(42);
			assert_eq!(sp_io::storage::get(&raw_key(b"Submitted")), Some(42u64.encode().into()));
			assert!(!TotalSubmitted::<Test>::exists());

			let weight = MigrateV1ToV2::<Test>::on_runtime_upgrade();

			assert_eq!(TotalSubmitted::<Test>::get(), 42);
			assert_eq!(
				sp_io::storage::get(&raw_key(b"TotalSubmitted")),
				Some(42u64.encode().into())
			);
			assert_eq!(sp_io::storage::get(&raw_key(b"Submitted")), None);
			assert_eq!(v1::Submitted::<Test>::get(), None);
			assert_eq!(Pallet::<Test>::on_chain_storage_version(), 2);
			// The inner step's 2 reads and 2 writes, and the version's read and write.
			assert_eq!(weight, db().reads_writes(3, 3));
			assert_ok!(Pallet::<Test>::do_try_state());
		});
	}

	#[test]
	fn running_the_migration_again_is_a_noop() {
		new_test_ext().execute_with(|| {
			at_storage_version_1();
			v1::Submitted::<Test>::put(42);
			MigrateV1ToV2::<Test>::on_runtime_upgrade();
			assert_eq!(TotalSubmitted::<Test>::get(), 42);

			// A value under the old key would be moved by the inner step: that it stays shows it
			// is the version check that makes the second run a no-op.
			v1::Submitted::<Test>::put(7);
			let weight = MigrateV1ToV2::<Test>::on_runtime_upgrade();

			assert_eq!(weight, db().reads(1));
			assert_eq!(TotalSubmitted::<Test>::get(), 42);
			assert_eq!(v1::Submitted::<Test>::get(), Some(7));
			assert_eq!(Pallet::<Test>::on_chain_storage_version(), 2);
		});
	}

	#[test]
	fn a_v1_chain_without_a_counter_migrates_to_an_absent_total() {
		new_test_ext().execute_with(|| {
			at_storage_version_1();

			let weight = MigrateV1ToV2::<Test>::on_runtime_upgrade();

			// Absent, not a stored 0: the migration writes nothing it did not have to.
			assert!(!TotalSubmitted::<Test>::exists());
			assert_eq!(TotalSubmitted::<Test>::get(), 0);
			assert!(!v1::Submitted::<Test>::exists());
			assert_eq!(Pallet::<Test>::on_chain_storage_version(), 2);
			// The inner step's one read, and the version's read and write.
			assert_eq!(weight, db().reads_writes(2, 1));
		});
	}

	#[test]
	fn a_total_already_under_the_new_key_is_added_to_the_moved_counter() {
		new_test_ext().execute_with(|| {
			at_storage_version_1();
			v1::Submitted::<Test>::put(5);
			TotalSubmitted::<Test>::put(3);

			let weight = MigrateV1ToV2::<Test>::on_runtime_upgrade();

			assert_eq!(TotalSubmitted::<Test>::get(), 8);
			assert!(!v1::Submitted::<Test>::exists());
			assert_eq!(weight, db().reads_writes(3, 3));
		});
	}

	#[test]
	fn adding_to_a_total_already_under_the_new_key_saturates() {
		new_test_ext().execute_with(|| {
			at_storage_version_1();
			v1::Submitted::<Test>::put(u64::MAX - 1);
			TotalSubmitted::<Test>::put(2);

			MigrateV1ToV2::<Test>::on_runtime_upgrade();

			assert_eq!(TotalSubmitted::<Test>::get(), u64::MAX);
			assert!(!v1::Submitted::<Test>::exists());
		});
	}

	#[test]
	fn the_pallet_keeps_counting_from_the_migrated_total() {
		new_test_ext().execute_with(|| {
			at_storage_version_1();
			v1::Submitted::<Test>::put(42);
			MigrateV1ToV2::<Test>::on_runtime_upgrade();

			let ciphertext = frame_support::BoundedVec::try_from(b"sealed".to_vec()).unwrap();
			assert_ok!(ShieldedInbox::submit(RuntimeOrigin::signed(1), ciphertext));

			assert_eq!(TotalSubmitted::<Test>::get(), 43);
			assert!(!v1::Submitted::<Test>::exists());
			assert_ok!(Pallet::<Test>::do_try_state());
		});
	}

	/// The try-runtime checks, as `try-runtime-cli` and `Executive::try_runtime_upgrade` run
	/// them: `pre_upgrade`, the migration, then `post_upgrade` on `pre_upgrade`'s state.
	#[cfg(feature = "try-runtime")]
	mod try_runtime {
		use super::*;

		/// Sets up a v1 chain with `old` under the old key and `new` under the new one.
		fn v1_chain(old: Option<u64>, new: Option<u64>) {
			at_storage_version_1();
			if let Some(old) = old {
				v1::Submitted::<Test>::put(old);
			}
			if let Some(new) = new {
				TotalSubmitted::<Test>::put(new);
			}
		}

		#[test]
		fn the_checks_pass_for_every_v1_state() {
			for (old, new, total) in [
				(Some(42), None, Some(42)),
				(None, None, None),
				(Some(5), Some(3), Some(8)),
				(None, Some(3), Some(3)),
			] {
				new_test_ext().execute_with(|| {
					v1_chain(old, new);
					let weight = MigrateV1ToV2::<Test>::try_on_runtime_upgrade(true)
						.unwrap_or_else(|e| panic!("checks fail for {old:?}, {new:?}: {e:?}"));
					assert_eq!(TotalSubmitted::<Test>::try_get().ok(), total);
					assert!(!v1::Submitted::<Test>::exists());
					assert_eq!(Pallet::<Test>::on_chain_storage_version(), 2);
					let inner = if old.is_some() { db().reads_writes(2, 2) } else { db().reads(1) };
					assert_eq!(weight, inner.saturating_add(db().reads_writes(1, 1)));
				});
			}
		}

		#[test]
		fn the_checks_pass_when_the_migration_already_ran() {
			new_test_ext().execute_with(|| {
				TotalSubmitted::<Test>::put(42);
				assert_eq!(MigrateV1ToV2::<Test>::try_on_runtime_upgrade(true), Ok(db().reads(1)));
				assert_eq!(TotalSubmitted::<Test>::get(), 42);
			});
		}

		#[test]
		fn post_upgrade_fails_if_the_total_was_tampered_with() {
			new_test_ext().execute_with(|| {
				v1_chain(Some(42), None);
				let state = MigrateV1ToV2::<Test>::pre_upgrade().unwrap();
				MigrateV1ToV2::<Test>::on_runtime_upgrade();

				TotalSubmitted::<Test>::put(43);
				assert!(MigrateV1ToV2::<Test>::post_upgrade(state.clone()).is_err());
				TotalSubmitted::<Test>::kill();
				assert!(MigrateV1ToV2::<Test>::post_upgrade(state.clone()).is_err());

				// The same state passes once the moved value is back: it was the tampering.
				TotalSubmitted::<Test>::put(42);
				assert_ok!(MigrateV1ToV2::<Test>::post_upgrade(state));
			});
		}

		#[test]
		fn post_upgrade_fails_if_a_total_appears_from_nothing() {
			new_test_ext().execute_with(|| {
				v1_chain(None, None);
				let state = MigrateV1ToV2::<Test>::pre_upgrade().unwrap();
				MigrateV1ToV2::<Test>::on_runtime_upgrade();

				// Even a stored 0, which reads like the absent value.
				TotalSubmitted::<Test>::put(0);
				assert!(MigrateV1ToV2::<Test>::post_upgrade(state.clone()).is_err());

				TotalSubmitted::<Test>::kill();
				assert_ok!(MigrateV1ToV2::<Test>::post_upgrade(state));
			});
		}

		#[test]
		fn post_upgrade_fails_if_the_old_key_survives() {
			new_test_ext().execute_with(|| {
				v1_chain(Some(42), None);
				let state = MigrateV1ToV2::<Test>::pre_upgrade().unwrap();
				MigrateV1ToV2::<Test>::on_runtime_upgrade();

				v1::Submitted::<Test>::put(42);
				assert!(MigrateV1ToV2::<Test>::post_upgrade(state.clone()).is_err());

				v1::Submitted::<Test>::kill();
				assert_ok!(MigrateV1ToV2::<Test>::post_upgrade(state));
			});
		}

		#[test]
		fn post_upgrade_fails_if_the_storage_version_is_not_2() {
			new_test_ext().execute_with(|| {
				v1_chain(Some(42), None);
				// The inner step alone moves the value but leaves the version at 1.
				let state = InnerMigrateV1ToV2::<Test>::pre_upgrade().unwrap();
				InnerMigrateV1ToV2::<Test>::on_runtime_upgrade();
				assert_eq!(
					InnerMigrateV1ToV2::<Test>::post_upgrade(state),
					Err("v2 migration: the on-chain storage version is not 2".into())
				);
				assert_eq!(TotalSubmitted::<Test>::get(), 42);
				assert_eq!(Pallet::<Test>::on_chain_storage_version(), 1);
			});
		}

		#[test]
		fn post_upgrade_fails_on_a_state_pre_upgrade_did_not_produce() {
			new_test_ext().execute_with(|| {
				v1_chain(Some(42), None);
				MigrateV1ToV2::<Test>::on_runtime_upgrade();
				// The state `VersionedMigration` wraps: "migration executed", inner bytes that
				// are not an `(Option<u64>, Option<u64>)`.
				let garbage =
					frame_support::migrations::VersionedPostUpgradeData::MigrationExecuted(
						alloc::vec![7],
					)
					.encode();
				assert!(MigrateV1ToV2::<Test>::post_upgrade(garbage).is_err());
			});
		}
	}
}
