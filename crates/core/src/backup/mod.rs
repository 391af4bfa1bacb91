//! Backups of a K2 configuration: the config file(s) exactly as on disk and the database's
//! `[HostServer].[Configuration]` rows exactly as stored, with a manifest that describes and
//! checksums every part. The format is documented in `docs/backup-format.md`.
//!
//! - [`Backup`]: the contents, built from sources or read (and verified) from a file;
//! - `archive`: the bytes on disk (a tar, optionally inside `age` passphrase encryption);
//! - [`BackupStore`]: the backup folder next to the config, naming, listing, retention;
//! - [`RestorePlan`]: what a restore would change, and the restore itself;
//! - [`RestoreRun`]: a restore under its journal, and the recovery of an interrupted one.

mod archive;
mod error;
mod journal;
mod restore;
mod run;
mod store;

use std::path::{Path, PathBuf};

use sha2::Digest as _;

pub use archive::Encryption;
pub use error::BackupError;
pub use journal::{InterruptedRestore, RestoreJournal, interrupted};
pub use restore::{CurrentRows, DatabaseRestore, FileRestore, Only, RestorePlan, RestoreReport};
pub use run::{Recovery, RestoreRun};
pub use store::{BackupStore, StoredBackup};
pub use store::{
    DEFAULT_KEEP, DIR_NAME, check_trusted_file, config_tag, is_encrypted_file, open, save_to,
};

use crate::db::{RawRow, TableShape};

/// The `format` field of every manifest.
pub const FORMAT: &str = "k2cse-backup";
/// The manifest's format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The table a database part holds.
pub const TABLE: &str = "[HostServer].[Configuration]";

/// Why a backup was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackupKind {
    /// `k2cse backup create`, or the GUI's "Back up now".
    Manual,
    /// Taken by k2cse before one of its own writes.
    Automatic,
    /// Taken before a restore overwrote the state it captures.
    PreRestore,
}

impl BackupKind {
    /// The name used in manifests and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Automatic => "automatic",
            Self::PreRestore => "pre-restore",
        }
    }

    /// Parses [`BackupKind::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Manual, Self::Automatic, Self::PreRestore]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// What a backup holds, stored as `manifest.json`, the archive's first member.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The k2cse version that wrote it.
    pub tool_version: String,
    /// UTC time, RFC 3339.
    pub created: String,
    /// The machine it was taken on.
    pub host: String,
    /// The account that took it, when known.
    pub user: Option<String>,
    /// Why it was taken.
    pub kind: BackupKind,
    /// What it was taken for, in words (`before k2cse set`, ...).
    pub reason: String,
    /// The config files, main file first.
    pub files: Vec<FilePart>,
    /// The database rows, when the backup includes them.
    pub database: Option<DatabasePart>,
}

/// One config file in a backup.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FilePart {
    /// Where the file was (absolute when it could be resolved).
    pub source: PathBuf,
    /// The archive member holding its bytes.
    pub part: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// The file declares a protected (encrypted) section: the backup holds it encrypted.
    pub encrypted_section: bool,
}

/// The database rows in a backup.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DatabasePart {
    /// Server as written in the connection string.
    pub server: String,
    /// Database name.
    pub database: String,
    /// Always [`TABLE`].
    pub table: String,
    /// The archive member holding the rows.
    pub part: String,
    /// Number of rows.
    pub rows: usize,
    /// Rows stored encrypted (`Encrypted = 1`), kept as ciphertext.
    pub encrypted_rows: usize,
    /// The table's column types when the rows were read (absent in backups made before
    /// k2cse read them: those assumed `varbinary(max)` and `bit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<TableShape>,
    /// Size of the member in bytes.
    pub size: u64,
    /// SHA-256 of the member, lower-case hex.
    pub sha256: String,
}

/// The database part's contents (`database/configuration.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DatabaseRows {
    /// Always [`TABLE`].
    pub table: String,
    /// Every row, values base64.
    pub rows: Vec<RawRow>,
}

/// A backup's contents, verified.
#[derive(Debug, Clone)]
pub struct Backup {
    manifest: Manifest,
    files: Vec<Vec<u8>>,
    rows: Option<Vec<RawRow>>,
}

impl Backup {
    /// An empty backup of `kind`, taken now on this machine.
    pub fn new(kind: BackupKind, reason: impl Into<String>) -> Self {
        Self {
            manifest: Manifest {
                format: FORMAT.into(),
                format_version: FORMAT_VERSION,
                tool_version: env!("CARGO_PKG_VERSION").into(),
                created: now_rfc3339(),
                host: host_name(),
                user: user_name(),
                kind,
                reason: reason.into(),
                files: Vec::new(),
                database: None,
            },
            files: Vec::new(),
            rows: None,
        }
    }

