//! Backups: the archive refuses anything altered, truncated or locked; a restore through the
//! simulator gives back identical bytes and rows, and a restore that fails anywhere leaves the
//! file and the database as they were.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use k2cse_core::Error;
use k2cse_core::backup::{
    self, Backup, BackupError, BackupKind, BackupStore, CurrentRows, Encryption, Only, Recovery,
    RestorePlan, RestoreRun,
};
use k2cse_core::db::{Database, RawRow, StoredValue, TableShape, Target, TokenWrite};
use k2cse_core::protect::KeyStore;
use k2cse_core::secret::Secret;
mod common;
use common::open_db;
use k2cse_mssql_sim::{Faults, SimConfig, Simulator};

fn fast(passphrase: &str) -> Encryption {
    // A low scrypt cost keeps the tests fast; the format is the same.
    Encryption {
        passphrase: Secret::new(passphrase),
        work_factor: Some(10),
    }
}

fn rows() -> Vec<RawRow> {
    vec![
        RawRow {
            token: "[K2SERVER]".into(),
            value: StoredValue::Binary(
                "K2SERVER01"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect(),
            ),
            encrypted: false,
        },
        RawRow {
            token: "[SECRET]".into(),
            value: StoredValue::Binary(vec![0, 1, 2, 250, 251]),
            encrypted: true,
        },
        RawRow {
            token: "[EMPTY]".into(),
            value: StoredValue::Null,
            encrypted: false,
        },
    ]
}

fn sample_backup() -> Backup {
    Backup::new(BackupKind::Manual, "test")
        .with_file(
            Path::new("/k2/K2HostServer.exe.config"),
            k2cse_core::sample::K2_SAMPLE.to_vec(),
        )
        .with_database("db,1433", "K2", &TableShape::legacy(), rows())
}

fn backup_error(result: Result<Backup, BackupError>) -> BackupError {
    match result {
        Ok(_) => panic!("the backup was accepted"),
        Err(e) => e,
    }
}

#[test]
fn plain_and_encrypted_archives_round_trip() {
    let path = Path::new("b.k2cse.tar");
    let backup = sample_backup();
    for encryption in [None, Some(fast("correct horse"))] {
        let bytes = backup.encode(path, encryption.as_ref()).unwrap();
        assert_eq!(backup::Encryption::new(Secret::new("x")).work_factor, None);
        let passphrase = encryption.as_ref().map(|e| &e.passphrase);
        let read = Backup::decode(path, &bytes, passphrase).unwrap();
        assert_eq!(
            read.files().next().unwrap().1,
            k2cse_core::sample::K2_SAMPLE
        );
        assert_eq!(read.rows().unwrap(), rows());
        let db = read.manifest().database.as_ref().unwrap();
        assert_eq!((db.rows, db.encrypted_rows), (3, 1));
        assert_eq!(db.sha256.len(), 64);
        if encryption.is_some() {
            assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
            assert!(
                memchr::memmem::find(&bytes, b"K2SERVER").is_none(),
                "nothing readable in an encrypted backup"
            );
        }
    }
}

#[test]
fn altered_truncated_and_foreign_archives_are_refused() {
    let path = Path::new("b.k2cse.tar");
    let bytes = sample_backup().encode(path, None).unwrap();
    // One byte of the config part changed (the sample's "smtp" becomes "smtP").
    let at = memchr::memmem::find(&bytes, b"smtp.").unwrap();
    let mut altered = bytes.clone();
    altered[at + 3] = b'P';
    let err = backup_error(Backup::decode(path, &altered, None));
    assert!(
        matches!(err, BackupError::Altered { ref part, .. } if part == "files/K2HostServer.exe.config"),
        "{err}"
    );
    assert!(err.to_string().contains("SHA-256"), "{err}");
    // Cut anywhere: refused, never half-read.
    for len in [bytes.len() - 512, bytes.len() / 2, 1024, 600] {
        let err = backup_error(Backup::decode(path, &bytes[..len], None));
        assert!(
            matches!(err, BackupError::Truncated { .. }),
            "cut at {len}: {err}"
        );
    }
    let err = backup_error(Backup::decode(path, b"<configuration/>", None));
    assert!(matches!(err, BackupError::NotABackup { .. }), "{err}");
}

