//! What an enclave's registration on chain binds: the report data of the quote an enclave
//! registers with, computed by the enclave (which puts it in its quote) and by the runtime
//! (which refuses a quote whose report data is not this).
//!
//! `report_data = SHA-512(REGISTRATION_TAG || u32 LE length of the account || account ||
//! signing key || shielding key || key-set checksum)`, where the account is the SCALE encoding
//! of the registering account. The 64-byte digest fills the report data, so nothing else can
//! ride in it; the length prefix keeps the input unambiguous for accounts of any encoding.
//!
//! A quote is therefore good for exactly one account and one set of keys: a host that replays
//! an enclave's quote from another account, or with its own signing or shielding key, is
//! refused.

use sha2::{Digest, Sha512};

/// The domain-separation tag that starts the input of the registration binding.
pub const REGISTRATION_TAG: &[u8] = b"enclave-update/registration/v1";

/// The keys and the account one registration binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistrationBinding<'a> {
	/// The SCALE encoding of the account that submits the registration.
	pub account: &'a [u8],
	/// The enclave's Ed25519 signing key (its commitments are signed with it).
	pub signing_key: &'a [u8; 32],
	/// The shielding public key users encrypt their calls to.
	pub shielding_key: &'a [u8; 32],
	/// The checksum of the key set the enclave holds.
	pub key_set_checksum: &'a [u8; 32],
}

impl RegistrationBinding<'_> {
	/// The 64 bytes of report data that bind this registration (see the module docs).
	pub fn report_data(&self) -> [u8; 64] {
		let mut hasher = Sha512::new();
		hasher.update(REGISTRATION_TAG);
		// Accounts are small; a length beyond u32 cannot be encoded and is not an account.
		hasher.update(u32::try_from(self.account.len()).unwrap_or(u32::MAX).to_le_bytes());
		hasher.update(self.account);
		hasher.update(self.signing_key);
		hasher.update(self.shielding_key);
		hasher.update(self.key_set_checksum);
		hasher.finalize().into()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn every_input_changes_the_report_data() {
		let (account, signing, shielding, checksum) = ([1u8; 32], [2u8; 32], [3u8; 32], [4u8; 32]);
		let binding = RegistrationBinding {
			account: &account,
			signing_key: &signing,
			shielding_key: &shielding,
			key_set_checksum: &checksum,
		};
		let base = binding.report_data();
		let other = [9u8; 32];
		let variants = [
			RegistrationBinding { account: &other, ..binding },
			RegistrationBinding { account: &account[..31], ..binding },
			RegistrationBinding { signing_key: &other, ..binding },
			RegistrationBinding { shielding_key: &other, ..binding },
			RegistrationBinding { key_set_checksum: &other, ..binding },
		];
		for variant in variants {
			assert_ne!(variant.report_data(), base, "{variant:?}");
		}
		// Swapping two keys is another binding too.
		let swapped =
			RegistrationBinding { signing_key: &shielding, shielding_key: &signing, ..binding };
		assert_ne!(swapped.report_data(), base);
	}
}
