use super::*;

fn sgx(byte: u8) -> Measurement {
	Measurement::MrEnclave([byte; MRENCLAVE_LEN])
}

const A: u8 = 0xa;
const B: u8 = 0xb;
const C: u8 = 0xc;
const D: u8 = 0xd;
const X: u8 = 0xe;

/// Genesis enclave `O` (superseded at 10), `A` active since 10, `B` scheduled at 100, `C` at 200,
/// `D` retired.
struct Fixture {
	superseded: [SupersededEnclave<u32>; 1],
	scheduled: [ScheduledEnclave<u32>; 2],
	retired: [Measurement; 1],
}

const O: u8 = 0x0;

impl Fixture {
	fn new() -> Self {
		Fixture {
			superseded: [SupersededEnclave {
				measurement: sgx(O),
				activated_at: 0,
				superseded_at: 10,
			}],
			scheduled: [
				ScheduledEnclave { measurement: sgx(B), activates_at: 100 },
				ScheduledEnclave { measurement: sgx(C), activates_at: 200 },
			],
			retired: [sgx(D)],
		}
	}

	fn view(&self) -> ScheduleView<'_, u32> {
		ScheduleView {
			active: Some(ActiveEnclave { measurement: sgx(A), since: 10 }),
			superseded: &self.superseded,
			scheduled: &self.scheduled,
			retired: &self.retired,
		}
	}
}

fn decide(view: &ScheduleView<'_, u32>, provider: u8, requester: u8, now: u32) -> Decision<u32> {
	provisioning_decision(view, &sgx(provider), &sgx(requester), now)
}

#[test]
fn active_provider_replicates_to_same_measurement() {
	let f = Fixture::new();
	assert_eq!(decide(&f.view(), A, A, 50), Decision::Allowed(Allowed::Replication));
}

#[test]
fn active_provider_provisions_next_scheduled_before_its_block() {
	let f = Fixture::new();
	assert_eq!(
		decide(&f.view(), A, B, 50),
		Decision::Allowed(Allowed::ScheduledSuccessor { activates_at: 100 })
	);
	assert_eq!(
		decide(&f.view(), A, B, 99),
		Decision::Allowed(Allowed::ScheduledSuccessor { activates_at: 100 })
	);
}

#[test]
fn successor_after_next_is_denied_until_its_predecessor_is_active() {
	let f = Fixture::new();
	assert_eq!(decide(&f.view(), A, C, 50), Decision::Denied(Denied::RequesterNotNext));
	// Once B is active (block 100, even if storage has not caught up), B provisions C.
	assert_eq!(
		decide(&f.view(), B, C, 100),
		Decision::Allowed(Allowed::ScheduledSuccessor { activates_at: 200 })
	);
}

#[test]
fn unscheduled_requester_is_denied() {
	let f = Fixture::new();
	assert_eq!(decide(&f.view(), A, X, 50), Decision::Denied(Denied::RequesterNotScheduled));
}

#[test]
fn superseded_requester_is_denied() {
	let f = Fixture::new();
	assert_eq!(decide(&f.view(), A, O, 50), Decision::Denied(Denied::RequesterSuperseded));
	// A itself is superseded once B activates.
	assert_eq!(decide(&f.view(), B, A, 150), Decision::Denied(Denied::RequesterSuperseded));
}

#[test]
fn retired_provider_is_denied() {
	let f = Fixture::new();
	assert_eq!(decide(&f.view(), D, A, 50), Decision::Denied(Denied::ProviderRetired));
	// Retirement wins over replication.
	assert_eq!(decide(&f.view(), D, D, 50), Decision::Denied(Denied::ProviderRetired));
	// And over being the active enclave, should storage ever say both.
	let retired = [sgx(A)];
	let view = ScheduleView { retired: &retired, ..f.view() };
	assert_eq!(decide(&view, A, B, 50), Decision::Denied(Denied::ProviderRetired));
	assert_eq!(decide(&view, A, A, 50), Decision::Denied(Denied::ProviderRetired));
}

