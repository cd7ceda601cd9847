//! The key hand-over between sim enclaves over loopback TCP: the scheduled successor and a
//! replica get the keys, sealed to their own measurement; every refusal is typed on both
//! sides and leaves the requester's store untouched.
//!
//! The chain views come from [`FixedSchedule`], a test double of the chain-backed
//! `ScheduleSource`: it returns a `VerifiedSchedule` the test constructs. Giving the provider
//! and the requester different views models hosts that saw different blocks (or lie).

use assert_matches::assert_matches;
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use codec::Encode;
use enclave_update_primitives::{ActiveEnclave, Allowed, Denied, Measurement, SupersededEnclave};
use enclave_worker::{
	attestation::{AttestationError, AttestationPolicy, Verifier},
	chain::{proof::ProofError, ChainError, ScheduleSource, VerifiedSchedule},
	keys::{KeyMaterial, KeyStore},
	provisioning::{
		protocol::{
			request_report_data, Challenge, ChallengeRequest, Connection, EphemeralKey, KeyRequest,
			Message, RefusalReason, PROTOCOL_VERSION,
		},
		request_keys, Handover, HandoverRecord, NonceError, ProvideError, Provider, ProviderConfig,
		RequestError, RequesterConfig, StoreOutcome, WireError,
	},
	store::{ChainIdentity, Store, StoreError},
	tee::{SimTee, Tee},
	testing::{self, view, FixedSchedule, GENESIS},
};
use tempfile::TempDir;
use tokio::{
	io::{AsyncReadExt, AsyncWriteExt},
	net::{TcpListener, TcpStream, ToSocketAddrs},
	task::JoinHandle,
};

/// Every test finishes well within this; a hang is a failure, not a stuck CI run.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);

const A: Measurement = Measurement::MrEnclave([0xa; 32]);
const B: Measurement = Measurement::MrEnclave([0xb; 32]);
const C: Measurement = Measurement::MrEnclave([0xc; 32]);
const D: Measurement = Measurement::MrEnclave([0xd; 32]);

/// Test double of a chain source whose node is down.
struct NoChain;

impl ScheduleSource for NoChain {
	async fn verified_schedule(&self) -> Result<VerifiedSchedule, ChainError> {
		Err(ChainError::Rpc("node unreachable".into()))
	}
}

fn fixed(view: VerifiedSchedule) -> FixedSchedule {
	FixedSchedule(view)
}

/// One enclave on its own "host": a data directory with its own sim host secret.
struct Node {
	dir: TempDir,
	tee: Arc<SimTee>,
}

impl Node {
	fn new(measurement: Measurement) -> Self {
		let dir = tempfile::tempdir().expect("temp dir");
		let tee = Arc::new(SimTee::in_data_dir(measurement, dir.path()));
		Self { dir, tee }
	}

	fn store(&self) -> Store {
		Store::open(self.dir.path()).expect("store")
	}

	/// This node's enclave requests the keys from `provider`, verifying with `verifier` by the
	/// chain view of `source`, into this node's store.
	async fn request_keys(
		&self,
		provider: impl ToSocketAddrs + std::fmt::Debug,
		verifier: &Verifier,
		source: &impl ScheduleSource,
	) -> Result<Handover, RequestError> {
		within(request_keys(
			provider,
			self.tee.as_ref(),
			verifier,
			source,
			&self.store(),
			&requester_config(),
		))
		.await
	}

	/// The enclave with `measurement` on this node's host.
	fn tee_as(&self, measurement: Measurement) -> SimTee {
		SimTee::in_data_dir(measurement, self.dir.path())
	}
}

fn dev() -> Verifier {
	Verifier::new(AttestationPolicy::dev())
}

fn requester_config() -> RequesterConfig {
	RequesterConfig { io_timeout: Duration::from_secs(10), ..RequesterConfig::default() }
}

/// A provider with fresh keys, answering on loopback.
struct Running {
	addr: SocketAddr,
	provider: Arc<Provider<SimTee, FixedSchedule>>,
	checksum: enclave_worker::keys::KeyChecksum,
	keys: Arc<KeyStore>,
	_node: Node,
}

async fn provider(
	measurement: Measurement,
	schedule: VerifiedSchedule,
	config: ProviderConfig,
	verifier: Verifier,
) -> (Running, TcpListener) {
	provider_of(KeyMaterial::generate(), measurement, schedule, config, verifier).await
}

/// A provider with `material`, answering on loopback.
async fn provider_of(
	material: KeyMaterial,
	measurement: Measurement,
	schedule: VerifiedSchedule,
	config: ProviderConfig,
	verifier: Verifier,
) -> (Running, TcpListener) {
	let node = Node::new(measurement);
	let checksum = material.checksum();
	let keys = Arc::new(KeyStore::with_keys(material));
	let provider =
		Arc::new(Provider::new(node.tee.clone(), keys.clone(), verifier, fixed(schedule), config));
	let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
	let addr = listener.local_addr().expect("addr");
	(Running { addr, provider, checksum, keys, _node: node }, listener)
}

/// Handles exactly one connection and returns the provider's result.
fn accept_one(
	provider: Arc<Provider<SimTee, FixedSchedule>>,
	listener: TcpListener,
) -> JoinHandle<(Result<HandoverRecord, ProvideError>, TcpListener)> {
	tokio::spawn(async move {
		let (stream, _) = listener.accept().await.expect("accept");
		(provider.handle(stream).await, listener)
	})
}

async fn within<F: Future>(future: F) -> F::Output {
	testing::within(TEST_TIMEOUT, future).await
}

/// Runs one hand-over from a provider `p` (view `pv`) to a requester `r` (view `rv`).
async fn handover(
	p: Measurement,
	pv: VerifiedSchedule,
	r: &Node,
	rv: VerifiedSchedule,
	config: ProviderConfig,
) -> (Result<Handover, RequestError>, Result<HandoverRecord, ProvideError>, Running) {
	handover_of(KeyMaterial::generate(), p, pv, r, rv, config).await
}

