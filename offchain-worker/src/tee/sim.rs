//! Software TEE for development and tests (only with the `dev-tee` feature).
//!
//! - Its measurement is configured, so one machine can run an "old" build A and a "new" build B
//!   side by side.
//! - Its quotes use the simulated format of [`crate::attestation::sim_quote`], signed by the
//!   publicly known dev attestation key: a verifier accepts them only in dev mode.
//! - Its sealing key is HKDF(per-host secret, measurement): like SGX's MRENCLAVE sealing policy,
//!   build B on the same host cannot unseal what build A sealed (seed 000).

use std::path::{Path, PathBuf};

use enclave_update_primitives::Measurement;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{EnclaveIdentity, SealingKey, Tee, TeeError, TeeKind, REPORT_DATA_LEN};
use crate::{
	attestation::sim_quote::{SignSimQuote, SimQuote},
	fs::atomic_create,
	secret::Secret32,
};

/// File name of the per-host secret when it lives in the data directory.
pub const HOST_SECRET_FILE: &str = "sim-host-secret";
const SEALING_SALT: &[u8] = b"enclave-update/sim-sealing-key/v1";

/// The sim backend.
#[derive(Debug, Clone)]
pub struct SimTee {
	identity: EnclaveIdentity,
	debug: bool,
	host_secret_path: PathBuf,
	create_host_secret: bool,
}

impl SimTee {
	/// A sim enclave with `measurement`, a dev signer (all zeros), product id 0 and SVN 0,
	/// whose per-host secret is `host_secret_path` (created on first use).
	pub fn new(measurement: Measurement, host_secret_path: impl Into<PathBuf>) -> Self {
		Self {
			identity: EnclaveIdentity { measurement, signer: [0u8; 32], product_id: 0, svn: 0 },
			debug: false,
			host_secret_path: host_secret_path.into(),
			create_host_secret: true,
		}
	}

	/// The per-host secret in `data_dir` ([`HOST_SECRET_FILE`]).
	pub fn in_data_dir(measurement: Measurement, data_dir: &Path) -> Self {
		Self::new(measurement, data_dir.join(HOST_SECRET_FILE))
	}

	/// Overrides MRSIGNER, product id and SVN (to exercise pinning policies).
	pub fn with_signer(mut self, signer: [u8; 32], product_id: u16, svn: u16) -> Self {
		self.identity.signer = signer;
		self.identity.product_id = product_id;
		self.identity.svn = svn;
		self
	}

	/// Never creates the per-host secret: a missing one is an error (I/O, not found), for
	/// readers that must leave the disk as they found it (`enclave-worker status`).
	pub fn without_creating_host_secret(mut self) -> Self {
		self.create_host_secret = false;
		self
	}

	/// Marks quotes as coming from a debug enclave (to exercise the debug refusal).
	pub fn with_debug(mut self, debug: bool) -> Self {
		self.debug = debug;
		self
	}

	/// Reads the per-host secret, creating it on first use. Of workers starting at once, exactly
	/// one creates the file and the others read it, so all derive their keys from one secret.
	fn host_secret(&self) -> Result<Zeroizing<[u8; 32]>, TeeError> {
		let path = &self.host_secret_path;
		match read_host_secret(path) {
			Err(TeeError::Io { source, .. })
				if self.create_host_secret && source.kind() == std::io::ErrorKind::NotFound =>
			{
				let mut secret = Zeroizing::new([0u8; 32]);
				rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret[..]);
				if let Some(parent) = path.parent() {
					std::fs::create_dir_all(parent).map_err(|e| TeeError::io(parent, e))?;
				}
				match atomic_create(path, &secret[..]) {
					Ok(()) => {
						tracing::info!(path = %path.display(), "created sim per-host secret");
						Ok(secret)
					},
					Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
						read_host_secret(path)
					},
					Err(e) => Err(TeeError::io(path, e)),
				}
			},
			other => other,
		}
	}
}

fn read_host_secret(path: &Path) -> Result<Zeroizing<[u8; 32]>, TeeError> {
	let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| TeeError::io(path, e))?);
	let secret: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
		TeeError::CorruptHostSecret { path: path.display().to_string(), len: bytes.len() }
	})?;
	Ok(Zeroizing::new(secret))
}

impl Tee for SimTee {
	fn kind(&self) -> TeeKind {
		TeeKind::Sim
	}

	fn identity(&self) -> Result<EnclaveIdentity, TeeError> {
		Ok(self.identity.clone())
	}

