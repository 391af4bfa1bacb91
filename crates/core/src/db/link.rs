//! Which database token holds which config entry, and where the two disagree.
//!
//! **Not publicly documented:** the tokens K2's "update database" writes for the `MessageBus`
//! connection strings. k2cse therefore links an entry to a token by, in order:
//!
//! 1. the mapping file (`--mapping FILE`), when it names the entry;
//! 2. the default name `[ConnectionString:<entry name>]` (the pattern can be changed in the
//!    mapping file), when such a token exists;
//! 3. discovery: a token whose value holds the same settings as the entry.
//!
//! `k2cse db discover` lists every token that looks like a connection string with the entry
//! it matches, so an admin can confirm the links and write them down in a mapping file:
//!
//! ```toml
//! # k2cse mapping: config entry = [HostServer].[Configuration] token ("" = not linked)
//! pattern = "[ConnectionString:{name}]"
//! [tokens]
//! "HostServer" = "[K2HostServerConnectionString]"
//! ```

use std::path::Path;

use super::{DbError, Token, TokenValue, TokenWrite};
use crate::connstr::{ConnectionString, fold_key};
use crate::edit::Change;
use crate::entry::{Entry, eq_ignore_case};

/// The default token name pattern; `{name}` is the entry name.
pub const DEFAULT_PATTERN: &str = "[ConnectionString:{name}]";

/// Entry-to-token links given by the admin, and the default pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pattern: String,
    explicit: Vec<(String, Option<String>)>,
}

impl Default for Mapping {
    fn default() -> Self {
        Self {
            pattern: DEFAULT_PATTERN.to_owned(),
            explicit: Vec::new(),
        }
    }
}

impl Mapping {
    /// Reads a mapping file.
    pub fn load(path: &Path) -> Result<Self, DbError> {
        let text = std::fs::read_to_string(path).map_err(|e| DbError::Mapping {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text).map_err(|message| DbError::Mapping {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses mapping TOML.
    pub fn parse(text: &str) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            pattern: Option<String>,
            #[serde(default)]
            tokens: indexmap::IndexMap<String, String>,
        }
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let pattern = file.pattern.unwrap_or_else(|| DEFAULT_PATTERN.to_owned());
        if !pattern.contains("{name}") {
            return Err(format!("pattern {pattern:?} has no {{name}}"));
        }
        let explicit = file
            .tokens
            .into_iter()
            .map(|(entry, token)| (entry, Some(token).filter(|t| !t.is_empty())))
            .collect();
        Ok(Self { pattern, explicit })
    }

    /// The token the mapping names for `entry` (`Some(None)`: explicitly not linked).
    #[allow(
        clippy::option_option,
        reason = "absent, explicitly unlinked, or linked"
    )]
    fn explicit(&self, entry: &str) -> Option<Option<&str>> {
        self.explicit
            .iter()
            .find(|(e, _)| eq_ignore_case(e, entry))
            .map(|(_, t)| t.as_deref())
    }

    /// The default token name for `entry`.
    pub fn default_token(&self, entry: &str) -> String {
        self.pattern.replace("{name}", entry)
    }
}

/// Why an entry is linked to a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkSource {
    /// The mapping file says so.
    Mapping,
    /// The default name.
    Default,
    /// Same settings found under another name.
    Discovered,
}

/// An entry's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Entry name.
    pub entry: String,
    /// Token name (`None`: the mapping says the entry has none).
    pub token: Option<String>,
    /// Why.
    pub source: LinkSource,
}