/// [`handover`] of `material`.
async fn handover_of(
	material: KeyMaterial,
	p: Measurement,
	pv: VerifiedSchedule,
	r: &Node,
	rv: VerifiedSchedule,
	config: ProviderConfig,
) -> (Result<Handover, RequestError>, Result<HandoverRecord, ProvideError>, Running) {
	let (running, listener) = provider_of(material, p, pv, config, dev()).await;
	let task = accept_one(running.provider.clone(), listener);
	let requested = r.request_keys(running.addr, &dev(), &fixed(rv)).await;
	let (provided, _) = within(task).await.expect("provider task");
	(requested, provided, running)
}

/// The reason a side's peer refused with, if the side failed with its peer's refusal.
trait PeerRefusal {
	fn peer_refusal(&self) -> Option<&RefusalReason>;
}

impl<T> PeerRefusal for Result<T, RequestError> {
	fn peer_refusal(&self) -> Option<&RefusalReason> {
		match self {
			Err(RequestError::Wire(WireError::Refused(reason))) => Some(reason),
			_ => None,
		}
	}
}

impl<T> PeerRefusal for Result<T, ProvideError> {
	fn peer_refusal(&self) -> Option<&RefusalReason> {
		match self {
			Err(ProvideError::Wire(WireError::Refused(reason))) => Some(reason),
			_ => None,
		}
	}
}

fn assert_no_keys(node: &Node) {
	assert!(!node.store().has_keys(), "a refused hand-over must write nothing");
}

#[tokio::test]
async fn scheduled_successor_gets_the_keys_sealed_to_its_measurement() {
	let b = Node::new(B);
	let schedule = view(A, &[(B, 100)]);
	let (requested, provided, running) =
		handover(A, schedule.clone(), &b, schedule.clone(), ProviderConfig::default()).await;
	let handover = requested.expect("B gets the keys");
	let record = provided.expect("A hands them over");

	assert_eq!(handover.key_checksum, running.checksum);
	assert_eq!(handover.keys.checksum(), running.checksum);
	assert_eq!(handover.provider, A);
	assert_eq!(handover.provider_reason, Allowed::ScheduledSuccessor { activates_at: 100 });
	assert_eq!(handover.own_reason, Allowed::ScheduledSuccessor { activates_at: 100 });
	assert_eq!(handover.stored, StoreOutcome::Written);
	assert_eq!(record.requester, B);
	assert_eq!(record.key_checksum, running.checksum);
	assert_eq!(record.decided_at_block, 10);

	// Sealed to B: B's enclave unseals them, A's enclave on the same host cannot.
	let store = b.store();
	let (held, _) = store
		.read_sealed_keys(&b.tee.sealing_key().unwrap(), &B)
		.expect("B reads its keys");
	assert_eq!(held.checksum(), running.checksum);
	// With the chain the hand-over was attested on (the provider's: it refuses any other),
	// sealed with them: the keys follow no other chain from now on.
	let identity = store.read_chain_identity(&b.tee.sealing_key().unwrap(), &B).unwrap();
	assert_eq!(
		identity,
		Some(ChainIdentity {
			genesis_hash: GENESIS,
			key_checksum: running.checksum.0,
			// B's own verified head at the hand-over: the oldest it accepts from now on.
			sealed_at_block: 10,
			sealed_at_hash: [0x10; 32],
		})
	);
	let a_on_b_host = b.tee_as(A);
	assert_matches!(
		store.read_sealed_keys(&a_on_b_host.sealing_key().unwrap(), &A),
		Err(StoreError::SealedByOtherEnclave { .. })
	);

	// Secrets never show up in Debug output.
	let text = format!("{handover:?} {record:?}");
	assert!(!text.contains(&hex::encode(handover.keys.state.expose_secret())));
	assert!(!text.contains(&hex::encode(handover.keys.shielding.expose_secret())));

	// Asking again for the same keys is a no-op success.
	let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
	let again_addr = listener.local_addr().unwrap();
	let task = accept_one(running.provider.clone(), listener);
	let again = within(request_keys(
		again_addr,
		b.tee.as_ref(),
		&dev(),
		&fixed(schedule.clone()),
		&store,
		&requester_config(),
	))
	.await
	.expect("second request");
	assert_eq!(again.stored, StoreOutcome::AlreadyHeld);
	within(task).await.unwrap().0.expect("provider side of the second request");

	// Other keys are refused unless replacing is asked for; then the old ones are `.prev`.
	running.keys.replace(KeyMaterial::generate());
	let new_checksum = running.keys.checksum().unwrap();
	for replace in [false, true] {
		let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
		let addr = listener.local_addr().unwrap();
		let task = accept_one(running.provider.clone(), listener);
		let config = RequesterConfig { replace_existing_keys: replace, ..requester_config() };
		let result = within(request_keys(
			addr,
			b.tee.as_ref(),
			&dev(),
			&fixed(schedule.clone()),
			&store,
			&config,
		))
		.await;
		let (provided, _) = within(task).await.unwrap();
		if replace {
			let handover = result.expect("replaced");
			assert_eq!(handover.stored, StoreOutcome::Replaced { previous: running.checksum });
			provided.expect("acknowledged");
		} else {
			match result {
				Err(RequestError::KeysDiffer { held, offered }) => {
					assert_eq!(held, running.checksum);
					assert_eq!(offered, new_checksum);
				},
				other => panic!("expected KeysDiffer, got {other:?}"),
			}
			assert_eq!(provided.peer_refusal(), Some(&RefusalReason::KeysDiffer), "{provided:?}");
			let (held, _) = store.read_sealed_keys(&b.tee.sealing_key().unwrap(), &B).unwrap();
			assert_eq!(held.checksum(), running.checksum, "refusal leaves the old keys");
		}
	}
	let (held, _) = store.read_sealed_keys(&b.tee.sealing_key().unwrap(), &B).unwrap();
	assert_eq!(held.checksum(), new_checksum);
}

