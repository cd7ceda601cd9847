//! The requester side: a new (or wiped) enclave asks a running one for the keys.

use std::time::Duration;

use enclave_update_primitives::{Allowed, Decision, Measurement};
use tokio::{
	io::{AsyncRead, AsyncWrite},
	net::ToSocketAddrs,
};
use tracing::Instrument;

use super::{
	error::{RequestError, WireError},
	protocol::{
		request_report_data, response_report_data, Ack, ChallengeRequest, Connection, EphemeralKey,
		KeyRequest, Message, Transcript, DEFAULT_MAX_FRAME_LEN, PROTOCOL_VERSION,
	},
	verify_peer,
};
use crate::{
	attestation::{CollateralCache, Verifier},
	chain::{BlockNumber, ScheduleSource, VerifiedSchedule},
	keys::{KeyChecksum, KeyMaterial},
	store::{ChainIdentity, Store, StoreError},
	tee::Tee,
};

/// Settings of [`request_keys`].
#[derive(Clone, Debug)]
pub struct RequesterConfig {
	/// How long connecting may take.
	pub connect_timeout: Duration,
	/// How long each read (and write) of a frame may take. The provider verifies a quote and
	/// reads the chain before it answers the key request, so leave it a few seconds.
	pub io_timeout: Duration,
	/// The longest frame accepted.
	pub max_frame_len: usize,
	/// Collateral for the provider's DCAP quote (simulated quotes need none).
	pub collateral: Option<CollateralCache>,
	/// Replace keys this enclave already holds when the provider's differ (the held ones are
	/// kept as the store's previous copy). Off by default: keys must never be lost silently.
	pub replace_existing_keys: bool,
}

impl Default for RequesterConfig {
	fn default() -> Self {
		Self {
			connect_timeout: Duration::from_secs(10),
			io_timeout: Duration::from_secs(30),
			max_frame_len: DEFAULT_MAX_FRAME_LEN,
			collateral: None,
			replace_existing_keys: false,
		}
	}
}

/// What happened to the requester's store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOutcome {
	/// The keys were sealed; there were none before (or only another build's file, which the
	/// store moved aside).
	Written,
	/// The same keys were already sealed for this enclave; nothing was written.
	AlreadyHeld,
	/// Other keys were held and replaced, as [`RequesterConfig::replace_existing_keys`]
	/// asked; they are the store's previous copy now.
	Replaced {
		/// The checksum of the replaced keys.
		previous: KeyChecksum,
	},
}

/// A completed hand-over, as the requester saw it.
#[derive(Debug)]
pub struct Handover {
	/// The keys, for the caller's [`crate::keys::KeyStore`] (they are sealed already).
	pub keys: KeyMaterial,
	/// Their checksum.
	pub key_checksum: KeyChecksum,
	/// The provider's attested measurement.
	pub provider: Measurement,
	/// Why the provider's view allowed it.
	pub provider_reason: Allowed<BlockNumber>,
	/// The block the provider decided at.
	pub provider_block: BlockNumber,
	/// Why this requester's own view authorized the provider.
	pub own_reason: Allowed<BlockNumber>,
	/// The block of this requester's own decision.
	pub own_block: BlockNumber,
	/// What happened to the store.
	pub stored: StoreOutcome,
}

/// Asks the provider at `addr` for the keys, checks it with `verifier` and the views of
/// `schedule_source`, and seals the keys to this enclave (`tee`) in `store`.
///
/// The TEE's quote and the store's writes are made on the calling task (both are short,
/// and this runs once per enclave); quote verification runs on the blocking pool.
pub async fn request_keys<A, T, S>(
	addr: A,
	tee: &T,
	verifier: &Verifier,
	schedule_source: &S,
	store: &Store,
	config: &RequesterConfig,
) -> Result<Handover, RequestError>
where
	A: ToSocketAddrs + std::fmt::Debug,
	T: Tee + ?Sized,
	S: ScheduleSource + ?Sized,
{
	// Our own identity and chain view first: without them there is nothing to ask for.
	let requester = Requester::new(tee, verifier, schedule_source, store, config).await?;
	let addr_text = format!("{addr:?}");
	let stream = super::connect(addr, config.connect_timeout)
		.await
		.map_err(|(addr, source)| WireError::Connect { addr, source })?;
	let span = tracing::info_span!("request_keys", provider = %addr_text);
	requester.exchange(stream).instrument(span).await
}

