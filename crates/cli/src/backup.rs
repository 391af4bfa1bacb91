//! `k2cse backup create|list|show|verify|restore|prune`.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use k2cse_core::backup::{
    self, Backup, BackupKind, CurrentRows, Encryption, Manifest, Only, Recovery, RestorePlan,
    RestoreRun,
};
use k2cse_core::report::{
    BackupCreatedReport, BackupListReport, BackupPruneReport, BackupRestoreReport,
    BackupShowReport, BackupShown, BackupVerifyReport, NextStep, Schema,
};
use k2cse_core::secret::Secret;

use crate::args::{BackupCommand, BackupCreateArgs, BackupRestoreArgs, DbOptions, OnlyArg};
use crate::connection::{Connected, connect, server};
use crate::context::Context;
use crate::progress::Steps;
use crate::render::write_json;
use crate::{Outcome, UsageError};

/// How the CLI encrypts: the core's default cost, unless `K2CSE_BACKUP_SCRYPT_LOG_N` sets it
/// (tests, slow machines; documented in docs/backup-format.md).
pub fn encryption_for(passphrase: Secret) -> Encryption {
    k2cse_core::policy::Environment::process().encryption_for(passphrase)
}

/// Runs a `backup` command.
pub fn run(
    ctx: &Context,
    command: BackupCommand,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    // Every backup command: a folder someone else could write to is not trusted.
    ctx.backup_store().check_trusted()?;
    match command {
        BackupCommand::Create(args) => create(ctx, &args, out),
        BackupCommand::List => list(ctx, out),
        BackupCommand::Show(args) => {
            let path = resolve(ctx, &args.backup)?;
            let backup = open(&path)?;
            show(ctx, &path, backup.manifest(), BackupShowReport, out)
        }
        BackupCommand::Verify(args) => {
            let path = resolve(ctx, &args.backup)?;
            let backup = open(&path)?;
            let m = backup.manifest();
            if ctx.json {
                show(ctx, &path, m, BackupVerifyReport, out)
            } else {
                let parts = m.files.len() + usize::from(m.database.is_some());
                writeln!(
                    out,
                    "OK {}: {parts} part(s) complete and unaltered (SHA-256), taken {} on {}",
                    path.display(),
                    m.created,
                    m.host
                )?;
                Ok(Outcome::Ok)
            }
        }
        BackupCommand::Restore(args) => restore(ctx, &args, out),
        BackupCommand::Prune => {
            let store = ctx.backup_store();
            let deleted = store.prune(ctx.keep)?;
            if ctx.json {
                write_json(
                    out,
                    &BackupPruneReport {
                        dir: store.dir(),
                        keep: ctx.keep,
                        deleted: &deleted,
                    }
                    .document(),
                )?;
            } else {
                for path in &deleted {
                    writeln!(out, "deleted {}", path.display())?;
                }
                writeln!(
                    out,
                    "{} backup(s) deleted; the newest {} automatic ones and every manual one are kept in {}",
                    deleted.len(),
                    ctx.keep,
                    store.dir().display()
                )?;
            }
            Ok(Outcome::Ok)
        }
    }
}

