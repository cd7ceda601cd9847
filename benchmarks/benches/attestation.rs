//! Quote verification: the worker's full path (`enclave_worker::attestation::Verifier::verify`:
//! canonical decoding with the PCK chain parsed once, collateral window, dcap-qvl
//! verification, policy) against bare dcap-qvl on the same quote and collateral, in one run.
//! The ratio of the two is the overhead of our checks.
//!
//! Both sides of a pair run interleaved in one loop, each benchmark timing only its own
//! side. The host is shared (builds run beside the bench), and load drifts between two
//! criterion measurements of seconds each; so each pair also prints a `paired ratio` line:
//! the median over 300 back-to-back runs of ours and bare of their ratio, which is the
//! figure to report.
//!
//! - `verify_tdx_quote`: the project's TDX fixture (dcap-qvl's `sample/tdx_quote`), and the
//!   canonical decoding alone (our share of the time);
//! - `verify_corpus/<platform>`: one real quote per platform of the DCAP corpus
//!   (`shared/dcap-corpus` beside the checkout; the bench panics without it). Where bare
//!   `dcap_qvl::verify` refuses the quote by policy (Alibaba's service TD), the bare side is
//!   `QuoteVerifier` with that one check allowed; for Azure's TD (no SEPT_VE_DISABLE) bare dcap-qvl
//!   has no such option and refuses it as its last step, after all the work, so the bare side is
//!   that refusal.

#[path = "support/fixtures.rs"]
mod fixtures;
use fixtures::{tdx_sample, TdxSample, TDX_AT};

use std::{
	path::{Path, PathBuf},
	time::{Duration, Instant},
};

use criterion::{
	black_box, criterion_group, criterion_main, measurement::WallTime, BenchmarkGroup, Criterion,
};
use enclave_worker::attestation::{AttestationPolicy, Collateral, TcbStatus, Verifier};

fn verify_tdx_sample(c: &mut Criterion) {
	let TdxSample { quote, collateral, dcap_collateral } = tdx_sample();
	let verifier = Verifier::new(AttestationPolicy::default());
	// Both paths must accept the quote, or the comparison means nothing.
	verifier.verify(&quote, Some(&collateral), TDX_AT, None).expect("ours accepts");
	dcap_qvl::verify::verify(&quote, &dcap_collateral, TDX_AT).expect("dcap-qvl accepts");

	let mut group = c.benchmark_group("verify_tdx_quote");
	paired(
		&mut group,
		"",
		|| {
			black_box(verifier.verify(black_box(&quote), Some(&collateral), TDX_AT, None)).ok();
		},
		|| {
			black_box(dcap_qvl::verify::verify(black_box(&quote), &dcap_collateral, TDX_AT)).ok();
		},
	);
	// Where our share of the time goes: decoding to the canonical encoding, PCK chain parsed.
	group.bench_function("enclave_worker_decode_evidence", |b| {
		b.iter(|| enclave_worker::attestation::decode_evidence(black_box(&quote)))
	});
	group.finish();
}

/// How bare dcap-qvl is run on a platform's quote.
#[derive(Clone, Copy)]
enum Bare {
	/// `dcap_qvl::verify::verify`, which accepts the quote.
	Verify,
	/// `QuoteVerifier` allowing service TDs (Alibaba's TD 1.5).
	AllowingServiceTd,
	/// `dcap_qvl::verify::verify`, which refuses the quote at its last step.
	RefusesLast,
}

/// One corpus quote per platform: (platform, quote directory prefix, bare mode).
const PLATFORMS: [(&str, &str, Bare); 7] = [
	("sgx_bare_metal", "02-", Bare::Verify),
	("sgx_azure_dcsv2", "14-", Bare::Verify),
	("tdx_bare_metal", "29-", Bare::Verify),
	("tdx_gcp", "59-", Bare::Verify),
	("tdx_azure", "56-", Bare::RefusesLast),
	("tdx_alibaba_td15", "65-", Bare::AllowingServiceTd),
	("tdx_v5_td15ex", "66-", Bare::Verify),
];

fn corpus_dir() -> PathBuf {
	let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/dcap-corpus/corpus");
	assert!(
		dir.is_dir(),
		"the DCAP corpus is missing at {} (shared/ beside the checkout)",
		dir.display()
	);
	dir
}

fn corpus_entry(prefix: &str) -> (Vec<u8>, Vec<u8>, u64) {
	let dir = corpus_dir();
	let entry = std::fs::read_dir(&dir)
		.unwrap()
		.filter_map(|e| e.ok())
		.find(|e| e.file_name().to_string_lossy().starts_with(prefix))
		.unwrap_or_else(|| panic!("no corpus quote {prefix}*"))
		.path();
	let meta: serde_json::Value =
		serde_json::from_slice(&std::fs::read(entry.join("meta.json")).unwrap()).unwrap();
	let first = &meta["collaterals"][0];
	let collateral = std::fs::read(entry.join(first["file"].as_str().unwrap())).unwrap();
	(std::fs::read(entry.join("quote.bin")).unwrap(), collateral, first["at"].as_u64().unwrap())
}

