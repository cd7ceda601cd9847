//! The chain as an application drives it: subxt with the dev accounts' keys, for sudo, the
//! council and shielded calls, plus the plain RPC reads a reference replay needs.

use anyhow::{anyhow, bail, Context, Result};
use codec::{Decode, Encode};
use enclave_update_primitives::Measurement;
use std::time::{Duration, Instant};
use subxt::{
	backend::BlockRef,
	dynamic::Value,
	ext::scale_value::Composite,
	rpcs::{rpc_params, RpcClient},
	transactions::{DynamicPayload, TransactionStatus},
	utils::H256,
	OnlineClient, PolkadotConfig,
};
pub use subxt_signer::sr25519::{dev, Keypair};

/// The client type: the runtime has `MultiAddress<AccountId32, ()>` addresses and `u32` block
/// numbers, as Polkadot.
pub type Client = OnlineClient<PolkadotConfig>;

/// How long [`Chain::submit`] waits for the block a transaction is in to be finalized.
const FINALITY_WAIT: Duration = Duration::from_secs(120);

/// A dynamic call.
pub type Call = DynamicPayload<Composite<()>>;

/// An event: pallet, name, SCALE fields.
pub type Event = (String, String, Vec<u8>);

/// A dynamic call of `pallet` with named `fields`.
pub fn call<const N: usize>(pallet: &str, name: &str, fields: [(&str, Value); N]) -> Call {
	subxt::dynamic::transaction(pallet, name, Composite::named(fields))
}

/// A measurement as the dynamic `Value` of the runtime's `Measurement` enum.
pub fn measurement_value(measurement: &Measurement) -> Value {
	match measurement {
		Measurement::MrEnclave(bytes) => {
			Value::unnamed_variant("MrEnclave", [Value::from_bytes(bytes)])
		},
		Measurement::TdIdentity(bytes) => {
			Value::unnamed_variant("TdIdentity", [Value::from_bytes(bytes)])
		},
	}
}

/// `EnclaveUpdate::schedule_enclave(measurement, activates_at)`.
pub fn schedule_call(measurement: &Measurement, activates_at: u32) -> Call {
	call(
		"EnclaveUpdate",
		"schedule_enclave",
		[
			("measurement", measurement_value(measurement)),
			("activates_at", Value::u128(activates_at.into())),
		],
	)
}

/// `EnclaveUpdate::cancel_scheduled(measurement)`.
pub fn cancel_call(measurement: &Measurement) -> Call {
	call("EnclaveUpdate", "cancel_scheduled", [("measurement", measurement_value(measurement))])
}

/// `EnclaveUpdate::retire_enclave(measurement)`.
pub fn retire_call(measurement: &Measurement) -> Call {
	call("EnclaveUpdate", "retire_enclave", [("measurement", measurement_value(measurement))])
}

/// `ShieldedInbox::submit(ciphertext)`.
pub fn shielded_call(ciphertext: &[u8]) -> Call {
	call("ShieldedInbox", "submit", [("ciphertext", Value::from_bytes(ciphertext))])
}

/// The length bound of council proposals (the encoded call must fit).
pub const COUNCIL_LENGTH_BOUND: u32 = 10_000;

/// `Council::propose(threshold, proposal, length_bound)`.
pub fn council_propose(threshold: u32, proposal: Call) -> Call {
	call(
		"Council",
		"propose",
		[
			("threshold", Value::u128(threshold.into())),
			("proposal", proposal.into_value()),
			("length_bound", Value::u128(COUNCIL_LENGTH_BOUND.into())),
		],
	)
}

/// `Council::vote(proposal, index, approve)`.
pub fn council_vote(proposal_hash: [u8; 32], index: u32, approve: bool) -> Call {
	call(
		"Council",
		"vote",
		[
			("proposal", Value::from_bytes(proposal_hash)),
			("index", Value::u128(index.into())),
			("approve", Value::bool(approve)),
		],
	)
}

/// `Council::close(proposal_hash, index, proposal_weight_bound, length_bound)`, with a weight
/// bound far above what the pallet's calls need.
pub fn council_close(proposal_hash: [u8; 32], index: u32) -> Call {
	call(
		"Council",
		"close",
		[
			("proposal_hash", Value::from_bytes(proposal_hash)),
			("index", Value::u128(index.into())),
			(
				"proposal_weight_bound",
				Value::named_composite([
					("ref_time", Value::u128(100_000_000_000)),
					("proof_size", Value::u128(1_000_000)),
				]),
			),
			("length_bound", Value::u128(COUNCIL_LENGTH_BOUND.into())),
		],
	)
}

