//! `k2cse backup` end to end: the k2cse binary, a scratch config and the k2cse-mssql-sim
//! binary. Back up, break, restore; refuse what cannot be trusted.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use assert_cmd::Command;
use k2cse_tests::fixtures::Scratch;
use k2cse_tests::sim::{MASTER_KEY_PASSWORD, SA_PASSWORD, SimProcess};
use predicates::prelude::*;

const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection";
const SMTP_TOKEN: &str = "[ConnectionString:SourceCode.Net.Mail.SmtpConnection]";

/// `k2cse` on the scratch config, connected to `sim`, secrets from the environment.
fn k2(scratch: &Scratch, sim: Option<&SimProcess>, args: &[&str]) -> Command {
    let mut cmd = scratch.k2cse(args);
    cmd.env("K2CSE_KEYRING", "mock")
        .env_remove("K2CSE_BACKUP_PASSPHRASE")
        .env_remove("K2CSE_BACKUP_DIR")
        .env_remove("K2CSE_BACKUP_KEEP")
        // A low scrypt cost keeps the encrypted cases fast; the format is the same.
        .env("K2CSE_BACKUP_SCRYPT_LOG_N", "10");
    if let Some(sim) = sim {
        cmd.env("K2CSE_CONNECTION", sim.connection())
            .env("K2CSE_SQL_PASSWORD", SA_PASSWORD)
            .env("K2CSE_MASTER_KEY_PASSWORD", MASTER_KEY_PASSWORD);
    }
    cmd
}

