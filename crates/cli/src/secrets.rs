//! Where the CLI finds passwords, in order: the connection string, an environment variable,
//! the OS keyring, and (for the SQL login, on a terminal) a prompt. `k2cse secret` manages the
//! keyring entries.

use std::io::{self, BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;

use anyhow::Context as _;
use k2cse_core::credentials::{Keyring, SecretKind};
use k2cse_core::db::{Authentication, Credentials, Target};
use k2cse_core::report::{Schema as _, SecretReport};
use k2cse_core::secret::Secret;
use serde_json::json;

use crate::args::{SecretCommand, SecretKindArg};
use crate::context::Context;
use crate::render::write_json;
use crate::{Outcome, UsageError};

/// The keyring the CLI uses: the platform's, or an in-memory one with `K2CSE_KEYRING=mock`
/// (tests and demos).
pub fn keyring() -> anyhow::Result<Keyring> {
    match std::env::var("K2CSE_KEYRING").as_deref() {
        Ok("mock") => Ok(Keyring::mock()?),
        Ok("platform") | Err(_) => Ok(Keyring::platform()?),
        Ok(other) => Err(UsageError(format!(
            "K2CSE_KEYRING={other:?}: expected platform or mock"
        ))
        .into()),
    }
}

fn kind(arg: SecretKindArg) -> SecretKind {
    match arg {
        SecretKindArg::SqlPassword => SecretKind::SqlPassword,
        SecretKindArg::MasterKeyPassword => SecretKind::MasterKeyPassword,
        SecretKindArg::KeyFilePassphrase => SecretKind::KeyFilePassphrase,
        SecretKindArg::BackupPassphrase => SecretKind::BackupPassphrase,
    }
}

/// A secret from the environment variable `var`, else the keyring; keyring failures become a
/// warning (the secret may not be needed).
fn lookup(var: &str, kind: SecretKind, account: &str, keyring: Option<&Keyring>) -> Option<Secret> {
    if let Ok(value) = std::env::var(var) {
        return Some(Secret::new(value));
    }
    match keyring?.get(kind, account) {
        Ok(secret) => secret,
        Err(e) => {
            let _ = writeln!(io::stderr(), "warning: {e}");
            None
        }
    }
}

/// The credentials a connection to `target` may need.
pub fn credentials(target: &Target) -> Credentials {
    let keyring = match keyring() {
        Ok(k) => Some(k),
        Err(e) => {
            let _ = writeln!(io::stderr(), "warning: {e:#}");
            None
        }
    };
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
            lookup(
                "K2CSE_SQL_PASSWORD",
                SecretKind::SqlPassword,
                &account,
                keyring.as_ref(),
            )
            .or_else(|| {
                prompt(&format!(
                    "Password for SQL login {user} on {}: ",
                    target.server()
                ))
            })
        }
    };
    let master_key_password = lookup(
        "K2CSE_MASTER_KEY_PASSWORD",
        SecretKind::MasterKeyPassword,
        &target.master_key_account(),
        keyring.as_ref(),
    );
    Credentials {
        sql_password,
        master_key_password,
    }
}

/// The passphrase of a password-protected key file: `K2CSE_KEY_PASSPHRASE`, the keyring, or a
/// prompt on a terminal.
pub fn key_passphrase(path: &Path) -> Option<Secret> {
    let account = key_account(path);
    let keyring = keyring().ok();
    lookup(
        "K2CSE_KEY_PASSPHRASE",
        SecretKind::KeyFilePassphrase,
        &account,
        keyring.as_ref(),
    )
    .or_else(|| prompt(&format!("Passphrase for {}: ", path.display())))
}

/// Asks on the terminal without echo; `None` when standard input is not a terminal.
fn prompt(text: &str) -> Option<Secret> {
    if !io::stdin().is_terminal() {
        return None;
    }
    rpassword::prompt_password(text).ok().map(Secret::new)
}

/// The keyring account of the backup passphrase.
pub const BACKUP_ACCOUNT: &str = "backups";

/// The backup passphrase from `K2CSE_BACKUP_PASSPHRASE` or the keyring; with `ask`, else a
/// prompt on a terminal (`confirm`: asked twice, for a new backup).
pub fn backup_passphrase(ask: bool, confirm: bool) -> anyhow::Result<Option<Secret>> {
    let keyring = keyring().ok();
    if let Some(found) = lookup(
        "K2CSE_BACKUP_PASSPHRASE",
        SecretKind::BackupPassphrase,
        BACKUP_ACCOUNT,
        keyring.as_ref(),
    ) {
        return Ok(Some(found));
    }
    if !ask {
        return Ok(None);
    }
    let Some(first) = prompt("Backup passphrase: ") else {
        return Err(UsageError(
            "a backup passphrase is needed: set K2CSE_BACKUP_PASSPHRASE, store it with `k2cse secret set backup-passphrase`, or run on a terminal".into(),
        )
        .into());
    };
    if first.is_empty() {
        return Err(UsageError("the passphrase is empty".into()).into());
    }
    if confirm && prompt("Repeat the passphrase: ").as_ref() != Some(&first) {
        return Err(UsageError("the passphrases differ; nothing was written".into()).into());
    }
    Ok(Some(first))
}

