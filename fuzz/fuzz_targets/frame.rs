#![no_main]
//! Fuzz target: see lstmcast::fuzz::frame.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lstmcast::fuzz::frame(data));
