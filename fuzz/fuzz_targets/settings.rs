//! libFuzzer target: `eve_fuzz::settings`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eve_fuzz::settings(data));
