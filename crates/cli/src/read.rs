//! The read-only commands: `list`, `show`, `lint`.

use std::io::{self, Write as _};

use k2cse_core::Document;
use k2cse_core::entry::{Entry, Kind};
use k2cse_core::lint::{self, Diagnostic, LintOptions, RULES};
use k2cse_core::protect::Scheme;
use k2cse_core::secret::shown_value;
use serde::Serialize;

use k2cse_core::report::{RulesReport, Schema as _, ShowReport, ShownEntry, UnsetKey};

use crate::args::{LintArgs, ListArgs, ShowArgs};
use crate::context::Context;
use crate::entries::EntriesJson;
use crate::render::{
    ConfigJson, Counts, FindingsByEntry, config_json, diagnostic_text, entry_json, write_json,
};
use crate::{Outcome, UsageError};

/// `k2cse list`
pub fn list(ctx: &Context, args: &ListArgs, out: &mut dyn io::Write) -> anyhow::Result<Outcome> {
    // Thousands of lines: one write per buffer, not one per line (stdout is line-buffered).
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    let outcome = list_to(ctx, args, &mut out)?;
    out.flush()?;
    Ok(outcome)
}

/// Output of `list` and `lint`: a concrete buffered writer (see [`write_json`]).
type Out<'a> = io::BufWriter<&'a mut dyn io::Write>;

fn list_to(ctx: &Context, args: &ListArgs, out: &mut Out<'_>) -> anyhow::Result<Outcome> {
    let doc = ctx.load()?;
    if let Some(kind) = &args.kind {
        let known = [
            "ews-connection",
            "ews-destination",
            "smtp",
            "hostserver-db",
            "hostserver",
            "other",
        ];
        if !known.contains(&kind.as_str()) {
            return Err(UsageError(format!(
                "unknown kind {kind:?}; use one of {}",
                known.join(", ")
            ))
            .into());
        }
    }
    let wanted = |e: &Entry| args.kind.as_ref().is_none_or(|k| e.kind.id() == k);
    let options = LintOptions::default();
    // Section-wide findings that name an entry (duplicates, shadowed entries); each entry's
    // own findings are computed as it is listed, in one pass that holds one entry at a time.
    let structural = lint::structural(&doc)?;
    let by_entry = FindingsByEntry::new(&structural);
    if ctx.json {
        let entries = EntriesJson::new(&doc, options, &by_entry, ctx.reveal, &wanted);
        let written = write_json(
            out,
            &ListJson {
                schema: "k2cse.list/1",
                config: config_json(&doc),
                entries: &entries,
            },
        );
        entries.into_result(written)?;
        return Ok(listed(&doc));
    }
    header(out, &doc)?;
    if doc.protection().is_some_and(|p| !p.unlocked) {
        return Ok(listed(&doc));
    }
    let width = doc
        .names()?
        .slots
        .iter()
        .filter(|s| {
            let type_name = s.name.split(':').next().unwrap_or_default();
            args.kind
                .as_ref()
                .is_none_or(|k| Kind::of_type(type_name).id() == k)
        })
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0);
    lint::for_each_entry(&doc, &options, |e, own| {
        if !wanted(&e) {
            return Ok(());
        }
        let named = by_entry.get(e.name.as_str());
        let counts = Counts::of(named.iter().copied().chain(&own));
        let io = |err| k2cse_core::Error::io(doc.path(), err);
        // Straight into the buffer, no `String` per line: the line number is padded only
        // when a status follows it (a line never ends in spaces).
        write!(
            out,
            "  {:<width$}  {:<15}  line ",
            e.name.as_str(),
            e.kind.id()
        )
        .map_err(io)?;
        if counts.error + counts.warning == 0 {
            writeln!(out, "{}", e.location.line)
        } else {
            writeln!(out, "{:<5}  ({})", e.location.line, counts.text())
        }
        .map_err(io)?;
        if args.long {
            writeln!(
                out,
                "      {}",
                e.display_value(ctx.reveal)
                    .unwrap_or_else(|| "(no connectionString attribute)".into())
            )
            .map_err(io)?;
        }
        Ok(())
    })?;
    Ok(Outcome::Ok)
}

