//! The service: client (executing the runtime's wasm), database, transaction pool, network, RPC,
//! Aura block authoring and the GRANDPA voter.
//!
//! Aura and `pallet_timestamp` read the time from [`ChainClock`]: the system clock, or on a
//! development chain started with `--dev-clock-start` the system clock shifted to another time.

use crate::cli::NodeParams;
use enclave_update_runtime::{apis::RuntimeApi, opaque::Block};
use futures::FutureExt;
use sc_client_api::{Backend, BlockBackend};
use sc_consensus_aura::{ImportQueueParams, SlotProportion, StartAuraParams};
use sc_consensus_grandpa::SharedVoterState;
use sc_service::{error::Error as ServiceError, Configuration, TaskManager, WarpSyncConfig};
use sc_transaction_pool_api::OffchainTransactionPoolFactory;
use sp_consensus_aura::sr25519::{AuthorityId as AuraId, AuthorityPair as AuraPair};
use sp_runtime::traits::Block as BlockT;
use sp_timestamp::Timestamp;
use std::{
	sync::Arc,
	time::{Duration, SystemTime},
};

/// The host functions the runtime may call: Substrate's standard set, nothing else.
pub type HostFunctions = sp_io::SubstrateHostFunctions;

/// The runtime executor: the wasm blob in the chain's `:code`, run by the real wasm executor.
pub type RuntimeExecutor = sc_executor::WasmExecutor<HostFunctions>;

/// The full client.
pub type FullClient = sc_service::TFullClient<Block, RuntimeApi, RuntimeExecutor>;
type FullBackend = sc_service::TFullBackend<Block>;
type FullSelectChain = sc_consensus::LongestChain<FullBackend, Block>;
type FullPool = sc_transaction_pool::TransactionPoolHandle<Block, FullClient>;
type GrandpaBlockImport =
	sc_consensus_grandpa::GrandpaBlockImport<FullBackend, Block, FullClient, FullSelectChain>;

/// The parts of the service that the chain-maintenance subcommands need.
pub type Service = sc_service::PartialComponents<
	FullClient,
	FullBackend,
	FullSelectChain,
	sc_consensus::DefaultImportQueue<Block>,
	FullPool,
	(
		GrandpaBlockImport,
		sc_consensus_grandpa::LinkHalf<Block, FullClient, FullSelectChain>,
		ChainClock,
	),
>;

/// The time this node puts in the blocks it authors (the timestamp inherent, and the Aura slot
/// taken from it) and checks the blocks it imports against: the system clock shifted by a fixed
/// offset, zero unless `--dev-clock-start` set the time at the service's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainClock {
	/// Milliseconds added to the system time.
	offset_ms: i64,
}

impl ChainClock {
	/// The system clock as it is.
	pub const SYSTEM: Self = Self { offset_ms: 0 };

	/// The clock that reads `start` (unix seconds) now, or the system clock.
	pub fn starting_at(start: Option<u64>) -> Result<Self, ServiceError> {
		let Some(start) = start else { return Ok(Self::SYSTEM) };
		let offset = i128::from(start) * 1000 - i128::from(system_time_ms());
		let offset_ms = i64::try_from(offset).map_err(|_| {
			ServiceError::Other(format!(
				"--dev-clock-start {start} is too far from the system time"
			))
		})?;
		Ok(Self { offset_ms })
	}

	/// How far this clock is ahead of the system clock (behind if negative), in milliseconds.
	pub fn offset_ms(self) -> i64 {
		self.offset_ms
	}

	/// The time now, in milliseconds after the unix epoch.
	pub fn now(self) -> Timestamp {
		Timestamp::new(system_time_ms().saturating_add_signed(self.offset_ms))
	}
}

/// The system time in milliseconds after the unix epoch (the epoch itself for a clock set before
/// it).
fn system_time_ms() -> u64 {
	SystemTime::now()
		.duration_since(SystemTime::UNIX_EPOCH)
		.map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// Builds the client, its database, the transaction pool and the import queue (Aura checks a
/// block's author and slot, GRANDPA imports its justification), and the clock the node's
/// consensus reads.
pub fn new_partial(config: &Configuration, params: &NodeParams) -> Result<Service, ServiceError> {
	let clock = ChainClock::starting_at(params.dev_clock_start)?;
	if let Some(start) = params.dev_clock_start {
		let seconds = clock.offset_ms().unsigned_abs() / 1000;
		let direction = if clock.offset_ms() < 0 { "behind" } else { "ahead of" };
		log::warn!(
			"--dev-clock-start {start}: this node's chain time starts at unix time {start}, \
			 {seconds} s {direction} its system clock (development only)",
		);
	}
	let executor = sc_service::new_wasm_executor::<HostFunctions>(&config.executor);
	// No telemetry: a development node reports to nobody.
	let (client, backend, keystore_container, task_manager) =
		sc_service::new_full_parts::<Block, RuntimeApi, _>(config, None, executor, vec![])?;
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

	let (grandpa_block_import, grandpa_link) = sc_consensus_grandpa::block_import(
		client.clone(),
		params.justification_period,
		&client,
		select_chain.clone(),
		None,
	)?;

	let cidp_client = client.clone();
	let import_queue = sc_consensus_aura::import_queue::<AuraPair, _, _, _, _, _>(
		ImportQueueParams {
			block_import: grandpa_block_import.clone(),
			justification_import: Some(Box::new(grandpa_block_import.clone())),
			client: client.clone(),
			create_inherent_data_providers: move |parent_hash, ()| {
				let cidp_client = cidp_client.clone();
				async move {
					let slot_duration = sc_consensus_aura::standalone::slot_duration_at(
						&*cidp_client,
						parent_hash,
					)?;
					// This node's time: Aura refuses a block from a later slot than this one, the
					// runtime's inherent check a timestamp too far ahead of this one.
					let timestamp = sp_timestamp::InherentDataProvider::new(clock.now());
					let slot = sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
						*timestamp,
						slot_duration,
					);
					Ok((slot, timestamp))
				}
			},
			spawner: &task_manager.spawn_essential_handle(),
			registry: config.prometheus_registry(),
			check_for_equivocation: Default::default(),
			telemetry: None,
			compatibility_mode: Default::default(),
		},
	)?;

	Ok(sc_service::PartialComponents {
		client,
		backend,
		task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (grandpa_block_import, grandpa_link, clock),
	})
}

