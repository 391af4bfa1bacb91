//! The backup folder: where backups go (`k2cse-backups` next to the config unless configured),
//! what they are called, how they are listed and pruned.
//!
//! Names sort by time: `<UTC yyyymmddThhmmss.mmm>Z-<kind>[-n].k2cse.tar[.age]`, so that a
//! listing needs no file opened (encrypted backups cannot be opened without the passphrase).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::archive::{Encryption, MAX_BACKUP_BYTES, is_encrypted};
use super::{Backup, BackupError, BackupKind};
use crate::error::{Error, Result};

/// The folder name used next to the config file.
pub const DIR_NAME: &str = "k2cse-backups";
/// How many automatic backups are kept by default.
pub const DEFAULT_KEEP: usize = 20;

const PLAIN: &str = ".k2cse.tar";
const ENCRYPTED: &str = ".k2cse.tar.age";

/// A backup folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupStore {
    dir: PathBuf,
}

/// One backup file found in a folder, described from its name and size alone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredBackup {
    /// The file.
    pub path: PathBuf,
    /// When it was taken (UTC, from the name).
    pub created: String,
    /// Why it was taken (from the name).
    pub kind: BackupKind,
    /// Whether it is passphrase-encrypted.
    pub encrypted: bool,
    /// Size in bytes.
    pub size: u64,
    #[serde(skip)]
    sort_key: (String, u32),
}

impl BackupStore {
    /// The folder `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `dir` when given, else `k2cse-backups` next to `config`.
    pub fn for_config(config: &Path, dir: Option<&Path>) -> Self {
        match dir {
            Some(dir) => Self::new(dir),
            None => Self::new(
                config
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or_else(|| Path::new("."))
                    .join(DIR_NAME),
            ),
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `backup` into the folder under a new name and returns its path.
    pub fn save(&self, backup: &Backup, encryption: Option<&Encryption>) -> Result<PathBuf> {
        create_private_dir(&self.dir)?;
        let stamp = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
            ))
            .unwrap_or_else(|_| "backup".to_owned());
        let extension = if encryption.is_some() {
            ENCRYPTED
        } else {
            PLAIN
        };
        let kind = backup.manifest().kind.as_str();
        let bytes = backup.encode(&self.dir, encryption)?;
        let mut tmp = temp_in(&self.dir)?;
        tmp.write_all(&bytes)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| Error::io(tmp.path(), e))?;
        for n in 1..1000 {
            let suffix = if n == 1 {
                String::new()
            } else {
                format!("-{n}")
            };
            let path = self.dir.join(format!("{stamp}-{kind}{suffix}{extension}"));
            match tmp.persist_noclobber(&path) {
                Ok(_) => {
                    sync_dir(&self.dir);
                    return Ok(path);
                }
                Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => tmp = e.file,
                Err(e) => return Err(Error::io(&path, e.error)),
            }
        }
        Err(Error::io(
            &self.dir,
            std::io::Error::other("too many backups with the same timestamp"),
        ))
    }

    /// Every backup in the folder, oldest first. A folder that does not exist has none.
    pub fn list(&self) -> Result<Vec<StoredBackup>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&self.dir, e)),
        };
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(parsed) = parse_name(&name) {
                let size = entry.metadata().map_or(0, |m| m.len());
                found.push(StoredBackup {
                    path: entry.path(),
                    size,
                    ..parsed
                });
            }
        }
        found.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
        Ok(found)
    }

    /// Deletes the oldest automatic and pre-restore backups beyond the newest `keep` (`0`
    /// keeps all); manual backups are never pruned. Returns what was deleted.
    pub fn prune(&self, keep: usize) -> Result<Vec<PathBuf>> {
        if keep == 0 {
            return Ok(Vec::new());
        }
        let automatic: Vec<StoredBackup> = self
            .list()?
            .into_iter()
            .filter(|b| b.kind != BackupKind::Manual)
            .collect();
        let excess = automatic.len().saturating_sub(keep);
        let mut deleted = Vec::new();
        for backup in automatic.into_iter().take(excess) {
            fs::remove_file(&backup.path).map_err(|e| Error::io(&backup.path, e))?;
            deleted.push(backup.path);
        }
        if !deleted.is_empty() {
            sync_dir(&self.dir);
        }
        Ok(deleted)
    }
}

