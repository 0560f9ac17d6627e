//! libFuzzer target: `eve_fuzz::where_clause`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eve_fuzz::where_clause(data));
