//! Checks that catch what would break K2's mail before K2 does.
//!
//! Every rule has a stable code (`K2C0nn`), a name, a fixed severity and a fix hint; the table
//! [`RULES`] is the reference (and is printed by `k2cse lint --rules` and in docs/lint-rules.md).

mod entry_rules;
pub mod exchange_online;
mod file_rules;
mod http_url;
mod values;

pub use values::poll_interval;

use std::borrow::Cow;

use serde::Serialize;

use crate::config::{Document, SectionNote};
use crate::entry::Kind;
use crate::error::{Location, Result};

/// How bad a finding is. Errors make `k2cse lint` exit with 3, and k2cse refuses to save a
/// change that introduces one (unless forced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is wrong.
    Info,
    /// Probably wrong, or about to stop working.
    Warning,
    /// K2 will fail with this configuration.
    Error,
}

impl Severity {
    /// `error`, `warning` or `info`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// A lint rule's fixed description.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    /// Stable code, e.g. `K2C019`.
    pub code: &'static str,
    /// Stable kebab-case name.
    pub name: &'static str,
    /// Severity of every finding of this rule.
    pub severity: Severity,
    /// One line on what it checks.
    pub summary: &'static str,
}

macro_rules! rules {
    ($($id:ident = $code:literal, $name:literal, $sev:ident, $summary:literal;)*) => {
        $(#[doc = $summary] #[allow(clippy::doc_markdown)] pub const $id: Rule = Rule { code: $code, name: $name, severity: Severity::$sev, summary: $summary };)*
        /// Every rule, in code order.
        pub const RULES: &[Rule] = &[$($id),*];
    };
}

rules! {
    EMPTY = "K2C001", "empty-connection-string", Error, "An entry whose connection string is empty or missing (K2: \"Value cannot be null. Parameter name: connectionString\").";
    SYNTAX = "K2C002", "connection-string-syntax", Error, "A connection string .NET cannot parse.";
    DUPLICATE_ENTRY = "K2C003", "duplicate-entry", Error, "Two <add> elements with the same name (case-insensitive); .NET refuses the file.";
    DUPLICATE_KEY = "K2C004", "duplicate-key", Warning, "A key given more than once (or under two synonyms); only the last counts.";
    SHADOWED = "K2C005", "shadowed-entry", Warning, "An <add> cancelled by a later <remove> or <clear>.";
    STRUCTURE = "K2C006", "section-structure", Error, "An element or attribute .NET does not accept in <connectionStrings>, or an <add>/<remove> without a name.";
    ENTITY = "K2C007", "entity", Warning, "A missing target entity (mailbox) where K2 expects one, or one where K2 expects none.";
    UNKNOWN_KEY = "K2C010", "unknown-key", Warning, "A key the entry's kind does not know (an error for HostserverDB, whose builder rejects it).";
    BOOLEAN = "K2C011", "invalid-boolean", Error, "A True/False setting with another value.";
    BOOLEAN_SPELLING = "K2C012", "boolean-spelling", Warning, "A boolean written yes/no; write True or False.";
    URL_IGNORED = "K2C013", "url-with-autodiscover", Warning, "URL is set but Autodiscover=True, so K2 ignores it.";
    BAD_URL = "K2C014", "invalid-url", Error, "A URL that is not an absolute http(s) URL.";
    INSECURE_URL = "K2C015", "insecure-url", Warning, "A URL that is not https.";
    OAUTH_INCOMPLETE = "K2C016", "oauth-incomplete", Error, "OAuth Resource without OAuth Resource Audience, or the other way round.";
    MAILBOX_MISMATCH = "K2C017", "oauth-mailbox-mismatch", Warning, "On an OAuth entry, the mailbox in the name differs from User ID (or User ID is missing).";
    POLL_INTERVAL = "K2C018", "invalid-poll-interval", Error, "A Poll Interval that is not a number with an optional S, M, H or D suffix.";
    OAUTH_PASSWORD = "K2C019", "password-with-oauth", Warning, "A Password in plain text on an entry that authenticates with OAuth (it is not used).";
    EWS_ONLINE = "K2C020", "ews-exchange-online", Warning, "EWS to Exchange Online, which Microsoft blocks from 2026-10-01 and shuts down on 2027-04-01; K2 5.8.1+ moves to Microsoft Graph.";
    NO_ENDPOINT = "K2C021", "ews-no-endpoint", Warning, "Autodiscover=False with neither URL nor OAuth: K2 has no EWS endpoint.";
    EWS_BASIC_AUTH = "K2C022", "ews-basic-auth-online", Error, "EWS to Exchange Online with a Password and no OAuth: Basic authentication, refused by Exchange Online since 2022-10-01.";
    NUMBER = "K2C030", "invalid-number", Error, "A number out of range or not a number (SMTP Port 1-65535, pool sizes, timeouts).";
    CHOICE = "K2C031", "invalid-choice", Error, "A value outside a fixed list (SMTP TLS, SMTP Authentication, ApplicationIntent).";
    SMTP_HOST = "K2C032", "smtp-no-host", Error, "An SMTP entry without Host Name.";
    SMTP_CREDENTIALS = "K2C033", "smtp-credentials", Warning, "Plain authentication without User ID or Password.";
    SMTP_BASIC_AUTH_ONLINE = "K2C034", "smtp-basic-auth-online", Warning, "SMTP AUTH with a password (Authentication=Plain) to Exchange Online: disabled by default from the end of December 2026 (MC786329); an error from 2027-01-01.";
    SQL_DATA_SOURCE = "K2C040", "hostserverdb-no-server", Error, "HostserverDB without Data Source (or Server).";
    NO_HOSTSERVERDB = "K2C041", "no-hostserverdb", Warning, "A K2 config without a HostserverDB entry.";
    HOSTSERVERDB_REMOVED = "K2C042", "hostserverdb-removed", Error, "An edit that removes or renames HostserverDB (K2 cannot start without it; the vendor tool disables Delete for it): refused unless forced.";
    PLAINTEXT_SECRETS = "K2C050", "plaintext-secrets", Info, "Passwords in an unencrypted section (K2 encrypts it again at its next start).";
    PROTECTED = "K2C051", "protected-section", Error, "The section is encrypted and no key was given: nothing was checked (a scheduled lint must not look green).";
    OAEP_PROVIDER = "K2C052", "oaep-provider", Warning, "The provider has useOAEP=\"true\": .NET writes the rsa-1_5 URI but OAEP padding, then picks the padding from the URI, so it cannot decrypt what it wrote.";
    CONFIG_FILE = "K2C060", "config-file", Error, "Something around the section that makes .NET refuse the whole file: an attribute on <configuration> other than its namespace (e.g. xmlns:xdt), or an encoding declaration the file's bytes contradict (UTF-16 declared in a UTF-8 file, UTF-8 or a code page declared in a UTF-16 file).";
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The rule's code.
    pub code: &'static str,
    /// The rule's name.
    pub rule: &'static str,
    /// The rule's severity.
    pub severity: Severity,
    /// What is wrong, in plain words (never containing a secret value). Borrowed when the
    /// same words hold for every entry (the Exchange Online retirement).
    pub message: Cow<'static, str>,
    /// How to fix it. Nearly always a fixed text: borrowed, since lint can report one finding
    /// for each of 100,000 entries.
    pub hint: Cow<'static, str>,
    /// The entry concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// The key concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Where in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl Diagnostic {
    /// A finding of `rule`.
    pub fn new(
        rule: Rule,
        message: impl Into<Cow<'static, str>>,
        hint: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            code: rule.code,
            rule: rule.name,
            severity: rule.severity,
            message: message.into(),
            hint: hint.into(),
            entry: None,
            key: None,
            location: None,
        }
    }

    fn at(mut self, location: Option<&Location>) -> Self {
        self.location = location.cloned();
        self
    }

    fn entry(mut self, name: &str) -> Self {
        self.entry = Some(name.to_owned());
        self
    }

    fn key(mut self, key: &str) -> Self {
        self.key = Some(key.to_owned());
        self
    }

    /// Identity for "did this change introduce it": everything but the position, which edits
    /// elsewhere in the file can move.
    pub fn identity(&self) -> (&str, Option<&str>, Option<&str>, &str) {
        (
            self.code,
            self.entry.as_deref(),
            self.key.as_deref(),
            &self.message,
        )
    }
}