#[tokio::test]
async fn replication_to_the_same_measurement() {
	let a2 = Node::new(A);
	let schedule = view(A, &[(B, 100)]);
	let (requested, provided, running) =
		handover(A, schedule.clone(), &a2, schedule, ProviderConfig::default()).await;
	let handover = requested.expect("replica gets the keys");
	assert_eq!(handover.provider_reason, Allowed::Replication);
	assert_eq!(handover.key_checksum, running.checksum);
	assert_eq!(provided.unwrap().requester, A);
	let (held, _) = a2.store().read_sealed_keys(&a2.tee.sealing_key().unwrap(), &A).unwrap();
	assert_eq!(held.checksum(), running.checksum);
}

/// The requester's view allows the hand-over; the provider's (newer) view denies it.
async fn assert_provider_denies(
	provider_view: VerifiedSchedule,
	requester: Measurement,
	denied: Denied,
) {
	let node = Node::new(requester);
	let requester_view = view(A, &[(requester, 100)]);
	let (requested, provided, _running) =
		handover(A, provider_view, &node, requester_view, ProviderConfig::default()).await;
	assert_eq!(requested.peer_refusal(), Some(&RefusalReason::Denied(denied)), "{requested:?}");
	match provided {
		Err(ProvideError::Denied(reason)) => assert_eq!(reason, denied),
		other => panic!("expected Denied({denied:?}), got {other:?}"),
	}
	assert_no_keys(&node);
}

#[tokio::test]
async fn unscheduled_requester_is_refused() {
	assert_provider_denies(view(A, &[(B, 100)]), C, Denied::RequesterNotScheduled).await;
}

#[tokio::test]
async fn retired_requester_is_refused() {
	let mut provider_view = view(A, &[(B, 100)]);
	provider_view.storage.retired = vec![B];
	assert_provider_denies(provider_view, B, Denied::RequesterRetired).await;
}

#[tokio::test]
async fn superseded_requester_is_refused() {
	let mut provider_view = view(A, &[]);
	provider_view.storage.active = Some(ActiveEnclave { measurement: A, since: 5 });
	provider_view.storage.superseded =
		vec![SupersededEnclave { measurement: B, activated_at: 0, superseded_at: 5 }];
	assert_provider_denies(provider_view, B, Denied::RequesterSuperseded).await;
}

#[tokio::test]
async fn requester_that_is_not_next_is_refused() {
	assert_provider_denies(view(A, &[(D, 100), (B, 200)]), B, Denied::RequesterNotNext).await;
}

#[tokio::test]
async fn expired_nonce_is_refused() {
	let b = Node::new(B);
	let schedule = view(A, &[(B, 100)]);
	// A zero time to live: the nonce is stale by the time the key request arrives.
	let config = ProviderConfig { nonce_ttl: Duration::ZERO, ..ProviderConfig::default() };
	let (requested, provided, _running) = handover(A, schedule.clone(), &b, schedule, config).await;
	assert_eq!(requested.peer_refusal(), Some(&RefusalReason::NonceExpired), "{requested:?}");
	assert_matches!(provided, Err(ProvideError::Nonce(NonceError::Expired)));
	assert_no_keys(&b);
}

#[tokio::test]
async fn wrong_genesis_is_refused() {
	let b = Node::new(B);
	let schedule = view(A, &[(B, 100)]);
	let mut other_chain = schedule.clone();
	other_chain.genesis_hash = [0x11; 32];
	let (requested, provided, _running) =
		handover(A, schedule, &b, other_chain, ProviderConfig::default()).await;
	assert_eq!(requested.peer_refusal(), Some(&RefusalReason::WrongGenesis), "{requested:?}");
	assert_matches!(provided, Err(ProvideError::WrongGenesis));
	assert_no_keys(&b);
}

/// Test double of a chain source whose host serves storage proofs that do not check out.
struct ForgedProofs;

impl ScheduleSource for ForgedProofs {
	async fn verified_schedule(&self) -> Result<VerifiedSchedule, ChainError> {
		Err(ChainError::Proof(ProofError::NotProven {
			item: "Schedule",
			reason: "invalid proof".into(),
		}))
	}
}

/// B, whose own view allows the hand-over, asks a provider A whose chain view comes from
/// `source`.
async fn handover_from_provider_on<S: ScheduleSource + 'static>(
	source: S,
	b: &Node,
) -> (Result<Handover, RequestError>, Result<HandoverRecord, ProvideError>) {
	let node = Node::new(A);
	let keys = Arc::new(KeyStore::with_keys(KeyMaterial::generate()));
	let provider = Provider::new(node.tee.clone(), keys, dev(), source, ProviderConfig::default());
	let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap();
	let task = tokio::spawn(async move {
		let (stream, _) = listener.accept().await.unwrap();
		provider.handle(stream).await
	});
	let requested = b.request_keys(addr, &dev(), &fixed(view(A, &[(B, 100)]))).await;
	(requested, within(task).await.unwrap())
}

/// Test double of a chain whose verified time moves on by `step_ms` at every view, while the
/// host's own clock (the monotonic clock the nonce book also checks) hardly moves: a host that
/// stalls or sets back its clock.
struct AdvancingChain {
	view: VerifiedSchedule,
	step_ms: u64,
	calls: std::sync::atomic::AtomicU64,
}

impl ScheduleSource for AdvancingChain {
	async fn verified_schedule(&self) -> Result<VerifiedSchedule, ChainError> {
		let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
		let mut view = self.view.clone();
		view.storage.timestamp_ms = 1_700_000_000_000 + n * self.step_ms;
		Ok(view)
	}
}

