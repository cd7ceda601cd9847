//! What an enclave registers on chain (`pallet-enclave-registry`'s `register_enclave`): its own
//! signing key, the shielding key users encrypt to and the checksum of the key set it holds,
//! bound by a quote to the account that submits the registration.
//!
//! The signing key is this enclave's, not the key set's: every build, and every instance of one
//! build on another data directory, has its own, generated on first use and sealed to the
//! measurement ([`crate::store::Store::signing_key`]). It is never handed over; a successor
//! registers a key of its own (seed 001: "new worker registers enclave onchain (new
//! signing-key…)").
//!
//! The quote's report data is [`RegistrationBinding::report_data`], the digest the runtime
//! recomputes: a host can submit the evidence only from the account it names, and only with
//! these keys. The URL is not bound: it is where the operator serves, which the mutual
//! attestation of the hand-over checks anyway.

use std::fmt;

use ed25519_dalek::{Signer, SigningKey};
use enclave_update_primitives::{CutOverCommitment, Measurement, RegistrationBinding};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{
	chain::BlockNumber,
	keys::KeyMaterial,
	serde_hex::{hex_array, hex_bytes},
	tee::{Tee, TeeError, TeeKind},
};

/// This enclave's Ed25519 signing key: what its registration names and its commitments are
/// signed with. Zeroized on drop; its `Debug` shows only the public key.
pub struct EnclaveSigningKey(SigningKey);

impl EnclaveSigningKey {
	/// A fresh key from the operating system's random source.
	pub fn generate() -> Self {
		Self(SigningKey::generate(&mut rand_core::OsRng))
	}

	/// The key whose secret is `secret`.
	pub fn from_secret(secret: &[u8; 32]) -> Self {
		Self(SigningKey::from_bytes(secret))
	}

	/// The secret, for sealing it. Never log it.
	pub(crate) fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
		Zeroizing::new(self.0.to_bytes())
	}

	/// The public key the registration names.
	pub fn public_key(&self) -> [u8; 32] {
		self.0.verifying_key().to_bytes()
	}

	/// The Ed25519 signature of `message`.
	pub fn sign(&self, message: &[u8]) -> [u8; 64] {
		self.0.sign(message).to_bytes()
	}
}

impl fmt::Debug for EnclaveSigningKey {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(
			f,
			"EnclaveSigningKey(public 0x{}, secret <redacted>)",
			hex::encode(self.public_key())
		)
	}
}

/// The arguments of one `register_enclave` call except the collateral and the URL, which the
/// operator adds: what `enclave-worker register-evidence` prints and
/// `enclave-update-cli register` submits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationEvidence {
	/// What produced the quote.
	pub tee: TeeKind,
	/// The enclave's measurement (the quote's; the runtime proves it).
	pub measurement: Measurement,
	/// The SCALE encoding of the account the quote is bound to: the only one that can submit it.
	#[serde(with = "hex_bytes")]
	pub account: Vec<u8>,
	/// The enclave's signing key ([`EnclaveSigningKey::public_key`]).
	#[serde(with = "hex_array")]
	pub signing_key: [u8; 32],
	/// The shielding public key users encrypt their calls to.
	#[serde(with = "hex_array")]
	pub shielding_key: [u8; 32],
	/// The checksum of the key set the enclave holds ([`KeyMaterial::checksum`]).
	#[serde(with = "hex_array")]
	pub key_set_checksum: [u8; 32],
	/// The quote, whose report data is the [`RegistrationBinding`] of the fields above.
	#[serde(with = "hex_bytes")]
	pub evidence: Vec<u8>,
}

impl RegistrationEvidence {
	/// The report data the quote must carry for these fields.
	pub fn report_data(&self) -> [u8; 64] {
		RegistrationBinding {
			account: &self.account,
			signing_key: &self.signing_key,
			shielding_key: &self.shielding_key,
			key_set_checksum: &self.key_set_checksum,
		}
		.report_data()
	}
}

/// The file of the data directory where an enclave leaves its signed cut-over commitment for
/// its operator to submit (`enclave-update-cli commit-cut-over`). Nothing in it is secret.
pub const CUT_OVER_FILE: &str = "cutover.commitment.json";

