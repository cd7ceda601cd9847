//! The worker's readiness and progress, persisted in `status.json` in the data directory
//! so that `enclave-worker status` can report it without touching any key.
//!
//! The status file is written after the keys are sealed, so a worker killed in between leaves
//! one that lags the keys (`Provisioning` or no file, with no checksum). The sealed key files
//! are the truth: [`WorkerStatus::reconcile`] brings a loaded status in line with them
//! ([`SealedKeys`]), and commands reconcile before they report or save, so a stale file
//! never downgrades a data directory that holds sealed keys.

use std::{fmt, path::Path};

use enclave_update_primitives::Measurement;
use serde::{Deserialize, Serialize};

use crate::{fs::atomic_write, keys::KeyChecksum, tee::TeeKind};

/// File name of the status file.
pub const STATUS_FILE: &str = "status.json";

/// Where the worker is in its life cycle. Not a bool: a worker can hold keys and still not
/// be the one that processes blocks (seed 004).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Readiness {
	/// No key material: needs `init` or `request-keys`.
	NoKeys,
	/// Requesting keys from a running worker.
	Provisioning,
	/// Holds the keys, follows the chain, waits for its activation block.
	Standby,
	/// Holds the keys and processes blocks.
	Active,
	/// Superseded or retired: processes nothing more.
	Retired,
}

impl fmt::Display for Readiness {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		let text = match self {
			Self::NoKeys => "no keys",
			Self::Provisioning => "provisioning",
			Self::Standby => "standby",
			Self::Active => "active",
			Self::Retired => "retired",
		};
		f.write_str(text)
	}
}

/// Errors reading or writing the status file.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
	/// File system error.
	#[error("status file {path}: {source}")]
	Io {
		/// The file.
		path: String,
		/// The underlying error.
		#[source]
		source: std::io::Error,
	},
	/// The file is not valid status JSON.
	#[error("status file {path} is not valid: {source}")]
	Invalid {
		/// The file.
		path: String,
		/// The parse error.
		#[source]
		source: serde_json::Error,
	},
}

/// How many shielded calls the state has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCounts {
	/// Decrypted and applied.
	pub applied: u64,
	/// Malformed or not decryptable, skipped.
	pub skipped: u64,
}

/// The persisted status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerStatus {
	/// Readiness.
	pub readiness: Readiness,
	/// The backend the worker runs on.
	pub tee: Option<TeeKind>,
	/// This worker's measurement.
	pub measurement: Option<Measurement>,
	/// Checksum of the key material it holds.
	pub key_checksum: Option<KeyChecksum>,
	/// Shielding public key (0x-hex).
	pub shielding_public_key: Option<String>,
	/// Last block whose effects are in the state.
	pub last_processed_block: Option<u64>,
	/// The state hash after that block (0x-hex), which chains across enclaves: the successor's
	/// first block continues from its predecessor's last one.
	#[serde(default)]
	pub state_hash: Option<String>,
	/// Shielded calls applied and skipped (malformed) since genesis.
	#[serde(default)]
	pub calls: Option<CallCounts>,
	/// When this status was written (unix seconds).
	pub updated_at: u64,
}

/// What a data directory's sealed key files show, which wins over its status file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealedKeys {
	/// No key file, current or previous copy.
	Absent,
	/// A key file exists but was not unsealed (no TEE at hand, or another build's keys):
	/// sealed by the measurement in its header, `None` when no header is readable.
	Sealed {
		/// The measurement in the key file's header.
		sealed_by: Option<Measurement>,
	},
	/// This enclave unsealed the keys.
	Unsealed {
		/// This enclave's measurement.
		measurement: Measurement,
		/// The unsealed keys' checksum.
		checksum: KeyChecksum,
		/// Their shielding public key (0x-hex).
		shielding_public_key: String,
	},
}

impl WorkerStatus {
	/// Brings the status in line with the sealed key files: keys sealed for this worker make
	/// a `NoKeys` or `Provisioning` status `Standby` (it holds keys; `run` decides from the
	/// schedule) and unsealed keys set the checksum; no key file at all makes a status that
	/// claims keys `NoKeys`. Keys sealed by another build than the status names, or a key file
	/// without a readable header, change nothing. Returns whether anything changed.
	pub fn reconcile(&mut self, sealed: &SealedKeys) -> bool {
		let before = self.clone();
		let lacks_keys = matches!(self.readiness, Readiness::NoKeys | Readiness::Provisioning);
		match sealed {
			SealedKeys::Absent => {
				if !lacks_keys {
					self.readiness = Readiness::NoKeys;
				}
				self.key_checksum = None;
				self.shielding_public_key = None;
			},
			SealedKeys::Sealed { sealed_by } => {
				let ours = match (self.measurement, sealed_by) {
					(Some(own), Some(by)) => own == *by,
					(None, Some(by)) => {
						self.measurement = Some(*by);
						true
					},
					// No readable header: nothing is known of these keys.
					(_, None) => false,
				};
				if ours && lacks_keys {
					self.readiness = Readiness::Standby;
				}
			},
			SealedKeys::Unsealed { measurement, checksum, shielding_public_key } => {
				if lacks_keys {
					self.readiness = Readiness::Standby;
				}
				self.measurement = Some(*measurement);
				self.key_checksum = Some(*checksum);
				self.shielding_public_key = Some(shielding_public_key.clone());
			},
		}
		*self != before
	}

	/// The status of a data directory nobody initialised.
	pub fn no_keys() -> Self {
		Self {
			readiness: Readiness::NoKeys,
			tee: None,
			measurement: None,
			key_checksum: None,
			shielding_public_key: None,
			last_processed_block: None,
			state_hash: None,
			calls: None,
			updated_at: 0,
		}
	}

