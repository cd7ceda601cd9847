//! Fuzz the store's file parser and decoders.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| enclave_worker::fuzzing::store_file(data));