/// Whether two connection strings hold the same settings: same keys (case-insensitive) with
/// the same effective values; text that does not parse is compared as it is.
pub fn same_settings(a: &str, b: &str) -> bool {
    match (settings(a), settings(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn settings(text: &str) -> Option<Vec<(String, String)>> {
    let cs = ConnectionString::parse(text).ok()?;
    let mut pairs: Vec<_> = cs
        .effective()
        .into_iter()
        .map(|(k, v)| (fold_key(k), v.to_owned()))
        .collect();
    pairs.sort();
    Some(pairs)
}

/// The keys (as spelled in `a`, else `b`) whose values differ between two connection strings.
pub fn changed_keys(a: &str, b: &str) -> Vec<String> {
    let (Ok(x), Ok(y)) = (ConnectionString::parse(a), ConnectionString::parse(b)) else {
        return Vec::new();
    };
    let (x, y) = (x.effective(), y.effective());
    let mut keys = Vec::new();
    for (k, v) in &x {
        if y.iter()
            .find(|(k2, _)| fold_key(k2) == fold_key(k))
            .map(|(_, v2)| v2)
            != Some(v)
        {
            keys.push((*k).to_owned());
        }
    }
    for (k, _) in &y {
        if !x.iter().any(|(k2, _)| fold_key(k2) == fold_key(k)) {
            keys.push((*k).to_owned());
        }
    }
    keys
}

/// Links every entry to its token.
pub fn link(entries: &[Entry], tokens: &[Token], mapping: &Mapping) -> Vec<Link> {
    let find = |name: &str| tokens.iter().find(|t| t.name.eq_ignore_ascii_case(name));
    // A token under another entry's default name belongs to that entry, whatever it holds.
    let defaults: Vec<String> = entries
        .iter()
        .map(|e| mapping.default_token(e.name.as_str()))
        .collect();
    let mut links: Vec<Link> = Vec::with_capacity(entries.len());
    for entry in entries {
        let name = entry.name.as_str().to_owned();
        if let Some(token) = mapping.explicit(&name) {
            links.push(Link {
                entry: name,
                token: token.map(str::to_owned),
                source: LinkSource::Mapping,
            });
            continue;
        }
        let default = mapping.default_token(&name);
        if let Some(token) = find(&default) {
            links.push(Link {
                entry: name,
                token: Some(token.name.clone()),
                source: LinkSource::Default,
            });
            continue;
        }
        let discovered = entry.value.as_deref().and_then(|value| {
            tokens.iter().find(|t| {
                t.value.text().is_some_and(|v| same_settings(v, value))
                    && !defaults.iter().any(|d| d.eq_ignore_ascii_case(&t.name))
                    && !links.iter().any(|l| {
                        l.token
                            .as_deref()
                            .is_some_and(|n| n.eq_ignore_ascii_case(&t.name))
                    })
            })
        });
        match discovered {
            Some(token) => links.push(Link {
                entry: name,
                token: Some(token.name.clone()),
                source: LinkSource::Discovered,
            }),
            None => links.push(Link {
                entry: name,
                token: Some(default),
                source: LinkSource::Default,
            }),
        }
    }
    links
}

/// How an entry compares with its token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum DriftState {
    /// Same settings.
    InSync,
    /// Different settings; the keys that differ.
    Differs {
        /// Keys whose values differ.
        keys: Vec<String>,
    },
    /// The token does not exist.
    MissingInDatabase,
    /// The token is encrypted and cannot be decrypted in this session.
    Unreadable,
    /// The mapping says this entry has no token.
    NotLinked,
}

/// One entry compared with the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// The entry and its token.
    pub link: Link,
    /// The comparison.
    pub state: DriftState,
    /// The entry's value (may hold secrets: mask before showing).
    pub file_value: Option<String>,
    /// The token's value (may hold secrets).
    pub db_value: Option<String>,
    /// Whether the token is encrypted.
    pub encrypted: bool,
}

/// Compares every entry with its token.
pub fn drift(entries: &[Entry], tokens: &[Token], mapping: &Mapping) -> Vec<Drift> {
    link(entries, tokens, mapping)
        .into_iter()
        .zip(entries)
        .map(|(link, entry)| {
            let token = link
                .token
                .as_deref()
                .and_then(|n| tokens.iter().find(|t| t.name.eq_ignore_ascii_case(n)));
            let file_value = entry.value.clone();
            let (state, db_value, encrypted) = match token {
                _ if link.token.is_none() => (DriftState::NotLinked, None, false),
                None => (DriftState::MissingInDatabase, None, false),
                Some(t) => match &t.value {
                    TokenValue::Unreadable => (DriftState::Unreadable, None, t.encrypted),
                    value => {
                        let db = value.text().unwrap_or_default().to_owned();
                        let file = file_value.clone().unwrap_or_default();
                        let state = if same_settings(&file, &db) {
                            DriftState::InSync
                        } else {
                            DriftState::Differs {
                                keys: changed_keys(&file, &db),
                            }
                        };
                        (state, Some(db), t.encrypted)
                    }
                },
            };
            Drift {
                link,
                state,
                file_value,
                db_value,
                encrypted,
            }
        })
        .collect()
}

/// How well a token's value matches an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "match", rename_all = "kebab-case")]
pub enum Match {
    /// Same settings.
    Same,
    /// Some settings equal.
    Similar {
        /// Settings with equal values.
        equal: usize,
        /// Settings in the entry.
        of: usize,
    },
}

/// A token that looks like a connection string, and the entries it resembles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// Token name.
    pub token: String,
    /// Encrypted.
    pub encrypted: bool,
    /// The entry linked to it now, if any.
    pub linked_to: Option<String>,
    /// Entries it matches, best first.
    pub matches: Vec<(String, Match)>,
}

