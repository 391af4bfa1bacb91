//! Issue 13, "safe writes": no-op edits write nothing, backups survive when they are needed,
//! secret input refuses empty values, and what surrounds a save is bounded and explicit.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is the failure report.

use std::path::Path;

use k2cse_tests::fixtures::{Scratch, k2cse};
use predicates::prelude::*;
use serde_json::Value;

const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection";
const SMTP_NOTIFY: &str = "SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com";

fn key() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/keys/k2-test-key.xml")
        .to_str()
        .unwrap()
        .to_owned()
}

/// What a no-op must leave alone: the file's identity and time, and the backup folder.
#[derive(Debug, PartialEq)]
struct Snapshot {
    inode: u64,
    modified: std::time::SystemTime,
    bytes: Vec<u8>,
    backups: Vec<String>,
}

fn snapshot(s: &Scratch) -> Snapshot {
    let meta = std::fs::metadata(&s.config).unwrap();
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    let dir = s.dir.path().join("k2cse-backups");
    let mut backups: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    backups.sort();
    Snapshot {
        inode,
        modified: meta.modified().unwrap(),
        bytes: s.bytes(),
        backups,
    }
}

fn json(cmd: &mut assert_cmd::Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn twenty_no_op_sets_leave_the_file_and_the_backups_alone() {
    let s = Scratch::sample();
    // One real change first, so that there is a backup history to keep.
    s.k2cse(&["set", SMTP, "Port=587", "--keep", "3"])
        .assert()
        .success();
    let before = snapshot(&s);
    assert_eq!(before.backups.len(), 1);
    for i in 0..20 {
        let args: &[&str] = match i % 4 {
            0 => &["set", SMTP, "Port=587"],
            1 => &["unset", SMTP, "NoSuchKey"],
            2 => &["set", SMTP, "Port=587", "--keep", "1"],
            _ => &["--json", "set", SMTP, "Port=587"],
        };
        let out = s.k2cse(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        if args[0] == "--json" {
            let v: Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(v["changed"], false);
            assert_eq!(v["files"].as_array().unwrap().len(), 0);
        } else {
            assert!(stdout.contains("no change"), "{args:?}: {stdout}");
        }
    }
    assert_eq!(snapshot(&s), before);
}

#[test]
fn a_no_op_on_an_encrypted_section_keeps_the_cipher_text() {
    let s = Scratch::with(k2cse_tests::fixtures::plain_k2(false).as_bytes());
    s.k2cse(&["-k", &key(), "protect", "--no-backup"])
        .assert()
        .success();
    let before = snapshot(&s);
    let v = json(&mut s.k2cse(&["-k", &key(), "--json", "set", SMTP, "Port=25"]));
    assert_eq!(v["changed"], false);
    s.k2cse(&["-k", &key(), "unset", SMTP_NOTIFY, "Nope"])
        .assert()
        .success()
        .stdout(predicate::str::contains("no change"));
    assert_eq!(snapshot(&s), before, "not re-encrypted, no backup");
    // A real change still writes.
    let v = json(&mut s.k2cse(&["-k", &key(), "--json", "set", SMTP, "Port=587"]));
    assert_eq!(v["changed"], true);
}

#[test]
fn dry_run_of_a_no_op_says_no_change() {
    let s = Scratch::sample();
    s.k2cse(&["set", SMTP, "Port=25", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("dry run: no change"));
}

/// Makes new files impossible in `dir` for as long as it lives: a real write failure (the
/// temporary file of a save cannot be created). `chattr +i` as root (whom modes do not stop),
/// mode 0555 otherwise.
#[cfg(unix)]
struct Unwritable<'a>(&'a Path, bool);

#[cfg(unix)]
impl<'a> Unwritable<'a> {
    fn new(dir: &'a Path) -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if root {
            let ok = std::process::Command::new("chattr")
                .arg("+i")
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "chattr +i {} failed (needs e2fsprogs and a file system with attributes)",
                dir.display()
            );
        } else {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        Self(dir, root)
    }
}

#[cfg(unix)]
impl Drop for Unwritable<'_> {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt as _;
        if self.1 {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(self.0)
                .status();
        } else {
            let _ = std::fs::set_permissions(self.0, std::fs::Permissions::from_mode(0o755));
        }
    }
}

