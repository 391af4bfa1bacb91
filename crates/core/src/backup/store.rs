//! The backup folder: where backups go (`k2cse-backups` next to the config unless configured),
//! what they are called, how they are listed and pruned.
//!
//! Names sort by time: `<UTC yyyymmddThhmmss.mmm>Z-<kind>[-n][.<config>].k2cse.tar[.age]`, so
//! that a listing needs no file opened (encrypted backups cannot be opened without the
//! passphrase). `<config>` is a tag of the config file's path (8 hex digits): retention and
//! `latest` work per config file, also when several configs share one folder. A new name never
//! sorts before an existing one, whatever the clock says (a clock set back would otherwise make
//! the newest backup look like the oldest, the first to be pruned).

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

/// A backup folder, seen from one config file (or from none: every backup in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupStore {
    dir: PathBuf,
    /// The tag of the config whose backups this store takes, lists as its own and prunes.
    scope: Option<String>,
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
    /// The tag of the config file it was taken for (`None`: taken by a version of k2cse that
    /// did not tag names, or for no config file).
    #[serde(skip)]
    pub config_tag: Option<String>,
    #[serde(skip)]
    sort_key: (String, u32),
}

impl BackupStore {
    /// The folder `dir`, for no particular config file.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            scope: None,
        }
    }

    /// The backups of `config`: in `dir` when given, else `k2cse-backups` next to `config`.
    pub fn for_config(config: &Path, dir: Option<&Path>) -> Self {
        let dir = match dir {
            Some(dir) => dir.to_owned(),
            None => config
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| Path::new("."))
                .join(DIR_NAME),
        };
        Self {
            dir,
            scope: (!config.as_os_str().is_empty()).then(|| config_tag(config)),
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The tag of the config file this store belongs to, if any.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Refuses a folder that someone else could have put backups in, as ssh's `StrictModes`
    /// refuses a key file: it must be owned by this user or an administrator (root) and not
    /// writable by group or others. A folder that does not exist yet is fine (k2cse creates
    /// it owner-only).
    pub fn check_trusted(&self) -> Result<()> {
        match fs::metadata(&self.dir) {
            Ok(m) => check_owner_and_mode(&self.dir, &m, "the backup folder"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&self.dir, e)),
        }
    }

    /// Writes `backup` into the folder under a new name and returns its path; or, when the
    /// newest backup of this config already holds exactly the same, returns that one (see
    /// [`Self::identical_newest`]).
    pub fn save(&self, backup: &Backup, encryption: Option<&Encryption>) -> Result<PathBuf> {
        let kind = backup.manifest().kind;
        if let Some(existing) = self.identical_newest(kind, |old| same_content(old, backup)) {
            return Ok(existing);
        }
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

    /// The newest backup of this config, when `same` says it holds what a new backup of
    /// `kind` would: identical consecutive backups are stored once. Only plain backups are
    /// compared (an encrypted one would cost a key derivation to open); a manual backup never
    /// reuses an automatic one, which retention may delete.
    pub(crate) fn identical_newest(
        &self,
        kind: BackupKind,
        same: impl FnOnce(&Backup) -> bool,
    ) -> Option<PathBuf> {
        let newest = self
            .list()
            .ok()?
            .into_iter()
            .rfind(|b| b.config_tag == self.scope)?;
        if newest.encrypted || (kind == BackupKind::Manual && newest.kind != BackupKind::Manual) {
            return None;
        }
        let old = open(&newest.path, None).ok()?;
        same(&old).then_some(newest.path)
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
        remove_stale_temporaries(&self.dir);
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
        let stamp = self.next_stamp()?;
        let extension = if encrypted { ENCRYPTED } else { PLAIN };
        let tag = self
            .scope
            .as_deref()
            .map_or_else(String::new, |t| format!(".{t}"));
        let (mut tmp, _interruptible) = temp_in(&self.dir)?;
        write(tmp.as_file_mut())?;
        // fsync 1 of a save with a backup: the archive's bytes are on disk before it gets its
        // name (else a crash can leave an empty or torn archive under a backup's name, and the
        // config it was taken for already replaced).
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io(tmp.path(), e))?;
        for n in 1..1000 {
            let suffix = if n == 1 {
                String::new()
            } else {
                format!("-{n}")
            };
            let path = self.dir.join(format!(
                "{stamp}Z-{}{suffix}{tag}{extension}",
                kind.as_str()
            ));
            match tmp.persist_noclobber(&path) {
                Ok(_) => {
                    // fsync 2: the archive's name is on disk before the caller replaces the
                    // config (else a crash can keep the new config and lose its backup's
                    // name). It cannot wait for the config folder's flush: that is another
                    // folder, and POSIX orders nothing between two folders' entries.
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

    /// A time stamp for a new backup: now, or just after the newest backup in the folder when
    /// the clock says otherwise (set back, or another machine's clock on a shared folder), so
    /// that name order stays creation order.
    fn next_stamp(&self) -> Result<String> {
        let format = time::macros::format_description!(
            "[year][month][day]T[hour][minute][second].[subsecond digits:3]"
        );
        let now = time::OffsetDateTime::now_utc();
        let mut when = time::PrimitiveDateTime::new(now.date(), now.time());
        if let Some(newest) = self.list()?.last()
            && let Ok(t) = time::PrimitiveDateTime::parse(&newest.sort_key.0, format)
            && t >= when
        {
            when = t + time::Duration::milliseconds(1);
        }
        Ok(when.format(format).unwrap_or_else(|_| "backup".to_owned()))
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

    /// The backups of this store's config file, oldest first: those tagged with it, and
    /// untagged ones (older versions of k2cse) that may be its. All of them for a store of no
    /// config file.
    pub fn list_own(&self) -> Result<Vec<StoredBackup>> {
        let mut all = self.list()?;
        if let Some(scope) = &self.scope {
            all.retain(|b| b.config_tag.as_ref().is_none_or(|t| t == scope));
        }
        Ok(all)
    }

    /// Deletes the oldest automatic and pre-restore backups of this store's config file beyond
    /// the newest `keep` (`0` keeps all); manual backups are never pruned, nor another config's
    /// (a shared folder), nor untagged ones of older versions that may be another config's.
    /// The newest backup is always kept: it holds the state before the last real change.
    pub fn prune(&self, keep: usize) -> Result<Vec<PathBuf>> {
        if keep == 0 {
            return Ok(Vec::new());
        }
        let automatic: Vec<StoredBackup> = self
            .list()?
            .into_iter()
            .filter(|b| b.kind != BackupKind::Manual && b.config_tag == self.scope)
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

/// Refuses a backup file (given by path) that someone else could have planted or altered.
pub fn check_trusted_file(path: &Path) -> Result<()> {
    let metadata = fs::metadata(path).map_err(|e| Error::io(path, e))?;
    check_owner_and_mode(path, &metadata, "the backup")
}

#[cfg(unix)]
fn check_owner_and_mode(path: &Path, metadata: &fs::Metadata, what: &str) -> Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let me = rustix::process::geteuid().as_raw();
    let why = if metadata.uid() != me && metadata.uid() != 0 {
        Some(format!(
            "{what} belongs to user id {}, not to you ({me}) or root",
            metadata.uid()
        ))
    } else if metadata.mode() & 0o002 != 0
        // Group-writable is refused unless the group is the user's own (a user private
        // group, as OpenSSH's StrictModes allows; Wine maps its owner-only ACLs to 770).
        || (metadata.mode() & 0o020 != 0 && metadata.gid() != rustix::process::getegid().as_raw())
    {
        Some(format!(
            "{what} is writable by others (mode {:o})",
            metadata.mode() & 0o777
        ))
    } else {
        None
    };
    match why {
        Some(why) => Err(BackupError::Untrusted {
            path: path.to_owned(),
            why,
        }
        .into()),
        None => Ok(()),
    }
}

/// On Windows: the owner and the DACL, read by `platform` and judged by `platform::acl`.
#[cfg(windows)]
fn check_owner_and_mode(path: &Path, _: &fs::Metadata, what: &str) -> Result<()> {
    match crate::platform::untrusted_on_windows(path, what) {
        Some(why) => Err(BackupError::Untrusted {
            path: path.to_owned(),
            why,
        }
        .into()),
        None => Ok(()),
    }
}

/// Neither Unix nor Windows: no ownership model to check.
#[cfg(not(any(unix, windows)))]
#[allow(
    clippy::unnecessary_wraps,
    reason = "the signature of the Unix check, which can fail"
)]
fn check_owner_and_mode(_: &Path, _: &fs::Metadata, _: &str) -> Result<()> {
    Ok(())
}

/// Whether two backups hold the same files (same sources, same bytes) and the same rows.
fn same_content(a: &Backup, b: &Backup) -> bool {
    let files = |x: &Backup| {
        x.manifest()
            .files
            .iter()
            .map(|f| (f.source.clone(), f.sha256.clone()))
            .collect::<Vec<_>>()
    };
    files(a) == files(b) && a.rows() == b.rows()
}

/// Writes a backup to a path of the user's choosing (`backup create --to`): owner-only,
/// never over an existing file.
pub fn save_to(path: &Path, backup: &Backup, encryption: Option<&Encryption>) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let bytes = backup.encode(path, encryption)?;
    let (mut tmp, _interruptible) = temp_in(dir)?;
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
    let bytes = crate::bounded::read(path, MAX_BACKUP_BYTES, "backup")?;
    Ok(Backup::decode(path, &bytes, passphrase)?)
}

/// Whether the backup at `path` is encrypted (reads its first bytes only).
pub fn is_encrypted_file(path: &Path) -> Result<bool> {
    use std::io::Read as _;
    let mut head = [0u8; 32];
    // Not a FIFO or device: opening one would block or never end.
    let metadata = fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !metadata.is_file() {
        crate::bounded::read(path, 0, "backup")?;
    }
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
    let (stem, config_tag) = match stem.rsplit_once('.') {
        Some((rest, tag))
            if tag.len() == 8
                && tag.bytes().all(|b| b.is_ascii_hexdigit())
                && rest.contains("Z-") =>
        {
            (rest, Some(tag.to_ascii_lowercase()))
        }
        _ => (stem, None),
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
        config_tag,
        sort_key: (stamp.to_owned(), n),
    })
}

/// The tag of a config file in backup names: 8 hex digits of a hash of its full path (the
/// link's target for a symbolic link; compared case-insensitively on Windows, as paths are).
pub fn config_tag(config: &Path) -> String {
    let full = fs::canonicalize(config)
        .or_else(|_| std::path::absolute(config))
        .unwrap_or_else(|_| config.to_owned());
    let text = full.to_string_lossy();
    let text = if cfg!(windows) {
        text.to_lowercase()
    } else {
        text.into_owned()
    };
    format!("{:08x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()) >> 32)
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
    builder
        .create(dir)
        .map_err(|e| Error::io_op("creating the backup folder", dir, e))?;
    // Best effort: where the file system has no ACLs (FAT, some shares) the folder keeps the
    // config folder's, which on a K2 server admits only administrators and the service account.
    let _ = crate::platform::restrict_to_owner(dir);
    Ok(())
}

const TEMP_PREFIX: &str = ".k2cse-backup-";

/// A temporary file in `dir`: created owner-only (0600) on Unix by `tempfile`, and locked
/// while it is written, so that [`remove_stale_temporaries`] can tell a live writer's file
/// from a killed one's. Registered for removal on Ctrl-C ([`crate::cleanup`]).
/// A temporary file in `dir`, registered for removal on Ctrl-C.
fn temp_in(dir: &Path) -> Result<(tempfile::NamedTempFile, crate::cleanup::Registered)> {
    let (tmp, registered) = crate::cleanup::create_registered(|| {
        tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .suffix(".tmp")
            .tempfile_in(dir)
    })
    .map_err(|e| Error::io_op("creating a temporary backup file in", dir, e))?;
    // Best effort: without the lock the file is still removed once it is old.
    let _ = tmp.as_file().try_lock();
    Ok((tmp, registered))
}

/// How long a temporary file must have been left alone before a later run removes it, even
/// when no lock tells that its writer is gone: longer than the moment between creating it and
/// locking it.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// Removes backup temporaries that killed or interrupted runs left in `dir`: those no live
/// k2cse holds locked and that have not been written to for a while. Best effort.
pub(crate) fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(std::result::Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        // tempfile names them `<prefix><random>.tmp`, exactly.
        if !(name.starts_with(TEMP_PREFIX)
            && Path::new(&name).extension().is_some_and(|e| e == "tmp"))
        {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= STALE_AFTER);
        let Ok(file) = fs::OpenOptions::new().read(true).open(entry.path()) else {
            continue;
        };
        // A live writer holds the lock: its file stays.
        if old && file.try_lock().is_ok() {
            let _ = fs::remove_file(entry.path());
        }
    }
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
    fn a_shared_folder_prunes_per_config_and_names_keep_their_config() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        let a = dir.path().join("a").join("K2HostServer.exe.config");
        let b = dir.path().join("b").join("K2HostServer.exe.config");
        let (sa, sb) = (
            BackupStore::for_config(&a, Some(&shared)),
            BackupStore::for_config(&b, Some(&shared)),
        );
        let mut taken = Vec::new();
        for i in 0..3u8 {
            for store in [&sa, &sb] {
                let backup =
                    Backup::new(BackupKind::Automatic, "x").with_file(Path::new("c"), vec![i]);
                taken.push(store.save(&backup, None).unwrap());
                store.prune(2).unwrap();
            }
        }
        let own = |s: &BackupStore| s.list_own().unwrap().len();
        assert_eq!(
            (own(&sa), own(&sb)),
            (2, 2),
            "each config keeps its newest 2"
        );
        assert_eq!(sa.list().unwrap().len(), 4);
        assert_eq!(sa.list_own().unwrap().last().unwrap().path, taken[4]);
        assert_eq!(sb.list_own().unwrap().last().unwrap().path, taken[5]);
        let parsed = parse_name(&taken[4].file_name().unwrap().to_string_lossy()).unwrap();
        assert_eq!(parsed.config_tag, Some(config_tag(&a)));
        assert_ne!(config_tag(&a), config_tag(&b));
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
                    .save(
                        &Backup::new(BackupKind::Automatic, format!("a{i}"))
                            .with_file(Path::new("x.config"), vec![i]),
                        None,
                    )
                    .unwrap(),
            );
        }
        assert_eq!(store.list().unwrap().len(), 5);
        let deleted = store.prune(2).unwrap();
        assert_eq!(deleted, auto[..2]);
        let left: Vec<_> = store.list().unwrap().into_iter().map(|b| b.path).collect();
        assert_eq!(left, [manual, auto[2].clone(), auto[3].clone()]);
        // The same contents again: stored once.
        let again =
            Backup::new(BackupKind::Automatic, "again").with_file(Path::new("x.config"), vec![3]);
        assert_eq!(store.save(&again, None).unwrap(), auto[3]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(store.dir()), 0o700);
            assert_eq!(mode(&left[0]), 0o600);
        }
    }
}
