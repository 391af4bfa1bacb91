//! Crash safety: k2cse is killed (SIGKILL, no chance to clean up) at random moments while it
//! writes a large config — `set`, `apply`, `protect`, `backup restore` — hundreds of times.
//! After every kill the config must be the old file or the new one, byte for byte, and load.
#![cfg(unix)]
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is the failure report; times fit"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use k2cse_core::Document;
use k2cse_core::protect::{KeyStore, RsaKey};
use k2cse_tests::fixtures::{binary, large_sample};

/// How many kills per command; `set` gets the most (it is what admins run).
const SET_KILLS: usize = 500;
const OTHER_KILLS: usize = 120;

const EWS: &str = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection";

/// A small deterministic generator (the seed is printed, so a failure can be replayed).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

fn seed() -> u64 {
    std::env::var("K2CSE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

struct Scenario<'a> {
    name: &'a str,
    /// The file before each run.
    old: Vec<u8>,
    /// The command (run in the folder of `config`).
    args: Vec<String>,
    /// Whether bytes are an acceptable "new" file (the old one is always acceptable).
    is_new: &'a dyn Fn(&[u8]) -> bool,
}

/// Runs the scenario once to completion (timing it), then `kills` times with a SIGKILL at a
/// random moment within 1.3 times that duration. Returns (killed mid-way, finished) counts.
fn hammer(
    dir: &Path,
    config: &Path,
    s: &Scenario<'_>,
    kills: usize,
    rng: &mut Rng,
) -> (usize, usize) {
    let k2cse = binary("k2cse");
    let run = || {
        let mut cmd = Command::new(&k2cse);
        cmd.current_dir(dir)
            .env("K2CSE_KEYRING", "mock")
            .env_remove("K2CSE_BACKUP_PASSPHRASE")
            .env_remove("K2CSE_CONFIG")
            .arg("--config")
            .arg(config)
            .args(&s.args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd
    };
    let mut durations = Vec::new();
    for _ in 0..3 {
        std::fs::write(config, &s.old).unwrap();
        let start = Instant::now();
        let status = run().status().unwrap();
        durations.push(start.elapsed());
        assert!(status.success(), "{}: the uninterrupted run failed", s.name);
        let done = std::fs::read(config).unwrap();
        assert!(
            (s.is_new)(&done),
            "{}: the uninterrupted run wrote something unexpected",
            s.name
        );
    }
    durations.sort();
    let span = durations[1].as_micros() as u64 * 13 / 10;
    let (mut interrupted, mut finished) = (0, 0);
    for i in 0..kills {
        std::fs::write(config, &s.old).unwrap();
        let mut child = run().spawn().unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(span)));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        if status.success() {
            finished += 1;
        } else {
            interrupted += 1;
        }
        let now = std::fs::read(config).unwrap();
        assert!(
            now == s.old || (s.is_new)(&now),
            "{} kill {i}: the config is neither the old nor the new file ({} bytes)",
            s.name,
            now.len()
        );
        Document::from_bytes(config, now).unwrap_or_else(|e| panic!("{} kill {i}: {e}", s.name));
    }
    (interrupted, finished)
}

fn key_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/keys/k2-test-key.xml")
}

/// A folder with a large config, the entry the scenarios edit, and the generator.
struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
    old: Vec<u8>,
    target: String,
    rng: Rng,
}

fn setup() -> Setup {
    let seed = seed();
    println!("seed {seed} (replay with K2CSE_CRASH_SEED={seed})");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("K2HostServer.exe.config");
    Setup {
        config,
        dir,
        old: large_sample(2000),
        target: format!("{EWS}:user01000@denallix.com"),
        rng: Rng(seed),
    }
}

impl Setup {
    /// The file an uninterrupted run of `args` makes from `old`.
    fn expected_after(&self, args: &[&str]) -> Vec<u8> {
        std::fs::write(&self.config, &self.old).unwrap();
        let out = k2cse_tests::fixtures::k2cse()
            .current_dir(self.dir.path())
            .env("K2CSE_KEYRING", "mock")
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .arg("--no-backup")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        std::fs::read(&self.config).unwrap()
    }

    fn run(&mut self, scenario: &Scenario<'_>, kills: usize) {
        let (interrupted, finished) = hammer(
            self.dir.path(),
            &self.config,
            scenario,
            kills,
            &mut self.rng,
        );
        println!(
            "{}: {interrupted} killed mid-way, {finished} finished first",
            scenario.name
        );
        assert!(
            interrupted > 0,
            "{}: no run was interrupted; the kill timing is wrong",
            scenario.name
        );
        // Temporary files of killed runs are removed by the next save: at most the last
        // kill's is left.
        let litter: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "tmp"))
            .collect();
        assert!(
            litter.len() <= 1,
            "stale temporary files pile up: {litter:?}"
        );
    }
}

