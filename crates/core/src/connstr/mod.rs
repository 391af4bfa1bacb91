//! .NET connection strings (`DbConnectionStringBuilder` grammar), parsed losslessly.
//!
//! [`ConnectionString`] keeps the original text and the span of every pair in it. Reading it
//! follows .NET exactly (case-insensitive keys, last duplicate wins, `key=` removes the key);
//! changing it rewrites only the bytes of the pair concerned, so an administrator's formatting,
//! key spelling and quoting of every other pair survive an edit.

mod parse;
mod quote;

use std::fmt;

pub use parse::{Pair, Quote};
pub use quote::{format_key, format_value, validate_key, validate_value};

/// A connection string .NET would reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct SyntaxError {
    /// Byte offset of the error in the connection string.
    pub offset: usize,
    /// The same position in UTF-16 code units, which is what .NET reports.
    pub index: usize,
    /// What is wrong there.
    pub kind: SyntaxErrorKind,
}

/// The two ways .NET refuses a connection string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyntaxErrorKind {
    /// The tokenizer stopped: unbalanced quote, key without `=`, stray control character, ...
    Format,
    /// The pair parsed but its key holds a control character such as a tab or line break,
    /// which `DbConnectionStringBuilder` refuses to store.
    InvalidKeyword,
}

impl SyntaxError {
    fn describe(&self) -> String {
        match self.kind {
            SyntaxErrorKind::Format => format!(
                "connection string syntax error at index {0} (.NET: \"Format of the \
                 initialization string does not conform to specification starting at index {0}\")",
                self.index
            ),
            SyntaxErrorKind::InvalidKeyword => format!(
                "invalid keyword at index {} (.NET: \"Invalid keyword, contain one or more of \
                 'no characters', 'control characters', 'leading or trailing whitespace' or \
                 'leading semicolons'\")",
                self.index
            ),
        }
    }
}

/// A key or value that `DbConnectionStringBuilder` would refuse to store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidPair {
    /// Empty, starts with `;` or white space, ends with white space, or has a control character.
    #[error(
        "invalid key {0:?}: keys must not be empty, start with ';' or white space, end with white space, or contain control characters"
    )]
    Key(String),
    /// The value contains a NUL character.
    #[error("invalid value for key {0:?}: values must not contain NUL characters")]
    Value(String),
}

/// A parsed connection string that remembers its source text.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionString {
    text: String,
    pairs: Vec<Pair>,
    /// Indices into `pairs` of what [`Self::effective`] returns, in its order: computed once
    /// when parsed, since lint asks for several settings of every entry.
    effective: Vec<usize>,
}

impl ConnectionString {
    /// Parses `text` with .NET's rules.
    pub fn parse(text: impl Into<String>) -> Result<Self, SyntaxError> {
        let text = text.into();
        let error = |offset: usize, kind| SyntaxError {
            offset,
            index: utf16_len(&text[..offset]),
            kind,
        };
        let pairs = match parse::tokenize(&text) {
            Ok(pairs) => pairs,
            Err(err) => return Err(error(err.offset, SyntaxErrorKind::Format)),
        };
        // The builder validates each stored key; only a control character inside a key (the
        // tokenizer lets white-space controls such as tab through) can fail that here.
        if let Some(bad) = pairs
            .iter()
            .find(|p| p.value.is_some() && validate_key(&p.key).is_err())
        {
            return Err(error(bad.key_span.start, SyntaxErrorKind::InvalidKeyword));
        }
        let effective = effective_indices(&pairs);
        Ok(Self {
            text,
            pairs,
            effective,
        })
    }

    /// The source text, unchanged.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Every pair as written, duplicates and `key=` removals included, in source order.
    pub fn pairs(&self) -> &[Pair] {
        &self.pairs
    }

