//! `enclave-update-cli`: the commands of enclave-update that run outside the enclave, for users
//! (`shield`, `registry`), operators (`register`, `commit-cut-over`, `verify-quote`) and those who
//! vote on a build (`schedule`, `policy`).
//!
//! They share the worker's library (its call format, proofs, verifier and measured policy) but
//! not its binary: the enclave binary `enclave-worker` keeps only what runs inside the TEE
//! (`init`, `run`, `request-keys`, `status`), so an edit here never changes the enclave's
//! measurement, and governance never has to schedule a build for one.

mod commit_cut_over;
mod policy;
mod register;
mod registry;
mod schedule;
mod shield;
mod submit;
mod verify_quote;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// enclave-update's commands outside the enclave: shield a call to a worker, read the enclave
/// schedule with storage proofs, verify a quote, print a build's measured policy.
#[derive(Parser, Debug)]
#[command(name = "enclave-update-cli", version)]
struct Cli {
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
	/// Encrypt a shielded call to the chain's shielding key (`--node`: from the enclave
	/// registry, proof-checked; or `--to`), printing the envelope as 0x-hex for the inbox
	/// pallet's `submit`. Exactly one of `--put`, `--delete`, `--increment`.
	Shield(shield::ShieldArgs),
	/// Show the enclave registry at the node's GRANDPA-verified finalized head, every record read
	/// with a storage proof: the chain's key set, its shielding key, the registered enclaves.
	Registry(registry::RegistryArgs),
	/// Register an enclave on chain (`EnclaveRegistry::register_enclave`) from the evidence
	/// `enclave-worker register-evidence --account` printed, signed by that account; the runtime
	/// verifies the quote. Registering again renews the record (re-attestation).
	Register(register::RegisterArgs),
	/// Submit a predecessor's signed commitment to its final state at a cut-over
	/// (`EnclaveRegistry::commit_cut_over`), from the `cutover.commitment.json` its `run` wrote,
	/// signed by the account of its registration. The successor waits for it.
	CommitCutOver(commit_cut_over::CommitCutOverArgs),
	/// Show the EnclaveUpdate schedule at the node's finalized head, read with storage proofs
	/// checked against the header's state root (the node is not trusted for the values). With
	/// `--provider` and `--requester`, also show whether the provider may hand its keys over;
	/// exits non-zero when it may not.
	Schedule(schedule::ScheduleArgs),
	/// Verify a quote against collateral and a policy: by default the measured policy of the
	/// enclave built from this source (`policy`), which the flags can relax to try a platform
	/// against a candidate policy. Prints the proven identity and the verdict; exits non-zero if
	/// the quote is refused. A diagnostic: the enclave's `run` and `request-keys` take no policy
	/// flags.
	VerifyQuote(verify_quote::VerifyQuoteArgs),
	/// Print what the measurement of the enclave built from this source covers besides code: the
	/// attestation policy its `run` and `request-keys` judge peers by, and the names of the
	/// pallets it reads. They are compiled in; another policy is another build, which governance
	/// must schedule.
	Policy {
		/// Print JSON instead of text.
		#[arg(long)]
		json: bool,
	},
}

fn main() -> ExitCode {
	enclave_worker::command::main_with(|| run(Cli::parse()))
}

fn run(cli: Cli) -> Result<ExitCode> {
	let runtime = || tokio::runtime::Builder::new_current_thread().enable_all().build();
	match cli.command {
		Command::Shield(args) => runtime()?.block_on(shield::shield(&args)),
		Command::VerifyQuote(args) => verify_quote::verify_quote(&args),
		Command::Policy { json } => policy::print_policy(json),
		Command::Schedule(args) => runtime()?.block_on(schedule::schedule(&args)),
		Command::Registry(args) => runtime()?.block_on(registry::registry(&args)),
		Command::Register(args) => runtime()?.block_on(register::register(&args)),
		Command::CommitCutOver(args) => {
			runtime()?.block_on(commit_cut_over::commit_cut_over(&args))
		},
	}
}

/// `text` as bytes, with or without `0x`; `what` names the flag in the error.
fn parse_hex(text: &str, what: &str) -> Result<Vec<u8>> {
	hex::decode(text.strip_prefix("0x").unwrap_or(text)).with_context(|| format!("{what}: bad hex"))
}
