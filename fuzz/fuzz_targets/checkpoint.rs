#![no_main]
//! Fuzz target: see lstmcast::fuzz::checkpoint.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lstmcast::fuzz::checkpoint(data));
