//! The provider's challenge nonces: random, single-use, expiring, bounded in number.
//!
//! A used or expired nonce is remembered for one more time-to-live, so a replay or a late
//! request is named as such ([`NonceError::Replayed`], [`NonceError::Expired`]) rather than as
//! unknown. Memory is bounded: at most [`HARD_LIMIT_FACTOR`] × the outstanding limit entries.

use std::{
	collections::HashMap,
	time::{Duration, Instant},
};

use super::error::{NonceError, ProvideError};

/// Entries kept (outstanding + remembered) per allowed outstanding challenge.
const HARD_LIMIT_FACTOR: usize = 4;
/// The longest time to live accepted (longer ones are clamped): a challenge is meant to be
/// answered within seconds, and `Instant` arithmetic must not overflow.
pub(crate) const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
	Outstanding,
	Used,
}

#[derive(Debug)]
struct Entry {
	expires_at: Instant,
	state: State,
}

#[derive(Debug)]
pub(crate) struct NonceBook {
	entries: HashMap<[u8; 32], Entry>,
	ttl: Duration,
	max_outstanding: usize,
}

impl NonceBook {
	pub(crate) fn new(ttl: Duration, max_outstanding: usize) -> Self {
		Self {
			entries: HashMap::new(),
			ttl: ttl.min(MAX_TTL),
			max_outstanding: max_outstanding.max(1),
		}
	}

	fn is_live(entry: &Entry, now: Instant) -> bool {
		entry.state == State::Outstanding && now < entry.expires_at
	}

	/// A fresh nonce, or [`ProvideError::TooManyChallenges`].
	pub(crate) fn issue(&mut self, now: Instant) -> Result<[u8; 32], ProvideError> {
		let ttl = self.ttl;
		self.entries.retain(|_, e| now < e.expires_at + ttl);
		let live = self.entries.values().filter(|e| Self::is_live(e, now)).count();
		if live >= self.max_outstanding {
			return Err(ProvideError::TooManyChallenges);
		}
		if self.entries.len() >= self.max_outstanding * HARD_LIMIT_FACTOR {
			// Forget the remembered ones early: they would only name a refusal more precisely.
			self.entries.retain(|_, e| Self::is_live(e, now));
		}
		let mut nonce = [0u8; 32];
		rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, &mut nonce)
			.map_err(|e| ProvideError::Internal(format!("OS RNG: {e}")))?;
		self.entries
			.insert(nonce, Entry { expires_at: now + ttl, state: State::Outstanding });
		Ok(nonce)
	}

	/// Uses `nonce` up: it is valid only if outstanding and not expired.
	pub(crate) fn consume(&mut self, nonce: &[u8; 32], now: Instant) -> Result<(), NonceError> {
		let entry = self.entries.get_mut(nonce).ok_or(NonceError::Unknown)?;
		if entry.state == State::Used {
			return Err(NonceError::Replayed);
		}
		entry.state = State::Used;
		if now >= entry.expires_at {
			return Err(NonceError::Expired);
		}
		Ok(())
	}

	/// Why `nonce`, which was not issued on the asking connection, is refused. Does not use
	/// it up: it may be another connection's live nonce.
	pub(crate) fn refusal_for_foreign(&self, nonce: &[u8; 32], now: Instant) -> NonceError {
		match self.entries.get(nonce) {
			Some(e) if e.state == State::Used => NonceError::Replayed,
			Some(e) if now >= e.expires_at => NonceError::Expired,
			_ => NonceError::Unknown,
		}
	}

	/// Ends `nonce` when its connection ends, used or not.
	pub(crate) fn retire(&mut self, nonce: &[u8; 32]) {
		if let Some(entry) = self.entries.get_mut(nonce) {
			entry.state = State::Used;
		}
	}

	#[cfg(test)]
	fn len(&self) -> usize {
		self.entries.len()
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use assert_matches::assert_matches;

	#[test]
	fn nonces_are_single_use_and_expire() {
		let mut book = NonceBook::new(Duration::from_secs(60), 4);
		let t0 = Instant::now();
		let a = book.issue(t0).unwrap();
		let b = book.issue(t0).unwrap();
		assert_ne!(a, b);
		assert_eq!(book.consume(&a, t0), Ok(()));
		assert_eq!(book.consume(&a, t0), Err(NonceError::Replayed));
		assert_eq!(book.consume(&[9; 32], t0), Err(NonceError::Unknown));
		let late = t0 + Duration::from_secs(61);
		assert_eq!(book.consume(&b, late), Err(NonceError::Expired));
		assert_eq!(book.consume(&b, late), Err(NonceError::Replayed));
		assert_eq!(book.refusal_for_foreign(&a, t0), NonceError::Replayed);
		let c = book.issue(t0).unwrap();
		assert_eq!(book.refusal_for_foreign(&c, t0), NonceError::Unknown);
		assert_eq!(book.refusal_for_foreign(&c, late), NonceError::Expired);
		book.retire(&c);
		assert_eq!(book.consume(&c, t0), Err(NonceError::Replayed));
	}

	#[test]
	fn outstanding_nonces_are_bounded_and_memory_too() {
		let mut book = NonceBook::new(Duration::from_secs(60), 3);
		let t0 = Instant::now();
		let issued: Vec<_> = (0..3).map(|_| book.issue(t0).unwrap()).collect();
		assert_matches!(book.issue(t0), Err(ProvideError::TooManyChallenges));
		// Using one frees a slot.
		book.consume(&issued[0], t0).unwrap();
		book.issue(t0).unwrap();
		// Expired ones do not count.
		let later = t0 + Duration::from_secs(61);
		book.issue(later).unwrap();
		// Churn never grows the book beyond the hard limit.
		for _ in 0..100 {
			let n = book.issue(later).unwrap();
			book.consume(&n, later).unwrap();
			assert!(book.len() <= 3 * HARD_LIMIT_FACTOR + 1);
		}
		// Long after, everything is forgotten.
		let much_later = t0 + Duration::from_secs(1000);
		book.issue(much_later).unwrap();
		assert_eq!(book.len(), 1);
	}
}
