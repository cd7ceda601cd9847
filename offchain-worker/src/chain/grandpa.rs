//! A GRANDPA light client: the worker's only source of finality.
//!
//! The client tracks one authority set (its members, weights and set id) from a checkpoint,
//! the genesis header with pallet-grandpa's `Authorities` and `CurrentSetId` proven against its
//! state root. It believes a header only when
//!
//! - a GRANDPA justification signed by a supermajority of the tracked set finalizes it (checked by
//!   the bridges' verifier, [`bp_header_chain::justification`]), or
//! - it is an ancestor, by parent hashes, of such a header.
//!
//! It follows every authority-set change. A `ScheduledChange` digest in a header it walks
//! through takes effect at the header `delay` blocks later (the *enacting* block). GRANDPA
//! always stores a justification for an enacting block, signed by the outgoing set; the client
//! requires it ([`FinalityError::SkippedSetChange`] otherwise), and only then switches to the new
//! set with the next set id. A host can therefore not skip a change and present blocks of a set
//! it made up, and it cannot replay blocks finalized by an older set.
//!
//! A `ForcedChange` is refused ([`FinalityError::ForcedChange`]). A forced change is what a
//! chain's governance enacts when its authorities stopped finalizing, and by design no
//! justification of the outgoing set stands behind it: following it from headers alone would
//! mean believing unfinalized blocks, which a host can write. An enclave that meets one stops
//! and must be given a new checkpoint in an attested hand-over. No chain this project runs
//! schedules forced changes.
//!
//! The client is pure: [`RpcChain`](super::rpc::RpcChain) fetches headers and justifications
//! over RPC and seals the client's state ([`LightClient::encode_state`]) between runs.

use super::{rpc::Header, BlockNumber};
use bp_header_chain::{
	justification::{
		verify_and_optimize_justification, verify_justification, GrandpaJustification,
		JustificationVerificationContext, JustificationVerificationError, PrecommitError,
	},
	AuthoritySet, GrandpaConsensusLogReader,
};
use codec::{Decode, DecodeAll, Encode};
use sp_consensus_grandpa::{AuthorityList, SetId};
use sp_core::H256;
use std::collections::BTreeMap;

/// The version byte in front of an encoded [`LightClient`] state.
pub const STATE_VERSION: u8 = 1;

/// How many set ids around the tracked one a refused justification is tried with, to tell a
/// justification of another set ([`FinalityError::OtherSetId`]) from a bad signature.
const SET_ID_PROBE: SetId = 16;

/// Why the light client refused a header or a justification. Each attack has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FinalityError {
	/// The checkpoint is unusable (not a genesis header, or an empty or invalid authority set).
	#[error("the light-client checkpoint is invalid: {0}")]
	BadCheckpoint(&'static str),
	/// The header does not extend the verified chain: another fork, or a gap.
	#[error("block {number} does not descend from the verified head (an unfinalized fork)")]
	NotDescendant {
		/// The offending header's number.
		number: BlockNumber,
	},
	/// A header at the verified head's height that is not the verified head.
	#[error("the node's finalized block {number} is not the block this worker verified at that height (a fork)")]
	ConflictingHead {
		/// The height.
		number: BlockNumber,
	},
	/// The block enacting an authority-set change comes without a justification, so the change
	/// cannot be followed; blocks after it are not believed.
	#[error("block {number} enacts an authority-set change but no justification of it was supplied: the change cannot be skipped")]
	SkippedSetChange {
		/// The enacting block.
		number: BlockNumber,
	},
	/// A forced authority-set change, which the outgoing set does not sign (see the module docs).
	#[error("block {number} signals a forced authority-set change; it is not justified by the outgoing set, and this worker does not follow it")]
	ForcedChange {
		/// The signalling block.
		number: BlockNumber,
	},
	/// A second change was signalled while one is pending (pallet-grandpa never does this).
	#[error("block {number} signals an authority-set change while another is pending")]
	OverlappingChanges {
		/// The signalling block.
		number: BlockNumber,
	},
	/// The justification carries votes of keys that are not in the tracked set.
	#[error(
		"the justification of block {number} is signed by keys outside authority set {set_id}"
	)]
	UnknownAuthority {
		/// The justified block.
		number: BlockNumber,
		/// The tracked set id.
		set_id: SetId,
	},
	/// The justification was signed by the tracked keys, but for another set id (a replay from
	/// another era of the chain).
	#[error("the justification of block {number} was signed for authority set {signed_for}, but the tracked set is {tracked}")]
	OtherSetId {
		/// The justified block.
		number: BlockNumber,
		/// The tracked set id.
		tracked: SetId,
		/// The set id the signatures verify under.
		signed_for: SetId,
	},
	/// A vote's signature does not verify under any nearby set id.
	#[error("a signature in the justification of block {number} does not verify")]
	InvalidSignature {
		/// The justified block.
		number: BlockNumber,
	},
	/// The valid votes do not reach a supermajority of the tracked set.
	#[error("the justification of block {number} lacks a supermajority of authority set {set_id}")]
	NotEnoughVotes {
		/// The justified block.
		number: BlockNumber,
		/// The tracked set id.
		set_id: SetId,
	},
	/// The justification finalizes another block than the one it came with.
	#[error("the justification supplied for block {number} finalizes another block")]
	WrongTarget {
		/// The block it came with.
		number: BlockNumber,
	},
	/// The justification does not decode or is inconsistent (duplicate votes or ancestries,
	/// votes for unrelated blocks).
	#[error("the justification of block {number} is malformed: {reason}")]
	Malformed {
		/// The block it came with.
		number: BlockNumber,
		/// What is wrong.
		reason: String,
	},
	/// The sealed state does not decode, or is of a version this build does not read.
	#[error("the sealed light-client state is invalid: {0}")]
	BadState(&'static str),
}

