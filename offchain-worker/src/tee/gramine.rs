//! SGX DCAP through Gramine's attestation pseudo-filesystem.
//!
//! Gramine exposes, under `/dev/attestation/`:
//! - `user_report_data` (write 64 bytes), then `quote` (read the DCAP quote over them),
//! - `my_target_info` (this enclave's TARGETINFO; MRENCLAVE in its first 32 bytes),
//! - `keys/_sgx_mrenclave` (the 16-byte EGETKEY seal key under the MRENCLAVE policy).
//!
//! The root is configurable so that tests can use a directory tree that imitates it.

use std::{
	fs::OpenOptions,
	io::Write,
	path::{Path, PathBuf},
	sync::{Mutex, OnceLock},
};

use dcap_qvl::quote::Quote;
use enclave_update_primitives::Measurement;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{EnclaveIdentity, SealingKey, Tee, TeeError, TeeKind, REPORT_DATA_LEN};
use crate::secret::Secret32;

/// Gramine's default attestation root.
pub const DEFAULT_ROOT: &str = "/dev/attestation";
const SEALING_SALT: &[u8] = b"enclave-update/gramine-sealing-key/v1";
const TARGET_INFO_MIN_LEN: usize = 32;

/// Serialises quote generation: Gramine's `user_report_data` and `quote` pseudo-files are
/// one per process, so a quote read after another thread's write would bind that thread's
/// report data. Process-wide rather than per instance, since every instance with the default
/// root shares those files.
static QUOTE_LOCK: Mutex<()> = Mutex::new(());

/// The Gramine backend.
#[derive(Debug, Clone)]
pub struct GramineTee {
	root: PathBuf,
	/// The identity never changes while the enclave runs, and reading it costs a quote.
	identity: OnceLock<EnclaveIdentity>,
}

impl Default for GramineTee {
	fn default() -> Self {
		Self::new(DEFAULT_ROOT)
	}
}

impl GramineTee {
	/// A backend reading Gramine's files under `root` (normally [`DEFAULT_ROOT`]).
	pub fn new(root: impl Into<PathBuf>) -> Self {
		Self { root: root.into(), identity: OnceLock::new() }
	}

	fn path(&self, name: &str) -> PathBuf {
		self.root.join(name)
	}

	fn read(&self, name: &str) -> Result<Vec<u8>, TeeError> {
		let path = self.path(name);
		std::fs::read(&path).map_err(|e| TeeError::io(&path, e))
	}

	/// MRENCLAVE from `my_target_info`, without generating a quote.
	pub fn own_mrenclave(&self) -> Result<[u8; 32], TeeError> {
		let target_info = self.read("my_target_info")?;
		target_info
			.get(..TARGET_INFO_MIN_LEN)
			.and_then(|s| <[u8; 32]>::try_from(s).ok())
			.ok_or_else(|| TeeError::Malformed("my_target_info shorter than 32 bytes".into()))
	}

	fn write_report_data(&self, report_data: &[u8; REPORT_DATA_LEN]) -> Result<(), TeeError> {
		let path = self.path("user_report_data");
		// Gramine's pseudo-file takes exactly one 64-byte write; no create/truncate semantics.
		let mut file = OpenOptions::new()
			.write(true)
			.truncate(false)
			.open(&path)
			.map_err(|e| TeeError::io(&path, e))?;
		file.write_all(report_data).map_err(|e| TeeError::io(&path, e))
	}
}

fn path_str(path: &Path) -> String {
	path.display().to_string()
}

impl Tee for GramineTee {
	fn kind(&self) -> TeeKind {
		TeeKind::Gramine
	}

	/// Reads the identity from the ISV report of a quote over zero report data (the
	/// TARGETINFO carries MRENCLAVE but not MRSIGNER, product id or SVN), once per instance.
	fn identity(&self) -> Result<EnclaveIdentity, TeeError> {
		if let Some(identity) = self.identity.get() {
			return Ok(identity.clone());
		}
		let quote = self.quote(&[0u8; REPORT_DATA_LEN])?;
		let parsed = Quote::parse(&quote).map_err(|e| {
			TeeError::Malformed(format!("Gramine returned an unparsable quote: {e}"))
		})?;
		let report = parsed
			.report
			.as_sgx()
			.ok_or_else(|| TeeError::Malformed("Gramine returned a non-SGX quote".into()))?;
		let from_target_info = self.own_mrenclave()?;
		if from_target_info != report.mr_enclave {
			return Err(TeeError::Malformed(format!(
				"MRENCLAVE in {} differs from the quote's",
				path_str(&self.path("my_target_info"))
			)));
		}
		let identity = EnclaveIdentity {
			measurement: Measurement::MrEnclave(report.mr_enclave),
			signer: report.mr_signer,
			product_id: report.isv_prod_id,
			svn: report.isv_svn,
		};
		Ok(self.identity.get_or_init(|| identity).clone())
	}

	fn quote(&self, report_data: &[u8; REPORT_DATA_LEN]) -> Result<Vec<u8>, TeeError> {
		// A panic while holding the lock leaves no state behind that a later quote relies on.
		let _serialised = QUOTE_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
		self.write_report_data(report_data)?;
		let quote = self.read("quote")?;
		if quote.is_empty() {
			return Err(TeeError::Malformed("Gramine returned an empty quote".into()));
		}
		Ok(quote)
	}

