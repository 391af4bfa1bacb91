//! Temporary files k2cse is writing right now, so that an interrupted run (Ctrl-C) can remove
//! them at once instead of leaving full copies of the config behind. Front ends call
//! [`remove_all`] from their interrupt handler; the core itself installs no handler.
//!
//! Files left by runs that were killed outright are removed by the next run instead (see
//! `filelock` for the config's folder and `backup::store` for the backup folder).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A registered temporary file; dropping it unregisters the path (whatever became of the file:
/// renamed into place, or deleted by its owner).
#[derive(Debug)]
pub(crate) struct Registered(PathBuf);

/// Registers `path` as a temporary file being written.
pub(crate) fn register(path: &Path) -> Registered {
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(path.to_owned());
    Registered(path.to_owned())
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut live = LIVE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = live.iter().position(|p| p == &self.0) {
            live.swap_remove(i);
        }
    }
}

/// Deletes every temporary file being written (call it when the process is interrupted).
/// Returns how many were removed.
pub fn remove_all() -> usize {
    remove_matching(|_| true)
}

fn remove_matching(which: impl Fn(&Path) -> bool) -> usize {
    let live = LIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    live.iter()
        .filter(|p| which(p) && std::fs::remove_file(p).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_files_are_removed_on_request_and_forgotten_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.tmp");
        let b = dir.path().join("b.tmp");
        std::fs::write(&a, b"x").unwrap();
        std::fs::write(&b, b"x").unwrap();
        let ra = register(&a);
        drop(register(&b));
        // Only this test's folder: other tests' saves may be running in this process.
        assert_eq!(remove_matching(|p| p.starts_with(dir.path())), 1);
        assert!(!a.exists());
        assert!(b.exists(), "unregistered files are left alone");
        drop(ra);
    }
}
