//! `k2cse db ...`: the K2 database's configuration tokens, and their drift from the file.

use std::io::{self, BufRead as _};

use anyhow::Context as _;
use k2cse_core::db::push::{PushPlan, PushRequest, RowBackup};
use k2cse_core::db::{
    self, DbError, DriftState, KeyStatus, LinkSource, Mapping, Token, TokenValue, TokenWrite,
};
use k2cse_core::entry::{display_any, schema::looks_secret};
use k2cse_core::report::{
    DbDiscoverReport, DbDriftReport, DbStatusReport, DbTokenReport, DbTokensReport, DbWriteReport,
    DiscoveryShown, DriftShown, Schema as _, TokenShown, TokenSkipped, TokenWritten, WriteReport,
};

use crate::args::{DbCommand, DbOptions, MappingOption};
use crate::connection::{Connected, connect, server};
use crate::context::Context;
use crate::render::write_json;
use crate::{Outcome, UsageError};

/// Connects, reads every token and compares the config's entries with them.
fn drifts(
    ctx: &Context,
    options: &DbOptions,
    mapping_option: &MappingOption,
) -> anyhow::Result<(Connected, Vec<db::Drift>)> {
    let mut c = connect(ctx, options)?;
    let tokens = c.run(async |db| db.tokens().await)?;
    let doc = ctx.load()?;
    let drifts = db::link::drift(&doc.entries()?, &tokens, &mapping(mapping_option)?);
    Ok((c, drifts))
}

fn mapping(option: &MappingOption) -> anyhow::Result<Mapping> {
    Ok(option
        .mapping
        .as_deref()
        .map(Mapping::load)
        .transpose()?
        .unwrap_or_default())
}

/// A token value for display: masked unless --reveal (whole value when the token's name looks
/// secret, else the secret keys of a connection string).
fn shown(token: &str, value: &TokenValue, reveal: bool) -> String {
    match value {
        TokenValue::Null => "(null)".into(),
        TokenValue::Unreadable => "(encrypted; key not open)".into(),
        TokenValue::Text(_) if !reveal && looks_secret(token.trim_matches(['[', ']'])) => {
            k2cse_core::secret::MASK.into()
        }
        TokenValue::Text(t) => display_any(t, reveal),
    }
}

/// Runs a `db` command.
pub fn run(ctx: &Context, command: DbCommand, out: &mut dyn io::Write) -> anyhow::Result<Outcome> {
    match command {
        DbCommand::Status(a) => status(ctx, &a.db, out),
        DbCommand::Tokens(a) => tokens(ctx, &a, out),
        DbCommand::Get(a) => {
            let mut c = connect(ctx, &a.db)?;
            let token = c.run(async |db| db.token(&a.token).await)?;
            if ctx.json {
                write_json(
                    out,
                    &DbTokenReport {
                        token: token_json(&token, ctx.reveal),
                    }
                    .document(),
                )?;
            } else {
                writeln!(out, "{}", shown(&token.name, &token.value, ctx.reveal))?;
            }
            Ok(Outcome::Ok)
        }
        DbCommand::Set(a) => set(ctx, a, out),
        DbCommand::Drift(a) => drift(ctx, &a, out),
        DbCommand::Push(a) => push(ctx, &a, out),
        DbCommand::Pull(a) => {
            let (_, drifts) = drifts(ctx, &a.db, &a.mapping)?;
            check_selection(&drifts, &a.entries)?;
            let changes = db::link::pull_changes(&drifts, &a.entries);
            if changes.is_empty() {
                if ctx.json {
                    write_json(out, &WriteReport::unchanged(a.write.dry_run).document())?;
                } else {
                    writeln!(
                        out,
                        "Nothing to pull: every linked entry matches the database."
                    )?;
                }
                return Ok(Outcome::Ok);
            }
            crate::write::apply_pulled(ctx, changes, &a.write, out)
        }
        DbCommand::Discover(a) => discover(ctx, &a.db, &a.mapping, out),
    }
}

