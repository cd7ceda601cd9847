//! The wire format of the provisioning protocol: messages, framing, the transcript hash, the
//! report data both quotes bind, and the HPKE sealing of the key material.
//!
//! ## Framing
//! Every message is one frame: a `u32` big-endian length, then that many bytes holding one
//! SCALE-encoded [`Message`] (nothing may follow it inside the frame). A frame longer than the
//! configured maximum ([`DEFAULT_MAX_FRAME_LEN`]) is refused before it is read.
//!
//! ## Transcript
//! [`Transcript`] is the one definition both sides use. With `‖` concatenation and `SCALE(x)`
//! the SCALE encoding of `x`:
//!
//! ```text
//! prefix        = TRANSCRIPT_TAG ‖ stage ‖ SCALE(ChallengeRequest) ‖ SCALE(Challenge) ‖ SCALE(KeyRequest)
//!                 ‖ SCALE(decided_at_block, decided_at_hash, reason, key_checksum)
//! seal_context  = SHA-512(prefix with stage = 1)
//! transcript    = SHA-512(prefix with stage = 2 ‖ SCALE(encapsulated_key, ciphertext))
//! ```
//!
//! `seal_context` is the HPKE `info` and `aad`: the ciphertext only opens in this handshake.
//! `transcript` covers every message and every field of the [`KeyResponse`] except the
//! provider's quote, which binds it: its report data is [`response_report_data`]. Binding the
//! ciphertext matters: HPKE's base mode does not authenticate the sender, so without it a
//! man in the middle could substitute key material of its own.
//!
//! The requester's quote binds [`request_report_data`] (its ephemeral key, the provider's
//! nonce and the chain), so the provider knows the ephemeral key belongs to the attested
//! enclave and the quote was made for this challenge.

mod framing;
mod messages;
mod seal;
#[cfg(test)]
mod tests;
mod transcript;

pub use framing::{codec, Connection, DEFAULT_MAX_FRAME_LEN, DEFAULT_MAX_SNAPSHOT_LEN};
pub use messages::*;
pub use seal::{seal_to, EphemeralKey};
pub use transcript::{
	request_report_data, response_report_data, Transcript, REQUEST_REPORT_DATA_TAG,
	RESPONSE_REPORT_DATA_TAG, TRANSCRIPT_TAG,
};
