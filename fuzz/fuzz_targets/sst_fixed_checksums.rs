#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| drkit::fuzzing::sst_fixed_checksums(data));
