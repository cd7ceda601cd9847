//! The boundary to the TEE: who am I (measurement), prove it to a peer (quote over 64
//! bytes of report data), and a sealing key that only this measurement can derive.

use std::fmt;

use enclave_update_primitives::Measurement;
use serde::{Deserialize, Serialize};

use crate::{secret::Secret32, serde_hex::hex_array};

pub mod gramine;
#[cfg(feature = "dev-tee")]
pub mod sim;

pub use gramine::GramineTee;
#[cfg(feature = "dev-tee")]
pub use sim::SimTee;

/// Length of the report data a quote binds.
pub const REPORT_DATA_LEN: usize = 64;

/// Errors of the TEE backends.
#[derive(Debug, thiserror::Error)]
pub enum TeeError {
	/// A device or host file could not be read or written.
	#[error("TEE I/O on {path}: {source}")]
	Io {
		/// The file involved.
		path: String,
		/// The underlying error.
		#[source]
		source: std::io::Error,
	},
	/// The TEE returned data of an unexpected shape.
	#[error("unexpected data from the TEE: {0}")]
	Malformed(String),
	/// The per-host secret of the sim backend exists but is not 32 bytes.
	#[error("sim host secret {path} is corrupt (expected 32 bytes, found {len}); restore it from backup or re-provision keys")]
	CorruptHostSecret {
		/// The host secret file.
		path: String,
		/// Its length.
		len: usize,
	},
}

impl TeeError {
	pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
		Self::Io { path: path.display().to_string(), source }
	}
}

/// Which backend produced something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TeeKind {
	/// Software simulation, development only.
	Sim,
	/// SGX through Gramine.
	Gramine,
}

/// The identity an enclave reports about itself, as a verifier would see it in a quote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnclaveIdentity {
	/// MRENCLAVE (SGX) or the TD identity digest (TDX): what the chain schedules.
	pub measurement: Measurement,
	/// MRSIGNER: hash of the key that signed the enclave.
	#[serde(with = "hex_array")]
	pub signer: [u8; 32],
	/// ISV product id.
	pub product_id: u16,
	/// ISV security version number.
	pub svn: u16,
}

/// A 256-bit key bound to the enclave's measurement (MRENCLAVE sealing policy): another
/// build, even on the same machine, derives a different key.
pub struct SealingKey(Secret32);

impl SealingKey {
	pub(crate) fn from_secret(secret: Secret32) -> Self {
		Self(secret)
	}

	/// The raw key, for the store's AEAD. Never log it.
	pub fn expose_secret(&self) -> &[u8; 32] {
		self.0.expose()
	}
}

impl fmt::Debug for SealingKey {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str("SealingKey(<redacted>)")
	}
}

/// The enclave boundary. Implementations must be cheap to call repeatedly.
pub trait Tee: Send + Sync {
	/// Which backend this is.
	fn kind(&self) -> TeeKind;

	/// This enclave's own identity.
	fn identity(&self) -> Result<EnclaveIdentity, TeeError>;

	/// A quote (evidence for a remote verifier) binding `report_data`.
	fn quote(&self, report_data: &[u8; REPORT_DATA_LEN]) -> Result<Vec<u8>, TeeError>;

	/// The sealing key bound to this enclave's measurement.
	fn sealing_key(&self) -> Result<SealingKey, TeeError>;
}

/// A boxed backend (the binary picks one at run time) is a backend.
impl<T: Tee + ?Sized> Tee for Box<T> {
	fn kind(&self) -> TeeKind {
		(**self).kind()
	}

	fn identity(&self) -> Result<EnclaveIdentity, TeeError> {
		(**self).identity()
	}

	fn quote(&self, report_data: &[u8; REPORT_DATA_LEN]) -> Result<Vec<u8>, TeeError> {
		(**self).quote(report_data)
	}

	fn sealing_key(&self) -> Result<SealingKey, TeeError> {
		(**self).sealing_key()
	}
}
