//! The restore journal: a small file in the backup folder that says a restore is under way.
//! A restore writes the database rows and the file in one all-or-nothing step, but a process
//! killed between the file's rename and the database's commit (or a lost connection) can leave
//! the two apart. The journal is written (and flushed) before the restore starts and removed
//! when it ends, cleanly or rolled back; one still there at the next run means the restore was
//! interrupted, and every command says so, with what to run to finish it or roll it back.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{BackupKind, BackupStore};
use crate::error::{Error, Result};
use crate::save::sync_dir;

/// What the journal records.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InterruptedRestore {
    /// The backup that was being restored.
    pub backup: PathBuf,
    /// When the restore started (UTC, RFC 3339).
    pub started: String,
    /// The pre-restore backup taken by that restore, if it got that far: the state to roll
    /// back to.
    #[serde(default)]
    pub pre_restore: Option<PathBuf>,
}

impl InterruptedRestore {
    /// What to tell the user.
    pub fn message(&self) -> String {
        let roll_back = if self.pre_restore.is_some() {
            ", or roll it back with `k2cse backup restore --roll-back --yes`"
        } else {
            " (it took no pre-restore backup, so it changed nothing yet)"
        };
        format!(
            "a restore of {} started {} did not finish: the config file and the database rows may not match. Finish it with `k2cse backup restore --resume --yes` (it writes only what still differs){roll_back}",
            self.backup.display(),
            self.started,
        )
    }
}

/// A restore under way; [`Self::finish`] removes the journal.
#[derive(Debug)]
#[must_use = "finish the journal when the restore has ended"]
pub struct RestoreJournal {
    path: PathBuf,
}

fn journal_path(store: &BackupStore) -> PathBuf {
    let tag = store.scope().unwrap_or("all");
    store.dir().join(format!(".k2cse-restore-{tag}.journal"))
}

impl RestoreJournal {
    /// Records, durably, that a restore of `backup` starts now.
    pub fn begin(store: &BackupStore, backup: &Path) -> Result<Self> {
        let path = journal_path(store);
        fs::create_dir_all(store.dir()).map_err(|e| Error::io(store.dir(), e))?;
        let record = InterruptedRestore {
            backup: std::path::absolute(backup).unwrap_or_else(|_| backup.to_owned()),
            started: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            pre_restore: None,
        };
        write_record(&path, &record)?;
        Ok(Self { path })
    }

    /// The restore ended (done, or rolled back): the journal goes.
    pub fn finish(self) {
        // Best effort: a journal left behind only causes a message at the next run.
        let _ = fs::remove_file(&self.path);
    }

    /// This restore was rolled back, but an earlier interrupted one is still pending: its
    /// record goes back in place of this one.
    pub(super) fn restore_record(self, earlier: &InterruptedRestore) {
        let _ = write_record(&self.path, earlier);
    }
}

/// Removes `store`'s journal (the interrupted restore is resolved).
pub(super) fn remove(store: &BackupStore) {
    let path = journal_path(store);
    let _ = fs::remove_file(&path);
    sync_dir(store.dir());
}

/// Writes a journal record durably (flushed, then the folder synced).
fn write_record(path: &Path, record: &InterruptedRestore) -> Result<()> {
    let json =
        serde_json::to_vec_pretty(record).map_err(|e| Error::io(path, std::io::Error::other(e)))?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| Error::io(path, e))?;
    file.write_all(&json)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(path, e))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir);
    }
    Ok(())
}

/// The restore of this store's config that was interrupted, if one was.
pub fn interrupted(store: &BackupStore) -> Option<InterruptedRestore> {
    let path = journal_path(store);
    let bytes = crate::bounded::read(&path, 64 * 1024, "restore journal").ok()?;
    let mut record: InterruptedRestore = serde_json::from_slice(&bytes).ok()?;
    if record.pre_restore.as_deref().is_some_and(Path::exists) {
        return Some(record);
    }
    // The pre-restore backup that restore took: the newest one of this config, taken after
    // it started (names sort by time).
    let started = record.started.replace(['-', ':'], "");
    record.pre_restore = store
        .list_own()
        .ok()?
        .into_iter()
        .filter(|b| b.kind == BackupKind::PreRestore)
        .rfind(|b| {
            b.path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().as_ref() >= &started[..started.len().min(15)])
        })
        .map(|b| b.path);
    Some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_left_behind_is_reported_and_a_finished_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("K2HostServer.exe.config");
        fs::write(&config, b"x").unwrap();
        let store = BackupStore::for_config(&config, None);
        let backup = dir.path().join("b.k2cse.tar");
        assert!(interrupted(&store).is_none());
        RestoreJournal::begin(&store, &backup).unwrap().finish();
        assert!(interrupted(&store).is_none());
        // Killed: never finished.
        std::mem::forget(RestoreJournal::begin(&store, &backup).unwrap());
        let found = interrupted(&store).unwrap();
        assert_eq!(found.backup, backup);
        assert!(found.message().contains("did not finish"));
        // Another config sharing the folder has no interrupted restore.
        let other = BackupStore::for_config(&dir.path().join("other.config"), Some(store.dir()));
        assert!(interrupted(&other).is_none());
    }
}
