//! The service: client, database, transaction pool, network, RPC and manual-seal block production.

use crate::{cli::Sealing, executor::NativeExecutor};
use codec::Decode;
use enclave_update_runtime::{apis::RuntimeApi, opaque::Block, Hash, Runtime};
use frame_support::traits::Get;
use futures::{
	channel::{
		mpsc,
		oneshot::{self, Canceled},
	},
	stream::BoxStream,
	FutureExt, StreamExt,
};
use sc_client_api::StorageProvider;
use sc_consensus_manual_seal::{EngineCommand, Error as ManualSealError};
use sc_service::{error::Error as ServiceError, Configuration, SpawnTaskHandle, TaskManager};
use sc_transaction_pool_api::TransactionPool;
use sp_core::storage::StorageKey;
use sp_runtime::traits::Block as BlockT;
use std::{
	sync::Arc,
	time::{Duration, SystemTime, UNIX_EPOCH},
};

/// The full client: the runtime executed natively.
pub type FullClient = sc_service::TFullClient<Block, RuntimeApi, NativeExecutor>;
type FullBackend = sc_service::TFullBackend<Block>;
type FullSelectChain = sc_consensus::LongestChain<FullBackend, Block>;
type FullPool = sc_transaction_pool::TransactionPoolHandle<Block, FullClient>;

/// The parts of the service that the chain-maintenance subcommands need.
pub type Service = sc_service::PartialComponents<
	FullClient,
	FullBackend,
	FullSelectChain,
	sc_consensus::DefaultImportQueue<Block>,
	FullPool,
	(),
>;

/// Builds the client, its database and the transaction pool.
pub fn new_partial(config: &Configuration) -> Result<Service, ServiceError> {
	// No telemetry: a development node reports to nobody.
	let (client, backend, keystore_container, task_manager) =
		sc_service::new_full_parts::<Block, RuntimeApi, _>(config, None, NativeExecutor, vec![])?;
	let client = Arc::new(client);

	let select_chain = sc_consensus::LongestChain::new(backend.clone());

	let transaction_pool = Arc::from(
		sc_transaction_pool::Builder::new(
			task_manager.spawn_essential_handle(),
			client.clone(),
			config.role.is_authority().into(),
		)
		.with_options(config.transaction_pool.clone())
		.with_prometheus(config.prometheus_registry())
		.build(),
	);

	let import_queue = sc_consensus_manual_seal::import_queue(
		Box::new(client.clone()),
		&task_manager.spawn_essential_handle(),
		config.prometheus_registry(),
	);

	Ok(sc_service::PartialComponents {
		client,
		backend,
		task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (),
	})
}