fn json(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.arg("--json").output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The SHA-256 of the database part of a fresh rows-only backup: equal digests, equal rows
/// (tokens, stored bytes, flags).
fn rows_digest(scratch: &Scratch, sim: &SimProcess) -> String {
    let to = scratch
        .dir
        .path()
        .join(format!("rows-{}.k2cse.tar", rand_suffix()));
    let v = json(&mut k2(
        scratch,
        Some(sim),
        &[
            "backup",
            "create",
            "--only",
            "db",
            "--to",
            to.to_str().unwrap(),
        ],
    ));
    std::fs::remove_file(&to).unwrap();
    v["manifest"]["database"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The sample config on `sim`, backed up (`backup create --json`): the scratch folder, the
/// file's bytes and the rows' digest before, and the report.
fn backed_up(sim: &SimProcess) -> (Scratch, Vec<u8>, String, serde_json::Value) {
    let s = Scratch::sample();
    let original = s.bytes();
    let original_rows = rows_digest(&s, sim);
    let created = json(&mut k2(&s, Some(sim), &["backup", "create"]));
    (s, original, original_rows, created)
}

/// Breaks the SMTP entry in the file and its token in the database, as a bad edit would.
fn break_file_and_token(s: &Scratch, sim: &SimProcess) {
    k2(
        s,
        Some(sim),
        &["set", SMTP, "Host Name=wrong.example.com", "--force"],
    )
    .assert()
    .success();
    k2(
        s,
        Some(sim),
        &["db", "set", SMTP_TOKEN, "Host Name=wrong.example.com"],
    )
    .assert()
    .success();
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn back_up_break_and_restore_gives_back_identical_bytes_and_rows() {
    let sim = SimProcess::start(&[]);
    // 1. Back up.
    let (s, original, original_rows, created) = backed_up(&sim);
    assert_eq!(created["schema"], "k2cse.backup/1");
    let backup = PathBuf::from(created["path"].as_str().unwrap());
    let m = &created["manifest"];
    assert_eq!(m["format"], "k2cse-backup");
    assert_eq!(m["kind"], "manual");
    assert_eq!(m["files"][0]["size"], original.len());
    assert!(m["database"]["rows"].as_u64().unwrap() > 5);
    assert!(m["database"]["encrypted_rows"].as_u64().unwrap() > 0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "owner-only");
    }

    // 2. Break: the file and a token.
    break_file_and_token(&s, &sim);
    assert_ne!(s.bytes(), original);
    assert_ne!(rows_digest(&s, &sim), original_rows);

    // Without a terminal and without --yes: refused, nothing written.
    k2(
        &s,
        Some(&sim),
        &["backup", "restore", backup.to_str().unwrap()],
    )
    .assert()
    .code(2)
    .stderr(predicate::str::contains("--yes"));
    // A dry run shows the diff (secrets masked) and the rows, and writes nothing.
    k2(&s, Some(&sim), &["backup", "restore", backup.to_str().unwrap(), "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("-    <add name=\"SourceCode.Net.Mail.SmtpConnection\" connectionString=\"Host Name=wrong.example.com"))
        .stdout(predicate::str::contains(format!("~ {SMTP_TOKEN}")))
        .stdout(predicate::str::contains("dry run: nothing written"))
        .stdout(predicate::str::contains("Password=Old").not());

    // 3. Restore.
    let restored = json(&mut k2(
        &s,
        Some(&sim),
        &["backup", "restore", backup.to_str().unwrap(), "--yes"],
    ));
    assert_eq!(restored["schema"], "k2cse.backup-restore/1");
    assert_eq!(restored["report"]["rows_changed"], 1);
    assert_eq!(s.bytes(), original, "identical bytes");
    assert_eq!(rows_digest(&s, &sim), original_rows, "identical rows");
    // The state before the restore was backed up, and can itself be restored.
    let pre = restored["report"]["pre_restore_backup"].as_str().unwrap();
    assert!(
        pre.contains("-pre-restore.") && pre.ends_with(".k2cse.tar"),
        "{pre}"
    );
    k2(&s, Some(&sim), &["backup", "verify", pre])
        .assert()
        .success();
}

#[test]
fn altered_and_truncated_backups_are_refused_by_verify_and_restore() {
    let s = Scratch::sample();
    let created = json(&mut k2(&s, None, &["backup", "create", "--only", "file"]));
    let path = PathBuf::from(created["path"].as_str().unwrap());
    k2(&s, None, &["backup", "verify", path.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("complete and unaltered"));
    let good = std::fs::read(&path).unwrap();

    let at = memchr::memmem::find(&good, b"smtp.").unwrap();
    let mut altered = good.clone();
    altered[at] = b'S';
    std::fs::write(&path, &altered).unwrap();
    k2(&s, None, &["backup", "verify", path.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("was altered or damaged"));
    k2(
        &s,
        None,
        &["backup", "restore", path.to_str().unwrap(), "--yes"],
    )
    .assert()
    .code(1)
    .stderr(predicate::str::contains("was altered or damaged"));

    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    let v = json(&mut k2(
        &s,
        None,
        &["backup", "verify", path.to_str().unwrap()],
    ));
    assert_eq!(v["schema"], "k2cse.error/1");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("truncated"),
        "{v}"
    );
    assert_eq!(s.bytes(), k2cse_tests::fixtures::SAMPLE, "nothing restored");
}

#[test]
fn encrypted_backups_need_their_passphrase() {
    let s = Scratch::sample();
    let mut create = k2(
        &s,
        None,
        &["backup", "create", "--only", "file", "--passphrase"],
    );
    create.env("K2CSE_BACKUP_PASSPHRASE", "correct horse");
    let created = json(&mut create);
    let path = created["path"].as_str().unwrap().to_owned();
    assert!(path.ends_with(".k2cse.tar.age"), "{path}");
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        memchr::memmem::find(&bytes, b"smtp.denallix.com").is_none(),
        "encrypted"
    );

    k2(&s, None, &["backup", "verify", &path])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("backup passphrase is needed"));
    k2(&s, None, &["backup", "verify", &path])
        .env("K2CSE_BACKUP_PASSPHRASE", "wrong")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("wrong passphrase"));
    k2(&s, None, &["backup", "show", &path])
        .env("K2CSE_BACKUP_PASSPHRASE", "correct horse")
        .assert()
        .success()
        .stdout(predicate::str::contains("K2HostServer.exe.config"));
    k2(&s, None, &["backup", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("manual").and(predicate::str::contains("(encrypted)")));
}

#[test]
fn every_write_takes_an_automatic_backup_with_retention() {
    let s = Scratch::sample();
    for port in ["1", "2", "3", "4"] {
        k2(
            &s,
            None,
            &["set", SMTP, &format!("Port={port}"), "--keep", "3"],
        )
        .assert()
        .success();
    }
    let backups = s.backups();
    assert_eq!(backups.len(), 3, "{backups:?}");
    // The newest backup holds the state before the last write.
    let newest = k2cse_core::backup::open(backups.last().unwrap(), None).unwrap();
    assert!(String::from_utf8_lossy(newest.files().next().unwrap().1).contains("Port=3;"));
    k2(&s, None, &["backup", "create", "--only", "file"])
        .assert()
        .success();
    let pruned = json(&mut k2(&s, None, &["backup", "prune", "--keep", "1"]));
    assert_eq!(pruned["deleted"].as_array().unwrap().len(), 2);
    let list = json(&mut k2(&s, None, &["backup", "list"]));
    let kinds: Vec<&str> = list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["automatic", "manual"],
        "manual backups are never pruned"
    );

    // A configured folder.
    let elsewhere = s.dir.path().join("elsewhere");
    k2(
        &s,
        None,
        &[
            "set",
            SMTP,
            "Port=5",
            "--backup-dir",
            elsewhere.to_str().unwrap(),
        ],
    )
    .assert()
    .success();
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 1);
    // Restoring the newest automatic backup brings back the file as it was before.
    k2(
        &s,
        None,
        &[
            "backup",
            "restore",
            "latest",
            "--yes",
            "--backup-dir",
            elsewhere.to_str().unwrap(),
        ],
    )
    .assert()
    .success();
    assert!(s.text().contains("Port=4;"));
}