fn create(
    ctx: &Context,
    args: &BackupCreateArgs,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    let with_file = args.only != Some(OnlyArg::Db);
    let with_db = match args.only {
        Some(OnlyArg::File) => false,
        Some(OnlyArg::Db) => true,
        // Both when the database is known; a file-only backup otherwise (said below).
        None => ctx.demo || args.db.connection.is_some() || has_hostserver_db(ctx),
    };
    if with_file && ctx.path.as_os_str().is_empty() {
        return Err(UsageError("no config file: pass --config PATH (or --only db)".into()).into());
    }
    let encryption = if args.passphrase {
        crate::secrets::backup_passphrase(true, true)?.map(encryption_for)
    } else {
        crate::secrets::backup_passphrase(false, false)?.map(encryption_for)
    };
    let steps = Steps::new(!ctx.json, 2 + u64::from(with_db));
    let mut backup = Backup::new(BackupKind::Manual, "k2cse backup create");
    if with_file {
        steps.step("reading the config file");
        let bytes = k2cse_core::bounded::read(
            &ctx.path,
            k2cse_core::config::MAX_CONFIG_BYTES,
            ".NET config file",
        )?;
        backup = backup.with_file(&ctx.path, bytes);
    }
    // Asked for by name (--only db, --connection): a database that cannot be read is an
    // error. Found in the config only: the file is backed up anyway, and the reason said.
    let db_required = args.only == Some(OnlyArg::Db) || args.db.connection.is_some() || ctx.demo;
    let mut db_left_out = None;
    if with_db {
        steps.step("connecting to the database");
        let read = connect(ctx, &args.db).and_then(|mut c| {
            let rows = c.run(async |db| db.raw_rows().await)?;
            Ok((c, rows))
        });
        match read {
            Ok((c, rows)) => {
                backup = backup.with_database(
                    &server(ctx, &args.db, &c),
                    &c.db.status().database,
                    &c.db.status().shape,
                    rows,
                );
            }
            Err(e) if !db_required && with_file => db_left_out = Some(format!("{e:#}")),
            Err(e) => return Err(e),
        }
    }
    steps.step("writing the backup");
    let path = match &args.to {
        Some(to) => {
            backup::save_to(to, &backup, encryption.as_ref())?;
            to.clone()
        }
        None => ctx.backup_store().save(&backup, encryption.as_ref())?,
    };
    drop(steps);
    // Show what was written, as read back: the manifest with the database part's digest.
    let written = backup::open(&path, encryption.as_ref().map(|e| &e.passphrase))?;
    show(ctx, &path, written.manifest(), BackupCreatedReport, out)?;
    if let Some(reason) = &db_left_out {
        // Said on stderr too, so that --json output stays one document.
        writeln!(
            io::stderr(),
            "warning: the database was left out of this backup ({}); the config file is backed up. Pass --only db or --connection to make that an error.",
            k2cse_core::entry::mask_text(reason)
        )?;
    }
    if !with_db && args.only.is_none() && !ctx.json {
        writeln!(
            out,
            "(file only: no HostserverDB entry or --connection; pass --only file to say so, or --connection to include the database tokens)"
        )?;
    }
    Ok(Outcome::Ok)
}

fn has_hostserver_db(ctx: &Context) -> bool {
    ctx.load()
        .ok()
        .and_then(|doc| doc.entries().ok())
        .is_some_and(|entries| {
            entries
                .iter()
                .any(|e| e.name.as_str().eq_ignore_ascii_case("HostserverDB"))
        })
}

fn list(ctx: &Context, out: &mut dyn io::Write) -> anyhow::Result<Outcome> {
    let store = ctx.backup_store();
    let backups = store.list()?;
    if ctx.json {
        write_json(
            out,
            &BackupListReport {
                dir: store.dir(),
                backups: &backups,
            }
            .document(),
        )?;
        return Ok(Outcome::Ok);
    }
    if backups.is_empty() {
        writeln!(out, "No backups in {}.", store.dir().display())?;
        return Ok(Outcome::Ok);
    }
    writeln!(out, "Backups in {}:", store.dir().display())?;
    writeln!(
        out,
        "{:<24} {:<12} {:>10}  NAME",
        "CREATED", "KIND", "BYTES"
    )?;
    for b in &backups {
        writeln!(
            out,
            "{:<24} {:<12} {:>10}  {}{}",
            b.created,
            b.kind.as_str(),
            b.size,
            b.path.file_name().unwrap_or_default().to_string_lossy(),
            if b.encrypted { "  (encrypted)" } else { "" }
        )?;
    }
    Ok(Outcome::Ok)
}

fn show<'a, R: Schema>(
    ctx: &Context,
    path: &'a Path,
    m: &'a Manifest,
    report: fn(BackupShown<'a>) -> R,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    if ctx.json {
        let shown = BackupShown {
            path,
            verified: true,
            manifest: m,
        };
        write_json(out, &report(shown).document())?;
        return Ok(Outcome::Ok);
    }
    writeln!(out, "Backup {}", path.display())?;
    writeln!(
        out,
        "  taken {} on {}{} by k2cse {} ({}: {}), format {}",
        m.created,
        m.host,
        m.user
            .as_deref()
            .map(|u| format!(" as {u}"))
            .unwrap_or_default(),
        m.tool_version,
        m.kind.as_str(),
        m.reason,
        m.format_version
    )?;
    for f in &m.files {
        writeln!(
            out,
            "  file     {} ({} bytes{}, sha256 {})",
            f.source.display(),
            f.size,
            if f.encrypted_section {
                ", section encrypted"
            } else {
                ""
            },
            f.sha256
        )?;
    }
    if let Some(d) = &m.database {
        writeln!(
            out,
            "  database {} on {}: {} rows of {} ({} encrypted, kept as ciphertext), sha256 {}",
            d.database, d.server, d.rows, d.table, d.encrypted_rows, d.sha256
        )?;
    }
    Ok(Outcome::Ok)
}

