//! The commands that change the file: `set`, `unset`, `add`, `remove`, `rename`, `replace`,
//! `apply`. They all build [`Change`]s and go through one [`EditSession`].

use std::io::{self, Write as _};

use anyhow::Context as _;
use k2cse_core::edit::{Values, read_batch};
use k2cse_core::lint::LintOptions;
use k2cse_core::report::{NextStep, Schema as _, WriteReport};
use k2cse_core::save::SaveOptions;
use k2cse_core::{Change, EditSession};

use crate::args::{Command, PickArgs, ValueArgs, WriteOptions};
use crate::context::Context;
use crate::render::{diagnostic_text, write_json};
use crate::{Outcome, UsageError};

/// Runs a writing command.
pub fn run(ctx: &Context, command: Command, out: &mut dyn io::Write) -> anyhow::Result<Outcome> {
    let reason = format!("k2cse {}", command_name(&command));
    let plaintext_backup = matches!(&command, Command::Protect(a) if a.plaintext_backup);
    let (changes, options) = match command {
        Command::Set(a) => {
            let values = values(&a.values)?;
            if values.is_empty() {
                return Err(UsageError(
                    "set needs at least one KEY=VALUE (or --stdin/--prompt KEY)".into(),
                )
                .into());
            }
            (
                vec![picked(
                    a.pick,
                    Change::Set {
                        name: a.name,
                        values,
                    },
                )],
                a.write,
            )
        }
        Command::Add(a) => {
            let values = values(&a.values)?;
            (
                vec![Change::Add {
                    name: a.name,
                    values,
                }],
                a.write,
            )
        }
        Command::Unset(a) => (
            vec![picked(
                a.pick,
                Change::Unset {
                    name: a.name,
                    keys: a.keys,
                },
            )],
            a.write,
        ),
        Command::Remove(a) => (
            vec![picked(a.pick, Change::Remove { name: a.name })],
            a.write,
        ),
        Command::Rename(a) => (
            vec![picked(
                a.pick,
                Change::Rename {
                    name: a.name,
                    to: a.new_name,
                },
            )],
            a.write,
        ),
        Command::Replace(a) => {
            let connection_string = match a.connection_string {
                Some(text) => text,
                None => crate::terminal::read_stdin_line("the connection string", a.allow_empty)?,
            };
            (
                vec![picked(
                    a.pick,
                    Change::Replace {
                        name: a.name,
                        connection_string,
                    },
                )],
                a.write,
            )
        }
        Command::Apply(a) => (read_batch(&a.file)?, a.write),
        Command::Protect(a) => (
            vec![Change::Protect {
                provider: a.provider,
                algorithm: a.algorithm,
            }],
            a.write,
        ),
        Command::Unprotect(a) => (vec![Change::Unprotect], a.write),
        other => anyhow::bail!("internal: {other:?} is not a write command"),
    };
    let how = How {
        plaintext_backup,
        from_database: false,
    };
    apply_with(ctx, changes, &options, &reason, how, out)
}

/// `change`, aimed at one of several same-named entries when `--nth`/`--line` says which.
fn picked(pick: PickArgs, change: Change) -> Change {
    match pick.pick() {
        Some(at) => Change::At {
            at,
            change: Box::new(change),
        },
        None => change,
    }
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Set(_) => "set",
        Command::Add(_) => "add",
        Command::Unset(_) => "unset",
        Command::Remove(_) => "remove",
        Command::Rename(_) => "rename",
        Command::Replace(_) => "replace",
        Command::Apply(_) => "apply",
        Command::Protect(_) => "protect",
        Command::Unprotect(_) => "unprotect",
        _ => "write",
    }
}

/// Loads, applies all `changes` (all or nothing), then previews or saves.
pub fn apply(
    ctx: &Context,
    changes: Vec<Change>,
    options: &WriteOptions,
    reason: &str,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    apply_with(ctx, changes, options, reason, How::default(), out)
}

/// [`apply`] for `db pull`: the values come from the database tokens, which therefore need
/// no push afterwards.
pub fn apply_pulled(
    ctx: &Context,
    changes: Vec<Change>,
    options: &WriteOptions,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    let how = How {
        plaintext_backup: false,
        from_database: true,
    };
    apply_with(ctx, changes, options, "k2cse db pull", how, out)
}