/// A cut-over commitment signed by the enclave's registered key: the arguments of
/// `EnclaveRegistry::commit_cut_over`, which `enclave-update-cli commit-cut-over` submits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCutOver {
	/// The committing (predecessor) enclave's measurement.
	pub measurement: Measurement,
	/// Its last block, `XYZ − 1`.
	pub last_block: BlockNumber,
	/// That block's hash.
	#[serde(with = "hex_array")]
	pub block_hash: [u8; 32],
	/// The state hash after that block.
	#[serde(with = "hex_array")]
	pub state_hash: [u8; 32],
	/// The enclave's Ed25519 signature over [`CutOverCommitment::message`].
	#[serde(with = "hex_array")]
	pub signature: [u8; 64],
}

impl SignedCutOver {
	/// `commitment`, signed by `signing`.
	pub fn sign(signing: &EnclaveSigningKey, commitment: CutOverCommitment<BlockNumber>) -> Self {
		let signature = signing.sign(&commitment.message());
		Self {
			measurement: commitment.measurement,
			last_block: commitment.last_block,
			block_hash: commitment.block_hash,
			state_hash: commitment.state_hash,
			signature,
		}
	}

	/// The commitment signed.
	pub fn commitment(&self) -> CutOverCommitment<BlockNumber> {
		CutOverCommitment {
			measurement: self.measurement,
			last_block: self.last_block,
			block_hash: self.block_hash,
			state_hash: self.state_hash,
		}
	}
}

/// The SCALE encoding of the account `text` names: an SS58 address, or the 32-byte account id
/// as 0x-hex (the chains this build follows use 32-byte `AccountId32`s).
pub fn parse_account(text: &str) -> Result<Vec<u8>, String> {
	use sp_core::crypto::{AccountId32, Ss58Codec};
	if let Some(digits) = text.strip_prefix("0x") {
		let mut bytes = [0u8; 32];
		hex::decode_to_slice(digits, &mut bytes)
			.map_err(|e| format!("{text:?}: not a 32-byte account id in hex: {e}"))?;
		return Ok(bytes.to_vec());
	}
	let account = AccountId32::from_ss58check(text)
		.map_err(|e| format!("{text:?}: not an SS58 address nor 0x-hex: {e:?}"))?;
	Ok(AsRef::<[u8]>::as_ref(&account).to_vec())
}

/// The evidence for registering this enclave (`tee`, holding `keys`, with its signing key
/// `signing`) from `account` (its SCALE encoding): a quote over the registration's binding.
pub fn registration_evidence(
	tee: &dyn Tee,
	keys: &KeyMaterial,
	signing: &EnclaveSigningKey,
	account: &[u8],
) -> Result<RegistrationEvidence, TeeError> {
	let mut evidence = RegistrationEvidence {
		tee: tee.kind(),
		measurement: tee.identity()?.measurement,
		account: account.to_vec(),
		signing_key: signing.public_key(),
		shielding_key: keys.shielding.public_key(),
		key_set_checksum: keys.checksum().0,
		evidence: Vec::new(),
	};
	evidence.evidence = tee.quote(&evidence.report_data())?;
	Ok(evidence)
}

#[cfg(all(test, feature = "dev-tee"))]
mod tests {
	use super::*;
	use crate::{attestation::sim_quote, store::Store, tee::SimTee, testing::m};
	use assert_matches::assert_matches;

	#[test]
	fn the_quote_binds_the_account_and_the_keys() {
		let dir = tempfile::tempdir().unwrap();
		let tee = SimTee::in_data_dir(m(1), dir.path());
		let keys = KeyMaterial::generate();
		let signing = EnclaveSigningKey::generate();
		let evidence = registration_evidence(&tee, &keys, &signing, &[7; 32]).unwrap();
		let quote = sim_quote::decode(&evidence.evidence).unwrap();
		assert!(sim_quote::verify_dev_signature(&quote).is_ok());
		assert_eq!(quote.quote.measurement, m(1));
		let expected = RegistrationBinding {
			account: &[7; 32],
			signing_key: &signing.public_key(),
			shielding_key: &keys.shielding.public_key(),
			key_set_checksum: &keys.checksum().0,
		}
		.report_data();
		assert_eq!(quote.quote.report_data, expected);
		// From another account, the same enclave's quote binds something else.
		let other = registration_evidence(&tee, &keys, &signing, &[8; 32]).unwrap();
		assert_ne!(sim_quote::decode(&other.evidence).unwrap().quote.report_data, expected);
	}

