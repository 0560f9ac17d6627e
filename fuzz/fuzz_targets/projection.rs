//! libFuzzer target: `eve_fuzz::projection`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eve_fuzz::projection(data));
