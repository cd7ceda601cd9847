//! The governed key hand-over against the real processes: `enclave-update-node --dev`, worker
//! A (`enclave-worker run --provide-on`, measurement A, the chain's first enclave) and
//! requesters run as `enclave-worker request-keys`, every decision taken on proof-checked chain
//! state. Each refusal leaves the requester without keys.
//!
//! An honest requester refuses an unscheduled or retired measurement itself, on its own
//! proof-checked view, before it sends a quote. So that the provider's decision is exercised
//! too, in-process requesters whose host lies about the schedule ask the real A process, and
//! the test asserts the reason A sends back.

use enclave_update_devnet::{
	chain::{retire_call, schedule_call},
	procs::Worker,
	story::{wait_serving, Devnet},
	testing, MEASUREMENT_A, MEASUREMENT_B, MEASUREMENT_C,
};
use enclave_update_primitives::{ActiveEnclave, Denied, Measurement, ScheduledEnclave};
use enclave_worker::{
	attestation::{AttestationPolicy, Verifier},
	chain::{rpc::RpcChain, ProvenStorage, ScheduleSource, VerifiedSchedule},
	keys::{KeyMaterial, KeyStore},
	provisioning::{
		protocol::{
			request_report_data, ChallengeRequest, Connection, EphemeralKey, KeyRequest, Message,
			RefusalReason, PROTOCOL_VERSION,
		},
		request_keys, Provider, ProviderConfig, RequestError, RequesterConfig, WireError,
	},
	store::Store,
	tee::{SimTee, Tee},
	testing::FixedSchedule,
};
use std::{future::Future, path::Path, sync::Arc, time::Duration};
use tokio::net::TcpStream;

/// Bound of each test (a debug node and several worker processes).
const TEST_TIMEOUT: Duration = Duration::from_secs(300);

async fn bounded<F: Future<Output = ()>>(test: F) {
	testing::bounded(TEST_TIMEOUT, test).await;
}

fn has_keys(worker: &Worker) -> bool {
	Store::open(&worker.data_dir).map(|s| s.has_keys()).unwrap_or(false)
}

fn checksum(status: &serde_json::Value) -> String {
	status["key_checksum"].as_str().expect("a key checksum").to_string()
}

/// Requests the keys and expects a refusal whose text contains `reason`.
fn assert_refused(worker: &Worker, provider: &str, reason: &str) {
	let result = worker.request_keys(provider).expect("the worker binary runs");
	assert!(!result.success, "worker {} got keys: {}", worker.name, result.stdout);
	assert!(
		result.stderr.contains(reason),
		"worker {}: expected a refusal mentioning {reason:?}, got:\n{}",
		worker.name,
		result.stderr
	);
	assert!(!has_keys(worker), "a refused request-keys wrote keys for worker {}", worker.name);
}