/// How a write differs from a plain edit.
#[derive(Debug, Default, Clone, Copy)]
struct How {
    /// An unencrypted backup of a section about to be encrypted is accepted
    /// (`protect --plaintext-backup`).
    plaintext_backup: bool,
    /// The changes copy the database's tokens into the file (`db pull`).
    from_database: bool,
}

/// Whether the administrator told k2cse about a K2 database (a connection string or a token
/// mapping in the environment, or the demo's simulated database): then any saved entry may
/// have a token to update.
fn database_configured(ctx: &Context) -> bool {
    ctx.demo
        || ["K2CSE_CONNECTION", "K2CSE_MAPPING"]
            .iter()
            .any(|var| ctx.env.var(var).is_some_and(|v| !v.trim().is_empty()))
}

/// [`apply`], written as `how` says.
fn apply_with(
    ctx: &Context,
    changes: Vec<Change>,
    options: &WriteOptions,
    reason: &str,
    how: How,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    let unprotecting = changes.iter().any(|c| matches!(c, Change::Unprotect));
    let changes_protect = changes.iter().any(|c| matches!(c, Change::Protect { .. }));
    let doc = ctx.load()?;
    let mut session = EditSession::new(doc, LintOptions::default(), options.dry_run)?;
    session.apply_all(changes)?;
    let check = session.check()?;
    if options.dry_run {
        let diff = session.diff(ctx.reveal)?;
        let refused = !options.force && !check.introduced_errors().is_empty();
        if ctx.json {
            write_json(
                out,
                &WriteReport {
                    dry_run: true,
                    changed: session.is_changed(),
                    would_refuse: refused,
                    diff: Some(diff),
                    introduced: &check.introduced,
                    resolved: &check.resolved,
                    files: &[],
                    warning: None,
                    next_steps: &[],
                }
                .document(),
            )?;
        } else {
            out.write_all(diff.as_bytes())?;
            report_check(out, &check)?;
            let what = if session.is_changed() {
                "dry run: nothing written"
            } else {
                "dry run: no change"
            };
            writeln!(
                out,
                "{what}{}",
                if refused {
                    " (a real run would be refused: it introduces errors; --force overrides)"
                } else {
                    ""
                }
            )?;
        }
        return Ok(if refused {
            Outcome::LintErrors
        } else {
            Outcome::Ok
        });
    }
    let save_options = SaveOptions {
        plaintext_backup: how.plaintext_backup,
        ..ctx.save_options(options.no_backup, reason)
    };
    let saved = session.save(&save_options, options.force)?;
    let warning = after_save_warning(
        ctx,
        &session,
        unprotecting,
        changes_protect,
        !saved.is_empty(),
    );
    if let Some(warning) = &warning {
        // Loud on purpose, and on stderr so that it is seen even when stdout is redirected.
        let _ = writeln!(io::stderr().lock(), "WARNING: {warning}");
    }
    let next_steps = if saved.is_empty() {
        Vec::new()
    } else if how.from_database {
        vec![NextStep::restart()]
    } else {
        NextStep::after_file_save(session.changes(), database_configured(ctx))
    };
    let reported = report_saved(ctx, out, &check, &saved, warning.as_deref(), &next_steps);
    match reported {
        Ok(()) => {}
        // The file is saved: a failed report (stdout full, closed) must not look like a
        // failed save, which a script would retry.
        Err(err) if !saved.is_empty() => {
            let files: Vec<String> = saved.iter().map(|f| f.path.display().to_string()).collect();
            let _ = writeln!(
                io::stderr().lock(),
                "warning: the save succeeded ({}), but writing its report to standard output failed: {err}",
                files.join(", ")
            );
        }
        Err(err) => return Err(err.into()),
    }
    for file in saved.iter().filter(|f| f.prune_error.is_some()) {
        let _ = writeln!(
            io::stderr().lock(),
            "warning: saved {}, but deleting old backups failed: {}",
            file.path.display(),
            file.prune_error.as_deref().unwrap_or_default()
        );
    }
    Ok(Outcome::Ok)
}

