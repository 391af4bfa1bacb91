//! The JSON documents front ends emit about what a use case did, one typed struct per schema.
//!
//! A schema emitted by several commands (`k2cse.write/1` by every file write and by `db pull`,
//! `k2cse.db-write/1` by `db set` and `db push`, `k2cse.secret/1` by `secret set` and
//! `secret delete`) is built from one struct, so that its field set cannot drift from one
//! command to the next: a field that does not apply is `null` (or empty), never left out.
//! Each document is serialised through [`Document`], which puts its `schema` name first.

use std::path::Path;

use serde::Serialize;

mod backup;
mod db;
mod next;
mod show;

pub use backup::{
    BackupCreatedReport, BackupRestoreReport, BackupShowReport, BackupShown, BackupVerifyReport,
};
pub use db::{
    DbDiscoverReport, DbDriftReport, DbStatusReport, DiscoveryShown, DriftShown, EntryMatch,
    TableShapeShown,
};
pub use next::{K2_SERVICE, NextStep};
pub use show::{ShowReport, ShownEntry, UnsetKey};

use crate::credentials::SecretKind;
use crate::lint::Diagnostic;
use crate::save::SavedFile;

/// A report with a fixed schema name.
pub trait Schema: Serialize {
    /// The `schema` field of the document, such as `k2cse.write/1`.
    const NAME: &'static str;

    /// The document to serialise: `{"schema": NAME, ...fields}`.
    fn document(&self) -> Document<'_, Self>
    where
        Self: Sized,
    {
        Document {
            schema: Self::NAME,
            body: self,
        }
    }
}

/// A report with its `schema` field first.
#[derive(Debug, Serialize)]
pub struct Document<'a, T> {
    schema: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

/// `k2cse.write/1`: what a write to the config file did (or, with `dry_run`, would do).
#[derive(Debug, Serialize)]
pub struct WriteReport<'a> {
    /// Whether nothing was written on purpose.
    pub dry_run: bool,
    /// Whether the changes change the file.
    pub changed: bool,
    /// With `dry_run`: whether a real run would be refused for introducing lint errors.
    pub would_refuse: bool,
    /// With `dry_run`: the unified diff.
    pub diff: Option<String>,
    /// Findings the changes introduce.
    pub introduced: &'a [Diagnostic],
    /// Findings the changes make go away.
    pub resolved: &'a [Diagnostic],
    /// The files written, each with its backup.
    pub files: &'a [SavedFile],
    /// The loud warning after a save that changed the section's encryption.
    pub warning: Option<&'a str>,
    /// What the administrator still has to do after a save (empty when nothing was written).
    pub next_steps: &'a [NextStep],
}

impl WriteReport<'_> {
    /// The report of a write that had nothing to change (`db pull` with everything in sync).
    #[must_use]
    pub fn unchanged(dry_run: bool) -> Self {
        WriteReport {
            dry_run,
            changed: false,
            would_refuse: false,
            diff: None,
            introduced: &[],
            resolved: &[],
            files: &[],
            warning: None,
            next_steps: &[],
        }
    }
}

impl Schema for WriteReport<'_> {
    const NAME: &'static str = "k2cse.write/1";
}

/// One token write of a [`DbWriteReport`].
#[derive(Debug, Serialize)]
pub struct TokenWritten<'a> {
    /// `update` or `create`.
    pub action: &'static str,
    /// The token's name.
    pub token: &'a str,
    /// Whether the value is stored encrypted.
    pub encrypted: bool,
}

/// An entry left out of a push because its token does not exist.
#[derive(Debug, Serialize)]
pub struct TokenSkipped<'a> {
    /// The entry's name.
    pub entry: &'a str,
    /// The token it is linked to (none when the entry has no link).
    pub token: Option<&'a str>,
}

/// `k2cse.db-write/1`: what a write to the database's tokens did (or would do).
#[derive(Debug, Serialize)]
pub struct DbWriteReport<'a> {
    /// Whether nothing was written on purpose.
    pub dry_run: bool,
    /// The token writes.
    pub writes: Vec<TokenWritten<'a>>,
    /// Entries whose token does not exist (empty when the command creates tokens).
    pub skipped_missing: Vec<TokenSkipped<'a>>,
    /// The automatic backup of the rows (none with a dry run or no backup).
    pub backup: Option<&'a Path>,
}

impl Schema for DbWriteReport<'_> {
    const NAME: &'static str = "k2cse.db-write/1";
}

/// `k2cse.secret/1`: a secret stored in or deleted from the keyring.
#[derive(Debug, Serialize)]
pub struct SecretReport<'a> {
    /// `set` or `delete`.
    pub action: &'static str,
    /// What the secret is for.
    pub kind: SecretKind,
    /// The account it belongs to.
    pub account: &'a str,
    /// The store's name.
    pub store: &'static str,
    /// For `delete`: whether there was a secret to delete (null for `set`).
    pub deleted: Option<bool>,
}

impl Schema for SecretReport<'_> {
    const NAME: &'static str = "k2cse.secret/1";
}

/// `k2cse.error/1`: why a command failed.
#[derive(Debug, Serialize)]
pub struct ErrorReport<'a> {
    /// The error.
    pub error: ErrorBody<'a>,
}

/// The body of an [`ErrorReport`].
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// The message, with its causes.
    pub message: String,
    /// The process's exit code.
    pub exit_code: u8,
    /// Where in the file, when the error is about a place.
    pub location: Option<&'a crate::Location>,
    /// The lint errors that refused a save.
    pub findings: Option<&'a [Diagnostic]>,
}