    /// The value .NET would see for `key` (case-insensitive), if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.last_pair(key).and_then(|p| p.value.as_deref())
    }

    /// Whether .NET would see a value for `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The pairs .NET ends up with: one per key, the last value winning, `key=` removing.
    ///
    /// Keys are in order of first appearance and spelled as in their last occurrence.
    pub fn effective(&self) -> Vec<(&str, &str)> {
        self.effective_iter().collect()
    }

    /// [`Self::effective`] without collecting it.
    pub fn effective_iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.effective.iter().filter_map(|&i| {
            let pair = self.pairs.get(i)?;
            Some((pair.key.as_str(), pair.value.as_deref()?))
        })
    }

    /// True when .NET would see no pairs at all (empty, blank or only `key=` removals).
    pub fn is_blank(&self) -> bool {
        self.effective.is_empty()
    }

    /// Keys that appear more than once with a value (the last one wins).
    pub fn duplicate_keys(&self) -> Vec<&str> {
        // Compared in place (lint asks this of every entry; most have no duplicate, and then
        // nothing is allocated): a pair repeats a key if an earlier pair with a value has it,
        // and is reported if it is the first such repeat of that key.
        let valued = |p: &&Pair| p.value.is_some();
        let mut dups: Vec<&str> = Vec::new();
        for (i, pair) in self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.value.is_some())
        {
            let earlier = self.pairs.get(..i).unwrap_or_default();
            let repeats = |p: &Pair| p.folded_key == pair.folded_key;
            let seen = earlier.iter().filter(valued).filter(|p| repeats(p)).count();
            if seen == 1 {
                dups.push(&pair.key);
            }
        }
        dups
    }

    /// This string with `key` set to `value`, changing only that pair's value bytes.
    ///
    /// An existing key keeps its spelling and position (the last occurrence is rewritten, so
    /// it wins); a new key is appended with the separator style the string already uses.
    pub fn with_value(&self, key: &str, value: &str) -> Result<Self, InvalidPair> {
        validate_key(key)?;
        validate_value(key, value)?;
        let formatted = format_value(value);
        let mut text = self.text.clone();
        if let Some(pair) = self.last_pair(key) {
            // `key=` followed by spaces: keep the spaces after the new value.
            text.replace_range(pair.value_span.clone(), &formatted);
        } else {
            let (at, insertion) = self.append_point(&format!("{}={formatted}", format_key(key)));
            text.insert_str(at, &insertion);
        }
        Ok(self.reparse(text))
    }

    /// This string without any pair for `key` (every occurrence, so no older one resurfaces).
    #[must_use]
    pub fn without_key(&self, key: &str) -> Self {
        let folded = fold_key(key);
        let mut current = self.clone();
        while let Some(i) = current.pairs.iter().position(|p| p.folded_key == folded) {
            let range = current.removal_range(i);
            let mut text = current.text.clone();
            text.replace_range(range, "");
            current = current.reparse(text);
        }
        current
    }

    /// How `DbConnectionStringBuilder.ConnectionString` would write this string: lower-case
    /// keys, .NET quoting. Useful to compare meanings, never written to a user's file.
    pub fn to_dotnet_string(&self) -> String {
        let mut out = String::new();
        for (key, value) in self.effective() {
            if !out.is_empty() {
                out.push(';');
            }
            out.push_str(&format_key(&fold_key(key)));
            out.push('=');
            out.push_str(&format_value(value));
        }
        out
    }

    fn last_pair(&self, key: &str) -> Option<&Pair> {
        let folded = fold_key(key);
        self.pairs.iter().rev().find(|p| p.folded_key == folded)
    }

    /// Where and what to insert to append `pair_text`, copying the existing separator.
    fn append_point(&self, pair_text: &str) -> (usize, String) {
        let Some(last) = self.pairs.last() else {
            return (self.text.len(), pair_text.to_owned());
        };
        let separator = self
            .pairs
            .windows(2)
            .last()
            .map_or(";", |w| &self.text[w[0].span().end..w[1].key_span.start]);
        // Keep one `;` and the spacing after the last `;` of the existing separator.
        let spacing = separator.rsplit(';').next().unwrap_or("");
        (last.span().end, format!(";{spacing}{pair_text}"))
    }

    /// The bytes to delete to remove pair `i` together with one adjacent separator.
    fn removal_range(&self, i: usize) -> std::ops::Range<usize> {
        let pair = &self.pairs[i];
        // Prefer the separator before the pair: the one after it keeps its spacing.
        if let Some(prev) = i.checked_sub(1).and_then(|p| self.pairs.get(p)) {
            prev.span().end..pair.span().end
        } else if let Some(next) = self.pairs.get(i + 1) {
            pair.key_span.start..next.key_span.start
        } else {
            pair.span()
        }
    }

    /// Re-reads text built from valid pieces. Our own output always parses; if it did not,
    /// keeping the old string is safer than writing something .NET rejects.
    fn reparse(&self, text: String) -> Self {
        Self::parse(text).unwrap_or_else(|_| self.clone())
    }
}

