//! TCB level matching on the collateral's TCB info, for the two cases dcap-qvl cannot report:
//!
//! - a TD without SEPT_VE_DISABLE. dcap-qvl 0.7 refuses it with a hard-coded check that runs after
//!   every signature, chain, CRL, QE identity and TCB check has passed (the last step of
//!   `verify_impl`), so the refusal proves the quote genuine, but it carries no TCB status.
//!   [`tcb_verdict`] computes that status the way dcap-qvl does (its `find_tcb_level`,
//!   `evaluate_tdx_tcb`, `match_qe_tcb_level` and `check_for_relaunch`, on its own parsed types),
//!   so the policy, not the library, decides about the attribute. The corpus tests check that it
//!   agrees with dcap-qvl on every quote dcap-qvl itself accepts;
//! - a platform older than every TCB level: [`explain_no_level`] names the components that fall
//!   short of the nearest level, e.g. `SEAMLDR ACM SVN 3 < 5`.

use std::cmp::Ordering;

use dcap_qvl::{
	quote::{EnclaveReport, Quote},
	SvnComponent, SvnShortfall, TcbInfo, TcbLevel, TcbStatus, TcbStatusWithAdvisory,
};

use super::{collateral::Levels, AttestationError};

/// The platform facts TCB matching needs, from the PCK certificate's SGX extension.
pub(super) struct Platform {
	pub cpu_svn: [u8; 16],
	pub pce_svn: u16,
}

impl Platform {
	/// Reads them from the PCK leaf certificate (DER).
	pub fn from_pck_leaf(der: &[u8]) -> Result<Self, AttestationError> {
		let extension = dcap_qvl::intel::parse_pck_extension(der).map_err(|e| {
			AttestationError::CertificationDataInvalid(format!("PCK certificate: {e:#}"))
		})?;
		Ok(Self { cpu_svn: extension.cpu_svn, pce_svn: extension.pce_svn })
	}
}

/// A TCB status with its advisories.
pub(super) type Verdict = TcbStatusWithAdvisory;

/// The TCB status and advisories of a TD quote whose signatures and collateral have been
/// verified (see the module docs for when it is used). Only TD quotes: an SGX quote always
/// gets its verdict from dcap-qvl.
pub(super) fn tcb_verdict(
	levels: &Levels,
	quote: &Quote,
	platform: &Platform,
) -> Result<Verdict, AttestationError> {
	let td = quote
		.report
		.as_td10()
		.ok_or_else(|| AttestationError::UnsupportedQuote("not a TD report".into()))?;
	let tcb_info = &levels.tcb_info;
	let launch = td_level(tcb_info, platform, &td.tee_tcb_svn)?;
	let qe = qe_level(levels, quote)?;
	let mut verdict = launch.merge(&qe);
	if let Some(td15) = quote.report.as_td15() {
		let current = td_level(tcb_info, platform, &td15.tee_tcb_svn2)?.merge(&qe);
		if current.status == TcbStatus::Revoked {
			return Err(AttestationError::TcbRevoked);
		}
		verdict.status = check_for_relaunch(verdict.status, current.status);
	}
	if verdict.status == TcbStatus::Revoked {
		return Err(AttestationError::TcbRevoked);
	}
	Ok(verdict)
}

/// The TCB info with its levels in Intel QVL's order (dcap-qvl's `canonicalize_tcb_levels`):
/// highest SGX components first, then highest PCE SVN, then (TDX) highest TDX components.
pub(super) fn sorted(mut tcb_info: TcbInfo) -> TcbInfo {
	let is_tdx = tcb_info.version >= 3 && tcb_info.id == "TDX";
	tcb_info.tcb_levels.sort_by(|a, b| {
		b.tcb
			.sgx_components
			.cmp(&a.tcb.sgx_components)
			.then_with(|| b.tcb.pce_svn.cmp(&a.tcb.pce_svn))
			.then_with(|| {
				if is_tdx {
					b.tcb.tdx_components.cmp(&a.tcb.tdx_components)
				} else {
					Ordering::Equal
				}
			})
	});
	tcb_info
}

/// The first level the platform meets, converged with its TDX module's level.
fn td_level(
	tcb_info: &TcbInfo,
	platform: &Platform,
	tee_tcb_svn: &[u8; 16],
) -> Result<Verdict, AttestationError> {
	let level = first_met(tcb_info, platform, Some(tee_tcb_svn))?.ok_or_else(|| {
		AttestationError::TcbLevelNotFound { shortfall: "no TCB level is met".into() }
	})?;
	let verdict = Verdict::new(level.tcb_status, level.advisory_ids.clone());
	let identity = tcb_info
		.tdx_module_identity(tee_tcb_svn)
		.map_err(|e| AttestationError::CollateralInvalid(format!("{e:#}")))?;
	let Some(identity) = identity else { return Ok(verdict) };
	let module = identity.tcb_levels.iter().find(|l| l.shortfall(tee_tcb_svn).is_none()).ok_or(
		AttestationError::TcbLevelNotFound {
			shortfall: format!("TDX module ISVSVN {} is below every module level", tee_tcb_svn[0]),
		},
	)?;
	// A module component converges like a QE: only OutOfDate or Revoked changes the status.
	Ok(verdict.merge(&Verdict::new(module.tcb_status, module.advisory_ids.clone())))
}

