//! # enclave-update development runtime
//!
//! A small solochain runtime that hosts the [`pallet_enclave_update`] pallet with the governance
//! paths a parachain team uses: sudo (root), a council (`pallet-collective`) whose 2/3 majority
//! may schedule, cancel and retire enclave measurements, and OpenGov referenda ([`governance`]):
//! the `enclave_admin` track schedules and cancels, the `enclave_emergency` track retires.
//!
//! Pallets: System, Timestamp, BlockTime (the slot duration, set at genesis), Aura (block
//! authoring), Grandpa (finality), Balances, TransactionPayment, Sudo, Council, Preimage and
//! Whitelist (through which the council dispatches root calls such as a runtime upgrade),
//! Scheduler, Referenda, ConvictionVoting and Origins (OpenGov), DevAuthorities (root's GRANDPA
//! set changes on development chains), EnclaveUpdate, and ShieldedInbox, where users submit calls
//! encrypted to the TEE worker's shielding key.
//!
//! The std build also builds the wasm blob with `substrate-wasm-builder` ([`WASM_BINARY`]): that
//! blob is what `enclave-update-node` stores as `:code` and executes. The std build itself serves
//! the tests, the benchmarks and the node's types.

#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime`/`impl_runtime_apis` expand to large types.
#![recursion_limit = "256"]

extern crate alloc;

// `WASM_BINARY` and `WASM_BINARY_BLOATY`: the compressed blob the node executes, `None` when the
// build skipped it (`SKIP_WASM_BUILD`).
#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

/// The wasm blob, or an error that says how to get one: for a node that cannot run without it.
#[cfg(feature = "std")]
pub fn wasm_binary() -> Result<&'static [u8], &'static str> {
	WASM_BINARY.ok_or(
		"this binary was built without the runtime's wasm blob (SKIP_WASM_BUILD was set, or no \
		 wasm toolchain was found): rebuild without SKIP_WASM_BUILD after `source \
		 scripts/lib/deps.sh && ensure_wasm_toolchain`, or `rustup target add wasm32v1-none`",
	)
}

// `define_benchmarks!` makes the `list_benchmarks!`/`add_benchmarks!` macros that `apis` uses.
#[cfg(feature = "runtime-benchmarks")]
#[macro_use]
mod benchmarks;
pub mod apis;
pub mod block_time;
pub mod configs;
pub mod dev_authorities;
pub mod genesis_config_presets;
pub mod governance;
#[cfg(test)]
mod registry_tests;
#[cfg(test)]
mod tests;

use alloc::vec::Vec;
use sp_runtime::{
	generic, impl_opaque_keys,
	traits::{BlakeTwo256, IdentifyAccount, Verify},
	MultiAddress, MultiSignature,
};
use sp_version::RuntimeVersion;

pub use enclave_update_primitives::Measurement;
pub use frame_system::Call as SystemCall;
pub use pallet_balances::Call as BalancesCall;
pub use pallet_enclave_update::Call as EnclaveUpdateCall;
pub use pallet_shielded_inbox::Call as ShieldedInboxCall;

/// Opaque types for the node: it needs to know the block format, not the runtime's types.
pub mod opaque {
	use super::*;
	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header type.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block type.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	/// Opaque block identifier type.
	pub type BlockId = generic::BlockId<Block>;

	impl_opaque_keys! {
		/// The session keys of an authority: Aura to author blocks, GRANDPA to finalize them.
		pub struct SessionKeys {
			/// The block-authoring key.
			pub aura: Aura,
			/// The finality-voting key.
			pub grandpa: Grandpa,
		}
	}
}

/// The runtime's version.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("enclave-update-dev"),
	impl_name: alloc::borrow::Cow::Borrowed("enclave-update-dev"),
	authoring_version: 1,
	spec_version: 101,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// Milliseconds per block of a production chain: the slot duration of a chain whose genesis does
/// not set another ([`block_time`]).
pub const MILLI_SECS_PER_BLOCK: u64 = 6000;
/// Milliseconds per block of the development presets: one block a second, so that the devnet
/// story runs in minutes.
pub const DEV_MILLI_SECS_PER_BLOCK: u64 = 1000;
/// Blocks per minute at [`MILLI_SECS_PER_BLOCK`].
pub const MINUTES: BlockNumber = 60_000 / (MILLI_SECS_PER_BLOCK as BlockNumber);
/// Blocks per hour.
pub const HOURS: BlockNumber = MINUTES * 60;
/// Blocks per day.
pub const DAYS: BlockNumber = HOURS * 24;

/// One unit of the native token (12 decimals).
pub const UNIT: Balance = 1_000_000_000_000;
/// A thousandth of a unit.
pub const MILLI_UNIT: Balance = 1_000_000_000;
/// A millionth of a unit.
pub const MICRO_UNIT: Balance = 1_000_000;
/// The existential deposit.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;

/// The signature type of transactions.
pub type Signature = MultiSignature;
/// An account identifier: the public key behind a [`Signature`].
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// A balance of the native token.
pub type Balance = u128;
/// A transaction nonce.
pub type Nonce = u32;
/// A block hash.
pub type Hash = sp_core::H256;
/// A block number.
pub type BlockNumber = u32;
/// The address format of transaction senders.
pub type Address = MultiAddress<AccountId, ()>;
/// The block header.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// The block type.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;
/// A signed block, with a justification.
pub type SignedBlock = generic::SignedBlock<Block>;
/// A block identifier.
pub type BlockId = generic::BlockId<Block>;

