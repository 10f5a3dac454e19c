#![no_main]
//! Fuzz target: see lstmcast::fuzz::parquet.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lstmcast::fuzz::parquet(data));