#[test]
fn retired_requester_is_denied() {
	let f = Fixture::new();
	assert_eq!(decide(&f.view(), A, D, 50), Decision::Denied(Denied::RequesterRetired));
	// Retirement wins over being the next scheduled successor, should storage ever say both.
	let retired = [sgx(B)];
	let view = ScheduleView { retired: &retired, ..f.view() };
	assert_eq!(decide(&view, A, B, 50), Decision::Denied(Denied::RequesterRetired));
}

#[test]
fn pending_provider_may_only_replicate() {
	let f = Fixture::new();
	assert_eq!(decide(&f.view(), B, B, 50), Decision::Allowed(Allowed::Replication));
	assert_eq!(decide(&f.view(), B, C, 50), Decision::Denied(Denied::ProviderNotActive));
	assert_eq!(decide(&f.view(), B, A, 50), Decision::Denied(Denied::ProviderNotActive));
}

#[test]
fn immediate_predecessor_hands_keys_to_active_after_cut_over() {
	let f = Fixture::new();
	// Storage still says A is active, but at block 100 B has taken over.
	assert_eq!(decide(&f.view(), A, B, 100), Decision::Allowed(Allowed::PredecessorToActive));
	assert_eq!(decide(&f.view(), A, B, 150), Decision::Allowed(Allowed::PredecessorToActive));
	// The stored predecessor of the active enclave, too.
	assert_eq!(decide(&f.view(), O, A, 50), Decision::Allowed(Allowed::PredecessorToActive));
}

#[test]
fn superseded_provider_is_denied_anything_else() {
	let f = Fixture::new();
	// O is superseded: replication is pointless and handing to others is not its job.
	assert_eq!(decide(&f.view(), O, O, 50), Decision::Denied(Denied::ProviderSuperseded));
	assert_eq!(decide(&f.view(), O, B, 50), Decision::Denied(Denied::ProviderSuperseded));
	// After C activates, A is two steps back and may no longer hand keys to anyone.
	assert_eq!(decide(&f.view(), A, C, 250), Decision::Denied(Denied::ProviderSuperseded));
	assert_eq!(decide(&f.view(), A, A, 150), Decision::Denied(Denied::ProviderSuperseded));
}

#[test]
fn unknown_provider_is_denied() {
	let f = Fixture::new();
	assert_eq!(decide(&f.view(), X, A, 50), Decision::Denied(Denied::ProviderUnknown));
	assert_eq!(decide(&f.view(), X, X, 50), Decision::Denied(Denied::ProviderUnknown));
}

#[test]
fn nothing_is_allowed_without_an_active_enclave() {
	let view = ScheduleView::<u32> { active: None, superseded: &[], scheduled: &[], retired: &[] };
	assert_eq!(decide(&view, A, A, 1), Decision::Denied(Denied::NoActiveEnclave));
	// A schedule whose first entry has not activated yet: still nobody active.
	let scheduled = [ScheduledEnclave { measurement: sgx(A), activates_at: 5 }];
	let view = ScheduleView { scheduled: &scheduled, ..view };
	assert_eq!(decide(&view, A, A, 4), Decision::Denied(Denied::NoActiveEnclave));
	assert_eq!(decide(&view, A, A, 5), Decision::Allowed(Allowed::Replication));
}

#[test]
fn resolve_applies_due_entries_in_order() {
	let f = Fixture::new();
	let view = f.view();
	let at = |now| {
		let r = view.resolve(now);
		(r.active, r.predecessor, r.pending.len())
	};
	assert_eq!(at(99), (Some(sgx(A)), Some(sgx(O)), 2));
	assert_eq!(at(100), (Some(sgx(B)), Some(sgx(A)), 1));
	assert_eq!(at(199), (Some(sgx(B)), Some(sgx(A)), 1));
	assert_eq!(at(200), (Some(sgx(C)), Some(sgx(B)), 0));
}

