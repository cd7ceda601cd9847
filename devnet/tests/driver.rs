//! The devnet driver itself (`enclave-update-devnet`, the README's main command): stopped with
//! SIGTERM or killed with SIGKILL mid-story, it leaves no node or worker behind. Beside the driver
//! because it runs the driver's binary (the end-to-end tests are in the top-level `tests/`).

use enclave_update_devnet::procs::wait_until;
use std::time::Duration;

const TEST_TIMEOUT: Duration = Duration::from_secs(480);
const WAIT: Duration = Duration::from_secs(120);

/// Whether process `pid` still runs (a zombie waiting for its new parent to reap it does not).
fn running(pid: i32) -> bool {
	let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
	// "pid (comm) state ppid …": the name may hold spaces and parentheses.
	let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
	!matches!(state, None | Some("Z" | "X"))
}

/// The processes whose parent is `parent`.
fn children(parent: i32) -> Vec<i32> {
	let mut found = Vec::new();
	for entry in std::fs::read_dir("/proc").unwrap().flatten() {
		let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
		let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
		let ppid = stat
			.rsplit_once(')')
			.and_then(|(_, rest)| rest.split_whitespace().nth(1))
			.and_then(|ppid| ppid.parse::<i32>().ok());
		if ppid == Some(parent) {
			found.push(pid);
		}
	}
	found
}

#[tokio::test(flavor = "multi_thread")]
async fn the_devnet_driver_stopped_or_killed_leaves_no_process() {
	tokio::time::timeout(TEST_TIMEOUT, async {
		for signal in [libc::SIGTERM, libc::SIGKILL] {
			let root = tempfile::tempdir().unwrap();
			let mut driver =
				std::process::Command::new(env!("CARGO_BIN_EXE_enclave-update-devnet"))
					.arg("--keep")
					.arg(root.path())
					.stdin(std::process::Stdio::null())
					.stdout(std::process::Stdio::piped())
					.stderr(std::process::Stdio::piped())
					.spawn()
					.unwrap();
			let pid = libc::pid_t::try_from(driver.id()).unwrap();
			// The node and worker A run once the story is at its second step.
			let stdout = driver.stdout.take().unwrap();
			let (lines, mut printed) = tokio::sync::mpsc::unbounded_channel();
			std::thread::spawn(move || {
				use std::io::BufRead;
				for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
					let _ = lines.send(line);
				}
			});
			let mut story = Vec::new();
			while !story.last().is_some_and(|line: &String| line.contains("step  2")) {
				match tokio::time::timeout(WAIT, printed.recv()).await {
					Ok(Some(line)) => story.push(line),
					_ => panic!("the story did not reach step 2: {story:#?}"),
				}
			}
			let started = children(pid);
			assert!(started.len() >= 2, "the node and worker A run: {started:?}");

			// SAFETY: kill(2) on our own child.
			assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
			let exit = driver.wait().unwrap();
			assert!(!exit.success(), "{exit:?}");
			if signal == libc::SIGTERM {
				let mut stderr = String::new();
				std::io::Read::read_to_string(&mut driver.stderr.take().unwrap(), &mut stderr)
					.unwrap();
				assert!(stderr.contains("SIGTERM: stopped every process"), "{stderr}");
			}
			wait_until(
				"the driver's processes are gone",
				WAIT,
				Duration::from_millis(100),
				|| async { Ok(started.iter().all(|&child| !running(child))) },
			)
			.await
			.unwrap_or_else(|e| panic!("after signal {signal}: {e}: {story:#?}"));
		}
	})
	.await
	.expect("the test finishes in time");
}
