//! `policy`: what the measurement of the enclave built from this source covers besides code,
//! for those who vote on scheduling it.

use std::process::ExitCode;

use anyhow::Result;

pub fn print_policy(json: bool) -> Result<ExitCode> {
	let configuration = enclave_worker::measured::configuration();
	if json {
		println!("{}", serde_json::to_string_pretty(&configuration)?);
		return Ok(ExitCode::SUCCESS);
	}
	let policy = &configuration.policy;
	let list = |items: Vec<String>| if items.is_empty() { "none".into() } else { items.join(", ") };
	let pin = |value: Option<String>| value.unwrap_or_else(|| "not pinned".into());
	println!("measured configuration of this build (compiled in, covered by its measurement)");
	println!(
		"  simulated evidence:     {}",
		if configuration.accepts_simulated_evidence {
			"accepted (a dev-tee build: never run it in production)"
		} else {
			"refused"
		}
	);
	println!(
		"  accepted TCB statuses:  {}",
		list(policy.accepted_tcb_statuses.iter().map(|s| s.to_string()).collect())
	);
	println!(
		"  rejected advisories:    {}",
		list(policy.rejected_advisories.iter().cloned().collect())
	);
	println!(
		"  debug enclaves:         {}",
		if policy.allow_debug { "accepted" } else { "refused" }
	);
	println!(
		"  TD without SEPT_VE_DISABLE: {}",
		if policy.allow_td_without_sept_ve_disable { "accepted" } else { "refused" }
	);
	println!(
		"  TD bound to a service TD:   {}",
		if policy.allow_service_td { "accepted" } else { "refused" }
	);
	println!(
		"  MRSIGNER:               {}",
		pin(policy.mrsigner.as_ref().map(|m| format!("0x{}", hex::encode(m))))
	);
	println!("  ISV product id:         {}", pin(policy.product_id.map(|p| p.to_string())));
	println!("  minimum ISV SVN:        {}", pin(policy.min_svn.map(|s| s.to_string())));
	let pallets = &configuration.pallets;
	println!(
		"  pallets read:           {} (schedule), {} (shielded calls), {} (finality), {} (chain time)",
		pallets.enclave_update, pallets.inbox, pallets.grandpa, pallets.timestamp
	);
	Ok(ExitCode::SUCCESS)
}
