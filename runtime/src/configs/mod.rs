//! The configuration of each pallet of the runtime.

use crate::{
	AccountId, Aura, Balance, Balances, Block, BlockNumber, Hash, Nonce, PalletInfo, Preimage,
	Runtime, RuntimeCall, RuntimeEvent, RuntimeFreezeReason, RuntimeHoldReason, RuntimeOrigin,
	RuntimeTask, System, EXISTENTIAL_DEPOSIT, MINUTES, VERSION,
};
use frame_support::{
	derive_impl,
	dispatch::DispatchClass,
	parameter_types,
	traits::{
		fungible::HoldConsideration, ConstBool, ConstU128, ConstU32, ConstU64, ConstU8,
		EitherOfDiverse, LinearStoragePrice,
	},
	weights::{
		constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_SECOND},
		IdentityFee, Weight,
	},
};
use frame_system::{
	limits::{BlockLength, BlockWeights},
	EnsureRoot,
};
use pallet_transaction_payment::{ConstFeeMultiplier, FungibleAdapter, Multiplier};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_runtime::{traits::One, Perbill};

/// Extrinsics may use 75% of a block; the rest is for `on_initialize` and operational calls.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

parameter_types! {
	pub const BlockHashCount: BlockNumber = 2400;
	pub const Version: sp_version::RuntimeVersion = VERSION;
	/// Two seconds of compute per block.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(2u64 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(5 * 1024 * 1024)
		.modify_max_length_for_class(DispatchClass::Normal, |max| *max = NORMAL_DISPATCH_RATIO * *max)
		.build();
	pub const SS58Prefix: u8 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	// The node stores its state in ParityDB (it is built without RocksDB support), whose reads
	// and writes cost less than RocksDB's.
	type DbWeight = ParityDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
	type SingleBlockMigrations = crate::Migrations;
}

impl pallet_timestamp::Config for Runtime {
	type Moment = u64;
	// Aura checks that each block's timestamp lies in its slot.
	type OnTimestampSet = Aura;
	// Half a slot, as Aura requires.
	type MinimumPeriod = crate::block_time::HalfSlotDuration<Runtime>;
	type WeightInfo = ();
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	// Room for a validator set far larger than a development chain's one or two.
	type MaxAuthorities = ConstU32<32>;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = crate::block_time::SlotDuration<Runtime>;
}

impl crate::block_time::Config for Runtime {}

impl crate::dev_authorities::Config for Runtime {}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	// No equivocation reports: there is no staking to slash on this chain.
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_balances::Config for Runtime {
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type ReserveIdentifier = [u8; 8];
	type Balance = Balance;
	type RuntimeEvent = RuntimeEvent;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = ConstU32<1>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type DoneSlashHandler = ();
}

parameter_types! {
	pub FeeMultiplier: Multiplier = Multiplier::one();
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = IdentityFee<Balance>;
	type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	pub const CouncilMotionDuration: BlockNumber = 5 * MINUTES;
	pub MaxCollectivesProposalWeight: Weight = Perbill::from_percent(50) * RuntimeBlockWeights::get().max_block;
}

/// The council's collective instance.
pub type CouncilCollective = pallet_collective::Instance1;

impl pallet_collective::Config<CouncilCollective> for Runtime {
	type RuntimeOrigin = RuntimeOrigin;
	type Proposal = RuntimeCall;
	type RuntimeEvent = RuntimeEvent;
	type MotionDuration = CouncilMotionDuration;
	type MaxProposals = ConstU32<100>;
	type MaxMembers = ConstU32<100>;
	type DefaultVote = pallet_collective::PrimeDefaultVote;
	type WeightInfo = pallet_collective::weights::SubstrateWeight<Runtime>;
	type SetMembersOrigin = EnsureRoot<AccountId>;
	type MaxProposalWeight = MaxCollectivesProposalWeight;
	type DisapproveOrigin = EnsureRoot<AccountId>;
	type KillOrigin = EnsureRoot<AccountId>;
	type Consideration = ();
}

/// Root (sudo) or at least two thirds of the council.
pub type RootOrCouncilTwoThirds = EitherOfDiverse<
	EnsureRoot<AccountId>,
	pallet_collective::EnsureProportionAtLeast<AccountId, CouncilCollective, 2, 3>,
>;

parameter_types! {
	/// Blocks between scheduling and cut-over: the successor's time to request the keys.
	/// Short, for development chains; a production runtime allows hours (e.g. `2 * HOURS`).
	pub const EnclaveMinLeadTime: BlockNumber = 10;
}

