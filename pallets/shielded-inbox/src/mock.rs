//! A test runtime with the pallet and small bounds.

use crate as pallet_shielded_inbox;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU32, Hooks},
	weights::RuntimeDbWeight,
};
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
	pub type ShieldedInbox = pallet_shielded_inbox;
}

parameter_types! {
	/// Database weights with distinct, non-zero read and write costs: the default `()` costs
	/// nothing, so a migration's weight would be zero however many reads and writes it counted.
	pub const MockDbWeight: RuntimeDbWeight = RuntimeDbWeight { read: 10, write: 1_000 };
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type DbWeight = MockDbWeight;
}

/// `MaxCallLen` of the test runtime.
pub const MAX_CALL_LEN: u32 = 16;
/// `MaxCallsPerBlock` of the test runtime.
pub const MAX_CALLS_PER_BLOCK: u32 = 3;

#[docify::export(config)]
impl pallet_shielded_inbox::Config for Test {
	type MaxCallLen = ConstU32<MAX_CALL_LEN>;
	type MaxCallsPerBlock = ConstU32<MAX_CALLS_PER_BLOCK>;
	type WeightInfo = ();
}

/// Externalities with an empty inbox, at block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let storage = RuntimeGenesisConfig { system: Default::default() }.build_storage().unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs `test` in [`new_test_ext`], then checks the pallet's invariants (`do_try_state`) on the
/// state it leaves, as `frame/nomination-pools`' mock does.
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		ShieldedInbox::do_try_state().expect("invariants hold after the test");
	});
}

/// Moves to the next block, running `on_initialize` like a block builder would, and checks the
/// invariants.
pub fn next_block() {
	let next = System::block_number() + 1;
	System::set_block_number(next);
	ShieldedInbox::on_initialize(next);
	ShieldedInbox::do_try_state().expect("invariants hold");
}
