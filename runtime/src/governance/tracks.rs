//! The referenda tracks: `enclave_admin` schedules and cancels enclave updates,
//! `enclave_emergency` retires a measurement, faster and with a higher approval bar.
//!
//! The periods below are the development chain's: a referendum is decided, confirmed and enacted
//! within tens of blocks, so that the devnet story and the tests see it through. A production
//! runtime keeps the shape and takes the production values given beside each one (in blocks of
//! six seconds, [`crate::MILLI_SECS_PER_BLOCK`]), for these reasons:
//! - `enclave_admin` decides which enclave build receives the chain's keys. That is as grave as a
//!   runtime upgrade, and the build must be reproducible and reviewed before it is voted in, so it
//!   gets the root track's deliberation: a prepare period of 2 hours for the decision deposit and
//!   early votes, 14 days to decide, a day of confirmation that withstands a last-minute swing, and
//!   a day between enactment and the earliest activation so that operators can start the successor
//!   (the pallet's `MinLeadTime` comes on top).
//! - `enclave_emergency` retires a measurement found vulnerable: every hour it stays allowed, a
//!   compromised build may receive the keys. It is decided within a day and enacted at once, and it
//!   asks for a higher approval (75% rather than 50%) and a larger decision deposit, since retiring
//!   the active build without a successor stops the worker.

use super::origins;
use crate::{Balance, BlockNumber, RuntimeOrigin, UNIT};
use alloc::borrow::Cow;
use pallet_referenda::{Curve, Track, TrackInfo};
use sp_runtime::{str_array as s, Perbill};

/// The id of the `enclave_admin` track.
pub const ENCLAVE_ADMIN: u16 = 0;
/// The id of the `enclave_emergency` track.
pub const ENCLAVE_EMERGENCY: u16 = 1;

const fn percent(x: u32) -> Perbill {
	Perbill::from_percent(x)
}

/// The tracks, sorted by id.
static TRACKS: [Track<u16, Balance, BlockNumber>; 2] = [
	Track {
		id: ENCLAVE_ADMIN,
		info: TrackInfo {
			name: s("enclave_admin"),
			// Production: 10. Enclave releases are rare; a handful decided at once is ample.
			max_deciding: 10,
			// Production: 500 UNIT.
			decision_deposit: 100 * UNIT,
			// Production: 2 hours (1_200 blocks).
			prepare_period: 2,
			// Production: 14 days (201_600 blocks).
			decision_period: 40,
			// Production: 1 day (14_400 blocks).
			confirm_period: 3,
			// Production: 1 day (14_400 blocks).
			min_enactment_period: 1,
			// Of the conviction-weighted votes: all ayes at first, down to a simple majority by the
			// end of the decision period.
			min_approval: Curve::LinearDecreasing {
				length: percent(100),
				floor: percent(50),
				ceil: percent(100),
			},
			// Production: from 10% of the issuance down to 1% over the decision period.
			min_support: Curve::LinearDecreasing {
				length: percent(100),
				floor: percent(0),
				ceil: percent(5),
			},
		},
	},
	Track {
		id: ENCLAVE_EMERGENCY,
		info: TrackInfo {
			name: s("enclave_emergency"),
			// Production: 5.
			max_deciding: 5,
			// Production: 2_000 UNIT: an emergency track is no place for spam.
			decision_deposit: 500 * UNIT,
			// Production: 10 minutes (100 blocks).
			prepare_period: 1,
			// Production: 1 day (14_400 blocks).
			decision_period: 20,
			// Production: 1 hour (600 blocks).
			confirm_period: 2,
			// Production: 1 block: the retirement takes effect as soon as it is confirmed.
			min_enactment_period: 1,
			// Of the conviction-weighted votes: all ayes at first, down to three quarters.
			min_approval: Curve::LinearDecreasing {
				length: percent(100),
				floor: percent(75),
				ceil: percent(100),
			},
			// Production: from 20% of the issuance down to 5% over the decision period.
			min_support: Curve::LinearDecreasing {
				length: percent(100),
				floor: percent(1),
				ceil: percent(10),
			},
		},
	},
];

/// The tracks of the runtime's referenda: each custom origin has its own.
pub struct TracksInfo;

impl pallet_referenda::TracksInfo<Balance, BlockNumber> for TracksInfo {
	type Id = u16;
	type RuntimeOrigin = <RuntimeOrigin as frame_support::traits::OriginTrait>::PalletsOrigin;

	fn tracks() -> impl Iterator<Item = Cow<'static, Track<Self::Id, Balance, BlockNumber>>> {
		TRACKS.iter().map(Cow::Borrowed)
	}

	fn track_for(origin: &Self::RuntimeOrigin) -> Result<Self::Id, ()> {
		match origin {
			crate::OriginCaller::Origins(origins::Origin::EnclaveAdmin) => Ok(ENCLAVE_ADMIN),
			crate::OriginCaller::Origins(origins::Origin::EnclaveEmergency) => {
				Ok(ENCLAVE_EMERGENCY)
			},
			_ => Err(()),
		}
	}
}
