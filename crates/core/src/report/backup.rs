//! The JSON documents of `backup create|show|verify|restore`.

use std::path::Path;

use serde::Serialize;

use super::Schema;
use crate::backup::{Manifest, RestoreReport};

/// A backup file and what it holds: the body of `k2cse.backup/1`, `k2cse.backup-show/1` and
/// `k2cse.backup-verify/1`, which differ only in their schema name (what the command did).
#[derive(Debug, Serialize)]
pub struct BackupShown<'a> {
    /// The backup file.
    pub path: &'a Path,
    /// Whether every part was checked against its SHA-256 (a backup that fails is an error).
    pub verified: bool,
    /// Its manifest.
    pub manifest: &'a Manifest,
}

/// `k2cse.backup/1`: the backup `backup create` wrote.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct BackupCreatedReport<'a>(pub BackupShown<'a>);

impl Schema for BackupCreatedReport<'_> {
    const NAME: &'static str = "k2cse.backup/1";
}

/// `k2cse.backup-show/1`: a backup's manifest.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct BackupShowReport<'a>(pub BackupShown<'a>);

impl Schema for BackupShowReport<'_> {
    const NAME: &'static str = "k2cse.backup-show/1";
}

/// `k2cse.backup-verify/1`: a backup that verified.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct BackupVerifyReport<'a>(pub BackupShown<'a>);

impl Schema for BackupVerifyReport<'_> {
    const NAME: &'static str = "k2cse.backup-verify/1";
}

/// `k2cse.backup-restore/1`: what a restore would change (`dry_run`) or changed.
#[derive(Debug, Serialize)]
pub struct BackupRestoreReport<'a> {
    /// The backup restored from.
    pub backup: &'a Path,
    /// Whether nothing was written on purpose.
    pub dry_run: bool,
    /// Whether the backup differs from the current state.
    pub changed: bool,
    /// The unified diff of the file (masked unless revealed).
    pub diff: &'a str,
    /// One line per token added, changed or removed.
    pub rows: &'a [String],
    /// What the restore warns about (another server, another database...).
    pub warnings: &'a [String],
    /// After a restore: what it did (null when nothing was restored; before this struct the
    /// field was left out then).
    pub report: Option<&'a RestoreReport>,
    /// Whether an interrupted restore was resolved by this one.
    pub recovered: bool,
    /// What the administrator still has to do after a restore.
    pub next_steps: Vec<super::NextStep>,
}

impl Schema for BackupRestoreReport<'_> {
    const NAME: &'static str = "k2cse.backup-restore/1";
}