/// Starts the full node: network (needed by sc-service; a dev node has no peers), RPC and
/// block production as `sealing` says.
pub fn new_full<Network: sc_network::NetworkBackend<Block, <Block as BlockT>::Hash>>(
	config: Configuration,
	sealing: Sealing,
) -> Result<TaskManager, ServiceError> {
	let sc_service::PartialComponents {
		client,
		backend,
		mut task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (),
	} = new_partial(&config)?;

	let net_config = sc_network::config::FullNetworkConfiguration::<
		Block,
		<Block as BlockT>::Hash,
		Network,
	>::new(&config.network, config.prometheus_registry().cloned());
	let metrics = Network::register_notification_metrics(config.prometheus_registry());

	let (network, system_rpc_tx, tx_handler_controller, sync_service, _bitswap) =
		sc_service::build_network(sc_service::BuildNetworkParams {
			config: &config,
			net_config,
			client: client.clone(),
			transaction_pool: transaction_pool.clone(),
			spawn_handle: task_manager.spawn_handle(),
			spawn_essential_handle: task_manager.spawn_essential_handle(),
			import_queue,
			block_announce_validator_builder: None,
			warp_sync_config: None,
			block_relay: None,
			metrics,
			gap_sync_body_policy: None,
		})?;

	// Sealing commands from the `engine_*` RPC methods.
	let (manual_seal_sink, manual_seal_commands) = mpsc::channel(1024);

	let rpc_builder = {
		let client = client.clone();
		let pool = transaction_pool.clone();
		Box::new(move |_| {
			crate::rpc::create_full(crate::rpc::FullDeps {
				client: client.clone(),
				pool: pool.clone(),
				manual_seal: manual_seal_sink.clone(),
			})
			.map_err(Into::into)
		})
	};

	let prometheus_registry = config.prometheus_registry().cloned();

	sc_service::spawn_tasks(sc_service::SpawnTasksParams {
		network,
		client: client.clone(),
		keystore: keystore_container.keystore(),
		task_manager: &mut task_manager,
		transaction_pool: transaction_pool.clone(),
		rpc_builder,
		backend,
		system_rpc_tx,
		tx_handler_controller,
		sync_service,
		config,
		telemetry: None,
		tracing_execute_block: None,
	})?;

	let proposer = sc_basic_authorship::ProposerFactory::new(
		task_manager.spawn_handle(),
		client.clone(),
		transaction_pool.clone(),
		prometheus_registry.as_ref(),
		None,
	);

	let mut commands: Vec<BoxStream<'static, EngineCommand<Hash>>> =
		vec![manual_seal_commands.boxed()];
	if sealing.on_transaction {
		// The fork-aware pool keeps transactions out of any view (and announces none) until a
		// block exists on top of the one the node started with, so seal that block first.
		commands.push(futures::stream::once(async { seal_command() }).boxed());
		// The announcements that queued up while a block was being sealed make one command, and
		// a command whose transactions are all included already seals nothing: a burst of
		// transactions fills blocks instead of trailing empty ones.
		let spawner = task_manager.spawn_handle();
		commands.push(
			transaction_pool
				.import_notification_stream()
				.ready_chunks(ANNOUNCEMENTS_PER_SEAL)
				.map(move |_| seal_on_transaction(&spawner))
				.boxed(),
		);
	}
	if let Some(interval) = sealing.interval {
		let minimum_period = <Runtime as pallet_timestamp::Config>::MinimumPeriod::get();
		if interval < Duration::from_millis(minimum_period) {
			log::warn!(
				"Blocks sealed every {}ms are stamped {minimum_period}ms apart (the runtime's \
				 MinimumPeriod): chain time runs ahead of the wall clock",
				interval.as_millis()
			);
		}
		commands.push(interval_commands(interval).boxed());
	}

	let create_inherent_data_providers = {
		let client = client.clone();
		move |parent: Hash, ()| {
			let client = client.clone();
			async move {
				let timestamp = next_timestamp(&client, parent)?;
				Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
					sp_timestamp::InherentDataProvider::new(timestamp.into()),
				)
			}
		}
	};

	let authorship =
		sc_consensus_manual_seal::run_manual_seal(sc_consensus_manual_seal::ManualSealParams {
			block_import: client.clone(),
			env: proposer,
			client,
			pool: transaction_pool,
			select_chain,
			commands_stream: futures::stream::select_all(commands),
			consensus_data_provider: None,
			create_inherent_data_providers,
		});
	task_manager.spawn_essential_handle().spawn_blocking("manual-seal", None, authorship.boxed());

	Ok(task_manager)
}

/// Seal a block on the best block, even an empty one, and finalize it (instant finality).
fn seal_command() -> EngineCommand<Hash> {
	EngineCommand::SealNewBlock {
		create_empty: true,
		finalize: true,
		parent_hash: None,
		sender: None,
	}
}

/// Transaction announcements coalesced into one seal command at most; more make another.
const ANNOUNCEMENTS_PER_SEAL: usize = 256;

