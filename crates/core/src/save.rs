//! Writing files safely: refuse when the file changed since it was read, keep a backup, and
//! replace the file atomically so that it is always either the old or the new version.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// What a file's bytes were: size and SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct Fingerprint {
    len: u64,
    sha256: [u8; 32],
}

impl Fingerprint {
    /// Fingerprints `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            len: bytes.len() as u64,
            sha256: Sha256::digest(bytes).into(),
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

    /// The SHA-256 in lower-case hex.
    pub fn sha256_hex(&self) -> String {
        use std::fmt::Write as _;
        self.sha256
            .iter()
            .fold(String::with_capacity(64), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Fingerprint({} bytes, sha256 {})",
            self.len,
            &self.sha256_hex()[..12]
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
    /// SHA-256 of what was written.
    pub sha256: String,
}

/// Replaces `path` with `bytes`, provided the file on disk still matches `expected` (`None`:
/// the file must not exist yet).
///
/// Order of operations, each step durable before the next: check the current bytes, write a
/// backup copy of them, write the new bytes to a temporary file in the same folder with the
/// original permissions, flush it to disk, rename it over the original, flush the folder.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    expected: Option<&Fingerprint>,
    options: &SaveOptions,
) -> Result<SavedFile> {
    let current = match fs::read(path) {
        Ok(current) => Some(current),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(path, e)),
    };
    let unchanged = match (&current, expected) {
        (Some(current), Some(expected)) => Fingerprint::of(current) == *expected,
        (None, None) => true,
        _ => false,
    };
    if !unchanged {
        return Err(Error::ChangedOnDisk {
            path: path.to_owned(),
        });
    }
    let metadata = fs::metadata(path).ok();
    let backup = match (&current, options.no_backup) {
        (Some(current), false) => Some(write_backup(path, current, metadata.as_ref(), options)?),
        _ => None,
    };
    replace(path, bytes, metadata.as_ref())?;
    Ok(SavedFile {
        path: path.to_owned(),
        backup,
        bytes: bytes.len() as u64,
        sha256: Fingerprint::of(bytes).sha256_hex(),
    })
}

/// Writes `bytes` to a temporary sibling of `path`, then renames it into place.
fn replace(path: &Path, bytes: &[u8], metadata: Option<&fs::Metadata>) -> Result<()> {
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
    tmp.write_all(bytes).map_err(io)?;
    if let Some(metadata) = metadata {
        copy_ownership_and_mode(tmp.path(), metadata);
    }
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    sync_dir(dir);
    Ok(())
}

/// Copies the current bytes to `<backup dir>/<file name>.<UTC timestamp>.bak`.
fn write_backup(
    path: &Path,
    current: &[u8],
    metadata: Option<&fs::Metadata>,
    options: &SaveOptions,
) -> Result<PathBuf> {
    let dir = options
        .backup_dir
        .clone()
        .unwrap_or_else(|| parent_dir(path).to_owned());
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_else(|_| "backup".to_owned());
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut backup = dir.join(format!("{file_name}.{stamp}.bak"));
    let mut n = 1;
    while backup.exists() {
        backup = dir.join(format!("{file_name}.{stamp}-{n}.bak"));
        n += 1;
    }
    replace(&backup, current, metadata)?;
    Ok(backup)
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
            b"new",
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
            b"ours",
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
        let a = write_atomic(&path, b"2", Some(&Fingerprint::of(b"1")), &opts).unwrap();
        let b = write_atomic(&path, b"3", Some(&Fingerprint::of(b"2")), &opts).unwrap();
        assert_ne!(a.backup, b.backup);
        assert_eq!(fs::read(b.backup.unwrap()).unwrap(), b"2");
    }
}
