//! The backup folder: where backups go (`k2cse-backups` next to the config unless configured),
//! what they are called, how they are listed and pruned.
//!
//! Names sort by time: `<UTC yyyymmddThhmmss.mmm>Z-<kind>[-n].k2cse.tar[.age]`, so that a
//! listing needs no file opened (encrypted backups cannot be opened without the passphrase).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use std::io::Read;

use sha2::Digest as _;
use xxhash_rust::xxh3::Xxh3;

use super::archive::{Encryption, MAX_BACKUP_BYTES, Member, is_encrypted, write_archive};
use super::{Backup, BackupError, BackupKind, FilePart};
use crate::error::{Error, Result};
use crate::save::{Fingerprint, sync_dir};

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
        let bytes = backup.encode(&self.dir, encryption)?;
        self.persist(backup.manifest().kind, encryption.is_some(), |file| {
            file.write_all(&bytes).map_err(|e| Error::io(&self.dir, e))
        })
    }

    /// The automatic backup of one file before k2cse replaces it, streamed from disk in one
    /// pass (never held in memory; its SHA-256 is computed on the way and the manifest follows
    /// it): refused with `ChangedOnDisk`, leaving nothing behind, unless what was read is
    /// exactly `expected`, what k2cse loaded.
    pub fn save_file(
        &self,
        source: &Path,
        expected: &Fingerprint,
        reason: &str,
        encryption: Option<&Encryption>,
    ) -> Result<PathBuf> {
        let mut file = fs::File::open(source).map_err(|e| Error::io(source, e))?;
        let part = format!(
            "files/{}",
            source
                .file_name()
                .map_or_else(|| "config".into(), |n| n.to_string_lossy())
        );
        self.persist(BackupKind::Automatic, encryption.is_some(), |out| {
            // Shared: the archive writer reads through it, then the manifest reads its digests.
            let hashing = std::cell::RefCell::new(Hashing::new(&mut file));
            let member = Member {
                name: part.clone(),
                size: expected.len(),
                data: Box::new(Shared(&hashing)),
            };
            let manifest = || {
                let hashing = hashing.borrow();
                // The copy must be what k2cse loaded: checked before the manifest vouches for it.
                if hashing.fingerprint() != *expected {
                    return Err(Error::ChangedOnDisk {
                        path: source.to_owned(),
                    });
                }
                let mut backup = Backup::new(BackupKind::Automatic, reason);
                backup.manifest.files.push(FilePart {
                    source: std::path::absolute(source).unwrap_or_else(|_| source.to_owned()),
                    part: part.clone(),
                    size: expected.len(),
                    sha256: hashing.sha256(),
                    encrypted_section: hashing.protected,
                });
                Ok(backup.manifest)
            };
            // Buffered: tar writes in small pieces (headers, 8 KiB copies).
            let mut buffered = std::io::BufWriter::with_capacity(256 * 1024, &mut *out);
            write_archive(&mut buffered, &self.dir, vec![member], manifest, encryption)?;
            buffered.flush().map_err(|e| Error::io(&self.dir, e))
        })
    }

    /// Creates a new backup file through `write` (into a temporary file, fsynced, then
    /// renamed to a fresh name; on error nothing is left behind).
    fn persist(
        &self,
        kind: BackupKind,
        encrypted: bool,
        write: impl FnOnce(&mut fs::File) -> Result<()>,
    ) -> Result<PathBuf> {
        let created = !self.dir.is_dir();
        create_private_dir(&self.dir)?;
        let result = self.persist_in(kind, encrypted, write);
        if result.is_err() && created {
            // Best effort: a folder made for a backup that was refused goes too (only if empty).
            let _ = fs::remove_dir(&self.dir);
        }
        result
    }

    fn persist_in(
        &self,
        kind: BackupKind,
        encrypted: bool,
        write: impl FnOnce(&mut fs::File) -> Result<()>,
    ) -> Result<PathBuf> {
        let stamp = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
            ))
            .unwrap_or_else(|_| "backup".to_owned());
        let extension = if encrypted { ENCRYPTED } else { PLAIN };
        let mut tmp = temp_in(&self.dir)?;
        write(tmp.as_file_mut())?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io(tmp.path(), e))?;
        for n in 1..1000 {
            let suffix = if n == 1 {
                String::new()
            } else {
                format!("-{n}")
            };
            let path = self
                .dir
                .join(format!("{stamp}-{}{suffix}{extension}", kind.as_str()));
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

/// A reader that fingerprints what passes through it, computes its SHA-256, and notices a
/// protected-section declaration (`configProtectionProvider`, also across read boundaries).
struct Hashing<R> {
    inner: R,
    xxh: Xxh3,
    sha: sha2::Sha256,
    len: u64,
    protected: bool,
    tail: Vec<u8>,
}

const PROTECTION_MARK: &[u8] = b"configProtectionProvider";

/// Reads through a shared [`Hashing`].
struct Shared<'a, R>(&'a std::cell::RefCell<Hashing<R>>);