#[test]
#[cfg(unix)]
fn five_failing_writes_keep_no_backup_and_prune_nothing() {
    let s = Scratch::sample();
    for port in ["1", "2", "3"] {
        s.k2cse(&["--keep", "0", "set", SMTP, &format!("Port={port}")])
            .assert()
            .success();
    }
    let history = snapshot(&s).backups;
    assert_eq!(history.len(), 3);
    let before = s.bytes();
    {
        let _guard = Unwritable::new(s.dir.path());
        for attempt in 0..5 {
            // The OS error names the operation and the place.
            s.k2cse(&["--keep", "1", "set", SMTP, &format!("Port=10{attempt}")])
                .assert()
                .code(1)
                .stderr(predicate::str::contains(
                    "creating a temporary file in the folder",
                ))
                .stderr(predicate::str::contains(
                    s.dir.path().to_string_lossy().as_ref(),
                ));
        }
    }
    assert_eq!(s.bytes(), before);
    assert_eq!(
        snapshot(&s).backups,
        history,
        "nothing kept, nothing pruned"
    );
    // The next write that succeeds prunes as asked, keeping the newest (its own backup).
    s.k2cse(&["--keep", "1", "set", SMTP, "Port=4"])
        .assert()
        .success();
    let after = snapshot(&s).backups;
    assert_eq!(after.len(), 1);
    assert!(!history.contains(&after[0]));
}

#[test]
fn two_configs_sharing_a_backup_folder_keep_their_own_backups() {
    let a = Scratch::sample();
    let b = Scratch::sample();
    let shared = tempfile::tempdir().unwrap();
    let dir = shared.path().to_str().unwrap();
    for port in ["1", "2", "3", "4"] {
        for s in [&a, &b] {
            s.k2cse(&[
                "--backup-dir",
                dir,
                "--keep",
                "2",
                "set",
                SMTP,
                &format!("Port={port}"),
            ])
            .assert()
            .success();
        }
    }
    let own = |s: &Scratch| {
        k2cse_core::backup::BackupStore::for_config(&s.config, Some(shared.path()))
            .list_own()
            .unwrap()
            .len()
    };
    assert_eq!((own(&a), own(&b)), (2, 2));
    // `latest` is this config's newest: restoring it puts back a's Port=3.
    a.k2cse(&["--backup-dir", dir, "backup", "restore", "latest", "--yes"])
        .assert()
        .success()
        .stderr(predicate::str::contains("latest: "));
    assert!(a.text().contains("Port=3;"));
    assert!(b.text().contains("Port=4;"));
}

#[test]
fn restoring_latest_twice_does_not_undo_the_restore() {
    let s = Scratch::sample();
    s.k2cse(&["set", SMTP, "Port=587"]).assert().success();
    s.k2cse(&["set", SMTP, "Port=588"]).assert().success();
    // latest = the backup before Port=588, which says Port=587.
    let first = s
        .k2cse(&["backup", "restore", "latest", "--yes"])
        .output()
        .unwrap();
    assert!(first.status.success());
    let said = String::from_utf8_lossy(&first.stderr).into_owned();
    assert!(
        said.contains("latest: ") && said.contains("automatic"),
        "{said}"
    );
    assert!(s.text().contains("Port=587;"));
    // Again: still the same automatic backup, not the pre-restore one the restore just took.
    s.k2cse(&["backup", "restore", "latest", "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Nothing to restore"));
    assert!(s.text().contains("Port=587;"));
    let _ = k2cse;
}

#[test]
fn an_empty_or_closed_stdin_leaves_the_password() {
    let s = Scratch::sample();
    let before = s.bytes();
    for input in ["", "\n", "\r\n"] {
        s.k2cse(&["set", SMTP_NOTIFY, "--stdin", "Password"])
            .write_stdin(input)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--allow-empty"));
    }
    s.k2cse(&["replace", SMTP_NOTIFY, "--stdin"])
        .write_stdin("")
        .assert()
        .code(2);
    assert_eq!(s.bytes(), before);
    assert!(s.backups().is_empty());
    // Asked for explicitly, an empty value is set.
    s.k2cse(&["set", SMTP_NOTIFY, "--stdin", "Password", "--allow-empty"])
        .write_stdin("\n")
        .assert()
        .success();
    assert!(s.text().contains("Password=&quot;&quot;\""), "{}", s.text());
}

