//! Writing files safely: refuse when the file changed since it was read, keep a backup, and
//! replace the file atomically so that it is always either the old or the new version.

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::{Xxh3, xxh3_128};

use crate::error::{Error, Result};

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

/// How to save.
#[derive(Debug, Clone, Default)]
pub struct SaveOptions {
    /// Skip the backup copy (`--no-backup`).
    pub no_backup: bool,
    /// Where backups go; by default next to the file.
    pub backup_dir: Option<PathBuf>,
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
    /// What was written, for the next save's "changed on disk" check.
    #[serde(skip)]
    pub fingerprint: Fingerprint,
}

/// Replaces `path` with the concatenation of `parts`, provided the file on disk still matches
/// `expected` (`None`: the file must not exist yet).
///
/// Order of operations, each step durable before the next: read the current file once,
/// hashing it and (unless disabled) copying it to a backup as it streams by; refuse if it is
/// not what was loaded; write the new bytes to a temporary file in the same folder with the
/// original permissions; flush it to disk; rename it over the original; flush the folder.
/// Neither the old nor the new file is held in memory a second time.
pub fn write_atomic(
    path: &Path,
    parts: &[&[u8]],
    expected: Option<&Fingerprint>,
    options: &SaveOptions,
) -> Result<SavedFile> {
    let metadata = match fs::metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(path, e)),
    };
    let backup = match (&metadata, expected) {
        (None, None) => None,
        (Some(metadata), Some(expected)) => check_and_back_up(path, metadata, expected, options)?,
        _ => {
            return Err(Error::ChangedOnDisk {
                path: path.to_owned(),
            });
        }
    };
    let mut hasher = Xxh3::new();
    for part in parts {
        hasher.update(part);
    }
    let fingerprint = Fingerprint {
        len: parts.iter().map(|p| p.len() as u64).sum(),
        hash: hasher.digest128(),
    };
    replace(path, parts, metadata.as_ref())?;
    Ok(SavedFile {
        path: path.to_owned(),
        backup,
        bytes: fingerprint.len,
        fingerprint,
    })
}

/// `<dir>/<file name>.<UTC timestamp>.bak`, then `-1`, `-2`, ... for saves in the same second.
fn backup_names(path: &Path, dir: &Path) -> impl Iterator<Item = PathBuf> {
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_else(|_| "backup".to_owned());
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = dir.to_owned();
    (0..1000).map(move |n| {
        let suffix = if n == 0 {
            String::new()
        } else {
            format!("-{n}")
        };
        dir.join(format!("{file_name}.{stamp}{suffix}.bak"))
    })
}