/// The text of the refusal a requester makes itself when its own proof-checked view does not
/// let A hand it the keys (the command line only reports errors as text).
fn own_view_denies(denied: Denied) -> String {
	RequestError::ProviderNotAuthorized(denied).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_schedule_governs_who_gets_the_keys() {
	bounded(async {
		let root = tempfile::tempdir().unwrap();
		let devnet = Devnet::start(root.path()).await.unwrap();
		let provider = devnet.a.provide_addr();
		let a_checksum = checksum(&devnet.a.status().unwrap());
		wait_serving(&provider, Duration::from_secs(60)).await.unwrap();

		// B before it is scheduled: B's own proof-checked view already denies it, so
		// request-keys stops after the challenge; a B whose host claims B is scheduled gets
		// past its own check, and A refuses it on A's proof-checked view.
		let b = devnet.worker(root.path(), "B", MEASUREMENT_B);
		assert_refused(&b, &provider, &own_view_denies(Denied::RequesterNotScheduled));
		let refusal =
			a_refuses_lying_requester(&devnet, root.path(), "B-lying", MEASUREMENT_B).await;
		assert_eq!(refusal, RefusalReason::Denied(Denied::RequesterNotScheduled));

		// Sudo schedules B far ahead: B now gets the keys, sealed to B.
		let activates_at = devnet.chain.finalized_number().await.unwrap() + 200;
		devnet.chain.sudo_ok(schedule_call(&MEASUREMENT_B, activates_at)).await.unwrap();
		let result = b.request_keys(&provider).unwrap();
		assert!(result.success, "B was refused: {}", result.stderr);
		let answer = result.json().unwrap();
		assert_eq!(answer["key_checksum"].as_str().unwrap(), a_checksum);
		assert!(answer["provider_reason"].as_str().unwrap().contains("ScheduledSuccessor"));
		let b_status = b.status().expect("B unseals its keys");
		assert_eq!(checksum(&b_status), a_checksum, "status shows the provider's checksum");
		assert_eq!(b_status["readiness"], "Standby");
		// A second request is harmless: the same keys are already held.
		let again = b.request_keys(&provider).unwrap();
		assert!(again.success, "{}", again.stderr);
		assert_eq!(again.json().unwrap()["stored"], "already held");

		// A replayed nonce, against the real provider process.
		replayed_nonce_is_refused(&provider, &b, devnet.genesis_hash).await;

		// A third measurement nobody scheduled: refused by its own view, and by A when its
		// host claims C is next.
		let c = devnet.worker(root.path(), "C", MEASUREMENT_C);
		assert_refused(&c, &provider, &own_view_denies(Denied::RequesterNotScheduled));
		let refusal =
			a_refuses_lying_requester(&devnet, root.path(), "C-lying", MEASUREMENT_C).await;
		assert_eq!(refusal, RefusalReason::Denied(Denied::RequesterNotScheduled));

		// Replication: a wiped A host is re-provisioned from the running A.
		let a2 = devnet.worker(root.path(), "A2", MEASUREMENT_A);
		let result = a2.request_keys(&provider).unwrap();
		assert!(result.success, "replication refused: {}", result.stderr);
		assert!(result.json().unwrap()["provider_reason"]
			.as_str()
			.unwrap()
			.contains("Replication"));
		assert_eq!(checksum(&a2.status().unwrap()), a_checksum);

		// A host that alters the storage values on their way from the node: B4's own chain view
		// fails its proof check, so B4 does not even ask; and the replica A2, run on such a
		// host, refuses an honest B (scheduled, on a true view) because it cannot verify its
		// own view.
		let (proxy_url, _proxy) = tampering_proxy(&devnet.node.url()).await;
		let mut b4 = devnet.worker(root.path(), "B4", MEASUREMENT_B);
		b4.node_url = proxy_url.clone();
		assert_refused(&b4, &provider, "storage proof rejected");
		let mut a2_on_tampered_host = a2.clone();
		a2_on_tampered_host.node_url = proxy_url;
		let _a2_run = a2_on_tampered_host.run(None).unwrap();
		let a2_addr = a2.provide_addr();
		wait_serving(&a2_addr, Duration::from_secs(60)).await.unwrap();
		let honest = |_: &mut VerifiedSchedule| {};
		let refusal = refusal_from(&a2_addr, &devnet, root.path(), "B5", MEASUREMENT_B, honest);
		assert_eq!(refusal.await, RefusalReason::ChainViewRejected);

		// A fake provider with measurement C, whose host claims C is active: B's own
		// proof-checked view says otherwise, and B refuses it.
		let fake = fake_provider(devnet.genesis_hash).await;
		let b2 = devnet.worker(root.path(), "B2", MEASUREMENT_B);
		assert_refused(&b2, &fake, &own_view_denies(Denied::ProviderUnknown));

		// B is retired by sudo: refused from now on, by its own view, and by A when B's host
		// hides the retirement.
		devnet.chain.sudo_ok(retire_call(&MEASUREMENT_B)).await.unwrap();
		let b3 = devnet.worker(root.path(), "B3", MEASUREMENT_B);
		assert_refused(&b3, &provider, &own_view_denies(Denied::RequesterRetired));
		let refusal =
			a_refuses_lying_requester(&devnet, root.path(), "B3-lying", MEASUREMENT_B).await;
		assert_eq!(refusal, RefusalReason::Denied(Denied::RequesterRetired));
	})
	.await;
}

/// The reason A gives a requester with `measurement` whose host claims that it is the next
/// scheduled enclave and that nothing is retired: its own check passes, so only A's decision
/// on A's proof-checked view can refuse it.
async fn a_refuses_lying_requester(
	devnet: &Devnet,
	root: &Path,
	name: &str,
	measurement: Measurement,
) -> RefusalReason {
	refusal_from(&devnet.a.provide_addr(), devnet, root, name, measurement, |view| {
		let activates_at = view.block_number + 1000;
		view.storage.scheduled = vec![ScheduledEnclave { measurement, activates_at }];
		view.storage.retired.clear();
	})
	.await
}

/// Asks the provider at `provider` for the keys as an in-process enclave with `measurement`,
/// whose host gives it the node's proof-checked view edited by `host_edit`. When the edited
/// view allows the hand-over, only the provider's decision can refuse it. Returns the reason
/// the provider sent; the requester must hold no keys.
async fn refusal_from(
	provider: &str,
	devnet: &Devnet,
	root: &Path,
	name: &str,
	measurement: Measurement,
	host_edit: impl FnOnce(&mut VerifiedSchedule),
) -> RefusalReason {
	let data_dir = root.join(format!("in-process-{name}"));
	std::fs::create_dir_all(&data_dir).unwrap();
	let tee = SimTee::in_data_dir(measurement, &data_dir);
	let store = Store::open(&data_dir).unwrap();
	let node = RpcChain::connect(&devnet.node.url(), Some(devnet.genesis_hash), None)
		.await
		.unwrap();
	let mut view = node.verified_schedule().await.unwrap();
	host_edit(&mut view);
	let verifier = Verifier::new(AttestationPolicy::dev());
	let config = RequesterConfig::default();
	let result =
		request_keys(provider, &tee, &verifier, &FixedSchedule(view), &store, &config).await;
	assert!(!store.has_keys(), "requester {name} was refused but holds keys");
	match result {
		Err(RequestError::Wire(WireError::Refused(reason))) => reason,
		other => panic!("requester {name}: expected the provider's refusal, got {other:?}"),
	}
}

/// Takes a challenge, uses its nonce for a successful hand-over to B, then sends the same key
/// request on a new connection: the provider refuses the replay.
async fn replayed_nonce_is_refused(provider: &str, b: &Worker, genesis_hash: [u8; 32]) {
	let tee = SimTee::in_data_dir(b.measurement, &b.data_dir);
	let request_for = |nonce: [u8; 32]| {
		let ephemeral = EphemeralKey::generate();
		let report_data = request_report_data(&ephemeral.public_key(), &nonce, &genesis_hash);
		KeyRequest {
			nonce,
			ephemeral_public: ephemeral.public_key(),
			evidence: tee.quote(&report_data).unwrap(),
		}
	};
	let connect = || async {
		let stream = TcpStream::connect(provider).await.unwrap();
		let mut conn = Connection::new(stream, 64 * 1024, Duration::from_secs(30));
		conn.send(&Message::ChallengeRequest(ChallengeRequest {
			version: PROTOCOL_VERSION,
			genesis_hash,
		}))
		.await
		.unwrap();
		let nonce = match conn.recv("challenge").await.unwrap() {
			Message::Challenge(challenge) => challenge.nonce,
			other => panic!("expected a challenge, got {other:?}"),
		};
		(conn, nonce)
	};
	let (mut first, nonce) = connect().await;
	let request = request_for(nonce);
	first.send(&Message::KeyRequest(request.clone())).await.unwrap();
	let answer = first.recv("key response").await.unwrap();
	assert!(matches!(answer, Message::KeyResponse(_)), "{answer:?}");
	drop(first);

	let (mut second, _) = connect().await;
	second.send(&Message::KeyRequest(request)).await.unwrap();
	match second.recv("refusal").await.unwrap() {
		Message::Refused { reason } => assert_eq!(reason, RefusalReason::NonceReplayed),
		other => panic!("a replayed nonce was answered with {other:?}"),
	}
}

/// A provider enclave with measurement C and keys of its own, whose host feeds it a view in
/// which C is active; returns its address.
async fn fake_provider(genesis_hash: [u8; 32]) -> String {
	let dir = tempfile::tempdir().unwrap().keep();
	let tee = Arc::new(SimTee::in_data_dir(MEASUREMENT_C, &dir));
	let view = VerifiedSchedule {
		genesis_hash,
		block_number: u32::MAX / 2,
		block_hash: [0xfa; 32],
		storage: ProvenStorage {
			active: Some(ActiveEnclave { measurement: MEASUREMENT_C, since: 0 }),
			scheduled: vec![ScheduledEnclave {
				measurement: MEASUREMENT_B,
				activates_at: u32::MAX / 2 + 100,
			}],
			..ProvenStorage::default()
		},
	};
	let provider = Provider::new(
		tee,
		Arc::new(KeyStore::with_keys(KeyMaterial::generate())),
		Verifier::new(AttestationPolicy::dev()),
		FixedSchedule(view),
		ProviderConfig::default(),
	);
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap().to_string();
	tokio::spawn(provider.serve(listener));
	addr
}

/// A JSON-RPC proxy in front of the node at `node_url` that forwards what a worker asks and
/// flips a byte in the largest node of every storage proof (the leaf holding the values).
async fn tampering_proxy(node_url: &str) -> (String, jsonrpsee::server::ServerHandle) {
	use jsonrpsee::{server::Server, types::ErrorObjectOwned, RpcModule};
	use subxt::rpcs::{client::RpcParams, RpcClient};

	let upstream = RpcClient::from_insecure_url(node_url).await.unwrap();
	let mut module = RpcModule::new(upstream);
	for method in [
		"chain_getBlock",
		"chain_getBlockHash",
		"chain_getHeader",
		"chain_getFinalizedHead",
		"state_getReadProof",
		"system_health",
	] {
		module
			.register_async_method(method, move |params, upstream, _| async move {
				let error = |e: String| ErrorObjectOwned::owned(-32000, e, None::<()>);
				let values: Vec<serde_json::Value> = params.parse().unwrap_or_default();
				let mut forwarded = RpcParams::new();
				for value in values {
					forwarded.push(value).map_err(|e| error(e.to_string()))?;
				}
				let mut answer: serde_json::Value =
					upstream.request(method, forwarded).await.map_err(|e| error(e.to_string()))?;
				if method == "state_getReadProof" {
					if let Some(nodes) = answer["proof"].as_array_mut() {
						if let Some(largest) =
							nodes.iter_mut().max_by_key(|n| n.as_str().map_or(0, str::len))
						{
							let mut bytes = hex::decode(
								largest.as_str().unwrap_or("0x").trim_start_matches("0x"),
							)
							.unwrap_or_default();
							if let Some(last) = bytes.last_mut() {
								*last ^= 0x01;
							}
							*largest =
								serde_json::Value::String(format!("0x{}", hex::encode(bytes)));
						}
					}
				}
				Ok::<_, ErrorObjectOwned>(answer)
			})
			.unwrap();
	}
	let server = Server::builder().build("127.0.0.1:0").await.unwrap();
	let url = format!("ws://{}", server.local_addr().unwrap());
	(url, server.start(module))
}