#[test]
fn missing_and_unlisted_parts_and_newer_formats_are_refused() {
    let path = Path::new("b.k2cse.tar");
    let tar = |members: &[(&str, &[u8])]| {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in members {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o600);
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    };
    let good = sample_backup().encode(path, None).unwrap();
    let mut archive = tar::Archive::new(good.as_slice());
    let mut members: Vec<(String, Vec<u8>)> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            (name, data)
        })
        .collect();
    let as_refs = |m: &[(String, Vec<u8>)]| -> Vec<u8> {
        tar(&m
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect::<Vec<_>>())
    };
    // Rebuilt unchanged, it is accepted: the checks below fail for their own reason.
    Backup::decode(path, &as_refs(&members), None).unwrap();
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "files/K2HostServer.exe.config",
            "database/configuration.json",
            "manifest.json"
        ],
        "parts first, the manifest last"
    );
    let without_db: Vec<_> = vec![members[0].clone(), members[2].clone()];
    let err = backup_error(Backup::decode(path, &as_refs(&without_db), None));
    assert!(
        matches!(err, BackupError::MissingPart { ref part, .. } if part == "database/configuration.json"),
        "{err}"
    );
    let mut extra = members.clone();
    extra.push(("files/evil.config".into(), b"x".to_vec()));
    let err = backup_error(Backup::decode(path, &as_refs(&extra), None));
    assert!(matches!(err, BackupError::UnexpectedPart { .. }), "{err}");
    let manifest = String::from_utf8(members[2].1.clone()).unwrap();
    members[2].1 = manifest
        .replace("\"format_version\": 1", "\"format_version\": 99")
        .into_bytes();
    let err = backup_error(Backup::decode(path, &as_refs(&members), None));
    assert!(
        matches!(err, BackupError::UnsupportedVersion { version: 99, .. }),
        "{err}"
    );
}

#[test]
fn encrypted_backups_need_the_right_passphrase_and_detect_any_change() {
    let path = Path::new("b.k2cse.tar.age");
    let bytes = sample_backup().encode(path, Some(&fast("right"))).unwrap();
    let err = backup_error(Backup::decode(path, &bytes, None));
    assert!(
        matches!(err, BackupError::PassphraseRequired { .. }),
        "{err}"
    );
    let err = backup_error(Backup::decode(path, &bytes, Some(&Secret::new("wrong"))));
    assert!(matches!(err, BackupError::WrongPassphrase { .. }), "{err}");
    let mut altered = bytes.clone();
    let last = altered.len() - 20;
    altered[last] ^= 1;
    let err = backup_error(Backup::decode(path, &altered, Some(&Secret::new("right"))));
    assert!(matches!(err, BackupError::Truncated { .. }), "{err}");
    let err = backup_error(Backup::decode(
        path,
        &bytes[..bytes.len() - 100],
        Some(&Secret::new("right")),
    ));
    assert!(matches!(err, BackupError::Truncated { .. }), "{err}");
}

// ---- through the simulator ----

struct Setup {
    _dir: tempfile::TempDir,
    config: PathBuf,
    store: BackupStore,
    backup: PathBuf,
    original_file: Vec<u8>,
    original_rows: Vec<RawRow>,
}

/// A config and the simulated database, backed up, then both changed ("broken").
async fn backed_up_then_broken(sim: &Simulator, db: &mut Database, target: &Target) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let config = k2cse_core::sample::write_sample(dir.path()).unwrap();
    let store = BackupStore::for_config(&config, None);
    let original_file = std::fs::read(&config).unwrap();
    let original_rows = db.raw_rows().await.unwrap();
    assert!(
        original_rows.iter().any(|r| r.encrypted),
        "the sample has encrypted rows"
    );
    let backup = Backup::new(BackupKind::Manual, "test")
        .with_file(&config, original_file.clone())
        .with_database(
            &target.server(),
            "K2",
            &db.status().shape.clone(),
            original_rows.clone(),
        );
    let backup = store.save(&backup, None).unwrap();
    // Break both sides: a changed and a new token, a changed file.
    common::break_rows(db, true).await;
    std::fs::write(&config, b"<configuration>broken</configuration>").unwrap();
    let _ = sim;
    Setup {
        _dir: dir,
        config,
        store,
        backup,
        original_file,
        original_rows,
    }
}

