//! Hex (`0x…`) serde forms of byte fields (identities, policies, status), so that the JSON an
//! operator reads shows measurements and keys as they are usually written. A leaf: used by
//! `attestation`, `tee` and anything else that serializes bytes.

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

/// `Vec<u8>` as a hex string.
pub mod hex_bytes {
	use serde::{Deserialize, Deserializer, Serializer};

	pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
		s.serialize_str(&format!("0x{}", hex::encode(bytes)))
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
		let text = String::deserialize(d)?;
		hex::decode(text.strip_prefix("0x").unwrap_or(&text)).map_err(serde::de::Error::custom)
	}
}
