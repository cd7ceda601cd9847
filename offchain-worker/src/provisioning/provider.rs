//! The provider side: a running enclave that hands its keys to requesters the verified
//! schedule allows.

use std::{
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

use enclave_update_primitives::{Allowed, Decision, Measurement};
use tokio::{
	io::{AsyncRead, AsyncWrite},
	net::TcpListener,
	sync::Semaphore,
};
use tracing::Instrument;

use super::{
	collateral_for,
	error::{NonceError, ProvideError, WireError},
	nonces::NonceBook,
	protocol::{
		request_report_data, response_report_data, seal_to, Ack, Challenge, ChallengeRequest,
		Connection, KeyRequest, KeyResponse, Message, SnapshotRequest, SnapshotResponse,
		Transcript, DEFAULT_MAX_FRAME_LEN, DEFAULT_MAX_SNAPSHOT_LEN, PROTOCOL_VERSION,
	},
};
use crate::{
	attestation::{Collateral, CollateralCache, PeerIdentity, Verifier},
	chain::{BlockNumber, ScheduleSource, VerifiedSchedule},
	keys::{KeyChecksum, KeyStore},
	store::{encode_snapshot, Store, StoreError},
	tee::Tee,
};

/// Settings of a [`Provider`].
#[derive(Clone, Debug)]
pub struct ProviderConfig {
	/// How long a challenge nonce stays valid (clamped to one day).
	pub nonce_ttl: Duration,
	/// How many unanswered challenges may be outstanding; more are refused.
	pub max_outstanding_challenges: usize,
	/// How many connections [`Provider::serve`] handles at once; more wait in the backlog.
	pub max_connections: usize,
	/// How long each read (and write) of a frame may take.
	pub io_timeout: Duration,
	/// The longest frame accepted.
	pub max_frame_len: usize,
	/// Collateral for requesters' DCAP quotes (simulated quotes need none).
	pub collateral: Option<CollateralCache>,
	/// Where the state snapshots are, to answer [`SnapshotRequest`]s; none: refused.
	pub snapshot_store: Option<Store>,
	/// The longest snapshot answer sent.
	pub max_snapshot_len: usize,
}

impl Default for ProviderConfig {
	fn default() -> Self {
		Self {
			nonce_ttl: Duration::from_secs(60),
			max_outstanding_challenges: 64,
			max_connections: 16,
			io_timeout: Duration::from_secs(10),
			max_frame_len: DEFAULT_MAX_FRAME_LEN,
			collateral: None,
			snapshot_store: None,
			max_snapshot_len: DEFAULT_MAX_SNAPSHOT_LEN,
		}
	}
}

/// A completed hand-over, as the provider saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandoverRecord {
	/// The requester's attested measurement.
	pub requester: Measurement,
	/// Why the schedule allowed it.
	pub reason: Allowed<BlockNumber>,
	/// The verified block the decision was taken at.
	pub decided_at_block: BlockNumber,
	/// Its hash.
	pub decided_at_hash: [u8; 32],
	/// The checksum of the keys handed over (and acknowledged).
	pub key_checksum: KeyChecksum,
}

/// What a provider connection served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Served {
	/// A key hand-over.
	Keys(HandoverRecord),
	/// A state snapshot of the state after this block.
	Snapshot {
		/// The snapshot's block.
		block_number: u64,
	},
}

/// The provider's decision path: verify the requester's `evidence` (cryptography, policy, and
/// the binding of its report data to `expected_report_data`), then decide over `schedule`
/// whether `provider` may hand its keys to the attested measurement.
pub fn authorize_requester(
	verifier: &Verifier,
	evidence: &[u8],
	collateral: Option<&Collateral>,
	now: u64,
	expected_report_data: &[u8; 64],
	schedule: &VerifiedSchedule,
	provider: &Measurement,
) -> Result<(PeerIdentity, Allowed<BlockNumber>), ProvideError> {
	let identity = verifier.check_evidence(evidence, collateral, now)?;
	verifier.policy().evaluate(&identity, None)?;
	if identity.report_data != *expected_report_data {
		return Err(ProvideError::TranscriptMismatch);
	}
	match schedule.decide(provider, &identity.measurement) {
		Decision::Allowed(reason) => Ok((identity, reason)),
		Decision::Denied(reason) => Err(ProvideError::Denied(reason)),
	}
}