/// Checks that the file on disk is the one that was loaded and, unless disabled, backs it up.
///
/// The backup is a hard link when the file system allows it: free, instant, and once the new
/// file is renamed over the path, the link is the only name left for the old bytes (with their
/// permissions). Otherwise the file is copied. Either way the backup itself is verified
/// against the loaded fingerprint, so it holds exactly what k2cse read.
fn check_and_back_up(
    path: &Path,
    metadata: &fs::Metadata,
    expected: &Fingerprint,
    options: &SaveOptions,
) -> Result<Option<PathBuf>> {
    if options.no_backup {
        let mut file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
        return verify(&mut file, path, expected, None).map(|()| None);
    }
    let dir = options
        .backup_dir
        .clone()
        .unwrap_or_else(|| parent_dir(path).to_owned());
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    for candidate in backup_names(path, &dir) {
        match fs::hard_link(path, &candidate) {
            Ok(()) => {
                let mut linked =
                    fs::File::open(&candidate).map_err(|e| Error::io(&candidate, e))?;
                if let Err(err) = verify(&mut linked, path, expected, None) {
                    // Best effort: the link is a copy of someone else's edit, not our backup.
                    let _ = fs::remove_file(&candidate);
                    return Err(err);
                }
                sync_dir(&dir);
                return Ok(Some(candidate));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            // Links not supported here (another volume, FAT, permissions): copy instead.
            Err(_) => return copy_backup(path, &dir, metadata, expected).map(Some),
        }
    }
    Err(Error::io(
        &dir,
        std::io::Error::other("too many backups with the same timestamp"),
    ))
}

/// Streams the current file into a new backup file, verifying it on the way.
fn copy_backup(
    path: &Path,
    dir: &Path,
    metadata: &fs::Metadata,
    expected: &Fingerprint,
) -> Result<PathBuf> {
    let mut source = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".k2cse-backup-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    copy_ownership_and_mode(tmp.path(), metadata);
    verify(&mut source, path, expected, Some(tmp.as_file_mut()))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    for candidate in backup_names(path, dir) {
        // `persist_noclobber` never overwrites an older backup.
        match tmp.persist_noclobber(&candidate) {
            Ok(_) => {
                sync_dir(dir);
                return Ok(candidate);
            }
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => tmp = e.file,
            Err(e) => return Err(Error::io(&candidate, e.error)),
        }
    }
    Err(Error::io(
        dir,
        std::io::Error::other("too many backups with the same timestamp"),
    ))
}

/// Reads `file` to the end, comparing it with `expected` (and copying it to `copy`).
fn verify(
    file: &mut fs::File,
    path: &Path,
    expected: &Fingerprint,
    mut copy: Option<&mut fs::File>,
) -> Result<()> {
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
        if let Some(copy) = copy.as_mut() {
            copy.write_all(&buf[..n]).map_err(|e| Error::io(path, e))?;
        }
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

/// Writes `parts` to a temporary sibling of `path`, then renames it into place.
fn replace(path: &Path, parts: &[&[u8]], metadata: Option<&fs::Metadata>) -> Result<()> {
    let dir = parent_dir(path);
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}.k2cse-"))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let io = |e| Error::io(path, e);
    for part in parts {
        tmp.write_all(part).map_err(io)?;
    }
    if let Some(metadata) = metadata {
        copy_ownership_and_mode(tmp.path(), metadata);
    }
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    sync_dir(dir);
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Gives the new file the old one's permissions (and, on Unix, owner when we are allowed to),
/// so that the K2 service account can still read it.
fn copy_ownership_and_mode(path: &Path, metadata: &fs::Metadata) {
    // Best effort: a failure leaves the default permissions of a new file, which is safe.
    let _ = fs::set_permissions(path, metadata.permissions());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let _ = std::os::unix::fs::chown(path, Some(metadata.uid()), Some(metadata.gid()));
    }
}

/// Makes the rename durable (POSIX needs the directory flushed; Windows has no equivalent).
fn sync_dir(dir: &Path) {
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
        assert_eq!(fs::read(&backup).unwrap(), b"old");
        assert!(
            backup
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("K2HostServer.exe.config.20")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o640
            );
        }
        // Nothing else is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
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
            1,
            "no backup, no temp file"
        );
    }

    #[test]
    fn two_backups_in_one_second_get_distinct_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.config");
        fs::write(&path, b"1").unwrap();
        let opts = SaveOptions::default();
        let a = write_atomic(&path, &[b"2"], Some(&Fingerprint::of(b"1")), &opts).unwrap();
        let b = write_atomic(&path, &[b"3"], Some(&Fingerprint::of(b"2")), &opts).unwrap();
        assert_ne!(a.backup, b.backup);
        assert_eq!(fs::read(b.backup.unwrap()).unwrap(), b"2");
    }

    #[test]
    fn copied_backups_are_verified_and_named_like_linked_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.config");
        fs::write(&path, b"current").unwrap();
        let meta = fs::metadata(&path).unwrap();
        let backup = copy_backup(&path, dir.path(), &meta, &Fingerprint::of(b"current")).unwrap();
        assert_eq!(fs::read(&backup).unwrap(), b"current");
        assert!(
            backup
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("a.config.20")
        );
        let err = copy_backup(&path, dir.path(), &meta, &Fingerprint::of(b"other")).unwrap_err();
        assert!(matches!(err, Error::ChangedOnDisk { .. }));
        // The refused copy leaves nothing behind (its temp file is removed).
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
