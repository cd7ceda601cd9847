//! The requester side of a snapshot transfer: a successor enclave fetches the state its
//! predecessor wrote for the block before the cut-over (or a replica the state of the running
//! enclave of its own measurement) over the provisioning port.
//!
//! The snapshot travels as the store's file: encrypted and authenticated with the state key
//! (ChaCha20-Poly1305, associated data binding the writer's measurement, the file kind and the
//! format version). A peer without the state key can neither read nor forge one, so the
//! transfer itself needs no attestation; the runner that receives it checks the block number,
//! block hash and state hash against the verified chain before it continues from it.

use std::time::Duration;

use tokio::net::ToSocketAddrs;

use super::{
	error::WireError,
	protocol::{
		Connection, Message, SnapshotRequest, SnapshotResponse, DEFAULT_MAX_SNAPSHOT_LEN,
		PROTOCOL_VERSION,
	},
};

/// Settings of [`fetch_snapshot`].
#[derive(Clone, Debug)]
pub struct SnapshotFetchConfig {
	/// How long connecting may take.
	pub connect_timeout: Duration,
	/// How long each read (and write) of a frame may take; a large snapshot needs time.
	pub io_timeout: Duration,
	/// The longest snapshot answer accepted.
	pub max_snapshot_len: usize,
}

impl Default for SnapshotFetchConfig {
	fn default() -> Self {
		Self {
			connect_timeout: Duration::from_secs(10),
			io_timeout: Duration::from_secs(120),
			max_snapshot_len: DEFAULT_MAX_SNAPSHOT_LEN,
		}
	}
}

/// Asks the provider at `addr` for its latest state snapshot on the chain `genesis_hash`.
///
/// No snapshot is fetched when the provider cannot be reached, the exchange fails (an answer
/// over the size bound included), or the provider refuses ([`WireError::Refused`], e.g. with
/// [`RefusalReason::NoSnapshot`](super::protocol::RefusalReason::NoSnapshot)).
pub async fn fetch_snapshot<A>(
	addr: A,
	genesis_hash: [u8; 32],
	config: &SnapshotFetchConfig,
) -> Result<SnapshotResponse, WireError>
where
	A: ToSocketAddrs + std::fmt::Debug,
{
	let stream = super::connect(addr, config.connect_timeout)
		.await
		.map_err(|(addr, source)| WireError::Connect { addr, source })?;
	let mut conn = Connection::new(stream, config.max_snapshot_len, config.io_timeout);
	conn.send(&Message::SnapshotRequest(SnapshotRequest {
		version: PROTOCOL_VERSION,
		genesis_hash,
	}))
	.await?;
	match conn.recv("awaiting the snapshot").await? {
		Message::SnapshotResponse(response) => Ok(response),
		other => Err(WireError::unexpected("SnapshotResponse", other)),
	}
}