/// Starts the full node: network, RPC (with GRANDPA's), and, for an authority, Aura authoring and
/// the GRANDPA voter.
pub fn new_full<Network: sc_network::NetworkBackend<Block, <Block as BlockT>::Hash>>(
	config: Configuration,
	params: NodeParams,
) -> Result<TaskManager, ServiceError> {
	let sc_service::PartialComponents {
		client,
		backend,
		mut task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (block_import, grandpa_link, clock),
	} = new_partial(&config, &params)?;

	let mut net_config = sc_network::config::FullNetworkConfiguration::<
		Block,
		<Block as BlockT>::Hash,
		Network,
	>::new(&config.network, config.prometheus_registry().cloned());
	let metrics = Network::register_notification_metrics(config.prometheus_registry());

	let genesis_hash = client
		.block_hash(0)
		.map_err(|error| ServiceError::Other(format!("reading the genesis hash: {error}")))?
		.ok_or_else(|| ServiceError::Other("the database has no genesis block".into()))?;
	let grandpa_protocol_name =
		sc_consensus_grandpa::protocol_standard_name(&genesis_hash, &config.chain_spec);
	let (grandpa_protocol_config, grandpa_notification_service) =
		sc_consensus_grandpa::grandpa_peers_set_config::<_, Network>(
			grandpa_protocol_name.clone(),
			metrics.clone(),
			net_config.peer_store_handle(),
		);
	net_config.add_notification_protocol(grandpa_protocol_config);

	let warp_sync = Arc::new(sc_consensus_grandpa::warp_proof::NetworkProvider::new(
		backend.clone(),
		grandpa_link.shared_authority_set().clone(),
		Vec::default(),
	));

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
			warp_sync_config: Some(WarpSyncConfig::WithProvider(warp_sync)),
			block_relay: None,
			metrics,
			gap_sync_body_policy: None,
		})?;

	if config.offchain_worker.enabled {
		let offchain_workers =
			sc_offchain::OffchainWorkers::new(sc_offchain::OffchainWorkerOptions {
				runtime_api_provider: client.clone(),
				is_validator: config.role.is_authority(),
				keystore: Some(keystore_container.keystore()),
				offchain_db: backend.offchain_storage(),
				transaction_pool: Some(OffchainTransactionPoolFactory::new(
					transaction_pool.clone(),
				)),
				network_provider: Arc::new(network.clone()),
				enable_http_requests: false,
				custom_extensions: |_| vec![],
			})?;
		task_manager.spawn_handle().spawn(
			"offchain-workers-runner",
			"offchain-worker",
			offchain_workers.run(client.clone(), task_manager.spawn_handle()).boxed(),
		);
	}

	let role = config.role;
	let force_authoring = config.force_authoring;
	let name = config.network.node_name.clone();
	let enable_grandpa = !config.disable_grandpa;
	let prometheus_registry = config.prometheus_registry().cloned();

	let shared_voter_state = SharedVoterState::empty();
	let rpc_builder = {
		let client = client.clone();
		let pool = transaction_pool.clone();
		let backend = backend.clone();
		let shared_voter_state = shared_voter_state.clone();
		let shared_authority_set = grandpa_link.shared_authority_set().clone();
		let justification_stream = grandpa_link.justification_stream();
		Box::new(move |subscription_executor| {
			crate::rpc::create_full(crate::rpc::FullDeps {
				client: client.clone(),
				pool: pool.clone(),
				grandpa: crate::rpc::GrandpaDeps {
					shared_voter_state: shared_voter_state.clone(),
					shared_authority_set: shared_authority_set.clone(),
					justification_stream: justification_stream.clone(),
					subscription_executor,
					finality_provider: sc_consensus_grandpa::FinalityProofProvider::new_for_service(
						backend.clone(),
						Some(shared_authority_set.clone()),
					),
				},
			})
			.map_err(Into::into)
		})
	};

	sc_service::spawn_tasks(sc_service::SpawnTasksParams {
		network: network.clone(),
		client: client.clone(),
		keystore: keystore_container.keystore(),
		task_manager: &mut task_manager,
		transaction_pool: transaction_pool.clone(),
		rpc_builder,
		backend,
		system_rpc_tx,
		tx_handler_controller,
		sync_service: sync_service.clone(),
		config,
		telemetry: None,
		tracing_execute_block: None,
	})?;

	if role.is_authority() {
		let proposer_factory = sc_basic_authorship::ProposerFactory::new(
			task_manager.spawn_handle(),
			client.clone(),
			transaction_pool.clone(),
			prometheus_registry.as_ref(),
			None,
		);

		let slot_duration = sc_consensus_aura::slot_duration::<AuraId, _, _>(&*client)?;
		let aura = sc_consensus_aura::start_aura::<AuraPair, _, _, _, _, _, _, _, _, _, _>(
			StartAuraParams {
				slot_duration,
				client,
				select_chain,
				block_import,
				proposer_factory,
				create_inherent_data_providers: move |_, ()| async move {
					// sc-consensus-slots authors in the slot this gives: the slot of the block's
					// timestamp.
					let timestamp = sp_timestamp::InherentDataProvider::new(clock.now());
					let slot = sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
						*timestamp,
						slot_duration,
					);
					Ok((slot, timestamp))
				},
				force_authoring,
				backoff_authoring_blocks: None::<()>,
				keystore: keystore_container.keystore(),
				sync_oracle: sync_service.clone(),
				justification_sync_link: sync_service.clone(),
				block_proposal_slot_portion: SlotProportion::new(2f32 / 3f32),
				max_block_proposal_slot_portion: None,
				telemetry: None,
				compatibility_mode: Default::default(),
			},
		)?;
		// Authoring is essential: if it fails, the node stops.
		task_manager
			.spawn_essential_handle()
			.spawn_blocking("aura", Some("block-authoring"), aura);
	}

	if enable_grandpa {
		// Only an authority votes, and only it needs the keystore.
		let keystore = role.is_authority().then(|| keystore_container.keystore());
		let grandpa_config = sc_consensus_grandpa::Config {
			gossip_duration: Duration::from_millis(333),
			justification_generation_period: params.justification_period,
			name: Some(name),
			observer_enabled: false,
			keystore,
			local_role: role,
			telemetry: None,
			protocol_name: grandpa_protocol_name,
		};
		let grandpa_params = sc_consensus_grandpa::GrandpaParams {
			config: grandpa_config,
			link: grandpa_link,
			network,
			sync: Arc::new(sync_service),
			notification_service: grandpa_notification_service,
			voting_rule: sc_consensus_grandpa::VotingRulesBuilder::default().build(),
			prometheus_registry,
			shared_voter_state,
			telemetry: None,
			offchain_tx_pool_factory: OffchainTransactionPoolFactory::new(transaction_pool),
		};
		// The voter is essential: if it fails, the node stops.
		task_manager.spawn_essential_handle().spawn_blocking(
			"grandpa-voter",
			None,
			sc_consensus_grandpa::run_grandpa_voter(grandpa_params)?,
		);
	}

	Ok(task_manager)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_dev_clock_reads_its_start_time_and_runs_on_from_it() {
		let start = 1_751_624_655;
		let before = system_time_ms();
		let clock = ChainClock::starting_at(Some(start)).unwrap();
		let first = clock.now().as_millis();
		assert!(first >= start * 1000, "{first}");
		// Only the time this test took passed since the start (a minute is ample).
		assert!(first < start * 1000 + 60_000, "{first}");
		std::thread::sleep(Duration::from_millis(20));
		let later = clock.now().as_millis();
		assert!(later >= first + 20, "{first} then {later}");
		// The offset is what the system clock needs to read the start (here: in the past).
		let after = system_time_ms();
		assert!(clock.offset_ms() < 0);
		assert!(i128::from(clock.offset_ms()) <= i128::from(start) * 1000 - i128::from(before));
		assert!(i128::from(clock.offset_ms()) >= i128::from(start) * 1000 - i128::from(after));
	}

	#[test]
	fn without_a_start_the_chain_clock_is_the_system_clock() {
		let clock = ChainClock::starting_at(None).unwrap();
		assert_eq!(clock, ChainClock::SYSTEM);
		let before = system_time_ms();
		let now = clock.now().as_millis();
		assert!((before..=system_time_ms()).contains(&now), "{now}");
	}

	#[test]
	fn a_start_in_the_future_moves_the_clock_ahead() {
		let start = crate::cli::MAX_DEV_CLOCK_START;
		let clock = ChainClock::starting_at(Some(start)).unwrap();
		assert!(clock.offset_ms() > 0);
		let now = clock.now().as_millis();
		assert!((start * 1000..start * 1000 + 60_000).contains(&now), "{now}");
	}
}
