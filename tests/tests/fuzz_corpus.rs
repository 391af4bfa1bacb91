//! Replays every committed fuzz-corpus input (`fuzz/corpus/<target>/`) through the property its
//! libFuzzer target checks (`fuzz/checks.rs`), on stable Rust, in every `cargo test`. The
//! corpora hold the seeds and every input a fuzzing run ever found interesting, including the
//! ones that crashed a target before its fix, so this is the fuzzers' regression suite.
//! Finding new inputs stays with libFuzzer (`fuzz/run.sh`, nightly; docs/reliability.md).
#![allow(clippy::expect_used)] // Test code: a panic is the failure report.

#[path = "../../fuzz/checks.rs"]
mod checks;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

/// Runs one target's check over its corpus and fails with the name of every input whose
/// check panicked (all of them, not only the first).
fn replay(target: &str) {
    let (_, check) = checks::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no fuzz target {target}"));
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    inputs.sort();
    // A missing or emptied corpus must fail, not pass by replaying nothing.
    assert!(
        inputs.len() >= 100,
        "{}: only {} inputs",
        folder.display(),
        inputs.len()
    );
    let mut failed = Vec::new();
    for input in &inputs {
        let data = std::fs::read(input).expect("a readable corpus input");
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            failed.push(
                input
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} corpus inputs break the property: {failed:?}",
        failed.len(),
        inputs.len()
    );
}

#[test]
fn every_connstr_input_round_trips() {
    replay("connstr");
}

#[test]
fn every_config_edit_input_stays_inside_its_entry() {
    replay("config_edit");
}

#[test]
fn every_xmlenc_input_is_read_without_a_panic() {
    replay("xmlenc");
}

#[test]
fn every_rsa_key_input_is_read_without_a_panic() {
    replay("rsa_key");
}

#[test]
fn every_backup_input_round_trips() {
    replay("backup");
}

#[test]
fn every_tds_input_is_read_without_a_panic() {
    replay("tds");
}

/// Every target in fuzz/Cargo.toml has a replay above, so a new target cannot go unreplayed.
#[test]
fn every_fuzz_target_is_replayed() {
    let manifest = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/Cargo.toml"),
    )
    .expect("fuzz/Cargo.toml");
    let declared: Vec<&str> = manifest
        .lines()
        .filter_map(|line| line.strip_prefix("name = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .filter(|name| *name != "k2cse-fuzz")
        .collect();
    let mut replayed: Vec<&str> = checks::TARGETS.iter().map(|(name, _)| *name).collect();
    let mut declared_sorted = declared.clone();
    declared_sorted.sort_unstable();
    replayed.sort_unstable();
    assert_eq!(declared_sorted, replayed);
    let source = include_str!("fuzz_corpus.rs");
    for name in declared {
        assert!(
            source.contains(&format!("replay(\"{name}\")")),
            "{name} is not replayed"
        );
    }
}
