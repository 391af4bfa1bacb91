//! The restore use case: a planned restore run under its journal, and the recovery of one that
//! was interrupted. Front ends plan (what would change), show, ask, then hand the plan here;
//! which backup a recovery restores, when a journal may go and which restores are refused
//! while one is pending are decided here, once.
//!
//! An interrupted restore (killed between the file's rename and the database's commit, or a
//! commit whose answer was lost) is resolved by restoring again: the same backup finishes it
//! (the plan holds only what still differs: the rows, or the file), the pre-restore backup
//! that restore took rolls it back. Either way, once the restore has completed, the journal
//! goes.

use std::path::{Path, PathBuf};

use super::journal::{RestoreJournal, remove};
use super::{BackupError, BackupStore, Encryption, InterruptedRestore, RestorePlan, RestoreReport};
use crate::db::Database;
use crate::error::{Error, Result};

/// What to do with an interrupted restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Restore the same backup again: what still differs is written.
    Finish,
    /// Restore the pre-restore backup that the interrupted restore took.
    RollBack,
}

/// Restores into one config's backup store, journaled.
#[derive(Debug)]
pub struct RestoreRun<'a> {
    store: &'a BackupStore,
    interrupted: Option<InterruptedRestore>,
}

impl<'a> RestoreRun<'a> {
    /// A run for `store`'s config; reads its journal, if an earlier restore left one.
    pub fn new(store: &'a BackupStore) -> Self {
        Self {
            store,
            interrupted: super::interrupted(store),
        }
    }

    /// The interrupted restore found, if any.
    pub fn interrupted(&self) -> Option<&InterruptedRestore> {
        self.interrupted.as_ref()
    }

    /// The backup a recovery restores.
    pub fn recovery_backup(&self, recovery: Recovery) -> Result<PathBuf> {
        let none = |message: &str| -> Error {
            BackupError::NothingToRestore {
                path: self.store.dir().to_owned(),
                message: message.into(),
            }
            .into()
        };
        let found = self
            .interrupted
            .as_ref()
            .ok_or_else(|| none("no interrupted restore of this config to recover"))?;
        match recovery {
            Recovery::Finish => Ok(found.backup.clone()),
            Recovery::RollBack => found.pre_restore.clone().ok_or_else(|| {
                none(
                    "the interrupted restore took no pre-restore backup, so it changed nothing: there is nothing to roll back (finish it instead, or restore another backup)",
                )
            }),
        }
    }

    /// Whether restoring `backup` resolves the interrupted restore: it is that restore's
    /// backup (finishing it) or its pre-restore backup (rolling it back).
    fn resolves(&self, backup: &Path) -> bool {
        let Some(found) = &self.interrupted else {
            return false;
        };
        let same = |a: &Path| same_file(a, backup);
        same(&found.backup) || found.pre_restore.as_deref().is_some_and(same)
    }

    /// Refuses a restore of another backup while an interrupted one is pending: its file and
    /// rows may not match, and a third state would make that worse to untangle.
    pub fn check_allowed(&self, backup: &Path) -> Result<()> {
        match &self.interrupted {
            Some(found) if !self.resolves(backup) => Err(BackupError::RestorePending {
                path: backup.to_owned(),
                message: found.message(),
            }
            .into()),
            _ => Ok(()),
        }
    }

    /// A plan that changes nothing: when it is the interrupted restore's own (or its
    /// rollback's), the state already agrees with it and the journal goes. Returns whether
    /// the interrupted restore is now resolved.
    pub fn settle_unchanged(&mut self, plan: &RestorePlan) -> bool {
        if plan.is_empty() && self.resolves(&plan.backup) {
            remove(self.store);
            self.interrupted = None;
            return true;
        }
        false
    }

    /// Restores `plan` (see [`RestorePlan::execute`]) under a journal written before anything
    /// changes. The journal goes when the restore ends, done or rolled back; it stays only when
    /// the outcome is unknown (the commit's answer lost), so the next run finishes it.
    pub async fn execute(
        &mut self,
        plan: &RestorePlan,
        db: Option<&mut Database>,
        encryption: Option<&Encryption>,
    ) -> Result<RestoreReport> {
        self.check_allowed(&plan.backup)?;
        let journal = RestoreJournal::begin(self.store, &plan.backup)?;
        let result = plan.execute(db, self.store, encryption).await;
        match &result {
            Err(Error::Backup(BackupError::CommitUnknown { .. })) => {
                // Kept on purpose: the next run reports it and can finish it.
                drop(journal);
            }
            Err(_) => {
                // Rolled back: the state is what it was before this restore. A pending
                // interrupted restore is still pending (this run's journal replaced it).
                match &self.interrupted {
                    Some(found) => journal.restore_record(found),
                    None => journal.finish(),
                }
            }
            Ok(_) => {
                journal.finish();
                self.interrupted = None;
            }
        }
        result
    }
}

/// Whether two paths name the same backup (the journal stores absolute paths).
fn same_file(a: &Path, b: &Path) -> bool {
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    a == b || matches!((canonical(a), canonical(b)), (Some(x), Some(y)) if x == y)
}