/// Writes a backup to a path of the user's choosing (`backup create --to`): owner-only,
/// never over an existing file.
pub fn save_to(path: &Path, backup: &Backup, encryption: Option<&Encryption>) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let bytes = backup.encode(path, encryption)?;
    let mut tmp = temp_in(dir)?;
    tmp.write_all(&bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist_noclobber(path)
        .map_err(|e| Error::io(path, e.error))?;
    sync_dir(dir);
    Ok(())
}

/// Reads and verifies the backup at `path`.
pub fn open(path: &Path, passphrase: Option<&crate::secret::Secret>) -> Result<Backup> {
    let len = fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    if len > MAX_BACKUP_BYTES {
        return Err(BackupError::TooLarge {
            path: path.to_owned(),
            limit: MAX_BACKUP_BYTES,
        }
        .into());
    }
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(Backup::decode(path, &bytes, passphrase)?)
}

/// Whether the backup at `path` is encrypted (reads its first bytes only).
pub fn is_encrypted_file(path: &Path) -> Result<bool> {
    use std::io::Read as _;
    let mut head = [0u8; 32];
    let mut file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let n = file.read(&mut head).map_err(|e| Error::io(path, e))?;
    Ok(is_encrypted(&head[..n]))
}

fn parse_name(name: &str) -> Option<StoredBackup> {
    let (stem, encrypted) = if let Some(stem) = name.strip_suffix(ENCRYPTED) {
        (stem, true)
    } else {
        (name.strip_suffix(PLAIN)?, false)
    };
    let (stamp, rest) = stem.split_once("Z-")?;
    let (kind, n) = match rest.rsplit_once('-') {
        Some((kind, n))
            if n.bytes().all(|b| b.is_ascii_digit()) && BackupKind::parse(kind).is_some() =>
        {
            (kind, n.parse().ok()?)
        }
        _ => (rest, 1),
    };
    let kind = BackupKind::parse(kind)?;
    let t = time::PrimitiveDateTime::parse(
        stamp,
        time::macros::format_description!(
            "[year][month][day]T[hour][minute][second].[subsecond digits:3]"
        ),
    )
    .ok()?;
    Some(StoredBackup {
        path: PathBuf::new(),
        created: format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        kind,
        encrypted,
        size: 0,
        sort_key: (stamp.to_owned(), n),
    })
}

/// Creates the folder, owner-only on Unix when k2cse creates it (on Windows it inherits the
/// config folder's ACL, which on a K2 server admits administrators and the service account).
fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| Error::io(dir, e))
}

/// A temporary file in `dir`: created owner-only (0600) on Unix by `tempfile`.
fn temp_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".k2cse-backup-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))
}

fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        // Best effort: makes the new name durable; the data itself was synced already.
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_sort_by_time_then_sequence() {
        let a = parse_name("20261128T113000.123Z-automatic.k2cse.tar").unwrap();
        let b = parse_name("20261128T113000.123Z-automatic-2.k2cse.tar").unwrap();
        let c = parse_name("20261128T113001.000Z-pre-restore.k2cse.tar.age").unwrap();
        assert!(a.sort_key < b.sort_key && b.sort_key < c.sort_key);
        assert_eq!(c.kind, BackupKind::PreRestore);
        assert!(c.encrypted && !a.encrypted);
        assert_eq!(a.created, "2026-11-28 11:30:00 UTC");
        assert!(parse_name("K2HostServer.exe.config").is_none());
        assert!(parse_name("20261128T113000.123Z-weird.k2cse.tar").is_none());
    }

    #[test]
    fn prune_keeps_the_newest_automatic_ones_and_every_manual_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = BackupStore::new(dir.path().join("b"));
        let manual = store
            .save(&Backup::new(BackupKind::Manual, "m"), None)
            .unwrap();
        let mut auto = Vec::new();
        for i in 0..4 {
            auto.push(
                store
                    .save(&Backup::new(BackupKind::Automatic, format!("a{i}")), None)
                    .unwrap(),
            );
        }
        assert_eq!(store.list().unwrap().len(), 5);
        let deleted = store.prune(2).unwrap();
        assert_eq!(deleted, auto[..2]);
        let left: Vec<_> = store.list().unwrap().into_iter().map(|b| b.path).collect();
        assert_eq!(left, [manual, auto[2].clone(), auto[3].clone()]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(store.dir()), 0o700);
            assert_eq!(mode(&left[0]), 0o600);
        }
    }
}
