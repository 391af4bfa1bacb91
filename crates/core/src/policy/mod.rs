//! Where a front end's settings and secrets come from, decided once for the CLI and the GUI:
//! the backup folder, retention and encryption, and the lookup chain of every password
//! (environment → OS keyring → a prompt the front end supplies).
//!
//! The front end only says how to ask ([`Asker`]) and which environment to read
//! ([`Environment`], the process's unless a test pins one); what is looked up where, and in
//! which order, lives here.

use std::collections::BTreeMap;

use crate::backup::Encryption;
use crate::credentials::{Keyring, KeyringError};
use crate::secret::Secret;

/// The backup folder (default: `k2cse-backups` next to the config).
pub const BACKUP_DIR_VAR: &str = "K2CSE_BACKUP_DIR";
/// How many automatic backups retention keeps (`0` keeps all).
pub const BACKUP_KEEP_VAR: &str = "K2CSE_BACKUP_KEEP";
/// The passphrase that encrypts backups.
pub const BACKUP_PASSPHRASE_VAR: &str = "K2CSE_BACKUP_PASSPHRASE";
/// scrypt's `log2 N` for new encrypted backups (tests lower it).
pub const BACKUP_SCRYPT_VAR: &str = "K2CSE_BACKUP_SCRYPT_LOG_N";
/// `platform` (default) or `mock` (an in-memory keyring, for tests and demos).
pub const KEYRING_VAR: &str = "K2CSE_KEYRING";
/// The SQL login's password.
pub const SQL_PASSWORD_VAR: &str = "K2CSE_SQL_PASSWORD";
/// The password that opens K2's database master key.
pub const MASTER_KEY_PASSWORD_VAR: &str = "K2CSE_MASTER_KEY_PASSWORD";
/// The passphrase of a password-protected key file.
pub const KEY_PASSPHRASE_VAR: &str = "K2CSE_KEY_PASSPHRASE";
/// The keyring account of the backup passphrase.
pub const BACKUP_ACCOUNT: &str = "backups";

/// Where settings are read: the process environment, or a fixed set (tests).
#[derive(Debug, Clone, Default)]
pub struct Environment {
    fixed: Option<BTreeMap<String, String>>,
}

impl Environment {
    /// The process environment.
    #[must_use]
    pub fn process() -> Self {
        Self::default()
    }

    /// Exactly these variables, whatever the process has.
    pub fn fixed<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        Self {
            fixed: Some(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// A variable's value; `None` when unset or not Unicode.
    pub fn var(&self, name: &str) -> Option<String> {
        match &self.fixed {
            Some(vars) => vars.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    /// The keyring [`KEYRING_VAR`] names: the platform's, or the in-memory mock.
    pub fn keyring(&self) -> Result<Keyring, PolicyError> {
        match self.var(KEYRING_VAR).as_deref() {
            Some("mock") => Ok(Keyring::mock()?),
            Some("platform") | None => Ok(Keyring::platform()?),
            Some(other) => Err(PolicyError::Keyring(other.to_owned())),
        }
    }

    /// How backups are encrypted with `passphrase`: the default cost unless
    /// [`BACKUP_SCRYPT_VAR`] sets it.
    pub fn encryption_for(&self, passphrase: Secret) -> Encryption {
        Encryption {
            passphrase,
            work_factor: self.var(BACKUP_SCRYPT_VAR).and_then(|v| v.parse().ok()),
        }
    }
}

/// What the front end does for a lookup: ask the user, and show a warning.
pub trait Asker {
    /// Asks for a secret without echo; `None` when it cannot ask (no terminal, no window).
    fn ask(&self, question: &str) -> Option<Secret>;
    /// Shows a warning that does not stop the work (a keyring that could not be read).
    fn warn(&self, message: &str);
}

/// A front end that never asks and drops warnings (automatic work in the background).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPrompt;

impl Asker for NoPrompt {
    fn ask(&self, _question: &str) -> Option<Secret> {
        None
    }

    fn warn(&self, _message: &str) {}
}

/// A policy setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// [`KEYRING_VAR`] names no store.
    #[error("K2CSE_KEYRING={0:?}: expected platform or mock")]
    Keyring(String),
    /// The keyring could not be opened.
    #[error(transparent)]
    KeyringFailed(#[from] KeyringError),
    /// [`BACKUP_KEEP_VAR`] is not a number.
    #[error("K2CSE_BACKUP_KEEP={0:?}: expected a number of backups (0 keeps all)")]
    Keep(String),
    /// A backup passphrase is needed and none was found or typed.
    #[error(
        "a backup passphrase is needed: set K2CSE_BACKUP_PASSPHRASE, store it with `k2cse secret set backup-passphrase`, or run on a terminal"
    )]
    PassphraseNeeded,
    /// The passphrase typed is empty.
    #[error("the passphrase is empty")]
    PassphraseEmpty,
    /// The passphrase typed twice differs.
    #[error("the passphrases differ; nothing was written")]
    PassphrasesDiffer,
}

/// Whether a backup passphrase lookup may end with a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Never ask (automatic backups must not stop a scripted write).
    Never,
    /// Ask once (opening an encrypted backup).
    Once,
    /// Ask twice and compare (a new encrypted backup).
    Confirmed,
}

mod backup;
mod secrets;

pub use backup::BackupPolicy;
pub use secrets::{SecretLookup, key_account};
