//! Writing files safely: refuse when the file changed since it was read, take a backup (an
//! archive in the backup folder, see [`crate::backup`]), and replace the file atomically so
//! that it is always either the old or the new version.

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::{Xxh3, xxh3_128};

use crate::backup::{BackupStore, DEFAULT_KEEP, Encryption};
use crate::error::{Error, Result};
use crate::filelock::WriteLock;

/// What a file's bytes were: size and a 128-bit XXH3 hash. It detects that a file changed
/// between loading and saving (someone else's edit); it is not a security measure.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    len: u64,
    hash: u128,
}

impl Fingerprint {
    /// Fingerprints `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            len: bytes.len() as u64,
            hash: xxh3_128(bytes),
        }
    }

    /// Fingerprints the bytes `parts` make one after the other.
    pub(crate) fn of_parts(parts: &[&[u8]]) -> Self {
        let mut hasher = Xxh3::new();
        for part in parts {
            hasher.update(part);
        }
        Self {
            len: parts.iter().map(|p| p.len() as u64).sum(),
            hash: hasher.digest128(),
        }
    }

    /// A fingerprint from a size and an XXH3-128 computed elsewhere (streaming readers).
    pub(crate) fn from_parts(len: u64, hash: u128) -> Self {
        Self { len, hash }
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The hash in lower-case hex.
    pub fn hex(&self) -> String {
        format!("{:032x}", self.hash)
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Fingerprint({} bytes, xxh3 {:032x})",
            self.len, self.hash
        )
    }
}

/// How to save: whether and where the automatic backup goes.
#[derive(Debug, Clone)]
pub struct SaveOptions {
    /// Skip the automatic backup (`--no-backup`).
    pub no_backup: bool,
    /// The backup folder; by default `k2cse-backups` next to the file.
    pub backup_dir: Option<PathBuf>,
    /// Automatic backups kept in the folder (`--keep`; `0` keeps all).
    pub keep: usize,
    /// Encrypt automatic backups with this passphrase.
    pub encryption: Option<Encryption>,
    /// What the write is, recorded in the backup's manifest (`k2cse set`, ...).
    pub reason: String,
    /// Accept an unencrypted backup of a section about to be encrypted (`--plaintext-backup`).
    pub plaintext_backup: bool,
}

impl Default for SaveOptions {
    fn default() -> Self {
        Self {
            no_backup: false,
            backup_dir: None,
            keep: DEFAULT_KEEP,
            encryption: None,
            reason: "k2cse save".into(),
            plaintext_backup: false,
        }
    }
}

impl SaveOptions {
    /// Saves that take no backup (a restore, which took its own first).
    pub fn without_backup() -> Self {
        Self {
            no_backup: true,
            ..Self::default()
        }
    }
}

/// What one save did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SavedFile {
    /// The file written.
    pub path: PathBuf,
    /// The backup of its previous contents, if one was taken.
    pub backup: Option<PathBuf>,
    /// Bytes written.
    pub bytes: u64,
    /// Why retention could not delete old backups after the save, if it could not (the save
    /// itself succeeded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune_error: Option<String>,
    /// What was written, for the next save's "changed on disk" check.
    #[serde(skip)]
    pub fingerprint: Fingerprint,
}

