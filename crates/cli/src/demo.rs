//! `k2cse demo`: a short tour on a temporary copy of the bundled sample config, so a new user
//! sees every main feature without a K2 server.

use std::io;

use crate::args::{Global, LintArgs, ListArgs, ShowArgs, WriteOptions};
use crate::context::Context;
use crate::{Outcome, read, write};

/// Runs the tour.
pub fn run(global: &Global, out: &mut dyn io::Write) -> anyhow::Result<Outcome> {
    let demo = Global {
        config: None,
        demo: true,
        json: false,
        reveal: global.reveal,
        key_file: None,
        backup_dir: None,
        keep: k2cse_core::backup::DEFAULT_KEEP,
    };
    let ctx = Context::new(&demo)?;
    let step = |out: &mut dyn io::Write, title: &str| writeln!(out, "\n==> {title}");
    writeln!(
        out,
        "k2cse demo: working on a temporary copy of the bundled sample K2HostServer.exe.config"
    )?;
    step(out, "k2cse list   (every entry, unknown types included)")?;
    read::list(
        &ctx,
        &ListArgs {
            kind: None,
            long: false,
        },
        out,
    )?;
    step(out, "k2cse lint   (what would break K2's mail)")?;
    read::lint(
        &ctx,
        &LintArgs {
            strict: false,
            rules: false,
            today: None,
        },
        out,
    )?;
    step(
        out,
        "k2cse show SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com",
    )?;
    read::show(
        &ctx,
        &ShowArgs {
            name: "SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com".into(),
            all: false,
            pick: crate::args::PickArgs::default(),
        },
        out,
    )?;
    step(
        out,
        "k2cse set SourceCode.Net.Mail.SmtpConnection Port=587 TLS=BootTls --dry-run",
    )?;
    let change = k2cse_core::Change::Set {
        name: "SourceCode.Net.Mail.SmtpConnection".into(),
        values: k2cse_core::edit::Values::from_pairs([("Port", "587"), ("TLS", "BootTls")]),
    };
    let dry = WriteOptions {
        dry_run: true,
        no_backup: false,
        force: false,
    };
    write::apply(&ctx, vec![change.clone()], &dry, "k2cse set", out)?;
    step(
        out,
        "k2cse set SourceCode.Net.Mail.SmtpConnection Port=587 TLS=BootTls",
    )?;
    let real = WriteOptions {
        dry_run: false,
        ..dry
    };
    write::apply(&ctx, vec![change], &real, "k2cse set", out)?;
    database_tour(&ctx, out)?;
    writeln!(
        out,
        "\nTry it yourself: k2cse --demo list, k2cse --demo set ..., k2cse --demo db drift, or point --config at your own file."
    )?;
    Ok(Outcome::Ok)
}

/// The database half of the tour, on a simulated K2 database (real TDS, SQLite underneath).
#[cfg(feature = "simulator")]
fn database_tour(ctx: &Context, out: &mut dyn io::Write) -> anyhow::Result<()> {
    use crate::args::{DbCommand, DbDriftArgs, DbOptions, DbPushArgs, DbStatusArgs, MappingOption};
    let step = |out: &mut dyn io::Write, title: &str| writeln!(out, "\n==> {title}");
    let db = DbOptions {
        connection: None,
        trust_server_cert: false,
        timeout: 30,
    };
    let mapping = MappingOption { mapping: None };
    writeln!(
        out,
        "\nThe K2 database half runs against k2cse-mssql-sim, a SQL Server stand-in started for the demo."
    )?;
    step(
        out,
        "k2cse db status   (server, K2's key objects, whether encrypted tokens can be read)",
    )?;
    crate::db::run(ctx, DbCommand::Status(DbStatusArgs { db: db.clone() }), out)?;
    step(
        out,
        "k2cse db drift   (which connection strings differ from their database tokens)",
    )?;
    crate::db::run(
        ctx,
        DbCommand::Drift(DbDriftArgs {
            db: db.clone(),
            mapping: mapping.clone(),
            exit_code: false,
        }),
        out,
    )?;
    let push = |dry_run| DbPushArgs {
        db: db.clone(),
        mapping: mapping.clone(),
        entries: Vec::new(),
        create: false,
        dry_run,
        no_backup: false,
        yes: true,
    };
    step(
        out,
        "k2cse db push --dry-run   (what 'update database' would write)",
    )?;
    crate::db::run(ctx, DbCommand::Push(push(true)), out)?;
    step(
        out,
        "k2cse db push   (one transaction; values checked before and read back after)",
    )?;
    crate::db::run(ctx, DbCommand::Push(push(false)), out)?;
    backup_tour(ctx, &db, out)
}

/// Back up, break, restore: the three commands an admin needs before a risky change.
#[cfg(feature = "simulator")]
fn backup_tour(
    ctx: &Context,
    db: &crate::args::DbOptions,
    out: &mut dyn io::Write,
) -> anyhow::Result<()> {
    use crate::args::{BackupCommand, BackupCreateArgs, BackupRestoreArgs};
    let step = |out: &mut dyn io::Write, title: &str| writeln!(out, "\n==> {title}");
    step(
        out,
        "k2cse backup create   (config bytes as on disk + token rows as stored, SHA-256 manifest)",
    )?;
    crate::backup::run(
        ctx,
        BackupCommand::Create(BackupCreateArgs {
            to: None,
            only: None,
            passphrase: false,
            db: db.clone(),
        }),
        out,
    )?;
    step(out, "something breaks: the file is overwritten by mistake")?;
    std::fs::write(
        &ctx.path,
        b"<configuration>\n  <!-- oops -->\n</configuration>\n",
    )?;
    writeln!(out, "(wrote a nearly empty {})", ctx.path.display())?;
    step(
        out,
        "k2cse backup restore latest --only file --yes   (diff first, pre-restore backup, atomic)",
    )?;
    crate::backup::run(
        ctx,
        BackupCommand::Restore(BackupRestoreArgs {
            backup: Some("latest".into()),
            resume: false,
            roll_back: false,
            dry_run: false,
            only: Some(crate::args::OnlyArg::File),
            yes: true,
            onto: None,
            db: db.clone(),
        }),
        out,
    )?;
    Ok(())
}

#[cfg(not(feature = "simulator"))]
fn database_tour(_: &Context, out: &mut dyn io::Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "\n(This build has no simulator: the database half of the tour is skipped.)"
    )?;
    Ok(())
}
