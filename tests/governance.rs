//! OpenGov end to end on the real node: a referendum on the `enclave_admin` track schedules a
//! build; while it waits for its decision deposit, `enclave-update-cli schedule` lists it as
//! pending; once enacted, the worker's proof-checked view schedules the build. A referendum on the
//! emergency track then retires it.

use enclave_update_devnet::{
	chain::{dev, referendum_vote, retire_call, schedule_call, Chain, REFERENDUM_VOTE},
	procs::{verified_schedule, Node},
	Measurement,
};
use std::time::Duration;

const TEST_TIMEOUT: Duration = Duration::from_secs(300);
const WAIT: Duration = Duration::from_secs(120);
const M: Measurement = Measurement::MrEnclave([0xe1; 32]);

#[tokio::test(flavor = "multi_thread")]
async fn a_referendum_schedules_a_build_that_workers_read_with_proofs() {
	tokio::time::timeout(TEST_TIMEOUT, async {
		let root = tempfile::tempdir().unwrap();
		let node = Node::start(&root.path().join("node"), None).unwrap();
		let chain = Chain::connect(&node.url(), WAIT).await.unwrap();
		let at = chain.finalized_number().await.unwrap() + 200;

		// Submitted, not yet backed: pending, and nothing scheduled.
		let (index, submitted) =
			chain.submit_referendum("EnclaveAdmin", schedule_call(&M, at)).await.unwrap();
		let view = verified_schedule(&node.url()).unwrap();
		let pending = view["pending_referenda"].as_array().expect("a list of referenda");
		assert_eq!(pending.len(), 1, "{view}");
		assert_eq!(pending[0]["index"], index);
		assert_eq!(pending[0]["track"], 0);
		assert_eq!(pending[0]["submitted"], submitted);
		assert_eq!(pending[0]["decision_deposit_placed"], false);
		assert_eq!(pending[0]["proposal"]["kind"], "enclave");
		assert_eq!(pending[0]["proposal"]["call"], "schedule_enclave");
		assert_eq!(pending[0]["proposal"]["measurement"], M.to_string());
		assert_eq!(pending[0]["proposal"]["activates_at"], at);
		assert_eq!(view["scheduled"], serde_json::json!([]));

		// Backed and voted: enacted within the dev track's periods, and read with proofs.
		chain.back_referendum(index).await.unwrap();
		let enacted = chain.wait_for_enactment(index, WAIT).await.unwrap();
		let view = verified_schedule(&node.url()).unwrap();
		assert_eq!(
			view["scheduled"],
			serde_json::json!([{ "measurement": M.to_string(), "activates_at": at }]),
			"{view}"
		);
		assert_eq!(view["pending_referenda"], serde_json::json!([]));
		let (ref_time, proof_size) = chain.block_weight(enacted).await.unwrap();
		println!(
			"referendum #{index}: submitted #{submitted}, enacted #{enacted} ({} blocks); \
			 enactment block weight ref_time {ref_time} proof_size {proof_size}",
			enacted - submitted
		);

		// A nay is not enough to stop the emergency track when two ayes outweigh it, and the
		// retirement takes the build off the schedule.
		let (emergency, _) =
			chain.submit_referendum("EnclaveEmergency", retire_call(&M)).await.unwrap();
		chain
			.submit_ok(&referendum_vote(emergency, false, REFERENDUM_VOTE / 10), &dev::dave())
			.await
			.unwrap();
		chain.back_referendum(emergency).await.unwrap();
		chain.wait_for_enactment(emergency, WAIT).await.unwrap();
		let view = verified_schedule(&node.url()).unwrap();
		assert_eq!(view["scheduled"], serde_json::json!([]), "{view}");
		assert_eq!(view["retired"], serde_json::json!([M.to_string()]), "{view}");
	})
	.await
	.expect("the test finishes in time");
}
