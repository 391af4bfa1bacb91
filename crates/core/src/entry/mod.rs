//! Entries of the `connectionStrings` section: what they are called, what kind they are, and
//! what their connection string holds.

mod kind;
mod name;
pub mod schema;
pub mod sql_client;

use std::fmt;

pub use kind::{EntityRule, KINDS, Kind, KindSpec};
pub use name::{EntryName, eq_ignore_case, fold_name};

use crate::connstr::{ConnectionString, SyntaxError};
use crate::error::Location;
use crate::secret::MASK;

/// One effective `<add>` element, as .NET would load it.
#[derive(Clone)]
pub struct Entry {
    /// The `name` attribute.
    pub name: EntryName,
    /// What the type part of the name says this is.
    pub kind: Kind,
    /// The decoded `connectionString` attribute; `None` when the attribute is absent.
    pub value: Option<String>,
    /// The value read with .NET's rules.
    pub parsed: Result<ConnectionString, SyntaxError>,
    /// Where a syntax error in the value is, in the file.
    pub error_location: Option<Location>,
    /// The `providerName` attribute, if any.
    pub provider_name: Option<String>,
    /// Where the `<add>` element starts.
    pub location: Location,
    /// Index of the element among the section's children (for edits).
    pub(crate) child: usize,
}

impl Entry {
    /// The value .NET sees for `key` (case-insensitive), if the string parses and has it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.parsed.as_ref().ok()?.get(key)
    }

    /// The value of a known setting under any of its spellings (`URL`/`Url`, `Server`/`Data
    /// Source`), last one written winning as .NET's builders do.
    pub fn setting(&self, canonical: &str) -> Option<&str> {
        let parsed = self.parsed.as_ref().ok()?;
        let Some(spec) = self.kind.key_spec(canonical) else {
            return parsed.get(canonical);
        };
        let mut found = None;
        for (key, value) in parsed.effective_iter() {
            if spec.matches(key) {
                found = Some(value);
            }
        }
        found
    }

    /// The effective pairs, or none when the string does not parse.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.parsed
            .as_ref()
            .map(ConnectionString::effective)
            .unwrap_or_default()
    }

    /// Whether the value of `key` must be masked.
    pub fn is_secret(&self, key: &str) -> bool {
        self.kind.is_secret(key)
    }

    /// The connection string for display: as written, with every secret value replaced by
    /// `********` unless `reveal`. A string that does not parse is masked after any key that
    /// looks secret, up to the next `;`.
    pub fn display_value(&self, reveal: bool) -> Option<String> {
        let value = self.value.as_deref()?;
        if reveal {
            return Some(value.to_owned());
        }
        Some(masked(value, self.parsed.as_ref().ok(), |key| {
            self.is_secret(key)
        }))
    }
}

/// `value` with every secret value replaced by `********`: pairs of `parsed` (the parse of
/// `value`) whose key `is_secret` says so, or, when it does not parse, any `key=...` segment
/// whose key looks secret, up to the next `;`.
pub fn masked(
    value: &str,
    parsed: Option<&ConnectionString>,
    is_secret: impl Fn(&str) -> bool,
) -> String {
    let Some(cs) = parsed else {
        return mask_leniently(value);
    };
    let mut out = value.to_owned();
    let mut spans: Vec<_> = Vec::new();
    for pair in cs.pairs() {
        if pair.value.as_deref().is_none_or(str::is_empty) {
            continue;
        }
        if is_secret(&pair.key) {
            spans.push(pair.value_span.clone());
        } else {
            // A password in a URL's user-info (`https://user:pw@host`) is one too.
            let start = pair.value_span.start;
            spans.extend(
                schema::url_userinfo_secrets(&value[pair.value_span.clone()])
                    .into_iter()
                    .map(|r| start + r.start..start + r.end),
            );
        }
    }
    spans.sort_by_key(|r| std::cmp::Reverse(r.start));
    for span in spans {
        out.replace_range(span, MASK);
    }
    out
}