	/// Reads the status of `data_dir`; a missing file means [`Readiness::NoKeys`].
	pub fn load(data_dir: &Path) -> Result<Self, StatusError> {
		let path = data_dir.join(STATUS_FILE);
		match std::fs::read(&path) {
			Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StatusError::Invalid {
				path: path.display().to_string(),
				source,
			}),
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::no_keys()),
			Err(source) => Err(StatusError::Io { path: path.display().to_string(), source }),
		}
	}

	/// Writes the status atomically, stamping `updated_at`.
	pub fn save(&mut self, data_dir: &Path) -> Result<(), StatusError> {
		self.updated_at = std::time::SystemTime::now()
			.duration_since(std::time::UNIX_EPOCH)
			.map(|d| d.as_secs())
			.unwrap_or(0);
		let path = data_dir.join(STATUS_FILE);
		let io = |source| StatusError::Io { path: path.display().to_string(), source };
		let json = serde_json::to_vec_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
		atomic_write(&path, &json).map_err(io)
	}
}

impl fmt::Display for WorkerStatus {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		let or_none = |v: Option<String>| v.unwrap_or_else(|| "-".into());
		writeln!(f, "readiness:            {}", self.readiness)?;
		writeln!(
			f,
			"tee:                  {}",
			or_none(self.tee.map(|t| format!("{t:?}").to_lowercase()))
		)?;
		writeln!(f, "measurement:          {}", or_none(self.measurement.map(|m| m.to_string())))?;
		writeln!(f, "key checksum:         {}", or_none(self.key_checksum.map(|c| c.to_string())))?;
		writeln!(f, "shielding public key: {}", or_none(self.shielding_public_key.clone()))?;
		writeln!(
			f,
			"last processed block: {}",
			or_none(self.last_processed_block.map(|b| b.to_string()))
		)?;
		writeln!(f, "state hash:           {}", or_none(self.state_hash.clone()))?;
		write!(
			f,
			"shielded calls:       {}",
			or_none(self.calls.map(|c| format!("{} applied, {} skipped", c.applied, c.skipped)))
		)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use assert_matches::assert_matches;

	#[test]
	fn missing_file_is_no_keys_and_round_trip() {
		let dir = tempfile::tempdir().unwrap();
		assert_eq!(WorkerStatus::load(dir.path()).unwrap().readiness, Readiness::NoKeys);
		let mut status = WorkerStatus {
			readiness: Readiness::Active,
			tee: Some(TeeKind::Sim),
			measurement: Some(Measurement::MrEnclave([1; 32])),
			key_checksum: Some(KeyChecksum([2; 32])),
			shielding_public_key: None,
			last_processed_block: Some(9),
			state_hash: None,
			calls: None,
			updated_at: 0,
		};
		status.save(dir.path()).unwrap();
		let loaded = WorkerStatus::load(dir.path()).unwrap();
		assert_eq!(loaded.readiness, Readiness::Active);
		assert_eq!(loaded.key_checksum, status.key_checksum);
		assert!(loaded.to_string().contains("active"));
		std::fs::write(dir.path().join(STATUS_FILE), b"{").unwrap();
		assert_matches!(WorkerStatus::load(dir.path()), Err(StatusError::Invalid { .. }));
	}

	#[test]
	fn sealed_keys_win_over_a_stale_status() {
		let own = Measurement::MrEnclave([1; 32]);
		let other = Measurement::MrEnclave([2; 32]);
		// Killed after sealing, before saving: `Provisioning`, no checksum.
		let mut provisioning = WorkerStatus::no_keys();
		provisioning.readiness = Readiness::Provisioning;
		provisioning.measurement = Some(own);
		let unsealed = SealedKeys::Unsealed {
			measurement: own,
			checksum: KeyChecksum([3; 32]),
			shielding_public_key: "0x04".into(),
		};
		let mut status = provisioning.clone();
		assert!(status.reconcile(&unsealed));
		assert_eq!(status.readiness, Readiness::Standby);
		assert_eq!(status.key_checksum, Some(KeyChecksum([3; 32])));
		assert!(!status.reconcile(&unsealed), "reconciling twice changes nothing");
		// Without a TEE, the header alone shows this worker's keys are sealed.
		let mut status = provisioning.clone();
		assert!(status.reconcile(&SealedKeys::Sealed { sealed_by: Some(own) }));
		assert_eq!((status.readiness, status.key_checksum), (Readiness::Standby, None));
		// With no status file at all, the header names the measurement.
		let mut status = WorkerStatus::no_keys();
		status.reconcile(&SealedKeys::Sealed { sealed_by: Some(own) });
		assert_eq!((status.readiness, status.measurement), (Readiness::Standby, Some(own)));
		// Another build's keys are not this worker's.
		let mut status = provisioning.clone();
		assert!(!status.reconcile(&SealedKeys::Sealed { sealed_by: Some(other) }));
		assert_eq!(status.readiness, Readiness::Provisioning);
		// No key file: a status claiming keys is wrong, a provisioning one is left.
		let mut active = WorkerStatus::no_keys();
		active.readiness = Readiness::Active;
		active.key_checksum = Some(KeyChecksum([3; 32]));
		assert!(active.reconcile(&SealedKeys::Absent));
		assert_eq!((active.readiness, active.key_checksum), (Readiness::NoKeys, None));
		let mut status = provisioning.clone();
		assert!(!status.reconcile(&SealedKeys::Absent));
	}
}
