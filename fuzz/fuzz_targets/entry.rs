#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| drkit::fuzzing::entry(data));
