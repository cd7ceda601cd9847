//! TCP fault proxies between workers: a relay in front of a predecessor's provisioning port that
//! refuses, holds, truncates or passes snapshot transfers as a test plans, and a relay that cuts
//! a key hand-over after any of its frames. They see only ciphertext and framing: what a host on
//! the network path can do.

use std::{
	collections::VecDeque,
	sync::{Arc, Mutex},
	time::Duration,
};

use tokio::{
	io::{AsyncReadExt, AsyncWriteExt},
	net::{TcpListener, TcpStream},
	sync::mpsc,
};

/// How long a test waits for a relay to reach a planned point.
const WAIT: Duration = Duration::from_secs(120);

/// Reads one provisioning frame (a `u32` big-endian length, then that many bytes).
pub async fn read_frame(from: &mut TcpStream) -> std::io::Result<Vec<u8>> {
	let mut len = [0u8; 4];
	from.read_exact(&mut len).await?;
	let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
	from.read_exact(&mut frame).await?;
	Ok(frame)
}

/// Writes one provisioning frame.
pub async fn write_frame(to: &mut TcpStream, frame: &[u8]) -> std::io::Result<()> {
	to.write_all(&u32::try_from(frame.len()).unwrap().to_be_bytes()).await?;
	to.write_all(frame).await
}

/// What a [`SnapshotRelay`] does with one snapshot transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transfer {
	/// Closes the successor's connection at once.
	Refuse,
	/// Takes the successor's request and holds it: the successor waits for the snapshot.
	Hold,
	/// Forwards the request to the predecessor and passes nothing back.
	Forward,
	/// Forwards the request, then the first half of the snapshot, and closes both sockets.
	Truncate,
	/// Forwards both ways.
	Pass,
}

/// A TCP relay in front of a predecessor's provisioning port, for the successor's snapshot
/// fetches: each connection gets the next planned [`Transfer`] (then the default), and the
/// test hears when each planned one has reached its point.
pub struct SnapshotRelay {
	/// The address the successor fetches from instead of the predecessor's.
	pub addr: String,
	plan: Arc<Mutex<(VecDeque<Transfer>, Transfer)>>,
	reached: mpsc::UnboundedReceiver<Transfer>,
}

impl SnapshotRelay {
	/// A relay in front of `provider`, refusing every transfer until [`Self::plan`] says otherwise.
	pub async fn start(provider: String) -> SnapshotRelay {
		let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
		let addr = listener.local_addr().unwrap().to_string();
		let plan = Arc::new(Mutex::new((VecDeque::new(), Transfer::Refuse)));
		let (report, reached) = mpsc::unbounded_channel();
		let relay_plan = plan.clone();
		tokio::spawn(async move {
			while let Ok((successor, _)) = listener.accept().await {
				let (plan, report, provider) =
					(relay_plan.clone(), report.clone(), provider.clone());
				tokio::spawn(async move {
					let transfer = {
						let mut plan = plan.lock().unwrap();
						plan.0.pop_front().unwrap_or(plan.1)
					};
					if !Self::transfer(transfer, successor, &provider, &report).await {
						// Not reached (the predecessor is down): the next fetch gets it.
						if !matches!(transfer, Transfer::Refuse | Transfer::Pass) {
							plan.lock().unwrap().0.push_front(transfer);
						}
					}
				});
			}
		});
		SnapshotRelay { addr, plan, reached }
	}

	/// Carries out `transfer` on one connection, reporting it once at its point; whether it
	/// got there.
	async fn transfer(
		transfer: Transfer,
		mut successor: TcpStream,
		provider: &str,
		report: &mpsc::UnboundedSender<Transfer>,
	) -> bool {
		if transfer == Transfer::Refuse {
			return true;
		}
		let Ok(request) = read_frame(&mut successor).await else { return false };
		if transfer == Transfer::Hold {
			let _ = report.send(transfer);
			// Until the successor is gone: a read returns when it closes or dies.
			let _ = successor.read(&mut [0u8; 1]).await;
			return true;
		}
		let Ok(mut predecessor) = TcpStream::connect(provider).await else { return false };
		if write_frame(&mut predecessor, &request).await.is_err() {
			return false;
		}
		let answer = match transfer {
			Transfer::Forward => {
				let _ = report.send(transfer);
				let _ = read_frame(&mut predecessor).await;
				return true;
			},
			_ => match read_frame(&mut predecessor).await {
				Ok(answer) => answer,
				Err(_) => return false,
			},
		};
		if transfer == Transfer::Truncate {
			let len = u32::try_from(answer.len()).unwrap().to_be_bytes();
			let _ = successor.write_all(&len).await;
			let _ = successor.write_all(&answer[..answer.len() / 2]).await;
			let _ = report.send(transfer);
			// Dropping both ends: an abrupt close, mid-transfer.
			return true;
		}
		write_frame(&mut successor, &answer).await.is_ok()
	}

	/// The next transfers to carry out, then `default` for every later one.
	pub fn plan(&self, next: &[Transfer], default: Transfer) {
		*self.plan.lock().unwrap() = (next.iter().copied().collect(), default);
	}

	/// Waits until the next planned transfer has reached its point; returns which.
	pub async fn reached(&mut self) -> Transfer {
		tokio::time::timeout(WAIT, self.reached.recv())
			.await
			.expect("a snapshot fetch")
			.unwrap()
	}
}

/// A TCP relay in front of a provider for one key hand-over after another: it forwards the
/// strictly alternating handshake frames (ChallengeRequest, Challenge, KeyRequest, KeyResponse,
/// Ack), tells the test how many it has forwarded after each one, and closes both sockets
/// abruptly after `cut_after` of them if that is set: the connection dies at that step.
pub async fn handover_relay(
	provider: String,
	cut_after: Option<usize>,
) -> (String, mpsc::UnboundedReceiver<usize>) {
	let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap().to_string();
	let (report, forwarded) = mpsc::unbounded_channel();
	tokio::spawn(async move {
		while let Ok((mut requester, _)) = listener.accept().await {
			let Ok(mut provider) = TcpStream::connect(&provider).await else {
				continue;
			};
			for step in 0..cut_after.unwrap_or(5) {
				let (from, to) = if step % 2 == 0 {
					(&mut requester, &mut provider)
				} else {
					(&mut provider, &mut requester)
				};
				let Ok(frame) = read_frame(from).await else { break };
				if write_frame(to, &frame).await.is_err() {
					break;
				}
				let _ = report.send(step + 1);
			}
			// Dropping both ends: an abrupt close, mid-handshake (or after the Ack).
		}
	});
	(addr, forwarded)
}

/// Waits until the relay has forwarded `frames` frames of the current hand-over.
pub async fn forwarded(reports: &mut mpsc::UnboundedReceiver<usize>, frames: usize) {
	loop {
		let n = tokio::time::timeout(WAIT, reports.recv())
			.await
			.expect("relay progress")
			.unwrap();
		if n >= frames {
			return;
		}
	}
}
