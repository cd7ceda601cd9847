//! `enclave-worker`: the enclave's binary, the command-line front of the worker's trusted core.
//!
//! It holds only what runs inside the TEE: `init`, `run`, `request-keys`, `register-evidence`
//! and `status`. The
//! commands for users and operators (`shield`, `schedule`, `verify-quote`, `policy`) are in
//! `enclave-update-cli` (`cli/`), so that editing them never changes the enclave's measurement.

use std::{
	path::{Path, PathBuf},
	process::ExitCode,
};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use enclave_worker::{
	attestation::{CollateralCache, Verifier},
	chain::rpc::RpcChain,
	keys::{KeyChecksum, KeyMaterial, KeyStore},
	provisioning::{request_keys, Provider, ProviderConfig, RequesterConfig, StoreOutcome},
	registration::{parse_account, registration_evidence},
	runner::{Runner, RunnerConfig},
	status::{Readiness, SealedKeys, WorkerStatus},
	store::{ChainIdentity, SealedProgress, Store, StoreError},
	tee::{GramineTee, Tee},
	Measurement,
};
use std::sync::Arc;

/// The enclave-update worker: runs inside an SGX/TDX enclave, holds the shielding and
/// state keys of a chain's confidential state, and hands them over to the next scheduled
/// enclave build without ever losing them.
#[derive(Parser, Debug)]
#[command(name = "enclave-worker", version)]
struct Cli {
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
	/// Generate fresh keys for the FIRST enclave of a chain and seal them to this
	/// enclave's measurement, bound to the chain they serve (`--node` reads its genesis and
	/// checks the light client's checkpoint; `--genesis` names it). Refuses if the data
	/// directory already holds key material: a successor or replica must use `request-keys`
	/// instead, never `init`. The chain is fixed here, once: no later host input changes it.
	Init {
		#[command(flatten)]
		data: DataDirArg,
		#[command(flatten)]
		tee: TeeArgs,
		#[command(flatten)]
		chain: InitChainArgs,
	},
	/// Show the worker's readiness (no keys / provisioning / standby / active / retired),
	/// measurement, key checksum and last processed block. With `--tee`, also check that
	/// this enclave build can unseal the keys in the data directory.
	Status {
		#[command(flatten)]
		data: DataDirArg,
		#[command(flatten)]
		tee: TeeArgs,
		/// Print JSON instead of text.
		#[arg(long)]
		json: bool,
	},
	/// Run the worker: follow the node's finalized chain, execute the blocks the on-chain
	/// schedule gives to this enclave (standby before its activation block, retired after its
	/// successor's), and with `--provide-on` hand the keys and the state snapshot to enclaves
	/// the schedule allows. Stops on SIGINT/SIGTERM; the state is sealed after every block.
	Run(RunArgs),
	/// Obtain the keys from a running worker (`run --provide-on`; `--from`, or the registered
	/// enclaves that may provide them): mutual attestation, the
	/// provider's and this enclave's proof-checked schedules must both allow it. The keys are
	/// sealed to this enclave's measurement; `status` then shows the provider's key checksum.
	RequestKeys(RequestKeysArgs),
	/// Print, as JSON, the evidence of this enclave's registration on chain, for
	/// `enclave-update-cli register` to submit from ACCOUNT: a quote binding ACCOUNT, this
	/// enclave's signing key (made and sealed on first use, never handed over), the shielding key
	/// and the key-set checksum. Needs the keys (`init` or `request-keys` first).
	RegisterEvidence {
		#[command(flatten)]
		data: DataDirArg,
		#[command(flatten)]
		tee: TeeArgs,
		/// The account that will submit the registration (SS58, or its 32 bytes as 0x-hex).
		#[arg(long, value_name = "ACCOUNT")]
		account: String,
	},
}

/// Where peers' DCAP collateral comes from (`run`, `request-keys`). Collateral is host input
/// that needs no trust: it is verified against Intel's root compiled into the build, at the
/// verified chain's time.
#[derive(Args, Debug, Clone)]
struct CollateralArgs {
	/// Directory of cached DCAP collateral for peers' quotes (`<fmspc>-<ca>.json` files).
	#[arg(long, value_name = "DIR")]
	collateral_dir: Option<PathBuf>,
	/// Fetch collateral missing from (or stale in) `--collateral-dir` from this PCCS, e.g.
	/// `https://pccs.example:8081/sgx/certification/v4/` (needs a build with the `pccs` feature).
	#[arg(long, value_name = "URL", requires = "collateral_dir")]
	pccs_url: Option<String>,
}

