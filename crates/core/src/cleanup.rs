//! Temporary files k2cse is writing right now, so that an interrupted run (Ctrl-C) can remove
//! them at once instead of leaving full copies of the config behind. Front ends call
//! [`remove_all`] from their interrupt handler; the core itself installs no handler.
//!
//! Files left by runs that were killed outright are removed by the next run instead (see
//! `filelock` for the config's folder and `backup::store` for the backup folder).

use std::io;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use tempfile::NamedTempFile;

static LIVE: Registry = Registry::new();

/// The temporary files being written, and whether the process is being interrupted.
#[derive(Debug)]
struct Registry(Mutex<Live>);

#[derive(Debug)]
struct Live {
    paths: Vec<PathBuf>,
    /// Set by [`remove_all`]: no temporary file is created after it (the process is ending).
    interrupted: bool,
}

/// A registered temporary file; dropping it unregisters the path (whatever became of the file:
/// renamed into place, or deleted by its owner).
#[derive(Debug)]
pub(crate) struct Registered {
    path: PathBuf,
    registry: &'static Registry,
}

/// Creates a temporary file with `create` and registers it, as one step as far as
/// [`remove_all`] can tell: an interrupt either comes first (then nothing is created, and the
/// process is ending) or finds the file registered. Creating and registering in two steps left
/// a moment in which Ctrl-C missed a new file, and so did creating one after the interrupt
/// handler had cleaned up (seen in CI: one run in 40 of `tests/ctrl_c.rs`).
pub(crate) fn create_registered(
    create: impl FnOnce() -> io::Result<NamedTempFile>,
) -> io::Result<(NamedTempFile, Registered)> {
    LIVE.create_registered(create)
}

/// Deletes every temporary file being written, and lets no new one be created (call it when
/// the process is interrupted). Returns how many were removed.
pub fn remove_all() -> usize {
    LIVE.interrupt()
}

impl Registry {
    const fn new() -> Self {
        Self(Mutex::new(Live {
            paths: Vec::new(),
            interrupted: false,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Live> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn create_registered(
        &'static self,
        create: impl FnOnce() -> io::Result<NamedTempFile>,
    ) -> io::Result<(NamedTempFile, Registered)> {
        // The lock is held while the file is created: `interrupt` waits for it.
        let mut live = self.lock();
        if live.interrupted {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "interrupted (Ctrl-C): no new temporary file",
            ));
        }
        let tmp = create()?;
        live.paths.push(tmp.path().to_owned());
        let registered = Registered {
            path: tmp.path().to_owned(),
            registry: self,
        };
        Ok((tmp, registered))
    }

    fn interrupt(&self) -> usize {
        let mut live = self.lock();
        live.interrupted = true;
        live.paths
            .iter()
            .filter(|p| std::fs::remove_file(p).is_ok())
            .count()
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut live = self.registry.lock();
        if let Some(i) = live.paths.iter().position(|p| p == &self.path) {
            live.paths.swap_remove(i);
        }
    }
}

/// Whether `path` is registered (tests).
#[cfg(test)]
fn is_registered(registry: &Registry, path: &std::path::Path) -> bool {
    registry.lock().paths.iter().any(|p| p == path)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Whether `tmp`'s file is gone once its handle is closed: Windows deletes an open file
    /// when its last handle closes, Linux at once. (`keep`, so that `NamedTempFile` does not
    /// delete it itself.)
    fn gone_after_close(tmp: NamedTempFile) -> bool {
        let (file, path) = tmp.keep().unwrap();
        drop(file);
        !path.exists()
    }

    fn temp_in(dir: &Path) -> impl FnOnce() -> io::Result<NamedTempFile> + '_ {
        move || tempfile::Builder::new().suffix(".tmp").tempfile_in(dir)
    }

    #[test]
    fn registered_files_are_removed_on_interrupt_and_none_is_created_after() {
        // A registry of this test's own: the process-wide one serves other tests' saves.
        let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
        let dir = tempfile::tempdir().unwrap();
        let (a, ra) = registry.create_registered(temp_in(dir.path())).unwrap();
        let (b, rb) = registry.create_registered(temp_in(dir.path())).unwrap();
        assert!(is_registered(registry, a.path()));
        drop(rb);
        assert!(!is_registered(registry, b.path()), "dropping unregisters");
        assert_eq!(registry.interrupt(), 1);
        assert!(gone_after_close(a));
        assert!(b.path().exists(), "unregistered files are left alone");
        let after = registry.create_registered(temp_in(dir.path()));
        assert_eq!(after.unwrap_err().kind(), io::ErrorKind::Interrupted);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "nothing new"
        );
        drop(ra);
    }

    #[test]
    fn an_interrupt_during_a_creation_waits_for_it_and_removes_the_file() {
        let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        let (created, go) = std::sync::mpsc::channel();
        let creator = std::thread::spawn(move || {
            registry.create_registered(|| {
                let tmp = tempfile::Builder::new().suffix(".tmp").tempfile_in(&path)?;
                created.send(()).unwrap();
                // The interrupt arrives now, between creating and registering.
                std::thread::sleep(std::time::Duration::from_millis(50));
                Ok(tmp)
            })
        });
        go.recv().unwrap();
        assert_eq!(registry.interrupt(), 1, "the file being created is removed");
        let (tmp, _registered) = creator.join().unwrap().unwrap();
        assert!(gone_after_close(tmp));
    }
}
