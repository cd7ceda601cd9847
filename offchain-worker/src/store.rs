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
//! associated data, so magic, version, kind, measurement and length are authenticated. Key files are encrypted with the TEE's sealing key; snapshots with the
//! *state key*, so a successor enclave that was provisioned the state key can read the
//! state its predecessor wrote, while only the same measurement can unseal the keys.
//!
//! Every write is complete and fsynced in a temp file before anything at the destination
//! changes ([`atomic_write`]), so a failed write (disk full) leaves the files as they were; the
//! previous good copy is kept as `<name>.prev` and used when the newest copy is torn or fails
//! to authenticate. Nothing
//! here deletes key material: a key file that cannot be unsealed is moved aside, never
//! overwritten.
//!
//! Temp files are named `.<name>.tmp-<32 random hex digits>` and created with `create_new`, so
//! no two writers (nor a later process that reuses a pid) ever share one. A writer killed
//! midway leaves its temp file behind; [`Store::open`] removes those of the store's own files
//! (and only those), never a live writer's: writers hold a shared `flock` on the directory
//! while their temp file exists, the clean-up takes it exclusively. Readers that must change
//! nothing (`enclave-worker status`) use [`Store::open_read_only`].

use std::{
	fs::{File, OpenOptions},
	io::{self, Write},
	path::{Path, PathBuf},
};

use enclave_update_primitives::Measurement;
use zeroize::Zeroizing;

use crate::{
	keys::{aead_open_in_place, aead_seal_in_place, KeyMaterial, StateKey, NONCE_LEN, TAG_LEN},
	tee::{measurement_tag, SealingKey},
};

/// File magic.
pub const MAGIC: [u8; 4] = *b"EUWS";
/// Current format version.
pub const FORMAT_VERSION: u16 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 4 + 2 + 1 + 1 + 48 + 8 + NONCE_LEN;
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
const CHAIN_PROGRESS_LEN: usize = 4 + 32 + 32;
const CHAIN_IDENTITY_LEN: usize = 32 + 32;
const SNAPSHOT_PREFIX_LEN: usize = 8 + 32;

/// What a file holds; part of the authenticated header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FileKind {
	/// Key material sealed with the TEE sealing key.
	SealedKeys = 1,
	/// A state snapshot encrypted with the state key.
	StateSnapshot = 2,
	/// The highest chain block this enclave has verified, sealed with the TEE sealing key.
	ChainProgress = 3,
	/// The GRANDPA light client's state (tracked authority set and verified head), sealed
	/// with the TEE sealing key.
	LightClient = 4,
	/// The chain the keys belong to (its genesis hash, bound to the keys' checksum), sealed
	/// with the TEE sealing key.
	ChainIdentity = 5,
}

impl FileKind {
	fn from_byte(byte: u8) -> Option<Self> {
		match byte {
			1 => Some(Self::SealedKeys),
			2 => Some(Self::StateSnapshot),
			3 => Some(Self::ChainProgress),
			4 => Some(Self::LightClient),
			5 => Some(Self::ChainIdentity),
			_ => None,
		}
	}
}

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

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
	move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// Writes `bytes` to `path` so that readers see the old or the new content, never a mix:
/// temp file in the same directory, write, fsync, rename over `path`, fsync the directory.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
	PreparedFile::write(path, bytes)?.replace()
}

/// Creates `path` holding `bytes` unless it already exists, atomically: readers see no file
/// or the complete content, and of concurrent creators exactly one succeeds while the others
/// get [`io::ErrorKind::AlreadyExists`] (and should read the winner's file). The content is
/// written to a temp file and hard-linked into place, which never replaces an existing file.
pub fn atomic_create(path: &Path, bytes: &[u8]) -> io::Result<()> {
	PreparedFile::write(path, bytes)?.create()
}

/// Marks a temp file's name: `.<destination name>.tmp-<suffix>`.
const TEMP_MARK: &str = ".tmp-";
/// Random bytes in a temp file's name (hex-encoded): 128 bits, so names never repeat.
const TEMP_RANDOM_LEN: usize = 16;
/// Fresh names tried before giving up when a name is taken (only ever planted names).
const TEMP_NAME_ATTEMPTS: usize = 4;

/// The files of a data directory written through [`atomic_write`] or [`atomic_create`]: only
/// their temp files are removed by [`Store::remove_leftovers`].
const OWN_FILES: &[&str] = &[
	KEYS_FILE,
	SNAPSHOT_FILE,
	CHAIN_PROGRESS_FILE,
	LIGHT_CLIENT_FILE,
	CHAIN_IDENTITY_FILE,
	crate::status::STATUS_FILE,
	#[cfg(feature = "dev-tee")]
	crate::tee::sim::HOST_SECRET_FILE,
];

/// A fresh temp-file suffix: random hex from the OS's generator.
fn random_suffix() -> io::Result<String> {
	let mut random = [0u8; TEMP_RANDOM_LEN];
	rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, &mut random)
		.map_err(io::Error::other)?;
	Ok(hex::encode(random))
}

fn temp_name(file_name: &std::ffi::OsStr, suffix: &str) -> std::ffi::OsString {
	let mut name = std::ffi::OsString::from(".");
	name.push(file_name);
	name.push(TEMP_MARK);
	name.push(suffix);
	name
}

/// Whether `name` is a temp file of one of [`OWN_FILES`]: `.<file>.tmp-<32 hex digits>`, or the
/// `.<file>.tmp-<pid>-<counter>` of earlier builds. Nothing else matches.
fn is_own_temp_name(name: &str) -> bool {
	let Some(rest) = name.strip_prefix('.') else { return false };
	OWN_FILES.iter().any(|file| {
		let Some(suffix) = rest.strip_prefix(file).and_then(|r| r.strip_prefix(TEMP_MARK)) else {
			return false;
		};
		let hex_digits = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
		let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
		(suffix.len() == 2 * TEMP_RANDOM_LEN && hex_digits(suffix))
			|| suffix.split_once('-').is_some_and(|(pid, n)| digits(pid) && digits(n))
	})
}

