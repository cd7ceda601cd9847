//! The custom origins of the referenda tracks: what a referendum on each track dispatches its
//! call as, in the shape of the Polkadot fellowship runtimes' `governance/origins.rs`.

pub use pallet_custom_origins::*;

#[frame_support::pallet]
pub mod pallet_custom_origins {
	use frame_support::pallet_prelude::*;

	#[pallet::config]
	pub trait Config: frame_system::Config {}

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// The origin of a call that a referendum enacts, one variant per track.
	#[derive(Clone, Copy, PartialEq, Eq, Debug)]
	#[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo)]
	#[pallet::origin]
	pub enum Origin {
		/// A referendum on the `enclave_admin` track: schedules and cancels enclave updates.
		EnclaveAdmin,
		/// A referendum on the `enclave_emergency` track: retires a measurement.
		EnclaveEmergency,
	}

	/// Ensures the origin is the custom origin `$variant`; its success value is `()`.
	macro_rules! ensure_variant {
		($(#[$attr:meta])* $name:ident) => {
			$(#[$attr])*
			pub struct $name;
			impl<O: OriginTrait + From<Origin>> EnsureOrigin<O> for $name
			where
				for<'a> &'a O::PalletsOrigin: TryInto<&'a Origin>,
			{
				type Success = ();
				fn try_origin(o: O) -> Result<Self::Success, O> {
					let is_variant = matches!(o.caller().try_into(), Ok(Origin::$name));
					if is_variant {
						Ok(())
					} else {
						Err(o)
					}
				}
				#[cfg(feature = "runtime-benchmarks")]
				fn try_successful_origin() -> Result<O, ()> {
					Ok(O::from(Origin::$name))
				}
			}
		};
	}

	ensure_variant! {
		/// A passed referendum on the `enclave_admin` track.
		EnclaveAdmin
	}
	ensure_variant! {
		/// A passed referendum on the `enclave_emergency` track.
		EnclaveEmergency
	}
}