fn status(ctx: &Context, options: &DbOptions, out: &mut dyn io::Write) -> anyhow::Result<Outcome> {
    let c = connect(ctx, options)?;
    let s = c.db.status();
    if ctx.json {
        write_json(out, &DbStatusReport::of(s).document())?;
        return Ok(Outcome::Ok);
    }
    let yes = |b: bool| if b { "present" } else { "missing" };
    writeln!(out, "Server:              {}", s.server)?;
    writeln!(out, "Database:            {}", s.database)?;
    writeln!(out, "Version:             {}", s.version)?;
    writeln!(
        out,
        "Compatibility level: {}",
        s.compatibility_level.map_or_else(
            || "(unknown)".to_owned(),
            |l| format!("{l} ({})", sql_server_of(l))
        )
    )?;
    writeln!(out, "Collation:           {}", s.collation)?;
    writeln!(
        out,
        "Table shape:         {}{}",
        s.shape,
        match s.shape.write_refusal() {
            Some(why) => format!(" (read only: {why})"),
            None if !s.shape.can_hold_ciphertext() =>
                " (encrypted values not readable or writable here)".to_owned(),
            None => String::new(),
        }
    )?;
    writeln!(
        out,
        "Configuration table: [HostServer].[Configuration] {}",
        yes(s.has_configuration_table)
    )?;
    writeln!(out, "Master key:          {}", yes(s.has_master_key))?;
    writeln!(
        out,
        "Certificate:         SCHostServerCert {}",
        yes(s.has_certificate)
    )?;
    writeln!(
        out,
        "Symmetric key:       SCSSOKey {}",
        yes(s.has_symmetric_key)
    )?;
    writeln!(
        out,
        "Encrypted tokens:    {}",
        if s.keys == KeyStatus::Open {
            "readable (SCSSOKey open)".to_owned()
        } else {
            s.keys.to_string()
        }
    )?;
    writeln!(
        out,
        "[USESQLENCRYPTION]:  {}",
        s.use_sql_encryption
            .map_or("(not set)", |b| if b { "true" } else { "false" })
    )?;
    Ok(Outcome::Ok)
}

/// The SQL Server release whose native level `level` is.
fn sql_server_of(level: i32) -> &'static str {
    match level {
        ..=90 => "SQL Server 2005 or older",
        100 => "SQL Server 2008 / 2008 R2",
        110 => "SQL Server 2012",
        120 => "SQL Server 2014",
        130 => "SQL Server 2016",
        140 => "SQL Server 2017",
        150 => "SQL Server 2019",
        160 => "SQL Server 2022",
        _ => "newer than SQL Server 2022",
    }
}

fn token_json(t: &Token, reveal: bool) -> TokenShown<'_> {
    TokenShown {
        name: &t.name,
        encrypted: t.encrypted,
        readable: t.value != TokenValue::Unreadable,
        value: match &t.value {
            TokenValue::Text(_) => Some(shown(&t.name, &t.value, reveal)),
            _ => None,
        },
    }
}

fn tokens(
    ctx: &Context,
    a: &crate::args::DbTokensArgs,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    let mut c = connect(ctx, &a.db)?;
    let mut tokens = c.run(async |db| db.tokens().await)?;
    if let Some(filter) = &a.filter {
        let filter = filter.to_lowercase();
        tokens.retain(|t| t.name.to_lowercase().contains(&filter));
    }
    if ctx.json {
        write_json(
            out,
            &DbTokensReport {
                tokens: tokens.iter().map(|t| token_json(t, ctx.reveal)).collect(),
            }
            .document(),
        )?;
        return Ok(Outcome::Ok);
    }
    let width = tokens
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(5)
        .min(70);
    writeln!(out, "{:<width$}  ENC  VALUE", "TOKEN")?;
    for t in &tokens {
        writeln!(
            out,
            "{:<width$}  {:<3}  {}",
            t.name,
            if t.encrypted { "yes" } else { "no" },
            shown(&t.name, &t.value, ctx.reveal)
        )?;
    }
    Ok(Outcome::Ok)
}