impl CollateralArgs {
	fn collateral(&self) -> Result<Option<CollateralCache>> {
		Ok(CollateralCache::from_options(self.collateral_dir.as_deref(), self.pccs_url.as_deref())?)
	}
}

/// The chain a fresh key set is made for: exactly one of the two.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
struct InitChainArgs {
	/// The node (ws://…) of the chain: its genesis, with the GRANDPA checkpoint proven against
	/// the genesis header.
	#[arg(long, value_name = "URL")]
	node: Option<String>,
	/// The chain's genesis hash (0x-hex), without contacting a node; the first `run` checks
	/// the node against it.
	#[arg(long, value_name = "HEX")]
	genesis: Option<String>,
}

/// The node the worker reads the chain from (believing nothing it says without a proof; the
/// pallets read are named by the build, see `policy`).
#[derive(Args, Debug, Clone)]
struct NodeArgs {
	/// The node's WebSocket RPC endpoint.
	#[arg(long, value_name = "URL", default_value = "ws://127.0.0.1:9944")]
	node: String,
}

/// What `run` and `request-keys` both need: the enclave, its data, its node, its policy.
#[derive(Args, Debug)]
struct WorkerArgs {
	#[command(flatten)]
	data: DataDirArg,
	#[command(flatten)]
	tee: TeeArgs,
	#[command(flatten)]
	node: NodeArgs,
	#[command(flatten)]
	collateral: CollateralArgs,
}

#[derive(Args, Debug)]
struct RunArgs {
	#[command(flatten)]
	worker: WorkerArgs,
	/// Serve key hand-overs and state snapshots on this address (e.g. 127.0.0.1:7001).
	#[arg(long, value_name = "ADDR")]
	provide_on: Option<String>,
	/// The provisioning address of the worker whose state this one continues (the
	/// predecessor at a cut-over, or a running worker of the same measurement for a replica).
	#[arg(long, value_name = "ADDR")]
	predecessor: Option<String>,
	/// Pause between rounds when there is nothing to do, in milliseconds.
	#[arg(long, value_name = "MS", default_value_t = 250)]
	poll_ms: u64,
}

#[derive(Args, Debug)]
struct RequestKeysArgs {
	#[command(flatten)]
	worker: WorkerArgs,
	/// The provider's provisioning address (its `run --provide-on`). Without it, the addresses
	/// the chain's registry gives for the enclaves of its key set that the verified schedule
	/// lets hand their keys to this one are tried in turn (read with proofs; the hand-over is
	/// mutually attested whatever the address).
	#[arg(long, value_name = "ADDR")]
	from: Option<String>,
	/// Replace keys this enclave already holds if the provider's differ (the held ones are
	/// kept as the previous copy). Never needed for a fresh enclave.
	#[arg(long)]
	replace_existing_keys: bool,
	/// Print JSON instead of text.
	#[arg(long)]
	json: bool,
}

#[derive(Args, Debug)]
struct DataDirArg {
	/// Directory holding the sealed keys, snapshots and status file.
	#[arg(long, value_name = "DIR")]
	data_dir: PathBuf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TeeChoice {
	/// Software simulation (only in builds with the `dev-tee` feature).
	#[cfg(feature = "dev-tee")]
	Sim,
	/// SGX through Gramine's /dev/attestation.
	Gramine,
}

#[derive(Args, Debug)]
struct TeeArgs {
	/// TEE backend.
	#[arg(long, value_enum)]
	tee: Option<TeeChoice>,
	/// Measurement of the simulated enclave (0x-hex: 32 bytes MRENCLAVE or 48 bytes TDX
	/// identity digest). Run two sim workers with different values to play "old" and "new"
	/// builds.
	#[cfg(feature = "dev-tee")]
	#[arg(long, value_name = "HEX")]
	measurement: Option<Measurement>,
	/// Per-host secret of the sim backend (default: `<data-dir>/sim-host-secret`, created
	/// once). Workers on one host that share it behave like enclaves on one CPU.
	#[cfg(feature = "dev-tee")]
	#[arg(long, value_name = "FILE")]
	host_secret: Option<PathBuf>,
}

impl TeeArgs {
	fn build(&self, data_dir: &Path) -> Result<Option<Box<dyn Tee>>> {
		self.build_with(data_dir, true)
	}

