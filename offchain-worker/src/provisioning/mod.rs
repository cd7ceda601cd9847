//! The mutual-attestation key hand-over: a running (provider) enclave hands the shielding key
//! and the state key to another (requester) enclave, only if the on-chain schedule, read
//! through a [`ScheduleSource`](crate::chain::ScheduleSource), allows it, and only to an enclave
//! that proves its measurement with a quote bound to this handshake. The requester checks the
//! provider the same way (mutual): a provider that its own chain view does not authorize is
//! refused.
//!
//! ## Flow (one TCP connection, [`protocol`] has the formats)
//! 1. requester → [`protocol::ChallengeRequest`] `{ version, genesis_hash }`; the provider checks
//!    both against its verified view and answers [`protocol::Challenge`] `{ nonce, measurement, ttl
//!    }`. Nonces are random, single-use, expire ([`ProviderConfig::nonce_ttl`]) and are bounded in
//!    number ([`ProviderConfig::max_outstanding_challenges`]).
//! 2. requester → [`protocol::KeyRequest`] `{ nonce, ephemeral_public, evidence }`, its quote over
//!    [`protocol::request_report_data`].
//! 3. the provider consumes the nonce, verifies the evidence, takes the requester's measurement
//!    from it, decides with `VerifiedSchedule::decide(own, requester)` at its latest verified
//!    block, seals `KeyMaterial::to_plaintext()` to the ephemeral key with HPKE and answers
//!    [`protocol::KeyResponse`] with its own quote over the transcript.
//! 4. the requester verifies that quote, decides `decide(provider, own)` on its own view, opens the
//!    keys, checks their checksum, seals them to its own measurement in its [`crate::store::Store`]
//!    and sends [`protocol::Ack`]; the provider logs the hand-over.
//!
//! ## Snapshot transfer
//! The same port answers a [`protocol::SnapshotRequest`] with the provider's latest state
//! snapshot, still encrypted with the state key ([`snapshot`] explains why that needs no
//! attestation): how a successor gets the state of the block before its cut-over.
//!
//! Any refusal is a typed error on the refusing side ([`ProvideError`], [`RequestError`]),
//! a [`protocol::Message::Refused`] to the peer where the connection still works, and the end
//! of the connection. The requester writes nothing unless every check passed; the provider
//! never writes.
//!
//! ## Keys the requester already holds
//! - none, or a key file sealed by another build: the keys are sealed (another build's file is
//!   moved aside by the store, never deleted);
//! - the same keys (same checksum): nothing is written, the hand-over succeeds
//!   ([`StoreOutcome::AlreadyHeld`]): re-running `request-keys` is harmless;
//! - other keys, or a key file of this build it cannot read: refused ([`RequestError::KeysDiffer`],
//!   [`RequestError::Store`]) unless [`RequesterConfig::replace_existing_keys`] is set; then the
//!   held copy becomes the store's `.prev` copy (or is moved aside), so it is not lost.

use crate::attestation::{
	sim_quote::SimQuote, AttestationError, Collateral, CollateralCache, PeerIdentity, Verifier,
};

pub mod error;
mod nonces;
pub mod protocol;
pub mod provider;
pub mod requester;
pub mod snapshot;

pub use error::{NonceError, ProvideError, RequestError, WireError};
pub use provider::{authorize_requester, HandoverRecord, Provider, ProviderConfig, Served};
pub use requester::{request_keys, Handover, RequesterConfig, StoreOutcome};
pub use snapshot::{fetch_snapshot, SnapshotFetchConfig};

/// Connects to `addr` within `timeout`; on failure, the address as text and the error.
pub(crate) async fn connect<A>(
	addr: A,
	timeout: std::time::Duration,
) -> Result<tokio::net::TcpStream, (String, std::io::Error)>
where
	A: tokio::net::ToSocketAddrs + std::fmt::Debug,
{
	let addr_text = format!("{addr:?}");
	match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
		Ok(Ok(stream)) => Ok(stream),
		Ok(Err(source)) => Err((addr_text, source)),
		Err(_) => {
			Err((addr_text, std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")))
		},
	}
}

/// The collateral `evidence` needs: none for a simulated quote (the verifier refuses those
/// outside dev mode), else from `cache`.
pub fn collateral_for(
	cache: Option<&CollateralCache>,
	evidence: &[u8],
	now: u64,
) -> Result<Option<Collateral>, AttestationError> {
	if SimQuote::is_simulated(evidence) {
		return Ok(None);
	}
	cache.ok_or(AttestationError::MissingCollateral)?.get(evidence, now).map(Some)
}

/// Verifies `evidence` cryptographically and against the policy, and returns the identity
/// plus whether its report data is `expected` (the caller names the mismatch). Runs on the
/// blocking pool: DCAP verification takes milliseconds, and a PCCS refill starts a runtime of
/// its own, which must not happen on a runtime thread.
pub(crate) async fn verify_peer(
	verifier: &Verifier,
	cache: Option<&CollateralCache>,
	evidence: Vec<u8>,
	expected: [u8; 64],
	now: u64,
) -> Result<Result<(PeerIdentity, bool), AttestationError>, String> {
	let verifier = verifier.clone();
	let cache = cache.cloned();
	tokio::task::spawn_blocking(move || {
		let collateral = collateral_for(cache.as_ref(), &evidence, now)?;
		let identity = verifier.check_evidence(&evidence, collateral.as_ref(), now)?;
		verifier.policy().evaluate(&identity, None)?;
		let bound = identity.report_data == expected;
		Ok((identity, bound))
	})
	.await
	.map_err(|e| format!("verification task: {e}"))
}