/// Hands the keys in a [`KeyStore`] to requesters the verified schedule allows.
pub struct Provider<T, S> {
	tee: Arc<T>,
	keys: Arc<KeyStore>,
	verifier: Verifier,
	schedule: S,
	config: ProviderConfig,
	nonces: Mutex<NonceBook>,
}

impl<T, S> Provider<T, S>
where
	T: Tee + 'static,
	S: ScheduleSource + 'static,
{
	/// A provider for the keys in `keys`, proving itself with `tee`, checking requesters with
	/// `verifier` and deciding over the views of `schedule_source`.
	pub fn new(
		tee: Arc<T>,
		keys: Arc<KeyStore>,
		verifier: Verifier,
		schedule_source: S,
		config: ProviderConfig,
	) -> Self {
		let nonces =
			Mutex::new(NonceBook::new(config.nonce_ttl, config.max_outstanding_challenges));
		Self { tee, keys, verifier, schedule: schedule_source, config, nonces }
	}

	/// Accepts connections forever, each handled in its own task, at most
	/// [`ProviderConfig::max_connections`] at once.
	pub async fn serve(self, listener: TcpListener) {
		let provider = Arc::new(self);
		let permits = Arc::new(Semaphore::new(provider.config.max_connections.max(1)));
		loop {
			// The semaphore is never closed, so acquiring only waits.
			let Ok(permit) = permits.clone().acquire_owned().await else { return };
			let (stream, peer) = match listener.accept().await {
				Ok(accepted) => accepted,
				Err(e) => {
					// Typically out of file descriptors: back off instead of spinning.
					tracing::warn!(error = %e, "accepting a provisioning connection failed");
					tokio::time::sleep(Duration::from_millis(100)).await;
					continue;
				},
			};
			let provider = provider.clone();
			let span = tracing::info_span!("provisioning", %peer);
			tokio::spawn(
				async move {
					// The outcome is logged by `handle_connection`.
					let _ = provider.handle_connection(stream).await;
					drop(permit);
				}
				.instrument(span),
			);
		}
	}

	/// Serves one connection: a key hand-over, or a snapshot transfer, whichever the peer's
	/// first message asks for. Refusals are sent to the peer and logged.
	pub async fn handle_connection<IO>(&self, stream: IO) -> Result<Served, ProvideError>
	where
		IO: AsyncRead + AsyncWrite + Unpin,
	{
		let mut conn = Connection::new(stream, self.config.max_frame_len, self.config.io_timeout);
		match conn.recv("awaiting the first request").await {
			Ok(Message::SnapshotRequest(request)) => {
				let result = self.serve_snapshot(&mut conn, &request).await;
				match &result {
					Ok(block_number) => {
						tracing::info!(block_number, "handed out the state snapshot")
					},
					Err(e) => {
						tracing::warn!(error = %e, "snapshot transfer failed");
						if let Some(reason) = e.refusal() {
							conn.refuse(reason).await;
						}
					},
				}
				result.map(|block_number| Served::Snapshot { block_number })
			},
			first => self.handle_keys(conn, first).await.map(Served::Keys),
		}
	}

	/// Runs one key hand-over on `stream`; refusals are sent to the requester and logged.
	pub async fn handle<IO>(&self, stream: IO) -> Result<HandoverRecord, ProvideError>
	where
		IO: AsyncRead + AsyncWrite + Unpin,
	{
		let mut conn = Connection::new(stream, self.config.max_frame_len, self.config.io_timeout);
		let first = conn.recv("awaiting the challenge request").await;
		self.handle_keys(conn, first).await
	}

	/// The peer must speak this protocol version and follow the chain of the latest verified
	/// view.
	/// Returns the verified view the check was made at.
	async fn check_peer(
		&self,
		version: u16,
		genesis_hash: &[u8; 32],
	) -> Result<VerifiedSchedule, ProvideError> {
		if version != PROTOCOL_VERSION {
			return Err(ProvideError::UnsupportedVersion {
				requested: version,
				supported: PROTOCOL_VERSION,
			});
		}
		let view = self.schedule.verified_schedule().await?;
		if *genesis_hash != view.genesis_hash {
			return Err(ProvideError::WrongGenesis);
		}
		Ok(view)
	}

	async fn serve_snapshot<IO>(
		&self,
		conn: &mut Connection<IO>,
		request: &SnapshotRequest,
	) -> Result<u64, ProvideError>
	where
		IO: AsyncRead + AsyncWrite + Unpin,
	{
		self.check_peer(request.version, &request.genesis_hash).await?;
		let store = self.config.snapshot_store.as_ref().ok_or(ProvideError::NoSnapshot)?;
		let keys = self.keys.require().map_err(|_| ProvideError::NoKeys)?;
		let (snapshot, _) = match store.read_snapshot(&keys.state) {
			Ok(read) => read,
			Err(StoreError::NoSnapshot(_)) => return Err(ProvideError::NoSnapshot),
			Err(e) => return Err(ProvideError::Internal(format!("reading the snapshot: {e}"))),
		};
		let file = encode_snapshot(
			&keys.state,
			&snapshot.written_by,
			snapshot.block_number,
			&snapshot.state_hash,
			&snapshot.state,
		)
		.map_err(|e| ProvideError::Internal(format!("encoding the snapshot: {e}")))?;
		drop(keys);
		conn.set_max_frame_len(self.config.max_snapshot_len);
		let block_number = snapshot.block_number;
		conn.send(&Message::SnapshotResponse(SnapshotResponse { block_number, file }))
			.await?;
		Ok(block_number)
	}

	async fn handle_keys<IO>(
		&self,
		mut conn: Connection<IO>,
		first: Result<Message, crate::provisioning::WireError>,
	) -> Result<HandoverRecord, ProvideError>
	where
		IO: AsyncRead + AsyncWrite + Unpin,
	{
		let mut issued = None;
		let result = self.run(&mut conn, first, &mut issued).await;
		if let Some(nonce) = issued {
			self.book().retire(&nonce);
		}
		match &result {
			Ok(record) => tracing::info!(
				requester = %record.requester,
				reason = ?record.reason,
				block = record.decided_at_block,
				block_hash = %hex::encode(record.decided_at_hash),
				key_checksum = %record.key_checksum,
				"handed the keys over"
			),
			Err(e) => {
				tracing::warn!(error = %e, "key hand-over failed");
				if let Some(reason) = e.refusal() {
					conn.refuse(reason).await;
				}
			},
		}
		result
	}

	fn book(&self) -> std::sync::MutexGuard<'_, NonceBook> {
		// A panic while holding the lock cannot leave the book inconsistent for our purposes.
		self.nonces.lock().unwrap_or_else(|p| p.into_inner())
	}

	async fn run<IO>(
		&self,
		conn: &mut Connection<IO>,
		first: Result<Message, crate::provisioning::WireError>,
		issued: &mut Option<[u8; 32]>,
	) -> Result<HandoverRecord, ProvideError>
	where
		IO: AsyncRead + AsyncWrite + Unpin,
	{
		let own = self.tee.identity()?.measurement;
		// The verified chain's time when the challenge was issued.
		let mut challenged_at_ms = 0;

		// Step 1: the challenge.
		let (request, challenge) = async {
			let request = match first? {
				Message::ChallengeRequest(request) => request,
				other => {
					return Err(ProvideError::from(WireError::unexpected(
						"ChallengeRequest",
						other,
					)))
				},
			};
			let view = self.check_peer(request.version, &request.genesis_hash).await?;
			challenged_at_ms = view.storage.timestamp_ms;
			self.keys.require().map_err(|_| ProvideError::NoKeys)?;
			let nonce = self.book().issue(Instant::now())?;
			*issued = Some(nonce);
			let ttl_ms = u32::try_from(self.config.nonce_ttl.as_millis()).unwrap_or(u32::MAX);
			let challenge =
				Challenge { version: PROTOCOL_VERSION, nonce, provider_measurement: own, ttl_ms };
			conn.send(&Message::Challenge(challenge.clone())).await?;
			Ok::<_, ProvideError>((request, challenge))
		}
		.instrument(tracing::info_span!("challenge"))
		.await?;

		// Steps 2 and 3: verify, decide, seal, answer.
		let (requester, response) = async {
			let key_request = match conn.recv("awaiting the key request").await? {
				Message::KeyRequest(key_request) => key_request,
				other => {
					return Err(ProvideError::from(WireError::unexpected("KeyRequest", other)))
				},
			};
			let now = Instant::now();
			if key_request.nonce != challenge.nonce {
				return Err(self.book().refusal_for_foreign(&key_request.nonce, now).into());
			}
			self.book().consume(&key_request.nonce, now)?;
			let (requester, response) = self
				.decide_and_seal(&own, &request, &challenge, &key_request, challenged_at_ms)
				.await?;
			conn.send(&Message::KeyResponse(response.clone())).await?;
			Ok((requester, response))
		}
		.instrument(tracing::info_span!("key_request"))
		.await?;

		// Step 4: the requester confirms it stored the keys.
		async {
			match conn.recv("awaiting the acknowledgement").await? {
				Message::Ack(Ack { key_checksum }) if key_checksum == response.key_checksum => {},
				Message::Ack(_) => return Err(ProvideError::AckMismatch),
				other => return Err(ProvideError::from(WireError::unexpected("Ack", other))),
			}
			Ok(())
		}
		.instrument(tracing::info_span!("ack"))
		.await
		.inspect_err(|e| {
			// The sealed keys went out: say so, since only the requester knows if it kept them.
			tracing::warn!(
				%requester,
				key_checksum = %KeyChecksum(response.key_checksum),
				error = %e,
				"sent the sealed keys, but the requester did not acknowledge storing them"
			)
		})?;

		Ok(HandoverRecord {
			requester,
			reason: response.reason,
			decided_at_block: response.decided_at_block,
			decided_at_hash: response.decided_at_hash,
			key_checksum: KeyChecksum(response.key_checksum),
		})
	}

	async fn decide_and_seal(
		&self,
		own: &Measurement,
		request: &ChallengeRequest,
		challenge: &Challenge,
		key_request: &KeyRequest,
		challenged_at_ms: u64,
	) -> Result<(Measurement, KeyResponse), ProvideError> {
		let expected = request_report_data(
			&key_request.ephemeral_public,
			&key_request.nonce,
			&request.genesis_hash,
		);
		// Decide at the latest verified block, not the one the challenge was issued at.
		let view = self.schedule.verified_schedule().await?;
		if view.genesis_hash != request.genesis_hash {
			return Err(ProvideError::WrongGenesis);
		}
		// Freshness by the chain's clock, not the host's: the host can stall or rewind its own.
		let elapsed_ms = view.storage.timestamp_ms.saturating_sub(challenged_at_ms);
		let ttl_ms = u64::from(challenge.ttl_ms);
		if elapsed_ms > ttl_ms {
			return Err(NonceError::StaleByChainTime { elapsed_ms, ttl_ms }.into());
		}
		let (identity, reason, view) = {
			let verifier = self.verifier.clone();
			let cache = self.config.collateral.clone();
			let evidence = key_request.evidence.clone();
			let own = *own;
			// Blocking pool: DCAP verification takes milliseconds, and a PCCS refill starts a
			// runtime of its own, which must not happen on a runtime thread.
			tokio::task::spawn_blocking(move || {
				// Collateral validity at the verified chain's time.
				let now = view.unix_seconds();
				let collateral = collateral_for(cache.as_ref(), &evidence, now)?;
				authorize_requester(
					&verifier,
					&evidence,
					collateral.as_ref(),
					now,
					&expected,
					&view,
					&own,
				)
				.map(|(identity, reason)| (identity, reason, view))
			})
			.await
			.map_err(|e| ProvideError::Internal(format!("verification task: {e}")))??
		};
		tracing::debug!(requester = %identity.measurement, ?reason, block = view.block_number, "schedule allows the requester");

		let keys = self.keys.require().map_err(|_| ProvideError::NoKeys)?;
		let held = keys.checksum();
		// One key set per chain: keys the registry does not hold are not handed out.
		if let Some(chain) = view.other_key_set(&held) {
			return Err(ProvideError::NotTheChainsKeySet { chain, held });
		}
		let key_checksum = held.0;
		let transcript = Transcript::new(request, challenge, key_request);
		let context =
			transcript.seal_context(view.block_number, &view.block_hash, &reason, &key_checksum);
		let (encapsulated_key, ciphertext) =
			seal_to(&key_request.ephemeral_public, &context, &keys.to_plaintext())
				.map_err(|e| ProvideError::Seal(e.to_string()))?;
		drop(keys);
		let mut response = KeyResponse {
			decided_at_block: view.block_number,
			decided_at_hash: view.block_hash,
			reason,
			encapsulated_key,
			ciphertext,
			key_checksum,
			provider_evidence: Vec::new(),
		};
		let report_data = response_report_data(&transcript.response_hash(&response));
		let tee = self.tee.clone();
		response.provider_evidence = tokio::task::spawn_blocking(move || tee.quote(&report_data))
			.await
			.map_err(|e| ProvideError::Internal(format!("quote task: {e}")))??;
		Ok((identity.measurement, response))
	}
}
