//! An on-disk cache of DCAP collateral, keyed by what the collateral depends on: the TEE
//! type, the platform's FMSPC and the PCK issuing CA, all read from the quote's PCK
//! certificate. With the `pccs` feature and a configured PCCS URL, a missing or stale
//! entry is fetched and stored; without it, the cache is filled by operators or tests
//! ([`CollateralCache::insert`]) and verification stays fully offline.

use std::path::{Path, PathBuf};

use dcap_qvl::quote::Quote;

use super::{AttestationError, Collateral};
use crate::fs::atomic_write;

/// A PCCS URL given to a build without the `pccs` feature.
#[derive(Debug, thiserror::Error)]
#[error(
	"--pccs-url needs a build with the `pccs` feature (cargo build --features pccs); this build \
	 verifies offline against --collateral-dir only"
)]
pub struct PccsNotBuilt;

/// A directory of collateral files named `<sgx|tdx>-<fmspc>-<ca>.json`.
#[derive(Clone, Debug)]
pub struct CollateralCache {
	dir: PathBuf,
	#[cfg(feature = "pccs")]
	pccs_url: Option<String>,
}

impl CollateralCache {
	/// A cache in `dir` (created on first insert).
	pub fn new(dir: impl Into<PathBuf>) -> Self {
		Self {
			dir: dir.into(),
			#[cfg(feature = "pccs")]
			pccs_url: None,
		}
	}

	/// Fetch missing or stale entries from the PCCS at `url`.
	#[cfg(feature = "pccs")]
	pub fn with_pccs(mut self, url: impl Into<String>) -> Self {
		self.pccs_url = Some(url.into());
		self
	}

	/// The cache a command line names (`--collateral-dir`, `--pccs-url`): none without a
	/// directory; with a PCCS URL, one that fills itself from that PCCS, which needs a build with
	/// the `pccs` feature.
	pub fn from_options(
		dir: Option<&Path>,
		pccs_url: Option<&str>,
	) -> Result<Option<Self>, PccsNotBuilt> {
		let Some(dir) = dir else { return Ok(None) };
		let cache = Self::new(dir);
		match pccs_url {
			None => Ok(Some(cache)),
			#[cfg(feature = "pccs")]
			Some(url) => Ok(Some(cache.with_pccs(url))),
			#[cfg(not(feature = "pccs"))]
			Some(_) => Err(PccsNotBuilt),
		}
	}

	/// The cache key of `quote`'s collateral.
	pub fn key_for(quote: &[u8]) -> Result<String, AttestationError> {
		let parsed = Quote::parse(quote).map_err(|e| {
			AttestationError::Malformed(super::error::one_line(format_args!("{e:#}")))
		})?;
		let fmspc = dcap_qvl::intel::quote_fmspc(&parsed)
			.map_err(|e| AttestationError::CertificationDataInvalid(format!("FMSPC: {e:#}")))?;
		let ca = dcap_qvl::intel::quote_ca(&parsed)
			.map_err(|e| AttestationError::CertificationDataInvalid(format!("PCK CA: {e:#}")))?;
		let tee = if parsed.header.is_sgx() { "sgx" } else { "tdx" };
		let ca = format!("{ca:?}").to_lowercase();
		Ok(format!("{tee}-{}-{ca}", hex::encode(fmspc)))
	}

	fn path_for(&self, key: &str) -> PathBuf {
		self.dir.join(format!("{key}.json"))
	}

	/// Stores `collateral` as the entry for `quote` (atomically).
	pub fn insert(
		&self,
		quote: &[u8],
		collateral: &Collateral,
	) -> Result<PathBuf, AttestationError> {
		let path = self.path_for(&Self::key_for(quote)?);
		let json = serde_json::to_vec(collateral.as_dcap())
			.map_err(|e| AttestationError::CollateralInvalid(e.to_string()))?;
		let io = |e: std::io::Error| {
			AttestationError::CollateralInvalid(format!("cannot write {}: {e}", path.display()))
		};
		std::fs::create_dir_all(&self.dir).map_err(io)?;
		atomic_write(&path, &json).map_err(io)?;
		Ok(path)
	}

	/// The collateral for `quote`, valid at `now`: from the cache, or (with the `pccs`
	/// feature and a URL) fetched and cached when missing or outside its validity window.
	pub fn get(&self, quote: &[u8], now: u64) -> Result<Collateral, AttestationError> {
		let key = Self::key_for(quote)?;
		let path = self.path_for(&key);
		let cached = cached_entry(&path, now);
		#[cfg(feature = "pccs")]
		if cached.is_err() {
			if let Some(url) = &self.pccs_url {
				let fetched = Collateral::fetch_from_pccs(url, quote)?;
				self.insert(quote, &fetched)?;
				return Ok(fetched);
			}
		}
		cached.map_err(|e| match e {
			AttestationError::CollateralNotCached { .. } => {
				AttestationError::CollateralNotCached { key }
			},
			other => other,
		})
	}
}

fn cached_entry(path: &Path, now: u64) -> Result<Collateral, AttestationError> {
	if !path.exists() {
		return Err(AttestationError::CollateralNotCached { key: path.display().to_string() });
	}
	let collateral = Collateral::from_file(path)?;
	collateral.check_valid_at(now)?;
	Ok(collateral)
}
