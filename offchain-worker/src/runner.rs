//! The block loop: which enclave executes which block, and the cut-over between two builds.
//!
//! Every round the runner takes the node's finalized head (as far as the GRANDPA light client
//! believes it, [`crate::chain::grandpa`]), reads the EnclaveUpdate schedule there with storage
//! proofs, and asks it who executes each block: `measurement_at(n)`. It executes exactly the blocks
//! whose measurement is its own, in order, each once:
//!
//! - [`Role::Active`]: block `n` is ours. The shielded calls of `n` are read from the inbox pallet
//!   with a storage proof against `n`'s state root, applied to the state
//!   ([`crate::demo::ExecutedState::apply_block`], which refuses any block but the next one on the
//!   state's own parent hash), and the state is sealed to disk with the state key
//!   ([`crate::store::Store::write_snapshot`], atomic, the previous copy kept) before the next
//!   block is touched. A restart resumes from that snapshot, so no block is executed twice or
//!   skipped. A block whose state cannot be sealed (disk full, I/O error) counts as not executed:
//!   the state goes back to the sealed one and the block is retried next round.
//! - [`Role::Standby`]: our activation block `XYZ` is scheduled but not reached: we follow and
//!   verify the finalized heads and execute nothing.
//! - the cut-over: the predecessor executes up to `XYZ − 1` and stops there, because `XYZ` is not
//!   its block; its last snapshot is its final state. The successor fetches that snapshot from the
//!   predecessor's provisioning port ([`crate::provisioning::fetch_snapshot`]: the file is
//!   encrypted and authenticated with the state key, which only enclaves the schedule allowed were
//!   handed), accepts it only if it is the state after exactly `XYZ − 1` and `XYZ`'s parent hash is
//!   its block hash, and executes from `XYZ`. The state hash chains across: the successor's first
//!   state hash covers the predecessor's last one. Once the chain has a key set (its enclave
//!   registry is in use), the snapshot is bound to the chain too: the predecessor signs a
//!   commitment to its final state with its registered key ([`crate::registration::SignedCutOver`],
//!   left in the data directory for its operator to submit as `EnclaveRegistry::commit_cut_over`),
//!   and the successor takes the snapshot only if it is the committed state
//!   ([`RunnerError::SnapshotNotCommitted`] otherwise, retried), waiting until the commitment is on
//!   chain.
//! - [`Role::Retired`]: our measurement is superseded (and our last block executed) or retired: we
//!   execute nothing more, and keep serving the final snapshot to the successor.
//!
//! Nothing is taken from the host on trust: headers are hashed and linked by parent hash to
//! the accepted finalized head, and the schedule and the calls come with storage proofs.

use std::{sync::Arc, time::Duration};

use enclave_update_primitives::{CutOverCommitment, Measurement};

use crate::{
	chain::{
		rpc::{RpcChain, VerifiedBlock},
		BlockNumber, ChainError, VerifiedSchedule,
	},
	demo::{ExecError, ExecutedState},
	keys::{KeyStore, StateKey},
	provisioning::{fetch_snapshot, SnapshotFetchConfig, WireError},
	registration::{SignedCutOver, CUT_OVER_FILE},
	status::{CallCounts, Readiness, StatusError, WorkerStatus},
	store::{decode_snapshot, Store, StoreError},
	tee::SealingKey,
};

/// What this enclave does at the verified head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
	/// Follows the chain, executes nothing yet (activation ahead, or waiting for the
	/// predecessor's final snapshot).
	Standby,
	/// Executes its blocks.
	Active,
	/// Executes nothing more.
	Retired,
}

impl From<Role> for Readiness {
	fn from(role: Role) -> Self {
		match role {
			Role::Standby => Readiness::Standby,
			Role::Active => Readiness::Active,
			Role::Retired => Readiness::Retired,
		}
	}
}

