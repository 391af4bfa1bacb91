//! The vendor tool's "update database" as one use case: read the tokens, compare them with
//! the file's entries, plan the writes ([`PushPlan`]), let the front end confirm, back up the
//! rows that will change, write them in one checked transaction (each value read back before
//! commit). Front ends ask (which entries, whether to create, confirmation) and
//! show; the sequence lives here once.

use std::path::PathBuf;

use super::link::{self, Drift, DriftState, Mapping};
use super::{Database, TokenWrite};
use crate::backup::{Backup, BackupKind, BackupStore, Encryption};
use crate::entry::Entry;

/// What to push.
#[derive(Debug, Clone, Default)]
pub struct PushRequest {
    /// Only these entries (all that differ when empty).
    pub only: Vec<String>,
    /// Also create tokens for entries that have none.
    pub create: bool,
    /// Plan only: read, compare, write nothing.
    pub dry_run: bool,
}

/// Where the rows are backed up before they are written.
#[derive(Debug)]
pub struct RowBackup<'a> {
    /// The backup folder.
    pub store: &'a BackupStore,
    /// Encrypt the backup with this passphrase.
    pub encryption: Option<&'a Encryption>,
    /// Automatic backups kept by retention.
    pub keep: usize,
    /// Server as written in the connection string (for the manifest).
    pub server: String,
    /// Why, for the manifest (`before <reason>`).
    pub reason: String,
}

impl RowBackup<'_> {
    /// Backs up every row of the configuration table (the automatic backup before any
    /// database write: a push, `db set`), then applies retention. Returns where it went.
    pub async fn take(self, db: &mut Database) -> crate::Result<PathBuf> {
        let rows = db.raw_rows().await?;
        let status = db.status();
        let archive = Backup::new(BackupKind::Automatic, format!("before {}", self.reason))
            .with_database(&self.server, &status.database, &status.shape, rows);
        let saved = self.store.save(&archive, self.encryption)?;
        self.store.prune(self.keep)?;
        Ok(saved)
    }
}

/// What a push planned and did.
#[derive(Debug, Clone)]
pub struct PushOutcome {
    /// The drift it started from.
    pub drifts: Vec<Drift>,
    /// The writes (made unless a dry run).
    pub writes: Vec<TokenWrite>,
    /// Entries without a token that were not created (`create` false).
    pub skipped_missing: Vec<String>,
    /// The automatic backup of the rows taken before writing.
    pub backup: Option<PathBuf>,
}

/// A planned push, like an [`crate::EditSession`] before its save: the front end shows
/// [`PushPlan::writes`] and asks, then [`PushPlan::execute`] backs up the rows, writes them
/// in one transaction (each value read back before commit) — or, for a dry run, nothing.
#[derive(Debug, Clone)]
pub struct PushPlan {
    request: PushRequest,
    drifts: Vec<Drift>,
    writes: Vec<TokenWrite>,
}

impl PushPlan {
    /// Reads the tokens, compares them with `entries` and plans the writes of `request`.
    pub async fn new(
        db: &mut Database,
        entries: &[Entry],
        mapping: &Mapping,
        request: &PushRequest,
    ) -> crate::Result<Self> {
        let tokens = db.tokens().await?;
        let drifts = link::drift(entries, &tokens, mapping);
        let status = db.status();
        let encrypt_new = status.use_sql_encryption == Some(true) && status.has_symmetric_key;
        let writes = link::push_plan(
            &drifts,
            &request.only,
            request.create,
            encrypt_new,
            &status.keys,
        )?;
        Ok(Self {
            request: request.clone(),
            drifts,
            writes,
        })
    }

    /// The drift the plan starts from.
    pub fn drifts(&self) -> &[Drift] {
        &self.drifts
    }

    /// The token writes it will make.
    pub fn writes(&self) -> &[TokenWrite] {
        &self.writes
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Selected entries without a token, left alone because the request does not create.
    pub fn skipped_missing(&self) -> Vec<&Drift> {
        self.drifts
            .iter()
            .filter(|d| {
                d.state == DriftState::MissingInDatabase
                    && !self.request.create
                    && (self.request.only.is_empty()
                        || self
                            .request
                            .only
                            .iter()
                            .any(|n| n.eq_ignore_ascii_case(&d.link.entry)))
            })
            .collect()
    }

    /// Backs up the rows (when `backup` says where) and writes, unless the request is a dry
    /// run or there is nothing to write.
    pub async fn execute(
        self,
        db: &mut Database,
        backup: Option<RowBackup<'_>>,
    ) -> crate::Result<PushOutcome> {
        let skipped_missing = self
            .skipped_missing()
            .iter()
            .map(|d| d.link.entry.clone())
            .collect();
        let mut saved = None;
        if !self.writes.is_empty() && !self.request.dry_run {
            if let Some(b) = backup {
                saved = Some(b.take(db).await?);
            }
            db.write(&self.writes).await?;
        }
        Ok(PushOutcome {
            drifts: self.drifts,
            writes: self.writes,
            skipped_missing,
            backup: saved,
        })
    }
}

/// Reads the tokens, compares them with `entries` and writes the file's values into the
/// tokens that differ — after backing up the rows, when `backup` says where: a plan executed
/// without a question (the Ansible module).
pub async fn push(
    db: &mut Database,
    entries: &[Entry],
    mapping: &Mapping,
    request: &PushRequest,
    backup: Option<RowBackup<'_>>,
) -> crate::Result<PushOutcome> {
    PushPlan::new(db, entries, mapping, request)
        .await?
        .execute(db, backup)
        .await
}