async fn plan_for(
    s: &Setup,
    db: &mut Database,
    target: &Target,
    only: Option<Only>,
) -> RestorePlan {
    plan_path(&s.backup, db, target, only).await
}

#[tokio::test]
async fn restore_gives_back_identical_bytes_and_rows() {
    let sim = Simulator::start(SimConfig::default()).unwrap();
    let (mut db, target) = open_db(&sim).await;
    let s = backed_up_then_broken(&sim, &mut db, &target).await;
    let broken_rows = db.raw_rows().await.unwrap();
    let plan = plan_for(&s, &mut db, &target, None).await;
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let lines = plan.row_lines(false);
    assert!(
        lines.iter().any(|l| l.starts_with("- [ADDED]")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("~ [K2SERVER]: BROKEN -> K2SERVER01")),
        "{lines:?}"
    );
    let diff = plan.file_diff(&KeyStore::default(), false);
    assert!(
        diff.contains("-<configuration>broken</configuration>"),
        "{diff}"
    );
    let report = plan.execute(Some(&mut db), &s.store, None).await.unwrap();
    assert_eq!(std::fs::read(&s.config).unwrap(), s.original_file);
    let (mut fresh, _) = open_db(&sim).await;
    assert_eq!(
        fresh.raw_rows().await.unwrap(),
        s.original_rows,
        "identical rows, ciphertext included"
    );
    assert_eq!(report.rows_changed, 2);
    // The pre-restore backup holds the broken state.
    let pre = backup::open(&report.pre_restore_backup, None).unwrap();
    assert_eq!(pre.manifest().kind, BackupKind::PreRestore);
    assert_eq!(
        pre.files().next().unwrap().1,
        b"<configuration>broken</configuration>"
    );
    assert_eq!(pre.rows().unwrap(), broken_rows);
    // Restoring again changes nothing.
    let again = plan_for(&s, &mut fresh, &target, None).await;
    assert!(again.is_empty());
}

#[tokio::test]
async fn only_restores_one_side() {
    let sim = Simulator::start(SimConfig::default()).unwrap();
    let (mut db, target) = open_db(&sim).await;
    let s = backed_up_then_broken(&sim, &mut db, &target).await;
    let broken_rows = db.raw_rows().await.unwrap();
    let file_only = plan_for(&s, &mut db, &target, Some(Only::File)).await;
    assert!(file_only.database.is_none());
    file_only.execute(None, &s.store, None).await.unwrap();
    assert_eq!(std::fs::read(&s.config).unwrap(), s.original_file);
    assert_eq!(db.raw_rows().await.unwrap(), broken_rows);
    std::fs::write(&s.config, b"changed again").unwrap();
    let db_only = plan_for(&s, &mut db, &target, Some(Only::Database)).await;
    assert!(db_only.files.is_empty());
    db_only
        .execute(Some(&mut db), &s.store, None)
        .await
        .unwrap();
    assert_eq!(db.raw_rows().await.unwrap(), s.original_rows);
    assert_eq!(std::fs::read(&s.config).unwrap(), b"changed again");
}