/// Seal a block for transactions that entered the pool, unless an earlier block took them all.
///
/// Manual seal logs every failure of a command without a result channel as an error; that no
/// transaction was left to seal is expected here, so the result is awaited and only real
/// failures are logged.
fn seal_on_transaction(spawner: &SpawnTaskHandle) -> EngineCommand<Hash> {
	let (sender, result) = oneshot::channel();
	spawner.spawn("seal-on-transaction", None, async move {
		match result.await {
			Ok(Err(ManualSealError::EmptyTransactionPool)) | Ok(Ok(_)) | Err(Canceled) => {},
			Ok(Err(error)) => log::error!("Sealing a block for new transactions failed: {error}"),
		}
	});
	EngineCommand::SealNewBlock {
		create_empty: false,
		finalize: true,
		parent_hash: None,
		sender: Some(sender),
	}
}

fn interval_commands(interval: Duration) -> impl futures::Stream<Item = EngineCommand<Hash>> {
	futures::stream::unfold((), move |()| async move {
		futures_timer::Delay::new(interval).await;
		Some((seal_command(), ()))
	})
}

/// The timestamp of the block built on `parent`: see [`timestamp_after`]. Reading the parent's
/// time from state (not from memory) keeps chain time monotonic across restarts.
fn next_timestamp(
	client: &FullClient,
	parent: Hash,
) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
	let key = StorageKey(pallet_timestamp::Now::<Runtime>::hashed_key().to_vec());
	let parent_time = match client.storage(parent, &key)? {
		Some(data) => u64::decode(&mut &data.0[..])?,
		None => 0,
	};
	let minimum_period = <Runtime as pallet_timestamp::Config>::MinimumPeriod::get();
	let now = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
	Ok(timestamp_after(parent_time, minimum_period, now))
}

/// Wall-clock time `now`, but never less than the parent's time plus `minimum_period`:
/// pallet-timestamp rejects a block that comes sooner. Blocks sealed on transactions can come
/// faster and push chain time ahead of the wall clock; interval blocks further apart than
/// `minimum_period` (twice as far with the `--dev` defaults) let the wall clock catch up.
fn timestamp_after(parent_time: u64, minimum_period: u64, now: u64) -> u64 {
	now.max(parent_time.saturating_add(minimum_period))
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::cli::DEV_BLOCK_TIME_MS;

	#[test]
	fn dev_chain_time_follows_the_wall_clock() {
		let minimum_period = <Runtime as pallet_timestamp::Config>::MinimumPeriod::get();
		assert!(
			DEV_BLOCK_TIME_MS >= 2 * minimum_period,
			"dev interval blocks must leave room to catch up with the wall clock"
		);
		let mut wall = 1_700_000_000_000;
		let mut chain_time = wall;
		let interval_block = |chain_time: &mut u64, wall: &mut u64| {
			*wall += DEV_BLOCK_TIME_MS;
			*chain_time = timestamp_after(*chain_time, minimum_period, *wall);
		};
		for _ in 0..10 {
			interval_block(&mut chain_time, &mut wall);
			assert_eq!(chain_time, wall);
		}
		// A burst of transactions sealed within one millisecond runs ahead of the wall clock...
		for _ in 0..20 {
			chain_time = timestamp_after(chain_time, minimum_period, wall);
		}
		assert_eq!(chain_time - wall, 20 * minimum_period);
		// ...and each interval block then brings chain time closer until it is wall time again.
		let mut ahead = chain_time - wall;
		while ahead > 0 {
			interval_block(&mut chain_time, &mut wall);
			assert!(chain_time - wall < ahead, "chain time must converge on the wall clock");
			ahead = chain_time - wall;
		}
		assert_eq!(chain_time, wall);
	}

	#[test]
	fn a_block_is_never_stamped_sooner_than_the_minimum_period() {
		assert_eq!(timestamp_after(10_000, 500, 10_100), 10_500);
		assert_eq!(timestamp_after(10_000, 500, 12_000), 12_000);
		assert_eq!(timestamp_after(u64::MAX, 500, 0), u64::MAX);
	}
}