/// `DevAuthorities::schedule_grandpa_change(None, delay)`: a GRANDPA authority-set change to the
/// same members (the next set id), enacted `delay` blocks after the block that includes it.
/// Root only (wrap it in [`sudo`]).
pub fn grandpa_set_change_call(delay: u32) -> Call {
	call(
		"DevAuthorities",
		"schedule_grandpa_change",
		[("next", Value::unnamed_variant("None", [])), ("delay", Value::u128(delay.into()))],
	)
}

/// `Sudo::sudo(call)`.
pub fn sudo(inner: Call) -> Call {
	call("Sudo", "sudo", [("call", inner.into_value())])
}

/// `Sudo::sudo_unchecked_weight(call, 0)`: for `System::set_code`, whose declared weight is a
/// whole block (sudo would add its own on top and no block could hold it).
pub fn sudo_unchecked_weight(inner: Call) -> Call {
	call(
		"Sudo",
		"sudo_unchecked_weight",
		[
			("call", inner.into_value()),
			(
				"weight",
				Value::named_composite([
					("ref_time", Value::u128(0)),
					("proof_size", Value::u128(0)),
				]),
			),
		],
	)
}

/// `System::set_code(code)`: replace the runtime (root only).
pub fn set_code_call(code: &[u8]) -> Call {
	call("System", "set_code", [("code", Value::from_bytes(code))])
}

/// `System::authorize_upgrade(code_hash)`: allow anyone to apply the runtime whose blake2-256 is
/// `code_hash` (root only).
pub fn authorize_upgrade_call(code_hash: [u8; 32]) -> Call {
	call("System", "authorize_upgrade", [("code_hash", Value::from_bytes(code_hash))])
}

/// `System::apply_authorized_upgrade(code)`: apply an authorized runtime (any origin).
pub fn apply_authorized_upgrade_call(code: &[u8]) -> Call {
	call("System", "apply_authorized_upgrade", [("code", Value::from_bytes(code))])
}

/// `Whitelist::whitelist_call(call_hash)`: mark the call with this hash for dispatch as root.
pub fn whitelist_call(call_hash: [u8; 32]) -> Call {
	call("Whitelist", "whitelist_call", [("call_hash", Value::from_bytes(call_hash))])
}

/// `Whitelist::dispatch_whitelisted_call_with_preimage(call)`: dispatch a whitelisted call as
/// root.
pub fn dispatch_whitelisted_call_with_preimage(inner: Call) -> Call {
	call("Whitelist", "dispatch_whitelisted_call_with_preimage", [("call", inner.into_value())])
}

/// `Referenda::submit(Origins::<track_origin>, Inline(call_data), After(0))`: a referendum on the
/// track of `track_origin` (`"EnclaveAdmin"` or `"EnclaveEmergency"`) to dispatch the call
/// `call_data` (SCALE, at most 128 bytes) as that origin, as soon as the track allows.
pub fn referendum_submit(track_origin: &str, call_data: &[u8]) -> Call {
	call(
		"Referenda",
		"submit",
		[
			(
				"proposal_origin",
				Value::unnamed_variant(
					"Origins",
					[Value::unnamed_variant(track_origin, Vec::<Value>::new())],
				),
			),
			("proposal", Value::unnamed_variant("Inline", [Value::from_bytes(call_data)])),
			("enactment_moment", Value::unnamed_variant("After", [Value::u128(0)])),
		],
	)
}

/// `Referenda::place_decision_deposit(index)`.
pub fn referendum_deposit(index: u32) -> Call {
	call("Referenda", "place_decision_deposit", [("index", Value::u128(index.into()))])
}

/// `ConvictionVoting::vote(index, Standard { aye, 1x conviction, balance })`.
pub fn referendum_vote(index: u32, aye: bool, balance: u128) -> Call {
	// `Vote` is one byte: the aye bit and the conviction (1 = Locked1x).
	let vote = if aye { 0x80 | 1 } else { 1 };
	call(
		"ConvictionVoting",
		"vote",
		[
			("poll_index", Value::u128(index.into())),
			(
				"vote",
				Value::named_variant(
					"Standard",
					[
						("vote", Value::unnamed_composite([Value::u128(vote)])),
						("balance", Value::u128(balance)),
					],
				),
			),
		],
	)
}