/// On a terminal (a pseudo-terminal from util-linux `script`, part of every Debian install) a
/// backup shows its progress on standard error; with `--json` nothing but the JSON is printed.
#[test]
fn progress_is_drawn_on_a_terminal_and_never_with_json() {
    let s = Scratch::sample();
    let k2cse = k2cse_tests::fixtures::binary("k2cse");
    let on_tty = |extra: &str| {
        let out = std::process::Command::new("script")
            .current_dir(s.dir.path())
            .env("K2CSE_KEYRING", "mock")
            .env_remove("K2CSE_BACKUP_PASSPHRASE")
            .args(["-qec"])
            .arg(format!(
                "{} --config {} backup create --only file{extra}",
                k2cse.display(),
                s.config.display()
            ))
            .arg("/dev/null")
            .output()
            .expect("util-linux `script` runs the command on a pseudo-terminal");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = on_tty("");
    assert!(text.contains("writing the backup"), "{text}");
    assert!(text.contains("1/2"), "{text}");
    let json = on_tty(" --json");
    assert!(!json.contains("writing the backup"), "{json}");
    assert!(json.trim_start().starts_with('{'), "{json}");
}

/// Beside a config whose `HostserverDB` uses Integrated Security (every real K2 server's),
/// where this system cannot log in that way, `backup create` still backs up the file and
/// says why the database was left out; naming the database (--only db) makes it an error.
#[test]
fn a_backup_beside_an_unreachable_database_keeps_the_file_and_says_why() {
    let s = Scratch::sample();
    let out = k2(&s, None, &["backup", "create", "--json"])
        .env_remove("K2CSE_CONNECTION")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        created["manifest"]["files"].as_array().unwrap().len(),
        1,
        "{created}"
    );
    assert!(created["manifest"]["database"].is_null(), "{created}");
    assert!(
        stderr.contains("the database was left out of this backup")
            && (stderr.contains("Integrated Security") || stderr.contains("cannot reach")),
        "{stderr}"
    );
    assert_eq!(s.backups().len(), 1);
    k2(&s, None, &["backup", "create", "--only", "db"])
        .env_remove("K2CSE_CONNECTION")
        .assert()
        .failure();
}