/// An authority-set change seen in a believed header, not yet enacted.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PendingChange {
	/// The block whose finality enacts it.
	pub enacted_at: BlockNumber,
	/// The next set's authorities.
	pub authorities: AuthorityList,
}

/// The light client's state; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct LightClient {
	genesis_hash: [u8; 32],
	set_id: SetId,
	authorities: AuthorityList,
	pending: Option<PendingChange>,
	head: Header,
}

fn context(authorities: &AuthorityList, set_id: SetId) -> Option<JustificationVerificationContext> {
	JustificationVerificationContext::try_from(AuthoritySet::new(authorities.clone(), set_id)).ok()
}

impl LightClient {
	/// Starts from `genesis` (the chain's block 0) and the authority set proven in its state.
	pub fn from_checkpoint(
		genesis: Header,
		authorities: AuthorityList,
		set_id: SetId,
	) -> Result<Self, FinalityError> {
		if genesis.number != 0 {
			return Err(FinalityError::BadCheckpoint("the checkpoint header is not block 0"));
		}
		if context(&authorities, set_id).is_none() {
			return Err(FinalityError::BadCheckpoint(
				"the authority set is empty or has zero weight",
			));
		}
		Ok(Self {
			genesis_hash: genesis.hash().0,
			set_id,
			authorities,
			pending: None,
			head: genesis,
		})
	}

	/// The genesis hash of the chain this client follows.
	pub fn genesis_hash(&self) -> [u8; 32] {
		self.genesis_hash
	}

	/// The tracked set id.
	pub fn set_id(&self) -> SetId {
		self.set_id
	}

	/// The tracked authorities.
	pub fn authorities(&self) -> &AuthorityList {
		&self.authorities
	}

	/// The newest block the client believes final.
	pub fn head(&self) -> &Header {
		&self.head
	}

	/// The change signalled in a believed header and not yet enacted, if any.
	pub fn pending_change(&self) -> Option<&PendingChange> {
		self.pending.as_ref()
	}

	/// The state as sealed between runs: [`STATE_VERSION`], then the SCALE encoding.
	pub fn encode_state(&self) -> Vec<u8> {
		let mut bytes = vec![STATE_VERSION];
		self.encode_to(&mut bytes);
		bytes
	}

	/// Decodes a state written by [`LightClient::encode_state`].
	pub fn decode_state(bytes: &[u8]) -> Result<Self, FinalityError> {
		match bytes.split_first() {
			Some((&STATE_VERSION, mut rest)) => Self::decode_all(&mut rest)
				.map_err(|_| FinalityError::BadState("it does not decode")),
			Some(_) => Err(FinalityError::BadState("unsupported version")),
			None => Err(FinalityError::BadState("it is empty")),
		}
	}

	/// The hashes of the blocks among `headers` (the descendants of the head, oldest first)
	/// whose justifications [`LightClient::import`] needs: every block enacting a set change,
	/// and the newest block.
	pub fn justifications_needed(&self, headers: &[Header]) -> Result<Vec<H256>, FinalityError> {
		let mut needed = Vec::new();
		let mut walk = self.clone();
		for (i, header) in headers.iter().enumerate() {
			let enacts = walk.step(header)?;
			if enacts.is_some() || i + 1 == headers.len() {
				needed.push(header.hash());
			}
			if let Some(change) = enacts {
				walk.enact(change);
			}
		}
		Ok(needed)
	}