	#[test]
	fn the_evidence_round_trips_as_json() {
		let dir = tempfile::tempdir().unwrap();
		let tee = SimTee::in_data_dir(m(1), dir.path());
		let evidence = registration_evidence(
			&tee,
			&KeyMaterial::generate(),
			&EnclaveSigningKey::generate(),
			&[7; 32],
		)
		.unwrap();
		let text = serde_json::to_string(&evidence).unwrap();
		assert!(text.contains(&format!("\"0x{}\"", hex::encode([7u8; 32]))), "{text}");
		assert_eq!(serde_json::from_str::<RegistrationEvidence>(&text).unwrap(), evidence);
	}

	#[test]
	fn the_signing_key_is_made_once_and_sealed_to_the_measurement() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		let tee = SimTee::in_data_dir(m(1), dir.path());
		let sealing = tee.sealing_key().unwrap();
		assert!(store.read_signing_key(&sealing, &m(1)).unwrap().is_none());
		let first = store.signing_key(&sealing, &m(1)).unwrap();
		let again = store.signing_key(&sealing, &m(1)).unwrap();
		assert_eq!(first.public_key(), again.public_key());
		let file = std::fs::read(dir.path().join(crate::store::SIGNING_KEY_FILE)).unwrap();
		let secret = first.secret_bytes();
		assert!(!file.windows(32).any(|w| w == &secret[..]), "the secret is in the file");
		// Another build can neither read it nor make one in its place.
		let other = SimTee::in_data_dir(m(2), dir.path());
		let other_sealing = other.sealing_key().unwrap();
		assert_matches!(
			store.signing_key(&other_sealing, &m(2)),
			Err(crate::store::StoreError::SealedByOtherEnclave { .. })
		);
		// A signature verifies under the registered public key.
		let signature = first.sign(b"commitment");
		let public = ed25519_dalek::VerifyingKey::from_bytes(&first.public_key()).unwrap();
		assert!(public
			.verify_strict(b"commitment", &ed25519_dalek::Signature::from_bytes(&signature))
			.is_ok());
	}

	#[test]
	fn accounts_parse_from_ss58_and_hex() {
		// Alice's well-known dev account.
		let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
		let bytes = parse_account(alice).unwrap();
		assert_eq!(
			hex::encode(&bytes),
			"d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
		);
		assert_eq!(parse_account(&format!("0x{}", hex::encode(&bytes))).unwrap(), bytes);
		assert!(parse_account("0x1234").is_err());
		assert!(parse_account("not an address").is_err());
	}

	#[test]
	fn a_signed_cut_over_verifies_under_the_registered_key_and_round_trips() {
		let signing = EnclaveSigningKey::generate();
		let commitment = CutOverCommitment {
			measurement: m(1),
			last_block: 56,
			block_hash: [2; 32],
			state_hash: [3; 32],
		};
		let signed = SignedCutOver::sign(&signing, commitment);
		assert_eq!(signed.commitment(), commitment);
		let public = ed25519_dalek::VerifyingKey::from_bytes(&signing.public_key()).unwrap();
		let signature = ed25519_dalek::Signature::from_bytes(&signed.signature);
		assert!(public.verify_strict(&commitment.message(), &signature).is_ok());
		let text = serde_json::to_string(&signed).unwrap();
		assert_eq!(serde_json::from_str::<SignedCutOver>(&text).unwrap(), signed);
	}

	#[test]
	fn debug_shows_no_secret() {
		let key = EnclaveSigningKey::generate();
		let text = format!("{key:?}");
		assert!(text.contains("redacted"), "{text}");
		assert!(!text.contains(&hex::encode(&key.secret_bytes()[..])), "{text}");
	}
}
