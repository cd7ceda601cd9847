//! Fixed-size secrets kept in zeroizing, mlocked heap memory.

use std::{
	fmt,
	sync::atomic::{AtomicBool, Ordering},
};

use zeroize::Zeroize;

/// Logged once per process: a worker with many keys would otherwise warn for each.
static MLOCK_WARNED: AtomicBool = AtomicBool::new(false);

/// 32 secret bytes on the heap (a stable address that can be locked), locked in memory
/// where the OS allows it, wiped on drop, and never shown by `Debug`.
pub(crate) struct Secret32 {
	bytes: Box<[u8; 32]>,
	locked: bool,
}

impl Secret32 {
	/// Takes ownership of `bytes` and wipes the caller's copy.
	pub(crate) fn new(bytes: &mut [u8; 32]) -> Self {
		let mut boxed = Box::new([0u8; 32]);
		boxed.copy_from_slice(bytes);
		bytes.zeroize();
		let locked = lock_memory(boxed.as_ptr(), boxed.len());
		Self { bytes: boxed, locked }
	}

	/// Fresh random bytes from the OS.
	pub(crate) fn random() -> Self {
		let mut boxed = Box::new([0u8; 32]);
		rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut boxed[..]);
		let locked = lock_memory(boxed.as_ptr(), boxed.len());
		Self { bytes: boxed, locked }
	}

	pub(crate) fn expose(&self) -> &[u8; 32] {
		&self.bytes
	}
}

impl Drop for Secret32 {
	fn drop(&mut self) {
		self.bytes.zeroize();
		if self.locked {
			unlock_memory(self.bytes.as_ptr(), self.bytes.len());
		}
	}
}

impl fmt::Debug for Secret32 {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str("Secret32(<redacted>)")
	}
}

/// Locks the pages holding `len` bytes at `ptr` so they are never swapped out. A failure
/// (typically RLIMIT_MEMLOCK in containers) is a warning, not an error: inside an enclave
/// the memory is encrypted anyway, and refusing to start would cost availability.
pub(crate) fn lock_memory(ptr: *const u8, len: usize) -> bool {
	// SAFETY: mlock only reads the address range to pin its pages; the range is a live
	// allocation owned by the caller.
	let rc = unsafe { libc::mlock(ptr.cast(), len) };
	if rc != 0 && !MLOCK_WARNED.swap(true, Ordering::Relaxed) {
		tracing::warn!(
			error = %std::io::Error::last_os_error(),
			"could not mlock key memory (RLIMIT_MEMLOCK?); keys stay in pageable memory"
		);
	}
	rc == 0
}

pub(crate) fn unlock_memory(ptr: *const u8, len: usize) {
	// SAFETY: the range was locked by `lock_memory` and is still allocated.
	unsafe {
		libc::munlock(ptr.cast(), len);
	}
}
