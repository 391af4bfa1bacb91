//! What a save changes, entry by entry and key by key (`old → new`), for the review table;
//! secrets masked. Computed from the document as loaded and as edited, with the core's
//! parsing, so that it says what .NET will read.

use k2cse_core::Document;
use k2cse_core::connstr::same_key;
use k2cse_core::entry::{Entry, fold_name};

/// How an entry changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryChangeKind {
    /// New in the file.
    Added,
    /// Gone from the file.
    Removed,
    /// Its connection string changes.
    Changed,
}

/// One key's change. Secret values are masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    /// The key as written (the new spelling when both exist).
    pub key: String,
    /// Before (`None`: the key is added).
    pub old: Option<String>,
    /// After (`None`: the key is removed).
    pub new: Option<String>,
}

/// One entry's changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryChange {
    /// The entry's name (the new one when it is added).
    pub entry: String,
    /// Added, removed or changed.
    pub kind: EntryChangeKind,
    /// The keys that change (for a connection string that does not parse: one line, `(text)`).
    pub keys: Vec<KeyChange>,
}

/// Shown instead of a secret value.
pub const MASK: &str = "••••••••";

/// The entries and keys that differ between `before` and `after`, in `after`'s order (removed
/// entries last).
pub fn entry_changes(before: &Document, after: &Document) -> Vec<EntryChange> {
    let old = before.entries().unwrap_or_default();
    let new = after.entries().unwrap_or_default();
    let find = |list: &[Entry], name: &str| {
        let folded = fold_name(name);
        list.iter()
            .rev()
            .find(|e| fold_name(e.name.as_str()) == folded)
            .cloned()
    };
    let mut out = Vec::new();
    for entry in &new {
        let name = entry.name.as_str();
        match find(&old, name) {
            None => out.push(EntryChange {
                entry: name.to_owned(),
                kind: EntryChangeKind::Added,
                keys: keys(None, Some(entry)),
            }),
            Some(was) if was.value != entry.value => {
                let keys = keys(Some(&was), Some(entry));
                if !keys.is_empty() {
                    out.push(EntryChange {
                        entry: name.to_owned(),
                        kind: EntryChangeKind::Changed,
                        keys,
                    });
                }
            }
            Some(_) => {}
        }
    }
    for entry in &old {
        if find(&new, entry.name.as_str()).is_none() {
            out.push(EntryChange {
                entry: entry.name.as_str().to_owned(),
                kind: EntryChangeKind::Removed,
                keys: keys(Some(entry), None),
            });
        }
    }
    out
}

/// The key changes between two versions of an entry.
fn keys(old: Option<&Entry>, new: Option<&Entry>) -> Vec<KeyChange> {
    let unparsed = |e: Option<&Entry>| e.is_some_and(|e| e.parsed.is_err());
    if unparsed(old) || unparsed(new) {
        // Not key=value pairs .NET can read: the whole text, masked where it looks secret.
        let text = |e: Option<&Entry>| e.and_then(|e| e.display_value(false));
        let (old, new) = (text(old), text(new));
        return if old == new {
            Vec::new()
        } else {
            vec![KeyChange {
                key: "(text)".to_owned(),
                old,
                new,
            }]
        };
    }
    let pairs = |e: Option<&Entry>| -> Vec<(String, String)> {
        e.map(|e| {
            e.pairs()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default()
    };
    let (before, after) = (pairs(old), pairs(new));
    let secret = |key: &str| old.or(new).is_some_and(|e| e.is_secret(key));
    let shown = |key: &str, value: &str| {
        if secret(key) {
            MASK.to_owned()
        } else {
            value.to_owned()
        }
    };
    let mut out = Vec::new();
    for (key, value) in &after {
        let was = before.iter().find(|(k, _)| same_key(k, key));
        match was {
            Some((_, v)) if v == value => {}
            Some((_, v)) => out.push(KeyChange {
                key: key.clone(),
                old: Some(shown(key, v)),
                new: Some(shown(key, value)),
            }),
            None => out.push(KeyChange {
                key: key.clone(),
                old: None,
                new: Some(shown(key, value)),
            }),
        }
    }
    for (key, value) in &before {
        if !after.iter().any(|(k, _)| same_key(k, key)) {
            out.push(KeyChange {
                key: key.clone(),
                old: Some(shown(key, value)),
                new: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(body: &str) -> Document {
        let text = format!(
            "<configuration>\n  <connectionStrings>\n{body}  </connectionStrings>\n</configuration>\n"
        );
        Document::from_bytes(std::path::Path::new("t.config"), text.into_bytes()).unwrap()
    }

    #[test]
    fn keys_added_removed_and_changed_with_secrets_masked() {
        let smtp = "SourceCode.Net.Mail.SmtpConnection";
        let before = doc(&format!(
            "    <add name=\"{smtp}\" connectionString=\"Host Name=a;Port=25;Password=old\" />\n    <add name=\"Gone\" connectionString=\"x=1\" />\n"
        ));
        let after = doc(&format!(
            "    <add name=\"{smtp}\" connectionString=\"host name=a;Port=587;Password=new;TLS=StartTls\" />\n"
        ));
        let changes = entry_changes(&before, &after);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(changes[0].kind, EntryChangeKind::Changed);
        let key = |k: &str| changes[0].keys.iter().find(|c| c.key == k).unwrap();
        assert_eq!(
            (key("Port").old.as_deref(), key("Port").new.as_deref()),
            (Some("25"), Some("587"))
        );
        assert_eq!(
            (
                key("Password").old.as_deref(),
                key("Password").new.as_deref()
            ),
            (Some(MASK), Some(MASK))
        );
        assert_eq!(key("TLS").old, None);
        assert!(
            !changes[0]
                .keys
                .iter()
                .any(|c| c.key.eq_ignore_ascii_case("host name")),
            "a key spelled differently with the same value is no change"
        );
        assert_eq!(changes[1].entry, "Gone");
        assert_eq!(changes[1].kind, EntryChangeKind::Removed);
    }
}
