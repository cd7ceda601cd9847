//! A test runtime: the registry on the real `EnclaveUpdate` schedule and `pallet_timestamp`,
//! accepting simulated quotes like a development chain.

use crate as pallet_enclave_registry;
use crate::TcbStatus;
use enclave_update_primitives::{
	sim_quote::{SimQuote, DEV_ATTESTATION_SEED_LABEL},
	Measurement, RegistrationBinding,
};
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU32, ConstU64, Contains},
};
use frame_system::EnsureRoot;
use sp_core::Pair;
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

#[frame_support::runtime]
mod runtime {
	/// The test runtime.
	#[runtime::runtime]
	#[runtime::derive(RuntimeCall, RuntimeEvent, RuntimeError, RuntimeOrigin, RuntimeTask)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;
	#[runtime::pallet_index(2)]
	pub type EnclaveUpdate = pallet_enclave_update;
	#[runtime::pallet_index(3)]
	pub type EnclaveRegistry = pallet_enclave_registry;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	// Storage accesses cost weight, so that the idle-time pass's accounting is tested.
	type DbWeight = frame_support::weights::constants::RocksDbWeight;
}

impl pallet_timestamp::Config for Test {
	type Moment = u64;
	type OnTimestampSet = ();
	type MinimumPeriod = ConstU64<1>;
	type WeightInfo = ();
}

impl pallet_enclave_update::Config for Test {
	type ScheduleOrigin = EnsureRoot<u64>;
	type RetireOrigin = EnsureRoot<u64>;
	type MinLeadTime = ConstU64<2>;
	type MaxScheduled = ConstU32<4>;
	type MaxHistory = ConstU32<4>;
	type MaxRetired = ConstU32<4>;
	type WeightInfo = ();
}

parameter_types! {
	/// Whether the SGX sample's status (`ConfigurationAndSWHardeningNeeded`) is accepted too.
	pub static AcceptSgxSampleStatus: bool = false;
	/// The pinned MRSIGNER, if any.
	pub static PinnedSigner: Option<[u8; 32]> = None;
}

/// `UpToDate`, and the SGX sample's status when [`AcceptSgxSampleStatus`] says so.
pub struct AcceptedTcb;
impl Contains<TcbStatus> for AcceptedTcb {
	fn contains(status: &TcbStatus) -> bool {
		*status == TcbStatus::UpToDate
			|| (AcceptSgxSampleStatus::get()
				&& *status == TcbStatus::ConfigurationAndSWHardeningNeeded)
	}
}

#[docify::export(config)]
impl pallet_enclave_registry::Config for Test {
	type Schedule = EnclaveUpdate;
	type Time = Timestamp;
	type AcceptedTcb = AcceptedTcb;
	type SignerPin = PinnedSigner;
	// A development chain: production runtimes set `RefuseSimulated`.
	type SimulatedEvidence = crate::AcceptDevSignedSimulated;
	type MaxEvidenceLen = ConstU32<{ 16 * 1024 }>;
	type MaxCollateralLen = ConstU32<{ 64 * 1024 }>;
	type MaxUrlLen = ConstU32<128>;
	// A pass over the records every 10 blocks (and at once after a cut-over commitment).
	type PruneInterval = ConstU64<10>;
	type WeightInfo = ();
}

/// An SGX measurement whose bytes are all `byte`.
pub fn m(byte: u8) -> Measurement {
	Measurement::MrEnclave([byte; 32])
}

/// The genesis enclave.
pub const GENESIS: u8 = 0xa0;

/// Unix time (seconds) inside the SGX sample's collateral window.
pub const SGX_AT: u64 = 1_751_624_924;
/// Unix time (seconds) inside the TDX sample's collateral window.
pub const TDX_AT: u64 = 1_751_624_655;

/// Externalities with [`GENESIS`] active, at block 1, the clock at [`TDX_AT`].
pub fn new_test_ext() -> sp_io::TestExternalities {
	let storage = RuntimeGenesisConfig {
		system: Default::default(),
		enclave_update: pallet_enclave_update::GenesisConfig {
			initial_enclave: Some(m(GENESIS)),
			..Default::default()
		},
	}
	.build_storage()
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	// The benchmarks sign with a key of the keystore, as under the benchmarking CLI.
	ext.register_extension(sp_keystore::KeystoreExt::new(
		sp_keystore::testing::MemoryKeystore::new(),
	));
	ext.execute_with(|| {
		System::set_block_number(1);
		set_time(TDX_AT);
	});
	ext
}

/// Runs `test` in [`new_test_ext`], then checks the registry's invariants on what it leaves.
pub fn build_and_execute(test: impl FnOnce()) {
	AcceptSgxSampleStatus::set(false);
	PinnedSigner::set(None);
	new_test_ext().execute_with(|| {
		test();
		EnclaveRegistry::do_try_state().expect("invariants hold after the test");
	});
}

/// Sets the chain's clock to unix time `secs`.
pub fn set_time(secs: u64) {
	pallet_timestamp::Now::<Test>::put(secs * 1000);
}

/// The keys a test enclave registers.
#[derive(Clone, Copy, Debug)]
pub struct Keys {
	/// Its signing key.
	pub signing: [u8; 32],
	/// Its shielding key.
	pub shielding: [u8; 32],
	/// Its key-set checksum.
	pub checksum: [u8; 32],
}

/// Keys whose bytes are `byte`, with key-set checksum `[checksum; 32]`.
pub fn keys(byte: u8, checksum: u8) -> Keys {
	Keys { signing: [byte; 32], shielding: [byte ^ 0xff; 32], checksum: [checksum; 32] }
}

/// The report data that binds `account` and `keys`.
pub fn binding(account: u64, keys: &Keys) -> [u8; 64] {
	RegistrationBinding {
		account: &codec::Encode::encode(&account),
		signing_key: &keys.signing,
		shielding_key: &keys.shielding,
		key_set_checksum: &keys.checksum,
	}
	.report_data()
}

/// The dev attestation key (anyone can derive it: it proves nothing about hardware).
pub fn dev_key() -> sp_core::ed25519::Pair {
	sp_core::ed25519::Pair::from_seed(&sp_io::hashing::sha2_256(DEV_ATTESTATION_SEED_LABEL))
}

/// A simulated quote of `measurement` carrying `report_data`, signed by `key`.
pub fn sim_quote_signed(
	measurement: Measurement,
	report_data: [u8; 64],
	debug: bool,
	svn: u16,
	key: &sp_core::ed25519::Pair,
) -> Vec<u8> {
	let quote =
		SimQuote { measurement, signer: [0x5e; 32], product_id: 1, svn, debug, report_data };
	quote.encode_with(&key.sign(&quote.message()).0)
}

/// A simulated quote with the dev key, production mode, SVN 1.
pub fn sim_quote(measurement: Measurement, report_data: [u8; 64]) -> Vec<u8> {
	sim_quote_signed(measurement, report_data, false, 1, &dev_key())
}

/// A file of the worker's test fixtures: real Intel-signed samples of the dcap-qvl crate.
pub fn fixture(name: &str) -> Vec<u8> {
	let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
		.join("../../offchain-worker/tests/fixtures")
		.join(name);
	std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A sample's collateral (dcap-qvl's JSON), SCALE-encoded as the call takes it.
pub fn collateral(name: &str) -> Vec<u8> {
	let collateral: dcap_qvl::QuoteCollateralV3 =
		serde_json::from_slice(&fixture(name)).expect("the sample's collateral");
	codec::Encode::encode(&collateral)
}