fn key_account(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

/// The most a value read from standard input may hold: far more than any password or
/// connection string, and a bound when stdin is `/dev/zero` or a runaway producer.
const MAX_STDIN_LINE: u64 = 1024 * 1024;

/// One line from standard input (without its line end), read with a size bound. Empty or
/// closed input is refused (exit code 2) unless `allow_empty`: when the command feeding a
/// secret fails, the secret must not be replaced by nothing.
pub fn read_stdin_line(what: &str, allow_empty: bool) -> anyhow::Result<String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .take(MAX_STDIN_LINE + 1)
        .read_until(b'\n', &mut bytes)
        .with_context(|| format!("reading {what} from standard input"))?;
    if bytes.len() as u64 > MAX_STDIN_LINE {
        return Err(UsageError(format!(
            "{what}: standard input holds more than {} KiB without a line end; nothing was changed",
            MAX_STDIN_LINE / 1024
        ))
        .into());
    }
    let closed = bytes.is_empty();
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    if bytes.is_empty() && !allow_empty {
        let why = if closed {
            "standard input was closed before a line was read"
        } else {
            "standard input gave an empty line"
        };
        return Err(UsageError(format!(
            "{what}: {why}; nothing was changed (pass --allow-empty to set an empty value)"
        ))
        .into());
    }
    String::from_utf8(bytes)
        .map_err(|_| UsageError(format!("{what}: standard input is not UTF-8 text")).into())
}

/// `k2cse secret set|delete|status`.
pub fn run(
    ctx: &Context,
    command: SecretCommand,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    let keyring = keyring()?;
    match command {
        SecretCommand::Set(args) => {
            let kind = kind(args.kind);
            let account = account(ctx, kind, args.account, &args.db)?;
            let secret = if args.stdin {
                Secret::new(read_stdin_line("the secret", false)?)
            } else {
                Secret::new(
                    rpassword::prompt_password(format!("{kind} for {account}: "))
                        .context("reading the secret (use --stdin when not on a terminal)")?,
                )
            };
            if secret.is_empty() {
                return Err(UsageError("the secret is empty; nothing was stored".into()).into());
            }
            keyring.set(kind, &account, &secret)?;
            if ctx.json {
                write_json(
                    out,
                    &SecretReport {
                        action: "set",
                        kind,
                        account: &account,
                        store: keyring.name(),
                        deleted: None,
                    }
                    .document(),
                )?;
            } else {
                writeln!(
                    out,
                    "Stored {kind} for {account} in the {}.",
                    keyring.name()
                )?;
            }
        }
        SecretCommand::Delete(args) => {
            let kind = kind(args.kind);
            let account = account(ctx, kind, args.account, &args.db)?;
            let deleted = keyring.delete(kind, &account)?;
            if ctx.json {
                write_json(
                    out,
                    &SecretReport {
                        action: "delete",
                        kind,
                        account: &account,
                        store: keyring.name(),
                        deleted: Some(deleted),
                    }
                    .document(),
                )?;
            } else if deleted {
                writeln!(out, "Deleted {kind} for {account}.")?;
            } else {
                writeln!(out, "No {kind} was stored for {account}.")?;
            }
        }
        SecretCommand::Status(args) => {
            let mut rows = Vec::new();
            for kind in SecretKind::ALL {
                let Ok(account) = account(ctx, kind, None, &args.db) else {
                    continue;
                };
                let stored = keyring.get(kind, &account).map(|s| s.is_some());
                rows.push((kind, account, stored));
            }
            if ctx.json {
                let rows: Vec<_> = rows
                    .iter()
                    .map(|(kind, account, stored)| json!({ "kind": kind, "account": account, "stored": stored.as_ref().ok(), "error": stored.as_ref().err().map(ToString::to_string) }))
                    .collect();
                write_json(
                    out,
                    &json!({ "schema": "k2cse.secret-status/1", "store": keyring.name(), "secrets": rows }),
                )?;
            } else {
                writeln!(out, "Store: {}", keyring.name())?;
                for (kind, account, stored) in rows {
                    let state = match stored {
                        Ok(true) => "stored".to_owned(),
                        Ok(false) => "not stored".to_owned(),
                        Err(e) => e.to_string(),
                    };
                    writeln!(out, "{kind:<20} {account:<40} {state}")?;
                }
            }
        }
    }
    Ok(Outcome::Ok)
}

/// The default account of a secret kind: from the connection (SQL login, master key) or the
/// key file.
fn account(
    ctx: &Context,
    kind: SecretKind,
    explicit: Option<String>,
    db: &crate::args::DbOptions,
) -> anyhow::Result<String> {
    if let Some(account) = explicit {
        return Ok(account);
    }
    match kind {
        SecretKind::KeyFilePassphrase => {
            let path = ctx.key_file.as_deref().ok_or_else(|| {
                UsageError("key-file-passphrase needs --key-file (or --account PATH)".into())
            })?;
            Ok(key_account(path))
        }
        SecretKind::SqlPassword => {
            let target = crate::db::target(ctx, db)?;
            target.password_account().ok_or_else(|| {
                UsageError(format!(
                    "{} uses Integrated Security: there is no SQL password to store",
                    target.server()
                ))
                .into()
            })
        }
        SecretKind::MasterKeyPassword => Ok(crate::db::target(ctx, db)?.master_key_account()),
        SecretKind::BackupPassphrase => Ok(BACKUP_ACCOUNT.into()),
    }
}