/// What each dev account votes with in [`Chain::referendum_ok`]: enough of the dev issuance for
/// the support curves of the dev tracks.
pub const REFERENDUM_VOTE: u128 = 900_000 * 1_000_000_000_000;

/// A referendum [`Chain::referendum_ok`] passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Referendum {
	/// Its index.
	pub index: u32,
	/// The block it was submitted in.
	pub submitted: u32,
	/// The block the scheduler dispatched its call in.
	pub enacted: u32,
}

/// How [`Chain::referendum_ok`] passes a referendum.
pub const REFERENDUM_VOTES: &str =
	"Dave submits, Bob places the decision deposit, Alice and Charlie vote aye (1x conviction)";

/// One block of the finalized chain as the reference replay reads it (plain RPC, no proofs:
/// the test trusts its own node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockCalls {
	/// Number.
	pub number: u32,
	/// Parent hash.
	pub parent_hash: [u8; 32],
	/// Hash.
	pub hash: [u8; 32],
	/// The inbox's ciphertexts of the block.
	pub calls: Vec<Vec<u8>>,
}

/// A connection to a node.
pub struct Chain {
	/// Raw JSON-RPC.
	pub rpc: RpcClient,
	/// subxt.
	pub client: Client,
}

/// Transaction parameters: `nonce` (see [`Chain::next_nonce`]) and no birth block. subxt's
/// default makes a transaction mortal from the newest finalized block, which the fork-aware pool
/// may not have a view on yet, and then refuses it ("ancient birth block").
fn immortal(nonce: u64) -> subxt::config::DefaultExtrinsicParams<PolkadotConfig> {
	subxt::config::PolkadotExtrinsicParamsBuilder::new()
		.nonce(nonce)
		.immortal()
		.build()
}

fn unhex(text: &str) -> Result<Vec<u8>> {
	hex::decode(text.trim_start_matches("0x")).context("hex from the node")
}

fn hash32(text: &str) -> Result<[u8; 32]> {
	unhex(text)?.try_into().map_err(|_| anyhow!("a 32-byte hash"))
}

impl Chain {
	/// Connects to the node at `url`, waiting up to `timeout` for it to answer.
	pub async fn connect(url: &str, timeout: Duration) -> Result<Chain> {
		let started = Instant::now();
		loop {
			if let Ok(rpc) = RpcClient::from_insecure_url(url).await {
				let health: Result<serde_json::Value, _> =
					rpc.request("system_health", rpc_params![]).await;
				if health.is_ok() {
					let client = Client::from_rpc_client(rpc.clone())
						.await
						.context("subxt connects to the node")?;
					return Ok(Chain { rpc, client });
				}
			}
			if started.elapsed() > timeout {
				bail!("the node at {url} did not answer RPC within {timeout:?}");
			}
			tokio::time::sleep(Duration::from_millis(200)).await;
		}
	}

	/// Signs `payload` with `signer`, submits it and waits until it is in a finalized block.
	/// `Ok(Err(text))` is a dispatch error the runtime reported.
	///
	/// A transaction whose status stream ends `Invalid` or `Dropped` is looked for in the finalized
	/// blocks since its submission before it counts as lost: when building a block takes longer
	/// than the pool needs to learn of the previous one (a 2 MB `set_code` on a debug node), the
	/// proposer of the next block meets the included transaction again, finds it stale and has the
	/// pool drop it as invalid, before the pool has reported it in its block.
	pub async fn submit(
		&self,
		payload: &Call,
		signer: &Keypair,
	) -> Result<std::result::Result<Vec<Event>, String>> {
		Ok(self.submit_to_block(payload, signer).await?.1)
	}

	/// Submits `payload` and requires it to succeed; the number of the finalized block it is in,
	/// and its events.
	pub async fn submit_in_block(
		&self,
		payload: &Call,
		signer: &Keypair,
	) -> Result<(u32, Vec<Event>)> {
		let (block, result) = self.submit_to_block(payload, signer).await?;
		let events = result.map_err(|e| anyhow!("dispatch failed: {e}"))?;
		Ok((self.header_number(Some(format!("0x{}", hex::encode(block.0)))).await?, events))
	}