/// What a save did, as text or JSON.
fn report_saved(
    ctx: &Context,
    out: &mut dyn io::Write,
    check: &k2cse_core::edit::Check,
    saved: &[k2cse_core::save::SavedFile],
    warning: Option<&str>,
    next_steps: &[NextStep],
) -> io::Result<()> {
    if ctx.json {
        write_json(
            out,
            &WriteReport {
                dry_run: false,
                changed: !saved.is_empty(),
                would_refuse: false,
                diff: None,
                introduced: &check.introduced,
                resolved: &check.resolved,
                files: saved,
                warning,
                next_steps,
            }
            .document(),
        )?;
    } else {
        report_check(out, check)?;
        if saved.is_empty() {
            writeln!(out, "no change: the file already says that")?;
        }
        for file in saved {
            match &file.backup {
                Some(backup) => writeln!(
                    out,
                    "saved {} (backup: {})",
                    file.path.display(),
                    backup.display()
                )?,
                None => writeln!(out, "saved {} (no backup)", file.path.display())?,
            }
        }
        say_next(out, next_steps)?;
    }
    out.flush()
}

/// The "Next:" block that ends a write's text report: what the administrator still has to do.
pub fn say_next(out: &mut dyn io::Write, steps: &[NextStep]) -> io::Result<()> {
    if steps.is_empty() {
        return Ok(());
    }
    writeln!(out, "Next:")?;
    for step in steps {
        writeln!(out, "  - {step}")?;
    }
    Ok(())
}

/// The loud warning after a save that changed the section's encryption: decrypted on disk, or
/// encrypted off the server with a key K2's container may not hold.
fn after_save_warning(
    ctx: &Context,
    session: &EditSession,
    unprotecting: bool,
    changes_protect: bool,
    saved: bool,
) -> Option<String> {
    if !saved {
        return None;
    }
    if unprotecting {
        return Some(format!(
            "the connectionStrings section of {} is now stored DECRYPTED: its passwords are readable by anyone who can read the file. \
             K2 encrypts it again when the K2 service starts; or run `k2cse protect` now. The backup still holds the encrypted version.",
            ctx.path.display()
        ));
    }
    if !(changes_protect && (ctx.key_file.is_some() || !cfg!(windows))) {
        return None;
    }
    // Off the server (or with a key file) the key used is not necessarily the one K2's
    // container holds; K2 decrypts with the container only.
    let container = session.document().protection_spec().map_or_else(
        || "the provider's key container".to_owned(),
        |s| format!("the key container {:?}", s.key_container),
    );
    Some(format!(
        "the section was encrypted with {}, not on the K2 server: K2 decrypts it with {container} on the server, which must hold this same key \
         (import it there with `k2cse key import` or `aspnet_regiis -pi`), or the K2 service cannot start",
        ctx.key_file.as_ref().map_or_else(
            || "a key from outside the server".to_owned(),
            |k| format!("the key in {}", k.display())
        )
    ))
}

fn report_check(out: &mut dyn io::Write, check: &k2cse_core::edit::Check) -> io::Result<()> {
    for d in &check.introduced {
        write!(out, "new: ")?;
        diagnostic_text(out, d)?;
    }
    for d in &check.resolved {
        writeln!(
            out,
            "fixed: {}[{}] {}",
            d.severity.label(),
            d.code,
            d.message
        )?;
    }
    Ok(())
}

/// `KEY=VALUE` arguments plus an optional secret read from stdin or a prompt.
fn values(args: &ValueArgs) -> anyhow::Result<Values> {
    let ValueArgs {
        pairs,
        stdin,
        prompt,
        allow_empty,
    } = args;
    let (stdin_key, prompt_key) = (stdin.as_deref(), prompt.as_deref());
    let mut values = Vec::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(UsageError(format!("{pair:?} is not KEY=VALUE")).into());
        };
        if key.trim().is_empty() {
            // Not echoed: what follows the `=` may be a secret.
            return Err(UsageError("an argument has an empty key (`=...`)".into()).into());
        }
        values.push((key.trim().to_owned(), value.to_owned()));
    }
    if let Some(key) = stdin_key {
        let value = crate::terminal::read_stdin_line(&format!("the value of {key}"), *allow_empty)?;
        values.push((key.to_owned(), value));
    }
    if let Some(key) = prompt_key {
        let value = rpassword::prompt_password(format!("{key}: "))
            .context("reading the value from the terminal")?;
        if value.is_empty() && !allow_empty {
            return Err(UsageError(format!(
                "the value of {key} is empty; nothing was changed (pass --allow-empty to set an empty value)"
            ))
            .into());
        }
        values.push((key.to_owned(), value));
    }
    Ok(Values(values))
}
