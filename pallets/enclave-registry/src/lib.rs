//! # EnclaveRegistry Pallet
//!
//! The chain's record of the enclaves that hold its keys: each registration is an attested
//! enclave (a DCAP quote verified **in the runtime**), bound to the account that registers it,
//! its signing key, its URL, the shielding key users encrypt to, and the checksum of the key
//! set it holds.
//!
//! ## Pallet API
//!
//! See the [`pallet`] module for the [`Config`], the [`Call`]s, the [`Event`]s and the
//! [`Error`]s; [`attestation`] for the verification itself.
//!
//! ## Overview
//!
//! Key material is authentic because it is in the ledger, not because an operator's file says
//! so. A worker registers with [`register_enclave`](Pallet::register_enclave):
//!
//! - its quote is verified by `dcap-qvl` built `no_std` into the wasm runtime, on its pure-Rust
//!   (RustCrypto) backend, with the collateral sent in the same call, at the time of
//!   `pallet_timestamp` ([`Config::Time`]);
//! - the runtime's attestation policy applies: debug enclaves are refused, the TCB status must be
//!   one [`Config::AcceptedTcb`] contains, and [`Config::SignerPin`] optionally pins the SGX
//!   MRSIGNER; simulated quotes pass only where [`Config::SimulatedEvidence`] accepts them
//!   (development chains);
//! - the quote's report data must be [`enclave_update_primitives::RegistrationBinding`] of the
//!   registering account and the registered keys;
//! - the measurement must be active or scheduled in `EnclaveUpdate` ([`Config::Schedule`]);
//! - the first registration fixes the chain's key-set checksum ([`KeySet`]); a registration with
//!   another checksum is refused, so that a key set created by a stray `init` anywhere is useless.
//!
//! Registering again renews the record (re-attestation: a fresh quote, fresh collateral, maybe
//! a new URL). A record goes when its measurement is done with the keys: retired, cancelled
//! before its activation, superseded before the active enclave's predecessor, or the active
//! enclave's predecessor once its cut-over commitment is on chain (its last hand-over, the
//! state, is done). The pallet removes such records in blocks' idle time
//! ([`Hooks::on_idle`](frame_support::traits::Hooks::on_idle)): a pass over the records, resumed
//! where the block's remaining weight stopped it, starts every [`Config::PruneInterval`] blocks
//! and right after a commitment. Anyone can remove one at once
//! ([`prune_enclave`](Pallet::prune_enclave)), and an enclave's account can deregister it.
//!
//! At a cut-over, the predecessor's enclave signs a commitment to its final state with its
//! registered key, and its account submits it ([`commit_cut_over`](Pallet::commit_cut_over)):
//! the signature must be the record's key's, the enclave's measurement must have been superseded
//! right after the committed block, and the block hash must be the chain's ([`CutOvers`]). The
//! successor takes the predecessor's snapshot only if it is the committed state, so a snapshot
//! written by any other holder of the state key is refused.
//!
//! ## Why the collateral travels with the call
//!
//! The alternative, collateral stored on chain and refreshed by anyone (Integritee's teerex),
//! keeps calls small but adds storage, its own refresh calls, and a state where every
//! registration fails until someone refreshes an expired TCB info. Collateral with the call
//! (Phala's choice) is verified by exactly the same chain of signatures to Intel's root
//! compiled into the runtime, so a submitter can choose only among genuine collateral, and its
//! validity window is checked against the chain's time; a registration is self-contained and
//! storage holds only the records. The price is the call's length (about 20 KiB of collateral
//! on top of a 5 KiB quote), which the weight's proof size and the length fee pay for.
//!
//! ## Usage
//!
//! The test runtime's configuration:
#![doc = docify::embed!("src/mock.rs", config)]
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub mod attestation;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

pub use attestation::{
	AcceptDevSignedSimulated, AttestedEnclave, EvidenceKind, RefuseSimulated, SimulatedEvidence,
	TcbStatus,
};
pub use enclave_update_primitives::Measurement;
pub use pallet::*;
pub use weights::WeightInfo;

