//! The runtime's DCAP verification (`pallet-enclave-registry`, the code its wasm runs) against
//! the worker's verifier, over the corpus of real DCAP quotes of other platforms
//! (`shared/dcap-corpus` beside the checkout, or `DCAP_CORPUS`; read where it is, never copied,
//! and its absence fails the test):
//!
//! - under the development runtime's attestation policy (its accepted TCB statuses; debug enclaves,
//!   TDs without SEPT_VE_DISABLE and service TDs refused), both accept and refuse the same quotes,
//!   and where both accept they prove the same measurement, TCB status and report data;
//! - a quote without collateral is refused by both;
//! - no re-encoding of an accepted quote (zero padding after it, or its signature's `s` replaced by
//!   `n - s`) verifies under another evidence hash, so none can register a second time as another
//!   quote.

#[path = "../offchain-worker/tests/support/corpus.rs"]
mod corpus_support;
use corpus_support::{corpus_root, n_minus, quote_names};

use codec::Encode;
use enclave_update_runtime::Runtime;
use enclave_worker::attestation::{AttestationPolicy, Collateral, TcbStatus, Verifier};
use frame_support::traits::Contains;
use pallet_enclave_registry::attestation::{verify_evidence, AttestedEnclave, RefuseSimulated};
use serde_json::Value;

/// The worker's policy with the development runtime's accepted statuses.
fn worker_policy() -> AttestationPolicy {
	[
		TcbStatus::SWHardeningNeeded,
		TcbStatus::ConfigurationNeeded,
		TcbStatus::ConfigurationAndSWHardeningNeeded,
	]
	.into_iter()
	.fold(AttestationPolicy::default(), AttestationPolicy::allow_status)
}

/// What the development runtime's `verify_evidence` decides (its policy on top of the
/// verification), without an externality: debug refused, the status in its accepted set.
fn runtime_verdict(quote: &[u8], collateral: &[u8], at: u64) -> Result<AttestedEnclave, String> {
	let attested = verify_evidence::<Runtime, RefuseSimulated>(quote, collateral, at)
		.map_err(|e| format!("{e:?}"))?;
	if attested.debug {
		return Err("DebugEnclave".into());
	}
	if !enclave_update_runtime::configs::AcceptedTcb::contains(&attested.tcb_status) {
		return Err(format!("TcbStatusNotAccepted({:?})", attested.tcb_status));
	}
	Ok(attested)
}

#[test]
fn the_runtime_and_the_worker_give_the_corpus_the_same_verdicts() {
	let dir = corpus_root().join("corpus");
	let names = quote_names();
	assert!(names.len() >= 60, "{} quotes in the corpus", names.len());
	let verifier = Verifier::new(worker_policy());
	let (mut accepted, mut refused, mut compared) = (0, 0, 0);
	for name in names {
		let at = dir.join(&name);
		let meta: Value =
			serde_json::from_slice(&std::fs::read(at.join("meta.json")).unwrap()).unwrap();
		let quote = std::fs::read(at.join("quote.bin")).unwrap();
		if meta["collaterals"].as_array().unwrap().is_empty() {
			assert!(
				verify_evidence::<Runtime, RefuseSimulated>(&quote, &[], 1_756_530_546).is_err(),
				"{name}"
			);
			assert!(verifier.verify(&quote, None, 1_756_530_546, None).is_err(), "{name}");
			continue;
		}
		for entry in meta["collaterals"].as_array().unwrap() {
			let file = at.join(entry["file"].as_str().unwrap());
			let time = entry["at"].as_u64().unwrap();
			let collateral = Collateral::from_file(&file).unwrap();
			let encoded = collateral.as_dcap().encode();
			let worker = verifier.verify(&quote, Some(&collateral), time, None);
			let runtime = runtime_verdict(&quote, &encoded, time);
			compared += 1;
			match (&worker, &runtime) {
				(Ok(identity), Ok(attested)) => {
					accepted += 1;
					assert_eq!(identity.measurement, attested.measurement, "{name}");
					assert_eq!(
						identity.tcb_status.to_string(),
						format!("{:?}", attested.tcb_status),
						"{name}"
					);
					assert_eq!(identity.report_data, attested.report_data, "{name}");
					// Other encodings of the same quote: one evidence hash.
					let padded = [&quote[..], &[0; 16]].concat();
					let mut high_s = quote.clone();
					let (from, to) = (
						meta["offsets"]["isv_signature"][0].as_u64().unwrap() as usize,
						meta["offsets"]["isv_signature"][1].as_u64().unwrap() as usize,
					);
					let s = n_minus(quote[from + 32..to].try_into().unwrap());
					high_s[from + 32..to].copy_from_slice(&s);
					for (what, other) in [("zero padding", padded), ("n - s", high_s)] {
						if let Ok(again) =
							verify_evidence::<Runtime, RefuseSimulated>(&other, &encoded, time)
						{
							assert_eq!(
								again.evidence_hash, attested.evidence_hash,
								"{name}: {what}"
							);
						}
					}
				},
				(Err(_), Err(_)) => refused += 1,
				_ => {
					panic!("{name} at {time}: the worker says {worker:?}, the runtime {runtime:?}")
				},
			}
		}
	}
	// The corpus has both: the comparison is not vacuous on either side.
	assert!(accepted >= 10 && refused >= 1, "accepted {accepted}, refused {refused} of {compared}");
	println!(
		"{compared} quote-collateral pairs: {accepted} accepted by both, {refused} refused by both"
	);
}