	/// As [`Chain::submit`], with the hash of the block the transaction is in.
	async fn submit_to_block(
		&self,
		payload: &Call,
		signer: &Keypair,
	) -> Result<(H256, std::result::Result<Vec<Event>, String>)> {
		let submitted_after = self.best_number().await?;
		let at = self.client.at_current_block().await?;
		let mut progress = at
			.transactions()
			.sign_and_submit_then_watch(payload, signer, immortal(self.next_nonce(signer).await?))
			.await
			.context("the node accepts the transaction")?;
		let extrinsic = progress.extrinsic_hash();
		let block = loop {
			let ended = match progress.next().await {
				Some(Ok(TransactionStatus::InFinalizedBlock(included))) => {
					break included.block_hash()
				},
				Some(Ok(
					TransactionStatus::Validated
					| TransactionStatus::Broadcasted
					| TransactionStatus::InBestBlock(_)
					| TransactionStatus::NoLongerInBestBlock,
				)) => continue,
				Some(Ok(TransactionStatus::Invalid { message })) => format!("invalid: {message}"),
				Some(Ok(TransactionStatus::Dropped { message })) => format!("dropped: {message}"),
				Some(Ok(TransactionStatus::Error { message })) => format!("error: {message}"),
				Some(Err(error)) => format!("its status stream failed: {error}"),
				None => "its status stream ended".to_owned(),
			};
			match self.find_finalized(extrinsic, submitted_after + 1).await? {
				Some(block) => break block,
				None => bail!("the transaction did not make it into a block: {ended}"),
			}
		};
		Ok((block, self.extrinsic_events(block, extrinsic).await?))
	}

	/// The finalized block at or above `from` that holds the extrinsic `hash`, once the finalized
	/// chain has caught up with the best block.
	async fn find_finalized(&self, hash: H256, from: u32) -> Result<Option<H256>> {
		self.wait_for_finalized(self.best_number().await?, FINALITY_WAIT).await?;
		for number in from..=self.finalized_number().await? {
			let at = self.client.at_block(number).await?;
			let extrinsics = at.extrinsics().fetch().await?;
			for extrinsic in extrinsics.iter() {
				if extrinsic?.hash() == hash {
					return Ok(Some(at.block_hash()));
				}
			}
		}
		Ok(None)
	}

	/// The events of the extrinsic `hash` in `block`; `Err` the dispatch error of one that failed.
	async fn extrinsic_events(
		&self,
		block: H256,
		hash: H256,
	) -> Result<std::result::Result<Vec<Event>, String>> {
		let at = self.client.at_block(BlockRef::from_hash(block)).await?;
		let extrinsics = at.extrinsics().fetch().await?;
		let mut found = None;
		for extrinsic in extrinsics.iter() {
			let extrinsic = extrinsic?;
			if extrinsic.hash() == hash {
				found = Some(extrinsic);
				break;
			}
		}
		let extrinsic = found.ok_or_else(|| anyhow!("extrinsic {hash:?} is not in {block:?}"))?;
		let mut out = Vec::new();
		for event in extrinsic.events().await?.iter() {
			let event = event?;
			let (pallet, name) = (event.pallet_name().to_owned(), event.event_name().to_owned());
			if pallet == "System" && name == "ExtrinsicFailed" {
				// `ExtrinsicFailed { dispatch_error, dispatch_info }`.
				let error = sp_runtime::DispatchError::decode(&mut event.field_bytes())
					.context("the dispatch error of ExtrinsicFailed")?;
				return Ok(Err(format!("{error:?}")));
			}
			out.push((pallet, name, event.field_bytes().to_vec()));
		}
		Ok(Ok(out))
	}

	/// Passes a referendum on the track of `track_origin` (see [`referendum_submit`]) for
	/// `inner` ([`REFERENDUM_VOTES`]) and waits until the scheduler has dispatched it; an error
	/// if the call it enacted failed.
	pub async fn referendum_ok(&self, track_origin: &str, inner: Call) -> Result<Referendum> {
		let (index, submitted) = self.submit_referendum(track_origin, inner).await?;
		self.back_referendum(index).await?;
		let enacted = self.wait_for_enactment(index, FINALITY_WAIT).await?;
		Ok(Referendum { index, submitted, enacted })
	}