#[tokio::test]
async fn a_restore_interrupted_at_any_statement_leaves_file_and_database_as_they_were() {
    let sim = Simulator::start(SimConfig::default()).unwrap();
    let (mut db, target) = open_db(&sim).await;
    let s = backed_up_then_broken(&sim, &mut db, &target).await;
    let broken_file = std::fs::read(&s.config).unwrap();
    let broken_rows = db.raw_rows().await.unwrap();
    // A restore writes only the rows that differ: here 4 statements, the locked read, the
    // DELETE of the added token, the UPDATE of the changed one, the read-back.
    for after in 1..=4 {
        let (mut db, _) = open_db(&sim).await;
        let plan = plan_for(&s, &mut db, &target, None).await;
        sim.set_faults(Faults {
            drop_after_statements: Some(after),
            ..Faults::default()
        });
        let err = plan
            .execute(Some(&mut db), &s.store, None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Database(_)),
            "drop after {after}: {err}"
        );
        sim.set_faults(Faults::default());
        assert_eq!(
            std::fs::read(&s.config).unwrap(),
            broken_file,
            "drop after {after}"
        );
        let (mut fresh, _) = open_db(&sim).await;
        assert_eq!(
            fresh.raw_rows().await.unwrap(),
            broken_rows,
            "drop after {after}"
        );
    }
    // A failing statement rolls back too.
    let (mut db, _) = open_db(&sim).await;
    let plan = plan_for(&s, &mut db, &target, None).await;
    sim.set_faults(Faults {
        fail_statement: Some("UPDATE [HostServer]".into()),
        ..Faults::default()
    });
    plan.execute(Some(&mut db), &s.store, None)
        .await
        .unwrap_err();
    sim.set_faults(Faults::default());
    assert_eq!(std::fs::read(&s.config).unwrap(), broken_file);
    assert_eq!(db.raw_rows().await.unwrap(), broken_rows);
}

#[tokio::test]
async fn a_file_that_cannot_be_written_rolls_the_rows_back_and_changes_since_planning_are_refused()
{
    let sim = Simulator::start(SimConfig::default()).unwrap();
    let (mut db, target) = open_db(&sim).await;
    let s = backed_up_then_broken(&sim, &mut db, &target).await;
    let broken_rows = db.raw_rows().await.unwrap();
    // Someone edits the file after the plan was shown: the file write is refused, and the
    // rows written in the same transaction are rolled back.
    let plan1 = plan_for(&s, &mut db, &target, None).await;
    std::fs::write(&s.config, b"someone else's edit").unwrap();
    let err = plan1
        .execute(Some(&mut db), &s.store, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ChangedOnDisk { .. }), "{err}");
    assert_eq!(db.raw_rows().await.unwrap(), broken_rows);
    assert_eq!(std::fs::read(&s.config).unwrap(), b"someone else's edit");
    // Someone changes a token after the plan was shown: refused, nothing written.
    let plan2 = plan_for(&s, &mut db, &target, None).await;
    db.write(&[TokenWrite {
        token: "[K2SERVER]".into(),
        expected: Some("BROKEN".into()),
        new: "OTHER".into(),
        encrypt: false,
    }])
    .await
    .unwrap();
    let err = plan2
        .execute(Some(&mut db), &s.store, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("[K2SERVER]"), "{err}");
    assert_eq!(std::fs::read(&s.config).unwrap(), b"someone else's edit");
}

#[tokio::test]
async fn a_restore_whose_commit_answer_is_lost_is_finished_by_running_it_again() {
    for drop in [
        k2cse_mssql_sim::CommitDrop::BeforeCommitting,
        k2cse_mssql_sim::CommitDrop::AfterCommitting,
    ] {
        let sim = Simulator::start(SimConfig::default()).unwrap();
        let (mut db, target) = open_db(&sim).await;
        let s = backed_up_then_broken(&sim, &mut db, &target).await;
        let broken = db.raw_rows().await.unwrap();
        let plan = plan_for(&s, &mut db, &target, None).await;
        sim.set_faults(Faults {
            drop_at_commit: Some(drop),
            ..Faults::default()
        });
        let err = plan
            .execute(Some(&mut db), &s.store, None)
            .await
            .unwrap_err();
        sim.set_faults(Faults::default());
        assert!(
            matches!(err, Error::Backup(BackupError::CommitUnknown { .. })),
            "{drop:?}: {err}"
        );
        assert!(
            err.to_string().contains("Run the same restore again"),
            "{err}"
        );
        // Whatever happened, the rows are all old or all restored, and a second run finishes.
        let (mut db, _) = open_db(&sim).await;
        let rows = db.raw_rows().await.unwrap();
        let expected = match drop {
            k2cse_mssql_sim::CommitDrop::BeforeCommitting => &broken,
            k2cse_mssql_sim::CommitDrop::AfterCommitting => &s.original_rows,
        };
        assert_eq!(&rows, expected, "{drop:?}: all old or all restored");
        let again = plan_for(&s, &mut db, &target, None).await;
        again.execute(Some(&mut db), &s.store, None).await.unwrap();
        assert_eq!(
            std::fs::read(&s.config).unwrap(),
            s.original_file,
            "{drop:?}"
        );
        assert_eq!(
            open_db(&sim).await.0.raw_rows().await.unwrap(),
            s.original_rows,
            "{drop:?}"
        );
    }
}