/// Settings for a lint run.
#[derive(Debug, Clone, Copy)]
pub struct LintOptions {
    /// The date rules compare against (the EWS retirement dates).
    pub today: time::Date,
}

impl LintOptions {
    /// Options for linting as of `date` (`YYYY-MM-DD`), so dated rules can be checked for a
    /// given day; `None` when `date` is not such a date.
    pub fn as_of(date: &str) -> Option<Self> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(date.trim(), &format)
            .ok()
            .map(|today| Self { today })
    }
}

impl Default for LintOptions {
    fn default() -> Self {
        Self {
            today: time::OffsetDateTime::now_utc().date(),
        }
    }
}

/// Lints the document's section: structure, every entry, and file-wide rules.
pub fn lint(doc: &Document, options: &LintOptions) -> Result<Vec<Diagnostic>> {
    let mut out = structural(doc)?;
    // One pass over the entries, each read once and dropped: the per-entry rules and the
    // count of entries with secrets.
    let mut secrets = 0;
    for entry in doc.entry_iter()? {
        let entry = entry?;
        entry_rules::check(&entry, *options, &mut out);
        if holds_secret(&entry) {
            secrets += 1;
        }
    }
    // Secrets in an encrypted section are encrypted on disk.
    if secrets > 0 && doc.protection().is_none() {
        out.push(Diagnostic::new(
            PLAINTEXT_SECRETS,
            format!(
                "{secrets} {} passwords in an unencrypted section",
                if secrets == 1 {
                    "entry holds"
                } else {
                    "entries hold"
                }
            ),
            "K2 encrypts the section again when it starts; restart the K2 service after editing",
        ));
    }
    // Compared by reference: a key that clones the path costs an allocation per comparison.
    out.sort_by(|a, b| position(a).cmp(&position(b)));
    Ok(out)
}