#[test]
fn replace_reads_the_connection_string_from_stdin() {
    let s = Scratch::sample();
    let out = s
        .k2cse(&["replace", SMTP_NOTIFY, "--stdin"])
        .write_stdin("Host Name=smtp.office365.com;Port=587;Password=Fr0m-Stdin-77\n")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.text().contains("Password=Fr0m-Stdin-77\""));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Fr0m-Stdin-77"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Fr0m-Stdin-77"));
}

#[test]
#[cfg(unix)]
fn an_endless_stdin_is_refused_quickly() {
    let s = Scratch::sample();
    let start = std::time::Instant::now();
    let out = std::process::Command::new(k2cse_tests::fixtures::binary("k2cse"))
        .arg("--config")
        .arg(&s.config)
        .args(["set", SMTP_NOTIFY, "--stdin", "Password"])
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("without a line end"));
}

/// Runs k2cse under `/usr/bin/time`, returning (exit code, stderr, peak memory in KiB, seconds).
#[cfg(unix)]
fn measured(args: &[&str]) -> (Option<i32>, String, u64, f64) {
    let bin = k2cse_tests::fixtures::binary("k2cse");
    let start = std::time::Instant::now();
    // A hang must fail the test, not stop it: killed after 20 s.
    let out = std::process::Command::new("timeout")
        .args(["-s", "KILL", "20", "/usr/bin/time", "-f", "maxrss=%M"])
        .arg(bin)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("/usr/bin/time (Debian package `time`)");
    let seconds = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rss = stderr
        .lines()
        .find_map(|l| l.strip_prefix("maxrss="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    (out.status.code(), stderr, rss, seconds)
}

#[test]
#[cfg(unix)]
fn fifos_and_devices_are_refused_at_once() {
    let s = Scratch::sample();
    let fifo = s.dir.path().join("fifo.config");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let fifo = fifo.to_str().unwrap();
    let config = s.config.to_str().unwrap();
    for args in [
        vec!["--config", "/dev/zero", "list"],
        vec!["--config", fifo, "list"],
        vec!["--config", config, "apply", "/dev/zero"],
        vec!["--config", config, "apply", fifo],
        vec!["--config", config, "-k", "/dev/zero", "list"],
        vec!["--config", config, "-k", fifo, "list"],
        vec!["--config", config, "backup", "show", fifo],
    ] {
        let (code, stderr, rss_kib, seconds) = measured(&args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("not a regular file"), "{args:?}: {stderr}");
        assert!(seconds < 5.0, "{args:?} took {seconds}s");
        assert!(rss_kib < 200 * 1024, "{args:?} used {rss_kib} KiB");
    }
}

#[test]
#[cfg(unix)]
fn completions_into_a_closed_pipe_end_quietly() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let bin = k2cse_tests::fixtures::binary("k2cse");
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "set -o pipefail; '{}' completions {shell} | head -c 10 > /dev/null",
                bin.display()
            ))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
#[cfg(unix)]
fn a_full_stdout_after_a_save_says_the_save_succeeded() {
    let s = Scratch::sample();
    let out = std::process::Command::new(k2cse_tests::fixtures::binary("k2cse"))
        .arg("--config")
        .arg(&s.config)
        .args(["set", SMTP, "Port=587"])
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the save succeeded"), "{stderr}");
    assert!(s.text().contains("Port=587;"));
}

