//! One writer at a time per config file, across processes: k2cse takes an exclusive lock on a
//! lock file next to the config (`.<file name>.k2cse-lock`) for the length of a save.
//!
//! Why a separate file: on Windows a lock on the config itself would be mandatory and would
//! stop the K2 service from reading it; a lock on a file nobody else opens blocks only other
//! k2cse processes. With the lock held, "the file is still what I loaded" and "rename the new
//! file over it" cannot interleave with another k2cse's save, so the later of two concurrent
//! saves is refused (`ChangedOnDisk`) instead of silently overwriting the first.
//!
//! The lock is advisory for programs that do not take it (editors, the vendor tool): their
//! writes are still caught by the fingerprint check, within the few milliseconds of the save.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::save::parent_dir;

/// How long a save waits for another k2cse's save to finish.
const WAIT: Duration = Duration::from_secs(10);

/// An exclusive lock on a config file, released when dropped.
#[derive(Debug)]
pub(crate) struct WriteLock {
    // Held for its lock; closing the file releases it (also when the process dies).
    _file: fs::File,
}

/// The lock file of `path`.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    parent_dir(path).join(format!(".{name}.k2cse-lock"))
}

impl WriteLock {
    /// Takes the lock of `path`, waiting up to 10 seconds for another k2cse to finish.
    pub(crate) fn acquire(path: &Path) -> Result<Self> {
        let lock = lock_path(path);
        let mut options = fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        // A link planted where the lock file goes is not followed (the open fails), and a new
        // lock file is owner-only from its creation (the mode is given to `open`).
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options
                .mode(0o600)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits().cast_signed());
        }
        let file = options
            .open(&lock)
            .map_err(|e| Error::io_op("opening the lock file", &lock, e))?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(fs::TryLockError::WouldBlock) if start.elapsed() < WAIT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(Error::Locked {
                        path: path.to_owned(),
                        lock,
                        seconds: WAIT.as_secs(),
                    });
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(Error::io_op("locking the lock file", &lock, e));
                }
            }
        }
    }

    /// Removes temporary files that killed k2cse processes left next to `path`: with the lock
    /// held, no live k2cse can be writing one.
    #[allow(
        clippy::unused_self,
        reason = "taking the lock is what makes the removal safe; the receiver proves it is held"
    )]
    pub(crate) fn remove_stale_temporaries(&self, path: &Path) {
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return;
        };
        let prefix = format!(".{name}.k2cse-");
        let Ok(entries) = fs::read_dir(parent_dir(path)) else {
            return;
        };
        for entry in entries.filter_map(std::result::Result::ok) {
            let file = entry.file_name().to_string_lossy().into_owned();
            // tempfile names them `<prefix><random>.tmp`, exactly.
            if file.starts_with(&prefix) && Path::new(&file).extension().is_some_and(|e| e == "tmp")
            {
                // Best effort: what cannot be removed now is tried again next time.
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_stale_temporaries_go() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("K2HostServer.exe.config");
        fs::write(&config, b"x").unwrap();
        let stale = dir.path().join(".K2HostServer.exe.config.k2cse-abc123.tmp");
        fs::write(&stale, b"half").unwrap();
        let other = dir.path().join(".other.config.k2cse-abc.tmp");
        fs::write(&other, b"not ours").unwrap();
        let held = WriteLock::acquire(&config).unwrap();
        // A second handle (as another process would have) cannot take it.
        let second = fs::OpenOptions::new()
            .write(true)
            .open(lock_path(&config))
            .unwrap();
        assert!(matches!(
            second.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        held.remove_stale_temporaries(&config);
        assert!(!stale.exists());
        assert!(other.exists(), "another file's temporaries are left alone");
        drop(held);
        assert!(second.try_lock().is_ok(), "released on drop");
    }
}
