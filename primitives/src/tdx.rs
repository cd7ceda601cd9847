//! The identity of a TDX trust domain: the one digest that governance schedules for a TD.
//!
//! MRTD alone measures only the TD's initial memory, in practice the virtual firmware (TDVF /
//! OVMF): every TD booted with the same firmware has the same MRTD, whatever kernel, command
//! line and workload it then runs. Those are measured into the run-time registers RTMR0–3,
//! and the host sets MRCONFIGID, MROWNER, MROWNERCONFIG and the TD attributes when it creates
//! the TD. The host is untrusted (see the threat model), so a TD's identity must cover every
//! one of them: [`TdIdentityFields::measurement`] is the [`Measurement::TdIdentity`] that the
//! pallet schedules, the worker derives from a verified quote, and tools compute from expected
//! register values. This module is the only place it is defined.
//!
//! ## Version 1
//!
//! `SHA-384(TD_IDENTITY_TAG || MRTD || RTMR0 || RTMR1 || RTMR2 || RTMR3 || MRCONFIGID ||
//! MROWNER || MROWNERCONFIG || TDATTRIBUTES)`, where the tag is the ASCII string
//! `enclave-update/tdx-identity/v1` (30 bytes, no terminator) and every field is the raw
//! bytes of the TD report field of that name, in report byte order:
//!
//! | field          | bytes | TD report offset |
//! |----------------|-------|------------------|
//! | MRTD           | 48    | 136              |
//! | RTMR0..RTMR3   | 48 each | 328, 376, 424, 472 |
//! | MRCONFIGID     | 48    | 184              |
//! | MROWNER        | 48    | 232              |
//! | MROWNERCONFIG  | 48    | 280              |
//! | TDATTRIBUTES   | 8     | 120              |
//!
//! (offsets within the TD report body, TDX 1.0 layout; a TDX 1.5 report starts with the same
//! body). Every input has a fixed length, so the concatenation is unambiguous; the 422-byte
//! input gives a 48-byte digest, the length of the measurement it replaces (MRTD), so a
//! [`Measurement`] still tells its kind by its length and keeps its encoded size.
//!
//! Why these fields:
//! - MRTD, RTMR0–3: the code. With Intel's TDVF, RTMR0 holds the firmware's configuration (TD HOB,
//!   ACPI tables), RTMR1 the boot loader and kernel, RTMR2 the kernel command line and initrd, and
//!   RTMR3 is left to the workload. A register the build leaves unused is covered as all zero, so
//!   whatever extends it later makes another identity.
//! - MRCONFIGID, MROWNER, MROWNERCONFIG: set by the host at TD creation and readable by the TD;
//!   software may act on any of them (an owner key, a configuration), so a host that changes one
//!   makes another TD. MROWNERCONFIG is included for the same reason as the other two: leaving out
//!   one host-chosen value the TD can read would let the host vary it without changing the
//!   identity. A deployment that leaves them zero pays nothing.
//! - TDATTRIBUTES (all 8 bytes): debug, SEPT_VE_DISABLE, migration, PKS, … change what the host can
//!   do to the TD. The attestation policy judges some of them as well; covering all of them here
//!   means a TD launched with other attributes is another identity.
//!
//! Left out, each for a reason:
//! - TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, SEAMATTRIBUTES (and TD 1.5's TEE_TCB_SVN2): the TDX module,
//!   the platform's TCB, which Intel's collateral appraises; a module update must not change the
//!   TD's identity.
//! - XFAM: the CPU extended features the host enabled, which depend on the CPU model; it would give
//!   one build a different identity on each generation of hardware.
//! - REPORTDATA: chosen per quote (it binds keys and nonces), not part of the identity.
//! - MR_SERVICETD (TD 1.5): a binding to a service TD, which the attestation policy refuses by
//!   default (the policy is itself part of the measured build); a TD 1.5 report's identity is
//!   computed from its TD 1.0 body, so the same TD has the same identity on a TDX 1.0 and a TDX 1.5
//!   module.
//!
//! A future version changes the tag (`…/v2`) and is a new measurement governance must
//! schedule.

use sha2::{Digest, Sha384};

use crate::Measurement;

/// Length of a TDX measurement register (MRTD, RTMRn, MRCONFIGID, MROWNER, MROWNERCONFIG):
/// a SHA-384 digest.
pub const TD_REGISTER_LEN: usize = 48;
/// Length of a TD report's TDATTRIBUTES.
pub const TD_ATTRIBUTES_LEN: usize = 8;
/// Length of a TD identity digest ([`Measurement::TdIdentity`]): a SHA-384 digest.
pub const TD_IDENTITY_LEN: usize = 48;
/// The domain-separation tag that starts the input of the version-1 TD identity digest.
pub const TD_IDENTITY_TAG: &[u8] = b"enclave-update/tdx-identity/v1";

