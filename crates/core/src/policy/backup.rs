//! Where automatic backups go, how many are kept and whether they are encrypted.

use std::path::{Path, PathBuf};

use super::{Ask, BACKUP_DIR_VAR, BACKUP_KEEP_VAR, Environment, PolicyError, SecretLookup};
use crate::backup::{BackupStore, DEFAULT_KEEP, Encryption};
use crate::save::SaveOptions;

/// The backup policy of a front end.
#[derive(Debug, Clone)]
pub struct BackupPolicy {
    /// The backup folder; `None`: `k2cse-backups` next to the config.
    pub dir: Option<PathBuf>,
    /// Automatic backups kept (`0` keeps all; manual backups are never pruned).
    pub keep: usize,
    /// How automatic backups are encrypted: when a backup passphrase is in the environment
    /// or the keyring (never asked for: an automatic backup must not stop a write).
    pub encryption: Option<Encryption>,
}

impl BackupPolicy {
    /// The policy from the environment alone ([`BACKUP_DIR_VAR`], [`BACKUP_KEEP_VAR`], the
    /// backup passphrase): the GUI's; the CLI's flags override `dir` and `keep`.
    pub fn from_env(env: &Environment, secrets: &SecretLookup<'_>) -> Result<Self, PolicyError> {
        let keep = match env.var(BACKUP_KEEP_VAR) {
            None => DEFAULT_KEEP,
            Some(text) => text.trim().parse().map_err(|_| PolicyError::Keep(text))?,
        };
        Ok(Self::with(Self::dir_from_env(env), keep, env, secrets))
    }

    /// The backup folder [`BACKUP_DIR_VAR`] names (`None`: next to the config).
    pub fn dir_from_env(env: &Environment) -> Option<PathBuf> {
        env.var(BACKUP_DIR_VAR)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    }

    /// The policy with this folder and retention (the CLI's `--backup-dir` and `--keep`).
    pub fn with(
        dir: Option<PathBuf>,
        keep: usize,
        env: &Environment,
        secrets: &SecretLookup<'_>,
    ) -> Self {
        // Ask::Never never fails.
        let encryption = secrets
            .backup_passphrase(Ask::Never)
            .ok()
            .flatten()
            .map(|p| env.encryption_for(p));
        Self {
            dir,
            keep,
            encryption,
        }
    }

    /// The backup folder of `config`.
    pub fn store(&self, config: &Path) -> BackupStore {
        BackupStore::for_config(config, self.dir.as_deref())
    }

    /// How a write saves: the automatic backup, retention, and what the write is.
    pub fn save_options(&self, no_backup: bool, reason: &str) -> SaveOptions {
        SaveOptions {
            no_backup,
            backup_dir: self.dir.clone(),
            keep: self.keep,
            encryption: if no_backup {
                None
            } else {
                self.encryption.clone()
            },
            reason: reason.to_owned(),
            plaintext_backup: false,
        }
    }
}