fn set(
    ctx: &Context,
    a: crate::args::DbSetArgs,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    let value = if a.stdin {
        let mut line = String::new();
        io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else if a.prompt {
        rpassword::prompt_password(format!("Value of {}: ", a.token))
            .context("reading the value")?
    } else {
        a.value.clone().unwrap_or_default()
    };
    let mut c = connect(ctx, &a.db)?;
    let existing = match c.runtime.block_on(c.db.token(&a.token)) {
        Ok(t) => Some(t),
        Err(DbError::TokenNotFound(_)) if a.create => None,
        Err(e) => return Err(e.into()),
    };
    let encrypt = existing.as_ref().map_or_else(
        || c.db.status().use_sql_encryption == Some(true) && c.db.status().has_symmetric_key,
        |t| t.encrypted,
    );
    if existing
        .as_ref()
        .is_some_and(|t| t.value == TokenValue::Unreadable)
    {
        return Err(DbError::KeysUnavailable {
            tokens: a.token,
            reason: c.db.status().keys.to_string(),
        }
        .into());
    }
    let write = TokenWrite {
        token: existing
            .as_ref()
            .map_or_else(|| a.token.clone(), |t| t.name.clone()),
        expected: existing
            .as_ref()
            .and_then(|t| t.value.text().map(str::to_owned)),
        new: value,
        encrypt,
    };
    let action = if existing.is_some() {
        "update"
    } else {
        "create"
    };
    let mut backup = None;
    if !a.dry_run {
        backup =
            crate::connection::before_db_write(ctx, &mut c, &a.db, a.no_backup, "k2cse db set")?;
        let writes = [write.clone()];
        c.run(async |db| db.write(&writes).await)?;
    }
    if ctx.json {
        write_json(
            out,
            &DbWriteReport {
                dry_run: a.dry_run,
                writes: vec![TokenWritten {
                    action,
                    token: &write.token,
                    encrypted: encrypt,
                }],
                skipped_missing: Vec::new(),
                backup: backup.as_deref(),
            }
            .document(),
        )?;
    } else {
        let verb = if a.dry_run { "Would" } else { "Did" };
        writeln!(
            out,
            "{verb} {action} {}{}.",
            write.token,
            if encrypt { " (encrypted)" } else { "" }
        )?;
    }
    Ok(Outcome::Ok)
}

fn state_text(state: &DriftState) -> String {
    match state {
        DriftState::InSync => "in sync".into(),
        DriftState::Differs { keys } if keys.is_empty() => "differs".into(),
        DriftState::Differs { keys } => format!("differs: {}", keys.join(", ")),
        DriftState::MissingInDatabase => "missing in database".into(),
        DriftState::Unreadable => "cannot decrypt (key not open)".into(),
        DriftState::NotLinked => "not linked (mapping)".into(),
    }
}

fn source_text(source: LinkSource) -> &'static str {
    match source {
        LinkSource::Mapping => " (mapping)",
        LinkSource::Default => "",
        LinkSource::Discovered => " (discovered)",
    }
}