impl Schema for ErrorReport<'_> {
    const NAME: &'static str = "k2cse.error/1";
}

/// `k2cse.backup-list/1`: the backups in a folder.
#[derive(Debug, Serialize)]
pub struct BackupListReport<'a> {
    /// The backup folder.
    pub dir: &'a Path,
    /// Its backups.
    pub backups: &'a [crate::backup::StoredBackup],
}

impl Schema for BackupListReport<'_> {
    const NAME: &'static str = "k2cse.backup-list/1";
}

/// `k2cse.backup-prune/1`: what retention deleted.
#[derive(Debug, Serialize)]
pub struct BackupPruneReport<'a> {
    /// The backup folder.
    pub dir: &'a Path,
    /// Automatic backups kept.
    pub keep: usize,
    /// The files deleted.
    pub deleted: &'a [std::path::PathBuf],
}

impl Schema for BackupPruneReport<'_> {
    const NAME: &'static str = "k2cse.backup-prune/1";
}

/// One secret of a [`SecretStatusReport`].
#[derive(Debug, Serialize)]
pub struct SecretState<'a> {
    /// What the secret is for.
    pub kind: SecretKind,
    /// Its account.
    pub account: &'a str,
    /// Whether it is stored (null when the store could not say).
    pub stored: Option<bool>,
    /// Why the store could not say.
    pub error: Option<String>,
}

/// `k2cse.secret-status/1`: which secrets the keyring holds.
#[derive(Debug, Serialize)]
pub struct SecretStatusReport<'a> {
    /// The store's name.
    pub store: &'static str,
    /// The secrets k2cse would look up.
    pub secrets: Vec<SecretState<'a>>,
}

impl Schema for SecretStatusReport<'_> {
    const NAME: &'static str = "k2cse.secret-status/1";
}

/// A token as `db tokens` and `db get` show it: the value masked unless revealed.
#[derive(Debug, Serialize)]
pub struct TokenShown<'a> {
    /// The token's name.
    pub name: &'a str,
    /// Whether it is stored encrypted.
    pub encrypted: bool,
    /// Whether its value could be read (decrypted).
    pub readable: bool,
    /// The value for display (null when NULL or unreadable).
    pub value: Option<String>,
}

/// `k2cse.db-token/1`: one token.
#[derive(Debug, Serialize)]
pub struct DbTokenReport<'a> {
    /// The token.
    pub token: TokenShown<'a>,
}

impl Schema for DbTokenReport<'_> {
    const NAME: &'static str = "k2cse.db-token/1";
}

/// `k2cse.db-tokens/1`: the tokens.
#[derive(Debug, Serialize)]
pub struct DbTokensReport<'a> {
    /// The tokens.
    pub tokens: Vec<TokenShown<'a>>,
}

impl Schema for DbTokensReport<'_> {
    const NAME: &'static str = "k2cse.db-tokens/1";
}

/// `k2cse.rules/1`: the lint rules.
#[derive(Debug, Serialize)]
pub struct RulesReport {
    /// Every rule, with its code, name, severity and summary.
    pub rules: &'static [crate::lint::Rule],
}

impl Schema for RulesReport {
    const NAME: &'static str = "k2cse.rules/1";
}

/// `k2cse.key/1`: a protection provider, its key and whether it opens the section.
#[derive(Debug, Serialize)]
pub struct KeyReport<'a> {
    /// The provider as resolved.
    pub provider: &'a crate::protect::ProviderSpec,
    /// The provider the section names, when it is encrypted.
    pub section_encrypted_with: Option<&'a str>,
    /// Where the key comes from.
    pub key_source: &'a str,
    /// The RSA key's size.
    pub key_bits: Option<usize>,
    /// The public key's SHA-256.
    pub public_key_sha256: Option<&'a str>,
    /// Whether the private key is at hand (null without a key file).
    pub has_private_key: Option<bool>,
    /// Why the key could not be read.
    pub key_error: Option<&'a str>,
    /// Whether the key opens the section (null when not tried).
    pub opens_section: Option<bool>,
    /// Why it does not.
    pub open_error: Option<&'a str>,
}

impl Schema for KeyReport<'_> {
    const NAME: &'static str = "k2cse.key/1";
}

/// `k2cse.key-import/1`: a key imported into a container.
#[derive(Debug, Serialize)]
pub struct KeyImportReport<'a> {
    /// The key container.
    pub container: &'a str,
    /// Whether it is in the machine store.
    pub machine_store: bool,
    /// What the import did.
    pub outcome: crate::protect::ImportOutcome,
    /// The public key's SHA-256.
    pub public_key_sha256: String,
}

impl Schema for KeyImportReport<'_> {
    const NAME: &'static str = "k2cse.key-import/1";
}

/// `k2cse.key-export/1`: a container's key written to a file.
#[derive(Debug, Serialize)]
pub struct KeyExportReport<'a> {
    /// The key container.
    pub container: &'a str,
    /// Whether it is in the machine store.
    pub machine_store: bool,
    /// The file written.
    pub file: &'a Path,
    /// The public key's SHA-256.
    pub public_key_sha256: String,
}

impl Schema for KeyExportReport<'_> {
    const NAME: &'static str = "k2cse.key-export/1";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchanged_write_has_every_field_of_a_real_one() {
        let value = serde_json::to_value(WriteReport::unchanged(true).document()).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(value["schema"], "k2cse.write/1");
        for key in [
            "dry_run",
            "changed",
            "would_refuse",
            "diff",
            "introduced",
            "resolved",
            "files",
            "warning",
            "next_steps",
        ] {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
    }
}
