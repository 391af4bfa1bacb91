//! Turning core data into text and JSON. Every JSON document carries a `schema` field
//! (`k2cse.<command>/<version>`); docs/cli.md describes each one.
//!
//! The documents of `list` and `lint` are typed `Serialize` structs streamed to the (buffered)
//! output: a `serde_json::Value` tree of 10,000 entries cost more than reading the file.

use std::io;

use std::collections::HashMap;

use k2cse_core::Document;
use k2cse_core::Location;
use k2cse_core::config::Protection;
use k2cse_core::entry::Entry;
use k2cse_core::entry::fold_name;
use k2cse_core::entry::schema::KeySpec;
use k2cse_core::lint::{Diagnostic, Severity};
use k2cse_core::secret::shown_value;
use serde::Serialize;

/// Writes `value` as pretty JSON (two-space indent, as `serde_json` writes it: see
/// [`crate::json`]) and a newline.
pub fn write_json<W: io::Write + ?Sized, T: Serialize + ?Sized>(
    out: &mut W,
    value: &T,
) -> io::Result<()> {
    crate::json::to_writer_pretty(out, value)?;
    writeln!(out)
}

/// The `config` object: which file, how it is stored, whether it is protected.
#[derive(Debug, Serialize)]
pub struct ConfigJson<'a> {
    path: &'a std::path::Path,
    encoding: &'static str,
    line_ending: &'static str,
    config_source: Option<&'a std::path::Path>,
    protected: Option<Protection>,
}

/// The `config` object of `doc`.
pub fn config_json(doc: &Document) -> ConfigJson<'_> {
    let main = doc.main_file();
    ConfigJson {
        path: doc.path(),
        encoding: main.encoding().label(),
        line_ending: if main.line_ending() == "\r\n" {
            "crlf"
        } else {
            "lf"
        },
        config_source: doc.config_source(),
        protected: doc.protection(),
    }
}

/// Counts of findings by severity.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Counts {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
}

impl Counts {
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Diagnostic>) -> Self {
        findings.into_iter().fold(Self::default(), |mut c, d| {
            match d.severity {
                Severity::Error => c.error += 1,
                Severity::Warning => c.warning += 1,
                Severity::Info => c.info += 1,
            }
            c
        })
    }

    /// `2 errors, 1 warning` (or `no findings`).
    pub fn text(self) -> String {
        let mut parts = Vec::new();
        for (n, word) in [
            (self.error, "error"),
            (self.warning, "warning"),
            (self.info, "info"),
        ] {
            if n > 0 {
                let plural = if n == 1 || word == "info" { "" } else { "s" };
                parts.push(format!("{n} {word}{plural}"));
            }
        }
        if parts.is_empty() {
            "no findings".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// One entry as JSON (secrets masked unless `reveal`).
#[derive(Debug, Serialize)]
pub struct EntryJson<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    type_name: &'a str,
    entity: Option<&'a str>,
    kind: &'static str,
    location: &'a Location,
    connection_string: Option<String>,
    parse_error: Option<String>,
    provider_name: Option<&'a str>,
    pairs: Vec<PairJson<'a>>,
    findings: Counts,
}

/// One effective key/value pair of an entry.
#[derive(Debug, Serialize)]
struct PairJson<'a> {
    key: &'a str,
    value: std::borrow::Cow<'a, str>,
    secret: bool,
    known: Option<&'static str>,
}

/// One entry as JSON (secrets masked unless `reveal`).
pub fn entry_json<'a>(entry: &'a Entry, reveal: bool, findings: &[&Diagnostic]) -> EntryJson<'a> {
    let pairs = entry
        .pairs()
        .into_iter()
        .map(|(key, value)| {
            // One schema lookup per key (`Entry::is_secret` would do it again).
            let spec = entry.kind.key_spec(key);
            let secret = spec.map_or_else(|| entry.is_secret(key), KeySpec::is_secret);
            PairJson {
                key,
                value: shown_value(value, secret, reveal),
                secret,
                known: spec.map(|k| k.name),
            }
        })
        .collect();
    EntryJson {
        name: entry.name.as_str(),
        type_name: entry.name.type_name(),
        entity: entry.name.entity(),
        kind: entry.kind.id(),
        location: &entry.location,
        connection_string: entry.display_value(reveal),
        parse_error: entry.parsed.as_ref().err().map(ToString::to_string),
        provider_name: entry.provider_name.as_deref(),
        pairs,
        findings: Counts::of(findings.iter().copied()),
    }
}

/// A finding as `path:line:col: severity[CODE] rule: message` plus an indented hint.
pub fn diagnostic_text(out: &mut dyn io::Write, d: &Diagnostic) -> io::Result<()> {
    // Written piece by piece: `lint` prints thousands of these.
    if let Some(l) = &d.location {
        write!(out, "{l}: ")?;
    }
    write!(out, "{}[{}] {}", d.severity.label(), d.code, d.rule)?;
    if let Some(e) = &d.entry {
        write!(out, " [{e}]")?;
    }
    writeln!(out, ": {}", d.message)?;
    if !d.hint.is_empty() {
        writeln!(out, "    hint: {}", d.hint)?;
    }
    Ok(())
}

/// Findings grouped by the entry they concern, for listing thousands of entries.
#[derive(Debug, Default)]
pub struct FindingsByEntry<'a>(HashMap<String, Vec<&'a Diagnostic>>);

impl<'a> FindingsByEntry<'a> {
    pub fn new(all: &'a [Diagnostic]) -> Self {
        let mut map: HashMap<String, Vec<&Diagnostic>> = HashMap::new();
        for d in all {
            if let Some(entry) = &d.entry {
                map.entry(fold_name(entry)).or_default().push(d);
            }
        }
        Self(map)
    }

    /// The findings concerning entry `name`.
    pub fn get(&self, name: &str) -> &[&'a Diagnostic] {
        // Most files have no such findings: no folded copy of every listed name then.
        if self.0.is_empty() {
            return &[];
        }
        self.0.get(&fold_name(name)).map_or(&[], Vec::as_slice)
    }
}

/// Asks `question` on the terminal and goes on only on "yes"; refuses without a terminal
/// (scripts pass --yes, after checking --dry-run). `command` names what needs it.
pub fn ask_yes(command: &str, question: &str) -> anyhow::Result<()> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    if !std::io::stdin().is_terminal() {
        return Err(crate::UsageError(format!(
            "{command} needs confirmation: run it on a terminal, or pass --yes (after checking --dry-run)"
        ))
        .into());
    }
    let mut stderr = std::io::stderr().lock();
    write!(stderr, "{question} [y/N] ")?;
    stderr.flush()?;
    drop(stderr);
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        anyhow::bail!("not confirmed; nothing was written")
    }
}
