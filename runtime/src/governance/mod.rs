//! OpenGov: referenda with conviction voting, on two tracks of their own ([`tracks`]), whose
//! passed proposals the scheduler dispatches as the track's custom origin ([`origins`]).
//!
//! Anyone submits a referendum with a call (by its preimage) and the track's origin, places the
//! track's decision deposit, and token holders vote with conviction. Once the approval and
//! support curves have held for the confirm period, the call is scheduled and dispatched after
//! the enactment period as `Origins::EnclaveAdmin` or `Origins::EnclaveEmergency`, which the
//! EnclaveUpdate pallet's origins accept ([`EnclaveScheduleOrigin`], [`EnclaveRetireOrigin`]).

pub mod origins;
pub mod tracks;

use crate::{
	configs::{RootOrCouncilTwoThirds, RuntimeBlockWeights},
	AccountId, Balance, Balances, BlockNumber, OriginCaller, Preimage, Referenda, Runtime,
	RuntimeCall, RuntimeEvent, RuntimeOrigin, Scheduler, System, DAYS, UNIT,
};
use frame_support::{
	parameter_types,
	traits::{ConstU32, EitherOfDiverse, EqualPrivilegeOnly},
	weights::Weight,
};
use frame_system::{EnsureRoot, EnsureSigned};
use sp_runtime::Perbill;

/// Root, two thirds of the council, or a referendum on `enclave_admin`: who may schedule and
/// cancel enclave updates.
pub type EnclaveScheduleOrigin = EitherOfDiverse<RootOrCouncilTwoThirds, origins::EnclaveAdmin>;

/// Root, two thirds of the council, or a referendum on `enclave_emergency`: who may retire a
/// measurement.
pub type EnclaveRetireOrigin = EitherOfDiverse<RootOrCouncilTwoThirds, origins::EnclaveEmergency>;

impl origins::Config for Runtime {}

parameter_types! {
	/// The scheduler may use 80% of a block's weight for the calls it dispatches.
	pub MaximumSchedulerWeight: Weight = Perbill::from_percent(80) * RuntimeBlockWeights::get().max_block;
}

impl pallet_scheduler::Config for Runtime {
	type RuntimeOrigin = RuntimeOrigin;
	type RuntimeEvent = RuntimeEvent;
	type PalletsOrigin = OriginCaller;
	type RuntimeCall = RuntimeCall;
	type MaximumWeight = MaximumSchedulerWeight;
	// Referenda schedule their enactments themselves; named or anonymous tasks from elsewhere
	// need root.
	type ScheduleOrigin = EnsureRoot<AccountId>;
	type OriginPrivilegeCmp = EqualPrivilegeOnly;
	type MaxScheduledPerBlock = ConstU32<50>;
	type WeightInfo = pallet_scheduler::weights::SubstrateWeight<Runtime>;
	type Preimages = Preimage;
	type BlockNumberProvider = System;
}

parameter_types! {
	/// How long a vote's balance stays locked per conviction multiplier once its referendum is
	/// over. Production: 7 days; here a minute of blocks at the devnet's pace.
	pub const VoteLockingPeriod: BlockNumber = 60;
}

impl pallet_conviction_voting::Config for Runtime {
	type WeightInfo = pallet_conviction_voting::weights::SubstrateWeight<Runtime>;
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type Polls = Referenda;
	// Support is measured against all the issuance: every token could vote.
	type MaxTurnout = frame_support::traits::TotalIssuanceOf<Balances, AccountId>;
	type MaxVotes = ConstU32<512>;
	type VoteLockingPeriod = VoteLockingPeriod;
	type BlockNumberProvider = System;
	type VotingHooks = ();
}

parameter_types! {
	/// Held from the submitter of a referendum until it is decided (refunded unless it is killed).
	pub const SubmissionDeposit: Balance = UNIT;
	/// A referendum that nobody places the decision deposit for times out after this.
	/// Production: 14 days, as on Polkadot.
	pub const UndecidingTimeout: BlockNumber = 14 * DAYS;
}

impl pallet_referenda::Config for Runtime {
	type WeightInfo = pallet_referenda::weights::SubstrateWeight<Runtime>;
	type RuntimeCall = RuntimeCall;
	type RuntimeEvent = RuntimeEvent;
	type Scheduler = Scheduler;
	type Currency = Balances;
	// Any account may propose, on any track; the deposits keep that honest.
	type SubmitOrigin = EnsureSigned<AccountId>;
	// The council, or root, may cancel a referendum (deposits refunded), e.g. one that would
	// schedule a build found malicious while it is voted on; only root kills one (deposits
	// slashed).
	type CancelOrigin = RootOrCouncilTwoThirds;
	type KillOrigin = EnsureRoot<AccountId>;
	// Slashed deposits are burned: this chain has no treasury.
	type Slash = ();
	type Votes = Balance;
	type Tally = pallet_conviction_voting::TallyOf<Runtime>;
	type SubmissionDeposit = SubmissionDeposit;
	type MaxQueued = ConstU32<100>;
	type UndecidingTimeout = UndecidingTimeout;
	// Check every block for decisions, confirmations and timeouts.
	type AlarmInterval = ConstU32<1>;
	type Tracks = tracks::TracksInfo;
	type Preimages = Preimage;
	type BlockNumberProvider = System;
}

#[cfg(test)]
mod tests;