/// Any value (a database token, say) for display: connection strings have their secret-looking
/// keys masked unless `reveal`; other text is shown as it is.
pub fn display_any(value: &str, reveal: bool) -> String {
    if reveal {
        return value.to_owned();
    }
    let parsed = ConnectionString::parse(value).ok();
    masked(value, parsed.as_ref(), schema::looks_secret)
}

/// Masks `key=value` segments whose key looks secret, and URL user-info, in text that does not
/// parse. Text that does not parse is often a password holding an unquoted `;` (or an
/// unterminated quote): the segments without a `=` that follow a secret are the rest of it,
/// and are masked with it.
fn mask_leniently(value: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut in_secret = false;
    for segment in value.split(';') {
        match segment.split_once('=') {
            Some((key, _)) if schema::looks_secret(key.trim()) => {
                in_secret = true;
                out.push(format!("{key}={MASK}"));
            }
            Some(_) => {
                in_secret = false;
                out.push(mask_url_userinfo(segment));
            }
            None if in_secret => {}
            None => out.push(mask_url_userinfo(segment)),
        }
    }
    out.join(";")
}

/// `text` with the passwords of URLs' user-info masked.
pub fn mask_url_userinfo(text: &str) -> String {
    let mut out = text.to_owned();
    for range in schema::url_userinfo_secrets(text).into_iter().rev() {
        out.replace_range(range, MASK);
    }
    out
}

/// Masks connection-string text found anywhere in `text` (comments, lines of a diff, messages):
/// the value after every `key=` whose key looks secret, up to the next `;`, quote, `<` or line
/// end, and URL user-info. XML attributes (`key="..."`) are left alone unless their name
/// itself looks secret (`password="..."`); values already masked stay as they are.
pub fn mask_text(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut edits: Vec<std::ops::Range<usize>> = Vec::new();
    for (eq, _) in text.match_indices('=') {
        // The key: back to a delimiter.
        let key_start = text[..eq]
            .rfind([';', '"', '\'', '<', '>', '\n', '(', ',', '{', '&', '?'])
            .map_or(0, |i| i + 1);
        let key = text[key_start..eq].trim();
        if key.is_empty() || !schema::looks_secret(key) {
            continue;
        }
        let mut start = eq + 1;
        while bytes.get(start) == Some(&b' ') {
            start += 1;
        }
        let rest = &text[start..];
        if rest.starts_with(MASK) {
            continue;
        }
        let (start, end) = if let Some(q) = rest.strip_prefix("&quot;") {
            let end = q.find("&quot;").map_or(text.len(), |e| start + 6 + e);
            (start + 6, end)
        } else if let Some(quote) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) {
            if key.eq_ignore_ascii_case("key") {
                continue;
            }
            let end = rest[1..].find(quote).map_or(text.len(), |e| start + 1 + e);
            (start + 1, end)
        } else {
            let end = rest
                .find([';', '"', '\'', '<', '\n', '\r', '&'])
                .map_or(text.len(), |e| start + e);
            (start, end)
        };
        if end > start {
            edits.push(start..end);
        }
    }
    edits.extend(schema::url_userinfo_secrets(text));
    // Overlapping finds (a URL inside a secret value) are merged: the whole of both is masked.
    edits.sort_by_key(|r| r.start);
    let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
    for range in edits {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    let mut out = text.to_owned();
    for range in merged.into_iter().rev() {
        out.replace_range(range, MASK);
    }
    out
}

impl Drop for Entry {
    /// The raw value may hold passwords: wipe it.
    fn drop(&mut self) {
        if let Some(value) = self.value.as_mut() {
            zeroize::Zeroize::zeroize(value);
        }
    }
}

impl fmt::Debug for Entry {
    /// Connection strings hold passwords: debug output names the keys, never the values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("parsed", &self.parsed)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}
