//! Framing: a `u32` big-endian length, then one SCALE encoded [`Message`], with per-read and
//! per-write timeouts.

use std::time::Duration;

use bytes::Bytes;
use codec::Encode;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{Framed, LengthDelimitedCodec, LengthDelimitedCodecError};

use super::{Message, RefusalReason};
use crate::provisioning::error::WireError;

/// Default maximum frame length: DCAP quotes with their PCK chains are 5–10 KiB.
pub const DEFAULT_MAX_FRAME_LEN: usize = 64 * 1024;
/// The longest snapshot answer accepted by default: a 1 GiB state plus the file's framing.
pub const DEFAULT_MAX_SNAPSHOT_LEN: usize = (1 << 30) + 4096;

/// A framed connection with per-read and per-write timeouts.
pub struct Connection<T> {
	framed: Framed<T, LengthDelimitedCodec>,
	timeout: Duration,
}

/// The length-delimited codec of the protocol: `u32` big-endian lengths, at most
/// `max_frame_len` bytes.
pub fn codec(max_frame_len: usize) -> LengthDelimitedCodec {
	LengthDelimitedCodec::builder()
		.big_endian()
		.length_field_type::<u32>()
		.max_frame_length(max_frame_len)
		.new_codec()
}

impl<T: AsyncRead + AsyncWrite + Unpin> Connection<T> {
	/// Wraps `io`; every read and write must finish within `timeout`.
	pub fn new(io: T, max_frame_len: usize, timeout: Duration) -> Self {
		Self { framed: Framed::new(io, codec(max_frame_len)), timeout }
	}

	/// Changes the longest frame accepted (and sent) from now on: a snapshot answer is far
	/// larger than the handshake's messages.
	pub fn set_max_frame_len(&mut self, max_frame_len: usize) {
		self.framed.codec_mut().set_max_frame_length(max_frame_len);
	}

	/// Sends one message.
	pub async fn send(&mut self, message: &Message) -> Result<(), WireError> {
		let bytes = Bytes::from(message.encode());
		match tokio::time::timeout(self.timeout, self.framed.send(bytes)).await {
			Ok(result) => result.map_err(map_codec_error),
			Err(_) => Err(WireError::Timeout { step: "sending", timeout: self.timeout }),
		}
	}

	/// Receives one message; `step` names what is awaited, for errors.
	pub async fn recv(&mut self, step: &'static str) -> Result<Message, WireError> {
		match tokio::time::timeout(self.timeout, self.framed.next()).await {
			Err(_) => Err(WireError::Timeout { step, timeout: self.timeout }),
			Ok(None) => Err(WireError::Closed { step }),
			Ok(Some(Err(e))) => Err(map_codec_error(e)),
			Ok(Some(Ok(frame))) => Message::decode_frame(&frame),
		}
	}

	/// Sends a refusal, best effort: the connection ends anyway.
	pub async fn refuse(&mut self, reason: RefusalReason) {
		if let Err(e) = self.send(&Message::Refused { reason }).await {
			tracing::debug!(error = %e, "could not send the refusal to the peer");
		}
	}
}

fn map_codec_error(error: std::io::Error) -> WireError {
	let too_large = error
		.get_ref()
		.is_some_and(|inner| inner.downcast_ref::<LengthDelimitedCodecError>().is_some());
	if too_large {
		WireError::FrameTooLarge
	} else {
		WireError::Io(error)
	}
}
