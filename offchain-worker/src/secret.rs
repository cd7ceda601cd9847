//! Fixed-size secrets kept in zeroizing, mlocked heap memory.

use std::{
	collections::BTreeMap,
	fmt,
	sync::{
		atomic::{AtomicBool, Ordering},
		Mutex, MutexGuard, PoisonError,
	},
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

/// How many live secrets sit on each locked page (by page address). `munlock` is not
/// counted by the kernel: unlocking the page of one dropped secret would unlock every other
/// secret on that page, so a page is unlocked only when its last secret goes.
static LOCKED_PAGES: Mutex<BTreeMap<usize, usize>> = Mutex::new(BTreeMap::new());

fn page_size() -> usize {
	// SAFETY: sysconf has no preconditions.
	let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
	usize::try_from(size).ok().filter(|s| s.is_power_of_two()).unwrap_or(4096)
}

/// The addresses of the pages that `len > 0` bytes at `ptr` touch.
fn pages(ptr: *const u8, len: usize) -> impl Iterator<Item = usize> {
	let size = page_size();
	let first = ptr as usize & !(size - 1);
	let last = (ptr as usize + len.max(1) - 1) & !(size - 1);
	(first..=last).step_by(size)
}

fn locked_pages() -> MutexGuard<'static, BTreeMap<usize, usize>> {
	// The table stays consistent between statements; a panic elsewhere must not stop key
	// handling.
	LOCKED_PAGES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Locks the pages holding `len` bytes at `ptr` so they are never swapped out, and keeps them
/// out of core dumps. A failure (typically RLIMIT_MEMLOCK in containers) is a warning, not an
/// error: inside an enclave the memory is encrypted anyway, and refusing to start would cost
/// availability.
pub(crate) fn lock_memory(ptr: *const u8, len: usize) -> bool {
	let size = page_size();
	let mut table = locked_pages();
	let mut newly_locked = Vec::new();
	for page in pages(ptr, len) {
		if table.contains_key(&page) {
			continue;
		}
		// SAFETY: mlock and madvise only change how the kernel treats whole pages of this
		// process; the page holds a live allocation owned by the caller.
		let rc = unsafe { libc::mlock(page as *const libc::c_void, size) };
		if rc != 0 {
			if !MLOCK_WARNED.swap(true, Ordering::Relaxed) {
				tracing::warn!(
					error = %std::io::Error::last_os_error(),
					"could not mlock key memory (RLIMIT_MEMLOCK?); keys stay in pageable memory"
				);
			}
			for page in newly_locked {
				release_page(page, size);
			}
			return false;
		}
		// SAFETY: as above. A failure leaves the page in core dumps, which is not worth
		// refusing the key for.
		unsafe { libc::madvise(page as *mut libc::c_void, size, libc::MADV_DONTDUMP) };
		newly_locked.push(page);
	}
	for page in pages(ptr, len) {
		*table.entry(page).or_insert(0) += 1;
	}
	true
}

/// Releases what `lock_memory` took for the same range; pages still holding other secrets stay
/// locked.
pub(crate) fn unlock_memory(ptr: *const u8, len: usize) {
	let size = page_size();
	let mut table = locked_pages();
	for page in pages(ptr, len) {
		match table.get_mut(&page) {
			Some(count) if *count > 1 => *count -= 1,
			Some(_) => {
				table.remove(&page);
				release_page(page, size);
			},
			None => {},
		}
	}
}

fn release_page(page: usize, size: usize) {
	// SAFETY: the page was locked by `lock_memory` and belongs to this process's heap.
	unsafe {
		libc::madvise(page as *mut libc::c_void, size, libc::MADV_DODUMP);
		libc::munlock(page as *const libc::c_void, size);
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn lock_count(page: usize) -> usize {
		locked_pages().get(&page).copied().unwrap_or(0)
	}

	#[test]
	fn a_page_stays_locked_while_any_secret_on_it_lives() {
		// Small secrets allocated together share pages; dropping one must not unlock the
		// others. Other tests lock and unlock their own secrets concurrently, so only lower
		// bounds that they cannot break are checked.
		let mut secrets: Vec<Secret32> = (0..64).map(|_| Secret32::random()).collect();
		if !secrets.iter().all(|s| s.locked) {
			// RLIMIT_MEMLOCK forbids locking here: there is nothing to count.
			return;
		}
		let page_of = |s: &Secret32| pages(s.expose().as_ptr(), 32).next().unwrap();
		// The page most of them share: the first secret alone can sit at the end of a page
		// whose rest went to other tests' allocations on other threads.
		let mut per_page = std::collections::BTreeMap::<usize, usize>::new();
		for secret in &secrets {
			*per_page.entry(page_of(secret)).or_default() += 1;
		}
		let (shared_page, _) =
			per_page.into_iter().max_by_key(|&(_, count)| count).expect("64 secrets");
		let index = secrets.iter().position(|s| page_of(s) == shared_page).unwrap();
		let first = secrets.remove(index);
		let others_on_page = secrets.iter().filter(|s| page_of(s) == shared_page).count();
		assert!(others_on_page > 0, "64 small allocations left a page to themselves");
		assert!(lock_count(shared_page) > others_on_page);
		drop(first);
		assert!(lock_count(shared_page) >= others_on_page, "a neighbour's drop unlocked the page");
		drop(secrets);
	}

	#[test]
	fn page_ranges_cover_every_byte() {
		let size = page_size();
		assert_eq!(pages(size as *const u8, 32).collect::<Vec<_>>(), [size]);
		assert_eq!(pages((2 * size - 16) as *const u8, 32).collect::<Vec<_>>(), [size, 2 * size]);
		assert_eq!(pages((2 * size - 32) as *const u8, 32).collect::<Vec<_>>(), [size]);
	}
}