    /// Adds a config file's bytes, as read from `source`.
    #[must_use]
    pub fn with_file(mut self, source: &Path, bytes: Vec<u8>) -> Self {
        let name = source
            .file_name()
            .map_or_else(|| "config".to_owned(), |n| n.to_string_lossy().into_owned());
        let mut part = format!("files/{name}");
        let mut n = 1;
        while self.manifest.files.iter().any(|f| f.part == part) {
            n += 1;
            part = format!("files/{n}/{name}");
        }
        self.manifest.files.push(FilePart {
            source: std::path::absolute(source).unwrap_or_else(|_| source.to_owned()),
            part,
            size: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
            encrypted_section: memchr::memmem::find(&bytes, b"configProtectionProvider").is_some(),
        });
        self.files.push(bytes);
        self
    }

    /// Adds the database rows read from `database` on `server`.
    #[must_use]
    pub fn with_database(
        mut self,
        server: &str,
        database: &str,
        shape: &TableShape,
        rows: Vec<RawRow>,
    ) -> Self {
        self.manifest.database = Some(DatabasePart {
            server: server.into(),
            database: database.into(),
            table: TABLE.into(),
            part: "database/configuration.json".into(),
            rows: rows.len(),
            encrypted_rows: rows.iter().filter(|r| r.encrypted).count(),
            shape: Some(shape.clone()),
            // Filled in when the archive is encoded (the member's bytes are made then).
            size: 0,
            sha256: String::new(),
        });
        self.rows = Some(rows);
        self
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Each config file's manifest entry and bytes.
    pub fn files(&self) -> impl Iterator<Item = (&FilePart, &[u8])> {
        self.manifest
            .files
            .iter()
            .zip(self.files.iter().map(Vec::as_slice))
    }

    /// The database rows, when the backup has them.
    pub fn rows(&self) -> Option<&[RawRow]> {
        self.rows.as_deref()
    }

    /// Whether the backup holds anything at all.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.rows.is_none()
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The machine's name: what Windows and most shells export, else the kernel's.
fn host_name() -> String {
    ["COMPUTERNAME", "HOSTNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn user_name() -> Option<String> {
    ["USERNAME", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
}

/// Where a manifest's file goes back to: `onto` for the main file when given (a restore onto
/// another machine or path), the others next to it by name; else where they came from.
pub(crate) fn restore_target(file: &FilePart, index: usize, onto: Option<&Path>) -> PathBuf {
    match onto {
        None => file.source.clone(),
        Some(main) if index == 0 => main.to_owned(),
        Some(main) => main
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(file.source.file_name().unwrap_or_default()),
    }
}

/// Refuses to restore `backup` (at `path`) onto `target`, the config file in scope, when its
/// manifest says it was taken of another file: a backup planted in the folder, or one of
/// another config sharing it, must not write where it was not taken. `--to` overrides.
pub fn check_restore_target(path: &Path, backup: &Backup, target: &Path) -> crate::Result<()> {
    let Some(main) = backup.manifest().files.first() else {
        return Ok(());
    };
    let resolve = |p: &Path| {
        std::fs::canonicalize(p)
            .or_else(|_| std::path::absolute(p))
            .unwrap_or_else(|_| p.to_owned())
    };
    let same = if cfg!(windows) {
        resolve(&main.source).to_string_lossy().to_lowercase()
            == resolve(target).to_string_lossy().to_lowercase()
    } else {
        resolve(&main.source) == resolve(target)
    };
    if same {
        Ok(())
    } else {
        Err(BackupError::OtherFile {
            path: path.to_owned(),
            source_path: main.source.clone(),
            target: target.to_owned(),
        }
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_describes_each_part() {
        let backup = Backup::new(BackupKind::Manual, "test")
            .with_file(
                Path::new("K2HostServer.exe.config"),
                b"<configuration/>".to_vec(),
            )
            .with_file(Path::new("other/K2HostServer.exe.config"), b"x".to_vec());
        let m = backup.manifest();
        assert_eq!(m.format, FORMAT);
        assert_eq!(m.files[0].part, "files/K2HostServer.exe.config");
        assert_eq!(m.files[1].part, "files/2/K2HostServer.exe.config");
        assert_eq!(m.files[0].size, 16);
        assert_eq!(
            m.files[1].sha256,
            "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
        );
        assert!(m.files[0].source.is_absolute());
        assert!(!m.created.is_empty() && !m.host.is_empty());
    }
}