	/// Imports `headers`, the descendants of the head in order (each the parent of the next),
	/// with the `justifications` (SCALE-encoded, by block hash) fetched for them. The head
	/// moves to the newest header with a valid justification; the headers after it are not
	/// believed (yet). Returns whether the head moved. On an error nothing changes.
	pub fn import(
		&mut self,
		headers: &[Header],
		justifications: &BTreeMap<H256, Vec<u8>>,
	) -> Result<bool, FinalityError> {
		let mut walk = self.clone();
		let mut believed = None;
		for header in headers {
			let hash = header.hash();
			let enacts = walk.step(header)?;
			let justified = match justifications.get(&hash) {
				Some(justification) => {
					// Before `enact`: an enacting block is the last of the outgoing set, which
					// signs it.
					walk.verify(header, hash, justification)?;
					true
				},
				None if enacts.is_some() => {
					return Err(FinalityError::SkippedSetChange { number: header.number })
				},
				None => false,
			};
			if let Some(change) = enacts {
				walk.enact(change);
			}
			if justified {
				believed = Some(walk.clone());
			}
		}
		match believed {
			Some(next) => {
				*self = next;
				Ok(true)
			},
			None => Ok(false),
		}
	}

	/// Walks over `header`, the next block after the previous one walked: checks the link,
	/// refuses forced changes, records a scheduled change, and says whether `header` enacts the
	/// pending change.
	fn step(&mut self, header: &Header) -> Result<Option<PendingChange>, FinalityError> {
		let number = header.number;
		// `head` tracks the previous header during a walk: the caller restores the state.
		if header.parent_hash.0 != self.head.hash().0
			|| Some(number) != self.head.number.checked_add(1)
		{
			return Err(FinalityError::NotDescendant { number });
		}
		if GrandpaConsensusLogReader::<BlockNumber>::find_forced_change(&header.digest).is_some() {
			return Err(FinalityError::ForcedChange { number });
		}
		if let Some(change) =
			GrandpaConsensusLogReader::<BlockNumber>::find_scheduled_change(&header.digest)
		{
			if self.pending.is_some() {
				return Err(FinalityError::OverlappingChanges { number });
			}
			self.pending = Some(PendingChange {
				enacted_at: number.saturating_add(change.delay),
				authorities: change.next_authorities,
			});
		}
		self.head = header.clone();
		Ok(self.pending.take_if(|pending| pending.enacted_at == number))
	}

	fn enact(&mut self, change: PendingChange) {
		self.authorities = change.authorities;
		self.set_id = self.set_id.saturating_add(1);
	}

	/// Checks that `justification` finalizes `header` (hash `hash`) under the tracked set.
	fn verify(
		&self,
		header: &Header,
		hash: H256,
		justification: &[u8],
	) -> Result<(), FinalityError> {
		let number = header.number;
		let mut justification =
			GrandpaJustification::<Header>::decode_all(&mut &justification[..]).map_err(|_| {
				FinalityError::Malformed { number, reason: "it does not decode".into() }
			})?;
		let Some(context) = context(&self.authorities, self.set_id) else {
			// A set change to an empty set: nothing can be finalized any more.
			return Err(FinalityError::NotEnoughVotes { number, set_id: self.set_id });
		};
		let target = (hash, number);
		// The strict verifier names the first fault; a justification that carries extra votes
		// beyond the supermajority (as nodes send them) passes the optimizing verifier, which
		// drops what is redundant and checks the rest.
		let Err(strict) = verify_justification::<Header>(target, &context, &justification) else {
			return Ok(());
		};
		if verify_and_optimize_justification::<Header>(target, &context, &mut justification).is_ok()
		{
			return Ok(());
		}
		Err(match strict {
			JustificationVerificationError::InvalidJustificationTarget => {
				FinalityError::WrongTarget { number }
			},
			JustificationVerificationError::TooLowCumulativeWeight => {
				FinalityError::NotEnoughVotes { number, set_id: self.set_id }
			},
			JustificationVerificationError::Precommit(PrecommitError::UnknownAuthorityVote) => {
				FinalityError::UnknownAuthority { number, set_id: self.set_id }
			},
			JustificationVerificationError::Precommit(
				PrecommitError::InvalidAuthoritySignature,
			) => match self.signed_for_set(target, &justification) {
				Some(signed_for) => {
					FinalityError::OtherSetId { number, tracked: self.set_id, signed_for }
				},
				None => FinalityError::InvalidSignature { number },
			},
			other => FinalityError::Malformed { number, reason: format!("{other:?}") },
		})
	}

	/// The set id near the tracked one under which `justification` verifies, if any.
	fn signed_for_set(
		&self,
		target: (H256, BlockNumber),
		justification: &GrandpaJustification<Header>,
	) -> Option<SetId> {
		let low = self.set_id.saturating_sub(SET_ID_PROBE);
		let high = self.set_id.saturating_add(SET_ID_PROBE);
		(low..=high).filter(|id| *id != self.set_id).find(|id| {
			context(&self.authorities, *id).is_some_and(|context| {
				verify_and_optimize_justification::<Header>(
					target,
					&context,
					&mut justification.clone(),
				)
				.is_ok()
			})
		})
	}
}
