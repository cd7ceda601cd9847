//! Externalities that count database reads and writes the way Substrate's benchmarking state
//! database does, over the in-memory state of `sp_io::TestExternalities`.
//!
//! `frame-benchmarking` asks the host for `read_write_count`, `commit_db`, `wipe_db` and the
//! whitelist; the in-memory backend implements none of them. This wrapper delegates every
//! storage operation to the inner externalities and implements those on top:
//!
//! - a read of a key is a database read the first time, a repeat read afterwards, and free when
//!   the key is whitelisted or has an uncommitted write (the overlay serves it);
//! - writes are counted when the benchmark commits (`commit_db`), once per key: a key written
//!   again after a commit is a repeat write;
//! - `commit_db` keeps the data in the overlay (the in-memory backend cannot commit), so
//!   `wipe_db` discards everything since genesis, which is what a benchmark's next repetition
//!   needs.

use sp_externalities::{Extension, ExtensionStore, Externalities, MultiRemovalResults};
use sp_storage::{ChildInfo, StateVersion, TrackedStorageKey};
use std::{
	any::{Any, TypeId},
	collections::{BTreeMap, BTreeSet},
};

#[derive(Default, Clone, Copy)]
struct KeyUse {
	reads: u32,
	writes: u32,
	whitelisted: bool,
}

/// The counting wrapper; see the module docs.
pub struct TrackingExt<'a> {
	inner: &'a mut dyn Externalities,
	keys: BTreeMap<Vec<u8>, KeyUse>,
	uncommitted: BTreeSet<Vec<u8>>,
	whitelist: Vec<TrackedStorageKey>,
	reads: u32,
	repeat_reads: u32,
	writes: u32,
	repeat_writes: u32,
}

impl<'a> TrackingExt<'a> {
	/// Wraps `inner`.
	pub fn new(inner: &'a mut dyn Externalities) -> Self {
		TrackingExt {
			inner,
			keys: BTreeMap::new(),
			uncommitted: BTreeSet::new(),
			whitelist: Vec::new(),
			reads: 0,
			repeat_reads: 0,
			writes: 0,
			repeat_writes: 0,
		}
	}

	fn reset(&mut self) {
		self.keys.clear();
		self.reads = 0;
		self.repeat_reads = 0;
		self.writes = 0;
		self.repeat_writes = 0;
		for tracked in &self.whitelist {
			self.keys
				.insert(tracked.key.clone(), KeyUse { whitelisted: true, ..Default::default() });
		}
	}

	fn on_read(&mut self, key: &[u8]) {
		if self.uncommitted.contains(key) {
			return;
		}
		let key_use = self.keys.entry(key.to_vec()).or_default();
		if key_use.whitelisted {
			return;
		}
		if key_use.reads > 0 || key_use.writes > 0 {
			self.repeat_reads += 1;
		} else {
			self.reads += 1;
		}
		key_use.reads += 1;
	}

	fn on_write(&mut self, key: &[u8]) {
		self.uncommitted.insert(key.to_vec());
	}

	fn child_key(child_info: &ChildInfo, key: &[u8]) -> Vec<u8> {
		let mut full = child_info.prefixed_storage_key().into_inner();
		full.extend_from_slice(key);
		full
	}
}

impl ExtensionStore for TrackingExt<'_> {
	fn extension_by_type_id(&mut self, type_id: TypeId) -> Option<&mut dyn Any> {
		self.inner.extension_by_type_id(type_id)
	}

	fn register_extension_with_type_id(
		&mut self,
		type_id: TypeId,
		extension: Box<dyn Extension>,
	) -> Result<(), sp_externalities::Error> {
		self.inner.register_extension_with_type_id(type_id, extension)
	}

	fn deregister_extension_by_type_id(
		&mut self,
		type_id: TypeId,
	) -> Result<(), sp_externalities::Error> {
		self.inner.deregister_extension_by_type_id(type_id)
	}
}

