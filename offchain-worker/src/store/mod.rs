//! Sealed key files and encrypted state snapshots under a data directory.
//!
//! File layout (all integers little-endian), identical for every kind:
//!
//! | bytes | field |
//! |---|---|
//! | 4  | magic `EUWS` |
//! | 2  | format version ([`FORMAT_VERSION`]) |
//! | 1  | file kind ([`FileKind`]) |
//! | 1  | measurement kind (1 = MRENCLAVE, 2 = TDX identity digest) of the enclave that wrote the file |
//! | 48 | that measurement, zero-padded |
//! | 8  | payload length (ciphertext + 16-byte tag) |
//! | 24 | XChaCha20-Poly1305 nonce |
//! | .. | ciphertext, then tag |
//!
//! The header (up to the nonce, which the AEAD authenticates as its own input) is the
//! associated data, so magic, version, kind, measurement and length are authenticated. Key files
//! are encrypted with the TEE's sealing key; snapshots with the *state key*, so a successor enclave
//! that was provisioned the state key can read the state its predecessor wrote, while only the same
//! measurement can unseal the keys.
//!
//! Every write is complete and fsynced in a temp file before anything at the destination
//! changes ([`crate::fs::atomic_write`]), so a failed write (disk full) leaves the files as they
//! were; the previous good copy is kept as `<name>.prev` and used when the newest copy is torn or
//! fails to authenticate. Nothing
//! here deletes key material: a key file that cannot be unsealed is moved aside, never
//! overwritten.
//!
//! Temp files are named `.<name>.tmp-<32 random hex digits>` and created with `create_new`, so
//! no two writers (nor a later process that reuses a pid) ever share one. A writer killed
//! midway leaves its temp file behind; [`Store::open`] removes those of the store's own files
//! (and only those), never a live writer's: writers hold a shared `flock` on the directory
//! while their temp file exists, the clean-up takes it exclusively. Readers that must change
//! nothing (`enclave-worker status`) use [`Store::open_read_only`].

mod format;
mod progress;
mod snapshot;
#[cfg(all(test, feature = "dev-tee"))]
mod tests;

use std::{
	fs::File,
	io,
	path::{Path, PathBuf},
};

use enclave_update_primitives::Measurement;
use zeroize::Zeroizing;

/// The highest verified block, as the store keeps it (defined with the chain follower).
pub use crate::chain::ChainProgress;
use format::{decode_file, read_header};
pub use format::{
	encode_file, parse_file, parse_header, FileKind, Header, ParsedFile, FORMAT_VERSION,
	HEADER_LEN, MAGIC,
};
pub use progress::SealedProgress;
pub use snapshot::{decode_snapshot, encode_snapshot, Snapshot};

use crate::{
	fs::{self, atomic_write, lock_dir, move_aside, PreparedFile},
	keys::{KeyMaterial, StateKey},
	registration::EnclaveSigningKey,
	tee::SealingKey,
};