/// The fields of a TD report that make up a TD's identity (see the module docs), each the
/// raw bytes of the report field of that name.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TdIdentityFields {
	/// MRTD: the TD's initial memory and configuration, in practice its firmware.
	pub mr_td: [u8; TD_REGISTER_LEN],
	/// RTMR0, RTMR1, RTMR2 and RTMR3, in that order.
	pub rt_mr: [[u8; TD_REGISTER_LEN]; 4],
	/// MRCONFIGID: a software-defined configuration id, set by the host at TD creation.
	pub mr_config_id: [u8; TD_REGISTER_LEN],
	/// MROWNER: the TD owner's id, set by the host at TD creation.
	pub mr_owner: [u8; TD_REGISTER_LEN],
	/// MROWNERCONFIG: an owner-defined configuration id, set by the host at TD creation.
	pub mr_owner_config: [u8; TD_REGISTER_LEN],
	/// TDATTRIBUTES: the TD's attributes (debug, SEPT_VE_DISABLE, …), as in the report.
	pub td_attributes: [u8; TD_ATTRIBUTES_LEN],
}

impl TdIdentityFields {
	/// The version-1 TD identity digest over these fields (see the module docs).
	pub fn digest(&self) -> [u8; TD_IDENTITY_LEN] {
		let mut hasher = Sha384::new();
		hasher.update(TD_IDENTITY_TAG);
		hasher.update(self.mr_td);
		for rt_mr in &self.rt_mr {
			hasher.update(rt_mr);
		}
		hasher.update(self.mr_config_id);
		hasher.update(self.mr_owner);
		hasher.update(self.mr_owner_config);
		hasher.update(self.td_attributes);
		hasher.finalize().into()
	}

	/// The measurement of the TD these fields describe: what governance schedules.
	pub fn measurement(&self) -> Measurement {
		Measurement::TdIdentity(self.digest())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn fields() -> TdIdentityFields {
		TdIdentityFields {
			mr_td: [0x01; TD_REGISTER_LEN],
			rt_mr: [
				[0x10; TD_REGISTER_LEN],
				[0x11; TD_REGISTER_LEN],
				[0x12; TD_REGISTER_LEN],
				[0x13; TD_REGISTER_LEN],
			],
			mr_config_id: [0x20; TD_REGISTER_LEN],
			mr_owner: [0x21; TD_REGISTER_LEN],
			mr_owner_config: [0x22; TD_REGISTER_LEN],
			td_attributes: [0, 0, 0, 0x10, 0, 0, 0, 0],
		}
	}

	/// Every way of changing one byte of one included field.
	fn with_each_field_changed() -> [(&'static str, TdIdentityFields); 9] {
		let change = |f: &dyn Fn(&mut TdIdentityFields)| {
			let mut fields = fields();
			f(&mut fields);
			fields
		};
		[
			("MRTD", change(&|f| f.mr_td[47] ^= 1)),
			("RTMR0", change(&|f| f.rt_mr[0][0] ^= 1)),
			("RTMR1", change(&|f| f.rt_mr[1][10] ^= 1)),
			("RTMR2", change(&|f| f.rt_mr[2][20] ^= 1)),
			("RTMR3", change(&|f| f.rt_mr[3][47] ^= 1)),
			("MRCONFIGID", change(&|f| f.mr_config_id[0] ^= 1)),
			("MROWNER", change(&|f| f.mr_owner[0] ^= 1)),
			("MROWNERCONFIG", change(&|f| f.mr_owner_config[0] ^= 1)),
			("TDATTRIBUTES", change(&|f| f.td_attributes[7] ^= 1)),
		]
	}

	#[test]
	fn the_version_one_digest_is_sha384_of_the_tag_and_the_fields_in_order() {
		// Computed independently: Python's hashlib.sha384 over the tag and the fields above.
		assert_eq!(
			hex::encode(fields().digest()),
			"2d1ec74e0f70c1e472b2a6ed785d8e598aa8578ed0e06d48a472886ab4db39fb\
			 9c03996177bcd93c050bfe8db000b23d"
		);
		assert_eq!(TD_IDENTITY_TAG, b"enclave-update/tdx-identity/v1");
	}

	#[test]
	fn the_measurement_is_the_tdx_variant_over_the_digest() {
		let fields = fields();
		assert_eq!(fields.measurement(), Measurement::TdIdentity(fields.digest()));
		assert_eq!(fields.measurement().kind(), "tdx-identity");
	}

	#[test]
	fn changing_any_included_field_changes_the_identity() {
		let base = fields().measurement();
		let changed = with_each_field_changed();
		for (name, fields) in &changed {
			assert_ne!(fields.measurement(), base, "{name}");
		}
		// And no two changes collide.
		for (i, (a, x)) in changed.iter().enumerate() {
			for (b, y) in &changed[i + 1..] {
				assert_ne!(x.digest(), y.digest(), "{a} vs {b}");
			}
		}
	}

	#[test]
	fn fields_do_not_stand_in_for_each_other() {
		// The same bytes in another register are another identity: the order is fixed.
		let mut swapped = fields();
		swapped.rt_mr.swap(0, 1);
		assert_ne!(swapped.digest(), fields().digest());
		let mut moved = fields();
		core::mem::swap(&mut moved.mr_config_id, &mut moved.mr_owner_config);
		assert_ne!(moved.digest(), fields().digest());
	}
}
