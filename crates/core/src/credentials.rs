//! Secrets k2cse keeps for the admin in the OS keyring (Windows Credential Manager, macOS
//! Keychain, the Linux kernel keyring), never in files.
//!
//! Each secret is an entry of service `k2cse` whose user is `<kind>:<account>`:
//!
//! | kind | account | used for |
//! |---|---|---|
//! | `sql-password` | `login@server` | the SQL login of `k2cse db` |
//! | `master-key-password` | `server/database` | `OPEN MASTER KEY` before `SCSSOKey` |
//! | `key-file-passphrase` | the key file's absolute path | password-protected PEM keys |
//!
//! Front ends choose the store: [`Keyring::platform`] for real use, [`Keyring::mock`] for
//! tests (in memory, per process).

use std::fmt;
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};

use crate::secret::Secret;

/// The keyring service name.
pub const SERVICE: &str = "k2cse";

/// What a secret is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretKind {
    /// A SQL login's password.
    SqlPassword,
    /// A database master key password.
    MasterKeyPassword,
    /// A PEM key file's passphrase.
    KeyFilePassphrase,
    /// The passphrase that encrypts backups.
    BackupPassphrase,
}

impl SecretKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [
        Self::SqlPassword,
        Self::MasterKeyPassword,
        Self::KeyFilePassphrase,
        Self::BackupPassphrase,
    ];

    /// The kind as written in commands and keyring entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SqlPassword => "sql-password",
            Self::MasterKeyPassword => "master-key-password",
            Self::KeyFilePassphrase => "key-file-passphrase",
            Self::BackupPassphrase => "backup-passphrase",
        }
    }
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The keyring could not be used.
#[derive(Debug, thiserror::Error)]
#[error("OS keyring: {message}")]
pub struct KeyringError {
    /// What failed (never the secret).
    pub message: String,
}

fn error(what: &str, e: &keyring_core::Error) -> KeyringError {
    KeyringError {
        message: format!("{what}: {e}"),
    }
}

/// A credential store.
#[derive(Clone)]
pub struct Keyring {
    store: Arc<CredentialStore>,
    name: &'static str,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("store", &self.name)
            .finish()
    }
}

impl Keyring {
    /// The platform's store.
    pub fn platform() -> Result<Self, KeyringError> {
        #[cfg(windows)]
        {
            let store = windows_native_keyring_store::Store::new()
                .map_err(|e| error("opening Windows Credential Manager", &e))?;
            Ok(Self {
                store,
                name: "Windows Credential Manager",
            })
        }
        #[cfg(target_os = "macos")]
        {
            let store = apple_native_keyring_store::keychain::Store::new()
                .map_err(|e| error("opening the macOS Keychain", &e))?;
            Ok(Self {
                store,
                name: "macOS Keychain",
            })
        }
        #[cfg(target_os = "linux")]
        {
            let store = linux_keyutils_keyring_store::Store::new()
                .map_err(|e| error("opening the Linux kernel keyring", &e))?;
            Ok(Self {
                store,
                name: "Linux kernel keyring",
            })
        }
        #[cfg(not(any(windows, target_os = "macos", target_os = "linux")))]
        {
            Err(KeyringError {
                message: "no keyring store for this operating system".into(),
            })
        }
    }

    /// An in-memory store (tests, `K2CSE_KEYRING=mock`).
    pub fn mock() -> Result<Self, KeyringError> {
        let store =
            keyring_core::mock::Store::new().map_err(|e| error("creating the mock store", &e))?;
        Ok(Self {
            store,
            name: "mock (in memory)",
        })
    }

    /// The store's name, for messages.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn entry(&self, kind: SecretKind, account: &str) -> Result<Entry, KeyringError> {
        Entry::new_in_store(&self.store, SERVICE, &format!("{kind}:{account}"))
            .map_err(|e| error("opening an entry", &e))
    }

    /// The secret, if stored.
    pub fn get(&self, kind: SecretKind, account: &str) -> Result<Option<Secret>, KeyringError> {
        match self.entry(kind, account)?.get_password() {
            Ok(p) => Ok(Some(Secret::new(p))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(error(&format!("reading {kind} for {account}"), &e)),
        }
    }

    /// Stores (or replaces) the secret.
    pub fn set(
        &self,
        kind: SecretKind,
        account: &str,
        secret: &Secret,
    ) -> Result<(), KeyringError> {
        self.entry(kind, account)?
            .set_password(secret.expose())
            .map_err(|e| error(&format!("storing {kind} for {account}"), &e))
    }

    /// Deletes the secret; `false` when there was none.
    pub fn delete(&self, kind: SecretKind, account: &str) -> Result<bool, KeyringError> {
        match self.entry(kind, account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(error(&format!("deleting {kind} for {account}"), &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_replace_delete_in_the_mock_store() {
        let keyring = Keyring::mock().unwrap();
        assert!(
            keyring
                .get(SecretKind::SqlPassword, "sa@sql01")
                .unwrap()
                .is_none()
        );
        keyring
            .set(SecretKind::SqlPassword, "sa@sql01", &Secret::new("one"))
            .unwrap();
        keyring
            .set(SecretKind::SqlPassword, "sa@sql01", &Secret::new("two"))
            .unwrap();
        assert_eq!(
            keyring
                .get(SecretKind::SqlPassword, "sa@sql01")
                .unwrap()
                .unwrap()
                .expose(),
            "two"
        );
        // Kinds and accounts are separate entries.
        assert!(
            keyring
                .get(SecretKind::MasterKeyPassword, "sa@sql01")
                .unwrap()
                .is_none()
        );
        assert!(
            keyring
                .get(SecretKind::SqlPassword, "sa@sql02")
                .unwrap()
                .is_none()
        );
        assert!(keyring.delete(SecretKind::SqlPassword, "sa@sql01").unwrap());
        assert!(!keyring.delete(SecretKind::SqlPassword, "sa@sql01").unwrap());
        assert_eq!(
            format!("{keyring:?}"),
            "Keyring { store: \"mock (in memory)\" }"
        );
    }
}