/// One key request: this enclave's identity and chain view, taken before anything is sent, and
/// what checks the provider's answer and keeps the keys.
struct Requester<'a, T: ?Sized, S: ?Sized> {
	own: Measurement,
	view: VerifiedSchedule,
	tee: &'a T,
	verifier: &'a Verifier,
	schedule_source: &'a S,
	store: &'a Store,
	config: &'a RequesterConfig,
}

impl<'a, T, S> Requester<'a, T, S>
where
	T: Tee + ?Sized,
	S: ScheduleSource + ?Sized,
{
	async fn new(
		tee: &'a T,
		verifier: &'a Verifier,
		schedule_source: &'a S,
		store: &'a Store,
		config: &'a RequesterConfig,
	) -> Result<Self, RequestError> {
		let own = tee.identity()?.measurement;
		let view = schedule_source.verified_schedule().await?;
		Ok(Self { own, view, tee, verifier, schedule_source, store, config })
	}

	/// Runs the exchange over `stream`, logs its end and tells the provider why it was refused.
	async fn exchange<IO>(&self, stream: IO) -> Result<Handover, RequestError>
	where
		IO: AsyncRead + AsyncWrite + Unpin,
	{
		let config = self.config;
		let mut conn = Connection::new(stream, config.max_frame_len, config.io_timeout);
		let result = self.run(&mut conn).await;
		match &result {
			Ok(handover) => tracing::info!(
				provider = %handover.provider,
				key_checksum = %handover.key_checksum,
				stored = ?handover.stored,
				"received the keys"
			),
			Err(e) => {
				tracing::warn!(error = %e, "key request failed");
				if let Some(reason) = e.refusal() {
					conn.refuse(reason).await;
				}
			},
		}
		result
	}

	async fn run<IO>(&self, conn: &mut Connection<IO>) -> Result<Handover, RequestError>
	where
		IO: AsyncRead + AsyncWrite + Unpin,
	{
		let Self { own, ref view, tee, verifier, schedule_source, store, config } = *self;
		// Step 1: ask for a challenge; refuse early a provider our own view does not authorize.
		let (request, challenge) = async {
			let request =
				ChallengeRequest { version: PROTOCOL_VERSION, genesis_hash: view.genesis_hash };
			conn.send(&Message::ChallengeRequest(request.clone())).await?;
			let challenge = match conn.recv("awaiting the challenge").await? {
				Message::Challenge(challenge) => challenge,
				other => return Err(RequestError::from(WireError::unexpected("Challenge", other))),
			};
			if challenge.version != PROTOCOL_VERSION {
				return Err(RequestError::UnsupportedVersion {
					offered: challenge.version,
					supported: PROTOCOL_VERSION,
				});
			}
			if let Decision::Denied(reason) = view.decide(&challenge.provider_measurement, &own) {
				return Err(RequestError::ProviderNotAuthorized(reason));
			}
			Ok((request, challenge))
		}
		.instrument(tracing::info_span!("challenge"))
		.await?;

		// Step 2: the ephemeral key and our quote binding it to the nonce and the chain.
		let ephemeral = EphemeralKey::generate();
		let key_request = async {
			let report_data =
				request_report_data(&ephemeral.public_key(), &challenge.nonce, &view.genesis_hash);
			let key_request = KeyRequest {
				nonce: challenge.nonce,
				ephemeral_public: ephemeral.public_key(),
				evidence: tee.quote(&report_data)?,
			};
			conn.send(&Message::KeyRequest(key_request.clone())).await?;
			Ok::<_, RequestError>(key_request)
		}
		.instrument(tracing::info_span!("key_request"))
		.await?;

		// Step 4: check the provider and the keys, store them, acknowledge.
		async {
			let response = match conn.recv("awaiting the key response").await? {
				Message::KeyResponse(response) => response,
				other => {
					return Err(RequestError::from(WireError::unexpected("KeyResponse", other)))
				},
			};
			let transcript = Transcript::new(&request, &challenge, &key_request);
			let expected = response_report_data(&transcript.response_hash(&response));
			// Our own latest verified view: its time is the collateral's verification time, and
			// it must authorize this provider for us (below).
			let latest = schedule_source.verified_schedule().await?;
			let identity = match verify_peer(
				verifier,
				config.collateral.as_ref(),
				response.provider_evidence.clone(),
				expected,
				latest.unix_seconds(),
			)
			.await
			.map_err(RequestError::Internal)?
			{
				Ok((identity, true)) => identity,
				Ok((_, false)) => return Err(RequestError::TranscriptMismatch),
				Err(e) => return Err(RequestError::Attestation(e)),
			};
			if identity.measurement != challenge.provider_measurement {
				return Err(RequestError::ProviderMeasurementMismatch {
					claimed: challenge.provider_measurement,
					attested: identity.measurement,
				});
			}
			// Mutual: our own latest verified view must authorize this provider for us.
			if latest.genesis_hash != view.genesis_hash {
				return Err(RequestError::WrongGenesis);
			}
			let own_reason = match latest.decide(&identity.measurement, &own) {
				Decision::Allowed(reason) => reason,
				Decision::Denied(reason) => {
					return Err(RequestError::ProviderNotAuthorized(reason))
				},
			};

			let context = transcript.seal_context(
				response.decided_at_block,
				&response.decided_at_hash,
				&response.reason,
				&response.key_checksum,
			);
			let plaintext = ephemeral
				.open(&response.encapsulated_key, &response.ciphertext, &context)
				.map_err(|_| RequestError::Decrypt)?;
			let keys = KeyMaterial::from_plaintext(&plaintext)?;
			drop(plaintext);
			let key_checksum = keys.checksum();
			if key_checksum.0 != response.key_checksum {
				return Err(RequestError::ChecksumMismatch {
					expected: KeyChecksum(response.key_checksum),
					got: key_checksum,
				});
			}
			// One key set per chain: keys the registry does not hold for this chain (a stray
			// `init`'s) are refused, whatever the provider attested.
			if let Some(chain) = latest.other_key_set(&key_checksum) {
				return Err(RequestError::NotTheChainsKeySet { chain, got: key_checksum });
			}

			let stored = store_keys(
				tee,
				store,
				&own,
				&keys,
				config.replace_existing_keys,
				&view.genesis_hash,
				(latest.block_number, latest.block_hash),
			)?;
			conn.send(&Message::Ack(Ack { key_checksum: key_checksum.0 })).await?;
			Ok(Handover {
				keys,
				key_checksum,
				provider: identity.measurement,
				provider_reason: response.reason,
				provider_block: response.decided_at_block,
				own_reason,
				own_block: latest.block_number,
				stored,
			})
		}
		.instrument(tracing::info_span!("key_response"))
		.await
	}
}

