//! Ctrl-C during a write (issue 13, point 2): k2cse interrupted by SIGINT at random moments
//! while it backs up and rewrites a large config ends with exit code 130 at once, removes the
//! temporary copies it was writing (they hold the whole config), and leaves the config old or
//! new and its lock free.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is the failure report; times fit"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k2cse_tests::fixtures::{binary, files_under, large_sample};

const EWS: &str = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection";
const RUNS: usize = 40;

/// Every file under `dir` whose name says it is a temporary.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(".tmp"))
        })
        .collect()
}

#[test]
fn ctrl_c_during_a_write_exits_130_and_leaves_no_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("K2HostServer.exe.config");
    let old = large_sample(20_000);
    let k2cse = binary("k2cse");
    let run = || {
        let mut cmd = Command::new(&k2cse);
        cmd.current_dir(dir.path())
            .env("K2CSE_KEYRING", "mock")
            .env_remove("K2CSE_BACKUP_PASSPHRASE")
            .env_remove("K2CSE_CONFIG")
            .env("K2CSE_BACKUP_KEEP", "3")
            .arg("--config")
            .arg(&config)
            .args([
                "set",
                &format!("{EWS}:user00007@denallix.com"),
                "Poll Interval=2M",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    };
    let mut durations = Vec::new();
    for _ in 0..3 {
        std::fs::write(&config, &old).unwrap();
        let start = Instant::now();
        assert!(run().status().unwrap().success());
        durations.push(start.elapsed());
    }
    let new = std::fs::read(&config).unwrap();
    assert_ne!(new, old);
    durations.sort();
    let span = durations[1].as_micros() as u64;
    let (mut interrupted, mut finished) = (0, 0);
    for i in 0..RUNS {
        std::fs::write(&config, &old).unwrap();
        let mut child = run().spawn().unwrap();
        // From a fifth of a run (the handler is installed first thing) to its end.
        let at = span / 5 + (span * 4 / 5) * (i as u64) / (RUNS as u64);
        std::thread::sleep(Duration::from_micros(at));
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        match status.code() {
            Some(0) => finished += 1,
            Some(130) => interrupted += 1,
            other => panic!("run {i}: SIGINT ended k2cse with {other:?} ({status}), not 130"),
        }
        let left = temporaries(dir.path());
        assert!(left.is_empty(), "run {i}: temporaries left: {left:?}");
        let now = std::fs::read(&config).unwrap();
        assert!(
            now == old || now == new,
            "run {i}: the config is neither old nor new"
        );
        // The lock file stays (removing it would let two writers lock different files), but
        // no one holds it.
        let lock = dir.path().join(".K2HostServer.exe.config.k2cse-lock");
        let file = std::fs::OpenOptions::new().write(true).open(&lock).unwrap();
        assert!(file.try_lock().is_ok(), "run {i}: the lock is still held");
    }
    eprintln!(
        "{interrupted} runs interrupted, {finished} finished first; an uninterrupted run takes {span} µs"
    );
    assert!(
        interrupted > RUNS / 4,
        "too few runs were interrupted: {interrupted}"
    );
}