#[test]
fn a_locked_file_exits_with_the_retry_code() {
    let s = Scratch::sample();
    let lock = s.dir.path().join(".K2HostServer.exe.config.k2cse-lock");
    let held = std::fs::File::create(&lock).unwrap();
    held.lock().unwrap();
    let before = s.bytes();
    s.k2cse(&["set", SMTP, "Port=587"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains(
            "another k2cse is saving this file",
        ));
    assert_eq!(s.bytes(), before);
    drop(held);
    s.k2cse(&["set", SMTP, "Port=587"]).assert().success();
}

#[test]
fn a_planted_backup_naming_another_file_is_refused_unless_to() {
    let s = Scratch::sample();
    let victim = s.dir.path().join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    // A backup "of" another file, dropped into this config's backup folder.
    let planted = k2cse_core::backup::Backup::new(k2cse_core::backup::BackupKind::Manual, "x")
        .with_file(&victim, b"attacker's bytes".to_vec());
    let store = k2cse_core::backup::BackupStore::for_config(&s.config, None);
    let path = store.save(&planted, None).unwrap();
    let before = s.bytes();
    s.k2cse(&["backup", "restore", path.to_str().unwrap(), "--yes"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the backup was taken of"))
        .stderr(predicate::str::contains("--to"));
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(s.bytes(), before);
    // Named on purpose, it goes where --to says (and only there).
    let elsewhere = s.dir.path().join("copy.config");
    s.k2cse(&[
        "backup",
        "restore",
        path.to_str().unwrap(),
        "--yes",
        "--to",
        elsewhere.to_str().unwrap(),
    ])
    .assert()
    .success();
    assert_eq!(std::fs::read(&elsewhere).unwrap(), b"attacker's bytes");
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
}

#[test]
#[cfg(unix)]
fn a_backup_folder_others_can_write_to_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let s = Scratch::sample();
    s.k2cse(&["set", SMTP, "Port=587"]).assert().success();
    let dir = s.dir.path().join("k2cse-backups");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    for args in [
        vec!["backup", "list"],
        vec!["backup", "restore", "latest", "--yes"],
        vec!["set", SMTP, "Port=588"],
    ] {
        s.k2cse(&args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("writable by others"));
    }
    assert!(s.text().contains("Port=587;"));
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    s.k2cse(&["backup", "list"]).assert().success();
}

#[test]
#[cfg(unix)]
fn a_symlinked_config_stays_a_symlink_with_the_new_content_in_its_target() {
    let s = Scratch::sample();
    let real = s.dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let target = real.join("K2HostServer.exe.config");
    std::fs::rename(&s.config, &target).unwrap();
    std::os::unix::fs::symlink(&target, &s.config).unwrap();
    s.k2cse(&["set", SMTP, "Port=587"]).assert().success();
    assert!(
        std::fs::symlink_metadata(&s.config)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("Port=587;")
    );
}

#[test]
fn an_interrupted_restore_is_reported_at_the_next_run_until_finished() {
    let s = Scratch::sample();
    s.k2cse(&["set", SMTP, "Port=587"]).assert().success();
    let backup = s.backups().pop().unwrap();
    // What a restore killed half-way leaves: its journal (written before anything changes).
    let store = k2cse_core::backup::BackupStore::for_config(&s.config, None);
    std::mem::forget(k2cse_core::backup::RestoreJournal::begin(&store, &backup).unwrap());
    s.k2cse(&["list"])
        .assert()
        .success()
        .stderr(predicate::str::contains("did not finish"))
        .stderr(predicate::str::contains("backup restore"));
    // Finishing it (the same restore) clears the warning.
    s.k2cse(&["backup", "restore", backup.to_str().unwrap(), "--yes"])
        .assert()
        .success();
    assert!(s.text().contains("Port=25;"));
    s.k2cse(&["list"])
        .assert()
        .success()
        .stderr(predicate::str::contains("did not finish").not());
}

#[test]
#[cfg(unix)]
fn ctrl_c_during_a_save_leaves_no_temporary_file() {
    let old = k2cse_tests::fixtures::large_sample(60_000);
    let s = Scratch::with(&old);
    let bin = k2cse_tests::fixtures::binary("k2cse");
    let run = |delay: Option<std::time::Duration>| {
        let mut child = std::process::Command::new(&bin)
            .arg("--config")
            .arg(&s.config)
            .args(["set", SMTP, "Port=587"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        if let Some(delay) = delay {
            std::thread::sleep(delay);
            let _ = std::process::Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
        }
        child.wait().unwrap()
    };
    let start = std::time::Instant::now();
    assert!(run(None).success());
    let full = start.elapsed();
    let new = s.bytes();
    let leftovers = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| Path::new(n).extension().is_some_and(|e| e == "tmp"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut interrupted = 0;
    for i in 1..=10u32 {
        std::fs::write(&s.config, &old).unwrap();
        // Late in the run, when the temporary copies are being written.
        let status = run(Some(full * (10 + i) / 21));
        if status.code() == Some(130) {
            interrupted += 1;
        }
        let bytes = s.bytes();
        assert!(bytes == old || bytes == new, "run {i}: neither old nor new");
        assert!(
            leftovers(s.dir.path()).is_empty(),
            "run {i}: {:?}",
            leftovers(s.dir.path())
        );
        let backups = s.dir.path().join("k2cse-backups");
        assert!(
            leftovers(&backups).is_empty(),
            "run {i}: {:?}",
            leftovers(&backups)
        );
    }
    assert!(interrupted > 0, "no run was interrupted mid-way");
}