/// Accepts the corpus quotes' real statuses and TD attributes, so every platform verifies.
fn corpus_policy() -> AttestationPolicy {
	AttestationPolicy {
		allow_td_without_sept_ve_disable: true,
		allow_service_td: true,
		..AttestationPolicy::default()
	}
	.allow_status(TcbStatus::SWHardeningNeeded)
}

fn verify_corpus(c: &mut Criterion) {
	let verifier = Verifier::new(corpus_policy());
	let mut group = c.benchmark_group("verify_corpus");
	for (platform, prefix, bare) in PLATFORMS {
		let (quote, collateral_json, at) = corpus_entry(prefix);
		let collateral = Collateral::from_json(&collateral_json).expect("collateral");
		let dcap_collateral: dcap_qvl::QuoteCollateralV3 =
			serde_json::from_slice(&collateral_json).expect("collateral");
		verifier.verify(&quote, Some(&collateral), at, None).expect("ours accepts");
		let run_bare = move |quote: &[u8]| match bare {
			Bare::Verify | Bare::RefusesLast => {
				dcap_qvl::verify::verify(quote, &dcap_collateral, at)
			},
			Bare::AllowingServiceTd => dcap_qvl::verify::QuoteVerifier::new_prod()
				.allow_service_td(true)
				.verify(quote, &dcap_collateral, at),
		};
		let bare_verdict = run_bare(&quote);
		match bare {
			Bare::RefusesLast => {
				let refusal = bare_verdict.expect_err("dcap-qvl refuses").to_string();
				assert_eq!(refusal, "SEPT_VE_DISABLE is not enabled", "{platform}");
			},
			_ => {
				bare_verdict.expect("dcap-qvl accepts");
			},
		}
		paired(
			&mut group,
			platform,
			|| {
				black_box(verifier.verify(black_box(&quote), Some(&collateral), at, None)).ok();
			},
			|| {
				black_box(run_bare(black_box(&quote))).ok();
			},
		);
	}
	group.finish();
}

/// Benchmarks `ours` (as `<name>/enclave_worker_verifier`) and `bare` (as
/// `<name>/bare_dcap_qvl`), each timed while the other runs interleaved in the same loop, and
/// prints their [`paired_ratio`].
fn paired(
	group: &mut BenchmarkGroup<'_, WallTime>,
	name: &str,
	mut ours: impl FnMut(),
	mut bare: impl FnMut(),
) {
	let id = |side: &str| if name.is_empty() { side.to_string() } else { format!("{name}/{side}") };
	group.bench_function(id("enclave_worker_verifier"), |b| {
		b.iter_custom(|iterations| {
			let mut spent = Duration::ZERO;
			for _ in 0..iterations {
				let start = Instant::now();
				ours();
				spent += start.elapsed();
				bare();
			}
			spent
		})
	});
	group.bench_function(id("bare_dcap_qvl"), |b| {
		b.iter_custom(|iterations| {
			let mut spent = Duration::ZERO;
			for _ in 0..iterations {
				ours();
				let start = Instant::now();
				bare();
				spent += start.elapsed();
			}
			spent
		})
	});
	paired_ratio(name, &mut ours, &mut bare);
}

/// Pairs timed per report line: ~0.3 s of one verification each.
const PAIRS: usize = 300;

/// Prints the ratio of `ours` to `bare` over [`PAIRS`] pairs, each pair run back to back,
/// as the median of the per-pair ratios with its interquartile range: on a shared host a
/// pair sees one load, so its ratio is the overhead and not the load, and the median
/// ignores the pairs a load spike split.
fn paired_ratio(name: &str, ours: &mut impl FnMut(), bare: &mut impl FnMut()) {
	let mut ratios = Vec::with_capacity(PAIRS);
	let (mut ours_times, mut bare_times) = (Vec::new(), Vec::new());
	for _ in 0..PAIRS {
		let start = Instant::now();
		ours();
		let ours_took = start.elapsed();
		let start = Instant::now();
		bare();
		let bare_took = start.elapsed();
		ratios.push(ours_took.as_secs_f64() / bare_took.as_secs_f64());
		ours_times.push(ours_took.as_secs_f64() * 1e6);
		bare_times.push(bare_took.as_secs_f64() * 1e6);
	}
	let quantile = |values: &mut Vec<f64>, q: f64| {
		values.sort_by(f64::total_cmp);
		values[((values.len() - 1) as f64 * q).round() as usize]
	};
	let name = if name.is_empty() { "verify_tdx_quote" } else { name };
	eprintln!(
		"paired ratio {name}: {:.3} (interquartile {:.3}..{:.3}; medians ours {:.1} us, bare \
		 {:.1} us; {PAIRS} pairs)",
		quantile(&mut ratios, 0.5),
		quantile(&mut ratios, 0.25),
		quantile(&mut ratios, 0.75),
		quantile(&mut ours_times, 0.5),
		quantile(&mut bare_times, 0.5),
	);
}

criterion_group!(benches, verify_tdx_sample, verify_corpus);
criterion_main!(benches);