	/// Dave submits a referendum on the track of `track_origin` for `inner`; its index and the
	/// block it was submitted in. Nothing decides it before [`Chain::back_referendum`].
	pub async fn submit_referendum(&self, track_origin: &str, inner: Call) -> Result<(u32, u32)> {
		let call_data = self.client.at_current_block().await?.transactions().call_data(&inner)?;
		let (block, events) = self
			.submit_in_block(&referendum_submit(track_origin, &call_data), &dev::dave())
			.await?;
		let (_, _, fields) = events
			.iter()
			.find(|(p, n, _)| p == "Referenda" && n == "Submitted")
			.ok_or_else(|| anyhow!("no Referenda.Submitted event"))?;
		// `Submitted { index, track, proposal }`.
		Ok((u32::decode(&mut &fields[..])?, block))
	}

	/// Bob places referendum `index`'s decision deposit while Alice and Charlie vote aye.
	pub async fn back_referendum(&self, index: u32) -> Result<()> {
		let (deposit, vote) =
			(referendum_deposit(index), referendum_vote(index, true, REFERENDUM_VOTE));
		let (bob, alice, charlie) = (dev::bob(), dev::alice(), dev::charlie());
		let (deposit, aye, other_aye) = tokio::join!(
			self.submit_ok(&deposit, &bob),
			self.submit_ok(&vote, &alice),
			self.submit_ok(&vote, &charlie),
		);
		deposit?;
		aye?;
		other_aye?;
		Ok(())
	}

	/// The total weight of block `number` (`System::BlockWeight`, all dispatch classes):
	/// `(ref_time, proof_size)`.
	pub async fn block_weight(&self, number: u32) -> Result<(u64, u64)> {
		let hash: String = self.rpc.request("chain_getBlockHash", rpc_params![number]).await?;
		let key = format!(
			"0x{}",
			hex::encode(
				[
					sp_crypto_hashing::twox_128(b"System"),
					sp_crypto_hashing::twox_128(b"BlockWeight")
				]
				.concat()
			)
		);
		let value: Option<String> =
			self.rpc.request("state_getStorage", rpc_params![key, hash]).await?;
		let raw = unhex(&value.ok_or_else(|| anyhow!("no System::BlockWeight at #{number}"))?)?;
		// `PerDispatchClass<Weight>`: normal, operational, mandatory; each `Weight` is two
		// compact u64s.
		let classes = <[(codec::Compact<u64>, codec::Compact<u64>); 3]>::decode(&mut &raw[..])?;
		Ok(classes.iter().fold((0, 0), |(r, p), (cr, cp)| (r + cr.0, p + cp.0)))
	}

	/// Waits until referendum `index` is enacted in a finalized block: the scheduler's
	/// `Dispatched` event of the task `Referenda` named for it. Its block number; an error if
	/// the dispatched call failed, or if the referendum was rejected, cancelled or timed out.
	pub async fn wait_for_enactment(&self, index: u32, timeout: Duration) -> Result<u32> {
		let started = Instant::now();
		let mut next = self.finalized_number().await?;
		// The scheduler names a referendum's enactment `blake2_256(("assembly", "enactment",
		// index))`.
		let task_name = sp_crypto_hashing::blake2_256(&(*b"assembly", "enactment", index).encode());
		loop {
			let finalized = self.finalized_number().await?;
			while next <= finalized {
				let at = self.client.at_block(next).await?;
				for event in at.events().fetch().await?.iter() {
					let event = event?;
					match (event.pallet_name(), event.event_name()) {
						("Scheduler", "Dispatched") => {
							// `Dispatched { task: (u32, u32), id: Option<[u8; 32]>, result }`.
							let mut fields = event.field_bytes();
							let _task = <(u32, u32)>::decode(&mut fields)?;
							let id = Option::<[u8; 32]>::decode(&mut fields)?;
							if id == Some(task_name) {
								let result =
									std::result::Result::<(), sp_runtime::DispatchError>::decode(
										&mut fields,
									)?;
								return match result {
									Ok(()) => Ok(next),
									Err(error) => bail!(
										"referendum #{index} was enacted at #{next}, and its call \
										 failed: {error:?}"
									),
								};
							}
						},
						(
							"Referenda",
							outcome @ ("Rejected" | "Cancelled" | "TimedOut" | "Killed"),
						) if u32::decode(&mut event.field_bytes())? == index => {
							bail!("referendum #{index} ended {outcome} at #{next}")
						},
						_ => {},
					}
				}
				next += 1;
			}
			if started.elapsed() > timeout {
				bail!("referendum #{index} was not enacted within {timeout:?}");
			}
			tokio::time::sleep(Duration::from_millis(200)).await;
		}
	}

