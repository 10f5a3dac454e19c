#![no_main]
//! Fuzz target: see lstmcast::fuzz::model_folder.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lstmcast::fuzz::model_folder(data));
