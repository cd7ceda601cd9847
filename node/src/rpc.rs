//! The node's own JSON-RPC methods, added to the standard ones sc-service serves (`state_*`,
//! `chain_*`, `author_*`, `system_*` and the rpc-spec-v2 `chainHead_v1_*`, `transaction_v1_*`,
//! `chainSpec_v1_*`, `archive_v1_*`).

use enclave_update_runtime::{opaque::Block, AccountId, Balance, Hash, Nonce};
use futures::channel::mpsc;
use jsonrpsee::RpcModule;
use sc_consensus_manual_seal::{
	rpc::{ManualSeal, ManualSealApiServer},
	EngineCommand,
};
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};
use std::sync::Arc;

/// What the RPC methods need from the node.
pub struct FullDeps<C, P> {
	/// The client.
	pub client: Arc<C>,
	/// The transaction pool.
	pub pool: Arc<P>,
	/// The channel to the manual-seal task, for `engine_createBlock` / `engine_finalizeBlock`.
	pub manual_seal: mpsc::Sender<EngineCommand<Hash>>,
}

/// The RPC methods of this node beyond sc-service's: `system_accountNextIndex`,
/// `payment_queryInfo` / `payment_queryFeeDetails`, and the manual-seal `engine_*` methods.
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
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
{
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let FullDeps { client, pool, manual_seal } = deps;
	let mut module = RpcModule::new(());
	module.merge(SystemApiServer::<Hash, AccountId, Nonce>::into_rpc(System::new(
		client.clone(),
		pool,
	)))?;
	module
		.merge(TransactionPaymentApiServer::<Hash, _>::into_rpc(TransactionPayment::new(client)))?;
	module.merge(ManualSeal::new(manual_seal).into_rpc())?;
	Ok(module)
}