/// Seals `keys` to `own` in `store`, following the rules in the module docs, with their chain
/// identity: the chain of `genesis_hash`, which the provider's attested answer confirmed (the
/// request's report data binds it and the provider refuses any other), and the block of this
/// requester's own verified head, `sealed_at`, the oldest it accepts from now on. The identity is
/// written first, so that keys are never sealed without it.
fn store_keys<T: Tee + ?Sized>(
	tee: &T,
	store: &Store,
	own: &Measurement,
	keys: &KeyMaterial,
	replace: bool,
	genesis_hash: &[u8; 32],
	sealed_at: (BlockNumber, [u8; 32]),
) -> Result<StoreOutcome, RequestError> {
	let sealing_key = tee.sealing_key()?;
	let outcome = match store.read_sealed_keys(&sealing_key, own) {
		Ok((held, _)) if held.checksum() == keys.checksum() => {
			return Ok(StoreOutcome::AlreadyHeld)
		},
		Ok((held, _)) if !replace => {
			return Err(RequestError::KeysDiffer {
				held: held.checksum(),
				offered: keys.checksum(),
			})
		},
		Ok((held, _)) => StoreOutcome::Replaced { previous: held.checksum() },
		Err(StoreError::NoKeys(_)) | Err(StoreError::SealedByOtherEnclave { .. }) => {
			StoreOutcome::Written
		},
		// A key file of this build that does not unseal may hold keys we cannot see: only an
		// explicit replace moves it aside.
		Err(e) if !replace => return Err(RequestError::Store(e)),
		Err(_) => StoreOutcome::Written,
	};
	let identity = ChainIdentity {
		genesis_hash: *genesis_hash,
		key_checksum: keys.checksum().0,
		sealed_at_block: sealed_at.0,
		sealed_at_hash: sealed_at.1,
	};
	store.write_chain_identity(&sealing_key, own, &identity)?;
	store.write_sealed_keys(&sealing_key, own, keys)?;
	Ok(outcome)
}
