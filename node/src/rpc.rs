//! The node's own JSON-RPC methods, added to the standard ones sc-service serves (`state_*`,
//! `chain_*`, `author_*`, `system_*` and the rpc-spec-v2 `chainHead_v1_*`, `transaction_v1_*`,
//! `chainSpec_v1_*`, `archive_v1_*`).

use enclave_update_runtime::{opaque::Block, AccountId, Balance, Hash, Nonce};
use jsonrpsee_sdk::RpcModule;
use sc_consensus_grandpa::{
	FinalityProofProvider, GrandpaJustificationStream, SharedAuthoritySet, SharedVoterState,
};
use sc_consensus_grandpa_rpc::{Grandpa, GrandpaApiServer};
use sc_rpc::SubscriptionTaskExecutor;
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};
use sp_runtime::traits::NumberFor;
use std::sync::Arc;

/// What the GRANDPA RPC methods need from the voter.
pub struct GrandpaDeps<B> {
	/// The voter's state, for `grandpa_roundState`.
	pub shared_voter_state: SharedVoterState,
	/// The authority set the voter tracks.
	pub shared_authority_set: SharedAuthoritySet<Hash, NumberFor<Block>>,
	/// Each justification the voter imports or makes, for `grandpa_subscribeJustifications`.
	pub justification_stream: GrandpaJustificationStream<Block>,
	/// Runs the subscriptions.
	pub subscription_executor: SubscriptionTaskExecutor,
	/// Serves `grandpa_proveFinality` from the stored justifications.
	pub finality_provider: Arc<FinalityProofProvider<B, Block>>,
}

/// What the RPC methods need from the node.
pub struct FullDeps<C, P, B> {
	/// The client.
	pub client: Arc<C>,
	/// The transaction pool.
	pub pool: Arc<P>,
	/// The GRANDPA voter's parts.
	pub grandpa: GrandpaDeps<B>,
}

/// The RPC methods of this node beyond sc-service's: `system_accountNextIndex`,
/// `payment_queryInfo` / `payment_queryFeeDetails`, and GRANDPA's `grandpa_roundState`,
/// `grandpa_proveFinality` and `grandpa_subscribeJustifications`.
pub fn create_full<C, P, B>(
	deps: FullDeps<C, P, B>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ HeaderMetadata<Block, Error = BlockChainError>
		+ Send
		+ Sync
		+ 'static,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>
		+ pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>
		+ BlockBuilder<Block>,
	P: TransactionPool + 'static,
	B: sc_client_api::Backend<Block> + Send + Sync + 'static,
	B::State: sc_client_api::StateBackend<sp_runtime::traits::HashingFor<Block>>,
{
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let FullDeps { client, pool, grandpa } = deps;
	let mut module = RpcModule::new(());
	module.merge(SystemApiServer::<Hash, AccountId, Nonce>::into_rpc(System::new(
		client.clone(),
		pool,
	)))?;
	module
		.merge(TransactionPaymentApiServer::<Hash, _>::into_rpc(TransactionPayment::new(client)))?;
	module.merge(
		Grandpa::new(
			grandpa.subscription_executor,
			grandpa.shared_authority_set,
			grandpa.shared_voter_state,
			grandpa.justification_stream,
			grandpa.finality_provider,
		)
		.into_rpc(),
	)?;
	Ok(module)
}