/// A list of an encrypted section read without its key listed nothing: exit 3 (K2C051), so a
/// scheduled check does not look green.
fn listed(doc: &Document) -> Outcome {
    if doc.protection().is_some_and(|p| !p.unlocked) {
        Outcome::LintErrors
    } else {
        Outcome::Ok
    }
}

fn header(out: &mut dyn io::Write, doc: &Document) -> io::Result<()> {
    let main = doc.main_file();
    let eol = if main.line_ending() == "\r\n" {
        "CRLF"
    } else {
        "LF"
    };
    let count = doc.names().map_or(0, |n| n.slots.len());
    writeln!(
        out,
        "{} ({}, {eol}): {count} entr{}",
        doc.path().display(),
        main.encoding().label(),
        if count == 1 { "y" } else { "ies" }
    )?;
    if let Some(source) = doc.config_source() {
        writeln!(out, "  section in {} (configSource)", source.display())?;
    }
    match doc.protection() {
        Some(p) if p.unlocked => writeln!(
            out,
            "  encrypted with provider {:?} ({}); decrypted in memory",
            p.provider,
            describe_scheme(p.scheme)
        )?,
        Some(p) => writeln!(
            out,
            "  the section is encrypted with provider {:?}; its entries cannot be read: {}",
            p.provider,
            doc.protection_spec().map_or_else(
                || "pass --key-file with the provider's exported key".to_owned(),
                |spec| k2cse_core::protect::need_key(&spec)
            )
        )?,
        None => {}
    }
    Ok(())
}

/// `k2cse show NAME`
pub fn show(ctx: &Context, args: &ShowArgs, out: &mut dyn io::Write) -> anyhow::Result<Outcome> {
    let doc = ctx.load()?;
    if let Some(p) = doc.protection().filter(|p| !p.unlocked) {
        anyhow::bail!(
            "{}: the connectionStrings section is encrypted with provider {:?}, so {:?} cannot be shown without its key; {}",
            doc.path().display(),
            p.provider,
            args.name,
            doc.protection_spec().map_or_else(
                || "pass --key-file with the provider's exported key".to_owned(),
                |spec| k2cse_core::protect::need_key(&spec)
            )
        );
    }
    let entry = doc.entry_at(&args.name, args.pick.pick())?;
    let options = LintOptions::default();
    let findings = lint::entry_diagnostics(&doc, &options, entry.name.as_str())?;
    let spec = entry.kind.spec();
    let unset: Vec<_> = spec
        .map(|s| {
            s.keys
                .iter()
                .filter(|k| entry.setting(k.name).is_none())
                .collect()
        })
        .unwrap_or_default();
    if ctx.json {
        let report = ShowReport {
            entry: ShownEntry {
                listed: entry_json(&entry, ctx.reveal, &findings.iter().collect::<Vec<_>>()),
                kind_title: spec.map(|s| s.title),
                unset_keys: unset.iter().map(|k| UnsetKey::from(*k)).collect(),
            },
            findings: &findings,
        };
        write_json(out, &report.document())?;
        return Ok(Outcome::Ok);
    }
    writeln!(out, "{}", entry.name)?;
    writeln!(
        out,
        "  kind      {} ({})",
        spec.map_or("unknown type; keys shown as written", |s| s.title),
        entry.kind.id()
    )?;
    writeln!(out, "  type      {}", entry.name.type_name())?;
    if let Some(entity) = entry.name.entity() {
        writeln!(out, "  entity    {entity}")?;
    }
    writeln!(out, "  location  {}", entry.location)?;
    if let Err(err) = &entry.parsed {
        let value = entry.display_value(ctx.reveal).unwrap_or_default();
        writeln!(out, "  value     {value}\n  error     {err}")?;
    } else {
        let pairs = entry.pairs();
        let width = pairs
            .iter()
            .map(|(k, _)| k.len())
            .chain(unset.iter().map(|k| k.name.len()))
            .max()
            .unwrap_or(0);
        writeln!(out)?;
        for (key, value) in &pairs {
            let unknown = entry.kind != Kind::Other && entry.kind.key_spec(key).is_none();
            let note = if unknown { "   (unknown key)" } else { "" };
            writeln!(
                out,
                "  {key:<width$}  {}{note}",
                shown_value(value, entry.is_secret(key), ctx.reveal)
            )?;
        }
        if args.all {
            for k in &unset {
                writeln!(
                    out,
                    "  {:<width$}  (not set; default {})  {}",
                    k.name,
                    k.default.unwrap_or("none"),
                    k.description
                )?;
            }
        }
    }
    if !findings.is_empty() {
        writeln!(out)?;
        for d in &findings {
            diagnostic_text(out, d)?;
        }
    }
    Ok(Outcome::Ok)
}