impl<R: Read> Read for Shared<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            xxh: Xxh3::new(),
            sha: sha2::Sha256::new(),
            len: 0,
            protected: false,
            tail: Vec::new(),
        }
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::from_parts(self.len, self.xxh.digest128())
    }

    fn sha256(&self) -> String {
        self.sha
            .clone()
            .finalize()
            .iter()
            .fold(String::with_capacity(64), |mut s, b| {
                use std::fmt::Write as _;
                let _ = write!(s, "{b:02x}");
                s
            })
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        self.xxh.update(chunk);
        self.sha.update(chunk);
        self.len += n as u64;
        if !self.protected && n > 0 {
            let m = PROTECTION_MARK.len();
            self.tail.extend_from_slice(&chunk[..n.min(m)]);
            self.protected = memchr::memmem::find(&self.tail, PROTECTION_MARK).is_some()
                || memchr::memmem::find(chunk, PROTECTION_MARK).is_some();
            self.tail.clear();
            self.tail.extend_from_slice(&chunk[n.saturating_sub(m)..]);
        }
        Ok(n)
    }
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

/// Creates the folder owner-only when k2cse creates it: mode 0700 on Unix; on Windows a
/// protected DACL for the owner, `SYSTEM` and Administrators, inherited by the backups.
fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| Error::io(dir, e))?;
    // Best effort: where the file system has no ACLs (FAT, some shares) the folder keeps the
    // config folder's, which on a K2 server admits only administrators and the service account.
    let _ = crate::platform::restrict_to_owner(dir);
    Ok(())
}

/// A temporary file in `dir`: created owner-only (0600) on Unix by `tempfile`.
fn temp_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".k2cse-backup-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))
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
    fn streamed_file_backups_match_the_file_and_refuse_a_changed_one() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("K2HostServer.exe.config");
        // Bigger than one read buffer, with the protection marker across a buffer boundary.
        let mut bytes = vec![b'x'; 64 * 1024 - 10];
        bytes.extend_from_slice(b"configProtectionProvider=\"K2ConfigurationKey\"");
        bytes.extend(std::iter::repeat_n(b'y', 100_000));
        fs::write(&config, &bytes).unwrap();
        let store = BackupStore::for_config(&config, None);
        let expected = Fingerprint::of(&bytes);
        let fast = Encryption {
            passphrase: crate::secret::Secret::new("p"),
            work_factor: Some(10),
        };
        for encryption in [None, Some(&fast)] {
            let path = store
                .save_file(&config, &expected, "before test", encryption)
                .unwrap();
            let backup = super::super::open(&path, encryption.map(|e| &e.passphrase)).unwrap();
            let (part, restored) = backup.files().next().unwrap();
            assert_eq!(restored, bytes);
            assert!(part.encrypted_section);
            assert_eq!(part.sha256, super::super::sha256_hex(&bytes));
            assert_eq!(backup.manifest().reason, "before test");
        }
        let err = store
            .save_file(&config, &Fingerprint::of(b"other"), "x", None)
            .unwrap_err();
        assert!(matches!(err, Error::ChangedOnDisk { .. }), "{err}");
        assert_eq!(
            store.list().unwrap().len(),
            2,
            "the refused backup left nothing"
        );
        assert_eq!(
            fs::read_dir(store.dir()).unwrap().count(),
            2,
            "no temp file"
        );
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