	/// The next nonce of `signer` as the node's pool sees it (`system_accountNextIndex`): its
	/// nonce at the best block plus its transactions waiting in the pool. A client's default, the
	/// nonce at the newest *finalized* block, is stale by the blocks GRANDPA has not finalized yet,
	/// and the pool refuses a transaction with a used nonce as outdated.
	pub async fn next_nonce(&self, signer: &Keypair) -> Result<u64> {
		let account = signer.public_key().to_account_id().to_string();
		let nonce: u64 = self.rpc.request("system_accountNextIndex", rpc_params![account]).await?;
		Ok(nonce)
	}

	/// Submits `payload` and requires it to succeed.
	pub async fn submit_ok(&self, payload: &Call, signer: &Keypair) -> Result<Vec<Event>> {
		self.submit(payload, signer).await?.map_err(|e| anyhow!("dispatch failed: {e}"))
	}

	/// Submits `sudo_call` (a `Sudo::sudo` or `Sudo::sudo_unchecked_weight` call) as Alice,
	/// the sudo key, and returns the dispatched call's own result from the `Sudid` event: `Err`
	/// holds its SCALE-encoded `DispatchError`.
	pub async fn sudid(&self, sudo_call: Call) -> Result<std::result::Result<(), Vec<u8>>> {
		let events = self.submit_ok(&sudo_call, &dev::alice()).await?;
		let (_, _, fields) = events
			.iter()
			.find(|(p, n, _)| p == "Sudo" && n == "Sudid")
			.ok_or_else(|| anyhow!("no Sudo.Sudid event"))?;
		// `Sudid { sudo_result: DispatchResult }`: Ok is a single 0 byte, Err a 1 and the error.
		match fields.split_first() {
			Some((0, [])) => Ok(Ok(())),
			Some((1, error)) => Ok(Err(error.to_vec())),
			_ => bail!("a Sudid event that does not decode: 0x{}", hex::encode(fields)),
		}
	}

	/// Sudo (Alice) runs `inner`; the inner call's own result is checked too.
	pub async fn sudo_ok(&self, inner: Call) -> Result<()> {
		self.sudo_call_ok(sudo(inner)).await
	}

	/// Submits `sudo_call` (see [`Chain::sudid`]) and requires the dispatched call to succeed.
	pub async fn sudo_call_ok(&self, sudo_call: Call) -> Result<()> {
		self.sudid(sudo_call).await?.map_err(|error| {
			anyhow!("sudo dispatched the call but it failed (error 0x{})", hex::encode(error))
		})
	}

	/// Submits `sudo_call` (see [`Chain::sudid`]) and requires the dispatched call to fail;
	/// returns its SCALE-encoded `DispatchError`.
	pub async fn sudo_call_err(&self, sudo_call: Call) -> Result<Vec<u8>> {
		match self.sudid(sudo_call).await? {
			Ok(()) => bail!("the call sudo dispatched succeeded"),
			Err(error) => Ok(error),
		}
	}

	/// The council (Alice proposes, Alice and Bob vote aye, Charlie closes) runs `inner` with a
	/// two-of-three threshold.
	pub async fn council_ok(&self, inner: Call) -> Result<()> {
		let events = self.submit_ok(&council_propose(2, inner), &dev::alice()).await?;
		let (_, _, fields) = events
			.iter()
			.find(|(p, n, _)| p == "Council" && n == "Proposed")
			.ok_or_else(|| anyhow!("no Council.Proposed event"))?;
		let (_proposer, index, proposal_hash, _threshold): ([u8; 32], u32, [u8; 32], u32) =
			Decode::decode(&mut &fields[..])?;
		for voter in [dev::alice(), dev::bob()] {
			self.submit_ok(&council_vote(proposal_hash, index, true), &voter).await?;
		}
		let events = self.submit_ok(&council_close(proposal_hash, index), &dev::charlie()).await?;
		let (_, _, fields) = events
			.iter()
			.find(|(p, n, _)| p == "Council" && n == "Executed")
			.ok_or_else(|| anyhow!("the council motion did not execute"))?;
		// `Executed { proposal_hash, result: DispatchResult }`: Ok is a single 0 byte.
		if fields.get(32) != Some(&0) {
			bail!("the council's call failed (Executed fields 0x{})", hex::encode(fields));
		}
		Ok(())
	}