/// Every token whose value parses as a connection string, with its best-matching entries.
pub fn discover(entries: &[Entry], tokens: &[Token], mapping: &Mapping) -> Vec<Discovery> {
    let links = link(entries, tokens, mapping);
    tokens
        .iter()
        .filter_map(|t| {
            let value = t.value.text()?;
            let pairs = settings(value).filter(|p| !p.is_empty() && value.contains('='))?;
            let mut matches: Vec<(String, Match)> = entries
                .iter()
                .filter_map(|e| {
                    let theirs = settings(e.value.as_deref()?)?;
                    if theirs == pairs {
                        return Some((e.name.as_str().to_owned(), Match::Same));
                    }
                    let equal = theirs.iter().filter(|p| pairs.contains(p)).count();
                    (equal > 0).then(|| {
                        (
                            e.name.as_str().to_owned(),
                            Match::Similar {
                                equal,
                                of: theirs.len(),
                            },
                        )
                    })
                })
                .collect();
            matches.sort_by_key(|(_, m)| match m {
                Match::Same => (0, 0),
                Match::Similar { equal, of } => (1, usize::MAX - equal * 1000 / (*of).max(1)),
            });
            matches.truncate(3);
            let linked_to = links
                .iter()
                .find(|l| {
                    l.token
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&t.name))
                })
                .map(|l| l.entry.clone());
            Some(Discovery {
                token: t.name.clone(),
                encrypted: t.encrypted,
                linked_to,
                matches,
            })
        })
        .collect()
}

fn selected(drift: &Drift, only: &[String]) -> bool {
    only.is_empty() || only.iter().any(|n| eq_ignore_case(n, &drift.link.entry))
}

/// The writes `db push` makes: file values into tokens that differ (and, with `create`, into
/// new tokens, encrypted when `encrypt_new`). Unreadable tokens are an error: their current
/// value cannot be checked.
pub fn push_plan(
    drifts: &[Drift],
    only: &[String],
    create: bool,
    encrypt_new: bool,
    keys: &super::KeyStatus,
) -> Result<Vec<TokenWrite>, DbError> {
    let unreadable: Vec<_> = drifts
        .iter()
        .filter(|d| selected(d, only) && d.state == DriftState::Unreadable)
        .filter_map(|d| d.link.token.clone())
        .collect();
    if !unreadable.is_empty() {
        return Err(DbError::KeysUnavailable {
            tokens: unreadable.join(", "),
            reason: keys.to_string(),
        });
    }
    Ok(drifts
        .iter()
        .filter(|d| selected(d, only))
        .filter_map(|d| {
            let token = d.link.token.clone()?;
            let new = d.file_value.clone()?;
            match &d.state {
                DriftState::Differs { .. } => Some(TokenWrite {
                    token,
                    expected: d.db_value.clone(),
                    new,
                    encrypt: d.encrypted,
                }),
                DriftState::MissingInDatabase if create => Some(TokenWrite {
                    token,
                    expected: None,
                    new,
                    encrypt: encrypt_new,
                }),
                _ => None,
            }
        })
        .collect())
}

/// The file changes `db pull` makes: database values into entries that differ.
pub fn pull_changes(drifts: &[Drift], only: &[String]) -> Vec<Change> {
    drifts
        .iter()
        .filter(|d| selected(d, only) && matches!(d.state, DriftState::Differs { .. }))
        .filter_map(|d| {
            Some(Change::Replace {
                name: d.link.entry.clone(),
                connection_string: d.db_value.clone()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_compare_like_dotnet_reads_them() {
        assert!(same_settings("A=1;B='x;y'", " b = \"x;y\" ; a=1;"));
        assert!(same_settings("A=1;A=2", "A=2"));
        assert!(!same_settings("A=1", "A=1;B=2"));
        assert!(!same_settings("A=x", "A=X"), "values are compared exactly");
        assert!(same_settings("not = ' parsable", "not = ' parsable"));
        assert_eq!(
            changed_keys("Host=a;Port=25;TLS=None", "host=a;port=587;Extra=1"),
            ["Port", "TLS", "Extra"]
        );
    }

    #[test]
    fn mapping_files_are_checked() {
        let m =
            Mapping::parse("pattern = \"K2:{name}\"\n[tokens]\n\"a\" = \"[T]\"\n\"b\" = \"\"\n")
                .unwrap();
        assert_eq!(m.default_token("x"), "K2:x");
        assert_eq!(m.explicit("A"), Some(Some("[T]")));
        assert_eq!(m.explicit("b"), Some(None));
        assert_eq!(m.explicit("c"), None);
        assert!(
            Mapping::parse("pattern = \"fixed\"")
                .unwrap_err()
                .contains("{name}")
        );
        assert!(Mapping::parse("typo = 1").is_err());
    }
}
