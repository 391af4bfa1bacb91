//! The Backups view's state and jobs: list the backup folder, back up now, inspect a backup
//! (verify it and compare it with the current file and rows), restore it after review.
//! The panel (`panels/backups.rs`) draws this state; the work runs as jobs.

use std::path::{Path, PathBuf};

use k2cse_core::backup::{
    self, Backup, BackupKind, BackupStore, CurrentRows, Encryption, Manifest, RestorePlan,
    RestoreReport, StoredBackup,
};
use k2cse_core::policy::BackupPolicy;
use k2cse_core::protect::KeyStore;
use k2cse_core::secret::Secret;

use crate::app::{Dialog, GuiApp, JobResult};
use crate::database::DbSettings;
use crate::jobs::CancelFlag;

/// What the Backups view shows and edits.
#[derive(Debug, Default)]
pub struct BackupsState {
    /// The folder's backups, oldest first (as last listed).
    pub list: Vec<StoredBackup>,
    /// The backup the user picked.
    pub selected: Option<PathBuf>,
    /// Passphrase for encrypted backups (opening, and creating with `encrypt`).
    pub passphrase: String,
    /// "Back up now" encrypts with the passphrase.
    pub encrypt: bool,
    /// "Back up now" includes the database rows.
    pub include_database: bool,
    /// The inspected backup and its comparison with the current state.
    pub inspected: Option<Box<Inspected>>,
    /// What to say once the restored file is open again (instead of "Opened ...").
    pub(crate) notice_after_open: Option<String>,
}

/// A verified backup, compared with the current state.
#[derive(Debug)]
pub struct Inspected {
    /// The backup file.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// What restoring it would change.
    pub plan: RestorePlan,
    /// The file diff (secrets masked).
    pub diff: String,
    /// One line per changed row.
    pub rows: Vec<String>,
    /// Why the rows are not compared (no connection, or it failed), when they are not.
    pub database_note: Option<String>,
}

/// Results of backup jobs.
#[derive(Debug)]
pub enum BackupOutcome {
    /// The folder was listed.
    Listed(Vec<StoredBackup>),
    /// A backup was written.
    Created(PathBuf, Vec<StoredBackup>),
    /// A backup was verified and compared.
    Inspected(Box<Inspected>),
    /// A backup was restored.
    Restored(RestoreReport, Vec<StoredBackup>),
}

impl GuiApp {
    /// The backup folder of the open file.
    pub(crate) fn backup_store(&self) -> Option<BackupStore> {
        // A new file has no place yet, so no backup folder.
        let ws = self
            .ws
            .as_ref()
            .filter(|w| !crate::new_file::is_untitled(w));
        ws.map(|ws| {
            BackupStore::for_config(
                ws.path(),
                BackupPolicy::dir_from_env(&self.settings.env).as_deref(),
            )
        })
    }

    /// Lists the backup folder.
    pub fn backups_refresh(&mut self) {
        let Some(store) = self.backup_store() else {
            return;
        };
        let started = self.jobs.start("Listing backups", move |_| {
            JobResult::Backup(
                store
                    .list()
                    .map(BackupOutcome::Listed)
                    .map_err(|e| e.to_string()),
            )
        });
        self.started(started);
    }

    /// Backs up the open file (as on disk) and, when chosen, the database rows.
    pub fn backup_now(&mut self) {
        let (Some(store), Some(ws)) = (self.backup_store(), self.ws.as_ref()) else {
            return;
        };
        let path = ws.path().to_owned();
        let db = self
            .backups
            .include_database
            .then(|| self.db.settings.clone());
        let encryption = self.backup_encryption();
        let started = self.jobs.start("Backing up", move |cancel| {
            JobResult::Backup(create(
                &store,
                &path,
                db.as_ref(),
                encryption.as_ref(),
                cancel,
            ))
        });
        self.started(started);
    }

    /// Verifies `path` and compares it with the current file (and rows, when a connection is
    /// set up).
    pub fn backup_inspect(&mut self, path: PathBuf) {
        let Some(ws) = self.ws.as_ref() else { return };
        let config = ws.path().to_owned();
        let db = (!self.db.settings.connection.trim().is_empty()).then(|| self.db.settings.clone());
        let passphrase =
            (!self.backups.passphrase.is_empty()).then(|| Secret::new(&self.backups.passphrase));
        let keys = self.settings.keys.clone();
        self.backups.selected = Some(path.clone());
        let started = self.jobs.start("Verifying the backup", move |cancel| {
            JobResult::Backup(
                inspect(
                    &path,
                    passphrase.as_ref(),
                    &config,
                    db.as_ref(),
                    &keys,
                    cancel,
                )
                .map(|i| BackupOutcome::Inspected(Box::new(i))),
            )
        });
        self.started(started);
    }

    /// Asks for confirmation of the inspected backup's restore.
    pub fn backup_request_restore(&mut self) {
        if self
            .ws
            .as_ref()
            .is_some_and(crate::workspace::Workspace::is_dirty)
        {
            self.info("Save or undo the current changes before restoring a backup.");
            return;
        }
        if self.backups.inspected.is_some() {
            self.dialog = Some(Dialog::RestoreBackup);
        }
    }