use frame_system::pallet_prelude::BlockNumberFor;

/// Where a measurement stands in the governed schedule (`EnclaveUpdate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
	/// The active measurement.
	Active,
	/// Scheduled to become active.
	Scheduled,
	/// Superseded by the active measurement, which it may still hand the keys to.
	Predecessor,
	/// Superseded before that, or never scheduled.
	Gone,
	/// Retired: it never provides nor receives keys again.
	Retired,
}

/// The schedule the registry asks where a measurement stands.
pub trait MeasurementSchedule<BlockNumber> {
	/// Where `measurement` stands now.
	fn standing(measurement: &Measurement) -> Standing;

	/// The block `measurement`'s successor became active at, when it has been superseded: its
	/// last block is the one before (its most recent stretch, if it had several).
	fn superseded_at(measurement: &Measurement) -> Option<BlockNumber>;

	/// Makes `measurement` the active one, for benchmarks that need one.
	#[cfg(feature = "runtime-benchmarks")]
	fn make_active_for_benchmarks(measurement: &Measurement);

	/// Records `measurement` as superseded at `at`, for benchmarks that need a cut-over.
	#[cfg(feature = "runtime-benchmarks")]
	fn make_superseded_for_benchmarks(measurement: &Measurement, at: BlockNumber);
}

