//! What the worker's tests, the end-to-end tests (`tests/`) and the benchmarks share: short
//! measurements, a verified view to start from, a [`ScheduleSource`] that returns a fixed view,
//! and a bound on how long a test may wait.
//!
//! Behind the `test-utils` feature (and in this crate's unit tests): never in an enclave's build.
//! A [`FixedSchedule`] stands for the chain-backed source (`chain::rpc::RpcChain`), so what it
//! returns is what a host that saw other blocks, or lies, would feed the enclave; the
//! provisioning protocol is expected to refuse what the other side's verified view does not
//! allow.

use crate::chain::{BlockNumber, ChainError, ProvenStorage, ScheduleSource, VerifiedSchedule};
use enclave_update_primitives::{ActiveEnclave, Measurement, ScheduledEnclave};
use std::{future::Future, time::Duration};

/// The genesis hash of the views [`view`] makes.
pub const GENESIS: [u8; 32] = [0x99; 32];

/// The block [`view`]s are verified at.
pub const VIEW_BLOCK: BlockNumber = 10;

/// The SGX measurement `[byte; 32]`.
pub fn m(byte: u8) -> Measurement {
	Measurement::MrEnclave([byte; 32])
}

/// A verified view at block [`VIEW_BLOCK`] of the chain [`GENESIS`]: `active` since block 0 and
/// the `scheduled` successors with their cut-over blocks; nothing superseded or retired, chain
/// time 0, no key set registered. Tests change the fields they are about.
pub fn view(active: Measurement, scheduled: &[(Measurement, BlockNumber)]) -> VerifiedSchedule {
	VerifiedSchedule {
		genesis_hash: GENESIS,
		block_number: VIEW_BLOCK,
		block_hash: [0x10; 32],
		storage: ProvenStorage {
			active: Some(ActiveEnclave { measurement: active, since: 0 }),
			scheduled: scheduled
				.iter()
				.map(|&(measurement, activates_at)| ScheduledEnclave { measurement, activates_at })
				.collect(),
			..ProvenStorage::default()
		},
	}
}

/// A [`ScheduleSource`] that returns the same view every time: a host that feeds the enclave a
/// view of its choosing.
#[derive(Clone, Debug)]
pub struct FixedSchedule(pub VerifiedSchedule);

impl ScheduleSource for FixedSchedule {
	fn verified_schedule(
		&self,
	) -> impl Future<Output = Result<VerifiedSchedule, ChainError>> + Send {
		let view = self.0.clone();
		async move { Ok(view) }
	}
}

/// Awaits `future` for at most `timeout` and panics if it takes longer: a hang is a failure, not
/// a stuck test run.
pub async fn within<F: Future>(timeout: Duration, future: F) -> F::Output {
	tokio::time::timeout(timeout, future)
		.await
		.expect("finished within the test's time bound")
}

#[cfg(test)]
mod tests {
	use super::*;

	#[tokio::test]
	async fn a_fixed_schedule_returns_its_view_every_time() {
		let source = FixedSchedule(view(m(1), &[(m(2), 100)]));
		for _ in 0..2 {
			let got = source.verified_schedule().await.expect("a fixed view");
			assert_eq!(got, source.0);
			assert_eq!(got.storage.active.map(|a| a.measurement), Some(m(1)));
			assert_eq!(got.storage.scheduled[0].activates_at, 100);
		}
	}

	#[tokio::test]
	#[should_panic(expected = "finished within the test's time bound")]
	async fn within_fails_a_future_that_does_not_finish() {
		within(Duration::from_millis(10), std::future::pending::<()>()).await;
	}
}