fn drift(
    ctx: &Context,
    a: &crate::args::DbDriftArgs,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    let (_, drifts) = drifts(ctx, &a.db, &a.mapping)?;
    let different = drifts
        .iter()
        .filter(|d| {
            matches!(
                d.state,
                DriftState::Differs { .. } | DriftState::MissingInDatabase | DriftState::Unreadable
            )
        })
        .count();
    if ctx.json {
        let report = DbDriftReport {
            entries: drifts
                .iter()
                .map(|d| DriftShown::of(d, |v| display_any(v, ctx.reveal)))
                .collect(),
            different,
        };
        write_json(out, &report.document())?;
    } else {
        for d in &drifts {
            writeln!(
                out,
                "{}\n    token: {}{}\n    state: {}",
                d.link.entry,
                d.link.token.as_deref().unwrap_or("-"),
                source_text(d.link.source),
                state_text(&d.state)
            )?;
            if let DriftState::Differs { .. } = d.state {
                writeln!(
                    out,
                    "    file:  {}",
                    display_any(d.file_value.as_deref().unwrap_or_default(), ctx.reveal)
                )?;
                writeln!(
                    out,
                    "    db:    {}",
                    display_any(d.db_value.as_deref().unwrap_or_default(), ctx.reveal)
                )?;
            }
        }
        let in_sync = drifts
            .iter()
            .filter(|d| d.state == DriftState::InSync)
            .count();
        writeln!(
            out,
            "\n{} entries: {in_sync} in sync, {different} different or missing. `k2cse db push` writes file values into the database, `k2cse db pull` the reverse.",
            drifts.len()
        )?;
    }
    Ok(if a.exit_code && different > 0 {
        Outcome::Drift
    } else {
        Outcome::Ok
    })
}

fn check_selection(drifts: &[db::Drift], only: &[String]) -> anyhow::Result<()> {
    for name in only {
        if !drifts
            .iter()
            .any(|d| d.link.entry.eq_ignore_ascii_case(name))
        {
            return Err(UsageError(format!("no entry named {name:?} in the config")).into());
        }
    }
    Ok(())
}

fn push(
    ctx: &Context,
    a: &crate::args::DbPushArgs,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    // The core's push use case: plan, confirm here, back up the rows, write (read back).
    let mut c = connect(ctx, &a.db)?;
    let doc = ctx.load()?;
    let entries = doc.entries()?;
    let mapping = mapping(&a.mapping)?;
    let request = PushRequest {
        only: a.entries.clone(),
        create: a.create,
        dry_run: a.dry_run,
    };
    let planned = c
        .runtime
        .block_on(PushPlan::new(&mut c.db, &entries, &mapping, &request))?;
    check_selection(planned.drifts(), &a.entries)?;
    if !planned.is_empty() && !a.dry_run && !a.yes {
        show_push_plan(
            planned.writes(),
            planned.drifts(),
            c.db.status(),
            ctx.reveal,
        )?;
        crate::render::ask_yes(
            "db push",
            &format!("Write {} token(s) to the database?", planned.writes().len()),
        )?;
    }
    let skipped: Vec<(String, Option<String>)> = planned
        .skipped_missing()
        .iter()
        .map(|d| (d.link.entry.clone(), d.link.token.clone()))
        .collect();
    let policy = ctx.backup_policy();
    let store = ctx.backup_store();
    let server = server(ctx, &a.db, &c);
    let row_backup = (!a.no_backup).then(|| RowBackup {
        store: &store,
        encryption: policy.encryption.as_ref(),
        keep: policy.keep,
        server,
        reason: "k2cse db push".into(),
    });
    let outcome = c.runtime.block_on(planned.execute(&mut c.db, row_backup))?;
    report_push(
        ctx,
        a.dry_run,
        &outcome.writes,
        &skipped,
        outcome.backup.as_deref(),
        out,
    )
}

