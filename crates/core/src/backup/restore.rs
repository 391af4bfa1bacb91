//! Restoring a backup: first a plan (what would change, shown to the user), then the restore.
//!
//! The restore takes a pre-restore backup of everything it is about to overwrite, then writes
//! the database rows and the file(s) so that a failure anywhere leaves both as they were: the
//! rows are written in a transaction, the files are replaced atomically *inside* it (after
//! the rows read back identical, before the commit), and a commit refused by the server puts
//! the files back. When the commit's answer is lost, the outcome is unknown: the files stay
//! restored and the error says so; running the same restore again finishes it.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use super::{Backup, BackupError, BackupKind, BackupStore, Encryption, restore_target};
use crate::db::{Database, DbError, RawRow, RowChange, TableShape};
use crate::error::{Error, Result};
use crate::protect::KeyStore;
use crate::save::{Fingerprint, SaveOptions, write_atomic};
use crate::secret::MASK;

/// Restore only one side of a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Only {
    /// The config file(s).
    File,
    /// The database rows.
    Database,
}

/// One file a restore would write.
#[derive(Debug, Clone)]
pub struct FileRestore {
    /// Where it goes.
    pub target: PathBuf,
    /// What is there now (`None`: no file).
    pub current: Option<Vec<u8>>,
    /// What the backup holds.
    pub restored: Vec<u8>,
}

impl FileRestore {
    /// Whether restoring changes the file.
    pub fn is_changed(&self) -> bool {
        self.current.as_deref() != Some(self.restored.as_slice())
    }
}

/// The database side of a restore.
#[derive(Debug, Clone)]
pub struct DatabaseRestore {
    /// The rows now (checked again, under lock, when restoring).
    pub current: Vec<RawRow>,
    /// The rows in the backup.
    pub restored: Vec<RawRow>,
    /// What changes, by token.
    pub changes: Vec<RowChange>,
    /// The server and database the rows are restored into.
    pub server: String,
    /// Database name.
    pub database: String,
    /// The table's column types (the same as the backup's).
    pub shape: TableShape,
}

/// What a restore would do.
#[derive(Debug, Clone)]
pub struct RestorePlan {
    /// The backup file.
    pub backup: PathBuf,
    /// The files it restores.
    pub files: Vec<FileRestore>,
    /// The rows it restores.
    pub database: Option<DatabaseRestore>,
    /// What the user should know before confirming (a different server, ...).
    pub warnings: Vec<String>,
}

/// What a restore did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreReport {
    /// The backup of the state before the restore.
    pub pre_restore_backup: PathBuf,
    /// Files replaced.
    pub files: Vec<PathBuf>,
    /// Tokens added, changed or removed.
    pub rows_changed: usize,
}

/// The rows now and where they are, for a plan that restores the database.
#[derive(Debug, Clone)]
pub struct CurrentRows {
    /// Rows as stored.
    pub rows: Vec<RawRow>,
    /// Server as written in the connection string.
    pub server: String,
    /// Database name.
    pub database: String,
    /// The table's column types now.
    pub shape: TableShape,
}

impl RestorePlan {
    /// Whether restoring `backup` (limited by `only`) involves the database.
    pub fn needs_database(backup: &Backup, only: Option<Only>) -> bool {
        backup.rows().is_some() && only != Some(Only::File)
    }

