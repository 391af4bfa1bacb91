//! The vendor tool's "update database" as one use case: read the tokens, compare them with
//! the file's entries, plan the writes, back up the rows that will change, write them in one
//! checked transaction. Front ends ask (which entries, whether to create, confirmation) and
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

/// Reads the tokens, compares them with `entries` and writes the file's values into the
/// tokens that differ — after backing up the rows, when `backup` says where.
pub async fn push(
    db: &mut Database,
    entries: &[Entry],
    mapping: &Mapping,
    request: &PushRequest,
    backup: Option<RowBackup<'_>>,
) -> crate::Result<PushOutcome> {
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
    let skipped_missing = drifts
        .iter()
        .filter(|d| {
            d.state == DriftState::MissingInDatabase
                && !request.create
                && (request.only.is_empty()
                    || request
                        .only
                        .iter()
                        .any(|n| n.eq_ignore_ascii_case(&d.link.entry)))
        })
        .map(|d| d.link.entry.clone())
        .collect();
    let mut saved = None;
    if !writes.is_empty() && !request.dry_run {
        if let Some(b) = backup {
            let rows = db.raw_rows().await?;
            let status = db.status();
            let archive = Backup::new(BackupKind::Automatic, format!("before {}", b.reason))
                .with_database(&b.server, &status.database, &status.shape, rows);
            saved = Some(b.store.save(&archive, b.encryption)?);
            b.store.prune(b.keep)?;
        }
        db.write(&writes).await?;
    }
    Ok(PushOutcome {
        drifts,
        writes,
        skipped_missing,
        backup: saved,
    })
}
