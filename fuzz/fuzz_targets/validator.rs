//! libFuzzer target: `eve_fuzz::validator`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eve_fuzz::validator(data));
