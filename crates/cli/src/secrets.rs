//! `k2cse secret set|delete|status`: the keyring entries the core's lookup chain reads
//! (`k2cse_core::policy`: the connection string, an environment variable, the OS keyring, and
//! on a terminal a prompt).

use std::io;

use anyhow::Context as _;
use k2cse_core::credentials::{Keyring, SecretKind};
use k2cse_core::policy::{
    Ask, BACKUP_ACCOUNT, Environment, PolicyError, SecretLookup, key_account,
};
use k2cse_core::report::{Schema as _, SecretReport, SecretState, SecretStatusReport};
use k2cse_core::secret::Secret;

use crate::args::{SecretCommand, SecretKindArg};
use crate::context::Context;
use crate::render::write_json;
use crate::terminal::{Terminal, read_stdin_line};
use crate::{Outcome, UsageError};

/// The keyring `K2CSE_KEYRING` names; a name it does not know is a usage error.
fn keyring(ctx: &Context) -> anyhow::Result<Keyring> {
    ctx.env.keyring().map_err(|e| match e {
        PolicyError::Keyring(_) => UsageError(e.to_string()).into(),
        e => e.into(),
    })
}

/// The backup passphrase through the core's lookup chain (environment, keyring; with `ask`,
/// a question on the terminal, twice with `confirm`).
pub fn backup_passphrase(ask: bool, confirm: bool) -> anyhow::Result<Option<Secret>> {
    let env = Environment::process();
    let ask = match (ask, confirm) {
        (false, _) => Ask::Never,
        (true, false) => Ask::Once,
        (true, true) => Ask::Confirmed,
    };
    SecretLookup::open(&env, &Terminal)
        .backup_passphrase(ask)
        .map_err(|e| UsageError(e.to_string()).into())
}

fn kind(arg: SecretKindArg) -> SecretKind {
    match arg {
        SecretKindArg::SqlPassword => SecretKind::SqlPassword,
        SecretKindArg::MasterKeyPassword => SecretKind::MasterKeyPassword,
        SecretKindArg::KeyFilePassphrase => SecretKind::KeyFilePassphrase,
        SecretKindArg::BackupPassphrase => SecretKind::BackupPassphrase,
    }
}

/// `k2cse secret set|delete|status`.
pub fn run(
    ctx: &Context,
    command: SecretCommand,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    let keyring = keyring(ctx)?;
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
                let report = SecretStatusReport {
                    store: keyring.name(),
                    secrets: rows
                        .iter()
                        .map(|(kind, account, stored)| SecretState {
                            kind: *kind,
                            account,
                            stored: stored.as_ref().ok().copied(),
                            error: stored.as_ref().err().map(ToString::to_string),
                        })
                        .collect(),
                };
                write_json(out, &report.document())?;
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
            let target = crate::connection::target(ctx, db)?;
            target.password_account().ok_or_else(|| {
                UsageError(format!(
                    "{} uses Integrated Security: there is no SQL password to store",
                    target.server()
                ))
                .into()
            })
        }
        SecretKind::MasterKeyPassword => {
            Ok(crate::connection::target(ctx, db)?.master_key_account())
        }
        SecretKind::BackupPassphrase => Ok(BACKUP_ACCOUNT.into()),
    }
}
