//! What the end-to-end tests (`tests/`) and the node's tests share beside the processes: a bound
//! on each test's duration, and turns for the tests that must not run beside each other.

use std::{future::Future, time::Duration};

/// Runs `test` and fails it (panics) if it takes longer than `timeout`.
pub async fn bounded<F: Future<Output = ()>>(timeout: Duration, test: F) {
	tokio::time::timeout(timeout, test).await.expect("the test finishes in time");
}

/// Turns for the tests of one test binary that each start a node and workers of their own and
/// time what they do: on a 2-core machine two at once would starve the block pacing and the
/// restarts they check. A test takes its turn with [`Turns::bounded`].
pub struct Turns(tokio::sync::Mutex<()>);

impl Turns {
	/// Turns no test has taken yet (for a `static`).
	pub const fn new() -> Self {
		Self(tokio::sync::Mutex::const_new(()))
	}

	/// Runs `test` once no other test of these turns runs, bounded by `timeout` from the start
	/// of its turn.
	pub async fn bounded<F: Future<Output = ()>>(&self, timeout: Duration, test: F) {
		let _turn = self.0.lock().await;
		bounded(timeout, test).await;
	}
}

impl Default for Turns {
	fn default() -> Self {
		Self::new()
	}
}