/// Takes `lock` (`LOCK_SH` or `LOCK_EX`, maybe with `LOCK_NB`) on the directory `dir`.
///
/// Writers hold the shared lock from before their temp file exists until its name is gone;
/// [`Store::remove_leftovers`] removes temp files only under the exclusive one, so it never
/// removes the temp file of a live writer, in this process or another.
fn lock_dir(dir: &File, lock: libc::c_int) -> io::Result<()> {
	use std::os::fd::AsRawFd as _;
	loop {
		// SAFETY: flock on a file descriptor `dir` owns for the duration of the call.
		if unsafe { libc::flock(dir.as_raw_fd(), lock) } == 0 {
			return Ok(());
		}
		let error = io::Error::last_os_error();
		if error.kind() != io::ErrorKind::Interrupted {
			return Err(error);
		}
	}
}

/// A complete, fsynced temp file next to its destination, removed unless it was renamed into
/// place. Writing it first means that a failed write (disk full, file size limit) changes
/// nothing at the destination.
///
/// The temp file's name carries 128 random bits (not the pid, which a later process reuses)
/// and is created with `create_new`, so it is never another writer's file; a taken name (only
/// a planted one) is skipped for a fresh one. Not `O_TMPFILE` + `linkat`: an unnamed file can
/// be linked into place but not renamed over an existing one (what [`atomic_write`] needs),
/// and neither is available on every file system or in every enclave runtime (Gramine).
/// A writer killed midway leaves its temp file; [`Store::remove_leftovers`] removes it.
struct PreparedFile {
	tmp: PathBuf,
	/// The directory, shared-locked while the temp file exists (see [`lock_dir`]).
	dir: File,
	path: PathBuf,
	renamed: bool,
}

impl PreparedFile {
	fn write(path: &Path, bytes: &[u8]) -> io::Result<Self> {
		Self::write_named(path, bytes, std::iter::repeat_with(random_suffix))
	}

	/// [`Self::write`] trying the temp-file suffixes of `suffixes` in turn.
	fn write_named(
		path: &Path,
		bytes: &[u8],
		suffixes: impl Iterator<Item = io::Result<String>>,
	) -> io::Result<Self> {
		let dir_path = match path.parent() {
			Some(p) if !p.as_os_str().is_empty() => p,
			_ => Path::new("."),
		};
		let file_name = path
			.file_name()
			.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
		let dir = File::open(dir_path)?;
		// A file system without flock still gets atomic writes; only the clean-up of leftovers
		// is skipped there (it cannot tell a live writer's temp file from a dead one's).
		if let Err(e) = lock_dir(&dir, libc::LOCK_SH) {
			tracing::debug!(dir = %dir_path.display(), error = %e, "cannot lock the directory");
		}
		let mut taken = None;
		for suffix in suffixes.take(TEMP_NAME_ATTEMPTS) {
			let tmp = dir_path.join(temp_name(file_name, &suffix?));
			// `create_new`: never opens (nor, on failure, removes) a file another writer made.
			let mut file = match OpenOptions::new().write(true).create_new(true).open(&tmp) {
				Ok(file) => file,
				Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
					taken = Some(e);
					continue;
				},
				Err(e) => return Err(e),
			};
			let prepared = Self { tmp, dir, path: path.to_path_buf(), renamed: false };
			// On error, dropping `prepared` removes the temp file and the first error is returned.
			restrict_permissions(&file)?;
			file.write_all(bytes)?;
			file.sync_all()?;
			return Ok(prepared);
		}
		Err(taken.unwrap_or_else(|| {
			io::Error::new(io::ErrorKind::AlreadyExists, "no temp-file name was free")
		}))
	}

	/// Renames the temp file over the destination.
	fn replace(mut self) -> io::Result<()> {
		std::fs::rename(&self.tmp, &self.path)?;
		self.renamed = true;
		self.dir.sync_all()
	}

	/// Links the temp file to the destination if that does not exist yet.
	fn create(self) -> io::Result<()> {
		std::fs::hard_link(&self.tmp, &self.path)?;
		self.dir.sync_all()
	}
}

impl Drop for PreparedFile {
	fn drop(&mut self) {
		if !self.renamed {
			// Best effort, and never in place of the error being returned: a temp file left
			// here is removed at the next start-up (`Store::remove_leftovers`).
			if let Err(e) = std::fs::remove_file(&self.tmp) {
				tracing::debug!(path = %self.tmp.display(), error = %e, "temp file not removed");
			}
		}
	}
}

#[cfg(unix)]
fn restrict_permissions(file: &File) -> io::Result<()> {
	use std::os::unix::fs::PermissionsExt;
	file.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_permissions(_file: &File) -> io::Result<()> {
	Ok(())
}

/// A store file split into its parts, not yet decrypted.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedFile<'a> {
	/// What the file holds.
	pub kind: FileKind,
	/// The measurement of the enclave that wrote it.
	pub written_by: Measurement,
	/// The header (the AEAD's associated data).
	pub header: &'a [u8],
	/// The nonce.
	pub nonce: [u8; NONCE_LEN],
	/// Ciphertext without the tag.
	pub ciphertext: &'a [u8],
	/// The tag.
	pub tag: [u8; TAG_LEN],
}

/// The fields of a store file's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
	/// What the file holds.
	pub kind: FileKind,
	/// The measurement of the enclave that wrote it.
	pub written_by: Measurement,
	/// Ciphertext + tag length.
	pub payload_len: u64,
	/// The nonce.
	pub nonce: [u8; NONCE_LEN],
}

