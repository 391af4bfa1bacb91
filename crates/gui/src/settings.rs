//! What the whole app uses and no view owns: recent files, the key for encrypted sections,
//! where backup settings and secrets are read, and how lint dates are taken.

use std::path::PathBuf;

use k2cse_core::lint::LintOptions;
use k2cse_core::policy::Environment;
use k2cse_core::protect::KeyStore;

/// App-wide settings.
#[derive(Debug)]
pub struct Settings {
    /// Recent files, most recent first (persisted by eframe).
    pub recent: Vec<PathBuf>,
    /// Keys that open an encrypted section (a key file the user chose).
    pub keys: KeyStore,
    /// Where backup settings and secrets are read.
    pub env: Environment,
    /// The day dated lint rules compare against.
    pub lint: LintOptions,
}

impl Settings {
    /// Settings for a new window.
    pub fn new(env: Environment, lint: LintOptions) -> Self {
        Self {
            recent: Vec::new(),
            keys: KeyStore::new(None),
            env,
            lint,
        }
    }

    /// `path` was opened: it heads the recent files (at most eight).
    pub fn opened(&mut self, path: &std::path::Path) {
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_owned());
        self.recent.truncate(8);
    }
}
