//! What every command that reads a config needs: which file, and the display settings.

use std::path::PathBuf;

use std::io::Write as _;

use anyhow::Context as _;
use k2cse_core::Document;
use k2cse_core::backup::BackupStore;
use k2cse_core::config::discover_config;
use k2cse_core::policy::{BackupPolicy, Environment, SecretLookup};
use k2cse_core::protect::{KeyStore, RsaKey};
use k2cse_core::save::SaveOptions;

use crate::args::Global;
use crate::terminal::Terminal;

/// The resolved config file and output settings.
#[derive(Debug)]
#[allow(clippy::struct_excessive_bools, reason = "command-line flags")]
pub struct Context {
    /// The config file to work on.
    pub path: PathBuf,
    /// JSON output.
    pub json: bool,
    /// Show secrets.
    pub reveal: bool,
    /// Keys for encrypted sections.
    pub keys: KeyStore,
    /// The --key-file path, if given.
    pub key_file: Option<PathBuf>,
    /// Working on the demo copy (db commands then use a simulated K2 database).
    pub demo: bool,
    /// With --demo, the simulated K2 database, started by the first db command.
    #[cfg(feature = "simulator")]
    pub simulator: std::cell::OnceCell<k2cse_mssql_sim::Simulator>,
    /// `--backup-dir`.
    pub backup_dir: Option<PathBuf>,
    /// `--keep`.
    pub keep: usize,
    /// Where settings and secrets are read (the process environment).
    pub env: Environment,
    /// With --demo, the temporary folder holding the sample (removed on exit).
    _demo_dir: Option<tempfile::TempDir>,
}

impl Context {
    /// Resolves the config path from the flags (or sets up the demo copy).
    pub fn new(global: &Global) -> anyhow::Result<Self> {
        Self::build(global, false)
    }

    /// Like [`Context::new`], but without a config file to be found: backup commands that
    /// name their backup file work anywhere (the path is then empty).
    pub fn without_config(global: &Global) -> anyhow::Result<Self> {
        Self::build(global, true)
    }

    fn build(global: &Global, config_optional: bool) -> anyhow::Result<Self> {
        let (path, demo_dir) = if global.demo {
            let dir = tempfile::Builder::new()
                .prefix("k2cse-demo-")
                .tempdir()
                .context("creating a folder for the demo")?;
            let path = k2cse_core::sample::write_sample(dir.path())?;
            (path, Some(dir))
        } else {
            let cwd = std::env::current_dir().context("reading the current folder")?;
            let found = discover_config(global.config.as_deref(), &cwd, &|var| {
                std::env::var(var).ok()
            });
            match found {
                Ok(path) => (path, None),
                Err(k2cse_core::Error::ConfigNotFound { .. }) if config_optional => {
                    (PathBuf::new(), None)
                }
                Err(e) => return Err(e.into()),
            }
        };
        let env = Environment::process();
        let key = global
            .key_file
            .as_deref()
            .map(|path| load_key(path, &SecretLookup::open(&env, &Terminal)))
            .transpose()?;
        Ok(Self {
            path,
            json: global.json,
            reveal: global.reveal,
            keys: KeyStore::new(key),
            key_file: global.key_file.clone(),
            demo: global.demo,
            backup_dir: global.backup_dir.clone(),
            keep: global.keep,
            #[cfg(feature = "simulator")]
            simulator: std::cell::OnceCell::new(),
            env,
            _demo_dir: demo_dir,
        })
    }

    /// Loads the config file and, when its section is encrypted and a key is at hand
    /// (`--key-file`, or the OS key store on Windows), decrypts it.
    /// A DPAPI section is always tried: no key file can open it, so where the OS cannot (any
    /// machine but the one that encrypted it) the error says so, instead of asking for a key.
    pub fn load(&self) -> anyhow::Result<Document> {
        Ok(k2cse_core::config::open(&self.path, &self.keys)?.into_document()?)
    }
}

impl Context {
    /// Says on stderr when a restore of this config was interrupted (its journal is still
    /// there), with what to run to finish it or roll it back.
    pub fn warn_interrupted_restore(&self) {
        if self.path.as_os_str().is_empty() {
            return;
        }
        if let Some(found) = k2cse_core::backup::interrupted(&self.backup_store()) {
            let _ = writeln!(std::io::stderr().lock(), "WARNING: {}", found.message());
        }
    }

    /// The core's secret lookup, asking on the terminal.
    pub fn secrets(&self) -> SecretLookup<'_> {
        SecretLookup::open(&self.env, &Terminal)
    }

    /// The core's backup policy with `--backup-dir` and `--keep` (which clap reads from
    /// `K2CSE_BACKUP_DIR` and `K2CSE_BACKUP_KEEP` when not given).
    pub fn backup_policy(&self) -> BackupPolicy {
        BackupPolicy::with(
            self.backup_dir.clone(),
            self.keep,
            &self.env,
            &self.secrets(),
        )
    }

    /// The backup folder: `--backup-dir`, else `k2cse-backups` next to the config.
    pub fn backup_store(&self) -> BackupStore {
        BackupStore::for_config(&self.path, self.backup_dir.as_deref())
    }

    /// How a write saves: the automatic backup (encrypted when a backup passphrase is in the
    /// environment or the keyring), retention, and what the write is.
    pub fn save_options(&self, no_backup: bool, reason: &str) -> SaveOptions {
        self.backup_policy().save_options(no_backup, reason)
    }
}

/// Reads a key file, asking for the passphrase of a password-protected PEM key only then.
fn load_key(path: &std::path::Path, secrets: &SecretLookup<'_>) -> anyhow::Result<RsaKey> {
    let text =
        k2cse_core::bounded::read_to_string(path, 1024 * 1024, "key file").unwrap_or_default();
    let passphrase = if RsaKey::needs_passphrase(&text) {
        secrets.key_passphrase(path)
    } else {
        None
    };
    Ok(RsaKey::from_file_with_passphrase(
        path,
        passphrase.as_ref(),
    )?)
}