    /// Plans restoring `backup` (read from `path`): the files onto `onto` (the main file; the
    /// others next to it) or where they came from, the rows into the database `current` was
    /// read from. Reads the current files now.
    pub fn new(
        path: &Path,
        backup: &Backup,
        only: Option<Only>,
        onto: Option<&Path>,
        current: Option<CurrentRows>,
    ) -> Result<Self> {
        let nothing = |message: &str| -> Error {
            BackupError::NothingToRestore {
                path: path.to_owned(),
                message: message.into(),
            }
            .into()
        };
        let mut files = Vec::new();
        if only != Some(Only::Database) {
            for (i, (part, bytes)) in backup.files().enumerate() {
                let target = restore_target(part, i, onto);
                let current = match std::fs::read(&target) {
                    Ok(b) => Some(b),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(Error::io(&target, e)),
                };
                files.push(FileRestore {
                    target,
                    current,
                    restored: bytes.to_vec(),
                });
            }
            if files.is_empty() && only == Some(Only::File) {
                return Err(nothing("the backup holds no config file"));
            }
        }
        let mut warnings = Vec::new();
        let database = match (Self::needs_database(backup, only), current) {
            (false, _) => {
                if only == Some(Only::Database) {
                    return Err(nothing("the backup holds no database rows"));
                }
                None
            }
            (true, None) => {
                return Err(nothing(
                    "the backup holds database rows: a database connection is needed (or restore --only file)",
                ));
            }
            (true, Some(current)) => {
                let restored = backup.rows().unwrap_or_default().to_vec();
                let backed_up = backup
                    .manifest()
                    .database
                    .as_ref()
                    .and_then(|d| d.shape.clone())
                    .unwrap_or_else(TableShape::legacy);
                if backed_up != current.shape {
                    return Err(DbError::Shape {
                        message: format!(
                            "the rows were backed up from a table shaped {backed_up} and the table is now {}: restoring them would change how values are stored, so nothing was restored",
                            current.shape
                        ),
                    }
                    .into());
                }
                if let Some(source) = &backup.manifest().database
                    && !(source.server.eq_ignore_ascii_case(&current.server)
                        && source.database.eq_ignore_ascii_case(&current.database))
                {
                    warnings.push(format!(
                        "the rows were backed up from {}/{} and are restored into {}/{}: encrypted tokens only decrypt there if SCSSOKey is the same key",
                        source.server, source.database, current.server, current.database
                    ));
                }
                Some(DatabaseRestore {
                    changes: RowChange::between(&current.rows, &restored),
                    current: current.rows,
                    restored,
                    server: current.server,
                    database: current.database,
                    shape: current.shape,
                })
            }
        };
        Ok(Self {
            backup: path.to_owned(),
            files,
            database,
            warnings,
        })
    }

    /// Whether the restore would change nothing.
    pub fn is_empty(&self) -> bool {
        self.files.iter().all(|f| !f.is_changed())
            && self.database.as_ref().is_none_or(|d| d.changes.is_empty())
    }

    /// A unified diff from the current files to the restored ones, secrets masked unless
    /// `reveal` (sections are decrypted with `keys` where possible).
    pub fn file_diff(&self, keys: &KeyStore, reveal: bool) -> String {
        let mut out = String::new();
        for file in self.files.iter().filter(|f| f.is_changed()) {
            out.push_str(&file_diff(file, keys, reveal));
        }
        out
    }

    /// One line per changed token (values masked unless `reveal`; encrypted values are
    /// ciphertext and shown by size only).
    pub fn row_lines(&self, reveal: bool) -> Vec<String> {
        self.database
            .iter()
            .flat_map(|d| d.changes.iter())
            .map(|c| match c {
                RowChange::Added(r) => format!("+ {} = {}", r.token, row_value(r, reveal)),
                RowChange::Removed(r) => format!("- {} (was {})", r.token, row_value(r, reveal)),
                RowChange::Changed { before, after } => format!(
                    "~ {}: {} -> {}",
                    after.token,
                    row_value(before, reveal),
                    row_value(after, reveal)
                ),
            })
            .collect()
    }

    /// Restores: a pre-restore backup into `store` first, then the rows (through `db`, which
    /// must be connected to the database the plan was made against) and the files.
    pub async fn execute(
        &self,
        db: Option<&mut Database>,
        store: &BackupStore,
        encryption: Option<&Encryption>,
    ) -> Result<RestoreReport> {
        let name = self
            .backup
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut pre = Backup::new(BackupKind::PreRestore, format!("before restoring {name}"));
        for file in &self.files {
            if let Some(current) = &file.current {
                pre = pre.with_file(&file.target, current.clone());
            }
        }
        if let Some(d) = &self.database {
            pre = pre.with_database(&d.server, &d.database, &d.shape, d.current.clone());
        }
        let pre_restore_backup = store.save(&pre, encryption)?;
        let written: RefCell<Vec<&FileRestore>> = RefCell::new(Vec::new());
        let write_files = || -> Result<()> {
            for file in self.files.iter().filter(|f| f.is_changed()) {
                if let Err(e) = write_file(file) {
                    undo(&written.borrow());
                    written.borrow_mut().clear();
                    return Err(e);
                }
                written.borrow_mut().push(file);
            }
            Ok(())
        };
        let rows_changed = match (&self.database, db) {
            (Some(plan), Some(db)) if !plan.changes.is_empty() => {
                let result = db
                    .restore_rows(Some(&plan.current), &plan.restored, write_files)
                    .await;
                match result {
                    Ok(()) => {}
                    // The commit may or may not have happened: the files stay restored (a
                    // second run of the same restore finishes whichever side is behind).
                    Err(Error::Database(crate::db::DbError::CommitUnknown { source })) => {
                        return Err(BackupError::CommitUnknown {
                            path: self.backup.clone(),
                            cause: source.to_string(),
                        }
                        .into());
                    }
                    Err(e) => {
                        // Rolled back: put the files written inside the transaction back.
                        undo(&written.borrow());
                        return Err(e);
                    }
                }
                plan.changes.len()
            }
            (Some(plan), None) if !plan.changes.is_empty() => {
                return Err(Error::InvalidChange(
                    "internal: a database restore was planned without a connection".into(),
                ));
            }
            _ => {
                write_files()?;
                0
            }
        };
        let files = written.borrow().iter().map(|f| f.target.clone()).collect();
        Ok(RestoreReport {
            pre_restore_backup,
            files,
            rows_changed,
        })
    }
}