/// A backup named on the command line: a path, a file name in the backup folder, or
/// `latest`: the newest backup of this config there that is not a pre-restore one (those
/// hold the state a restore replaced; picking one would undo that restore). Says on stderr
/// which backup `latest` is.
fn resolve(ctx: &Context, name: &Path) -> anyhow::Result<PathBuf> {
    if name.exists() {
        return Ok(name.to_owned());
    }
    let store = ctx.backup_store();
    if name.as_os_str() == "latest" {
        let latest = store
            .list_own()?
            .into_iter()
            .rfind(|b| b.kind != BackupKind::PreRestore)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no backups of {} in {} (pre-restore backups are named, not `latest`)",
                    ctx.path.display(),
                    store.dir().display()
                )
            })?;
        let _ = writeln!(
            io::stderr(),
            "latest: {} ({}, taken {})",
            latest.path.display(),
            latest.kind.as_str(),
            latest.created
        );
        return Ok(latest.path);
    }
    let in_store = store.dir().join(name);
    if in_store.exists() {
        return Ok(in_store);
    }
    Err(UsageError(format!(
        "{}: no such backup (nor in {})",
        name.display(),
        store.dir().display()
    ))
    .into())
}

/// Opens and verifies a backup, asking for the passphrase only when it is encrypted.
fn open(path: &Path) -> anyhow::Result<Backup> {
    backup::check_trusted_file(path)?;
    let passphrase = if backup::is_encrypted_file(path)? {
        crate::secrets::backup_passphrase(true, false)?
    } else {
        None
    };
    Ok(backup::open(path, passphrase.as_ref())?)
}

/// Verifies the backup, reads the current state (connecting when rows are restored) and plans.
fn plan_restore(
    ctx: &Context,
    args: &BackupRestoreArgs,
    path: &Path,
) -> anyhow::Result<(RestorePlan, Option<Connected>)> {
    let steps = Steps::new(!ctx.json, 4);
    steps.step("verifying the backup");
    let backup = open(path)?;
    let only = args.only.map(|o| match o {
        OnlyArg::File => Only::File,
        OnlyArg::Db => Only::Database,
    });
    // The file goes to the config in scope, and only if the backup was taken of it; `--to`
    // names another target on purpose.
    let restores_file = only != Some(Only::Database) && backup.files().next().is_some();
    let onto = match &args.onto {
        Some(to) => Some(to.clone()),
        None if !restores_file => None,
        None if ctx.path.as_os_str().is_empty() => {
            return Err(UsageError(
                "no config file in scope: pass --config PATH (the file to restore), or --to PATH"
                    .into(),
            )
            .into());
        }
        None => {
            backup::check_restore_target(path, &backup, &ctx.path)?;
            Some(ctx.path.clone())
        }
    };
    let mut connected = None;
    let current = if RestorePlan::needs_database(&backup, only) {
        steps.step("connecting to the database");
        let options = restore_db_options(ctx, &args.db, &backup);
        let mut c = connect(ctx, &options)?;
        let rows = c.run(async |db| db.raw_rows().await)?;
        let current = CurrentRows {
            rows,
            server: server(ctx, &options, &c),
            database: c.db.status().database.clone(),
            shape: c.db.status().shape.clone(),
        };
        connected = Some(c);
        Some(current)
    } else {
        None
    };
    steps.step("comparing with the current state");
    let plan = RestorePlan::new(path, &backup, only, onto.as_deref(), current)?;
    Ok((plan, connected))
}

/// The backup a restore restores: `--resume` / `--roll-back` (the core says which, from the
/// interrupted restore's journal), else the one named.
fn restore_source(
    ctx: &Context,
    args: &BackupRestoreArgs,
    run: &RestoreRun<'_>,
) -> anyhow::Result<PathBuf> {
    let recovery = if args.resume {
        Some(Recovery::Finish)
    } else if args.roll_back {
        Some(Recovery::RollBack)
    } else {
        None
    };
    Ok(match (recovery, &args.backup) {
        (Some(recovery), _) => {
            let path = run.recovery_backup(recovery)?;
            let what = match recovery {
                Recovery::Finish => "finishing the interrupted restore: restoring",
                Recovery::RollBack => {
                    "rolling the interrupted restore back: restoring its pre-restore backup"
                }
            };
            writeln!(io::stderr(), "{what} {}", path.display())?;
            path
        }
        (None, Some(name)) => resolve(ctx, name)?,
        (None, None) => {
            return Err(
                UsageError("name the backup to restore, or --resume / --roll-back".into()).into(),
            );
        }
    })
}

fn say_resolved(out: &mut dyn io::Write, backup: &Path) -> io::Result<()> {
    writeln!(
        out,
        "The interrupted restore is resolved: the config file and the database rows agree with {}.",
        backup.display()
    )
}

