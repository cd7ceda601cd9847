//! Benchmarks of the EnclaveRegistry pallet. A registration is two parts, each benchmarked at
//! its worst case: the verification of a real DCAP quote (the TDX sample of the dcap-qvl crate,
//! the larger of the two, with its collateral), and the storage part of a first registration.
//! No benchmark can register a real quote end to end: its report data binds the keys of
//! whoever produced it, which is the point of the binding.

use super::*;
use crate::attestation::{AttestedEnclave, EvidenceKind, TcbStatus};
use enclave_update_primitives::CutOverCommitment;
use frame_benchmarking::v2::*;
use frame_support::{traits::Get, BoundedVec};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};

/// The keystore key type of the benchmark's enclave signing key (the benchmarking CLI and the
/// tests give the externalities a keystore).
const BENCHMARK_KEY_TYPE: sp_core::crypto::KeyTypeId = sp_core::crypto::KeyTypeId(*b"euct");

const TDX_QUOTE: &[u8] = include_bytes!("../../../offchain-worker/tests/fixtures/tdx_quote");
const TDX_COLLATERAL_JSON: &[u8] =
	include_bytes!("../../../offchain-worker/tests/fixtures/tdx_quote_collateral.json");
/// Unix time inside the TDX sample's collateral window.
const TDX_AT: u64 = 1_751_624_655;

fn attested(measurement: Measurement) -> AttestedEnclave {
	AttestedEnclave {
		kind: EvidenceKind::Simulated,
		measurement,
		signer: Some([0; 32]),
		debug: false,
		tcb_status: TcbStatus::Simulated,
		report_data: [0; 64],
		evidence_hash: [7; 32],
	}
}

fn longest_url<T: Config>() -> BoundedVec<u8, T::MaxUrlLen> {
	BoundedVec::truncate_from(alloc::vec![b'u'; T::MaxUrlLen::get() as usize])
}

/// Registers `account`'s enclave of the active `measurement`, with `signing_key`.
fn registered<T: Config>(account: &T::AccountId, measurement: Measurement, signing_key: [u8; 32]) {
	T::Schedule::make_active_for_benchmarks(&measurement);
	Pallet::<T>::store_registration(
		account.clone(),
		&attested(measurement),
		longest_url::<T>(),
		signing_key,
		[2; 32],
		[3; 32],
	)
	.expect("a registration");
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn verify_dcap_quote() {
		let collateral: dcap_qvl::QuoteCollateralV3 =
			serde_json::from_slice(TDX_COLLATERAL_JSON).expect("the sample's collateral");
		let collateral = codec::Encode::encode(&collateral);
		let verified;

		#[block]
		{
			verified =
				attestation::verify_evidence::<T, RefuseSimulated>(TDX_QUOTE, &collateral, TDX_AT);
		}

		assert_eq!(verified.ok().map(|v| v.tcb_status), Some(TcbStatus::UpToDate));
	}

	#[benchmark]
	fn store_registration() {
		let caller: T::AccountId = whitelisted_caller();
		let measurement = Measurement::MrEnclave([0xbe; 32]);
		T::Schedule::make_active_for_benchmarks(&measurement);
		let attested = attested(measurement);

		#[block]
		{
			Pallet::<T>::store_registration(
				caller.clone(),
				&attested,
				longest_url::<T>(),
				[1; 32],
				[2; 32],
				[3; 32],
			)
			.expect("a first registration");
		}

		assert!(Enclaves::<T>::contains_key(&caller));
		assert_eq!(KeySet::<T>::get(), Some([3; 32]));
	}

	#[benchmark]
	fn remove_enclave() {
		let caller: T::AccountId = whitelisted_caller();
		registered::<T>(&caller, Measurement::MrEnclave([0xbe; 32]), [1; 32]);

		#[extrinsic_call]
		deregister_enclave(RawOrigin::Signed(caller.clone()));

		assert!(!Enclaves::<T>::contains_key(&caller));
	}

	/// The standing that reads the most: the active enclave's predecessor, whose cut-over
	/// commitment is then read too.
	#[benchmark]
	fn prune_enclave() {
		let caller: T::AccountId = whitelisted_caller();
		let owner: T::AccountId = account("owner", 0, 0);
		let measurement = Measurement::MrEnclave([0xbe; 32]);
		registered::<T>(&owner, measurement, [1; 32]);
		T::Schedule::make_active_for_benchmarks(&Measurement::MrEnclave([0xbf; 32]));
		let superseded_at: BlockNumberFor<T> = 8u32.into();
		T::Schedule::make_superseded_for_benchmarks(&measurement, superseded_at);
		let last_block = superseded_at - 1u32.into();
		let commitment =
			CutOverCommitment { measurement, last_block, block_hash: [5; 32], state_hash: [6; 32] };
		CutOvers::<T>::insert(last_block, commitment);

		#[extrinsic_call]
		prune_enclave(RawOrigin::Signed(caller), owner.clone());

		assert!(!Enclaves::<T>::contains_key(&owner));
	}

	#[benchmark]
	fn commit_cut_over() {
		let caller: T::AccountId = whitelisted_caller();
		let measurement = Measurement::MrEnclave([0xbe; 32]);
		let signing_key = sp_io::crypto::ed25519_generate(BENCHMARK_KEY_TYPE, None);
		registered::<T>(&caller, measurement, signing_key.0);
		let last_block: BlockNumberFor<T> = 7u32.into();
		T::Schedule::make_superseded_for_benchmarks(&measurement, last_block + 1u32.into());
		let block_hash = [5u8; 32];
		let hash = <T::Hash as codec::Decode>::decode(&mut &block_hash[..]).expect("32 bytes");
		frame_system::BlockHash::<T>::insert(last_block, hash);
		let state_hash = [6u8; 32];
		let commitment =
			CutOverCommitment { measurement, last_block, block_hash, state_hash }.message();
		let signature = sp_io::crypto::ed25519_sign(BENCHMARK_KEY_TYPE, &signing_key, &commitment)
			.expect("the keystore holds the key it made");

		#[extrinsic_call]
		commit_cut_over(RawOrigin::Signed(caller), last_block, block_hash, state_hash, signature.0);

		assert!(CutOvers::<T>::contains_key(last_block));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