/// Replaces `path` with the concatenation of `parts`, provided the file on disk still matches
/// `expected` (`None`: the file must not exist yet).
///
/// Order of operations: take the file's write lock (one k2cse save at a time; stale temporary
/// files of killed runs are removed); then, at the same time, (a) read the current file,
/// hashing it and (unless disabled) copying it into a backup archive as it streams by, which
/// is flushed to disk and named (fsyncs 1 and 2, in the backup store), and (b) write the new
/// bytes to a temporary file in the same folder with the original permissions and flush it
/// (fsync 3); refuse if the file is not what was loaded; rename the temporary file over the
/// original; flush the folder (fsync 4). `--no-backup` needs only 3 and 4. Neither the old
/// nor the new file is held in memory a second time.
pub fn write_atomic(
    path: &Path,
    parts: &[&[u8]],
    expected: Option<&Fingerprint>,
    options: &SaveOptions,
) -> Result<SavedFile> {
    // Through a symbolic link the link's target is written (and the link kept): renaming a
    // new file over the link would replace the link and leave the real file stale.
    let resolved = resolve_links(path)?;
    let path = resolved.as_path();
    // One k2cse save of this file at a time: the check below and the rename cannot interleave
    // with another process's.
    let lock = WriteLock::acquire(path)?;
    lock.remove_stale_temporaries(path);
    let metadata = match fs::metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(path, e)),
    };
    // A handle on the file being replaced, and its size and time now: an edit another program
    // makes in place while this save runs lands in that file, and is found after the rename.
    let original = metadata.as_ref().and_then(|_| fs::File::open(path).ok());
    let stamp = original.as_ref().and_then(stamp_of);
    if metadata.is_some() != expected.is_some() {
        return Err(Error::ChangedOnDisk {
            path: path.to_owned(),
        });
    }
    // The new file's temporary copy is written and flushed to disk on a second thread while
    // this one checks the file on disk and takes the backup: the two flushes (the backup's and
    // the temporary file's) wait on the disk at the same time instead of one after the other.
    // Nothing is renamed until both are durable, so the order that crash safety needs (the
    // backup on disk before the config is replaced; the new bytes on disk before they get the
    // config's name) is unchanged. When the check or the backup fails, the temporary file is
    // deleted and nothing was replaced.
    let (backup, staged) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| stage(path, parts, metadata.as_ref()));
        let backup = match expected {
            Some(expected) => check_and_back_up(path, expected, options),
            None => Ok(None),
        };
        let staged = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (backup, staged)
    });
    let backup = backup?;
    let taken = backup.as_ref().map(|b| b.path.clone());
    let still_there = || same_file(path, original.as_ref());
    let fingerprint = match staged.and_then(|staged| staged.replace(path, &still_there)) {
        Ok(fingerprint) => fingerprint,
        Err(err) => {
            // The file was not written: a backup taken for this write goes too (it would only
            // push an older one out of retention), and nothing is pruned.
            if let Some(b) = backup.as_ref().filter(|b| b.fresh) {
                let _ = fs::remove_file(&b.path);
            }
            return Err(err);
        }
    };
    if let (Some(file), Some(before), Some(expected)) = (&original, stamp, expected)
        && stamp_of(file) != Some(before)
    {
        rescue_concurrent_edit(path, file, expected, options)?;
    }
    // Retention only once the write succeeded; its failure does not undo the save.
    let prune_error = backup
        .as_ref()
        .and_then(|b| b.store.prune(options.keep).err())
        .map(|e| e.to_string());
    Ok(SavedFile {
        path: path.to_owned(),
        backup: taken,
        bytes: fingerprint.len,
        prune_error,
        fingerprint,
    })
}

/// Size and modification time of an open file.
fn stamp_of(file: &fs::File) -> Option<(u64, std::time::SystemTime)> {
    let m = file.metadata().ok()?;
    Some((m.len(), m.modified().ok()?))
}