	fn quote(&self, report_data: &[u8; REPORT_DATA_LEN]) -> Result<Vec<u8>, TeeError> {
		let quote = SimQuote {
			measurement: self.identity.measurement,
			signer: self.identity.signer,
			product_id: self.identity.product_id,
			svn: self.identity.svn,
			debug: self.debug,
			report_data: *report_data,
		};
		Ok(quote.sign_with_dev_key())
	}

	fn sealing_key(&self) -> Result<SealingKey, TeeError> {
		let host_secret = self.host_secret()?;
		let hk = Hkdf::<Sha256>::new(Some(SEALING_SALT), &host_secret[..]);
		let mut info = Vec::with_capacity(1 + 48);
		info.push(self.identity.measurement.tag());
		info.extend_from_slice(self.identity.measurement.as_bytes());
		let mut okm = [0u8; 32];
		hk.expand(&info, &mut okm)
			.map_err(|_| TeeError::Malformed("HKDF output length".into()))?;
		Ok(SealingKey::from_secret(Secret32::new(&mut okm)))
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use assert_matches::assert_matches;

	const A_MEASUREMENT: Measurement = Measurement::MrEnclave([0xa; 32]);

	#[test]
	fn sealing_key_is_bound_to_measurement_and_host() {
		let dir = tempfile::tempdir().unwrap();
		let a = SimTee::in_data_dir(Measurement::MrEnclave([0xa; 32]), dir.path());
		let a_again = SimTee::in_data_dir(Measurement::MrEnclave([0xa; 32]), dir.path());
		let b = SimTee::in_data_dir(Measurement::MrEnclave([0xb; 32]), dir.path());
		let ka = a.sealing_key().unwrap();
		assert_eq!(ka.expose_secret(), a_again.sealing_key().unwrap().expose_secret());
		assert_ne!(ka.expose_secret(), b.sealing_key().unwrap().expose_secret());
		let other_host = tempfile::tempdir().unwrap();
		let a_elsewhere = SimTee::in_data_dir(Measurement::MrEnclave([0xa; 32]), other_host.path());
		assert_ne!(ka.expose_secret(), a_elsewhere.sealing_key().unwrap().expose_secret());
		assert!(!format!("{ka:?}").contains(&hex::encode(ka.expose_secret())));
	}

	#[test]
	fn workers_starting_at_once_share_one_host_secret() {
		const WORKERS: usize = 16;
		for _ in 0..10 {
			let dir = tempfile::tempdir().unwrap();
			let barrier = std::sync::Barrier::new(WORKERS);
			let keys: Vec<[u8; 32]> = std::thread::scope(|scope| {
				let handles: Vec<_> = (0..WORKERS)
					.map(|_| {
						scope.spawn(|| {
							let tee = SimTee::in_data_dir(A_MEASUREMENT, dir.path());
							barrier.wait();
							*tee.sealing_key().unwrap().expose_secret()
						})
					})
					.collect();
				handles.into_iter().map(|h| h.join().unwrap()).collect()
			});
			assert!(keys.iter().all(|k| *k == keys[0]), "workers derived different keys");
			// The file on disk is the secret they all used, and no temp file is left.
			let later = SimTee::in_data_dir(A_MEASUREMENT, dir.path()).sealing_key().unwrap();
			assert_eq!(*later.expose_secret(), keys[0]);
			let names: Vec<_> = std::fs::read_dir(dir.path())
				.unwrap()
				.map(|e| e.unwrap().file_name().into_string().unwrap())
				.collect();
			assert_eq!(names, [HOST_SECRET_FILE]);
		}
	}

	#[test]
	fn corrupt_host_secret_is_an_error() {
		let dir = tempfile::tempdir().unwrap();
		std::fs::write(dir.path().join(HOST_SECRET_FILE), b"short").unwrap();
		let tee = SimTee::in_data_dir(Measurement::MrEnclave([1; 32]), dir.path());
		assert_matches!(tee.sealing_key(), Err(TeeError::CorruptHostSecret { len: 5, .. }));
	}

	#[test]
	fn quote_carries_identity_and_report_data() {
		let dir = tempfile::tempdir().unwrap();
		let tee = SimTee::in_data_dir(Measurement::TdIdentity([7; 48]), dir.path())
			.with_signer([9; 32], 3, 4);
		let quote = tee.quote(&[5; 64]).unwrap();
		let parsed = crate::attestation::sim_quote::decode(&quote).unwrap();
		assert_eq!(parsed.quote.measurement, Measurement::TdIdentity([7; 48]));
		assert_eq!(parsed.quote.signer, [9; 32]);
		assert_eq!((parsed.quote.product_id, parsed.quote.svn), (3, 4));
		assert_eq!(parsed.quote.report_data, [5; 64]);
		assert!(crate::attestation::sim_quote::verify_dev_signature(&parsed).is_ok());
	}
}