#[test]
fn set_killed_at_any_moment_leaves_the_old_or_the_new_file() {
    let mut s = setup();
    let new = s.expected_after(&["set", &s.target, "Poll Interval=2M"]);
    let scenario = Scenario {
        name: "set",
        old: s.old.clone(),
        args: vec!["set".into(), s.target.clone(), "Poll Interval=2M".into()],
        is_new: &|b| b == new,
    };
    s.run(&scenario, SET_KILLS);
}

#[test]
fn apply_killed_at_any_moment_leaves_the_old_or_the_new_file() {
    let mut s = setup();
    let batch = s.dir.path().join("changes.toml");
    std::fs::write(
        &batch,
        format!(
            "[[change]]\nop = \"set\"\nname = \"{}\"\nvalues = {{ \"Poll Interval\" = \"5M\" }}\n\n[[change]]\nop = \"remove\"\nname = \"{EWS}:user00001@denallix.com\"\n",
            s.target
        ),
    )
    .unwrap();
    let new = s.expected_after(&["apply", batch.to_str().unwrap()]);
    let scenario = Scenario {
        name: "apply",
        old: s.old.clone(),
        args: vec!["apply".into(), batch.to_str().unwrap().into()],
        is_new: &|b| b == new,
    };
    s.run(&scenario, OTHER_KILLS);
}

#[test]
fn protect_killed_at_any_moment_leaves_the_old_or_the_new_file() {
    let mut s = setup();
    // The new file is encrypted with a fresh session key each time, so "new" means: it loads,
    // is protected, and decrypts to the same entries.
    let plain = String::from_utf8(s.old.clone()).unwrap().replacen(
        "  <appSettings>",
        "  <configProtectedData>\r\n    <providers>\r\n      <add name=\"K2ConfigurationKey\" type=\"System.Configuration.RsaProtectedConfigurationProvider, System.Configuration, Version=2.0.0.0, Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a\" keyContainerName=\"K2ConfigurationKey\" useMachineContainer=\"true\" />\r\n    </providers>\r\n  </configProtectedData>\r\n  <appSettings>",
        1,
    );
    let keys = KeyStore::new(Some(RsaKey::from_file(&key_path()).unwrap()));
    let listed = |doc: &Document| -> Vec<String> {
        doc.entries()
            .unwrap()
            .iter()
            .map(|e| format!("{}={:?}", e.name.as_str(), e.value))
            .collect()
    };
    let config = s.config.clone();
    let plain_entries = listed(&Document::from_bytes(&config, plain.clone().into_bytes()).unwrap());
    let protected_ok = |bytes: &[u8]| {
        let Ok(mut doc) = Document::from_bytes(&config, bytes.to_vec()) else {
            return false;
        };
        doc.protection().is_some()
            && doc.unlock(keys.clone()).is_ok()
            && listed(&doc) == plain_entries
    };
    let scenario = Scenario {
        name: "protect",
        old: plain.into_bytes(),
        args: vec![
            "-k".into(),
            key_path().to_str().unwrap().into(),
            "protect".into(),
            "--plaintext-backup".into(),
        ],
        is_new: &protected_ok,
    };
    s.run(&scenario, OTHER_KILLS);
}

#[test]
fn backup_restore_killed_at_any_moment_leaves_the_old_or_the_new_file() {
    let mut s = setup();
    // The backup holds `old`; before each run the file on disk is the edited one.
    let edited = s.expected_after(&["set", &s.target, "Poll Interval=2M"]);
    std::fs::write(&s.config, &s.old).unwrap();
    let backup = s.dir.path().join("old.k2cse.tar");
    let out = k2cse_tests::fixtures::k2cse()
        .current_dir(s.dir.path())
        .env("K2CSE_KEYRING", "mock")
        .args([
            "--config",
            s.config.to_str().unwrap(),
            "backup",
            "create",
            "--only",
            "file",
            "--to",
        ])
        .arg(&backup)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let old = s.old.clone();
    let scenario = Scenario {
        name: "backup restore",
        old: edited,
        args: vec![
            "backup".into(),
            "restore".into(),
            backup.to_str().unwrap().into(),
            "--yes".into(),
            "--only".into(),
            "file".into(),
        ],
        is_new: &|b| b == old,
    };
    s.run(&scenario, OTHER_KILLS);
}