parameter_types! {
	/// A preimage costs a deposit while it is stored: a base plus a per-byte price, held from
	/// the account that noted it (a runtime blob of ~1.5 MB holds ~1.5 units).
	pub const PreimageBaseDeposit: Balance = crate::UNIT;
	pub const PreimageByteDeposit: Balance = crate::MICRO_UNIT;
	pub const PreimageHoldReason: RuntimeHoldReason =
		RuntimeHoldReason::Preimage(pallet_preimage::HoldReason::Preimage);
}

impl pallet_preimage::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = pallet_preimage::weights::SubstrateWeight<Runtime>;
	type Currency = Balances;
	type ManagerOrigin = EnsureRoot<AccountId>;
	type Consideration = HoldConsideration<
		AccountId,
		Balances,
		PreimageHoldReason,
		LinearStoragePrice<PreimageBaseDeposit, PreimageByteDeposit, Balance>,
	>;
}

parameter_types! {
	/// A deferred whitelisted dispatch (one whose preimage is not on chain yet) expires after a
	/// day of blocks at the production block time.
	pub const WhitelistDeferredDispatchExpiration: BlockNumber = crate::DAYS;
}

impl pallet_whitelist::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	// The council whitelists a call and then dispatches it as root: two motions, each by two
	// thirds, for what sudo does alone.
	type WhitelistOrigin = RootOrCouncilTwoThirds;
	type DispatchWhitelistedOrigin = RootOrCouncilTwoThirds;
	type Preimages = Preimage;
	type DeferredDispatchExpiration = WhitelistDeferredDispatchExpiration;
	type BlockNumberProvider = System;
	type WeightInfo = pallet_whitelist::weights::SubstrateWeight<Runtime>;
}

impl pallet_enclave_update::Config for Runtime {
	// Root, the council's two thirds, or a referendum on the track of each (`governance`).
	type ScheduleOrigin = crate::governance::EnclaveScheduleOrigin;
	type RetireOrigin = crate::governance::EnclaveRetireOrigin;
	type MinLeadTime = EnclaveMinLeadTime;
	// The schedule is one storage value that every call and every activation reads and writes
	// whole: each entry adds to their execution time (the `s` component in the pallet's
	// weights.rs) and to their proof size. Enclave builds are released rarely; a handful pending
	// at once is ample.
	type MaxScheduled = ConstU32<8>;
	type MaxHistory = ConstU32<32>;
	type MaxRetired = ConstU32<128>;
	type WeightInfo = pallet_enclave_update::weights::SubstrateWeight<Runtime>;
}

/// The TCB statuses the development runtime's registry accepts: fully patched platforms, and
/// those that only need software hardening or configuration (what the collateral says of
/// most cloud platforms). A production runtime narrows this to its own policy.
pub struct AcceptedTcb;
impl frame_support::traits::Contains<pallet_enclave_registry::TcbStatus> for AcceptedTcb {
	fn contains(status: &pallet_enclave_registry::TcbStatus) -> bool {
		use pallet_enclave_registry::TcbStatus::*;
		matches!(
			status,
			UpToDate | SWHardeningNeeded | ConfigurationNeeded | ConfigurationAndSWHardeningNeeded
		)
	}
}

impl pallet_enclave_registry::Config for Runtime {
	type Schedule = crate::EnclaveUpdate;
	type Time = crate::Timestamp;
	type AcceptedTcb = AcceptedTcb;
	type SignerPin = ();
	// The devnet's workers run the simulated TEE. A production runtime sets
	// `pallet_enclave_registry::RefuseSimulated`.
	type SimulatedEvidence = pallet_enclave_registry::AcceptDevSignedSimulated;
	// A TDX quote with its PCK chain is about 5 KiB; the collateral about 20 KiB.
	type MaxEvidenceLen = ConstU32<{ 16 * 1024 }>;
	type MaxCollateralLen = ConstU32<{ 64 * 1024 }>;
	type MaxUrlLen = ConstU32<256>;
	// Records of retired or superseded builds go within an hour (at once after a cut-over
	// commitment), in blocks' idle time.
	type PruneInterval = ConstU32<{ crate::HOURS }>;
	type WeightInfo = pallet_enclave_registry::weights::SubstrateWeight<Runtime>;
}

impl pallet_shielded_inbox::Config for Runtime {
	/// Room for an HPKE ciphertext of a small call: encapsulated key, payload and tag.
	type MaxCallLen = ConstU32<1024>;
	type MaxCallsPerBlock = ConstU32<64>;
	type WeightInfo = pallet_shielded_inbox::weights::SubstrateWeight<Runtime>;
}