/// A restore killed between the file's rename and the database's commit leaves the file
/// restored, the rows not, and its journal: every command says so, another restore is
/// refused, and `backup restore --resume` finishes it (only the rows still differ), after
/// which file and rows agree with the backup and the journal is gone.
#[test]
fn an_interrupted_restore_is_reported_then_finished_by_resume() {
    let sim = SimProcess::start(&[]);
    let (s, original, original_rows, created) = backed_up(&sim);
    let backup = PathBuf::from(created["path"].as_str().unwrap());
    break_file_and_token(&s, &sim);
    let other = s.backups().last().unwrap().clone();

    // The state a restore killed after the file's rename leaves: its journal, the file
    // restored, the rows not.
    let store = k2cse_core::backup::BackupStore::for_config(&s.config, None);
    std::mem::forget(k2cse_core::backup::RestoreJournal::begin(&store, &backup).unwrap());
    std::fs::write(&s.config, &original).unwrap();
    assert_ne!(rows_digest(&s, &sim), original_rows);

    k2(&s, None, &["list"])
        .assert()
        .success()
        .stderr(predicate::str::contains("did not finish"))
        .stderr(predicate::str::contains("backup restore --resume"));
    k2(
        &s,
        Some(&sim),
        &["backup", "restore", other.to_str().unwrap(), "--yes"],
    )
    .assert()
    .failure()
    .stderr(predicate::str::contains("not restored"));

    let resumed = json(&mut k2(
        &s,
        Some(&sim),
        &["backup", "restore", "--resume", "--yes"],
    ));
    assert_eq!(resumed["recovered"], true, "{resumed}");
    assert_eq!(resumed["report"]["rows_changed"], 1, "{resumed}");
    assert_eq!(
        resumed["report"]["files"].as_array().unwrap().len(),
        0,
        "the file was already restored: {resumed}"
    );
    assert_eq!(s.bytes(), original);
    assert_eq!(rows_digest(&s, &sim), original_rows);
    assert!(k2cse_core::backup::interrupted(&store).is_none());
    k2(&s, None, &["list"])
        .assert()
        .success()
        .stderr(predicate::str::contains("did not finish").not());
    // Nothing left to recover.
    k2(&s, Some(&sim), &["backup", "restore", "--resume", "--yes"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no interrupted restore"));
}

/// A restore's diff marks a masked secret "(changed)" only when the restore changes it: after
/// a change to another key the password is shown masked and unmarked; after a change to the
/// password itself it is marked.
#[test]
fn a_restore_diff_marks_a_secret_changed_only_when_it_changes() {
    const NOTIFY: &str = "SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com";
    let s = Scratch::sample();
    let created = json(&mut k2(&s, None, &["backup", "create", "--only", "file"]));
    let backup = created["path"].as_str().unwrap().to_owned();
    k2(&s, None, &["set", NOTIFY, "Port=2525", "--force"])
        .assert()
        .success();
    let out = k2(&s, None, &["backup", "restore", &backup, "--dry-run"])
        .output()
        .unwrap();
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{diff}");
    let notify_lines: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with(['-', '+']) && l.contains(NOTIFY))
        .collect();
    assert_eq!(notify_lines.len(), 2, "{diff}");
    for line in &notify_lines {
        assert!(line.contains("Password=********"), "{line}");
        assert!(
            !line.contains("(changed)"),
            "the password did not change: {line}"
        );
    }
    assert!(!diff.contains("(changed)"), "{diff}");

    k2(
        &s,
        None,
        &["set", NOTIFY, "Password=An0ther-Pass", "--force"],
    )
    .assert()
    .success();
    let out = k2(&s, None, &["backup", "restore", &backup, "--dry-run"])
        .output()
        .unwrap();
    let diff = String::from_utf8_lossy(&out.stdout);
    let restored_line = diff
        .lines()
        .find(|l| l.starts_with('+') && l.contains(NOTIFY))
        .unwrap_or_else(|| panic!("{diff}"));
    assert!(
        restored_line.contains("Password=******** (changed)"),
        "{restored_line}"
    );
    assert!(
        !diff.contains("An0ther-Pass") && !diff.contains("S3cret!Pass"),
        "{diff}"
    );
}
