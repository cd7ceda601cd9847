//! Fuzz the quote/evidence decoder and the verification path.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| enclave_worker::fuzzing::evidence(data));
