//! The demo state machine the enclave carries across an upgrade: shielded calls submitted on
//! chain, decrypted with the shielding key and applied to a small key-value store.
//!
//! ## Calls
//! A user encrypts a [`ShieldedCall`] to the worker's shielding public key with [`seal_call`]
//! and submits the resulting [`ShieldedEnvelope`] to the chain's inbox; the active worker
//! opens each call with [`open_call`]. HPKE (RFC 9180) in base mode with
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and ChaCha20-Poly1305; the HPKE `info` is
//! [`CALL_INFO_TAG`] ‖ genesis hash, so a call only opens on the chain it was sealed for; the
//! `aad` is empty.
//!
//! ## Execution
//! [`ExecutedState::apply_block`] takes the blocks in order, each exactly once: it refuses any
//! block but the next one on top of the last executed block. A call that does not open or does
//! not decode is skipped and counted, never fatal: anyone can submit bytes to the inbox.
//!
//! ## State hash
//! With `‖` concatenation, `SCALE(x)` the SCALE encoding of `x` and `H` BLAKE2b-256:
//!
//! ```text
//! genesis:  state_hash_0 = H(GENESIS_STATE_TAG ‖ genesis_hash)
//! block n:  state_hash_n = H(STATE_TAG ‖ state_hash_{n-1} ‖ n as u64 LE ‖ block_hash_n
//!                            ‖ SCALE(Vec<(H(call bytes), applied: bool)>))
//! ```
//!
//! Only public data enters the hash (the submitted bytes and whether each call was applied),
//! so anyone holding the chain can recompute the chain of hashes except for the `applied`
//! flags, and two enclaves that executed the same blocks agree on it without revealing the
//! state. It chains across an upgrade: the successor continues from its predecessor's last
//! hash.

mod call;
mod exec;
mod state;
#[cfg(test)]
mod tests;

pub use call::{
	open_call, seal_call, try_seal_call, CallError, InvalidRecipient, ShieldedCall,
	ShieldedEnvelope, CALL_INFO_TAG, ENVELOPE_VERSION, MAX_CIPHERTEXT_LEN, MAX_KEY_LEN,
	MAX_VALUE_LEN,
};
pub use exec::{
	replay, BlockOutcome, ExecError, ExecutedState, GENESIS_STATE_TAG, STATE_TAG, STATE_VERSION,
};
pub use state::DemoState;