#[tokio::test]
async fn evidence_bound_to_a_challenge_stale_by_chain_time_is_refused() {
	let b = Node::new(B);
	// Two minutes of chain time pass between the challenge and the key request; the time to
	// live is a minute.
	let chain =
		AdvancingChain { view: view(A, &[(B, 100)]), step_ms: 120_000, calls: Default::default() };
	let (requested, provided) = handover_from_provider_on(chain, &b).await;
	assert_eq!(requested.peer_refusal(), Some(&RefusalReason::NonceExpired), "{requested:?}");
	assert_matches!(
		provided,
		Err(ProvideError::Nonce(NonceError::StaleByChainTime {
			elapsed_ms: 120_000,
			ttl_ms: 60_000
		}))
	);
	assert_no_keys(&b);

	// Within the time to live by the chain's clock, the same hand-over goes through.
	let chain =
		AdvancingChain { view: view(A, &[(B, 100)]), step_ms: 1_000, calls: Default::default() };
	let (requested, provided) = handover_from_provider_on(chain, &b).await;
	assert!(requested.is_ok(), "{requested:?}");
	assert!(provided.is_ok(), "{provided:?}");
}

#[tokio::test]
async fn provider_without_a_chain_view_refuses() {
	let b = Node::new(B);
	let (requested, provided) = handover_from_provider_on(NoChain, &b).await;
	assert_eq!(requested.peer_refusal(), Some(&RefusalReason::ChainUnavailable), "{requested:?}");
	assert_matches!(provided, Err(ProvideError::Chain(ChainError::Rpc(_))));
	// And a requester without a view does not even connect.
	let requested = b.request_keys("127.0.0.1:9", &dev(), &NoChain).await;
	assert_matches!(requested, Err(RequestError::Chain(_)));
	assert_no_keys(&b);
}

#[tokio::test]
async fn provider_whose_proof_check_fails_refuses() {
	// Not "unavailable": the requester learns that the provider's host lies (or is broken).
	let b = Node::new(B);
	let (requested, provided) = handover_from_provider_on(ForgedProofs, &b).await;
	assert_eq!(requested.peer_refusal(), Some(&RefusalReason::ChainViewRejected), "{requested:?}");
	assert_matches!(
		provided,
		Err(ProvideError::Chain(ChainError::Proof(ProofError::NotProven { .. })))
	);
	assert_no_keys(&b);
}

#[tokio::test]
async fn fake_provider_is_refused_by_the_requester() {
	// C is not active on chain; its (lying) host tells it that it is and B is its successor.
	let b = Node::new(B);
	let lying_view = view(C, &[(B, 100)]);
	let true_view = view(A, &[(B, 100)]);
	let (requested, provided, _running) =
		handover(C, lying_view, &b, true_view, ProviderConfig::default()).await;
	assert_matches!(requested, Err(RequestError::ProviderNotAuthorized(Denied::ProviderUnknown)));
	assert_eq!(
		provided.peer_refusal(),
		Some(&RefusalReason::ProviderNotAuthorized(Denied::ProviderUnknown)),
		"{provided:?}"
	);
	assert_no_keys(&b);
}

#[tokio::test]
async fn non_dev_requester_refuses_simulated_provider_evidence() {
	let b = Node::new(B);
	let schedule = view(A, &[(B, 100)]);
	let (running, listener) = provider(A, schedule.clone(), ProviderConfig::default(), dev()).await;
	let task = accept_one(running.provider.clone(), listener);
	let production = Verifier::new(AttestationPolicy::default());
	let requested = b.request_keys(running.addr, &production, &fixed(schedule)).await;
	assert_matches!(
		requested,
		Err(RequestError::Attestation(AttestationError::SimulatedQuoteRefused))
	);
	let (provided, _) = within(task).await.unwrap();
	assert_matches!(provided.peer_refusal(), Some(RefusalReason::Attestation(_)), "{provided:?}");
	assert_no_keys(&b);
}

#[tokio::test]
async fn non_dev_provider_refuses_simulated_requester_evidence() {
	let b = Node::new(B);
	let schedule = view(A, &[(B, 100)]);
	let production = Verifier::new(AttestationPolicy::default());
	let (running, listener) =
		provider(A, schedule.clone(), ProviderConfig::default(), production).await;
	let task = accept_one(running.provider.clone(), listener);
	let requested = b.request_keys(running.addr, &dev(), &fixed(schedule)).await;
	assert_matches!(requested.peer_refusal(), Some(RefusalReason::Attestation(_)), "{requested:?}");
	let (provided, _) = within(task).await.unwrap();
	assert_matches!(
		provided,
		Err(ProvideError::Attestation(AttestationError::SimulatedQuoteRefused))
	);
	assert_no_keys(&b);
}

// ---- a raw client and a man in the middle, speaking the wire protocol directly ----

async fn raw(addr: SocketAddr) -> Connection<TcpStream> {
	let stream = TcpStream::connect(addr).await.expect("connect");
	Connection::new(stream, 64 * 1024, Duration::from_secs(10))
}

async fn challenge(conn: &mut Connection<TcpStream>) -> (ChallengeRequest, Challenge) {
	let request = ChallengeRequest { version: PROTOCOL_VERSION, genesis_hash: GENESIS };
	conn.send(&Message::ChallengeRequest(request.clone())).await.unwrap();
	match conn.recv("challenge").await.unwrap() {
		Message::Challenge(challenge) => (request, challenge),
		other => panic!("expected a challenge, got {other:?}"),
	}
}

fn key_request(tee: &SimTee, nonce: [u8; 32]) -> KeyRequest {
	let ephemeral = EphemeralKey::generate();
	let report_data = request_report_data(&ephemeral.public_key(), &nonce, &GENESIS);
	KeyRequest {
		nonce,
		ephemeral_public: ephemeral.public_key(),
		evidence: tee.quote(&report_data).unwrap(),
	}
}

/// Opens a raw connection to `addr`, takes a challenge and sends a key request for it, made by
/// `tee` and then changed by `alter`; returns the connection and the request as sent.
async fn send_key_request(
	addr: SocketAddr,
	tee: &SimTee,
	alter: impl FnOnce(&mut KeyRequest),
) -> (Connection<TcpStream>, KeyRequest) {
	let mut conn = raw(addr).await;
	let (_, challenge) = challenge(&mut conn).await;
	let mut request = key_request(tee, challenge.nonce);
	alter(&mut request);
	conn.send(&Message::KeyRequest(request.clone())).await.unwrap();
	(conn, request)
}