impl Drop for ConnectionString {
    /// Connection strings hold passwords (decrypted ones included): wipe them.
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.text);
        for pair in &mut self.pairs {
            if let Some(value) = pair.value.as_mut() {
                zeroize::Zeroize::zeroize(value);
            }
        }
    }
}

impl fmt::Debug for ConnectionString {
    /// Values may be passwords: debug output lists keys only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field(
                "keys",
                &self.pairs.iter().map(|p| &p.key).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Lower-cases a key the way .NET's `ToLowerInvariant` does: one character at a time, by
/// simple case mapping only. A character whose lower case is not a single character that maps
/// back to it (`İ`, the Kelvin sign) stays as it is, which is what the .NET class library we
/// test against does. .NET lower-cases UTF-16 code units, so a character outside the Basic
/// Multilingual Plane (a surrogate pair, e.g. `𐐀`) is never folded: `𐐀=1;𐐨=2` is two keys.
/// Real keys are ASCII; this only matters for the differential suite.
pub fn fold_key(key: &str) -> String {
    // Every pair of every entry is folded when parsed; real keys are ASCII, where this is
    // one lower-casing copy instead of a character-by-character collect.
    if key.is_ascii() {
        return key.to_ascii_lowercase();
    }
    key.chars().map(fold_char).collect()
}

/// One character of [`fold_key`]. `fold_key` and [`same_key`] both go through it, so the
/// comparison without allocation and the folded `String` cannot disagree.
fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    if u32::from(c) > 0xFFFF {
        return c;
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) if single_upper(l) == Some(c) => l,
        _ => c,
    }
}

fn single_upper(c: char) -> Option<char> {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => Some(u),
        _ => None,
    }
}

/// Whether two keys name the same setting (.NET: `OrdinalIgnoreCase` after lower-casing):
/// `fold_key(a) == fold_key(b)`, compared without building either string (lint compares every
/// key of every entry with the schema's names; two `String`s per comparison were a third of
/// its time). ASCII bytes are compared as they come, so most keys differ at the first byte;
/// the first non-ASCII character switches to folding character by character. This is exact
/// because [`fold_char`] maps one character to one character, ASCII to ASCII and anything
/// else to a non-ASCII character.
pub fn same_key(a: &str, b: &str) -> bool {
    let (left, right) = (a.as_bytes(), b.as_bytes());
    let mut at = 0;
    loop {
        match (left.get(at), right.get(at)) {
            (None, None) => return true,
            (Some(l), Some(r)) if l.is_ascii() && r.is_ascii() => {
                if !l.eq_ignore_ascii_case(r) {
                    return false;
                }
                at += 1;
            }
            // Both at a character boundary (everything before was ASCII): an ASCII character
            // never folds like a non-ASCII one.
            (Some(l), Some(r)) if l.is_ascii() || r.is_ascii() => return false,
            (Some(_), Some(_)) => {
                return a[at..]
                    .chars()
                    .map(fold_char)
                    .eq(b[at..].chars().map(fold_char));
            }
            // One key has more characters than the other.
            _ => return false,
        }
    }
}

/// The pairs .NET ends up with, as indices into `pairs`: one per key, the last value winning,
/// `key=` removing; in order of first appearance (since the last removal).
fn effective_indices(pairs: &[Pair]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::with_capacity(pairs.len());
    for (i, pair) in pairs.iter().enumerate() {
        let slot = out.iter().position(|&j| {
            pairs
                .get(j)
                .is_some_and(|p| p.folded_key == pair.folded_key)
        });
        match (&pair.value, slot) {
            (Some(_), Some(at)) => {
                if let Some(kept) = out.get_mut(at) {
                    *kept = i;
                }
            }
            (Some(_), None) => out.push(i),
            (None, Some(at)) => {
                out.remove(at);
            }
            (None, None) => {}
        }
    }
    out
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

#[cfg(test)]
mod tests;