fn restore(
    ctx: &Context,
    args: &BackupRestoreArgs,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    let store = ctx.backup_store();
    let mut run = RestoreRun::new(&store);
    let path = restore_source(ctx, args, &run)?;
    run.check_allowed(&path)?;
    let (plan, mut connected) = plan_restore(ctx, args, &path)?;
    let diff = plan.file_diff(&ctx.keys, ctx.reveal);
    let rows = plan.row_lines(ctx.reveal);
    if !ctx.json {
        for warning in &plan.warnings {
            writeln!(
                io::stderr(),
                "warning: {}",
                k2cse_core::entry::mask_text(warning)
            )?;
        }
        out.write_all(diff.as_bytes())?;
        if !rows.is_empty() {
            writeln!(out, "Database rows ({}):", rows.len())?;
            for line in &rows {
                writeln!(out, "  {line}")?;
            }
        }
    }
    let json_plan = |report, recovered, next_steps| BackupRestoreReport {
        backup: &path,
        dry_run: args.dry_run,
        changed: !plan.is_empty(),
        diff: &diff,
        rows: &rows,
        warnings: &plan.warnings,
        report,
        recovered,
        next_steps,
    };
    if plan.is_empty() || args.dry_run {
        let settled = !args.dry_run && run.settle_unchanged(&plan);
        if ctx.json {
            write_json(out, &json_plan(None, settled, Vec::new()).document())?;
        } else if plan.is_empty() {
            writeln!(
                out,
                "Nothing to restore: the current state already matches the backup."
            )?;
            if settled {
                say_resolved(out, &path)?;
            }
        } else {
            writeln!(out, "dry run: nothing written")?;
        }
        return Ok(Outcome::Ok);
    }
    if !args.yes {
        confirm(&plan)?;
    }
    let steps = Steps::new(!ctx.json, 2);
    steps.step("backing up the current state, then restoring");
    let auto_encryption = crate::secrets::backup_passphrase(false, false)?.map(encryption_for);
    let recovering = run.interrupted().is_some();
    // Journaled in the core: an interruption is resolved by --resume or --roll-back.
    let report = match connected.as_mut() {
        Some(c) => {
            c.runtime
                .block_on(run.execute(&plan, Some(&mut c.db), auto_encryption.as_ref()))
        }
        None => tokio::runtime::Builder::new_current_thread()
            .build()
            .context("starting the async runtime")?
            .block_on(run.execute(&plan, None, auto_encryption.as_ref())),
    }?;
    drop(steps);
    let next_steps = NextStep::after_restore(&report, plan.database.is_some());
    if ctx.json {
        write_json(
            out,
            &json_plan(Some(&report), recovering, next_steps).document(),
        )?;
    } else {
        for file in &report.files {
            writeln!(out, "restored {}", file.display())?;
        }
        if report.rows_changed > 0 {
            writeln!(
                out,
                "restored {} database row(s) in one transaction",
                report.rows_changed
            )?;
        }
        writeln!(
            out,
            "the state before the restore is in {}",
            report.pre_restore_backup.display()
        )?;
        if recovering {
            say_resolved(out, &path)?;
        }
        crate::write::say_next(out, &next_steps)?;
    }
    Ok(Outcome::Ok)
}

/// The database to restore into: `--connection`, the config's `HostserverDB` when it can be
/// read, else the backup's own `HostserverDB` (the current file may be the broken part).
fn restore_db_options(ctx: &Context, options: &DbOptions, backup: &Backup) -> DbOptions {
    let mut options = options.clone();
    if options.connection.is_some() || ctx.demo || crate::connection::target(ctx, &options).is_ok()
    {
        return options;
    }
    options.connection = backup.files().next().and_then(|(part, bytes)| {
        let doc = k2cse_core::Document::from_bytes(&part.source, bytes.to_vec()).ok()?;
        doc.entries()
            .ok()?
            .into_iter()
            .find(|e| e.name.as_str().eq_ignore_ascii_case("HostserverDB"))?
            .value
            .clone()
    });
    options
}

/// Asks on the terminal; refuses without one (scripts pass --yes).
fn confirm(plan: &RestorePlan) -> anyhow::Result<()> {
    let what = match (
        plan.files
            .iter()
            .any(k2cse_core::backup::FileRestore::is_changed),
        plan.database.is_some(),
    ) {
        (true, true) => "the config file and the database rows",
        (true, false) => "the config file",
        _ => "the database rows",
    };
    crate::render::ask_yes(
        "restore",
        &format!("Restore {what} from {}?", plan.backup.display()),
    )
}