/// Where a finding is, for sorting (findings without a place first, as `None < Some`).
fn position(d: &Diagnostic) -> Option<(&std::path::Path, usize, usize)> {
    d.location
        .as_ref()
        .map(|l| (l.path.as_path(), l.line, l.column))
}

/// Findings about the section as a whole, which need entry names only: structure,
/// duplicates, shadowed entries, a missing `HostserverDB`, encryption.
pub fn structural(doc: &Document) -> Result<Vec<Diagnostic>> {
    let spec = doc.protection_spec();
    let mut out = file_rules::check(doc);
    if let (Some(protection), Some(spec)) = (doc.protection(), &spec)
        && spec.use_oaep
    {
        out.push(
            Diagnostic::new(
                OAEP_PROVIDER,
                format!("provider \"{}\" is declared with useOAEP=\"true\": .NET encrypts with OAEP padding but writes the rsa-1_5 algorithm URI, and decrypts by the URI, so .NET cannot read back what it wrote", protection.provider),
                "declare the provider without useOAEP (K2's own K2ConfigurationKey uses the default, false), then re-encrypt: k2cse unprotect, then k2cse protect",
            )
            .at(Some(&protection.location)),
        );
    }
    if let Some(protection) = doc.protection().filter(|p| !p.unlocked) {
        let export = spec.as_ref().map_or_else(
            || "pass --key-file with the provider's exported key".to_owned(),
            crate::protect::need_key,
        );
        out.push(
            Diagnostic::new(
                PROTECTED,
                format!("the connectionStrings section is encrypted with provider \"{}\" and no key was given: its entries were not checked", protection.provider),
                export,
            )
            .at(Some(&protection.location)),
        );
        return Ok(out);
    }
    let names = doc.names()?;
    out.extend(names.notes.iter().map(note_diagnostic));
    // The type is the part before the first `:`, as `EntryName` splits it.
    let kinds = || {
        names
            .slots
            .iter()
            .map(|s| Kind::of_type(s.name.split(':').next().unwrap_or_default()))
    };
    if kinds().any(|k| k != Kind::Other) && !kinds().any(|k| k == Kind::HostServerDb) {
        out.push(Diagnostic::new(
            NO_HOSTSERVERDB,
            "no HostserverDB entry: the K2 server cannot reach its database",
            "add one: k2cse add HostserverDB \"Data Source=SQLSERVER;Initial Catalog=K2;Integrated Security=True\"",
        ));
    }
    Ok(out)
}

