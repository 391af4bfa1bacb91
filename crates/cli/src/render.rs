//! Turning core data into text and JSON. Every JSON document carries a `schema` field
//! (`k2cse.<command>/<version>`); docs/cli.md describes each one.

use std::io;

use std::collections::HashMap;

use k2cse_core::Document;
use k2cse_core::entry::Entry;
use k2cse_core::entry::fold_name;
use k2cse_core::lint::{Diagnostic, Severity};
use k2cse_core::secret::shown_value;
use serde_json::{Value, json};

/// Writes `value` as pretty JSON and a newline.
pub fn write_json(out: &mut dyn io::Write, value: &Value) -> io::Result<()> {
    writeln!(out, "{value:#}")
}

/// The `config` object: which file, how it is stored, whether it is protected.
pub fn config_json(doc: &Document) -> Value {
    let main = doc.main_file();
    json!({
        "path": doc.path(),
        "encoding": main.encoding().label(),
        "line_ending": if main.line_ending() == "\r\n" { "crlf" } else { "lf" },
        "config_source": doc.config_source(),
        "protected": doc.protection(),
    })
}

/// Counts of findings by severity.
#[derive(Debug, Default, Clone, Copy)]
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

    pub fn json(self) -> Value {
        json!({ "error": self.error, "warning": self.warning, "info": self.info })
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
pub fn entry_json(entry: &Entry, reveal: bool, findings: &[&Diagnostic]) -> Value {
    let pairs: Vec<Value> = entry
        .pairs()
        .into_iter()
        .map(|(key, value)| {
            let secret = entry.is_secret(key);
            json!({
                "key": key,
                "value": shown_value(value, secret, reveal),
                "secret": secret,
                "known": entry.kind.key_spec(key).map(|k| k.name),
            })
        })
        .collect();
    json!({
        "name": entry.name.as_str(),
        "type": entry.name.type_name(),
        "entity": entry.name.entity(),
        "kind": entry.kind.id(),
        "location": entry.location,
        "connection_string": entry.display_value(reveal),
        "parse_error": entry.parsed.as_ref().err().map(ToString::to_string),
        "provider_name": entry.provider_name,
        "pairs": pairs,
        "findings": Counts::of(findings.iter().copied()).json(),
    })
}

/// A finding as `path:line:col: severity[CODE] rule: message` plus an indented hint.
pub fn diagnostic_text(out: &mut dyn io::Write, d: &Diagnostic) -> io::Result<()> {
    let place = d
        .location
        .as_ref()
        .map(|l| format!("{l}: "))
        .unwrap_or_default();
    let entry = d
        .entry
        .as_deref()
        .map(|e| format!(" [{e}]"))
        .unwrap_or_default();
    writeln!(
        out,
        "{place}{}[{}] {}{entry}: {}",
        d.severity.label(),
        d.code,
        d.rule,
        d.message
    )?;
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
