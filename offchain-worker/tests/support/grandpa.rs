//! GRANDPA test support: an authority set that signs justifications, and headers with GRANDPA
//! digests.

use codec::Encode;
use enclave_worker::chain::rpc::Header;
use sp_consensus_grandpa::{
	AuthorityId, AuthorityList, AuthoritySignature, ConsensusLog, ScheduledChange, SetId,
	GRANDPA_ENGINE_ID,
};
use sp_core::{ed25519, Pair, H256};
use sp_runtime::{Digest, DigestItem};

/// Ed25519 keys made from `seeds` (each byte one key).
pub fn keys(seeds: &[u8]) -> Vec<ed25519::Pair> {
	seeds.iter().map(|seed| ed25519::Pair::from_seed(&[*seed; 32])).collect()
}

/// The authority list of `keys`, each of weight 1.
pub fn authority_list(keys: &[ed25519::Pair]) -> AuthorityList {
	keys.iter().map(|pair| (AuthorityId::from(pair.public()), 1)).collect()
}

/// A SCALE-encoded GRANDPA justification of `header`: `signers` precommit it in `round` of
/// set `set_id`.
pub fn justification(
	header: &Header,
	round: u64,
	set_id: SetId,
	signers: &[ed25519::Pair],
) -> Vec<u8> {
	let precommit =
		finality_grandpa::Precommit { target_hash: header.hash(), target_number: header.number };
	let payload = sp_consensus_grandpa::localized_payload(
		round,
		set_id,
		&finality_grandpa::Message::<H256, u32>::Precommit(precommit.clone()),
	);
	let precommits = signers
		.iter()
		.map(|pair| finality_grandpa::SignedPrecommit {
			precommit: precommit.clone(),
			signature: AuthoritySignature::from(pair.sign(&payload)),
			id: AuthorityId::from(pair.public()),
		})
		.collect::<Vec<_>>();
	let commit = finality_grandpa::Commit {
		target_hash: header.hash(),
		target_number: header.number,
		precommits,
	};
	(round, commit, Vec::<Header>::new()).encode()
}

/// A header digest signalling an authority-set change to `next` after `delay` blocks.
pub fn scheduled_change(next: &[ed25519::Pair], delay: u32) -> Digest {
	let log = ConsensusLog::ScheduledChange(ScheduledChange {
		next_authorities: authority_list(next),
		delay,
	});
	Digest { logs: vec![DigestItem::Consensus(GRANDPA_ENGINE_ID, log.encode())] }
}

/// A header digest signalling a forced authority-set change to `next`.
pub fn forced_change(next: &[ed25519::Pair]) -> Digest {
	let log = ConsensusLog::ForcedChange(
		0u32,
		ScheduledChange { next_authorities: authority_list(next), delay: 0 },
	);
	Digest { logs: vec![DigestItem::Consensus(GRANDPA_ENGINE_ID, log.encode())] }
}
