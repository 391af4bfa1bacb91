//! libFuzzer target `backup`: the property is `checks::backup` (fuzz/checks.rs), which
//! `cargo test` also runs over this target's committed corpus (tests/tests/fuzz_corpus.rs).
#![no_main]

#[allow(dead_code)] // each target uses one of the shared checks
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::backup(data));