    /// Restores the inspected backup (after the review dialog).
    pub(crate) fn backup_restore(&mut self) {
        // The inspected plan is moved into the job: not before the job can start.
        if let Some(running) = self.jobs.running() {
            let busy = crate::jobs::Busy {
                running: running.label.clone(),
            };
            self.started(Err(busy));
            return;
        }
        let (Some(store), Some(inspected)) = (self.backup_store(), self.backups.inspected.take())
        else {
            return;
        };
        let db = inspected
            .plan
            .database
            .is_some()
            .then(|| self.db.settings.clone());
        let encryption = self.backup_encryption();
        let plan = inspected.plan;
        // No cancel: the file is written inside the database transaction; stopping between
        // the two is what the restore is built to avoid.
        let started = self.jobs.start("Restoring the backup", move |_| {
            let report = match &db {
                Some(db) => db.run_to_end(async |conn| {
                    plan.execute(Some(conn), &store, encryption.as_ref()).await
                }),
                None => tokio::runtime::Builder::new_current_thread()
                    .build()
                    .map_err(|e| e.to_string())
                    .and_then(|rt| {
                        rt.block_on(plan.execute(None, &store, encryption.as_ref()))
                            .map_err(|e| e.to_string())
                    }),
            };
            JobResult::Backup(report.and_then(|r| {
                let list = store.list().map_err(|e| e.to_string())?;
                Ok(BackupOutcome::Restored(r, list))
            }))
        });
        self.started(started);
    }

    /// The passphrase typed in the Backups view when chosen, else the policy's (a backup
    /// passphrase in the environment or the keyring), as `k2cse backup create` does.
    fn backup_encryption(&self) -> Option<Encryption> {
        if self.backups.encrypt && !self.backups.passphrase.is_empty() {
            return Some(
                self.settings
                    .env
                    .encryption_for(Secret::new(&self.backups.passphrase)),
            );
        }
        self.backup_policy().ok().and_then(|p| p.encryption)
    }

    /// Handles a finished backup job.
    pub(crate) fn finish_backup(&mut self, outcome: Result<BackupOutcome, String>) {
        match outcome {
            Err(e) => self.error("The backup operation failed", &e),
            Ok(BackupOutcome::Listed(list)) => self.backups.list = list,
            Ok(BackupOutcome::Created(path, list)) => {
                self.backups.list = list;
                self.info(format!("Backed up to {}.", path.display()));
            }
            Ok(BackupOutcome::Inspected(inspected)) => self.backups.inspected = Some(inspected),
            Ok(BackupOutcome::Restored(report, list)) => {
                self.backups.list = list;
                let rows = if report.rows_changed > 0 {
                    format!(" and {} database row(s)", report.rows_changed)
                } else {
                    String::new()
                };
                let text = format!(
                    "Restored the file{rows}. The state before the restore is in {}.",
                    report.pre_restore_backup.display()
                );
                self.info(text.clone());
                self.backups.notice_after_open = Some(text);
                // The file changed on disk: open it again.
                if let Some(path) = self.ws.as_ref().map(|w| w.path().to_owned()) {
                    self.open(&path);
                }
            }
        }
    }
}

fn create(
    store: &BackupStore,
    path: &Path,
    db: Option<&DbSettings>,
    encryption: Option<&Encryption>,
    cancel: &CancelFlag,
) -> Result<BackupOutcome, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut backup =
        Backup::new(BackupKind::Manual, "k2cse-gui: Back up now").with_file(path, bytes);
    if let Some(db) = db {
        let (rows, database, shape) = db.raw_rows(cancel)?;
        backup = backup.with_database(&db.server(), &database, &shape, rows);
    }
    let saved = store.save(&backup, encryption).map_err(|e| e.to_string())?;
    let list = store.list().map_err(|e| e.to_string())?;
    Ok(BackupOutcome::Created(saved, list))
}

fn inspect(
    path: &Path,
    passphrase: Option<&Secret>,
    config: &Path,
    db: Option<&DbSettings>,
    keys: &KeyStore,
    cancel: &CancelFlag,
) -> Result<Inspected, String> {
    let opened = backup::open(path, passphrase).map_err(|e| e.to_string())?;
    let mut database_note = None;
    let current = match (opened.rows(), db) {
        (None, _) => None,
        (Some(_), None) => {
            database_note = Some(
                "The backup holds database rows; set up the connection in the Database view to compare and restore them.".to_owned(),
            );
            None
        }
        (Some(_), Some(db)) => match db.raw_rows(cancel) {
            Ok((rows, database, shape)) => Some(CurrentRows {
                rows,
                server: db.server(),
                database,
                shape,
            }),
            Err(e) => {
                database_note = Some(format!("The database rows are not compared: {e}"));
                None
            }
        },
    };
    // Without a comparable database only the file is planned (and restored).
    let only = current.is_none().then_some(backup::Only::File);
    let plan =
        RestorePlan::new(path, &opened, only, Some(config), current).map_err(|e| e.to_string())?;
    Ok(Inspected {
        path: path.to_owned(),
        manifest: opened.manifest().clone(),
        diff: plan.file_diff(keys, false),
        rows: plan.row_lines(false),
        plan,
        database_note,
    })
}