/// Settings of a [`Runner`].
#[derive(Clone, Debug)]
pub struct RunnerConfig {
	/// Pause between rounds when there is nothing to do.
	pub poll_interval: Duration,
	/// The provisioning address of the enclave whose state this one continues: the predecessor
	/// at a cut-over, or a running enclave of the same measurement for a replica.
	pub predecessor: Option<String>,
	/// How the snapshot is fetched from it.
	pub fetch: SnapshotFetchConfig,
	/// This enclave's sealing key, to read its signing key (which `register-evidence` makes,
	/// maybe while `run` is running) at its cut-over: it signs the commitment to its final state
	/// ([`crate::registration::SignedCutOver`]). Without it, or without a signing key, no
	/// commitment is made.
	pub sealing_key: Option<Arc<SealingKey>>,
}

impl Default for RunnerConfig {
	fn default() -> Self {
		Self {
			poll_interval: Duration::from_millis(250),
			predecessor: None,
			fetch: SnapshotFetchConfig::default(),
			sealing_key: None,
		}
	}
}

/// Why a round failed.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
	/// The chain could not be read or did not verify. Transient unless it is
	/// [`ChainError::NotAncestor`] or a proof failure, which [`RunnerError::is_fatal`] tells.
	#[error("chain: {0}")]
	Chain(#[from] ChainError),
	/// The keys are not loaded.
	#[error("no keys loaded: run `enclave-worker init` (first enclave) or `request-keys`")]
	NoKeys,
	/// The state store failed.
	#[error("store: {0}")]
	Store(#[from] StoreError),
	/// A block could not be applied to the state.
	#[error("execution: {0}")]
	Exec(#[from] ExecError),
	/// The status file could not be written.
	#[error("status: {0}")]
	Status(#[from] StatusError),
	/// The predecessor's snapshot could not be fetched (yet).
	#[error("fetching the predecessor's snapshot: {0}")]
	Fetch(#[from] WireError),
	/// A fetched or stored snapshot does not fit the chain or this enclave.
	#[error("unusable snapshot: {0}")]
	BadSnapshot(String),
	/// The predecessor's snapshot is not the state its enclave committed to on chain for its
	/// last block (`EnclaveRegistry::CutOvers`): it is refused, and fetched again later.
	#[error("the snapshot of block {last_block} is not the state committed on chain (committed state hash 0x{committed}, offered 0x{offered})")]
	SnapshotNotCommitted {
		/// The predecessor's last block.
		last_block: u64,
		/// The committed state hash, hex.
		committed: String,
		/// The offered snapshot's state hash, hex.
		offered: String,
	},
}

impl RunnerError {
	/// Errors after which continuing could execute a block on wrong state: the runner stops
	/// instead of retrying.
	pub fn is_fatal(&self) -> bool {
		matches!(
			self,
			Self::Chain(ChainError::NotAncestor | ChainError::WrongGenesis)
				| Self::Exec(_)
				| Self::NoKeys
		)
	}
}

/// What one round did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundReport {
	/// The verified finalized head of the round.
	pub head: BlockNumber,
	/// The role at the end of the round.
	pub role: Role,
	/// The blocks executed in the round.
	pub executed: Vec<BlockNumber>,
	/// The last block in the state, if any.
	pub last_block: Option<u64>,
}

/// The stretch of blocks this enclave executes according to a verified schedule: from
/// `start` up to, not including, `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OwnStretch {
	start: BlockNumber,
	end: Option<BlockNumber>,
}

fn own_stretch(view: &VerifiedSchedule, own: &Measurement) -> Option<OwnStretch> {
	if let Some(active) = view.storage.active.filter(|a| &a.measurement == own) {
		let end = view.storage.scheduled.first().map(|s| s.activates_at);
		return Some(OwnStretch { start: active.since.max(1), end });
	}
	if let Some(pos) = view.storage.scheduled.iter().position(|s| &s.measurement == own) {
		let end = view.storage.scheduled.get(pos + 1).map(|s| s.activates_at);
		return Some(OwnStretch { start: view.storage.scheduled[pos].activates_at.max(1), end });
	}
	view.storage
		.superseded
		.iter()
		.rev()
		.find(|s| &s.measurement == own)
		.map(|s| OwnStretch { start: s.activated_at.max(1), end: Some(s.superseded_at) })
}

/// The block loop of one enclave; see the module docs.
pub struct Runner {
	chain: Arc<RpcChain>,
	keys: Arc<KeyStore>,
	store: Store,
	own: Measurement,
	state: Option<ExecutedState>,
	status: WorkerStatus,
	config: RunnerConfig,
	/// The last block whose cut-over commitment this process has written.
	committed: Option<BlockNumber>,
}

/// Checks the predecessor's final `state` against the commitment made on chain for its last
/// block: the block, its hash and the state hash must all be the committed ones.
fn check_committed(
	state: &ExecutedState,
	commitment: &CutOverCommitment<BlockNumber>,
) -> Result<(), RunnerError> {
	let same = u64::from(commitment.last_block) == state.block_number
		&& commitment.block_hash == state.block_hash
		&& commitment.state_hash == state.state_hash;
	if !same {
		return Err(RunnerError::SnapshotNotCommitted {
			last_block: state.block_number,
			committed: hex::encode(commitment.state_hash),
			offered: hex::encode(state.state_hash),
		});
	}
	Ok(())
}

impl Runner {
	/// A runner for the enclave `own` whose keys are in `keys`, resuming from the snapshot in
	/// `store` if there is one. `status` is the worker's status, updated as blocks are executed.
	pub fn new(
		chain: Arc<RpcChain>,
		keys: Arc<KeyStore>,
		store: Store,
		own: Measurement,
		status: WorkerStatus,
		config: RunnerConfig,
	) -> Result<Self, RunnerError> {
		let material = keys.require().map_err(|_| RunnerError::NoKeys)?;
		let state = sealed_state(&store, &material.state, chain.genesis_hash())?;
		Ok(Self { chain, keys, store, own, state, status, config, committed: None })
	}

	/// The state, if any.
	pub fn state(&self) -> Option<&ExecutedState> {
		self.state.as_ref()
	}

	/// One round: verify the head, then execute every block up to it that is ours.
	pub async fn round(&mut self) -> Result<RoundReport, RunnerError> {
		let head = self.chain.finalized_block().await?;
		let view = self.chain.verified_at(&head).await?;
		let stretch = own_stretch(&view, &self.own);
		let retired = view.storage.retired.contains(&self.own);
		let mut executed = Vec::new();

		if self.state.is_none() && !retired {
			if let Some(stretch) = stretch {
				// After a block that could not be sealed, the state is the sealed one again.
				let material = self.keys.require().map_err(|_| RunnerError::NoKeys)?;
				self.state = sealed_state(&self.store, &material.state, self.chain.genesis_hash())?;
				if self.state.is_none() {
					self.obtain_state(&head, stretch, view.storage.key_set).await?;
				}
			}
		}

		// Nothing left to execute once the state reaches the end of our stretch: a retired
		// worker does not walk the chain again every round.
		let finished = |state: &ExecutedState| {
			stretch
				.and_then(|s| s.end)
				.is_some_and(|end| state.block_number + 1 >= u64::from(end))
		};
		let from = match &self.state {
			Some(state) if !retired && !finished(state) => Some((
				BlockNumber::try_from(state.block_number).map_err(|_| {
					RunnerError::BadSnapshot("block number beyond the chain's range".into())
				})?,
				state.block_hash,
			)),
			_ => None,
		};
		if let Some(from) = from {
			for block in self.chain.blocks_after(from, &head).await? {
				if view.view().measurement_at(block.number) != Some(self.own) {
					break;
				}
				self.execute(&block).await?;
				executed.push(block.number);
			}
		}

		let last_block = self.state.as_ref().map(|s| s.block_number);
		let role = match (retired, stretch, last_block) {
			(true, _, _) | (_, None, Some(_)) => Role::Retired,
			(false, Some(OwnStretch { end: Some(end), .. }), Some(last))
				if last + 1 >= u64::from(end) && head.number >= end =>
			{
				Role::Retired
			},
			(false, Some(_), Some(_))
				if view.view().measurement_at(head.number) == Some(self.own) =>
			{
				Role::Active
			},
			_ => Role::Standby,
		};
		// At the end of our stretch, the commitment to the final state, for the successor.
		if let (false, Some(OwnStretch { end: Some(end), .. }), Some(state)) =
			(retired, stretch, &self.state)
		{
			if state.block_number + 1 == u64::from(end) {
				self.commit_cut_over(end - 1)?;
			}
		}
		self.publish(role)?;
		Ok(RoundReport { head: head.number, role, executed, last_block })
	}

	/// Runs rounds until `shutdown` resolves or a fatal error; transient errors (the node
	/// restarting, the predecessor not reachable yet) are logged and retried.
	pub async fn run(
		mut self,
		shutdown: impl std::future::Future<Output = ()>,
	) -> Result<(), RunnerError> {
		tokio::pin!(shutdown);
		let mut last_role = None;
		loop {
			match self.round().await {
				Ok(report) => {
					if last_role != Some(report.role) {
						tracing::info!(role = ?report.role, head = report.head, last_block = ?report.last_block, "role");
						last_role = Some(report.role);
					}
				},
				Err(e) if e.is_fatal() => {
					tracing::error!(error = %e, "stopping: continuing could corrupt the state");
					return Err(e);
				},
				Err(e) => {
					tracing::warn!(error = %e, "round failed; retrying");
					if matches!(e, RunnerError::Chain(ChainError::Rpc(_))) {
						// The node may have restarted: the old connection is gone for good.
						if let Err(e) = self.chain.reconnect().await {
							tracing::debug!(error = %e, "reconnecting to the node failed");
						}
					}
				},
			}
			tokio::select! {
				_ = &mut shutdown => return Ok(()),
				_ = tokio::time::sleep(self.config.poll_interval) => {},
			}
		}
	}

	/// Signs the commitment to the state after `last_block`, this enclave's final state, and
	/// leaves it in the data directory ([`CUT_OVER_FILE`]) for its operator to submit. Once per
	/// process: the signature is deterministic, so a restart writes the same file again.
	fn commit_cut_over(&mut self, last_block: BlockNumber) -> Result<(), RunnerError> {
		if self.committed == Some(last_block) {
			return Ok(());
		}
		let (Some(sealing_key), Some(state)) = (&self.config.sealing_key, &self.state) else {
			return Ok(());
		};
		let Some(signer) = self.store.read_signing_key(sealing_key, &self.own)? else {
			// Not registered (no signing key): nothing to commit with.
			return Ok(());
		};
		let commitment = CutOverCommitment {
			measurement: self.own,
			last_block,
			block_hash: state.block_hash,
			state_hash: state.state_hash,
		};
		let signed = SignedCutOver::sign(&signer, commitment);
		let path = self.store.dir().join(CUT_OVER_FILE);
		let json = serde_json::to_vec_pretty(&signed)
			.map_err(|e| RunnerError::BadSnapshot(format!("encoding the commitment: {e}")))?;
		crate::fs::atomic_write(&path, &json).map_err(crate::store::io_err(&path))?;
		tracing::info!(
			last_block,
			state_hash = %hex::encode(state.state_hash),
			file = %path.display(),
			"signed the cut-over commitment: submit it with `enclave-update-cli commit-cut-over`"
		);
		self.committed = Some(last_block);
		Ok(())
	}

	/// Gets the state to start from: the genesis state for the chain's first enclave, else the
	/// snapshot of the enclave this one continues. Once the chain has a key set (its registry
	/// is in use), a successor takes the predecessor's final state only as the predecessor
	/// committed it on chain, and waits until the commitment is there.
	async fn obtain_state(
		&mut self,
		head: &VerifiedBlock,
		stretch: OwnStretch,
		key_set: Option<[u8; 32]>,
	) -> Result<(), RunnerError> {
		// The state this enclave continues from is the one after `start - 1`.
		let needed = u64::from(stretch.start) - 1;
		if let Some(predecessor) = self.config.predecessor.clone() {
			// Not before our first block is final: until then there is nothing to execute, and
			// every fetch costs the predecessor a snapshot read.
			if head.number < stretch.start {
				return Ok(());
			}
			let genesis = self.chain.genesis_hash();
			let response =
				fetch_snapshot(predecessor.as_str(), genesis, &self.config.fetch).await?;
			let material = self.keys.require().map_err(|_| RunnerError::NoKeys)?;
			let snapshot = decode_snapshot(&material.state, response.file).map_err(|e| {
				RunnerError::BadSnapshot(format!("does not open with the state key: {e}"))
			})?;
			let state = ExecutedState::from_snapshot(&snapshot)?;
			if state.genesis_hash != genesis {
				return Err(RunnerError::BadSnapshot("it belongs to another chain".into()));
			}
			// A successor starts from exactly the block before its activation; a replica of
			// the same measurement may start from any later state of its own measurement.
			let usable = state.block_number == needed
				|| (state.block_number > needed && snapshot.written_by == self.own);
			if !usable {
				tracing::info!(
					have = state.block_number,
					needed,
					"the predecessor has not written the state the cut-over needs yet"
				);
				return Ok(());
			}
			// The state a cut-over continues from is the committed one, whoever wrote the
			// snapshot (its writer is named under the state key, which is no proof).
			if state.block_number == needed && key_set.is_some() {
				let last_block = stretch.start - 1;
				let Some(commitment) = self.chain.cut_over_commitment(head, last_block).await?
				else {
					tracing::info!(
						last_block,
						"waiting for the predecessor's cut-over commitment on chain"
					);
					return Ok(());
				};
				check_committed(&state, &commitment)?;
			}
			tracing::info!(
				block = state.block_number,
				state_hash = %hex::encode(state.state_hash),
				written_by = %snapshot.written_by,
				committed = key_set.is_some(),
				"took over the predecessor's final state"
			);
			state.write_to(&self.store, &material.state, &self.own)?;
			self.state = Some(state);
			return Ok(());
		}
		if needed == 0 {
			tracing::info!("first enclave of the chain: starting from the genesis state");
			self.state = Some(ExecutedState::genesis(self.chain.genesis_hash()));
			return Ok(());
		}
		Err(RunnerError::BadSnapshot(format!(
			"no state after block {needed} here and no --predecessor to fetch it from"
		)))
	}

	async fn execute(&mut self, block: &VerifiedBlock) -> Result<(), RunnerError> {
		let calls = self.chain.inbox_at(block).await?;
		let material = self.keys.require().map_err(|_| RunnerError::NoKeys)?;
		let state = self.state.as_mut().expect("execute is only called with a state");
		let outcome = state.apply_block(
			&material.shielding,
			u64::from(block.number),
			block.parent_hash,
			block.hash,
			&calls,
		)?;
		// Sealed before the next block is touched: a crash resumes from here. A block whose
		// state cannot be sealed (a full disk) is undone and executed again in a later round:
		// what this enclave reports as executed, and serves a successor as its final state, is
		// always what a restart would find. A failed write leaves the sealed files as they
		// were, so the next round takes the state from them, as a restart would.
		if let Err(e) = state.write_to(&self.store, &material.state, &self.own) {
			self.state = None;
			return Err(e.into());
		}
		tracing::debug!(
			block = block.number,
			applied = outcome.applied,
			skipped = outcome.skipped,
			state_hash = %hex::encode(outcome.state_hash),
			"executed"
		);
		Ok(())
	}

	fn publish(&mut self, role: Role) -> Result<(), RunnerError> {
		let before = self.status.clone();
		self.status.readiness = role.into();
		if let Some(state) = &self.state {
			self.status.last_processed_block = Some(state.block_number);
			self.status.state_hash = Some(format!("0x{}", hex::encode(state.state_hash)));
			self.status.calls =
				Some(CallCounts { applied: state.applied_total, skipped: state.skipped_total });
		}
		if self.status != before {
			self.status.save(self.store.dir())?;
		}
		Ok(())
	}
}

/// The state sealed in `store`, if any: the state after the last block this worker sealed.
fn sealed_state(
	store: &Store,
	state_key: &StateKey,
	genesis: [u8; 32],
) -> Result<Option<ExecutedState>, RunnerError> {
	let (snapshot, from) = match store.read_snapshot(state_key) {
		Ok(read) => read,
		Err(StoreError::NoSnapshot(_)) => return Ok(None),
		Err(e) => return Err(e.into()),
	};
	let state = ExecutedState::from_snapshot(&snapshot)?;
	if state.genesis_hash != genesis {
		return Err(RunnerError::BadSnapshot(
			"the stored snapshot belongs to another chain".into(),
		));
	}
	tracing::info!(block = state.block_number, ?from, "resuming from the sealed snapshot");
	Ok(Some(state))
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{chain::ProvenStorage, testing::m};
	use assert_matches::assert_matches;
	use enclave_update_primitives::{ActiveEnclave, ScheduledEnclave, SupersededEnclave};

	fn view(
		active: Option<(u8, u32)>,
		superseded: &[(u8, u32, u32)],
		scheduled: &[(u8, u32)],
	) -> VerifiedSchedule {
		VerifiedSchedule {
			genesis_hash: [0; 32],
			block_number: 0,
			block_hash: [0; 32],
			storage: ProvenStorage {
				active: active.map(|(b, since)| ActiveEnclave { measurement: m(b), since }),
				superseded: superseded
					.iter()
					.map(|&(b, activated_at, superseded_at)| SupersededEnclave {
						measurement: m(b),
						activated_at,
						superseded_at,
					})
					.collect(),
				scheduled: scheduled
					.iter()
					.map(|&(b, activates_at)| ScheduledEnclave { measurement: m(b), activates_at })
					.collect(),
				..ProvenStorage::default()
			},
		}
	}

	#[test]
	fn the_genesis_enclave_starts_at_block_one_and_ends_at_its_successor() {
		let v = view(Some((0xa, 0)), &[], &[(0xb, 20)]);
		assert_eq!(own_stretch(&v, &m(0xa)), Some(OwnStretch { start: 1, end: Some(20) }));
		assert_eq!(own_stretch(&v, &m(0xb)), Some(OwnStretch { start: 20, end: None }));
		assert_eq!(own_stretch(&v, &m(0xc)), None);
	}

	#[test]
	fn after_the_cut_over_the_predecessor_is_found_in_the_history() {
		let v = view(Some((0xb, 20)), &[(0xa, 0, 20)], &[]);
		assert_eq!(own_stretch(&v, &m(0xa)), Some(OwnStretch { start: 1, end: Some(20) }));
		assert_eq!(own_stretch(&v, &m(0xb)), Some(OwnStretch { start: 20, end: None }));
	}

	#[test]
	fn chained_schedules_end_each_stretch_at_the_next_activation() {
		let v = view(Some((0xa, 0)), &[], &[(0xb, 20), (0xc, 40)]);
		assert_eq!(own_stretch(&v, &m(0xb)), Some(OwnStretch { start: 20, end: Some(40) }));
		assert_eq!(own_stretch(&v, &m(0xc)), Some(OwnStretch { start: 40, end: None }));
	}

	#[test]
	fn only_the_committed_state_is_taken_over() {
		let mut state = ExecutedState::genesis([1; 32]);
		state.block_number = 56;
		state.block_hash = [2; 32];
		let commitment = CutOverCommitment {
			measurement: m(0xa),
			last_block: 56,
			block_hash: [2; 32],
			state_hash: state.state_hash,
		};
		assert!(check_committed(&state, &commitment).is_ok());
		for other in [
			CutOverCommitment { state_hash: [9; 32], ..commitment },
			CutOverCommitment { block_hash: [9; 32], ..commitment },
			CutOverCommitment { last_block: 55, ..commitment },
		] {
			let refused = check_committed(&state, &other).unwrap_err();
			assert_matches!(refused, RunnerError::SnapshotNotCommitted { last_block: 56, .. });
			// Retried, not fatal: another fetch may bring the committed state.
			assert!(!refused.is_fatal());
		}
	}

	#[test]
	fn fatal_errors_are_the_ones_that_could_corrupt_state() {
		assert!(RunnerError::Chain(ChainError::NotAncestor).is_fatal());
		assert!(RunnerError::NoKeys.is_fatal());
		assert!(!RunnerError::Chain(ChainError::Rpc("down".into())).is_fatal());
		assert!(!RunnerError::BadSnapshot("not yet".into()).is_fatal());
	}
}