impl Externalities for TrackingExt<'_> {
	fn set_offchain_storage(&mut self, key: &[u8], value: Option<&[u8]>) {
		self.inner.set_offchain_storage(key, value)
	}

	fn storage(&mut self, key: &[u8]) -> Option<Vec<u8>> {
		self.on_read(key);
		self.inner.storage(key)
	}

	fn storage_hash(&mut self, key: &[u8]) -> Option<Vec<u8>> {
		self.on_read(key);
		self.inner.storage_hash(key)
	}

	fn child_storage_hash(&mut self, child_info: &ChildInfo, key: &[u8]) -> Option<Vec<u8>> {
		self.on_read(&Self::child_key(child_info, key));
		self.inner.child_storage_hash(child_info, key)
	}

	fn child_storage(&mut self, child_info: &ChildInfo, key: &[u8]) -> Option<Vec<u8>> {
		self.on_read(&Self::child_key(child_info, key));
		self.inner.child_storage(child_info, key)
	}

	fn exists_storage(&mut self, key: &[u8]) -> bool {
		self.on_read(key);
		self.inner.exists_storage(key)
	}

	fn exists_child_storage(&mut self, child_info: &ChildInfo, key: &[u8]) -> bool {
		self.on_read(&Self::child_key(child_info, key));
		self.inner.exists_child_storage(child_info, key)
	}

	fn next_storage_key(&mut self, key: &[u8]) -> Option<Vec<u8>> {
		self.on_read(key);
		self.inner.next_storage_key(key)
	}

	fn next_child_storage_key(&mut self, child_info: &ChildInfo, key: &[u8]) -> Option<Vec<u8>> {
		self.on_read(&Self::child_key(child_info, key));
		self.inner.next_child_storage_key(child_info, key)
	}

	fn kill_child_storage(
		&mut self,
		child_info: &ChildInfo,
		maybe_limit: Option<u32>,
		maybe_cursor: Option<&[u8]>,
	) -> MultiRemovalResults {
		self.on_write(&child_info.prefixed_storage_key().into_inner());
		self.inner.kill_child_storage(child_info, maybe_limit, maybe_cursor)
	}

	fn clear_prefix(
		&mut self,
		prefix: &[u8],
		maybe_limit: Option<u32>,
		maybe_cursor: Option<&[u8]>,
	) -> MultiRemovalResults {
		self.on_write(prefix);
		self.inner.clear_prefix(prefix, maybe_limit, maybe_cursor)
	}

	fn clear_child_prefix(
		&mut self,
		child_info: &ChildInfo,
		prefix: &[u8],
		maybe_limit: Option<u32>,
		maybe_cursor: Option<&[u8]>,
	) -> MultiRemovalResults {
		self.on_write(&Self::child_key(child_info, prefix));
		self.inner.clear_child_prefix(child_info, prefix, maybe_limit, maybe_cursor)
	}

	fn place_storage(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
		self.on_write(&key);
		self.inner.place_storage(key, value)
	}

	fn place_child_storage(
		&mut self,
		child_info: &ChildInfo,
		key: Vec<u8>,
		value: Option<Vec<u8>>,
	) {
		self.on_write(&Self::child_key(child_info, &key));
		self.inner.place_child_storage(child_info, key, value)
	}

	fn storage_root(&mut self, state_version: StateVersion) -> Vec<u8> {
		self.inner.storage_root(state_version)
	}

	fn child_storage_root(
		&mut self,
		child_info: &ChildInfo,
		state_version: StateVersion,
	) -> Vec<u8> {
		self.inner.child_storage_root(child_info, state_version)
	}

	fn storage_append(&mut self, key: Vec<u8>, value: Vec<u8>) {
		// Appending reads the stored value unless the overlay holds it already.
		self.on_read(&key);
		self.on_write(&key);
		self.inner.storage_append(key, value)
	}

	fn storage_start_transaction(&mut self) {
		self.inner.storage_start_transaction()
	}

	fn storage_rollback_transaction(&mut self) -> Result<(), ()> {
		self.inner.storage_rollback_transaction()
	}

	fn storage_commit_transaction(&mut self) -> Result<(), ()> {
		self.inner.storage_commit_transaction()
	}

	fn wipe(&mut self) {
		self.inner.wipe();
		self.uncommitted.clear();
		self.reset();
	}

	fn commit(&mut self) {
		for key in std::mem::take(&mut self.uncommitted) {
			let key_use = self.keys.entry(key).or_default();
			if key_use.whitelisted {
				continue;
			}
			if key_use.writes > 0 {
				self.repeat_writes += 1;
			} else {
				self.writes += 1;
			}
			key_use.writes += 1;
		}
	}

	fn read_write_count(&self) -> (u32, u32, u32, u32) {
		(self.reads, self.repeat_reads, self.writes, self.repeat_writes)
	}

	fn reset_read_write_count(&mut self) {
		self.reset();
	}

	fn get_whitelist(&self) -> Vec<TrackedStorageKey> {
		self.whitelist.clone()
	}

	fn set_whitelist(&mut self, new: Vec<TrackedStorageKey>) {
		self.whitelist = new;
		self.reset();
	}

	fn get_read_and_written_keys(&self) -> Vec<(Vec<u8>, u32, u32, bool)> {
		self.keys
			.iter()
			.filter(|(_, u)| u.reads > 0 || u.writes > 0)
			.map(|(key, u)| (key.clone(), u.reads, u.writes, u.whitelisted))
			.collect()
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_externalities::set_and_run_with_externalities;

	fn with_tracking<R>(f: impl FnOnce() -> R) -> (R, (u32, u32, u32, u32)) {
		let mut ext = sp_io::TestExternalities::new_empty();
		let mut ext = ext.ext();
		let mut tracking = TrackingExt::new(&mut ext);
		let result = set_and_run_with_externalities(&mut tracking, f);
		let counts = tracking.read_write_count();
		(result, counts)
	}

	#[test]
	fn counts_reads_writes_and_repeats() {
		let (_, counts) = with_tracking(|| {
			sp_io::storage::set(b"a", b"1");
			frame_benchmarking::benchmarking::commit_db();
			frame_benchmarking::benchmarking::reset_read_write_count();
			assert_eq!(sp_io::storage::get(b"a").as_deref(), Some(&b"1"[..]));
			sp_io::storage::get(b"a");
			sp_io::storage::get(b"missing");
			sp_io::storage::set(b"b", b"2");
			// Served by the overlay: not a database read.
			sp_io::storage::get(b"b");
			frame_benchmarking::benchmarking::commit_db();
			sp_io::storage::set(b"b", b"3");
			frame_benchmarking::benchmarking::commit_db();
		});
		assert_eq!(counts, (2, 1, 1, 1));
	}

	#[test]
	fn whitelisted_keys_are_free_and_wipe_restores_genesis() {
		let ((before_wipe, after_wipe), _) = with_tracking(|| {
			frame_benchmarking::benchmarking::set_whitelist(vec![TrackedStorageKey::new(
				b"w".to_vec(),
			)]);
			sp_io::storage::get(b"w");
			sp_io::storage::set(b"w", b"1");
			sp_io::storage::set(b"x", b"1");
			frame_benchmarking::benchmarking::commit_db();
			let before_wipe = frame_benchmarking::benchmarking::read_write_count();
			frame_benchmarking::benchmarking::wipe_db();
			let after_wipe = frame_benchmarking::benchmarking::read_write_count();
			assert_eq!(sp_io::storage::get(b"x"), None);
			(before_wipe, after_wipe)
		});
		assert_eq!(before_wipe, (0, 0, 1, 0));
		assert_eq!(after_wipe, (0, 0, 0, 0));
	}
}