async fn expect_refusal(conn: &mut Connection<TcpStream>) -> RefusalReason {
	match conn.recv("refusal").await.unwrap() {
		Message::Refused { reason } => reason,
		other => panic!("expected a refusal, got {other:?}"),
	}
}

/// A provider serving every connection (`serve`), for the raw-client tests.
async fn serving(config: ProviderConfig) -> (SocketAddr, JoinHandle<()>, Node) {
	let schedule = view(A, &[(B, 100)]);
	let (running, listener) = provider(A, schedule, config, dev()).await;
	let addr = running.addr;
	let provider = Arc::try_unwrap(running.provider).ok().expect("sole owner");
	let task = tokio::spawn(provider.serve(listener));
	(addr, task, running._node)
}

#[tokio::test]
async fn replayed_nonce_is_refused() {
	let b = Node::new(B);
	let (addr, server, _node) = serving(ProviderConfig::default()).await;
	within(async {
		let (mut first, request) = send_key_request(addr, &b.tee, |_| {}).await;
		let response = first.recv("response").await.unwrap();
		assert_matches!(response, Message::KeyResponse(_));
		drop(first);

		// The captured key request, replayed on a new connection.
		let mut second = raw(addr).await;
		let _ = challenge(&mut second).await;
		second.send(&Message::KeyRequest(request)).await.unwrap();
		assert_eq!(expect_refusal(&mut second).await, RefusalReason::NonceReplayed);

		// A nonce never issued.
		let mut third = raw(addr).await;
		let _ = challenge(&mut third).await;
		third.send(&Message::KeyRequest(key_request(&b.tee, [7; 32]))).await.unwrap();
		assert_eq!(expect_refusal(&mut third).await, RefusalReason::NonceUnknown);
	})
	.await;
	server.abort();
}

#[tokio::test]
async fn unsupported_version_and_out_of_order_messages_are_refused() {
	let (addr, server, _node) = serving(ProviderConfig::default()).await;
	within(async {
		let mut conn = raw(addr).await;
		conn.send(&Message::ChallengeRequest(ChallengeRequest {
			version: PROTOCOL_VERSION + 1,
			genesis_hash: GENESIS,
		}))
		.await
		.unwrap();
		assert_eq!(
			expect_refusal(&mut conn).await,
			RefusalReason::UnsupportedVersion { supported: PROTOCOL_VERSION }
		);

		let mut conn = raw(addr).await;
		conn.send(&Message::Ack(enclave_worker::provisioning::protocol::Ack {
			key_checksum: [0; 32],
		}))
		.await
		.unwrap();
		assert_eq!(expect_refusal(&mut conn).await, RefusalReason::UnexpectedMessage);
	})
	.await;
	server.abort();
}

#[tokio::test]
async fn evidence_not_bound_to_the_handshake_is_refused() {
	let b = Node::new(B);
	let (addr, server, _node) = serving(ProviderConfig::default()).await;
	within(async {
		// The quote binds another ephemeral key than the one sent.
		let (mut conn, _) = send_key_request(addr, &b.tee, |request| {
			request.ephemeral_public = EphemeralKey::generate().public_key()
		})
		.await;
		assert_eq!(expect_refusal(&mut conn).await, RefusalReason::TranscriptMismatch);
	})
	.await;
	server.abort();
}

/// Sends B's key request, its quote made by `tee` for this handshake and then altered by
/// `alter`, to a provider whose view allows B: the provider must refuse it with `expected`
/// and tell the requester so.
async fn assert_provider_refuses_evidence(
	tee: &SimTee,
	alter: impl FnOnce(&mut Vec<u8>),
	expected: AttestationError,
) {
	let (running, listener) =
		provider(A, view(A, &[(B, 100)]), ProviderConfig::default(), dev()).await;
	let task = accept_one(running.provider.clone(), listener);
	let (mut conn, _) =
		within(send_key_request(running.addr, tee, |request| alter(&mut request.evidence))).await;
	assert_eq!(within(expect_refusal(&mut conn)).await, RefusalReason::attestation(&expected));
	match within(task).await.unwrap().0 {
		Err(ProvideError::Attestation(error)) => assert_eq!(error, expected),
		other => panic!("expected Attestation({expected:?}), got {other:?}"),
	}
}

#[tokio::test]
async fn requester_evidence_that_fails_verification_or_policy_is_refused() {
	use enclave_worker::attestation::sim_quote;

	let b = Node::new(B);
	// A quote whose measurement was rewritten on the way no longer verifies.
	let rewrite = |quote: &mut Vec<u8>| quote[12] ^= 1;
	assert_provider_refuses_evidence(&b.tee, rewrite, AttestationError::SimulatedSignatureInvalid)
		.await;
	let truncated = AttestationError::Truncated { needed: sim_quote::LEN, got: 100 };
	assert_provider_refuses_evidence(&b.tee, |quote| quote.truncate(100), truncated).await;
	// Genuine and bound to the handshake, but the policy refuses debug enclaves.
	let debug_b = b.tee_as(B).with_debug(true);
	assert_provider_refuses_evidence(&debug_b, |_| {}, AttestationError::DebugEnclave).await;
}

#[tokio::test]
async fn too_many_outstanding_challenges_are_refused() {
	let config = ProviderConfig { max_outstanding_challenges: 1, ..ProviderConfig::default() };
	let (addr, server, _node) = serving(config).await;
	within(async {
		let mut first = raw(addr).await;
		let _ = challenge(&mut first).await;
		let mut second = raw(addr).await;
		second
			.send(&Message::ChallengeRequest(ChallengeRequest {
				version: PROTOCOL_VERSION,
				genesis_hash: GENESIS,
			}))
			.await
			.unwrap();
		assert_eq!(expect_refusal(&mut second).await, RefusalReason::TooManyChallenges);
		drop(first);
	})
	.await;
	server.abort();
}

