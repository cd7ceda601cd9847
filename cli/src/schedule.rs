//! `schedule`: the enclave schedule at the node's finalized head, every value checked against
//! the header's state root, with the pending referenda on the enclave tracks and, for a pair of
//! measurements, the provisioning decision the worker would take.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use enclave_worker::{
	chain::{
		referenda::{EnclaveCall, PendingReferendum, Proposal},
		rpc::RpcChain,
		ScheduleSource,
	},
	Measurement,
};

#[derive(Args, Debug)]
pub struct ScheduleArgs {
	/// The node's WebSocket RPC endpoint.
	#[arg(long, value_name = "URL", default_value = "ws://127.0.0.1:9944")]
	node: String,
	/// The providing enclave's measurement, for a decision.
	#[arg(long, value_name = "HEX", requires = "requester")]
	provider: Option<Measurement>,
	/// The requesting enclave's measurement, for a decision.
	#[arg(long, value_name = "HEX", requires = "provider")]
	requester: Option<Measurement>,
	/// The referenda pallet's name in the runtime, for the pending referenda on the enclave
	/// tracks (listed as read from the node, not proof-checked: they decide nothing yet).
	#[arg(long, value_name = "NAME", default_value = "Referenda")]
	referenda_pallet: String,
	/// The ids of the referenda tracks whose origins may change the schedule (the dev runtime's
	/// `enclave_admin` and `enclave_emergency`).
	#[arg(long, value_name = "ID,...", value_delimiter = ',', default_value = "0,1")]
	enclave_tracks: Vec<u16>,
	/// The EnclaveUpdate pallet's index in the runtime, to recognise its calls in referenda.
	#[arg(long, value_name = "INDEX", default_value_t = 10)]
	pallet_index: u8,
	/// Print JSON instead of text.
	#[arg(long)]
	json: bool,
}

pub async fn schedule(args: &ScheduleArgs) -> Result<ExitCode> {
	let chain = RpcChain::connect(&args.node, None, None)
		.await
		.with_context(|| format!("connecting to {}", args.node))?;
	let view = chain.verified_schedule().await?;
	let decision = args.provider.zip(args.requester).map(|(p, r)| (p, r, view.decide(&p, &r)));
	let referenda = pending_referenda(args, view.block_hash).await?;
	if args.json {
		let value = serde_json::json!({
			"genesis_hash": format!("0x{}", hex::encode(view.genesis_hash)),
			"block_number": view.block_number,
			"block_hash": format!("0x{}", hex::encode(view.block_hash)),
			"active": view.storage.active,
			"scheduled": view.storage.scheduled,
			"superseded": view.storage.superseded,
			"retired": view.storage.retired,
			"pending_referenda": referenda,
			"decision": decision.map(|(p, r, d)| serde_json::json!({
				"provider": p,
				"requester": r,
				"allowed": d.is_allowed(),
				"reason": format!("{d:?}"),
			})),
		});
		println!("{}", serde_json::to_string_pretty(&value)?);
	} else {
		println!("verified block: #{} 0x{}", view.block_number, hex::encode(view.block_hash));
		match view.storage.active {
			Some(a) => println!("active:         {} (since #{})", a.measurement, a.since),
			None => println!("active:         -"),
		}
		for s in &view.storage.scheduled {
			println!("scheduled:      {} at #{}", s.measurement, s.activates_at);
		}
		for s in &view.storage.superseded {
			println!(
				"superseded:     {} (#{}..#{})",
				s.measurement, s.activated_at, s.superseded_at
			);
		}
		for r in &view.storage.retired {
			println!("retired:        {r}");
		}
		for r in &referenda {
			let proposal = match &r.proposal {
				Proposal::Enclave(EnclaveCall::ScheduleEnclave { measurement, activates_at }) => {
					format!("schedule_enclave({measurement}, #{activates_at})")
				},
				Proposal::Enclave(EnclaveCall::CancelScheduled { measurement }) => {
					format!("cancel_scheduled({measurement})")
				},
				Proposal::Enclave(EnclaveCall::RetireEnclave { measurement }) => {
					format!("retire_enclave({measurement})")
				},
				Proposal::Other { call_data } => format!("another call {call_data}"),
				Proposal::Preimage { hash, .. } => format!("the preimage {hash}"),
			};
			let stage = match (r.decision_deposit_placed, r.deciding_since, r.confirming_until) {
				(false, _, _) => "awaiting its decision deposit".to_owned(),
				(true, None, _) => "preparing".to_owned(),
				(true, Some(since), None) => format!("deciding since #{since}"),
				(true, Some(_), Some(until)) => format!("confirming until #{until}"),
			};
			println!(
				"referendum:     #{} track {} (submitted #{}): {proposal}; {stage}; ayes {} nays {} \
				 support {}",
				r.index, r.track, r.submitted, r.ayes, r.nays, r.support
			);
		}
		if let Some((p, r, d)) = &decision {
			println!("decision:       {p} -> {r}: {d:?}");
		}
	}
	Ok(match decision {
		Some((_, _, d)) if !d.is_allowed() => ExitCode::FAILURE,
		_ => ExitCode::SUCCESS,
	})
}

/// The ongoing referenda on the enclave tracks at block `at`, from the node's storage.
async fn pending_referenda(args: &ScheduleArgs, at: [u8; 32]) -> Result<Vec<PendingReferendum>> {
	use enclave_worker::chain::referenda::{decode_pending, index_of_key, referendum_info_prefix};
	use subxt_rpcs::{methods::LegacyRpcMethods, RpcClient};
	let client = RpcClient::from_insecure_url(&args.node)
		.await
		.with_context(|| format!("connecting to {}", args.node))?;
	let rpc = LegacyRpcMethods::<enclave_worker::chain::rpc::WorkerRpcConfig>::new(client);
	let prefix = referendum_info_prefix(&args.referenda_pallet);
	let at = Some(sp_core::H256(at));
	let mut pending = Vec::new();
	let mut start: Option<Vec<u8>> = None;
	loop {
		let keys = rpc
			.state_get_keys_paged(&prefix, 256, start.as_deref(), at)
			.await
			.context("listing the referenda")?;
		for key in &keys {
			let Some(index) = index_of_key(&prefix, key) else { continue };
			let Some(value) =
				rpc.state_get_storage(key, at).await.context("reading a referendum")?
			else {
				continue;
			};
			if let Some(referendum) =
				decode_pending(index, &value, &args.enclave_tracks, args.pallet_index)
					.with_context(|| format!("decoding referendum #{index}"))?
			{
				pending.push(referendum);
			}
		}
		if keys.len() < 256 {
			break;
		}
		start = keys.last().cloned();
	}
	pending.sort_by_key(|r| r.index);
	Ok(pending)
}
