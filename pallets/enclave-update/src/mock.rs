//! A test runtime with the pallet, sudo-like root scheduling and a separate retire origin.

use crate as pallet_enclave_update;
use enclave_update_primitives::{Measurement, MRENCLAVE_LEN};
use frame_support::{
	derive_impl, ord_parameter_types, parameter_types,
	traits::{ConstU32, Hooks},
};
use frame_system::{EnsureRoot, EnsureSignedBy};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

#[frame_support::runtime]
mod runtime {
	/// The test runtime.
	#[runtime::runtime]
	// What frame_system and this pallet use; no holds, freezes or locks here.
	#[runtime::derive(RuntimeCall, RuntimeEvent, RuntimeError, RuntimeOrigin, RuntimeTask)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type EnclaveUpdate = pallet_enclave_update;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
}

/// The account allowed to retire measurements in tests (root may not: the origins are distinct).
pub const SECURITY_COUNCIL: u64 = 7;
/// The minimum lead time of the test runtime.
pub const MIN_LEAD_TIME: u64 = 5;
/// `MaxScheduled` of the test runtime.
pub const MAX_SCHEDULED: u32 = 4;
/// `MaxHistory` of the test runtime.
pub const MAX_HISTORY: u32 = 3;
/// `MaxRetired` of the test runtime.
pub const MAX_RETIRED: u32 = 3;

ord_parameter_types! {
	pub const SecurityCouncil: u64 = SECURITY_COUNCIL;
}
parameter_types! {
	pub const MinLeadTime: u64 = MIN_LEAD_TIME;
}

#[docify::export(config)]
impl pallet_enclave_update::Config for Test {
	type ScheduleOrigin = EnsureRoot<u64>;
	type RetireOrigin = EnsureSignedBy<SecurityCouncil, u64>;
	type MinLeadTime = MinLeadTime;
	type MaxScheduled = ConstU32<MAX_SCHEDULED>;
	type MaxHistory = ConstU32<MAX_HISTORY>;
	type MaxRetired = ConstU32<MAX_RETIRED>;
	type WeightInfo = ();
}

/// An SGX measurement whose bytes are all `byte`.
pub fn m(byte: u8) -> Measurement {
	Measurement::MrEnclave([byte; MRENCLAVE_LEN])
}

/// The genesis enclave of [`new_test_ext`].
pub const GENESIS: u8 = 0xa0;

/// Externalities with [`GENESIS`] active since block 0, at block 1.
#[docify::export]
pub fn new_test_ext() -> sp_io::TestExternalities {
	ext_with(pallet_enclave_update::GenesisConfig {
		initial_enclave: Some(m(GENESIS)),
		..Default::default()
	})
}

/// Runs `test` in [`new_test_ext`], then checks the pallet's invariants (`do_try_state`) on the
/// state it leaves, as `frame/nomination-pools`' mock does: no test may leave a state the
/// runtime's try-runtime checks would refuse.
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		EnclaveUpdate::do_try_state(System::block_number())
			.expect("invariants hold after the test");
	});
}

/// Externalities built from `genesis`, at block 1.
pub fn ext_with(genesis: pallet_enclave_update::GenesisConfig<Test>) -> sp_io::TestExternalities {
	let storage = RuntimeGenesisConfig { system: Default::default(), enclave_update: genesis }
		.build_storage()
		.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Moves to block `n`, running `on_initialize` of each block like a block builder would, and
/// checks the invariants after each block.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		EnclaveUpdate::on_initialize(next);
		EnclaveUpdate::do_try_state(next).expect("invariants hold");
	}
}
