//! Verify a peer's evidence and decide whether to trust it.
//!
//! Two stages, both needed and kept apart so each refusal has its own error:
//! 1. [`Verifier::check_evidence`]: cryptography. A DCAP quote is verified with
//!    `dcap-qvl` against Intel's root and the given [`Collateral`] at a given time; a
//!    simulated quote (from [`crate::tee::sim`]) only in dev mode, against the dev
//!    attestation key. The result is a [`PeerIdentity`].
//! 2. [`AttestationPolicy::evaluate`]: policy on that identity. Accepted TCB statuses,
//!    rejected advisories, debug enclaves (for a TD: any "TD under debug" attribute), TDs
//!    without SEPT_VE_DISABLE or bound to a service TD, MRSIGNER / product id pinning,
//!    minimum SVN, and the binding of the report data to the caller's transcript.
//!
//! [`Verifier::verify`] runs both.
//!
//! ## One encoding per quote
//!
//! Evidence is hashed, stored and deduplicated, so [`decode_evidence`] accepts a DCAP quote
//! only with exact framing (nested lengths that add up, outer certification type 6), its PCK
//! chain as canonical PEM (optionally NUL-terminated) and an all-zero tail or none, and
//! returns its one canonical encoding ([`DcapEvidence::canonical_bytes`]: no tail, no NUL,
//! every ECDSA signature low-`s` but that of Intel's root CA certificate), which is what gets
//! verified. Anything else is a [`NonCanonicalEncoding`] refusal. The verifier requires an
//! embedded PCK chain to be exactly the PCK certificate, its CA's and Intel's root.
//!
//! ## Files
//!
//! `evidence` decodes, `collateral` holds the collateral and its validity window, `verifier`
//! runs dcap-qvl and builds the [`PeerIdentity`], `tcb` matches TCB levels where dcap-qvl
//! cannot report them, `policy` judges the identity, `error` names every refusal, `cache`
//! keeps collateral on disk, `sim_quote` is the dev-mode quote format.

mod cache;
mod collateral;
mod error;
mod evidence;
mod policy;
pub mod sim_quote;
mod tcb;
mod verifier;

pub use cache::{CollateralCache, PccsNotBuilt};
pub use collateral::Collateral;
pub use error::AttestationError;
pub use evidence::{
	decode_evidence, is_debug, service_td, td_attributes, DcapEvidence, Evidence,
	NonCanonicalEncoding, TdAttributes,
};
pub use policy::{AttestationPolicy, TcbStatus};
pub use verifier::{EvidenceKind, PeerIdentity, Verifier};

/// Hex (`0x…`) serde forms of the byte fields of [`PeerIdentity`] and [`AttestationPolicy`], so
/// that the JSON an operator reads shows measurements and keys as they are usually written.
mod serde_hex {
	/// `Option<Vec<u8>>` as an optional hex string.
	pub mod opt_hex {
		use serde::{Deserialize, Deserializer, Serializer};

		pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
			match bytes {
				Some(bytes) => s.serialize_some(&format!("0x{}", hex::encode(bytes))),
				None => s.serialize_none(),
			}
		}

		pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
			let text: Option<String> = Option::deserialize(d)?;
			text.map(|t| {
				hex::decode(t.strip_prefix("0x").unwrap_or(&t)).map_err(serde::de::Error::custom)
			})
			.transpose()
		}
	}

	/// `[u8; N]` as a hex string of exactly `N` bytes.
	pub mod hex_array {
		use serde::{Deserialize, Deserializer, Serializer};

		pub fn serialize<S: Serializer, const N: usize>(
			bytes: &[u8; N],
			s: S,
		) -> Result<S::Ok, S::Error> {
			s.serialize_str(&format!("0x{}", hex::encode(bytes)))
		}

		pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
			d: D,
		) -> Result<[u8; N], D::Error> {
			let text = String::deserialize(d)?;
			let mut out = [0u8; N];
			hex::decode_to_slice(text.strip_prefix("0x").unwrap_or(&text), &mut out)
				.map_err(serde::de::Error::custom)?;
			Ok(out)
		}
	}
}