#[tokio::test]
async fn oversized_and_malformed_frames_are_refused() {
	let schedule = view(A, &[(B, 100)]);
	let (running, listener) = provider(A, schedule.clone(), ProviderConfig::default(), dev()).await;
	let task = accept_one(running.provider.clone(), listener);
	let mut stream = TcpStream::connect(running.addr).await.unwrap();
	// Announce a 1 MiB frame: refused from the length prefix alone.
	stream.write_all(&(1024u32 * 1024).to_be_bytes()).await.unwrap();
	stream.write_all(&[0u8; 16]).await.unwrap();
	let (provided, listener) = within(task).await.unwrap();
	assert_matches!(provided, Err(ProvideError::Wire(WireError::FrameTooLarge)));
	let mut conn = Connection::new(stream, 64 * 1024, Duration::from_secs(10));
	assert_eq!(within(expect_refusal(&mut conn)).await, RefusalReason::FrameTooLarge);

	// A frame of the right size that is no message.
	let task = accept_one(running.provider.clone(), listener);
	let mut stream = TcpStream::connect(running.addr).await.unwrap();
	stream.write_all(&3u32.to_be_bytes()).await.unwrap();
	stream.write_all(&[0xff, 0xff, 0xff]).await.unwrap();
	let (provided, _) = within(task).await.unwrap();
	assert_matches!(provided, Err(ProvideError::Wire(WireError::Malformed(_))));
	let mut conn = Connection::new(stream, 64 * 1024, Duration::from_secs(10));
	assert_eq!(within(expect_refusal(&mut conn)).await, RefusalReason::Malformed);

	// The requester refuses an oversized frame from a (fake) provider too.
	let fake = TcpListener::bind("127.0.0.1:0").await.unwrap();
	let fake_addr = fake.local_addr().unwrap();
	let fake_task = tokio::spawn(async move {
		let (mut stream, _) = fake.accept().await.unwrap();
		let mut buf = [0u8; 64];
		let _ = stream.read(&mut buf).await;
		stream.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
		// Keep the connection open until the requester is done.
		let _ = stream.read(&mut buf).await;
	});
	let b = Node::new(B);
	let requested = b.request_keys(fake_addr, &dev(), &fixed(schedule.clone())).await;
	assert_matches!(requested, Err(RequestError::Wire(WireError::FrameTooLarge)));
	fake_task.abort();

	// ... and a frame within bounds that is no message, answering its challenge request.
	let fake = TcpListener::bind("127.0.0.1:0").await.unwrap();
	let fake_addr = fake.local_addr().unwrap();
	let fake_task = tokio::spawn(async move {
		let (mut stream, _) = fake.accept().await.unwrap();
		let mut len = [0u8; 4];
		stream.read_exact(&mut len).await.unwrap();
		let mut first = vec![0u8; u32::from_be_bytes(len) as usize];
		stream.read_exact(&mut first).await.unwrap();
		assert_matches!(Message::decode_frame(&first), Ok(Message::ChallengeRequest(_)));
		stream.write_all(&3u32.to_be_bytes()).await.unwrap();
		stream.write_all(&[0xff, 0xff, 0xff]).await.unwrap();
		Connection::new(stream, 64 * 1024, Duration::from_secs(10))
			.recv("refusal")
			.await
			.ok()
	});
	let requested = b.request_keys(fake_addr, &dev(), &fixed(schedule)).await;
	assert_matches!(requested, Err(RequestError::Wire(WireError::Malformed(_))));
	assert_eq!(
		within(fake_task).await.unwrap(),
		Some(Message::Refused { reason: RefusalReason::Malformed })
	);
	assert_no_keys(&b);
}

#[tokio::test]
async fn silent_peers_time_out() {
	// A provider whose requester never speaks.
	let schedule = view(A, &[(B, 100)]);
	let config =
		ProviderConfig { io_timeout: Duration::from_millis(200), ..ProviderConfig::default() };
	let (running, listener) = provider(A, schedule.clone(), config, dev()).await;
	let task = accept_one(running.provider.clone(), listener);
	let _silent = TcpStream::connect(running.addr).await.unwrap();
	let (provided, _) = within(task).await.unwrap();
	assert_matches!(provided, Err(ProvideError::Wire(WireError::Timeout { .. })));

	// A requester whose provider never answers.
	let mute = TcpListener::bind("127.0.0.1:0").await.unwrap();
	let mute_addr = mute.local_addr().unwrap();
	let mute_task = tokio::spawn(async move {
		let (stream, _) = mute.accept().await.unwrap();
		tokio::time::sleep(Duration::from_secs(20)).await;
		drop(stream);
	});
	let b = Node::new(B);
	let config = RequesterConfig { io_timeout: Duration::from_millis(200), ..requester_config() };
	let requested = within(request_keys(
		mute_addr,
		b.tee.as_ref(),
		&dev(),
		&fixed(schedule),
		&b.store(),
		&config,
	))
	.await;
	assert_matches!(requested, Err(RequestError::Wire(WireError::Timeout { .. })));
	mute_task.abort();
	assert_no_keys(&b);
}

/// Forwards one hand-over between requester and provider, letting `tamper` alter the
/// provider's messages.
async fn man_in_the_middle(
	provider: SocketAddr,
	tamper: impl Fn(&mut Message) + Send + 'static,
) -> (SocketAddr, JoinHandle<()>) {
	let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap();
	let task = tokio::spawn(async move {
		let (client, _) = listener.accept().await.unwrap();
		let mut client = Connection::new(client, 64 * 1024, Duration::from_secs(10));
		let mut server = raw(provider).await;
		// The protocol is lock-step: one message each way per round.
		loop {
			let Ok(from_client) = client.recv("client").await else { return };
			if server.send(&from_client).await.is_err() {
				return;
			}
			let Ok(mut from_server) = server.recv("server").await else { return };
			tamper(&mut from_server);
			if client.send(&from_server).await.is_err() {
				return;
			}
		}
	});
	(addr, task)
}