/// Parses a header from the first bytes of a file whose total length is `file_len`, and
/// checks that length against the header (a torn write leaves a shorter file).
pub fn parse_header(prefix: &[u8], file_len: u64) -> Result<Header, StoreError> {
	if prefix.len() < 4 || prefix[..4] != MAGIC {
		// A torn write may leave a prefix of the magic: report that as torn, not foreign.
		if prefix.len() < 4 && MAGIC.starts_with(prefix) {
			return Err(StoreError::Truncated { expected: HEADER_LEN as u64, actual: file_len });
		}
		return Err(StoreError::BadMagic);
	}
	if prefix.len() < HEADER_LEN || file_len < HEADER_LEN as u64 {
		return Err(StoreError::Truncated { expected: HEADER_LEN as u64, actual: file_len });
	}
	let version = u16::from_le_bytes([prefix[4], prefix[5]]);
	if version != FORMAT_VERSION {
		return Err(StoreError::UnsupportedVersion(version));
	}
	let kind_byte = prefix[6];
	let kind = FileKind::from_byte(kind_byte).ok_or(StoreError::UnknownKind(kind_byte))?;
	let measurement_bytes = &prefix[8..56];
	let written_by = match prefix[7] {
		1 if measurement_bytes[32..].iter().all(|b| *b == 0) => {
			Measurement::from_bytes(&measurement_bytes[..32])
		},
		2 => Measurement::from_bytes(measurement_bytes),
		other => return Err(StoreError::BadMeasurement(other)),
	}
	.map_err(|_| StoreError::BadMeasurement(prefix[7]))?;
	let mut len_bytes = [0u8; 8];
	len_bytes.copy_from_slice(&prefix[56..64]);
	let payload_len = u64::from_le_bytes(len_bytes);
	let expected = (HEADER_LEN as u64).saturating_add(payload_len);
	if expected != file_len || payload_len < TAG_LEN as u64 {
		return Err(StoreError::Truncated { expected, actual: file_len });
	}
	let mut nonce = [0u8; NONCE_LEN];
	nonce.copy_from_slice(&prefix[64..HEADER_LEN]);
	Ok(Header { kind, written_by, payload_len, nonce })
}

/// Parses a store file without decrypting it. Pure and total: any input yields a value or
/// an error, never a panic (this is the store's fuzz target).
pub fn parse_file(bytes: &[u8]) -> Result<ParsedFile<'_>, StoreError> {
	let header = parse_header(bytes, bytes.len() as u64)?;
	// parse_header checked that the file is HEADER_LEN + payload_len >= HEADER_LEN + TAG_LEN.
	let tag_start = bytes.len() - TAG_LEN;
	let mut tag = [0u8; TAG_LEN];
	tag.copy_from_slice(&bytes[tag_start..]);
	Ok(ParsedFile {
		kind: header.kind,
		written_by: header.written_by,
		header: &bytes[..HEADER_LEN],
		nonce: header.nonce,
		ciphertext: &bytes[HEADER_LEN..tag_start],
		tag,
	})
}

/// Reads and parses only the header of the file at `path` (no payload read).
fn read_header(path: &Path) -> Result<Header, StoreError> {
	use std::io::Read;
	let mut file = File::open(path).map_err(io_err(path))?;
	let file_len = file.metadata().map_err(io_err(path))?.len();
	let mut prefix = Vec::with_capacity(HEADER_LEN);
	Read::by_ref(&mut file)
		.take(HEADER_LEN as u64)
		.read_to_end(&mut prefix)
		.map_err(io_err(path))?;
	parse_header(&prefix, file_len)
}

fn header_prefix(kind: FileKind, written_by: &Measurement, payload_len: u64) -> Vec<u8> {
	let mut header = Vec::with_capacity(HEADER_LEN);
	header.extend_from_slice(&MAGIC);
	header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
	header.push(kind as u8);
	header.push(measurement_tag(written_by));
	let mut padded = [0u8; 48];
	padded[..written_by.as_bytes().len()].copy_from_slice(written_by.as_bytes());
	header.extend_from_slice(&padded);
	header.extend_from_slice(&payload_len.to_le_bytes());
	header
}

/// Builds a complete encrypted file around `plaintext`. The plaintext is copied once into
/// the output buffer and encrypted there.
pub fn encode_file(
	key: &[u8; 32],
	kind: FileKind,
	written_by: &Measurement,
	plaintext: &[u8],
) -> Result<Vec<u8>, StoreError> {
	encode_file_with(key, kind, written_by, plaintext.len(), |buf| buf.copy_from_slice(plaintext))
}

fn encode_file_with(
	key: &[u8; 32],
	kind: FileKind,
	written_by: &Measurement,
	plaintext_len: usize,
	fill: impl FnOnce(&mut [u8]),
) -> Result<Vec<u8>, StoreError> {
	let payload_len = (plaintext_len as u64).saturating_add(TAG_LEN as u64);
	let mut out = header_prefix(kind, written_by, payload_len);
	let nonce_at = out.len();
	out.resize(HEADER_LEN + plaintext_len, 0);
	fill(&mut out[HEADER_LEN..]);
	// The associated data is the header without the nonce field: the nonce is generated
	// by the seal itself and is authenticated as an input of the AEAD anyway.
	let (head, body) = out.split_at_mut(HEADER_LEN);
	let (nonce, tag) = aead_seal_in_place(key, &head[..nonce_at], body)
		.map_err(|_| StoreError::InvalidPayload("plaintext too large".into()))?;
	head[nonce_at..].copy_from_slice(&nonce);
	out.extend_from_slice(&tag);
	Ok(out)
}

