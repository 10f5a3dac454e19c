#![no_main]
//! Fuzz target: see lstmcast::fuzz::config.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lstmcast::fuzz::config(data));
