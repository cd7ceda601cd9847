//! Atomic file I/O: the one place the crate writes files, a leaf that depends on nothing else
//! of it (the store, the status file, the collateral cache and the simulated TEE use it).
//!
//! Every write is complete and fsynced in a temp file before anything at the destination changes,
//! so a failed write (disk full) leaves the destination as it was. Temp files are named
//! `.<name>.tmp-<32 random hex digits>` and created with `create_new`, so no two writers (nor a
//! later process that reuses a pid) ever share one; writers hold a shared `flock` on the directory
//! while their temp file exists, so that a clean-up under the exclusive lock
//! ([`crate::store::Store::remove_leftovers`]) never removes a live writer's.

use std::{
	fs::{File, OpenOptions},
	io::{self, Write},
	path::{Path, PathBuf},
};

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

/// Whether `name` is a temp file of one of `files`: `.<file>.tmp-<32 hex digits>`, or the
/// `.<file>.tmp-<pid>-<counter>` of earlier builds. Nothing else matches.
pub(crate) fn is_temp_file_of(name: &str, files: &[&str]) -> bool {
	let Some(rest) = name.strip_prefix('.') else { return false };
	files.iter().any(|file| {
		let Some(suffix) = rest.strip_prefix(file).and_then(|r| r.strip_prefix(TEMP_MARK)) else {
			return false;
		};
		let hex_digits = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
		let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
		(suffix.len() == 2 * TEMP_RANDOM_LEN && hex_digits(suffix))
			|| suffix.split_once('-').is_some_and(|(pid, n)| digits(pid) && digits(n))
	})
}

/// A fresh temp-file suffix: random hex from the OS's generator.
fn random_suffix() -> io::Result<String> {
	let mut random = [0u8; TEMP_RANDOM_LEN];
	rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, &mut random)
		.map_err(io::Error::other)?;
	Ok(hex::encode(random))
}

pub(crate) fn temp_name(file_name: &std::ffi::OsStr, suffix: &str) -> std::ffi::OsString {
	let mut name = std::ffi::OsString::from(".");
	name.push(file_name);
	name.push(TEMP_MARK);
	name.push(suffix);
	name
}

/// Takes `lock` (`LOCK_SH` or `LOCK_EX`, maybe with `LOCK_NB`) on the directory `dir`.
///
/// Writers hold the shared lock from before their temp file exists until its name is gone;
/// [`crate::store::Store::remove_leftovers`] removes temp files only under the exclusive one, so it
/// never removes the temp file of a live writer, in this process or another.
pub(crate) fn lock_dir(dir: &File, lock: libc::c_int) -> io::Result<()> {
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
/// A writer killed midway leaves its temp file; [`crate::store::Store::remove_leftovers`] removes
/// it.
pub(crate) struct PreparedFile {
	tmp: PathBuf,
	/// The directory, shared-locked while the temp file exists (see [`lock_dir`]).
	dir: File,
	path: PathBuf,
	renamed: bool,
}

impl PreparedFile {
	pub(crate) fn write(path: &Path, bytes: &[u8]) -> io::Result<Self> {
		Self::write_named(path, bytes, std::iter::repeat_with(random_suffix))
	}

	/// [`Self::write`] trying the temp-file suffixes of `suffixes` in turn.
	pub(crate) fn write_named(
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
	pub(crate) fn replace(mut self) -> io::Result<()> {
		std::fs::rename(&self.tmp, &self.path)?;
		self.renamed = true;
		self.dir.sync_all()
	}

	/// Links the temp file to the destination if that does not exist yet.
	pub(crate) fn create(self) -> io::Result<()> {
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

/// Moves `path` to `<path>.<reason>-<unix time>[-<n>]`, never replacing an earlier file moved
/// aside (it may hold another build's keys): the link fails rather than overwrite.
pub(crate) fn move_aside(path: &Path, reason: &str) -> io::Result<PathBuf> {
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