/// The transaction extensions checked on every signed transaction.
pub type TxExtension = (
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
);

/// An extrinsic as it appears in a block.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;
/// The payload a transaction signer signs.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Signs `call` as `signer` in an immortal transaction with `nonce` and no tip, the way a wallet
/// signs for this runtime. The signed payload includes the genesis hash and the runtime version,
/// read from storage: call it inside the chain's externalities. For the runtime's tests and the
/// benchmarks (std only).
#[cfg(feature = "std")]
pub fn sign_transaction(
	signer: &sp_core::sr25519::Pair,
	call: RuntimeCall,
	nonce: Nonce,
) -> UncheckedExtrinsic {
	use codec::Encode;
	use sp_core::Pair as _;
	let extension: TxExtension = (
		frame_system::CheckNonZeroSender::new(),
		frame_system::CheckSpecVersion::new(),
		frame_system::CheckTxVersion::new(),
		frame_system::CheckGenesis::new(),
		frame_system::CheckEra::from(generic::Era::Immortal),
		frame_system::CheckNonce::from(nonce),
		frame_system::CheckWeight::new(),
		pallet_transaction_payment::ChargeTransactionPayment::from(0),
	);
	let payload = SignedPayload::new(call.clone(), extension.clone())
		.expect("the runtime's extensions have their implicit data in its storage");
	let signature = payload.using_encoded(|bytes| signer.sign(bytes));
	UncheckedExtrinsic::new_signed(
		call,
		MultiAddress::Id(AccountId::from(signer.public())),
		Signature::Sr25519(signature),
		extension,
	)
}

/// The single-block migrations this release runs at its upgrade (frame-system's
/// `SingleBlockMigrations`, run by `Executive` when the spec version changes): from the previous
/// release (spec 100, `runtime/upgrade-fixtures/`) to this one. Each is versioned, so it runs
/// once, at the storage version it migrates from, and is a one-read no-op after.
pub type Migrations = (pallet_shielded_inbox::migrations::v2::MigrateV1ToV2<Runtime>,);

/// Runs the blocks: initialisation, extrinsics, finalisation.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
>;

#[frame_support::runtime]
mod runtime {
	/// The runtime.
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	/// Accounts, blocks, events.
	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	/// Block timestamps.
	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;

	/// The slot duration, fixed at genesis.
	#[runtime::pallet_index(8)]
	pub type BlockTime = block_time;

	/// Root's GRANDPA authority-set changes on development chains.
	#[runtime::pallet_index(18)]
	pub type DevAuthorities = dev_authorities;

	/// Block authoring in turns: one authority per slot.
	#[runtime::pallet_index(6)]
	pub type Aura = pallet_aura;

	/// Finality: the authorities' GRANDPA votes, and the authority set.
	#[runtime::pallet_index(7)]
	pub type Grandpa = pallet_grandpa;

	/// The native token.
	#[runtime::pallet_index(2)]
	pub type Balances = pallet_balances;

	/// Transaction fees.
	#[runtime::pallet_index(3)]
	pub type TransactionPayment = pallet_transaction_payment;

	/// The sudo key: root for development chains.
	#[runtime::pallet_index(4)]
	pub type Sudo = pallet_sudo;

	/// The council: its 2/3 majority governs enclave updates.
	#[runtime::pallet_index(5)]
	pub type Council = pallet_collective<Instance1>;

	/// Preimages: calls stored on chain by their hash, for the whitelist (and governance).
	#[runtime::pallet_index(12)]
	pub type Preimage = pallet_preimage;

	/// Calls the council has whitelisted, dispatched as root: how the council (not only sudo)
	/// enacts a runtime upgrade.
	#[runtime::pallet_index(13)]
	pub type Whitelist = pallet_whitelist;

	/// Calls dispatched at a later block: the enactment of passed referenda.
	#[runtime::pallet_index(14)]
	pub type Scheduler = pallet_scheduler;

	/// Referenda on the tracks of [`governance::tracks`].
	#[runtime::pallet_index(15)]
	pub type Referenda = pallet_referenda;

	/// Votes on referenda, weighted by the conviction (lock time) of each.
	#[runtime::pallet_index(16)]
	pub type ConvictionVoting = pallet_conviction_voting;

	/// The origins passed referenda dispatch as, one per track.
	#[runtime::pallet_index(17)]
	pub type Origins = governance::origins::pallet_custom_origins;

	/// The governed schedule of allowed enclave measurements.
	#[runtime::pallet_index(10)]
	pub type EnclaveUpdate = pallet_enclave_update;

	/// Shielded calls for the TEE worker: the ciphertexts of each block.
	#[runtime::pallet_index(11)]
	pub type ShieldedInbox = pallet_shielded_inbox;

	/// The attested enclaves that hold the chain's keys, their quotes verified in the runtime.
	#[runtime::pallet_index(19)]
	pub type EnclaveRegistry = pallet_enclave_registry;
}