	/// The runtime's `specVersion` at the best block.
	pub async fn spec_version(&self) -> Result<u32> {
		let version: serde_json::Value =
			self.rpc.request("state_getRuntimeVersion", rpc_params![]).await?;
		let spec = version["specVersion"].as_u64().ok_or_else(|| anyhow!("no specVersion"))?;
		Ok(u32::try_from(spec)?)
	}

	/// The raw storage value under `key` at the finalized head.
	pub async fn storage(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
		let at: String = self.rpc.request("chain_getFinalizedHead", rpc_params![]).await?;
		let key = format!("0x{}", hex::encode(key));
		let value: Option<String> =
			self.rpc.request("state_getStorage", rpc_params![key, at]).await?;
		value.map(|value| unhex(&value)).transpose()
	}

	/// The genesis hash.
	pub async fn genesis_hash(&self) -> Result<[u8; 32]> {
		let hash: String = self.rpc.request("chain_getBlockHash", rpc_params![0u32]).await?;
		hash32(&hash)
	}

	/// The number of block `hash` (hex), or of the best block.
	async fn header_number(&self, hash: Option<String>) -> Result<u32> {
		let header: serde_json::Value =
			self.rpc.request("chain_getHeader", rpc_params![hash]).await?;
		let number = header["number"].as_str().ok_or_else(|| anyhow!("a hex block number"))?;
		Ok(u32::from_str_radix(number.trim_start_matches("0x"), 16)?)
	}

	/// The number of the best block.
	pub async fn best_number(&self) -> Result<u32> {
		self.header_number(None).await
	}

	/// The finalized head's number.
	pub async fn finalized_number(&self) -> Result<u32> {
		let hash: String = self.rpc.request("chain_getFinalizedHead", rpc_params![]).await?;
		self.header_number(Some(hash)).await
	}

	/// Waits until block `number` is finalized.
	pub async fn wait_for_finalized(&self, number: u32, timeout: Duration) -> Result<()> {
		crate::procs::wait_until(
			&format!("block #{number} finalized"),
			timeout,
			Duration::from_millis(100),
			|| async { Ok(self.finalized_number().await? >= number) },
		)
		.await
	}

	/// Block `number` of the finalized chain with its inbox calls.
	pub async fn block_calls(&self, number: u32) -> Result<BlockCalls> {
		let hash: String = self.rpc.request("chain_getBlockHash", rpc_params![number]).await?;
		let header: serde_json::Value =
			self.rpc.request("chain_getHeader", rpc_params![hash.clone()]).await?;
		let parent = header["parentHash"].as_str().ok_or_else(|| anyhow!("a parent hash"))?;
		let key = format!(
			"0x{}",
			hex::encode(enclave_worker::chain::proof::inbox_calls_key(
				enclave_worker::chain::proof::INBOX_PALLET_NAME
			))
		);
		let value: Option<String> =
			self.rpc.request("state_getStorage", rpc_params![key, hash.clone()]).await?;
		let calls = match value {
			Some(bytes) => Vec::<Vec<u8>>::decode(&mut &unhex(&bytes)?[..])?,
			None => Vec::new(),
		};
		Ok(BlockCalls { number, parent_hash: hash32(parent)?, hash: hash32(&hash)?, calls })
	}

	/// Submits a shielded call (its ciphertext) signed by `signer`, without waiting.
	///
	/// A nonce the pool calls outdated (`system_accountNextIndex` answered from a view the pool
	/// had already moved past, seen right after a node restart) is fetched again, a few times: the
	/// refused transaction is in no pool, so trying again cannot submit the call twice.
	pub async fn submit_shielded(&self, ciphertext: &[u8], signer: &Keypair) -> Result<()> {
		const ATTEMPTS: usize = 5;
		let mut attempt = 1;
		loop {
			let at = self.client.at_current_block().await?;
			let submitted = at
				.transactions()
				.sign_and_submit(
					&shielded_call(ciphertext),
					signer,
					immortal(self.next_nonce(signer).await?),
				)
				.await;
			match submitted {
				Ok(_) => return Ok(()),
				Err(e) if attempt < ATTEMPTS && e.to_string().contains("outdated") => {
					attempt += 1;
					tokio::time::sleep(std::time::Duration::from_millis(200)).await;
				},
				Err(e) => return Err(e).context("the node accepts the shielded call"),
			}
		}
	}
}