/// Name of the sealed key file in the data directory.
pub const KEYS_FILE: &str = "keys.sealed";
/// Name of the latest state snapshot in the data directory.
pub const SNAPSHOT_FILE: &str = "state.snapshot";
/// Name of the sealed chain progress (rollback protection) in the data directory.
pub const CHAIN_PROGRESS_FILE: &str = "chain.progress";
/// Name of the sealed GRANDPA light-client state in the data directory.
pub const LIGHT_CLIENT_FILE: &str = "chain.grandpa";
/// Name of the sealed chain identity (the chain the keys belong to) in the data directory.
pub const CHAIN_IDENTITY_FILE: &str = "chain.identity";
/// Name of this enclave's sealed signing key ([`crate::registration::EnclaveSigningKey`]).
pub const SIGNING_KEY_FILE: &str = "enclave.signing";
const CHAIN_PROGRESS_LEN: usize = 4 + 32 + 32;
const CHAIN_IDENTITY_LEN: usize = 32 + 32 + 4 + 32;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
	/// File system error.
	#[error("I/O error on {path}: {source}")]
	Io {
		/// The file involved.
		path: PathBuf,
		/// The underlying error.
		#[source]
		source: io::Error,
	},
	/// No sealed key file (nor a previous copy) exists.
	#[error("no sealed keys in {0}: run `enclave-worker init` (first enclave of a chain) or `enclave-worker request-keys` (successor or replica)")]
	NoKeys(PathBuf),
	/// No snapshot (nor a previous copy) exists.
	#[error("no state snapshot in {0}")]
	NoSnapshot(PathBuf),
	/// `init` was asked to create keys where key material already exists.
	#[error(
		"key material already exists at {0}; refusing to overwrite it (keys must never be lost)"
	)]
	KeysAlreadyExist(PathBuf),
	/// The file does not start with the store's magic.
	#[error("not an enclave-worker store file (bad magic)")]
	BadMagic,
	/// The file is of a format version this build does not read.
	#[error("unsupported store format version {0}")]
	UnsupportedVersion(u16),
	/// The file is of another kind than expected.
	#[error("file kind {found} where {expected:?} was expected")]
	WrongKind {
		/// The kind the caller asked for.
		expected: FileKind,
		/// The kind byte in the file.
		found: u8,
	},
	/// The header names no known file kind (a newer build's file, or corruption).
	#[error("unknown file kind {0} in header")]
	UnknownKind(u8),
	/// The header names no known measurement kind.
	#[error("unknown measurement kind {0} in header")]
	BadMeasurement(u8),
	/// The file is shorter or longer than its header says: a torn or partial write.
	#[error("file is torn: header says {expected} bytes, file has {actual}")]
	Truncated {
		/// Length the header announces.
		expected: u64,
		/// Actual length.
		actual: u64,
	},
	/// The AEAD tag does not verify: tampered, torn, or a wrong key.
	#[error(
		"file failed authentication (corrupted, tampered with, or encrypted under another key)"
	)]
	AuthenticationFailed,
	/// The key file was sealed by another enclave build (a different measurement).
	#[error("the sealed keys were written by enclave {sealed_by}, but this enclave is {current}: a new build cannot unseal its predecessor's keys. Run `enclave-worker request-keys --from <url of a running worker>` to have them provisioned; the old file is kept untouched")]
	SealedByOtherEnclave {
		/// Measurement in the file's header.
		sealed_by: Measurement,
		/// This enclave's measurement.
		current: Measurement,
	},
	/// The decrypted payload is not valid for its kind.
	#[error("decrypted payload is invalid: {0}")]
	InvalidPayload(String),
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
	move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// The files of a data directory written through [`atomic_write`] or [`atomic_create`]: only
/// their temp files are removed by [`Store::remove_leftovers`].
const OWN_FILES: &[&str] = &[
	KEYS_FILE,
	SNAPSHOT_FILE,
	CHAIN_PROGRESS_FILE,
	LIGHT_CLIENT_FILE,
	CHAIN_IDENTITY_FILE,
	SIGNING_KEY_FILE,
	crate::registration::CUT_OVER_FILE,
	crate::status::STATUS_FILE,
	#[cfg(feature = "dev-tee")]
	crate::tee::sim::HOST_SECRET_FILE,
];

/// Whether `name` is a temp file of one of [`OWN_FILES`] (see [`fs::is_temp_file_of`]).
fn is_own_temp_name(name: &str) -> bool {
	fs::is_temp_file_of(name, OWN_FILES)
}

/// The chain a key set belongs to: fixed when the keys are made (`init`, from the genesis the
/// operator names or the node reports, when there are no keys to steal yet) or received (the
/// provider's chain, which the attested hand-over binds: the requester's report data carries its
/// genesis hash and the provider refuses any other). Sealed with the keys' checksum, so that a
/// host cannot pair keys with an identity made for other keys (a fresh `init` on its own chain):
/// [`crate::chain::rpc::RpcChain`] then follows only that chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainIdentity {
	/// The chain's genesis hash (the light client's checkpoint is proven against its header).
	pub genesis_hash: [u8; 32],
	/// [`crate::keys::KeyMaterial::checksum`] of the keys it belongs to.
	pub key_checksum: [u8; 32],
	/// The number of the finalized block the keys were sealed at: 0 for the first enclave's
	/// `init`, the requester's own verified head for a hand-over. The enclave accepts no older
	/// head from then on, even after its chain progress and light-client state are gone.
	pub sealed_at_block: u32,
	/// That block's hash (the genesis hash for block 0).
	pub sealed_at_hash: [u8; 32],
}