#[test]
fn measurement_at_covers_history_present_and_schedule() {
	let f = Fixture::new();
	let view = f.view();
	assert_eq!(view.measurement_at(0), Some(sgx(O)));
	assert_eq!(view.measurement_at(9), Some(sgx(O)));
	assert_eq!(view.measurement_at(10), Some(sgx(A)));
	assert_eq!(view.measurement_at(99), Some(sgx(A)));
	assert_eq!(view.measurement_at(100), Some(sgx(B)));
	assert_eq!(view.measurement_at(1_000), Some(sgx(C)));
	// History that no longer reaches back: unknown, not a guess.
	let pruned = ScheduleView { superseded: &[], ..view };
	assert_eq!(pruned.measurement_at(5), None);
}

#[test]
fn measurements_of_different_kinds_never_match() {
	let td = Measurement::TdIdentity([A; TD_IDENTITY_LEN]);
	let f = Fixture::new();
	assert_eq!(
		provisioning_decision(&f.view(), &sgx(A), &td, 50),
		Decision::Denied(Denied::RequesterNotScheduled)
	);
}

#[test]
fn measurement_hex_round_trips_and_rejects_bad_input() {
	let m = sgx(0xab);
	let text = m.to_string();
	assert_eq!(text, format!("0x{}", "ab".repeat(32)));
	assert_eq!(text.parse::<Measurement>(), Ok(m));
	assert_eq!(text.trim_start_matches("0x").parse::<Measurement>(), Ok(m));
	let td = Measurement::TdIdentity([0x12; TD_IDENTITY_LEN]);
	assert_eq!(td.to_string().parse::<Measurement>(), Ok(td));
	assert_eq!(format!("{td:?}"), format!("tdx-identity(0x{})", "12".repeat(48)));

	assert_eq!("0x1234".parse::<Measurement>(), Err(ParseMeasurementError::BadLength(2)));
	assert_eq!("0x123".parse::<Measurement>(), Err(ParseMeasurementError::BadLength(2)));
	assert_eq!("ab".repeat(64).parse::<Measurement>(), Err(ParseMeasurementError::BadLength(64)));
	assert_eq!("zz".repeat(32).parse::<Measurement>(), Err(ParseMeasurementError::NotHex));
	assert_eq!("".parse::<Measurement>(), Err(ParseMeasurementError::BadLength(0)));
}

#[test]
fn measurement_scale_encoding_is_tagged_and_bounded() {
	let m = sgx(1);
	let encoded = m.encode();
	assert_eq!(encoded.len(), 33);
	assert_eq!(encoded[0], 0);
	assert_eq!(Measurement::decode(&mut &encoded[..]), Ok(m));
	assert_eq!(Measurement::max_encoded_len(), 1 + TD_IDENTITY_LEN);
	assert!(Measurement::decode(&mut &encoded[..20]).is_err());
	// The TDX variant keeps index 1 and 48 bytes: encodings made when it held MRTD decode.
	let td = Measurement::TdIdentity([0x34; TD_IDENTITY_LEN]);
	let encoded = td.encode();
	assert_eq!(encoded.len(), 49);
	assert_eq!(encoded[0], 1);
	assert_eq!(Measurement::decode(&mut &encoded[..]), Ok(td));
}

#[cfg(feature = "serde")]
#[test]
fn measurement_serde_is_hex_string() {
	let m = sgx(7);
	let json = serde_json::to_string(&m).unwrap();
	assert_eq!(json, format!("\"0x{}\"", "07".repeat(32)));
	assert_eq!(serde_json::from_str::<Measurement>(&json).unwrap(), m);
	assert!(serde_json::from_str::<Measurement>("\"0x07\"").is_err());
}

#[test]
fn the_measurement_tags_are_part_of_the_formats_and_never_change() {
	assert_eq!(Measurement::MrEnclave([0; 32]).tag(), 1);
	assert_eq!(Measurement::TdIdentity([0; 48]).tag(), 2);
}