impl<T: pallet_enclave_update::Config> MeasurementSchedule<BlockNumberFor<T>>
	for pallet_enclave_update::Pallet<T>
{
	fn standing(measurement: &Measurement) -> Standing {
		if Self::is_retired(measurement) {
			return Standing::Retired;
		}
		let active = pallet_enclave_update::Active::<T>::get().map(|a| a.measurement);
		if active == Some(*measurement) {
			return Standing::Active;
		}
		if pallet_enclave_update::Schedule::<T>::get()
			.iter()
			.any(|s| s.measurement == *measurement)
		{
			return Standing::Scheduled;
		}
		let predecessor = pallet_enclave_update::History::<T>::get().last().map(|s| s.measurement);
		if predecessor == Some(*measurement) {
			return Standing::Predecessor;
		}
		Standing::Gone
	}

	fn superseded_at(measurement: &Measurement) -> Option<BlockNumberFor<T>> {
		pallet_enclave_update::History::<T>::get()
			.iter()
			.rev()
			.find(|s| s.measurement == *measurement)
			.map(|s| s.superseded_at)
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn make_active_for_benchmarks(measurement: &Measurement) {
		let since = frame_system::Pallet::<T>::block_number();
		pallet_enclave_update::Active::<T>::put(pallet_enclave_update::ActiveEnclave {
			measurement: *measurement,
			since,
		});
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn make_superseded_for_benchmarks(measurement: &Measurement, at: BlockNumberFor<T>) {
		pallet_enclave_update::History::<T>::mutate(|history| {
			if history.is_full() {
				history.remove(0);
			}
			let entry = pallet_enclave_update::SupersededEnclave {
				measurement: *measurement,
				activated_at: Default::default(),
				superseded_at: at,
			};
			history.try_push(entry).expect("room was made");
		});
	}
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use codec::{Decode, DecodeWithMemTracking, Encode};
	use enclave_update_primitives::{CutOverCommitment, RegistrationBinding};
	use frame_support::{
		pallet_prelude::*,
		traits::{Contains, UnixTime},
		weights::WeightMeter,
	};
	use frame_system::pallet_prelude::*;
	use scale_info::TypeInfo;

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the pallet.
	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// Where a measurement stands in the governed schedule: `pallet_enclave_update::Pallet`.
		type Schedule: MeasurementSchedule<BlockNumberFor<Self>>;

		/// The chain's time, which the collateral must be valid at: `pallet_timestamp`.
		type Time: UnixTime;

		/// The TCB statuses the runtime accepts.
		type AcceptedTcb: Contains<TcbStatus>;

		/// The MRSIGNER every SGX enclave must have, if any.
		type SignerPin: Get<Option<[u8; 32]>>;

		/// Whether simulated quotes are accepted: [`RefuseSimulated`] in production runtimes,
		/// [`AcceptDevSignedSimulated`] on development chains only.
		type SimulatedEvidence: SimulatedEvidence;

		/// The longest evidence (quote) accepted.
		#[pallet::constant]
		type MaxEvidenceLen: Get<u32>;

		/// The longest SCALE-encoded collateral accepted.
		#[pallet::constant]
		type MaxCollateralLen: Get<u32>;

		/// The longest URL accepted.
		#[pallet::constant]
		type MaxUrlLen: Get<u32>;

		/// How many blocks apart the idle-time passes that remove the records of measurements
		/// done with the keys start (a cut-over commitment starts one at once): the longest a
		/// retired or superseded measurement's record stays after the change.
		#[pallet::constant]
		type PruneInterval: Get<BlockNumberFor<Self>>;

		/// Weight information for the calls of this pallet.
		type WeightInfo: WeightInfo;
	}

	/// A registered enclave, with its URL bounded by `MaxUrlLen` (the type the worker reads too:
	/// [`enclave_update_primitives::registry::EnclaveRecord`]).
	pub type EnclaveRecord<BlockNumber, MaxUrlLen> =
		enclave_update_primitives::registry::EnclaveRecord<BoundedVec<u8, MaxUrlLen>, BlockNumber>;

	/// The record type of a runtime.
	pub type EnclaveRecordOf<T> = EnclaveRecord<BlockNumberFor<T>, <T as Config>::MaxUrlLen>;

	/// The registered enclaves, by the account that registered them.
	#[pallet::storage]
	pub type Enclaves<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, EnclaveRecordOf<T>, OptionQuery>;

	/// The number of registered enclaves.
	#[pallet::storage]
	pub type EnclaveCount<T: Config> = StorageValue<_, u32, ValueQuery>;

	/// The chain's key-set checksum, fixed by the first registration.
	#[pallet::storage]
	pub type KeySet<T: Config> = StorageValue<_, [u8; 32], OptionQuery>;

	/// The cut-over commitments, by the last block of the predecessor that made them (`XYZ − 1`
	/// for a successor active from `XYZ`): the state a successor must continue from.
	#[pallet::storage]
	pub type CutOvers<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		CutOverCommitment<BlockNumberFor<T>>,
		OptionQuery,
	>;

	/// The account after which the idle-time pass over [`Enclaves`] in progress goes on; none:
	/// no pass is in progress.
	#[pallet::storage]
	pub type PruneCursor<T: Config> = StorageValue<_, T::AccountId, OptionQuery>;

	/// The block from which the next idle-time pass may start.
	#[pallet::storage]
	pub type NextPrune<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

	/// Why a record was removed.
	#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
	pub enum Removal {
		/// Its account deregistered it.
		Deregistered,
		/// Its measurement is done with the keys (retired, cancelled, superseded and past its
		/// last hand-over).
		Pruned,
	}

	/// Events of this pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An enclave was registered, or its record renewed by a new attestation.
		Registered {
			/// The account that registered it.
			account: T::AccountId,
			/// Its measurement.
			measurement: Measurement,
			/// The TCB status of its attestation.
			tcb_status: TcbStatus,
			/// Whether an existing record was renewed.
			renewed: bool,
		},
		/// The first registration fixed the chain's key-set checksum.
		KeySetFixed {
			/// The checksum.
			checksum: [u8; 32],
		},
		/// A predecessor committed to the state it handed over at its cut-over.
		CutOverCommitted {
			/// The account of its registration, which submitted the commitment.
			account: T::AccountId,
			/// Its measurement.
			measurement: Measurement,
			/// Its last block.
			last_block: BlockNumberFor<T>,
			/// The state hash after that block.
			state_hash: [u8; 32],
		},
		/// A record was removed.
		Removed {
			/// The account that had registered it.
			account: T::AccountId,
			/// Its measurement.
			measurement: Measurement,
			/// Why.
			reason: Removal,
		},
	}

	/// Errors of this pallet. The first nine are why evidence does not verify
	/// ([`attestation::verify_evidence`]).
	#[pallet::error]
	pub enum Error<T> {
		/// Neither a DCAP quote nor a simulated quote, or bytes after it that are not zero.
		EvidenceMalformed,
		/// A quote dcap-qvl cannot verify: not Intel's quoting enclave, not ECDSA P-256, or a
		/// version other than SGX 3 and TDX 4 and 5.
		UnsupportedQuote,
		/// The collateral is not a SCALE-encoded `QuoteCollateralV3`, or its dates do not parse.
		CollateralMalformed,
		/// The collateral's TCB info or QE identity is not valid at the chain's time.
		CollateralExpired,
		/// The quote or its collateral does not verify (a signature, a certificate chain, a CRL,
		/// the QE report binding, no matching TCB level).
		QuoteInvalid,
		/// A TD's attributes are refused (no SEPT_VE_DISABLE, migration, a service TD binding).
		TdAttributesRefused,
		/// The collateral revokes the platform's TCB.
		TcbRevoked,
		/// A simulated quote, which this runtime refuses.
		SimulatedEvidenceRefused,
		/// A simulated quote not signed by the dev attestation key.
		SimulatedSignatureInvalid,
		/// A debug enclave or TD.
		DebugEnclave,
		/// The TCB status is not one the runtime accepts.
		TcbStatusNotAccepted,
		/// The enclave's MRSIGNER is not the pinned one.
		SignerNotPinned,
		/// The quote's report data does not bind this account and these keys.
		ReportDataMismatch,
		/// The measurement is neither active nor scheduled.
		MeasurementNotScheduled,
		/// The measurement is retired.
		MeasurementRetired,
		/// The key-set checksum is not the chain's.
		KeySetMismatch,
		/// A renewal with the quote of the current record: re-attestation needs a new quote.
		EvidenceReused,
		/// The account has no registered enclave.
		NotRegistered,
		/// The record's measurement may still hold or hand over the keys: it is active, scheduled,
		/// or the active enclave's predecessor without a cut-over commitment on chain.
		StillInUse,
		/// The commitment is not signed by the registered enclave key of the caller's record.
		CommitmentSignatureInvalid,
		/// The caller's measurement was not superseded right after this block: it is not the
		/// last block of its stretch.
		NotCutOverBlock,
		/// The block hash is not the chain's hash of that block (or the chain no longer keeps
		/// that block's hash).
		BlockHashMismatch,
		/// A commitment for this cut-over is on chain already.
		CutOverAlreadyCommitted,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Removes the records of measurements done with the keys, as far as `limit` allows
		/// (see [`Pallet::prune_in_idle_time`]).
		fn on_idle(now: BlockNumberFor<T>, limit: Weight) -> Weight {
			let mut meter = WeightMeter::with_limit(limit);
			Self::prune_in_idle_time(now, &mut meter);
			meter.consumed()
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Register the enclave whose `evidence` (a DCAP quote, or a simulated quote where the
		/// runtime accepts them) is verified with `collateral` (SCALE-encoded
		/// `dcap_qvl::QuoteCollateralV3`; empty for a simulated quote) at the chain's time.
		///
		/// The quote's report data must be the [`RegistrationBinding`] of the caller's account,
		/// `signing_key`, `shielding_key` and `key_set_checksum`. Registering again renews the
		/// caller's record. Emits [`Event::Registered`], and [`Event::KeySetFixed`] for the
		/// chain's first registration.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::verify_dcap_quote().saturating_add(T::WeightInfo::store_registration()))]
		pub fn register_enclave(
			origin: OriginFor<T>,
			evidence: BoundedVec<u8, T::MaxEvidenceLen>,
			collateral: BoundedVec<u8, T::MaxCollateralLen>,
			url: BoundedVec<u8, T::MaxUrlLen>,
			signing_key: [u8; 32],
			shielding_key: [u8; 32],
			key_set_checksum: [u8; 32],
		) -> DispatchResult {
			let account = ensure_signed(origin)?;
			let now = T::Time::now().as_secs();
			let attested = Self::verify_evidence(&evidence, &collateral, now)?;
			let binding = RegistrationBinding {
				account: &account.encode(),
				signing_key: &signing_key,
				shielding_key: &shielding_key,
				key_set_checksum: &key_set_checksum,
			};
			ensure!(attested.report_data == binding.report_data(), Error::<T>::ReportDataMismatch);
			Self::store_registration(
				account,
				&attested,
				url,
				signing_key,
				shielding_key,
				key_set_checksum,
			)
		}

		/// Remove the caller's own record. Emits [`Event::Removed`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::remove_enclave())]
		pub fn deregister_enclave(origin: OriginFor<T>) -> DispatchResult {
			let account = ensure_signed(origin)?;
			Self::remove(account, Removal::Deregistered)
		}

		/// Remove `account`'s record now, whose measurement is done with the keys (see
		/// [`Pallet::done_with_keys`]), which the idle-time passes would remove later. Anyone
		/// may call it. Emits [`Event::Removed`].
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::prune_enclave())]
		pub fn prune_enclave(origin: OriginFor<T>, account: T::AccountId) -> DispatchResult {
			ensure_signed(origin)?;
			let record = Enclaves::<T>::get(&account).ok_or(Error::<T>::NotRegistered)?;
			ensure!(Self::done_with_keys(&record.measurement), Error::<T>::StillInUse);
			Self::remove(account, Removal::Pruned)
		}

		/// Commit, for the caller's registered enclave, to the state it handed over at its
		/// cut-over: the state hash after `last_block`, its last block, whose hash is
		/// `block_hash`. `signature` is the enclave's, by the signing key of the caller's record,
		/// over [`CutOverCommitment::message`]; the enclave's measurement must have been
		/// superseded at `last_block + 1`, and the block hash must be the chain's. One per
		/// cut-over. The successor compares the snapshot it fetched with it before it executes
		/// its first block. Emits [`Event::CutOverCommitted`].
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::commit_cut_over())]
		pub fn commit_cut_over(
			origin: OriginFor<T>,
			last_block: BlockNumberFor<T>,
			block_hash: [u8; 32],
			state_hash: [u8; 32],
			signature: [u8; 64],
		) -> DispatchResult {
			let account = ensure_signed(origin)?;
			Self::store_cut_over(account, last_block, block_hash, state_hash, signature)
		}
	}

	impl<T: Config> Pallet<T> {
		/// Checks and stores the cut-over commitment `commitment` of `account`'s enclave, whose
		/// registered key made `signature` (see [`Self::commit_cut_over`]).
		pub(crate) fn store_cut_over(
			account: T::AccountId,
			last_block: BlockNumberFor<T>,
			block_hash: [u8; 32],
			state_hash: [u8; 32],
			signature: [u8; 64],
		) -> DispatchResult {
			use sp_core::ed25519::{Public, Signature};
			let record = Enclaves::<T>::get(&account).ok_or(Error::<T>::NotRegistered)?;
			let commitment = CutOverCommitment {
				measurement: record.measurement,
				last_block,
				block_hash,
				state_hash,
			};
			ensure!(
				sp_io::crypto::ed25519_verify(
					&Signature::from_raw(signature),
					&commitment.message(),
					&Public::from_raw(record.signing_key),
				),
				Error::<T>::CommitmentSignatureInvalid
			);
			let next = sp_runtime::Saturating::saturating_add(last_block, 1u32.into());
			ensure!(
				T::Schedule::superseded_at(&record.measurement) == Some(next),
				Error::<T>::NotCutOverBlock
			);
			// Only a block the chain still knows the hash of (the last `BlockHashCount`): an
			// unknown block has no hash to compare with.
			let known = frame_system::BlockHash::<T>::try_get(last_block)
				.map_err(|_| Error::<T>::BlockHashMismatch)?;
			ensure!(known.as_ref() == block_hash, Error::<T>::BlockHashMismatch);
			ensure!(!CutOvers::<T>::contains_key(last_block), Error::<T>::CutOverAlreadyCommitted);
			CutOvers::<T>::insert(last_block, commitment);
			// The predecessor's last hand-over is done: its records can go now. A new pass starts
			// in this block's idle time (one in progress may have passed them already).
			PruneCursor::<T>::kill();
			NextPrune::<T>::put(frame_system::Pallet::<T>::block_number());
			Self::deposit_event(Event::CutOverCommitted {
				account,
				measurement: record.measurement,
				last_block,
				state_hash,
			});
			Ok(())
		}

		/// Verifies evidence under the runtime's policy (debug, TCB status, signer pin), without
		/// the binding of the report data: what [`Self::register_enclave`] checks first, and
		/// what the runtime API exposes for a dry run.
		pub fn verify_evidence(
			evidence: &[u8],
			collateral: &[u8],
			now: u64,
		) -> Result<AttestedEnclave, Error<T>> {
			let attested =
				attestation::verify_evidence::<T, T::SimulatedEvidence>(evidence, collateral, now)?;
			ensure!(!attested.debug, Error::<T>::DebugEnclave);
			if attested.kind != EvidenceKind::Simulated {
				ensure!(
					T::AcceptedTcb::contains(&attested.tcb_status),
					Error::<T>::TcbStatusNotAccepted
				);
			}
			if let (Some(pin), Some(signer)) = (T::SignerPin::get(), attested.signer) {
				ensure!(pin == signer, Error::<T>::SignerNotPinned);
			}
			Ok(attested)
		}

		/// The schedule, key-set and storage part of a registration, once the evidence is
		/// verified and bound.
		pub(crate) fn store_registration(
			account: T::AccountId,
			attested: &AttestedEnclave,
			url: BoundedVec<u8, T::MaxUrlLen>,
			signing_key: [u8; 32],
			shielding_key: [u8; 32],
			key_set_checksum: [u8; 32],
		) -> DispatchResult {
			match T::Schedule::standing(&attested.measurement) {
				Standing::Active | Standing::Scheduled => {},
				Standing::Retired => return Err(Error::<T>::MeasurementRetired.into()),
				Standing::Predecessor | Standing::Gone => {
					return Err(Error::<T>::MeasurementNotScheduled.into())
				},
			}
			let fixed = KeySet::<T>::get();
			if let Some(checksum) = fixed {
				ensure!(checksum == key_set_checksum, Error::<T>::KeySetMismatch);
			}
			let now = frame_system::Pallet::<T>::block_number();
			let previous = Enclaves::<T>::get(&account);
			if let Some(previous) = &previous {
				ensure!(
					previous.evidence_hash != attested.evidence_hash,
					Error::<T>::EvidenceReused
				);
			}
			let record = EnclaveRecord {
				kind: attested.kind,
				measurement: attested.measurement,
				signing_key,
				url,
				shielding_key,
				key_set_checksum,
				registered_at: previous.as_ref().map_or(now, |p| p.registered_at),
				attested_at: now,
				tcb_status: attested.tcb_status,
				evidence_hash: attested.evidence_hash,
			};
			Enclaves::<T>::insert(&account, record);
			if previous.is_none() {
				EnclaveCount::<T>::mutate(|count| *count = count.saturating_add(1));
			}
			if fixed.is_none() {
				KeySet::<T>::put(key_set_checksum);
				Self::deposit_event(Event::KeySetFixed { checksum: key_set_checksum });
			}
			Self::deposit_event(Event::Registered {
				account,
				measurement: attested.measurement,
				tcb_status: attested.tcb_status,
				renewed: previous.is_some(),
			});
			Ok(())
		}

		/// Whether the records of `measurement` can go: it is retired; or gone (cancelled before
		/// its activation, or superseded before the active enclave's predecessor); or the active
		/// enclave's predecessor, and its cut-over commitment is on chain, so that its last
		/// hand-over is done.
		pub fn done_with_keys(measurement: &Measurement) -> bool {
			match T::Schedule::standing(measurement) {
				Standing::Retired | Standing::Gone => true,
				Standing::Predecessor => {
					T::Schedule::superseded_at(measurement).is_some_and(|at| {
						CutOvers::<T>::contains_key(sp_runtime::Saturating::saturating_sub(
							at,
							1u32.into(),
						))
					})
				},
				Standing::Active | Standing::Scheduled => false,
			}
		}

		/// One block's share of the idle-time pass over [`Enclaves`]: from where the pass in
		/// progress stopped (or, when none is, from the start, if [`NextPrune`] is due), look at
		/// records as long as `meter` has room for one more removal, and remove those whose
		/// measurement is [done with the keys](Self::done_with_keys). A pass that reaches the
		/// end schedules the next one [`Config::PruneInterval`] blocks later.
		pub fn prune_in_idle_time(now: BlockNumberFor<T>, meter: &mut WeightMeter) {
			let db = T::DbWeight::get();
			// The cursor and the next pass's block.
			if meter.try_consume(db.reads(2)).is_err() {
				return;
			}
			let cursor = PruneCursor::<T>::get();
			if cursor.is_none() && now < NextPrune::<T>::get() {
				return;
			}
			// A look at one record costs at most what `prune_enclave` does, plus the cursor's
			// write.
			let step = T::WeightInfo::prune_enclave().saturating_add(db.writes(1));
			let mut records = match &cursor {
				Some(account) => Enclaves::<T>::iter_from(Enclaves::<T>::hashed_key_for(account)),
				None => Enclaves::<T>::iter(),
			};
			let mut last = None;
			let mut done = alloc::vec::Vec::new();
			let finished = loop {
				if !meter.can_consume(step) {
					break false;
				}
				let Some((account, record)) = records.next() else { break true };
				meter.consume(step);
				if Self::done_with_keys(&record.measurement) {
					done.push(account.clone());
				}
				last = Some(account);
			};
			drop(records);
			for account in done {
				// Only records just read: their removal cannot fail.
				let _ = Self::remove(account, Removal::Pruned);
			}
			if finished {
				PruneCursor::<T>::kill();
				NextPrune::<T>::put(sp_runtime::Saturating::saturating_add(
					now,
					T::PruneInterval::get(),
				));
			} else if let Some(last) = last {
				PruneCursor::<T>::put(last);
			}
		}

		fn remove(account: T::AccountId, reason: Removal) -> DispatchResult {
			let record = Enclaves::<T>::take(&account).ok_or(Error::<T>::NotRegistered)?;
			EnclaveCount::<T>::mutate(|count| *count = count.saturating_sub(1));
			Self::deposit_event(Event::Removed {
				account,
				measurement: record.measurement,
				reason,
			});
			Ok(())
		}

		/// The registry's invariants: the count is the number of records, and every record
		/// holds the chain's key set.
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let mut count = 0u32;
			let key_set = KeySet::<T>::get();
			for (_, record) in Enclaves::<T>::iter() {
				count = count.saturating_add(1);
				ensure!(
					key_set == Some(record.key_set_checksum),
					"a record holds a key set other than the chain's"
				);
				ensure!(record.registered_at <= record.attested_at, "attested before registered");
			}
			ensure!(count == EnclaveCount::<T>::get(), "EnclaveCount is not the number of records");
			Ok(())
		}
	}
}