/// What a push did (or, with `dry_run`, would do), as text or JSON.
fn report_push(
    ctx: &Context,
    dry_run: bool,
    plan: &[TokenWrite],
    skipped: &[(String, Option<String>)],
    backup: Option<&std::path::Path>,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    let action = |w: &TokenWrite| {
        if w.expected.is_some() {
            "update"
        } else {
            "create"
        }
    };
    if ctx.json {
        let report = DbWriteReport {
            dry_run,
            writes: plan
                .iter()
                .map(|w| TokenWritten {
                    action: action(w),
                    token: &w.token,
                    encrypted: w.encrypt,
                })
                .collect(),
            skipped_missing: skipped
                .iter()
                .map(|(entry, token)| TokenSkipped {
                    entry,
                    token: token.as_deref(),
                })
                .collect(),
            backup,
        };
        write_json(out, &report.document())?;
        return Ok(Outcome::Ok);
    }
    if plan.is_empty() {
        writeln!(
            out,
            "Nothing to push: every linked entry matches the database."
        )?;
    }
    for w in plan {
        let verb = if dry_run { "would" } else { "did" };
        writeln!(
            out,
            "{verb} {} {}{}",
            action(w),
            w.token,
            if w.encrypt { " (encrypted)" } else { "" }
        )?;
    }
    for (entry, token) in skipped {
        writeln!(
            out,
            "skipped {entry}: no token {} (pass --create to add it)",
            token.as_deref().unwrap_or("-")
        )?;
    }
    if !plan.is_empty() && !dry_run {
        writeln!(
            out,
            "Wrote {} token(s) in one transaction; every value was read back before commit.",
            plan.len()
        )?;
    }
    Ok(Outcome::Ok)
}

/// What a push will write, on stderr (the question that follows goes there too): each token
/// with its value before and after, secrets masked.
fn show_push_plan(
    plan: &[TokenWrite],
    drifts: &[db::Drift],
    status: &db::Status,
    reveal: bool,
) -> anyhow::Result<()> {
    use io::Write as _;
    let mut err = io::stderr().lock();
    writeln!(
        err,
        "k2cse db push will write {} token(s) to {}/{} in one transaction:",
        plan.len(),
        status.server,
        status.database
    )?;
    for w in plan {
        let entry = drifts
            .iter()
            .find(|d| d.link.token.as_deref() == Some(w.token.as_str()))
            .map_or(String::new(), |d| format!(" (entry {})", d.link.entry));
        writeln!(
            err,
            "  {} {}{entry}{}",
            if w.expected.is_some() {
                "update"
            } else {
                "create"
            },
            w.token,
            if w.encrypt { ", encrypted" } else { "" }
        )?;
        if let Some(old) = &w.expected {
            writeln!(err, "    was: {}", display_any(old, reveal))?;
        }
        writeln!(err, "    now: {}", display_any(&w.new, reveal))?;
    }
    Ok(())
}

fn discover(
    ctx: &Context,
    options: &DbOptions,
    mapping_option: &MappingOption,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    let mut c = connect(ctx, options)?;
    let tokens = c.run(async |db| db.tokens().await)?;
    let doc = ctx.load()?;
    let found = db::link::discover(&doc.entries()?, &tokens, &mapping(mapping_option)?);
    let unreadable: Vec<&str> = tokens
        .iter()
        .filter(|t| t.value == TokenValue::Unreadable)
        .map(|t| t.name.as_str())
        .collect();
    if ctx.json {
        let report = DbDiscoverReport {
            tokens: found.iter().map(DiscoveryShown::of).collect(),
            unreadable,
        };
        write_json(out, &report.document())?;
        return Ok(Outcome::Ok);
    }
    writeln!(
        out,
        "Tokens holding connection strings (which K2 uses for what is not publicly documented; confirm, then record links in a --mapping file):"
    )?;
    for d in &found {
        writeln!(
            out,
            "\n{}{}",
            d.token,
            if d.encrypted { " (encrypted)" } else { "" }
        )?;
        writeln!(
            out,
            "    linked to: {}",
            d.linked_to.as_deref().unwrap_or("(no entry)")
        )?;
        for (entry, m) in &d.matches {
            let how = match m {
                db::link::Match::Same => "same settings".to_owned(),
                db::link::Match::Similar { equal, of } => format!("{equal} of {of} settings equal"),
            };
            writeln!(out, "    matches:   {entry} ({how})")?;
        }
        if d.matches.is_empty() {
            writeln!(out, "    matches:   no entry")?;
        }
    }
    if !unreadable.is_empty() {
        writeln!(
            out,
            "\n{} encrypted token(s) could not be read: {}",
            unreadable.len(),
            c.db.status().keys
        )?;
    }
    Ok(Outcome::Ok)
}
