//! The pallets whose benchmarks this runtime runs.

frame_benchmarking::define_benchmarks!(
	[pallet_enclave_registry, EnclaveRegistry]
	[pallet_enclave_update, EnclaveUpdate]
	[pallet_shielded_inbox, ShieldedInbox]
);
