//! The lookup chain of every secret k2cse needs: the environment, then the OS keyring, then
//! (where the front end can) a question.

use std::path::Path;

use super::{
    Ask, Asker, BACKUP_ACCOUNT, BACKUP_PASSPHRASE_VAR, Environment, KEY_PASSPHRASE_VAR,
    MASTER_KEY_PASSWORD_VAR, PolicyError, SQL_PASSWORD_VAR,
};
use crate::credentials::{Keyring, SecretKind};
use crate::db::{Authentication, Credentials, Target};
use crate::secret::Secret;

/// Finds secrets for one front end: its environment, its keyring, its way of asking.
pub struct SecretLookup<'a> {
    env: &'a Environment,
    keyring: Option<Keyring>,
    asker: &'a dyn Asker,
}

impl std::fmt::Debug for SecretLookup<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretLookup")
            .field("keyring", &self.keyring.as_ref().map(Keyring::name))
            .finish_non_exhaustive()
    }
}

impl<'a> SecretLookup<'a> {
    /// A lookup in `env` and `keyring` (none when it could not be opened), asking `asker`.
    pub fn new(env: &'a Environment, keyring: Option<Keyring>, asker: &'a dyn Asker) -> Self {
        Self {
            env,
            keyring,
            asker,
        }
    }

    /// A lookup in `env` and the keyring it names; a keyring that cannot be opened is a
    /// warning (the secret may not be needed).
    pub fn open(env: &'a Environment, asker: &'a dyn Asker) -> Self {
        let keyring = env.keyring().map_err(|e| asker.warn(&e.to_string())).ok();
        Self::new(env, keyring, asker)
    }

    /// The environment variable `var`, else the keyring's `kind` secret of `account`; keyring
    /// failures become a warning.
    pub fn find(&self, var: &str, kind: SecretKind, account: &str) -> Option<Secret> {
        if let Some(value) = self.env.var(var) {
            return Some(Secret::new(value));
        }
        match self.keyring.as_ref()?.get(kind, account) {
            Ok(secret) => secret,
            Err(e) => {
                self.asker.warn(&e.to_string());
                None
            }
        }
    }

    /// The credentials a connection to `target` may need: the SQL login's password (from the
    /// connection string, the environment, the keyring, or a question) and the master key's.
    pub fn credentials(&self, target: &Target) -> Credentials {
        let sql_password = match &target.authentication {
            Authentication::SqlLogin {
                password: Some(_), ..
            }
            | Authentication::Integrated => None,
            Authentication::SqlLogin {
                user,
                password: None,
            } => {
                let account = target.password_account().unwrap_or_default();
                self.find(SQL_PASSWORD_VAR, SecretKind::SqlPassword, &account)
                    .or_else(|| {
                        self.asker.ask(&format!(
                            "Password for SQL login {user} on {}: ",
                            target.server()
                        ))
                    })
            }
        };
        let master_key_password = self.find(
            MASTER_KEY_PASSWORD_VAR,
            SecretKind::MasterKeyPassword,
            &target.master_key_account(),
        );
        Credentials {
            sql_password,
            master_key_password,
        }
    }

    /// The passphrase of the password-protected key file `path`.
    pub fn key_passphrase(&self, path: &Path) -> Option<Secret> {
        self.find(
            KEY_PASSPHRASE_VAR,
            SecretKind::KeyFilePassphrase,
            &key_account(path),
        )
        .or_else(|| {
            self.asker
                .ask(&format!("Passphrase for {}: ", path.display()))
        })
    }

    /// The backup passphrase; with `ask` other than [`Ask::Never`], a question when neither
    /// the environment nor the keyring has it.
    pub fn backup_passphrase(&self, ask: Ask) -> Result<Option<Secret>, PolicyError> {
        if let Some(found) = self.find(
            BACKUP_PASSPHRASE_VAR,
            SecretKind::BackupPassphrase,
            BACKUP_ACCOUNT,
        ) {
            return Ok(Some(found));
        }
        if ask == Ask::Never {
            return Ok(None);
        }
        let first = self
            .asker
            .ask("Backup passphrase: ")
            .ok_or(PolicyError::PassphraseNeeded)?;
        if first.is_empty() {
            return Err(PolicyError::PassphraseEmpty);
        }
        if ask == Ask::Confirmed
            && self.asker.ask("Repeat the passphrase: ").as_ref() != Some(&first)
        {
            return Err(PolicyError::PassphrasesDiffer);
        }
        Ok(Some(first))
    }
}

/// The keyring account of a key file's passphrase: its absolute path.
pub fn key_account(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// Answers every question with `answer`, remembering the questions.
    struct Scripted {
        answer: Option<&'static str>,
        asked: RefCell<Vec<String>>,
    }

    impl Asker for Scripted {
        fn ask(&self, question: &str) -> Option<Secret> {
            self.asked.borrow_mut().push(question.to_owned());
            self.answer.map(Secret::new)
        }

        fn warn(&self, _message: &str) {}
    }

    fn scripted(answer: Option<&'static str>) -> Scripted {
        Scripted {
            answer,
            asked: RefCell::new(Vec::new()),
        }
    }

    #[test]
    fn the_environment_comes_first_then_the_keyring_then_the_question() {
        let keyring = Keyring::mock().unwrap();
        keyring
            .set(
                SecretKind::BackupPassphrase,
                BACKUP_ACCOUNT,
                &Secret::new("from keyring"),
            )
            .unwrap();
        let asker = scripted(Some("typed"));
        let env = Environment::fixed([(BACKUP_PASSPHRASE_VAR, "from env")]);
        let found = SecretLookup::new(&env, Some(keyring.clone()), &asker)
            .backup_passphrase(Ask::Once)
            .unwrap();
        assert_eq!(found.unwrap().expose(), "from env");
        let empty = Environment::fixed::<&str, &str>([]);
        let found = SecretLookup::new(&empty, Some(keyring), &asker)
            .backup_passphrase(Ask::Once)
            .unwrap();
        assert_eq!(found.unwrap().expose(), "from keyring");
        assert!(asker.asked.borrow().is_empty(), "nothing was asked yet");
        let found = SecretLookup::new(&empty, None, &asker)
            .backup_passphrase(Ask::Confirmed)
            .unwrap();
        assert_eq!(found.unwrap().expose(), "typed");
        assert_eq!(asker.asked.borrow().len(), 2, "asked twice to confirm");
    }

    #[test]
    fn an_automatic_lookup_never_asks() {
        let asker = scripted(Some("typed"));
        let empty = Environment::fixed::<&str, &str>([]);
        let lookup = SecretLookup::new(&empty, None, &asker);
        assert!(lookup.backup_passphrase(Ask::Never).unwrap().is_none());
        assert!(asker.asked.borrow().is_empty());
        let silent = scripted(None);
        let lookup = SecretLookup::new(&empty, None, &silent);
        assert!(matches!(
            lookup.backup_passphrase(Ask::Once),
            Err(PolicyError::PassphraseNeeded)
        ));
    }
}