/// Whether `path` is still the file `original` has open (not replaced by another program's
/// rename since it was checked); else the save is refused.
#[cfg_attr(
    not(unix),
    allow(
        clippy::unnecessary_wraps,
        reason = "only Unix can compare file identities here; Windows' ReplaceFileW checks itself"
    )
)]
fn same_file(path: &Path, original: Option<&fs::File>) -> Result<()> {
    #[cfg(unix)]
    if let Some(original) = original {
        use std::os::unix::fs::MetadataExt as _;
        let (Ok(now), Ok(then)) = (fs::metadata(path), original.metadata()) else {
            return Err(Error::ChangedOnDisk {
                path: path.to_owned(),
            });
        };
        if (now.dev(), now.ino()) != (then.dev(), then.ino()) {
            return Err(Error::ChangedOnDisk {
                path: path.to_owned(),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (path, original);
    Ok(())
}

/// The file k2cse just replaced was written to by another program during the save (its size or
/// time changed): when its bytes are no longer what k2cse loaded, they are kept in a backup
/// and the save reports the conflict, so that the other program's edit is never lost silently.
fn rescue_concurrent_edit(
    path: &Path,
    file: &fs::File,
    expected: &Fingerprint,
    options: &SaveOptions,
) -> Result<()> {
    use std::io::{Seek as _, SeekFrom};
    let mut reader = file;
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    reader
        .take(crate::config::MAX_CONFIG_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if Fingerprint::of(&bytes) == *expected {
        return Ok(());
    }
    let store = BackupStore::for_config(path, options.backup_dir.as_deref());
    let backup = crate::backup::Backup::new(
        crate::backup::BackupKind::Automatic,
        "another program's edit, made while k2cse saved the file",
    )
    .with_file(path, bytes);
    let kept = store.save(&backup, options.encryption.as_ref())?;
    Err(Error::EditedDuringSave {
        path: path.to_owned(),
        kept,
    })
}

/// `path` with symbolic links resolved (the file a link points to, through any number of
/// links); a path that does not exist yet is kept as it is.
fn resolve_links(path: &Path) -> Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            fs::canonicalize(path).map_err(|e| Error::io(path, e))
        }
        _ => Ok(path.to_owned()),
    }
}

/// The automatic backup of one save.
struct TakenBackup {
    path: PathBuf,
    store: BackupStore,
    /// Taken by this save (not an identical earlier one reused).
    fresh: bool,
}

/// Checks that the file on disk is the one that was loaded and, unless disabled, backs it up
/// (a backup archive in the backup folder, streamed from disk, then retention).
fn check_and_back_up(
    path: &Path,
    expected: &Fingerprint,
    options: &SaveOptions,
) -> Result<Option<TakenBackup>> {
    let verify_only = || {
        let mut file =
            fs::File::open(path).map_err(|e| Error::io_op("opening to check it", path, e))?;
        verify(&mut file, path, expected)
    };
    if options.no_backup {
        return verify_only().map(|()| None);
    }
    let store = BackupStore::for_config(path, options.backup_dir.as_deref());
    store.check_trusted()?;
    // The newest backup already holds these bytes (a file changed back by hand, then edited
    // again): it is the backup of this write too.
    let source = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    if let Some(existing) = store.identical_newest(crate::backup::BackupKind::Automatic, |old| {
        old.rows().is_none()
            && matches!(old.files().collect::<Vec<_>>().as_slice(),
                    [(part, bytes)] if part.source == source && Fingerprint::of(bytes) == *expected)
    }) {
        verify_only()?;
        return Ok(Some(TakenBackup {
            path: existing,
            store,
            fresh: false,
        }));
    }
    let saved = store.save_file(
        path,
        expected,
        &format!("before {}", options.reason),
        options.encryption.as_ref(),
    )?;
    Ok(Some(TakenBackup {
        path: saved,
        store,
        fresh: true,
    }))
}

/// Reads `file` to the end, comparing it with `expected` (and copying it to `copy`).
fn verify(file: &mut fs::File, path: &Path, expected: &Fingerprint) -> Result<()> {
    let mut hasher = Xxh3::new();
    let mut len = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    if (Fingerprint {
        len,
        hash: hasher.digest128(),
    }) == *expected
    {
        Ok(())
    } else {
        Err(Error::ChangedOnDisk {
            path: path.to_owned(),
        })
    }
}

/// The new file, written to a temporary sibling of the config and flushed to disk, waiting to
/// be renamed over it.
struct Staged {
    tmp: tempfile::NamedTempFile,
    /// Registered for removal on Ctrl-C until the rename gives it the config's name.
    interruptible: crate::cleanup::Registered,
    fingerprint: Fingerprint,
}

/// Writes `parts` to a temporary sibling of `path` with the old file's owner and mode, and
/// flushes it to disk (fsync: else a crash after the rename can leave an empty or partial
/// file under the config's name, on file systems that write data after metadata).
fn stage(path: &Path, parts: &[&[u8]], metadata: Option<&fs::Metadata>) -> Result<Staged> {
    let dir = parent_dir(path);
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (mut tmp, interruptible) = crate::cleanup::create_registered(|| {
        tempfile::Builder::new()
            .prefix(&format!(".{file_name}.k2cse-"))
            .suffix(".tmp")
            .tempfile_in(dir)
    })
    .map_err(|e| Error::io_op("creating a temporary file in the folder", dir, e))?;
    let mut hasher = Xxh3::new();
    let mut len = 0u64;
    for part in parts {
        tmp.write_all(part)
            .map_err(|e| Error::io_op("writing the new file's temporary copy", tmp.path(), e))?;
        hasher.update(part);
        len += part.len() as u64;
    }
    if let Some(metadata) = metadata {
        copy_ownership_and_mode(tmp.as_file(), metadata);
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io_op("flushing the new file to disk", tmp.path(), e))?;
    Ok(Staged {
        tmp,
        interruptible,
        fingerprint: Fingerprint {
            len,
            hash: hasher.digest128(),
        },
    })
}

impl Staged {
    /// Renames the temporary file over `path` (after `still_there`, a last look that the file
    /// is still the one that was checked), then flushes the folder (fsync of the directory:
    /// else a crash can undo the rename, and the edit the user was told is saved vanishes).
    fn replace(self, path: &Path, still_there: &dyn Fn() -> Result<()>) -> Result<Fingerprint> {
        let Self {
            tmp,
            interruptible,
            fingerprint,
        } = self;
        still_there()?;
        let tmp = tmp.into_temp_path();
        crate::platform::replace_file(&tmp, path)
            .map_err(|e| Error::io_op("renaming the new file over the old one", path, e))?;
        // The temporary file now carries the config's name: nothing is left to delete.
        let _ = tmp.keep();
        drop(interruptible);
        sync_dir(parent_dir(path));
        Ok(fingerprint)
    }
}

pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Gives the new file the old one's permissions (and, on Unix, owner when we are allowed to),
/// so that the K2 service account can still read it. Set on the open handle (`fchmod`,
/// `fchown`), never by path: the name could be swapped for a link in between.
fn copy_ownership_and_mode(file: &fs::File, metadata: &fs::Metadata) {
    // Best effort: a failure leaves the default permissions of a new file (0600), which is safe.
    let _ = file.set_permissions(metadata.permissions());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let _ = std::os::unix::fs::fchown(file, Some(metadata.uid()), Some(metadata.gid()));
    }
}

/// Makes a rename durable (POSIX needs the directory flushed; Windows has no equivalent): the
/// last fsync of a save, and the second of a backup.
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::BackupKind;

    #[test]
    fn replaces_with_backup_and_keeps_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("K2HostServer.exe.config");
        fs::write(&path, b"old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        }
        let saved = write_atomic(
            &path,
            &[b"new"],
            Some(&Fingerprint::of(b"old")),
            &SaveOptions::default(),
        )
        .unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let backup = saved.backup.unwrap();
        assert_eq!(backup.parent().unwrap(), dir.path().join("k2cse-backups"));
        let opened = crate::backup::open(&backup, None).unwrap();
        let (part, bytes) = opened.files().next().unwrap();
        assert_eq!(bytes, b"old");
        assert_eq!(part.source, path);
        assert_eq!(opened.manifest().kind, BackupKind::Automatic);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o640
            );
        }
        // Nothing else is left behind: the config, the backup folder and the lock file.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn refuses_when_the_file_changed_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.config");
        fs::write(&path, b"someone else's edit").unwrap();
        let err = write_atomic(
            &path,
            &[b"ours"],
            Some(&Fingerprint::of(b"what we read")),
            &SaveOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::ChangedOnDisk { .. }));
        assert_eq!(fs::read(&path).unwrap(), b"someone else's edit");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no backup, no temp file (the config and its lock file)"
        );
    }

    #[test]
    fn every_save_gets_its_own_backup_and_retention_applies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.config");
        fs::write(&path, b"0").unwrap();
        let opts = SaveOptions {
            keep: 3,
            ..SaveOptions::default()
        };
        let mut backups = Vec::new();
        for i in 1..=5u8 {
            let old = [b'0' + i - 1];
            let saved =
                write_atomic(&path, &[&[b'0' + i]], Some(&Fingerprint::of(&old)), &opts).unwrap();
            backups.push(saved.backup.unwrap());
        }
        let store = BackupStore::for_config(&path, None);
        let left: Vec<_> = store.list().unwrap().into_iter().map(|b| b.path).collect();
        assert_eq!(left, backups[2..], "the newest 3 are kept");
        let newest = crate::backup::open(&backups[4], None).unwrap();
        assert_eq!(newest.files().next().unwrap().1, b"4");
    }

    #[test]
    fn a_clock_set_back_never_makes_the_new_backup_the_first_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.config");
        fs::write(&path, b"0").unwrap();
        let store = BackupStore::for_config(&path, None);
        // A backup taken while the clock was years ahead (the clock has since been fixed).
        let ahead = store
            .save(
                &crate::backup::Backup::new(BackupKind::Automatic, "future"),
                None,
            )
            .unwrap();
        let future = ahead.with_file_name(
            ahead
                .file_name()
                .unwrap()
                .to_string_lossy()
                .replacen("20", "29", 1),
        );
        fs::rename(&ahead, &future).unwrap();
        let opts = SaveOptions {
            keep: 1,
            ..SaveOptions::default()
        };
        let saved = write_atomic(&path, &[b"1"], Some(&Fingerprint::of(b"0")), &opts).unwrap();
        let backup = saved.backup.unwrap();
        assert!(backup.exists(), "the backup just taken is kept");
        let left: Vec<_> = store.list().unwrap().into_iter().map(|b| b.path).collect();
        assert_eq!(left, [backup], "it sorts newest; the skewed one was pruned");
    }

    #[test]
    fn identical_consecutive_backups_are_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.config");
        fs::write(&path, b"A").unwrap();
        let opts = SaveOptions::default();
        let first = write_atomic(&path, &[b"B"], Some(&Fingerprint::of(b"A")), &opts).unwrap();
        // Someone puts the file back by hand; the next k2cse write backs up "A" again.
        fs::write(&path, b"A").unwrap();
        let second = write_atomic(&path, &[b"C"], Some(&Fingerprint::of(b"A")), &opts).unwrap();
        assert_eq!(second.backup, first.backup);
        let store = BackupStore::for_config(&path, None);
        assert_eq!(store.list().unwrap().len(), 1);
        assert_eq!(fs::read(&path).unwrap(), b"C");
        // Different bytes get their own backup.
        let third = write_atomic(&path, &[b"D"], Some(&Fingerprint::of(b"C")), &opts).unwrap();
        assert_ne!(third.backup, first.backup);
        assert_eq!(store.list().unwrap().len(), 2);
    }

    #[test]
    fn temporaries_of_killed_runs_go_at_the_next_save_and_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.config");
        fs::write(&path, b"0").unwrap();
        let backups = dir.path().join(crate::backup::DIR_NAME);
        fs::create_dir(&backups).unwrap();
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_hours(1);
        let stale = backups.join(".k2cse-backup-killed.tmp");
        fs::write(&stale, b"a whole config").unwrap();
        fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
        // Another k2cse (sharing the folder) is writing this one right now: it holds the lock.
        let live = backups.join(".k2cse-backup-live.tmp");
        let held = fs::File::create(&live).unwrap();
        held.set_modified(hour_ago).unwrap();
        held.lock().unwrap();
        write_atomic(
            &path,
            &[b"1"],
            Some(&Fingerprint::of(b"0")),
            &SaveOptions::default(),
        )
        .unwrap();
        assert!(!stale.exists());
        assert!(live.exists());
    }

    #[test]
    #[cfg(unix)]
    fn a_symlinked_config_stays_a_link_and_its_target_gets_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let real_dir = dir.path().join("real");
        fs::create_dir(&real_dir).unwrap();
        let target = real_dir.join("K2HostServer.exe.config");
        fs::write(&target, b"old").unwrap();
        let link = dir.path().join("K2HostServer.exe.config");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(
            &link,
            &[b"new"],
            Some(&Fingerprint::of(b"old")),
            &SaveOptions::default(),
        )
        .unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(fs::read_link(&link).unwrap(), target);
    }

    #[test]
    #[cfg(unix)]
    fn a_link_planted_as_the_lock_file_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.config");
        fs::write(&path, b"0").unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::os::unix::fs::symlink(&elsewhere, crate::filelock::lock_path(&path)).unwrap();
        let err = write_atomic(
            &path,
            &[b"1"],
            Some(&Fingerprint::of(b"0")),
            &SaveOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert!(!elsewhere.exists(), "the link's target was not created");
        assert_eq!(fs::read(&path).unwrap(), b"0");
    }

    #[test]
    #[cfg(unix)]
    fn an_edit_made_in_place_during_a_save_is_never_lost_silently() {
        use std::os::unix::fs::MetadataExt as _;
        use std::time::{Duration, Instant};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.config");
        let old = vec![b'a'; 2 * 1024 * 1024];
        let new = vec![b'b'; 2 * 1024 * 1024];
        let opts = SaveOptions {
            no_backup: true,
            keep: 0,
            ..SaveOptions::default()
        };
        // How long one save takes here, to aim the other writer inside it.
        fs::write(&path, &old).unwrap();
        let start = Instant::now();
        write_atomic(&path, &[&new], Some(&Fingerprint::of(&old)), &opts).unwrap();
        let span = u64::try_from(start.elapsed().as_micros().max(1000)).unwrap();
        let (mut lost, mut caught, mut collisions) = (0, 0, 0);
        for i in 0..25u64 {
            fs::write(&path, &old).unwrap();
            let old_inode = fs::metadata(&path).unwrap().ino();
            let delay = Duration::from_micros((i * 7919) % (span + span / 4));
            let writer_path = path.clone();
            let writer = std::thread::spawn(move || {
                std::thread::sleep(delay);
                let mut f = fs::OpenOptions::new()
                    .write(true)
                    .open(&writer_path)
                    .unwrap();
                f.write_all(b"EDITED BY ANOTHER PROGRAM").unwrap();
                let inode = f.metadata().unwrap().ino();
                (inode, Instant::now())
            });
            let result = write_atomic(&path, &[&new], Some(&Fingerprint::of(&old)), &opts);
            let returned = Instant::now();
            let (inode, written) = writer.join().unwrap();
            if inode != old_inode || written > returned {
                continue; // landed in the new file, or after the save reported
            }
            collisions += 1;
            match result {
                Ok(_) => lost += 1,
                Err(Error::ChangedOnDisk { .. }) => caught += 1,
                Err(Error::EditedDuringSave { kept, .. }) => {
                    let kept = crate::backup::open(&kept, None).unwrap();
                    assert!(kept.files().next().unwrap().1.starts_with(b"EDITED BY"));
                    caught += 1;
                }
                Err(other) => panic!("{other}"),
            }
        }
        // The figures for docs/reliability.md (`cargo test -- --nocapture`).
        #[allow(
            clippy::print_stderr,
            reason = "the measured figures are the test's report"
        )]
        {
            eprintln!(
                "in-place edits during a save: {collisions} collisions, {caught} caught, {lost} lost"
            );
        }
        assert_eq!(
            lost, 0,
            "{lost} of {collisions} collisions lost silently ({caught} caught)"
        );
    }
}