	/// Expands Gramine's 128-bit MRENCLAVE seal key to 256 bits with HKDF, so the store
	/// uses one AEAD for both backends.
	fn sealing_key(&self) -> Result<SealingKey, TeeError> {
		let raw = Zeroizing::new(self.read("keys/_sgx_mrenclave")?);
		if raw.len() != 16 {
			return Err(TeeError::Malformed(format!(
				"keys/_sgx_mrenclave has {} bytes, expected 16",
				raw.len()
			)));
		}
		let hk = Hkdf::<Sha256>::new(Some(SEALING_SALT), &raw[..]);
		let mut okm = [0u8; 32];
		hk.expand(b"store", &mut okm)
			.map_err(|_| TeeError::Malformed("HKDF output length".into()))?;
		Ok(SealingKey::from_secret(Secret32::new(&mut okm)))
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use assert_matches::assert_matches;

	const SAMPLE_QUOTE: &[u8] = include_bytes!("../../tests/fixtures/sgx_quote");

	fn fake_root(seal_key: &[u8]) -> (tempfile::TempDir, [u8; 32]) {
		let dir = tempfile::tempdir().unwrap();
		let quote = Quote::parse(SAMPLE_QUOTE).unwrap();
		let mrenclave = quote.report.as_sgx().unwrap().mr_enclave;
		let mut target_info = vec![0u8; 512];
		target_info[..32].copy_from_slice(&mrenclave);
		std::fs::write(dir.path().join("my_target_info"), target_info).unwrap();
		std::fs::write(dir.path().join("quote"), SAMPLE_QUOTE).unwrap();
		std::fs::write(dir.path().join("user_report_data"), [0u8; 64]).unwrap();
		std::fs::create_dir(dir.path().join("keys")).unwrap();
		std::fs::write(dir.path().join("keys/_sgx_mrenclave"), seal_key).unwrap();
		(dir, mrenclave)
	}

	/// MRSIGNER, ISVPRODID and ISVSVN read straight from the sample's SGX report body
	/// (header 48 bytes; MRSIGNER at 128, ISVPRODID at 256, ISVSVN at 258 of the body), not
	/// through the parser under test.
	fn sample_signer_product_svn() -> ([u8; 32], u16, u16) {
		let body = &SAMPLE_QUOTE[48..48 + 384];
		let signer = body[128..160].try_into().unwrap();
		let product = u16::from_le_bytes([body[256], body[257]]);
		let svn = u16::from_le_bytes([body[258], body[259]]);
		(signer, product, svn)
	}

	#[test]
	fn reads_identity_quote_and_sealing_key_from_the_tree() {
		let (dir, mrenclave) = fake_root(&[3u8; 16]);
		let tee = GramineTee::new(dir.path());
		let identity = tee.identity().unwrap();
		assert_eq!(identity.measurement, Measurement::MrEnclave(mrenclave));
		let (signer, product_id, svn) = sample_signer_product_svn();
		assert_ne!(signer, [0; 32]);
		assert_eq!((identity.signer, identity.product_id, identity.svn), (signer, product_id, svn));
		let quote = tee.quote(&[0x42; 64]).unwrap();
		assert_eq!(quote, SAMPLE_QUOTE);
		// The report data went to Gramine's pseudo-file.
		assert_eq!(std::fs::read(dir.path().join("user_report_data")).unwrap(), [0x42; 64]);
		let k1 = tee.sealing_key().unwrap();
		let (dir2, _) = fake_root(&[4u8; 16]);
		let k2 = GramineTee::new(dir2.path()).sealing_key().unwrap();
		assert_ne!(k1.expose_secret(), k2.expose_secret());
	}

	#[test]
	fn identity_is_read_once() {
		let (dir, _) = fake_root(&[3u8; 16]);
		let tee = GramineTee::new(dir.path());
		let identity = tee.identity().unwrap();
		tee.quote(&[0x42; 64]).unwrap();
		// Asking again neither generates a quote (which would overwrite the report data) nor
		// needs the device.
		std::fs::remove_file(dir.path().join("quote")).unwrap();
		assert_eq!(tee.identity().unwrap(), identity);
		assert_eq!(std::fs::read(dir.path().join("user_report_data")).unwrap(), [0x42; 64]);
		assert_matches!(tee.quote(&[0; 64]), Err(TeeError::Io { .. }));
	}

	#[test]
	fn bad_trees_are_errors_not_panics() {
		let (dir, _) = fake_root(&[3u8; 15]);
		let tee = GramineTee::new(dir.path());
		assert_matches!(tee.sealing_key(), Err(TeeError::Malformed(_)));
		std::fs::write(dir.path().join("my_target_info"), [0u8; 512]).unwrap();
		assert_matches!(tee.identity(), Err(TeeError::Malformed(_)));
		std::fs::write(dir.path().join("quote"), [1u8; 10]).unwrap();
		assert_matches!(tee.identity(), Err(TeeError::Malformed(_)));
		let missing = GramineTee::new(dir.path().join("nope"));
		assert_matches!(missing.quote(&[0; 64]), Err(TeeError::Io { .. }));
	}
}
