//! Entry names: `Type` or `Type:Entity`.

use std::fmt;

/// An entry name split the way K2 splits it: at the first `:`.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct EntryName {
    full: String,
    colon: Option<usize>,
}

impl EntryName {
    /// Splits `full` at its first `:`.
    pub fn new(full: impl Into<String>) -> Self {
        let full = full.into();
        let colon = full.find(':');
        Self { full, colon }
    }

    /// The name exactly as in the file.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The connection type, e.g. `SourceCode.Net.Mail.SmtpConnection`.
    pub fn type_name(&self) -> &str {
        self.colon.map_or(&self.full, |i| &self.full[..i])
    }

    /// The target entity after the first `:` (usually a mailbox), if any.
    pub fn entity(&self) -> Option<&str> {
        self.colon.map(|i| &self.full[i + 1..])
    }

    /// Whether two names denote the same entry. .NET Framework's connection-string collection
    /// compares names case-insensitively (`StringComparer.OrdinalIgnoreCase`), and so does
    /// K2's duplicate check.
    pub fn same_as(&self, other: &str) -> bool {
        eq_ignore_case(&self.full, other)
    }
}

/// Ordinal case-insensitive comparison, as .NET's `OrdinalIgnoreCase` (simple upper-casing).
pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars().map(upper).eq(b.chars().map(upper))
}

/// A key for hashing names so that names equal under [`eq_ignore_case`] hash equal.
pub fn fold_name(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_uppercase()
    } else {
        s.chars().map(upper).collect()
    }
}

fn upper(c: char) -> char {
    let mut u = c.to_uppercase();
    match (u.next(), u.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

impl fmt::Display for EntryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl fmt::Debug for EntryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_first_colon() {
        let n = EntryName::new("SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:k2@x.com");
        assert_eq!(
            n.type_name(),
            "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection"
        );
        assert_eq!(n.entity(), Some("k2@x.com"));
        let n = EntryName::new("a:b:c");
        assert_eq!((n.type_name(), n.entity()), ("a", Some("b:c")));
        let n = EntryName::new("HostserverDB");
        assert_eq!((n.type_name(), n.entity()), ("HostserverDB", None));
        let n = EntryName::new("T:");
        assert_eq!(n.entity(), Some(""));
    }

    #[test]
    fn names_compare_case_insensitively() {
        assert!(EntryName::new("HostServerDB").same_as("hostserverdb"));
        assert!(EntryName::new("Smtp:ÉLODIE@x.com").same_as("smtp:élodie@X.com"));
        assert!(!EntryName::new("a").same_as("b"));
    }
}