/// Decrypts a parsed file in place and returns its plaintext.
fn decode_file(
	key: &[u8; 32],
	bytes: &mut Vec<u8>,
	expected: FileKind,
) -> Result<Measurement, StoreError> {
	let parsed = parse_file(bytes)?;
	if parsed.kind != expected {
		return Err(StoreError::WrongKind { expected, found: parsed.kind as u8 });
	}
	let written_by = parsed.written_by;
	let nonce = parsed.nonce;
	let tag = parsed.tag;
	let len = bytes.len();
	let (head, body) = bytes.split_at_mut(HEADER_LEN);
	let body_len = len - HEADER_LEN - TAG_LEN;
	aead_open_in_place(key, &nonce, &head[..HEADER_LEN - NONCE_LEN], &mut body[..body_len], &tag)
		.map_err(|_| StoreError::AuthenticationFailed)?;
	bytes.drain(..HEADER_LEN);
	bytes.truncate(body_len);
	Ok(written_by)
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
}

/// The highest block an enclave has verified on its chain: it refuses any older view, so a host
/// replaying an old chain state (where a requester was still scheduled) is caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainProgress {
	/// The chain's genesis hash.
	pub genesis_hash: [u8; 32],
	/// The highest verified block number.
	pub block_number: u32,
	/// Its hash.
	pub block_hash: [u8; 32],
}

/// A state snapshot: the encrypted state after processing `block_number`.
#[derive(Clone, PartialEq, Eq)]
pub struct Snapshot {
	/// The last block whose effects are in `state`.
	pub block_number: u64,
	/// The state hash after that block, which the successor chains on.
	pub state_hash: [u8; 32],
	/// The serialized state.
	pub state: Vec<u8>,
	/// The enclave that wrote it.
	pub written_by: Measurement,
}

impl std::fmt::Debug for Snapshot {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		// The state is confidential: show its size only.
		f.debug_struct("Snapshot")
			.field("block_number", &self.block_number)
			.field("state_hash", &hex::encode(self.state_hash))
			.field("state_len", &self.state.len())
			.field("written_by", &self.written_by)
			.finish()
	}
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

