//! Verify a peer's evidence and decide whether to trust it.
//!
//! Two stages, both needed and kept apart so each refusal has its own error:
//! 1. [`Verifier::check_evidence`]: cryptography. A DCAP quote is verified with `dcap-qvl` against
//!    Intel's root and the given [`Collateral`] at a given time; a simulated quote (from
//!    [`crate::tee::sim`]) only in dev mode, against the dev attestation key. The result is a
//!    [`PeerIdentity`].
//! 2. [`AttestationPolicy::evaluate`]: policy on that identity. Accepted TCB statuses, rejected
//!    advisories, debug enclaves (for a TD: any "TD under debug" attribute), TDs without
//!    SEPT_VE_DISABLE or bound to a service TD, MRSIGNER / product id pinning, minimum SVN, and the
//!    binding of the report data to the caller's transcript.
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
