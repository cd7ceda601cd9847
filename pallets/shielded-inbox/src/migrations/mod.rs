//! Storage migrations of the pallet, one module per storage version they migrate to.
//!
//! A runtime uses only the [`VersionedMigration`](frame_support::migrations::VersionedMigration)
//! types exported here (for example [`v2::MigrateV1ToV2`]): they check the on-chain storage
//! version before running and set it afterwards, so they run exactly once.

pub mod v2;