async fn tampered_handover(tamper: impl Fn(&mut Message) + Send + 'static) -> RequestError {
	let b = Node::new(B);
	let schedule = view(A, &[(B, 100)]);
	let (running, listener) = provider(A, schedule.clone(), ProviderConfig::default(), dev()).await;
	let task = accept_one(running.provider.clone(), listener);
	let (mitm, mitm_task) = man_in_the_middle(running.addr, tamper).await;
	let requested = b.request_keys(mitm, &dev(), &fixed(schedule)).await;
	let (provided, _) = within(task).await.unwrap();
	assert!(provided.peer_refusal().is_some(), "{provided:?}");
	mitm_task.abort();
	assert_no_keys(&b);
	requested.expect_err("a tampered hand-over must fail")
}

#[tokio::test]
async fn tampered_ciphertext_is_refused() {
	let error = tampered_handover(|message| {
		if let Message::KeyResponse(response) = message {
			response.ciphertext[0] ^= 1;
		}
	})
	.await;
	assert_matches!(error, RequestError::TranscriptMismatch);
}

#[tokio::test]
async fn tampered_provider_evidence_is_refused() {
	let error = tampered_handover(|message| {
		if let Message::KeyResponse(response) = message {
			if let Some(last) = response.provider_evidence.last_mut() {
				*last ^= 1;
			}
		}
	})
	.await;
	assert_matches!(error, RequestError::Attestation(AttestationError::SimulatedSignatureInvalid));
}

#[tokio::test]
async fn tampered_decision_is_refused() {
	// The decision fields are in the transcript: a man in the middle cannot change them.
	let error = tampered_handover(|message| {
		if let Message::KeyResponse(response) = message {
			response.decided_at_block += 1;
		}
	})
	.await;
	assert_matches!(error, RequestError::TranscriptMismatch);
}

#[tokio::test]
async fn frames_are_scale_encoded_messages_with_a_big_endian_length() {
	// Pin the framing: a ChallengeRequest is 4 bytes of length, then the SCALE encoding.
	let (addr, server, _node) = serving(ProviderConfig::default()).await;
	within(async {
		let mut stream = TcpStream::connect(addr).await.unwrap();
		let body = Message::ChallengeRequest(ChallengeRequest {
			version: PROTOCOL_VERSION,
			genesis_hash: GENESIS,
		})
		.encode();
		assert_eq!(body.len(), 1 + 2 + 32);
		stream.write_all(&(body.len() as u32).to_be_bytes()).await.unwrap();
		stream.write_all(&body).await.unwrap();
		let mut len = [0u8; 4];
		stream.read_exact(&mut len).await.unwrap();
		let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
		stream.read_exact(&mut frame).await.unwrap();
		assert_matches!(Message::decode_frame(&frame), Ok(Message::Challenge(_)));
	})
	.await;
	server.abort();
}

/// How [`lying_provider`] cheats, with a valid quote of the active measurement A.
#[derive(Clone, Copy)]
enum Lie {
	/// Announces another checksum than the keys it seals.
	WrongChecksum,
	/// Seals under another context than the transcript's.
	WrongSealContext,
	/// Seals bytes that are no key material.
	GarbageKeys,
}

/// A provider that speaks the protocol by hand, quotes correctly as A, and lies as `lie` says:
/// what only a compromised provider could do. Returns the requester's last message.
async fn lying_provider(lie: Lie) -> (SocketAddr, JoinHandle<Option<Message>>) {
	use enclave_worker::provisioning::protocol::{
		response_report_data, seal_to, KeyResponse, Transcript,
	};
	let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap();
	let task = tokio::spawn(async move {
		let node = Node::new(A);
		let (stream, _) = listener.accept().await.unwrap();
		let mut conn = Connection::new(stream, 64 * 1024, Duration::from_secs(10));
		let Message::ChallengeRequest(request) = conn.recv("request").await.unwrap() else {
			panic!("expected a challenge request")
		};
		let challenge = Challenge {
			version: PROTOCOL_VERSION,
			nonce: [5; 32],
			provider_measurement: A,
			ttl_ms: 60_000,
		};
		conn.send(&Message::Challenge(challenge.clone())).await.unwrap();
		let Message::KeyRequest(key_request) = conn.recv("key request").await.unwrap() else {
			panic!("expected a key request")
		};
		let keys = KeyMaterial::generate();
		let mut checksum = keys.checksum().0;
		let mut plaintext = keys.to_plaintext().to_vec();
		match lie {
			Lie::WrongChecksum => checksum[0] ^= 1,
			Lie::GarbageKeys => plaintext = vec![1; 10],
			Lie::WrongSealContext => {},
		}
		let transcript = Transcript::new(&request, &challenge, &key_request);
		let reason = Allowed::ScheduledSuccessor { activates_at: 100 };
		let mut context = transcript.seal_context(10, &[0x10; 32], &reason, &checksum);
		if let Lie::WrongSealContext = lie {
			context[0] ^= 1;
		}
		let (encapsulated_key, ciphertext) =
			seal_to(&key_request.ephemeral_public, &context, &plaintext).unwrap();
		let mut response = KeyResponse {
			decided_at_block: 10,
			decided_at_hash: [0x10; 32],
			reason,
			encapsulated_key,
			ciphertext,
			key_checksum: checksum,
			provider_evidence: Vec::new(),
		};
		let report_data = response_report_data(&transcript.response_hash(&response));
		response.provider_evidence = node.tee.quote(&report_data).unwrap();
		conn.send(&Message::KeyResponse(response)).await.unwrap();
		conn.recv("the requester's answer").await.ok()
	});
	(addr, task)
}

async fn request_from_liar(lie: Lie) -> (RequestError, Option<Message>) {
	let (addr, task) = lying_provider(lie).await;
	let b = Node::new(B);
	let requested = b.request_keys(addr, &dev(), &fixed(view(A, &[(B, 100)]))).await;
	let answer = within(task).await.unwrap();
	assert_no_keys(&b);
	(requested.expect_err("a lying provider must be refused"), answer)
}

