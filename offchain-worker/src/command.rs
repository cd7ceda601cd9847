//! What the `main` of every command-line binary of the project does (the enclave's
//! `enclave-worker` and the client `enclave-update-cli`): logs to standard error, filtered by
//! `RUST_LOG` (default `info`), standard output left to the command's result; an error is printed
//! once, with its causes, and exits non-zero.

use std::process::ExitCode;

/// Runs `command` with logging set up; its error becomes `error: …` on standard error and a
/// failing exit code.
pub fn main_with(command: impl FnOnce() -> anyhow::Result<ExitCode>) -> ExitCode {
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env()
				.unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
		)
		.with_writer(std::io::stderr)
		.init();
	match command() {
		Ok(code) => code,
		Err(e) => {
			eprintln!("error: {e:#}");
			ExitCode::FAILURE
		},
	}
}