/// Findings about the entries named `name` (normally one).
pub fn entry_diagnostics(
    doc: &Document,
    options: &LintOptions,
    name: &str,
) -> Result<Vec<Diagnostic>> {
    let mut out = Vec::new();
    if doc.protection().is_none_or(|p| p.unlocked) {
        for entry in doc.entries_named(name)? {
            entry_rules::check(&entry, *options, &mut out);
        }
    }
    Ok(out)
}

/// Every effective entry's own findings in one pass over the section, in file order: for
/// each entry, what [`entry_diagnostics`] returns for its name (entries sharing a name, which
/// the file should not have, each appear with their own findings). Reading all entries this
/// way costs one pass; asking [`entry_diagnostics`] for every name would look each one up
/// among all the others.
pub fn each_entry_diagnostics(
    doc: &Document,
    options: &LintOptions,
) -> Result<Vec<(String, Vec<Diagnostic>)>> {
    let mut all = Vec::new();
    for_each_entry(doc, options, |entry, findings| {
        all.push((entry.name.as_str().to_owned(), findings));
        Ok(())
    })?;
    Ok(all)
}

/// Calls `f` with every effective entry and its own findings (see [`entry_diagnostics`]), in
/// file order, each entry read once and dropped after `f`: a listing of 100,000 entries
/// never holds them all. Nothing is called for an encrypted section that is not unlocked.
pub fn for_each_entry(
    doc: &Document,
    options: &LintOptions,
    mut f: impl FnMut(crate::entry::Entry, Vec<Diagnostic>) -> Result<()>,
) -> Result<()> {
    if doc.protection().is_some_and(|p| !p.unlocked) {
        return Ok(());
    }
    for entry in doc.entry_iter()? {
        let entry = entry?;
        let findings = check_entry(&entry, options);
        f(entry, findings)?;
    }
    Ok(())
}

/// The findings of the single-entry rules on `entry` (no section-wide rules).
pub fn check_entry(entry: &crate::entry::Entry, options: &LintOptions) -> Vec<Diagnostic> {
    let mut findings = Vec::new();
    entry_rules::check(entry, *options, &mut findings);
    findings
}

fn holds_secret(entry: &crate::entry::Entry) -> bool {
    entry.parsed.as_ref().is_ok_and(|cs| {
        cs.effective_iter()
            .any(|(k, v)| !v.is_empty() && entry.is_secret(k))
    })
}

fn note_diagnostic(note: &SectionNote) -> Diagnostic {
    match note {
        SectionNote::DuplicateName { location, name, first } => Diagnostic::new(
            DUPLICATE_ENTRY,
            format!("entry \"{name}\" is added twice (first at line {}); .NET refuses the file and K2 does not start", first.line),
            "remove or rename one of them",
        )
        .entry(name)
        .at(Some(location)),
        SectionNote::Shadowed { location, name, by } => Diagnostic::new(
            SHADOWED,
            format!("entry \"{name}\" has no effect: the <remove>/<clear> at line {} cancels it", by.line),
            "delete the entry, or move it after the <remove>/<clear>",
        )
        .entry(name)
        .at(Some(location)),
        SectionNote::MissingName { location, element } => Diagnostic::new(
            STRUCTURE,
            format!("<{element}> without a name attribute (.NET: \"Required attribute 'name' not found\")"),
            "add a name attribute or delete the element",
        )
        .at(Some(location)),
        SectionNote::UnknownElement { location, element } => Diagnostic::new(
            STRUCTURE,
            format!("<{element}> is not allowed in <connectionStrings> (.NET: \"Unrecognized element\")"),
            "only <add>, <remove> and <clear> may appear here",
        )
        .at(Some(location)),
        SectionNote::UnknownAttribute { location, attribute } => Diagnostic::new(
            STRUCTURE,
            format!("attribute \"{attribute}\" is not allowed on <add> (.NET: \"Unrecognized attribute\")"),
            "<add> takes name, connectionString and providerName",
        )
        .at(Some(location)),
    }
}

#[cfg(test)]
mod tests;