/// The first `N` bytes of `bytes` and the rest (`bytes` is of a checked length: a shorter one is
/// refused all the same).
fn split<const N: usize>(bytes: &[u8]) -> Result<([u8; N], &[u8]), StoreError> {
	bytes
		.split_first_chunk::<N>()
		.map(|(head, rest)| (*head, rest))
		.ok_or_else(|| StoreError::InvalidPayload("a sealed record is too short".into()))
}

/// Which copy a read was served from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFrom {
	/// The newest file.
	Current,
	/// The previous good copy, because the newest one was torn or failed to authenticate.
	Previous,
}

/// The data directory of one worker.
#[derive(Debug, Clone)]
pub struct Store {
	dir: PathBuf,
}

fn prev_path(path: &Path) -> PathBuf {
	let mut name = path.as_os_str().to_os_string();
	name.push(".prev");
	PathBuf::from(name)
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
	match std::fs::read(path) {
		Ok(bytes) => Ok(Some(bytes)),
		Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
		Err(e) => Err(io_err(path)(e)),
	}
}

impl Store {
	/// Opens (creating if needed) the data directory `dir` for reading and writing, and
	/// removes the temp files that killed writers left there ([`Self::remove_leftovers`]).
	pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
		let dir = dir.into();
		std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
		let store = Self { dir };
		store.remove_leftovers()?;
		Ok(store)
	}

	/// The data directory `dir` for reading only: neither creates it nor removes anything, so
	/// a reader (`enclave-worker status`) leaves the directory exactly as it found it. Reads
	/// of a missing directory see no files; nothing may be written through this value.
	pub fn open_read_only(dir: impl Into<PathBuf>) -> Self {
		Self { dir: dir.into() }
	}

	/// Removes the temp files of this directory's own files (`.<name>.tmp-<random>`, and the
	/// `.<name>.tmp-<pid>-<n>` of earlier builds) that writers killed midway left behind; some
	/// hold complete sealed keys or the sim host secret. No other file is touched. A temp file
	/// is never a committed copy: the write that made it had not returned, so its caller did
	/// not report success. Returns how many were removed.
	///
	/// Runs under the directory's exclusive lock, so a temp file of a live writer (which holds
	/// the shared lock while its temp file exists) is never removed. When the lock is busy or
	/// the file system has no `flock`, nothing is removed now; the next start-up tries again.
	/// A temp file hard-linked into place by a killed [`crate::fs::atomic_create`] shares its
	/// content with the destination: only its name is removed, never the content.
	pub fn remove_leftovers(&self) -> Result<usize, StoreError> {
		let dir = match File::open(&self.dir) {
			Ok(dir) => dir,
			Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
			Err(e) => return Err(io_err(&self.dir)(e)),
		};
		if let Err(e) = lock_dir(&dir, libc::LOCK_EX | libc::LOCK_NB) {
			tracing::debug!(dir = %self.dir.display(), error = %e, "temp-file clean-up skipped");
			return Ok(0);
		}
		let mut removed = 0;
		for entry in std::fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
			let entry = entry.map_err(io_err(&self.dir))?;
			let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
			// Regular files only: a directory or link with such a name is not ours.
			if !is_own_temp_name(&name) || !entry.file_type().map_err(io_err(&self.dir))?.is_file()
			{
				continue;
			}
			let path = entry.path();
			match std::fs::remove_file(&path) {
				Ok(()) => removed += 1,
				Err(e) if e.kind() == io::ErrorKind::NotFound => {},
				Err(e) => return Err(io_err(&path)(e)),
			}
		}
		if removed > 0 {
			dir.sync_all().map_err(io_err(&self.dir))?;
			tracing::info!(dir = %self.dir.display(), removed, "removed temp files of interrupted writes");
		}
		Ok(removed)
	}

	/// The data directory.
	pub fn dir(&self) -> &Path {
		&self.dir
	}

	/// Path of the sealed key file.
	pub fn keys_path(&self) -> PathBuf {
		self.dir.join(KEYS_FILE)
	}

	/// Path of the latest snapshot.
	pub fn snapshot_path(&self) -> PathBuf {
		self.dir.join(SNAPSHOT_FILE)
	}

	/// Whether any key file (current or previous copy) exists.
	pub fn has_keys(&self) -> bool {
		let path = self.keys_path();
		path.exists() || prev_path(&path).exists()
	}

	/// The measurement named in the header of the key file (the current copy, else the
	/// previous one), read without unsealing: who sealed the keys this directory holds. `None`
	/// when there is no key file or no readable header.
	pub fn keys_sealed_by(&self) -> Option<Measurement> {
		let current = self.keys_path();
		let previous = prev_path(&current);
		[current, previous]
			.iter()
			.find_map(|path| read_header(path).ok())
			.map(|header| header.written_by)
	}

	/// Seals freshly generated keys for the first enclave of a chain. Refuses if any key
	/// material is already present: `init` must never replace keys it cannot recover.
	pub fn init_keys(
		&self,
		sealing_key: &SealingKey,
		measurement: &Measurement,
		keys: &KeyMaterial,
	) -> Result<(), StoreError> {
		if self.has_keys() {
			return Err(StoreError::KeysAlreadyExist(self.keys_path()));
		}
		self.write_sealed_keys(sealing_key, measurement, keys)
	}

	/// Seals `keys` (e.g. after provisioning). The current file, if it authenticates, becomes
	/// `<name>.prev`; a current file this enclave cannot unseal (another build's keys, or a
	/// corrupt copy) is moved aside to `<name>.<reason>-<unix time>` and never deleted.
	pub fn write_sealed_keys(
		&self,
		sealing_key: &SealingKey,
		measurement: &Measurement,
		keys: &KeyMaterial,
	) -> Result<(), StoreError> {
		let path = self.keys_path();
		let plaintext = keys.to_plaintext();
		let file = encode_file(
			sealing_key.expose_secret(),
			FileKind::SealedKeys,
			measurement,
			&plaintext,
		)?;
		let prepared = PreparedFile::write(&path, &file).map_err(io_err(&path))?;
		self.rotate_before_write(&path, |path| {
			let Some(bytes) = read_optional(path)? else { return Ok(()) };
			let mut bytes = Zeroizing::new(bytes);
			let parsed = parse_file(&bytes)?;
			if parsed.written_by != *measurement {
				return Err(StoreError::SealedByOtherEnclave {
					sealed_by: parsed.written_by,
					current: *measurement,
				});
			}
			decode_file(sealing_key.expose_secret(), &mut bytes, FileKind::SealedKeys).map(|_| ())
		})?;
		prepared.replace().map_err(io_err(&path))?;
		tracing::info!(path = %path.display(), checksum = %keys.checksum(), "sealed key material");
		Ok(())
	}

	/// Moves the current copy of `path` to `.prev` if `check` accepts it, aside otherwise.
	fn rotate_before_write(
		&self,
		path: &Path,
		check: impl FnOnce(&Path) -> Result<(), StoreError>,
	) -> Result<(), StoreError> {
		if !path.exists() {
			return Ok(());
		}
		match check(path) {
			Ok(()) => std::fs::rename(path, prev_path(path)).map_err(io_err(path)),
			Err(e) => {
				let reason = match e {
					StoreError::SealedByOtherEnclave { .. } => "other-enclave",
					_ => "unreadable",
				};
				let aside = move_aside(path, reason).map_err(io_err(path))?;
				tracing::warn!(from = %path.display(), to = %aside.display(), error = %e, "keeping a file this enclave cannot read");
				Ok(())
			},
		}
	}

	/// Unseals the key material. Falls back to `<name>.prev` when the newest copy is torn
	/// or fails to authenticate; reports [`StoreError::SealedByOtherEnclave`] when the
	/// keys belong to another build.
	pub fn read_sealed_keys(
		&self,
		sealing_key: &SealingKey,
		measurement: &Measurement,
	) -> Result<(KeyMaterial, ReadFrom), StoreError> {
		let path = self.keys_path();
		self.read_with_fallback(&path, StoreError::NoKeys(self.dir.clone()), |mut bytes| {
			let parsed = parse_file(&bytes)?;
			if parsed.kind != FileKind::SealedKeys {
				return Err(StoreError::WrongKind {
					expected: FileKind::SealedKeys,
					found: parsed.kind as u8,
				});
			}
			if parsed.written_by != *measurement {
				return Err(StoreError::SealedByOtherEnclave {
					sealed_by: parsed.written_by,
					current: *measurement,
				});
			}
			decode_file(sealing_key.expose_secret(), &mut bytes, FileKind::SealedKeys)?;
			let bytes = Zeroizing::new(bytes);
			KeyMaterial::from_plaintext(&bytes)
				.map_err(|e| StoreError::InvalidPayload(e.to_string()))
		})
	}

	fn read_with_fallback<T>(
		&self,
		path: &Path,
		missing: StoreError,
		decode: impl Fn(Vec<u8>) -> Result<T, StoreError>,
	) -> Result<(T, ReadFrom), StoreError> {
		let current = match read_optional(path)? {
			Some(bytes) => match decode(bytes) {
				Ok(value) => return Ok((value, ReadFrom::Current)),
				Err(e) => Some(e),
			},
			None => None,
		};
		let prev = prev_path(path);
		match (read_optional(&prev)?, current) {
			(Some(bytes), current_err) => match decode(bytes) {
				Ok(value) => {
					if let Some(e) = &current_err {
						tracing::warn!(path = %path.display(), error = %e, "newest copy unreadable; using the previous good copy");
					}
					Ok((value, ReadFrom::Previous))
				},
				// The newest copy's error explains more (e.g. SealedByOtherEnclave).
				Err(prev_err) => Err(current_err.unwrap_or(prev_err)),
			},
			(None, Some(e)) => Err(e),
			(None, None) => Err(missing),
		}
	}

	/// Seals `plaintext` as the small file `name` of this enclave (atomically: the old value
	/// stays until the new one is complete).
	fn write_own_sealed(
		&self,
		name: &str,
		kind: FileKind,
		sealing_key: &SealingKey,
		measurement: &Measurement,
		plaintext: &[u8],
	) -> Result<(), StoreError> {
		let path = self.dir.join(name);
		let file = encode_file(sealing_key.expose_secret(), kind, measurement, plaintext)?;
		atomic_write(&path, &file).map_err(io_err(&path))
	}

	/// The plaintext of the small sealed file `name`, `None` when there is none. A file sealed
	/// by another build is an error ([`StoreError::SealedByOtherEnclave`]): a host must not be
	/// able to make an enclave forget its chain, or how far it verified it, by swapping a file.
	/// With `len`, a plaintext of another length is [`StoreError::InvalidPayload`].
	fn read_own_sealed(
		&self,
		name: &str,
		kind: FileKind,
		sealing_key: &SealingKey,
		measurement: &Measurement,
		len: Option<usize>,
	) -> Result<Option<Vec<u8>>, StoreError> {
		let path = self.dir.join(name);
		let Some(mut bytes) = read_optional(&path)? else { return Ok(None) };
		let sealed_by = parse_file(&bytes)?.written_by;
		if sealed_by != *measurement {
			return Err(StoreError::SealedByOtherEnclave { sealed_by, current: *measurement });
		}
		decode_file(sealing_key.expose_secret(), &mut bytes, kind)?;
		if len.is_some_and(|len| bytes.len() != len) {
			return Err(StoreError::InvalidPayload(format!("{name} has the wrong length")));
		}
		Ok(Some(bytes))
	}

	/// Seals `progress` with this enclave's sealing key (atomically).
	pub fn write_chain_progress(
		&self,
		sealing_key: &SealingKey,
		measurement: &Measurement,
		progress: &ChainProgress,
	) -> Result<(), StoreError> {
		let mut plaintext = Vec::with_capacity(CHAIN_PROGRESS_LEN);
		plaintext.extend_from_slice(&progress.block_number.to_le_bytes());
		plaintext.extend_from_slice(&progress.block_hash);
		plaintext.extend_from_slice(&progress.genesis_hash);
		let kind = FileKind::ChainProgress;
		self.write_own_sealed(CHAIN_PROGRESS_FILE, kind, sealing_key, measurement, &plaintext)
	}

	/// The sealed chain progress, `None` before the first verified block. A file sealed by
	/// another build is an error ([`StoreError::SealedByOtherEnclave`]), not "no progress".
	pub fn read_chain_progress(
		&self,
		sealing_key: &SealingKey,
		measurement: &Measurement,
	) -> Result<Option<ChainProgress>, StoreError> {
		let kind = FileKind::ChainProgress;
		let len = Some(CHAIN_PROGRESS_LEN);
		let Some(bytes) =
			self.read_own_sealed(CHAIN_PROGRESS_FILE, kind, sealing_key, measurement, len)?
		else {
			return Ok(None);
		};
		let (number, rest) = split::<4>(&bytes)?;
		let (block_hash, rest) = split::<32>(rest)?;
		let (genesis_hash, _) = split::<32>(rest)?;
		Ok(Some(ChainProgress {
			genesis_hash,
			block_number: u32::from_le_bytes(number),
			block_hash,
		}))
	}

	/// Seals `identity` with this enclave's sealing key (atomically). Written before the keys
	/// it names (`init`, a received hand-over), so that sealed keys never exist without it.
	pub fn write_chain_identity(
		&self,
		sealing_key: &SealingKey,
		measurement: &Measurement,
		identity: &ChainIdentity,
	) -> Result<(), StoreError> {
		let plaintext = [
			&identity.genesis_hash[..],
			&identity.key_checksum,
			&identity.sealed_at_block.to_le_bytes(),
			&identity.sealed_at_hash,
		]
		.concat();
		let kind = FileKind::ChainIdentity;
		self.write_own_sealed(CHAIN_IDENTITY_FILE, kind, sealing_key, measurement, &plaintext)
	}

	/// The sealed chain identity, `None` when there is none. A file sealed by another build is
	/// an error ([`StoreError::SealedByOtherEnclave`]).
	pub fn read_chain_identity(
		&self,
		sealing_key: &SealingKey,
		measurement: &Measurement,
	) -> Result<Option<ChainIdentity>, StoreError> {
		let kind = FileKind::ChainIdentity;
		let len = Some(CHAIN_IDENTITY_LEN);
		let Some(bytes) =
			self.read_own_sealed(CHAIN_IDENTITY_FILE, kind, sealing_key, measurement, len)?
		else {
			return Ok(None);
		};
		let (genesis_hash, rest) = split::<32>(&bytes)?;
		let (key_checksum, rest) = split::<32>(rest)?;
		let (block, rest) = split::<4>(rest)?;
		let (sealed_at_hash, _) = split::<32>(rest)?;
		Ok(Some(ChainIdentity {
			genesis_hash,
			key_checksum,
			sealed_at_block: u32::from_le_bytes(block),
			sealed_at_hash,
		}))
	}

	/// This enclave's sealed signing key, `None` when it has none yet. A file sealed by another
	/// build is an error ([`StoreError::SealedByOtherEnclave`]): every build has its own key.
	pub fn read_signing_key(
		&self,
		sealing_key: &SealingKey,
		measurement: &Measurement,
	) -> Result<Option<EnclaveSigningKey>, StoreError> {
		let kind = FileKind::SigningKey;
		let len = Some(32);
		let Some(bytes) =
			self.read_own_sealed(SIGNING_KEY_FILE, kind, sealing_key, measurement, len)?
		else {
			return Ok(None);
		};
		let mut secret = Zeroizing::new([0u8; 32]);
		secret.copy_from_slice(&bytes);
		drop(Zeroizing::new(bytes));
		Ok(Some(EnclaveSigningKey::from_secret(&secret)))
	}

	/// This enclave's signing key, generated and sealed on first use. Created once (atomically,
	/// never replacing a file): of concurrent first uses exactly one key wins, and every caller
	/// returns that one.
	pub fn signing_key(
		&self,
		sealing_key: &SealingKey,
		measurement: &Measurement,
	) -> Result<EnclaveSigningKey, StoreError> {
		if let Some(key) = self.read_signing_key(sealing_key, measurement)? {
			return Ok(key);
		}
		let key = EnclaveSigningKey::generate();
		let path = self.dir.join(SIGNING_KEY_FILE);
		let file = encode_file(
			sealing_key.expose_secret(),
			FileKind::SigningKey,
			measurement,
			&key.secret_bytes()[..],
		)?;
		match fs::atomic_create(&path, &file) {
			Ok(()) => Ok(key),
			Err(e) if e.kind() == io::ErrorKind::AlreadyExists => self
				.read_signing_key(sealing_key, measurement)?
				.ok_or_else(|| StoreError::InvalidPayload(format!("{SIGNING_KEY_FILE} vanished"))),
			Err(e) => Err(io_err(&path)(e)),
		}
	}

	/// Seals the light client's encoded state with this enclave's sealing key (atomically).
	pub fn write_light_client(
		&self,
		sealing_key: &SealingKey,
		measurement: &Measurement,
		state: &[u8],
	) -> Result<(), StoreError> {
		let kind = FileKind::LightClient;
		self.write_own_sealed(LIGHT_CLIENT_FILE, kind, sealing_key, measurement, state)
	}

	/// The sealed light-client state, `None` when there is none. A file sealed by another build
	/// is an error ([`StoreError::SealedByOtherEnclave`]).
	pub fn read_light_client(
		&self,
		sealing_key: &SealingKey,
		measurement: &Measurement,
	) -> Result<Option<Vec<u8>>, StoreError> {
		let kind = FileKind::LightClient;
		self.read_own_sealed(LIGHT_CLIENT_FILE, kind, sealing_key, measurement, None)
	}

	/// Writes a snapshot of the state after `block_number`, encrypted with the state key.
	pub fn write_snapshot(
		&self,
		state_key: &StateKey,
		written_by: &Measurement,
		block_number: u64,
		state_hash: &[u8; 32],
		state: &[u8],
	) -> Result<(), StoreError> {
		let path = self.snapshot_path();
		let file = encode_snapshot(state_key, written_by, block_number, state_hash, state)?;
		let prepared = PreparedFile::write(&path, &file).map_err(io_err(&path))?;
		// Snapshots can be hundreds of MiB: the copy kept as `.prev` is checked for
		// structure and length (what a torn write breaks) from its header, not read whole.
		self.rotate_before_write(&path, |path| match read_header(path)?.kind {
			FileKind::StateSnapshot => Ok(()),
			other => {
				Err(StoreError::WrongKind { expected: FileKind::StateSnapshot, found: other as u8 })
			},
		})?;
		prepared.replace().map_err(io_err(&path))?;
		tracing::debug!(block_number, len = state.len(), "wrote state snapshot");
		Ok(())
	}

	/// Reads the latest snapshot, falling back to the previous one if the newest is torn.
	pub fn read_snapshot(&self, state_key: &StateKey) -> Result<(Snapshot, ReadFrom), StoreError> {
		let path = self.snapshot_path();
		self.read_with_fallback(&path, StoreError::NoSnapshot(self.dir.clone()), |bytes| {
			decode_snapshot(state_key, bytes)
		})
	}
}