/// Plans restoring the backup at `path` (limited by `only`) into the simulated database.
async fn plan_path(
    path: &Path,
    db: &mut Database,
    target: &Target,
    only: Option<Only>,
) -> RestorePlan {
    let backup = backup::open(path, None).unwrap();
    RestorePlan::new(
        path,
        &backup,
        only,
        None,
        Some(CurrentRows {
            rows: db.raw_rows().await.unwrap(),
            server: target.server(),
            database: "K2".into(),
            shape: db.status().shape.clone(),
        }),
    )
    .unwrap()
}

/// A restore interrupted after the file was renamed and before the rows were committed (the
/// connection dropped at the commit) is found at the next run and finished, or rolled back:
/// file and rows then agree, and the journal is gone.
#[tokio::test]
async fn an_interrupted_restore_is_finished_or_rolled_back_at_the_next_run() {
    for recovery in [Recovery::Finish, Recovery::RollBack] {
        let sim = Simulator::start(SimConfig::default()).unwrap();
        let (mut db, target) = open_db(&sim).await;
        let s = backed_up_then_broken(&sim, &mut db, &target).await;
        let broken_file = std::fs::read(&s.config).unwrap();
        let broken_rows = db.raw_rows().await.unwrap();
        let plan = plan_for(&s, &mut db, &target, None).await;
        sim.set_faults(Faults {
            drop_at_commit: Some(k2cse_mssql_sim::CommitDrop::BeforeCommitting),
            ..Faults::default()
        });
        let mut run = RestoreRun::new(&s.store);
        assert!(run.interrupted().is_none());
        let err = run.execute(&plan, Some(&mut db), None).await.unwrap_err();
        sim.set_faults(Faults::default());
        assert!(
            matches!(err, Error::Backup(BackupError::CommitUnknown { .. })),
            "{err}"
        );
        // File restored, rows not: apart.
        assert_eq!(std::fs::read(&s.config).unwrap(), s.original_file);
        let (mut db, _) = open_db(&sim).await;
        assert_eq!(db.raw_rows().await.unwrap(), broken_rows);

        // The next run.
        let mut next = RestoreRun::new(&s.store);
        let found = next.interrupted().expect("the journal is found").clone();
        assert!(found.message().contains("--resume"), "{}", found.message());
        assert!(found.pre_restore.is_some());
        // Another backup is refused while it is pending.
        let other = s.store.dir().join("other.k2cse.tar");
        assert!(matches!(
            next.check_allowed(&other),
            Err(Error::Backup(BackupError::RestorePending { .. }))
        ));
        let path = next.recovery_backup(recovery).unwrap();
        let plan = plan_path(&path, &mut db, &target, None).await;
        if recovery == Recovery::Finish {
            // Only what still differs: the rows (the file is already restored).
            assert!(plan.files.iter().all(|f| !f.is_changed()));
        }
        next.execute(&plan, Some(&mut db), None).await.unwrap();
        let (expected_file, expected_rows) = match recovery {
            Recovery::Finish => (&s.original_file, &s.original_rows),
            Recovery::RollBack => (&broken_file, &broken_rows),
        };
        assert_eq!(
            &std::fs::read(&s.config).unwrap(),
            expected_file,
            "{recovery:?}"
        );
        assert_eq!(
            &open_db(&sim).await.0.raw_rows().await.unwrap(),
            expected_rows,
            "{recovery:?}"
        );
        assert!(
            backup::interrupted(&s.store).is_none(),
            "{recovery:?}: the journal is gone"
        );
    }
}
