#![no_main]
//! Fuzz target: see lstmcast::fuzz::csv.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lstmcast::fuzz::csv(data));