fn first_met<'a>(
	tcb_info: &'a TcbInfo,
	platform: &Platform,
	tee_tcb_svn: Option<&[u8; 16]>,
) -> Result<Option<&'a TcbLevel>, AttestationError> {
	for level in &tcb_info.tcb_levels {
		let shortfalls = level
			.shortfalls(&platform.cpu_svn, platform.pce_svn, tee_tcb_svn)
			.map_err(|e| AttestationError::CollateralInvalid(format!("TCB info: {e:#}")))?;
		if shortfalls.is_empty() {
			return Ok(Some(level));
		}
	}
	Ok(None)
}

/// The QE identity level the quoting enclave's ISV SVN meets.
fn qe_level(levels: &Levels, quote: &Quote) -> Result<Verdict, AttestationError> {
	use codec::Decode as _;
	let qe_report = EnclaveReport::decode(&mut &quote.qe_report()[..])
		.map_err(|e| AttestationError::Malformed(format!("QE report: {e}")))?;
	levels
		.qe_identity
		.tcb_levels
		.iter()
		.find(|level| qe_report.isv_svn >= level.tcb.isvsvn)
		.map(|level| Verdict::new(level.tcb_status, level.advisory_ids.clone()))
		.ok_or_else(|| {
			AttestationError::Verification(format!(
				"QE ISV SVN {} is below every QE identity level",
				qe_report.isv_svn
			))
		})
}

/// A TD 1.5's status from its launch and current statuses (dcap-qvl's `check_for_relaunch`,
/// after Intel QVL's `checkForRelaunch`).
fn check_for_relaunch(launch: TcbStatus, current: TcbStatus) -> TcbStatus {
	use TcbStatus::*;
	let configuration_needed = |status| {
		matches!(
			status,
			ConfigurationNeeded
				| OutOfDateConfigurationNeeded
				| ConfigurationAndSWHardeningNeeded
				| TDRelaunchAdvisedConfigurationNeeded
		)
	};
	match (launch, current) {
		(
			OutOfDate | OutOfDateConfigurationNeeded,
			UpToDate | SWHardeningNeeded | ConfigurationNeeded | ConfigurationAndSWHardeningNeeded,
		) => {
			if configuration_needed(launch) || configuration_needed(current) {
				TDRelaunchAdvisedConfigurationNeeded
			} else {
				TDRelaunchAdvised
			}
		},
		_ => launch,
	}
}

/// What falls short of the nearest TCB level, for a platform that meets none: the level with
/// the fewest short components, each named as the TCB info names it
/// (`SEAMLDR ACM SVN 3 < 5`).
pub(super) fn explain_no_level(
	levels: &Levels,
	raw_tcb_info: &str,
	quote: &Quote,
	platform: &Platform,
) -> String {
	let names = ComponentNames::of(raw_tcb_info);
	let tcb_info = &levels.tcb_info;
	let launch = quote.report.as_td10().map(|td| td.tee_tcb_svn);
	let meets = |tee_tcb_svn: Option<&[u8; 16]>| {
		tcb_info.tcb_levels.iter().any(|level| {
			level
				.shortfalls(&platform.cpu_svn, platform.pce_svn, tee_tcb_svn)
				.is_ok_and(|shortfalls| shortfalls.is_empty())
		})
	};
	// A TD 1.5 whose launch TCB meets a level fell short with its current TCB.
	let (which, tee_tcb_svn) = match quote.report.as_td15() {
		Some(td15) if meets(launch.as_ref()) => {
			("current TCB (TEE_TCB_SVN2) ", Some(td15.tee_tcb_svn2))
		},
		_ => ("", launch),
	};
	let nearest = tcb_info
		.tcb_levels
		.iter()
		.filter_map(|level| {
			let shortfalls = level
				.shortfalls(&platform.cpu_svn, platform.pce_svn, tee_tcb_svn.as_ref())
				.ok()?;
			Some((level, shortfalls))
		})
		.filter(|(_, shortfalls)| !shortfalls.is_empty())
		.min_by_key(|(_, shortfalls)| shortfalls.len());
	let Some((level, shortfalls)) = nearest else {
		return "the TCB info lists no level comparable with this platform".into();
	};
	let short = shortfalls.iter().map(|s| names.describe(s)).collect::<Vec<_>>().join(", ");
	format!("{which}against the nearest level ({}, {}): {short}", level.tcb_status, level.tcb_date)
}