#[tokio::test]
async fn checksum_mismatch_is_refused() {
	let (error, answer) = request_from_liar(Lie::WrongChecksum).await;
	assert_matches!(error, RequestError::ChecksumMismatch { .. });
	assert_eq!(answer, Some(Message::Refused { reason: RefusalReason::ChecksumMismatch }));
}

#[tokio::test]
async fn keys_sealed_under_another_context_are_refused() {
	let (error, answer) = request_from_liar(Lie::WrongSealContext).await;
	assert_matches!(error, RequestError::Decrypt);
	assert_eq!(answer, Some(Message::Refused { reason: RefusalReason::DecryptionFailed }));
}

#[tokio::test]
async fn malformed_key_material_is_refused() {
	let (error, answer) = request_from_liar(Lie::GarbageKeys).await;
	assert_matches!(error, RequestError::KeyMaterial(_));
	assert_eq!(answer, Some(Message::Refused { reason: RefusalReason::Malformed }));
}

#[tokio::test]
async fn snapshot_transfer_serves_the_encrypted_state_and_refuses_without_one() {
	use enclave_worker::{
		provisioning::{fetch_snapshot, SnapshotFetchConfig},
		store::decode_snapshot,
	};

	let snapshots = tempfile::tempdir().unwrap();
	let store = Store::open(snapshots.path()).unwrap();
	let config =
		ProviderConfig { snapshot_store: Some(store.clone()), ..ProviderConfig::default() };
	let (running, listener) = provider(A, view(A, &[(B, 100)]), config, dev()).await;
	let provider = Arc::try_unwrap(running.provider).ok().expect("sole owner");
	let server = tokio::spawn(provider.serve(listener));
	let fetch = SnapshotFetchConfig::default();
	within(async {
		// Nothing executed yet: a typed refusal, not an empty state.
		let err = fetch_snapshot(running.addr, GENESIS, &fetch).await.unwrap_err();
		assert_matches!(err, WireError::Refused(RefusalReason::NoSnapshot), "{err}");

		let keys = running.keys.require().unwrap();
		store.write_snapshot(&keys.state, &A, 41, &[7; 32], b"the state").unwrap();
		let answer = fetch_snapshot(running.addr, GENESIS, &fetch).await.unwrap();
		assert_eq!(answer.block_number, 41);
		// Encrypted on the wire: the plaintext is not in it, and only the state key opens it.
		assert!(!answer.file.windows(9).any(|w| w == b"the state"));
		let snapshot = decode_snapshot(&keys.state, answer.file.clone()).unwrap();
		assert_eq!((snapshot.block_number, snapshot.state.as_slice()), (41, &b"the state"[..]));
		let other = KeyMaterial::generate();
		assert!(decode_snapshot(&other.state, answer.file).is_err());

		// Another chain is refused; so is an answer over the requester's size bound.
		let err = fetch_snapshot(running.addr, [0x55; 32], &fetch).await.unwrap_err();
		assert_matches!(err, WireError::Refused(RefusalReason::WrongGenesis), "{err}");
		let tiny = SnapshotFetchConfig { max_snapshot_len: 16, ..SnapshotFetchConfig::default() };
		let err = fetch_snapshot(running.addr, GENESIS, &tiny).await.unwrap_err();
		assert_matches!(err, WireError::FrameTooLarge, "{err}");
	})
	.await;
	server.abort();
}

/// A hand-over of `material` from A (view `pv`) to a fresh B (view `rv`).
async fn handover_to_fresh_b(
	material: KeyMaterial,
	pv: VerifiedSchedule,
	rv: VerifiedSchedule,
) -> (Result<Handover, RequestError>, Result<HandoverRecord, ProvideError>, Node) {
	let b = Node::new(B);
	let (requested, provided, _) =
		handover_of(material, A, pv, &b, rv, ProviderConfig::default()).await;
	(requested, provided, b)
}

/// A view in which B is A's scheduled successor and the registry holds `key_set`.
fn registered(key_set: Option<[u8; 32]>) -> VerifiedSchedule {
	let mut view = view(A, &[(B, 100)]);
	view.storage.key_set = key_set;
	view
}

#[tokio::test]
async fn keys_of_the_chains_key_set_are_handed_over() {
	let material = KeyMaterial::generate();
	let checksum = material.checksum();
	let set = Some(checksum.0);
	let (requested, provided, b) =
		handover_to_fresh_b(material, registered(set), registered(set)).await;
	assert_eq!(requested.expect("B gets the chain's keys").key_checksum, checksum);
	assert_eq!(provided.expect("A hands them over").key_checksum, checksum);
	assert!(b.store().has_keys());
}

#[tokio::test]
async fn a_provider_does_not_hand_out_keys_that_are_not_the_chains_key_set() {
	// A's keys come from a stray `init`: the registry holds another set.
	let material = KeyMaterial::generate();
	let held = material.checksum();
	let chain = [0xee; 32];
	let (requested, provided, b) =
		handover_to_fresh_b(material, registered(Some(chain)), registered(None)).await;
	assert_eq!(requested.peer_refusal(), Some(&RefusalReason::NotTheChainsKeySet), "{requested:?}");
	assert_matches!(
		provided,
		Err(ProvideError::NotTheChainsKeySet { chain: c, held: h }) if c.0 == chain && h == held
	);
	assert_no_keys(&b);
}

#[tokio::test]
async fn a_requester_refuses_keys_that_are_not_the_chains_key_set() {
	// A's host feeds A a view without the registry's key set (or A is a stray enclave that
	// got itself scheduled): B's own proven view names the chain's set, and B refuses.
	let material = KeyMaterial::generate();
	let offered = material.checksum();
	let chain = [0xee; 32];
	let (requested, provided, b) =
		handover_to_fresh_b(material, registered(None), registered(Some(chain))).await;
	assert_matches!(
		requested,
		Err(RequestError::NotTheChainsKeySet { chain: c, got }) if c.0 == chain && got == offered
	);
	assert_eq!(provided.peer_refusal(), Some(&RefusalReason::NotTheChainsKeySet), "{provided:?}");
	assert_no_keys(&b);
}