	/// The enclave for a command that only reads: the sim backend never creates its host secret.
	fn build_read_only(&self, data_dir: &Path) -> Result<Option<Box<dyn Tee>>> {
		self.build_with(data_dir, false)
	}

	fn build_with(&self, data_dir: &Path, may_write: bool) -> Result<Option<Box<dyn Tee>>> {
		#[cfg(feature = "dev-tee")]
		let measurement = self.measurement;
		#[cfg(not(feature = "dev-tee"))]
		let measurement: Option<Measurement> = None;
		let _ = (data_dir, may_write);
		let Some(choice) = self.tee else {
			if measurement.is_some() {
				bail!("--measurement needs --tee sim");
			}
			return Ok(None);
		};
		Ok(Some(match choice {
			#[cfg(feature = "dev-tee")]
			TeeChoice::Sim => {
				let measurement = measurement.context("--tee sim needs --measurement")?;
				let host_secret = self
					.host_secret
					.clone()
					.unwrap_or_else(|| data_dir.join(enclave_worker::tee::sim::HOST_SECRET_FILE));
				let tee = enclave_worker::tee::SimTee::new(measurement, host_secret);
				Box::new(if may_write { tee } else { tee.without_creating_host_secret() })
			},
			TeeChoice::Gramine => {
				if measurement.is_some() {
					bail!("--measurement is only for --tee sim: Gramine reports its own");
				}
				// Gramine's attestation pseudo-filesystem is at a fixed path inside the
				// enclave: not a host choice.
				Box::new(GramineTee::new(enclave_worker::tee::gramine::DEFAULT_ROOT))
			},
		}))
	}
}

fn main() -> ExitCode {
	enclave_worker::command::main_with(|| run(Cli::parse()))
}

fn run(cli: Cli) -> Result<ExitCode> {
	match cli.command {
		Command::Init { data, tee, chain } => init(&data.data_dir, &tee, &chain),
		Command::Status { data, tee, json } => status(&data.data_dir, &tee, json),
		Command::RegisterEvidence { data, tee, account } => {
			register_evidence(&data.data_dir, &tee, &account)
		},
		Command::Run(args) => tokio::runtime::Builder::new_multi_thread()
			.enable_all()
			.build()?
			.block_on(run_worker(args)),
		Command::RequestKeys(args) => tokio::runtime::Builder::new_multi_thread()
			.enable_all()
			.build()?
			.block_on(request_keys_command(args)),
	}
}

/// Connects to the node, with this enclave's sealed chain progress (the rollback guard).
/// `held_keys`: the checksum of this enclave's keys, if they are unsealed already.
async fn connect_chain(
	node: &NodeArgs,
	store: &Store,
	tee: &dyn Tee,
	held_keys: Option<KeyChecksum>,
) -> Result<RpcChain> {
	let sealed = SealedProgress {
		store: store.clone(),
		sealing_key: Arc::new(tee.sealing_key()?),
		measurement: tee.identity()?.measurement,
		held_keys,
	};
	RpcChain::connect(&node.node, None, Some(Box::new(sealed)))
		.await
		.with_context(|| format!("connecting to {}", node.node))
}

async fn run_worker(args: RunArgs) -> Result<ExitCode> {
	let data_dir = &args.worker.data.data_dir;
	let tee: Arc<Box<dyn Tee>> =
		Arc::new(args.worker.tee.build(data_dir)?.context("run needs --tee sim|gramine")?);
	let identity = tee.identity()?;
	let store = Store::open(data_dir)?;
	let sealing_key = Arc::new(tee.sealing_key()?);
	let (keys, _) = store
		.read_sealed_keys(&sealing_key, &identity.measurement)
		.context("loading this enclave's keys")?;
	let checksum = keys.checksum();
	let keys = Arc::new(KeyStore::with_keys(keys));
	let chain = Arc::new(connect_chain(&args.worker.node, &store, &**tee, Some(checksum)).await?);
	let mut status = WorkerStatus::load(data_dir)?;
	status.tee = Some(tee.kind());
	status.measurement = Some(identity.measurement);
	status.key_checksum = Some(checksum);
	tracing::info!(
		measurement = %identity.measurement,
		key_checksum = %checksum,
		genesis = %hex::encode(chain.genesis_hash()),
		"worker starting"
	);

	if let Some(addr) = &args.provide_on {
		let listener = tokio::net::TcpListener::bind(addr)
			.await
			.with_context(|| format!("binding the provisioning port {addr}"))?;
		let config = ProviderConfig {
			collateral: args.worker.collateral.collateral()?,
			snapshot_store: Some(store.clone()),
			..ProviderConfig::default()
		};
		let provider = Provider::new(
			tee.clone(),
			keys.clone(),
			Verifier::new(enclave_worker::measured::policy()),
			chain.clone(),
			config,
		);
		tracing::info!(addr = %listener.local_addr()?, "serving key hand-overs and snapshots");
		tokio::spawn(provider.serve(listener));
	}

	let config = RunnerConfig {
		poll_interval: std::time::Duration::from_millis(args.poll_ms.max(10)),
		predecessor: args.predecessor.clone(),
		// To read the key of this enclave's registration at the cut-over, whenever
		// `register-evidence` made it: it signs the commitment to the final state.
		sealing_key: Some(sealing_key),
		..RunnerConfig::default()
	};
	let runner = Runner::new(chain, keys, store, identity.measurement, status, config)?;
	runner.run(shutdown_signal()).await?;
	tracing::info!("stopped; the state is sealed up to the last executed block");
	Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
	use tokio::signal::unix::{signal, SignalKind};
	match signal(SignalKind::terminate()) {
		Ok(mut term) => {
			tokio::select! {
				_ = tokio::signal::ctrl_c() => {},
				_ = term.recv() => {},
			}
		},
		Err(e) => {
			tracing::warn!(error = %e, "cannot watch SIGTERM; stopping on SIGINT only");
			let _ = tokio::signal::ctrl_c().await;
		},
	}
}

async fn request_keys_command(args: RequestKeysArgs) -> Result<ExitCode> {
	let data_dir = &args.worker.data.data_dir;
	let tee = args
		.worker
		.tee
		.build(data_dir)?
		.context("request-keys needs --tee sim|gramine")?;
	let identity = tee.identity()?;
	let store = Store::open(data_dir)?;
	let chain = connect_chain(&args.worker.node, &store, &*tee, None).await?;
	let mut status = WorkerStatus::load(data_dir)?;
	// Keys an earlier request sealed before it was killed win over the status it left.
	if status.reconcile(&sealed_keys(&store, &*tee)?) {
		status.save(data_dir)?;
	}
	let provisioning = matches!(status.readiness, Readiness::NoKeys | Readiness::Provisioning);
	if provisioning {
		status.readiness = Readiness::Provisioning;
		status.tee = Some(tee.kind());
		status.measurement = Some(identity.measurement);
		status.save(data_dir)?;
	}
	let config = RequesterConfig {
		collateral: args.worker.collateral.collateral()?,
		replace_existing_keys: args.replace_existing_keys,
		..RequesterConfig::default()
	};
	let verifier = Verifier::new(enclave_worker::measured::policy());
	let providers = match &args.from {
		Some(from) => vec![from.clone()],
		None => registered_providers(&chain, &identity.measurement).await?,
	};
	let mut outcome = None;
	for (i, from) in providers.iter().enumerate() {
		let result = request_keys(from.as_str(), &*tee, &verifier, &chain, &store, &config).await;
		match result {
			Err(e) if i + 1 < providers.len() => {
				tracing::warn!(provider = %from, error = %e, "refused; asking the next registered enclave");
			},
			result => {
				outcome = Some((result, from.clone()));
				break;
			},
		}
	}
	let Some((result, from)) = outcome else { bail!("no provider to ask") };
	let handover = match result {
		Ok(handover) => handover,
		Err(e) => {
			if provisioning {
				// Never in place of the refusal: a status that cannot be saved is logged.
				if let Err(save) = status_after_failed_request(&mut status, &store, &*tee) {
					tracing::warn!(error = %format!("{save:#}"), "status file not updated");
				}
			}
			if args.json {
				let value = serde_json::json!({ "ok": false, "error": e.to_string() });
				println!("{}", serde_json::to_string_pretty(&value)?);
			}
			bail!("key request refused: {e}");
		},
	};
	if matches!(status.readiness, Readiness::NoKeys | Readiness::Provisioning | Readiness::Retired)
	{
		// Holds keys now; `run` decides between standby and active from the schedule.
		status.readiness = Readiness::Standby;
	}
	status.tee = Some(tee.kind());
	status.measurement = Some(identity.measurement);
	status.key_checksum = Some(handover.key_checksum);
	status.shielding_public_key =
		Some(format!("0x{}", hex::encode(handover.keys.shielding.public_key())));
	status.save(data_dir)?;
	let stored = match handover.stored {
		StoreOutcome::Written => "written".to_string(),
		StoreOutcome::AlreadyHeld => "already held".to_string(),
		StoreOutcome::Replaced { previous } => format!("replaced {previous}"),
	};
	if args.json {
		let value = serde_json::json!({
			"ok": true,
			"key_checksum": handover.key_checksum,
			"provider": handover.provider,
			"provider_reason": format!("{:?}", handover.provider_reason),
			"provider_block": handover.provider_block,
			"own_reason": format!("{:?}", handover.own_reason),
			"own_block": handover.own_block,
			"stored": stored,
		});
		println!("{}", serde_json::to_string_pretty(&value)?);
	} else {
		println!("received the keys from {} ({from})", handover.provider);
		println!("key checksum:    {}", handover.key_checksum);
		println!("provider view:   {:?} at #{}", handover.provider_reason, handover.provider_block);
		println!("own view:        {:?} at #{}", handover.own_reason, handover.own_block);
		println!("sealed keys:     {stored}");
	}
	Ok(ExitCode::SUCCESS)
}

/// The provisioning addresses of the registered enclaves (of the chain's key set) that the
/// verified schedule lets hand their keys to `own`, as the registry records them.
async fn registered_providers(chain: &RpcChain, own: &Measurement) -> Result<Vec<String>> {
	// One verified head for both, so that the decision and the records are of one block.
	let head = chain.finalized_block().await.context("verifying the finalized head")?;
	let schedule = chain.verified_at(&head).await.context("reading the schedule")?;
	let registry = chain.registry_at(&head).await.context("reading the enclave registry")?;
	let addresses: Vec<String> = registry
		.of_key_set()
		.filter(|(_, record)| schedule.decide(&record.measurement, own).is_allowed())
		.filter_map(|(_, record)| String::from_utf8(record.url.clone()).ok())
		.collect();
	if addresses.is_empty() {
		bail!(
			"no registered enclave may hand its keys to {own} at #{} (give --from)",
			registry.block_number
		);
	}
	tracing::info!(providers = ?addresses, "asking the registered enclaves");
	Ok(addresses)
}

/// What the data directory's key files show for this enclave, read by unsealing them.
fn sealed_keys(store: &Store, tee: &dyn Tee) -> Result<SealedKeys> {
	let measurement = tee.identity()?.measurement;
	Ok(match store.read_sealed_keys(&tee.sealing_key()?, &measurement) {
		Ok((keys, _)) => SealedKeys::Unsealed {
			measurement,
			checksum: keys.checksum(),
			shielding_public_key: format!("0x{}", hex::encode(keys.shielding.public_key())),
		},
		Err(StoreError::NoKeys(_)) => SealedKeys::Absent,
		Err(_) => SealedKeys::Sealed { sealed_by: store.keys_sealed_by() },
	})
}

/// Ends a failed provisioning: `NoKeys`, unless keys are sealed after all.
fn status_after_failed_request(
	status: &mut WorkerStatus,
	store: &Store,
	tee: &dyn Tee,
) -> Result<()> {
	status.readiness = Readiness::NoKeys;
	status.reconcile(&sealed_keys(store, tee)?);
	status.save(store.dir())?;
	Ok(())
}

fn init(data_dir: &Path, tee_args: &TeeArgs, chain: &InitChainArgs) -> Result<ExitCode> {
	let tee = tee_args.build(data_dir)?.context("init needs --tee sim|gramine")?;
	let store = Store::open(data_dir)?;
	if store.has_keys() {
		bail!(StoreError::KeysAlreadyExist(store.keys_path()));
	}
	let identity = tee.identity()?;
	let sealing_key = tee.sealing_key()?;
	let genesis_hash = match (&chain.node, &chain.genesis) {
		(_, Some(text)) => <[u8; 32]>::try_from(parse_hex(text, "--genesis")?.as_slice())
			.ok()
			.context("--genesis: need 32 bytes")?,
		(Some(node), None) => tokio::runtime::Builder::new_current_thread()
			.enable_all()
			.build()?
			.block_on(connect_chain(&NodeArgs { node: node.clone() }, &store, &*tee, None))?
			.genesis_hash(),
		(None, None) => bail!("init needs --node or --genesis"),
	};
	let keys = KeyMaterial::generate();
	// The identity first: sealed keys never exist without it.
	store.write_chain_identity(
		&sealing_key,
		&identity.measurement,
		// The first enclave's keys are new: every block of the chain is theirs, from genesis.
		&ChainIdentity {
			genesis_hash,
			key_checksum: keys.checksum().0,
			sealed_at_block: 0,
			sealed_at_hash: genesis_hash,
		},
	)?;
	store.init_keys(&sealing_key, &identity.measurement, &keys)?;
	let mut status = WorkerStatus {
		// The first enclave of a chain holds fresh keys and may process from genesis.
		readiness: Readiness::Active,
		tee: Some(tee.kind()),
		measurement: Some(identity.measurement),
		key_checksum: Some(keys.checksum()),
		shielding_public_key: Some(format!("0x{}", hex::encode(keys.shielding.public_key()))),
		last_processed_block: None,
		state_hash: None,
		calls: None,
		updated_at: 0,
	};
	status.save(data_dir)?;
	tracing::info!(
		measurement = %identity.measurement,
		checksum = %keys.checksum(),
		genesis = %hex::encode(genesis_hash),
		"initialised fresh keys for the chain"
	);
	println!("initialised {}", data_dir.display());
	println!("{status}");
	Ok(ExitCode::SUCCESS)
}

/// The registration evidence of this enclave (see `Command::RegisterEvidence`).
fn register_evidence(data_dir: &Path, tee_args: &TeeArgs, account: &str) -> Result<ExitCode> {
	let account = parse_account(account).map_err(anyhow::Error::msg).context("--account")?;
	let tee = tee_args.build(data_dir)?.context("register-evidence needs --tee sim|gramine")?;
	let identity = tee.identity()?;
	let store = Store::open(data_dir)?;
	let sealing_key = tee.sealing_key()?;
	let (keys, _) = store
		.read_sealed_keys(&sealing_key, &identity.measurement)
		.context("loading this enclave's keys (`init` or `request-keys` first)")?;
	let signing = store.signing_key(&sealing_key, &identity.measurement)?;
	let evidence = registration_evidence(&*tee, &keys, &signing, &account)?;
	tracing::info!(
		measurement = %identity.measurement,
		key_checksum = %keys.checksum(),
		signing_key = %hex::encode(evidence.signing_key),
		"registration evidence"
	);
	println!("{}", serde_json::to_string_pretty(&evidence)?);
	Ok(ExitCode::SUCCESS)
}

/// Strictly read-only: creates no directory, host secret or file (the store is opened with
/// [`Store::open_read_only`], the sim backend never creates its host secret). What the sealed
/// key files show wins over a stale status file.
fn status(data_dir: &Path, tee_args: &TeeArgs, json: bool) -> Result<ExitCode> {
	let store = Store::open_read_only(data_dir);
	let mut status = WorkerStatus::load(data_dir)?;
	let sealed = if let Some(tee) = tee_args.build_read_only(data_dir)? {
		let identity = tee.identity()?;
		if !store.has_keys() {
			return Err(StoreError::NoKeys(data_dir.to_path_buf()).into());
		}
		let (keys, from) = store.read_sealed_keys(&tee.sealing_key()?, &identity.measurement)?;
		if let Some(reported) = status.key_checksum.filter(|c| *c != keys.checksum()) {
			tracing::warn!(%reported, sealed = %keys.checksum(), "the status file is stale; showing the sealed keys");
		}
		tracing::info!(?from, "this enclave can unseal the keys");
		SealedKeys::Unsealed {
			measurement: identity.measurement,
			checksum: keys.checksum(),
			shielding_public_key: format!("0x{}", hex::encode(keys.shielding.public_key())),
		}
	} else if store.has_keys() {
		SealedKeys::Sealed { sealed_by: store.keys_sealed_by() }
	} else {
		SealedKeys::Absent
	};
	status.reconcile(&sealed);
	if json {
		println!("{}", serde_json::to_string_pretty(&status)?);
	} else {
		println!("{status}");
	}
	Ok(ExitCode::SUCCESS)
}

fn parse_hex(text: &str, what: &str) -> Result<Vec<u8>> {
	hex::decode(text.strip_prefix("0x").unwrap_or(text)).with_context(|| format!("{what}: bad hex"))
}