/// Replaces one file, provided it is still what the plan read.
fn write_file(file: &FileRestore) -> Result<()> {
    let expected = file.current.as_deref().map(Fingerprint::of);
    write_atomic(
        &file.target,
        &[&file.restored],
        expected.as_ref(),
        &SaveOptions::without_backup(),
    )?;
    Ok(())
}

/// Puts restored files back as they were (best effort: this runs after another failure,
/// which is the error reported).
fn undo(written: &[&FileRestore]) {
    for file in written.iter().rev() {
        let restored = Fingerprint::of(&file.restored);
        match &file.current {
            Some(old) => {
                let _ = write_atomic(
                    &file.target,
                    &[old],
                    Some(&restored),
                    &SaveOptions::without_backup(),
                );
            }
            None => {
                let _ = std::fs::remove_file(&file.target);
            }
        }
    }
}

fn row_value(row: &RawRow, reveal: bool) -> String {
    use crate::db::StoredValue;
    match (&row.value, row.text()) {
        (StoredValue::Null, _) => "NULL".into(),
        (StoredValue::Binary(bytes), _) if row.encrypted => {
            format!("<encrypted, {} bytes>", bytes.len())
        }
        (_, Some(text)) => {
            let token = row.token.trim_matches(['[', ']']);
            if !reveal && crate::entry::schema::looks_secret(token) {
                MASK.into()
            } else {
                crate::entry::display_any(&text, reveal)
            }
        }
        (StoredValue::Binary(bytes), None) => format!("<{} bytes>", bytes.len()),
        (StoredValue::Nvarchar(t) | StoredValue::Varchar(t), None) => {
            format!("<encrypted, {} characters>", t.chars().count())
        }
    }
}

/// The diff of one file: through the config model (secrets masked) when both sides parse,
/// else the raw text only when `reveal`.
fn file_diff(file: &FileRestore, keys: &KeyStore, reveal: bool) -> String {
    let name = file.target.display().to_string();
    let load = |bytes: &[u8]| {
        let mut doc = crate::Document::from_bytes(&file.target, bytes.to_vec()).ok()?;
        if doc.protection().is_some() && !keys.is_empty() {
            // Without the key the encrypted section is shown as the ciphertext it is.
            let _ = doc.unlock(keys.clone());
        }
        Some(doc)
    };
    let current = file.current.as_deref().map(load);
    let restored = load(&file.restored);
    match (current, restored) {
        (Some(Some(cur)), Some(res)) => {
            let (Ok(before), Ok(after)) = (
                crate::diff::display_texts(&cur, None, reveal),
                crate::diff::display_texts(&res, Some(&cur), reveal),
            ) else {
                return raw_diff(file, &name, reveal);
            };
            let mut out = String::new();
            for (path, old) in &before {
                if let Some((_, new)) = after.iter().find(|(p, _)| p == path) {
                    out.push_str(&crate::diff::unified(old, new, &name, &name));
                }
            }
            out
        }
        (None, Some(res)) => match crate::diff::display_texts(&res, None, reveal) {
            Ok(texts) => texts
                .first()
                .map(|(_, t)| crate::diff::unified("", t, "/dev/null", &name))
                .unwrap_or_default(),
            Err(_) => raw_diff(file, &name, reveal),
        },
        _ => raw_diff(file, &name, reveal),
    }
}

fn raw_diff(file: &FileRestore, name: &str, reveal: bool) -> String {
    if reveal {
        let old = String::from_utf8_lossy(file.current.as_deref().unwrap_or_default());
        let new = String::from_utf8_lossy(&file.restored);
        return crate::diff::unified(&old, &new, name, name);
    }
    format!(
        "{name}: {} -> {} bytes (one side is not a readable config file; the diff is hidden because it may show secrets: use --reveal)\n",
        file.current
            .as_ref()
            .map_or_else(|| "no file".to_owned(), |c| c.len().to_string()),
        file.restored.len()
    )
}
