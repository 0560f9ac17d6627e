//! libFuzzer target: `eve_fuzz::sort`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eve_fuzz::sort(data));
