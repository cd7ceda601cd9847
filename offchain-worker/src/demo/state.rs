//! The demo's confidential state: a key-value map and counters.

use std::{collections::BTreeMap, fmt};

use codec::{Decode, Encode};

use super::ShieldedCall;

/// The demo's confidential state: a key-value map and counters. Ordered maps, so its SCALE
/// encoding is deterministic. `Debug` shows sizes only.
#[derive(Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct DemoState {
	/// Values set by [`ShieldedCall::Put`].
	pub entries: BTreeMap<Vec<u8>, Vec<u8>>,
	/// Counters advanced by [`ShieldedCall::Increment`].
	pub counters: BTreeMap<Vec<u8>, u64>,
}

impl DemoState {
	/// Applies one (opened, in-bounds) call.
	pub fn apply(&mut self, call: ShieldedCall) {
		match call {
			ShieldedCall::Put { key, value } => {
				self.entries.insert(key, value);
			},
			ShieldedCall::Delete { key } => {
				self.entries.remove(&key);
				self.counters.remove(&key);
			},
			ShieldedCall::Increment { key, by } => {
				let counter = self.counters.entry(key).or_insert(0);
				*counter = counter.saturating_add(by);
			},
		}
	}

	/// The counter `key` (0 when missing).
	pub fn counter(&self, key: &[u8]) -> u64 {
		self.counters.get(key).copied().unwrap_or(0)
	}
}

impl fmt::Debug for DemoState {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("DemoState")
			.field("entries", &self.entries.len())
			.field("counters", &self.counters.len())
			.finish()
	}
}