/// `k2cse lint --rules`: the rule table (needs no config file).
pub fn rules(json: bool, out: &mut dyn io::Write) -> anyhow::Result<Outcome> {
    if json {
        write_json(out, &RulesReport { rules: RULES }.document())?;
    } else {
        for r in RULES {
            writeln!(
                out,
                "{}  {:<8} {:<26} {}",
                r.code,
                r.severity.label(),
                r.name,
                r.summary
            )?;
        }
    }
    Ok(Outcome::Ok)
}

/// `k2cse lint`
pub fn lint(ctx: &Context, args: &LintArgs, out: &mut dyn io::Write) -> anyhow::Result<Outcome> {
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    let outcome = lint_to(ctx, args, &mut out)?;
    out.flush()?;
    Ok(outcome)
}

fn lint_to(ctx: &Context, args: &LintArgs, out: &mut Out<'_>) -> anyhow::Result<Outcome> {
    let options = match &args.today {
        Some(day) => LintOptions::as_of(day)
            .ok_or_else(|| anyhow::anyhow!("--today {day:?}: expected a date as YYYY-MM-DD"))?,
        None => LintOptions::default(),
    };
    let doc = ctx.load()?;
    let findings = lint::lint(&doc, &options)?;
    let counts = Counts::of(&findings);
    let failed = counts.error > 0 || (args.strict && counts.warning > 0);
    if ctx.json {
        write_json(
            out,
            &LintJson {
                schema: "k2cse.lint/1",
                config: config_json(&doc),
                findings: &findings,
                summary: counts,
            },
        )?;
    } else {
        for d in &findings {
            diagnostic_text(out, d)?;
        }
        writeln!(out, "{}: {}", doc.path().display(), counts.text())?;
    }
    Ok(if failed {
        Outcome::LintErrors
    } else {
        Outcome::Ok
    })
}

/// The `k2cse.list/1` document.
#[derive(Serialize)]
struct ListJson<'a> {
    schema: &'static str,
    config: ConfigJson<'a>,
    entries: &'a EntriesJson<'a>,
}

/// The `k2cse.lint/1` document.
#[derive(Serialize)]
struct LintJson<'a> {
    schema: &'static str,
    config: ConfigJson<'a>,
    findings: &'a [Diagnostic],
    summary: Counts,
}

/// `tripledes-cbc, RSA PKCS#1 v1.5` and the like.
pub fn describe_scheme(scheme: Option<Scheme>) -> String {
    match scheme {
        Some(Scheme::Rsa { data, oaep, .. }) => format!(
            "{}, RSA {}",
            data.label(),
            if oaep { "OAEP" } else { "PKCS#1 v1.5" }
        ),
        Some(Scheme::Dpapi) => "DPAPI".to_owned(),
        None => "unknown".to_owned(),
    }
}