/// The names the TCB info gives its components (`type`, else `category`), by index.
struct ComponentNames {
	sgx: Vec<Option<String>>,
	tdx: Vec<Option<String>>,
}

impl ComponentNames {
	fn of(raw_tcb_info: &str) -> Self {
		let value: serde_json::Value = serde_json::from_str(raw_tcb_info).unwrap_or_default();
		let tcb = &value["tcbLevels"][0]["tcb"];
		let names = |key: &str| {
			tcb[key]
				.as_array()
				.map(|components| {
					components
						.iter()
						.map(|c| {
							c["type"].as_str().or_else(|| c["category"].as_str()).map(String::from)
						})
						.collect()
				})
				.unwrap_or_default()
		};
		Self { sgx: names("sgxtcbcomponents"), tdx: names("tdxtcbcomponents") }
	}

	fn describe(&self, shortfall: &SvnShortfall) -> String {
		let name = |names: &[Option<String>], index: u8, kind: &str| match names
			.get(usize::from(index))
			.cloned()
			.flatten()
		{
			Some(name) => format!("{name} ({kind} component {index})"),
			None => format!("{kind} component {index}"),
		};
		let component = match shortfall.component {
			SvnComponent::Sgx(index) => name(&self.sgx, index, "SGX TCB"),
			SvnComponent::Tdx(index) => name(&self.tdx, index, "TDX TCB"),
			SvnComponent::PceSvn => "PCE".into(),
			SvnComponent::TdxModuleIsvSvn => "TDX module ISV".into(),
		};
		format!("{component} SVN {} < {}", shortfall.have, shortfall.needs)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::attestation::{decode_evidence, Collateral, Evidence};

	/// `shared/dcap-corpus/corpus` beside the checkout; its absence fails the test.
	fn corpus_quotes() -> Vec<std::path::PathBuf> {
		let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
			.join("../../shared/dcap-corpus/corpus");
		let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
			panic!("the DCAP corpus is missing at {} ({e}): this test needs it", dir.display())
		});
		let mut quotes: Vec<_> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
		quotes.retain(|path| path.join("meta.json").is_file());
		quotes.sort();
		quotes
	}

	#[test]
	fn our_td_level_matching_agrees_with_dcap_qvl_on_every_td_it_accepts() {
		let mut compared = 0;
		for dir in corpus_quotes() {
			let meta: serde_json::Value =
				serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
			let quote = std::fs::read(dir.join("quote.bin")).unwrap();
			let Ok(Evidence::Dcap(evidence)) = decode_evidence(&quote) else { continue };
			if evidence.quote().report.as_td10().is_none() {
				continue;
			}
			for collateral in meta["collaterals"].as_array().unwrap() {
				let file = dir.join(collateral["file"].as_str().unwrap());
				let collateral_at = collateral["at"].as_u64().unwrap();
				let collateral = Collateral::from_file(&file).unwrap();
				let verified = dcap_qvl::verify::QuoteVerifier::new_prod()
					.allow_debug(true)
					.allow_service_td(true)
					.verify(evidence.canonical_bytes(), collateral.as_dcap(), collateral_at);
				let Ok(report) = verified else { continue };
				let leaf = &evidence.pck_chain().unwrap().ders[0];
				let platform = Platform::from_pck_leaf(leaf).unwrap();
				let ours =
					tcb_verdict(collateral.levels().unwrap(), evidence.quote(), &platform).unwrap();
				let what = format!("{} at {collateral_at}", dir.display());
				assert_eq!(ours.status.to_string(), report.status, "{what}");
				assert_eq!(ours.advisory_ids, report.advisory_ids, "{what}");
				compared += 1;
			}
		}
		// Every TD verdict of the corpus that dcap-qvl gives (SEPT_VE_DISABLE set).
		assert!(compared >= 60, "compared {compared} verdicts");
	}

	#[test]
	fn a_td_1_5_launched_out_of_date_and_now_up_to_date_is_advised_to_relaunch() {
		use TcbStatus::*;
		assert_eq!(check_for_relaunch(OutOfDate, UpToDate), TDRelaunchAdvised);
		assert_eq!(
			check_for_relaunch(OutOfDate, ConfigurationNeeded),
			TDRelaunchAdvisedConfigurationNeeded
		);
		assert_eq!(check_for_relaunch(OutOfDate, OutOfDate), OutOfDate);
		assert_eq!(check_for_relaunch(UpToDate, UpToDate), UpToDate);
	}
}