/// Moves `path` to `<path>.<reason>-<unix time>[-<n>]`, never replacing an earlier file moved
/// aside (it may hold another build's keys): the link fails rather than overwrite.
fn move_aside(path: &Path, reason: &str) -> io::Result<PathBuf> {
	let now = std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map(|d| d.as_secs())
		.unwrap_or(0);
	let mut attempt = 0u32;
	loop {
		let mut name = path.as_os_str().to_os_string();
		name.push(format!(".{reason}-{now}"));
		if attempt > 0 {
			name.push(format!("-{attempt}"));
		}
		let aside = PathBuf::from(name);
		match std::fs::hard_link(path, &aside) {
			Ok(()) => {
				std::fs::remove_file(path)?;
				return Ok(aside);
			},
			Err(e) if e.kind() == io::ErrorKind::AlreadyExists => attempt += 1,
			Err(e) => return Err(e),
		}
	}
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
	/// A temp file hard-linked into place by a killed [`atomic_create`] shares its content with
	/// the destination: only its name is removed, never the content.
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
		let mut number = [0u8; 4];
		number.copy_from_slice(&bytes[..4]);
		let mut block_hash = [0u8; 32];
		block_hash.copy_from_slice(&bytes[4..36]);
		let mut genesis_hash = [0u8; 32];
		genesis_hash.copy_from_slice(&bytes[36..]);
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
		let plaintext = [identity.genesis_hash, identity.key_checksum].concat();
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
		let mut identity = ChainIdentity { genesis_hash: [0; 32], key_checksum: [0; 32] };
		identity.genesis_hash.copy_from_slice(&bytes[..32]);
		identity.key_checksum.copy_from_slice(&bytes[32..]);
		Ok(Some(identity))
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

/// Encodes a snapshot file in memory (used by [`Store::write_snapshot`] and benchmarks).
pub fn encode_snapshot(
	state_key: &StateKey,
	written_by: &Measurement,
	block_number: u64,
	state_hash: &[u8; 32],
	state: &[u8],
) -> Result<Vec<u8>, StoreError> {
	encode_file_with(
		state_key.expose_secret(),
		FileKind::StateSnapshot,
		written_by,
		SNAPSHOT_PREFIX_LEN + state.len(),
		|buf| {
			buf[..8].copy_from_slice(&block_number.to_le_bytes());
			buf[8..SNAPSHOT_PREFIX_LEN].copy_from_slice(state_hash);
			buf[SNAPSHOT_PREFIX_LEN..].copy_from_slice(state);
		},
	)
}

/// Decodes a snapshot file in memory (inverse of [`encode_snapshot`]).
pub fn decode_snapshot(state_key: &StateKey, mut bytes: Vec<u8>) -> Result<Snapshot, StoreError> {
	let written_by = decode_file(state_key.expose_secret(), &mut bytes, FileKind::StateSnapshot)?;
	if bytes.len() < SNAPSHOT_PREFIX_LEN {
		return Err(StoreError::InvalidPayload("snapshot shorter than its prefix".into()));
	}
	let mut number = [0u8; 8];
	number.copy_from_slice(&bytes[..8]);
	let mut state_hash = [0u8; 32];
	state_hash.copy_from_slice(&bytes[8..SNAPSHOT_PREFIX_LEN]);
	bytes.drain(..SNAPSHOT_PREFIX_LEN);
	Ok(Snapshot { block_number: u64::from_le_bytes(number), state_hash, state: bytes, written_by })
}

#[cfg(all(test, feature = "dev-tee"))]
mod tests {
	use super::*;
	use crate::tee::{SimTee, Tee};

	const A: Measurement = Measurement::MrEnclave([0xaa; 32]);
	const B: Measurement = Measurement::MrEnclave([0xbb; 32]);

	fn setup() -> (tempfile::TempDir, Store, SealingKey, SealingKey) {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path().join("data")).unwrap();
		let ka = SimTee::in_data_dir(A, dir.path()).sealing_key().unwrap();
		let kb = SimTee::in_data_dir(B, dir.path()).sealing_key().unwrap();
		(dir, store, ka, kb)
	}

	#[test]
	fn chain_progress_is_sealed_per_measurement() {
		let (_d, store, ka, kb) = setup();
		assert_eq!(store.read_chain_progress(&ka, &A).unwrap(), None);
		let progress =
			ChainProgress { genesis_hash: [1; 32], block_number: 42, block_hash: [2; 32] };
		store.write_chain_progress(&ka, &A, &progress).unwrap();
		assert_eq!(store.read_chain_progress(&ka, &A).unwrap(), Some(progress));
		// Another build cannot read A's, and is told so rather than starting without progress.
		assert!(matches!(
			store.read_chain_progress(&kb, &B),
			Err(StoreError::SealedByOtherEnclave { sealed_by, .. }) if sealed_by == A
		));
		// A tampered file does not authenticate.
		let path = store.dir().join(CHAIN_PROGRESS_FILE);
		let mut bytes = std::fs::read(&path).unwrap();
		let last = bytes.len() - 1;
		bytes[last] ^= 1;
		std::fs::write(&path, bytes).unwrap();
		assert!(store.read_chain_progress(&ka, &A).is_err());
	}

	#[test]
	fn keys_round_trip_and_init_refuses_twice() {
		let (_d, store, ka, _) = setup();
		let keys = KeyMaterial::generate();
		store.init_keys(&ka, &A, &keys).unwrap();
		let (read, copy) = store.read_sealed_keys(&ka, &A).unwrap();
		assert_eq!(copy, ReadFrom::Current);
		assert_eq!(read.checksum(), keys.checksum());
		assert!(matches!(
			store.init_keys(&ka, &A, &KeyMaterial::generate()),
			Err(StoreError::KeysAlreadyExist(_))
		));
		assert_eq!(store.read_sealed_keys(&ka, &A).unwrap().0.checksum(), keys.checksum());
	}

	#[test]
	fn other_measurement_gets_a_clear_error() {
		let (_d, store, ka, kb) = setup();
		store.init_keys(&ka, &A, &KeyMaterial::generate()).unwrap();
		let err = store.read_sealed_keys(&kb, &B).unwrap_err();
		assert!(matches!(err, StoreError::SealedByOtherEnclave { sealed_by: A, current: B }));
		assert!(err.to_string().contains("enclave-worker request-keys"), "{err}");
		// A forged header naming B does not help: B's key does not authenticate A's file.
		let path = store.keys_path();
		let mut bytes = std::fs::read(&path).unwrap();
		bytes[8..40].copy_from_slice(&[0xbb; 32]);
		std::fs::write(&path, &bytes).unwrap();
		assert!(matches!(store.read_sealed_keys(&kb, &B), Err(StoreError::AuthenticationFailed)));
	}

	#[test]
	fn provisioned_keys_never_clobber_another_enclaves_file() {
		let (_d, store, ka, kb) = setup();
		let a_keys = KeyMaterial::generate();
		store.init_keys(&ka, &A, &a_keys).unwrap();
		let a_file = std::fs::read(store.keys_path()).unwrap();
		// B was provisioned the same keys and seals them in the same directory.
		let provisioned = KeyMaterial::from_plaintext(&a_keys.to_plaintext()).unwrap();
		store.write_sealed_keys(&kb, &B, &provisioned).unwrap();
		assert_eq!(store.read_sealed_keys(&kb, &B).unwrap().0.checksum(), a_keys.checksum());
		let kept: Vec<_> = std::fs::read_dir(store.dir())
			.unwrap()
			.map(|e| e.unwrap().path())
			.filter(|p| p.to_string_lossy().contains("other-enclave"))
			.collect();
		assert_eq!(kept.len(), 1);
		assert_eq!(std::fs::read(&kept[0]).unwrap(), a_file);
	}

	#[test]
	fn torn_newest_copy_falls_back_to_previous() {
		let (_d, store, ka, _) = setup();
		let first = KeyMaterial::generate();
		store.init_keys(&ka, &A, &first).unwrap();
		let second = KeyMaterial::generate();
		store.write_sealed_keys(&ka, &A, &second).unwrap();
		let path = store.keys_path();
		let bytes = std::fs::read(&path).unwrap();
		std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
		let (keys, copy) = store.read_sealed_keys(&ka, &A).unwrap();
		assert_eq!(copy, ReadFrom::Previous);
		assert_eq!(keys.checksum(), first.checksum());
		// A flipped bit (same length) fails authentication and falls back too.
		let mut flipped = bytes.clone();
		flipped[HEADER_LEN + 3] ^= 1;
		std::fs::write(&path, &flipped).unwrap();
		assert_eq!(store.read_sealed_keys(&ka, &A).unwrap().1, ReadFrom::Previous);
		// With no good copy at all, the error says why.
		std::fs::remove_file(prev_path(&path)).unwrap();
		assert!(matches!(store.read_sealed_keys(&ka, &A), Err(StoreError::AuthenticationFailed)));
		std::fs::write(&path, &bytes[..10]).unwrap();
		assert!(matches!(store.read_sealed_keys(&ka, &A), Err(StoreError::Truncated { .. })));
		std::fs::remove_file(&path).unwrap();
		assert!(matches!(store.read_sealed_keys(&ka, &A), Err(StoreError::NoKeys(_))));
	}

	#[test]
	fn snapshot_is_readable_by_a_successor_with_the_state_key() {
		let (_d, store, _, _) = setup();
		let keys = KeyMaterial::generate();
		store.write_snapshot(&keys.state, &A, 41, &[1; 32], b"state at 41").unwrap();
		store.write_snapshot(&keys.state, &A, 42, &[2; 32], b"state at 42").unwrap();
		// The successor B holds a provisioned copy of the same state key.
		let provisioned = KeyMaterial::from_plaintext(&keys.to_plaintext()).unwrap();
		let (snap, copy) = store.read_snapshot(&provisioned.state).unwrap();
		assert_eq!(copy, ReadFrom::Current);
		assert_eq!((snap.block_number, snap.state_hash, snap.written_by), (42, [2; 32], A));
		assert_eq!(snap.state, b"state at 42");
		assert!(!format!("{snap:?}").contains("state at"));
		// A torn newest snapshot falls back to block 41.
		let path = store.snapshot_path();
		let bytes = std::fs::read(&path).unwrap();
		std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
		let (snap, copy) = store.read_snapshot(&keys.state).unwrap();
		assert_eq!((snap.block_number, copy), (41, ReadFrom::Previous));
		// Another state key cannot read it.
		let other = KeyMaterial::generate();
		assert!(store.read_snapshot(&other.state).is_err());
	}

	#[test]
	fn header_fields_are_authenticated() {
		let keys = KeyMaterial::generate();
		let file = encode_snapshot(&keys.state, &A, 7, &[3; 32], b"xyz").unwrap();
		for index in [4usize, 6, 7, 9, 56, 64, HEADER_LEN] {
			let mut tampered = file.clone();
			tampered[index] ^= 1;
			assert!(decode_snapshot(&keys.state, tampered).is_err(), "byte {index}");
		}
		assert!(decode_snapshot(&keys.state, file.clone()).is_ok());
		assert!(matches!(parse_file(b"nope"), Err(StoreError::BadMagic)));
		assert!(matches!(parse_file(b"EU"), Err(StoreError::Truncated { .. })));
		let mut wrong_kind = file.clone();
		wrong_kind[6] = 1;
		assert!(matches!(
			decode_snapshot(&keys.state, wrong_kind),
			Err(StoreError::WrongKind { expected: FileKind::StateSnapshot, found: 1 })
		));
		let mut unknown_kind = file.clone();
		unknown_kind[6] = 0x7f;
		assert!(matches!(parse_file(&unknown_kind), Err(StoreError::UnknownKind(0x7f))));
		assert!(matches!(
			decode_snapshot(&keys.state, unknown_kind),
			Err(StoreError::UnknownKind(0x7f))
		));
	}

	/// The names in `dir`, sorted.
	fn names_in(dir: &Path) -> Vec<String> {
		let mut names: Vec<_> = std::fs::read_dir(dir)
			.unwrap()
			.map(|e| e.unwrap().file_name().into_string().unwrap())
			.collect();
		names.sort();
		names
	}

	#[test]
	fn torn_files_are_moved_aside_at_write_time_keeping_the_good_previous_copy() {
		let (_d, store, ka, _) = setup();
		let first = KeyMaterial::generate();
		store.init_keys(&ka, &A, &first).unwrap();
		let second = KeyMaterial::generate();
		store.write_sealed_keys(&ka, &A, &second).unwrap();
		let path = store.keys_path();
		let torn = std::fs::read(&path).unwrap()[..50].to_vec();
		std::fs::write(&path, &torn).unwrap();
		let third = KeyMaterial::generate();
		store.write_sealed_keys(&ka, &A, &third).unwrap();
		// The torn copy did not become `.prev` (which still holds the last good keys) and was
		// kept, byte for byte, under a name saying why.
		let (keys, copy) = store.read_sealed_keys(&ka, &A).unwrap();
		assert_eq!((keys.checksum(), copy), (third.checksum(), ReadFrom::Current));
		std::fs::remove_file(&path).unwrap();
		let (keys, copy) = store.read_sealed_keys(&ka, &A).unwrap();
		assert_eq!((keys.checksum(), copy), (first.checksum(), ReadFrom::Previous));
		let aside: Vec<_> =
			names_in(store.dir()).into_iter().filter(|n| n.contains("unreadable")).collect();
		assert_eq!(aside.len(), 1, "{aside:?}");
		assert!(aside[0].starts_with("keys.sealed.unreadable-"), "{aside:?}");
		assert_eq!(std::fs::read(store.dir().join(&aside[0])).unwrap(), torn);

		// A second torn file in the same second is kept next to the first, not over it.
		std::fs::write(&path, &torn[..40]).unwrap();
		store.write_sealed_keys(&ka, &A, &third).unwrap();
		let aside: Vec<_> =
			names_in(store.dir()).into_iter().filter(|n| n.contains("unreadable")).collect();
		assert_eq!(aside.len(), 2, "{aside:?}");

		// Snapshots: the torn newest one is moved aside, block 1 stays the previous copy.
		let keys = KeyMaterial::generate();
		store.write_snapshot(&keys.state, &A, 1, &[1; 32], b"one").unwrap();
		store.write_snapshot(&keys.state, &A, 2, &[2; 32], b"two").unwrap();
		let snapshot = store.snapshot_path();
		let bytes = std::fs::read(&snapshot).unwrap();
		std::fs::write(&snapshot, &bytes[..bytes.len() - 1]).unwrap();
		store.write_snapshot(&keys.state, &A, 3, &[3; 32], b"three").unwrap();
		std::fs::remove_file(&snapshot).unwrap();
		let (snap, copy) = store.read_snapshot(&keys.state).unwrap();
		assert_eq!((snap.block_number, copy), (1, ReadFrom::Previous));
		assert!(names_in(store.dir()).iter().any(|n| n.starts_with("state.snapshot.unreadable-")));
	}

	#[test]
	fn concurrent_writers_of_one_file_do_not_collide() {
		const WRITERS: usize = 8;
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("f");
		let contents: Vec<Vec<u8>> = (0..WRITERS).map(|i| vec![i as u8; 4096 + i]).collect();
		let barrier = std::sync::Barrier::new(WRITERS);
		std::thread::scope(|scope| {
			for content in &contents {
				let (barrier, path) = (&barrier, &path);
				scope.spawn(move || {
					barrier.wait();
					for _ in 0..20 {
						atomic_write(path, content).unwrap();
					}
				});
			}
		});
		assert!(contents.contains(&std::fs::read(&path).unwrap()));
		assert_eq!(names_in(dir.path()), ["f"]);
	}

	#[test]
	fn atomic_create_never_replaces() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("secret");
		atomic_create(&path, b"first").unwrap();
		let err = atomic_create(&path, b"second").unwrap_err();
		assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
		assert_eq!(std::fs::read(&path).unwrap(), b"first");
		assert_eq!(names_in(dir.path()), ["secret"]);
	}

	/// Names the data directory to [`write_under_a_file_size_limit`], run in a child process.
	const FSIZE_CHILD_DIR: &str = "ENCLAVE_WORKER_TEST_FSIZE_CHILD_DIR";
	/// The child's file size limit: smaller than a sealed key file or a snapshot.
	const FSIZE_LIMIT: libc::rlim_t = 64;

	#[test]
	fn failed_write_leaves_the_previous_files_usable() {
		use std::os::unix::process::CommandExt as _;
		let (dir, store, ka, _) = setup();
		let keys = KeyMaterial::generate();
		store.init_keys(&ka, &A, &keys).unwrap();
		store.write_snapshot(&keys.state, &A, 7, &[7; 32], b"state at 7").unwrap();
		let keys_file = std::fs::read(store.keys_path()).unwrap();
		let snapshot_file = std::fs::read(store.snapshot_path()).unwrap();
		let names_before = names_in(store.dir());

		// The limit is per process: set in a child, it cannot fail other tests' writes. With
		// SIGXFSZ ignored (kept across exec), writing past it fails with EFBIG, as when
		// the disk is full.
		let mut child = std::process::Command::new(std::env::current_exe().unwrap());
		child
			.args(["--exact", "store::tests::write_under_a_file_size_limit", "--ignored"])
			.args(["--nocapture", "--test-threads=1"])
			.env(FSIZE_CHILD_DIR, dir.path());
		let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
		// SAFETY: getrlimit writes the current limits into `limit`.
		assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit) }, 0);
		// Lowers the soft limit only: the hard one may not be raised without privileges.
		let limit = libc::rlimit { rlim_cur: FSIZE_LIMIT, rlim_max: limit.rlim_max };
		// SAFETY: between fork and exec only async-signal-safe calls (setrlimit, signal).
		unsafe {
			child.pre_exec(move || {
				if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0
					|| libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR
				{
					return Err(io::Error::last_os_error());
				}
				Ok(())
			});
		}
		let out = child.output().unwrap();
		let stdout = String::from_utf8_lossy(&out.stdout);
		assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
		assert!(stdout.contains("1 passed"), "the child ran no test: {stdout}");

		// Nothing changed: same files, same bytes, no temp file, and both read as current.
		assert_eq!(names_in(store.dir()), names_before);
		assert_eq!(std::fs::read(store.keys_path()).unwrap(), keys_file);
		assert_eq!(std::fs::read(store.snapshot_path()).unwrap(), snapshot_file);
		let (read, copy) = store.read_sealed_keys(&ka, &A).unwrap();
		assert_eq!((read.checksum(), copy), (keys.checksum(), ReadFrom::Current));
		let (snap, copy) = store.read_snapshot(&keys.state).unwrap();
		assert_eq!((snap.block_number, copy), (7, ReadFrom::Current));
	}

	/// The child half of [`failed_write_leaves_the_previous_files_usable`]: every write fails.
	#[test]
	#[ignore = "run by failed_write_leaves_the_previous_files_usable under a file size limit"]
	fn write_under_a_file_size_limit() {
		let Some(dir) = std::env::var_os(FSIZE_CHILD_DIR) else {
			panic!("run by failed_write_leaves_the_previous_files_usable, not directly");
		};
		let dir = PathBuf::from(dir);
		let store = Store::open(dir.join("data")).unwrap();
		let sealing_key = SimTee::in_data_dir(A, &dir).sealing_key().unwrap();
		let keys = KeyMaterial::generate();
		let file_too_large = |result: Result<(), StoreError>| match result {
			Err(StoreError::Io { source, .. }) => source.raw_os_error() == Some(libc::EFBIG),
			_ => false,
		};
		assert!(file_too_large(store.write_sealed_keys(&sealing_key, &A, &keys)));
		assert!(file_too_large(store.write_snapshot(&keys.state, &A, 8, &[8; 32], &[0; 4096])));
		assert!(file_too_large(store.write_chain_progress(
			&sealing_key,
			&A,
			&ChainProgress { genesis_hash: [1; 32], block_number: 8, block_hash: [2; 32] }
		)));
	}

	#[test]
	fn leftover_temp_files_of_old_and_new_naming_are_removed_at_open_and_nothing_else() {
		let dir = tempfile::tempdir().unwrap();
		let data = dir.path().join("data");
		std::fs::create_dir(&data).unwrap();
		let random = "0123456789abcdef0123456789abcdef";
		let leftovers = [
			".keys.sealed.tmp-4242-0".to_owned(),
			format!(".keys.sealed.tmp-{random}"),
			format!(".sim-host-secret.tmp-{random}"),
			".status.json.tmp-7-12".to_owned(),
			format!(".chain.progress.tmp-{random}"),
			".state.snapshot.tmp-1-1".to_owned(),
		];
		for name in &leftovers {
			std::fs::write(data.join(name), b"a complete sealed copy").unwrap();
		}
		let others = [
			"notes.txt".to_owned(),
			"keys.sealed.tmp-1-2".to_owned(),
			".keys.sealed.tmp-".to_owned(),
			".keys.sealed.tmp-1-".to_owned(),
			".keys.sealed.tmp-not-ours".to_owned(),
			format!(".keys.sealed.tmp-{}", &random[1..]),
			format!(".keys.sealed.tmp-{}", random.to_uppercase()),
			".other.file.tmp-1-2".to_owned(),
			".keys.sealed.prev.tmp-1-2".to_owned(),
		];
		for name in &others {
			std::fs::write(data.join(name), b"not the store's").unwrap();
		}
		// A directory with a temp file's name is not a temp file.
		std::fs::create_dir(data.join(".keys.sealed.tmp-9-9")).unwrap();
		let store = Store::open(&data).unwrap();
		let mut expected: Vec<_> = others.to_vec();
		expected.push(".keys.sealed.tmp-9-9".into());
		expected.sort();
		assert_eq!(names_in(store.dir()), expected);
		assert_eq!(store.remove_leftovers().unwrap(), 0);
	}

	#[test]
	fn a_live_writers_temp_file_is_kept_and_a_linked_one_keeps_its_content() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join(KEYS_FILE);
		let prepared = PreparedFile::write(&path, b"being written").unwrap();
		assert_eq!(Store::open(dir.path()).unwrap().remove_leftovers().unwrap(), 0);
		assert_eq!(names_in(dir.path()).len(), 1, "the live writer's temp file is kept");
		prepared.replace().unwrap();
		assert_eq!(std::fs::read(&path).unwrap(), b"being written");
		assert_eq!(names_in(dir.path()), [KEYS_FILE]);

		// A creator killed between linking and unlinking leaves two names of one file.
		let secret = dir.path().join(crate::tee::sim::HOST_SECRET_FILE);
		atomic_create(&secret, b"host secret").unwrap();
		let linked = dir.path().join(format!(".{}.tmp-3-0", crate::tee::sim::HOST_SECRET_FILE));
		std::fs::hard_link(&secret, &linked).unwrap();
		assert_eq!(Store::open(dir.path()).unwrap().remove_leftovers().unwrap(), 0);
		assert!(!linked.exists());
		assert_eq!(std::fs::read(&secret).unwrap(), b"host secret");
	}

	#[test]
	fn a_stale_temp_file_named_like_the_next_write_does_not_fail_it() {
		let (_d, store, ka, _) = setup();
		// What a killed process with this pid left under the old naming, and a planted name.
		for n in 0..64 {
			let name = format!(".{KEYS_FILE}.tmp-{}-{n}", std::process::id());
			std::fs::write(store.dir().join(name), b"stale").unwrap();
		}
		let keys = KeyMaterial::generate();
		store.init_keys(&ka, &A, &keys).unwrap();
		assert_eq!(store.read_sealed_keys(&ka, &A).unwrap().0.checksum(), keys.checksum());

		let path = store.dir().join("f");
		let planted = store.dir().join(temp_name("f".as_ref(), "taken"));
		std::fs::write(&planted, b"planted").unwrap();
		let names = ["taken", "free"].map(|n| Ok(n.to_owned()));
		PreparedFile::write_named(&path, b"new", names.into_iter()).unwrap().replace().unwrap();
		assert_eq!(std::fs::read(&path).unwrap(), b"new");
		assert_eq!(std::fs::read(&planted).unwrap(), b"planted", "another's file is untouched");
	}

	#[test]
	fn write_errors_are_returned_not_masked_and_leave_no_temp_file() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("f");
		let planted = dir.path().join(temp_name("f".as_ref(), "taken"));
		std::fs::write(&planted, b"planted").unwrap();
		let only_taken = std::iter::repeat_with(|| Ok("taken".to_owned()));
		let err = PreparedFile::write_named(&path, b"new", only_taken).err().unwrap();
		assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
		assert_eq!(std::fs::read(&planted).unwrap(), b"planted");
		std::fs::remove_file(&planted).unwrap();

		// The rename's own error, not one of the clean-up; the temp file is gone.
		let destination = dir.path().join("a-directory");
		std::fs::create_dir(&destination).unwrap();
		let err = atomic_write(&destination, b"x").unwrap_err();
		assert_eq!(err.raw_os_error(), Some(libc::EISDIR), "{err}");
		assert_eq!(names_in(dir.path()), ["a-directory"]);
		// A missing directory is reported as such, with the path, by the store.
		let store = Store::open_read_only(dir.path().join("missing"));
		let err = store.write_snapshot(&KeyMaterial::generate().state, &A, 1, &[0; 32], b"s");
		assert!(
			matches!(&err, Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound),
			"{err:?}"
		);
	}

	#[test]
	fn read_only_open_creates_nothing() {
		let dir = tempfile::tempdir().unwrap();
		let missing = dir.path().join("data");
		let store = Store::open_read_only(&missing);
		assert!(!store.has_keys());
		assert_eq!(store.keys_sealed_by(), None);
		let ka = SimTee::in_data_dir(A, dir.path()).sealing_key().unwrap();
		assert!(matches!(store.read_sealed_keys(&ka, &A), Err(StoreError::NoKeys(_))));
		assert!(!missing.exists());
		// On a directory with keys: the header names who sealed them.
		Store::open(&missing).unwrap().init_keys(&ka, &A, &KeyMaterial::generate()).unwrap();
		assert_eq!(Store::open_read_only(&missing).keys_sealed_by(), Some(A));
	}

	#[test]
	fn atomic_write_replaces_content_and_leaves_no_temp_files() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("f");
		atomic_write(&path, b"one").unwrap();
		atomic_write(&path, b"two").unwrap();
		assert_eq!(std::fs::read(&path).unwrap(), b"two");
		assert_eq!(names_in(dir.path()), ["f"]);
	}
}
