//! `verify-quote`: an operator's diagnostic of a quote against collateral and a policy, the
//! build's measured one unless the flags relax it. It decides nothing: the enclave judges its
//! peers by the measured policy alone.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Context, Result};
use clap::Args;
use enclave_worker::attestation::{
	AttestationPolicy, Collateral, CollateralCache, PeerIdentity, TcbStatus, Verifier,
};

use crate::parse_hex;

#[derive(Args, Debug)]
pub struct VerifyQuoteArgs {
	/// The quote file (raw bytes).
	quote: PathBuf,
	/// Collateral JSON (dcap-qvl format) for a DCAP quote.
	#[arg(long, value_name = "JSON")]
	collateral: Option<PathBuf>,
	/// Verification time in unix seconds (default: now). Collateral must be valid then.
	#[arg(long, value_name = "UNIX")]
	at: Option<u64>,
	/// Directory of cached DCAP collateral (`<fmspc>-<ca>.json` files), when `--collateral` is
	/// not given.
	#[arg(long, value_name = "DIR")]
	collateral_dir: Option<PathBuf>,
	/// Fetch collateral missing from (or stale in) `--collateral-dir` from this PCCS, e.g.
	/// `https://pccs.example:8081/sgx/certification/v4/` (needs a build with the `pccs` feature).
	#[arg(long, value_name = "URL", requires = "collateral_dir")]
	pccs_url: Option<String>,
	#[command(flatten)]
	policy: CandidatePolicyArgs,
	/// Require this report data (0x-hex, 64 bytes).
	#[arg(long, value_name = "HEX")]
	report_data: Option<String>,
	/// Print JSON instead of text.
	#[arg(long)]
	json: bool,
}

/// `verify-quote`'s relaxations of the measured policy, to try a platform against a candidate
/// policy. Diagnostic only: no command that hands or receives keys takes them.
#[derive(Args, Debug, Clone)]
struct CandidatePolicyArgs {
	/// Also accept this TCB status (repeatable), e.g. SWHardeningNeeded.
	#[arg(long, value_name = "STATUS")]
	allow_status: Vec<TcbStatus>,
	/// Refuse quotes carrying this advisory id (repeatable), e.g. INTEL-SA-00615.
	#[arg(long, value_name = "ID")]
	reject_advisory: Vec<String>,
	/// Accept debug enclaves.
	#[arg(long)]
	allow_debug: bool,
	/// Accept TDs without the SEPT_VE_DISABLE attribute (e.g. Azure's TDX CVMs).
	#[arg(long)]
	allow_td_without_sept_ve_disable: bool,
	/// Accept TDs bound to a service TD (e.g. Alibaba Cloud's TD 1.5 guests).
	#[arg(long)]
	allow_service_td: bool,
	/// Require this MRSIGNER (0x-hex).
	#[arg(long, value_name = "HEX")]
	mrsigner: Option<String>,
	/// Require this ISV product id.
	#[arg(long, value_name = "ID")]
	product_id: Option<u16>,
	/// Require at least this ISV SVN.
	#[arg(long, value_name = "SVN")]
	min_svn: Option<u16>,
}

impl CandidatePolicyArgs {
	fn policy(&self) -> Result<AttestationPolicy> {
		let mut policy = enclave_worker::measured::policy();
		policy.allow_debug |= self.allow_debug;
		policy.allow_td_without_sept_ve_disable |= self.allow_td_without_sept_ve_disable;
		policy.allow_service_td |= self.allow_service_td;
		policy.product_id = self.product_id.or(policy.product_id);
		policy.min_svn = self.min_svn.or(policy.min_svn);
		policy.accepted_tcb_statuses.extend(self.allow_status.iter().copied());
		policy.rejected_advisories.extend(self.reject_advisory.iter().cloned());
		if let Some(signer) = &self.mrsigner {
			policy.mrsigner = Some(parse_hex(signer, "--mrsigner")?);
		}
		Ok(policy)
	}
}

pub fn verify_quote(args: &VerifyQuoteArgs) -> Result<ExitCode> {
	let quote =
		std::fs::read(&args.quote).with_context(|| format!("reading {}", args.quote.display()))?;
	let now = match args.at {
		Some(at) => at,
		None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
	};
	let cache =
		CollateralCache::from_options(args.collateral_dir.as_deref(), args.pccs_url.as_deref())?;
	let collateral = match (&args.collateral, cache) {
		(Some(file), _) => Some(Collateral::from_file(file)?),
		(None, Some(cache)) => {
			enclave_worker::provisioning::collateral_for(Some(&cache), &quote, now)
				.context("collateral from --collateral-dir")?
		},
		(None, None) => None,
	};
	let report_data = match &args.report_data {
		Some(text) => {
			let bytes = parse_hex(text, "--report-data")?;
			Some(
				<[u8; 64]>::try_from(bytes.as_slice())
					.ok()
					.context("--report-data: need 64 bytes")?,
			)
		},
		None => None,
	};
	let verifier = Verifier::new(args.policy.policy()?);
	let identity = match verifier.check_evidence(&quote, collateral.as_ref(), now) {
		Ok(identity) => identity,
		Err(e) => {
			print_verdict(args.json, None, &Err(e.to_string()), now)?;
			return Ok(ExitCode::FAILURE);
		},
	};
	let verdict = verifier
		.policy()
		.evaluate(&identity, report_data.as_ref())
		.map_err(|e| e.to_string());
	print_verdict(args.json, Some(&identity), &verdict, now)?;
	Ok(if verdict.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_verdict(
	json: bool,
	identity: Option<&PeerIdentity>,
	verdict: &Result<(), String>,
	now: u64,
) -> Result<()> {
	if json {
		let value = serde_json::json!({
			"identity": identity,
			"accepted": verdict.is_ok(),
			"refusal": verdict.as_ref().err(),
			"verified_at": now,
		});
		println!("{}", serde_json::to_string_pretty(&value)?);
		return Ok(());
	}
	if let Some(id) = identity {
		println!("evidence:      {:?}", id.kind);
		println!("measurement:   {}", id.measurement);
		println!(
			"signer:        {}",
			id.signer.as_ref().map_or("-".into(), |s| format!("0x{}", hex::encode(s)))
		);
		println!("product id:    {}", id.product_id.map_or("-".into(), |v| v.to_string()));
		println!("svn:           {}", id.svn.map_or("-".into(), |v| v.to_string()));
		println!("debug:         {}", id.debug);
		if let Some(td) = id.td_attributes {
			println!(
				"td attributes: 0x{} (SEPT_VE_DISABLE {}, SERVTD_EXT {})",
				hex::encode(td.0),
				td.sept_ve_disable(),
				td.servtd_ext()
			);
		}
		if let Some(mr) = &id.service_td {
			println!("service TD:    0x{}", hex::encode(mr));
		}
		println!("tcb status:    {}", id.tcb_status);
		println!(
			"advisories:    {}",
			if id.advisory_ids.is_empty() { "-".into() } else { id.advisory_ids.join(", ") }
		);
		println!("report data:   0x{}", hex::encode(id.report_data));
	}
	match verdict {
		Ok(()) => println!("verdict:       ACCEPTED"),
		Err(reason) => println!("verdict:       REFUSED: {reason}"),
	}
	Ok(())
}
