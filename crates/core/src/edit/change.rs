//! The edits every front end can ask for, and batch files of them (`k2cse apply`).

use std::fmt;
use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::protect::DataAlgorithm;

/// Key/value pairs to set, in the order given (the order new keys are appended in).
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct Values(pub Vec<(String, String)>);

impl Values {
    /// Pairs from anything iterable.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// Iterates over the pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Values {
    /// Values may be passwords: only keys are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| format!("{k}=…")))
            .finish()
    }
}

/// A value in a batch file: text, a whole number, or a boolean (written `True`/`False`, the way
/// .NET writes booleans).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Int(i64),
    Bool(bool),
}

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let map = IndexMap::<String, Scalar>::deserialize(d)?;
        Ok(Self(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Scalar::Text(s) => s,
                        Scalar::Int(i) => i.to_string(),
                        Scalar::Bool(true) => "True".to_owned(),
                        Scalar::Bool(false) => "False".to_owned(),
                    };
                    (k, v)
                })
                .collect(),
        ))
    }
}

/// One edit of the `connectionStrings` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Change {
    /// Set keys of an existing entry (adding keys it does not have).
    Set {
        /// The entry.
        name: String,
        /// Keys and values.
        values: Values,
    },
    /// Remove keys from an entry.
    Unset {
        /// The entry.
        name: String,
        /// The keys (any spelling .NET treats as the same key).
        keys: Vec<String>,
    },
    /// Add a new entry.
    Add {
        /// Its name, `Type` or `Type:Entity`.
        name: String,
        /// Its keys and values.
        #[serde(default)]
        values: Values,
    },
    /// Remove an entry (every `<add>` of that name).
    Remove {
        /// The entry.
        name: String,
    },
    /// Rename an entry, keeping its value.
    Rename {
        /// The entry.
        name: String,
        /// The new name.
        to: String,
    },
    /// Replace an entry's whole connection string.
    Replace {
        /// The entry.
        name: String,
        /// The new connection string, as written in the file.
        connection_string: String,
    },
    /// Encrypt the section (`configProtectionProvider`), as .NET's `ProtectSection` does.
    Protect {
        /// The provider (default: `K2ConfigurationKey` when declared, else the only one).
        #[serde(default)]
        provider: Option<String>,
        /// The data algorithm (default: the provider's, Triple DES unless `useFIPS`).
        #[serde(default)]
        algorithm: Option<DataAlgorithm>,
    },
    /// Store the section decrypted, as the documented manual procedure does.
    Unprotect,
    /// `change` applied to one of several entries sharing its name (a file .NET refuses
    /// until the duplicates are repaired): `set`, `unset`, `replace`, `rename` or `remove`.
    At {
        /// Which one.
        at: Pick,
        /// The change.
        change: Box<Change>,
    },
}

/// Which of several same-named entries a change addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pick {
    /// The n-th in file order, from 1.
    Nth(usize),
    /// The one whose `<add>` starts on this line.
    Line(usize),
}

impl Change {
    /// The entry this change concerns (none for section-wide changes).
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Set { name, .. }
            | Self::Unset { name, .. }
            | Self::Add { name, .. }
            | Self::Remove { name }
            | Self::Rename { name, .. }
            | Self::Replace { name, .. } => Some(name),
            Self::Protect { .. } | Self::Unprotect => None,
            Self::At { change, .. } => change.name(),
        }
    }

    /// The change itself and the entry it picks, for a [`Change::At`].
    pub fn picked(&self) -> (&Change, Option<Pick>) {
        match self {
            Self::At { at, change } => (change, Some(*at)),
            other => (other, None),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchFile {
    #[serde(alias = "changes")]
    change: Vec<Change>,
}

/// Reads a batch of changes from a TOML or JSON file (by extension; `.json` is JSON, anything
/// else TOML). See docs/cli.md for the format.
pub fn read_batch(path: &Path) -> Result<Vec<Change>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_batch(path, &text)
}

/// Parses batch-file text; `path` decides the format and names the file in errors.
pub fn parse_batch(path: &Path, text: &str) -> Result<Vec<Change>> {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let batch = if is_json {
        // A bare array is accepted too.
        serde_json::from_str::<BatchFile>(text)
            .or_else(|e| {
                serde_json::from_str::<Vec<Change>>(text)
                    .map(|change| BatchFile { change })
                    .map_err(|_| e)
            })
            .map_err(|e| Error::Batch {
                path: path.to_owned(),
                message: e.to_string(),
            })?
    } else {
        toml::from_str::<BatchFile>(text).map_err(|e| Error::Batch {
            path: path.to_owned(),
            message: e.to_string(),
        })?
    };
    if batch.change.is_empty() {
        return Err(Error::Batch {
            path: path.to_owned(),
            message: "the batch holds no changes".into(),
        });
    }
    Ok(batch.change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picked_change_in_a_batch() {
        let toml = r#"
            [[change]]
            op = "at"
            at = { nth = 2 }
            change = { op = "remove", name = "HostserverDB" }
        "#;
        let changes = parse_batch(Path::new("b.toml"), toml).unwrap();
        assert_eq!(
            changes,
            [Change::At {
                at: Pick::Nth(2),
                change: Box::new(Change::Remove {
                    name: "HostserverDB".into()
                }),
            }]
        );
        assert_eq!(changes[0].name(), Some("HostserverDB"));
    }

    #[test]
    fn toml_and_json_batches_mean_the_same() {
        let toml = r#"
            [[change]]
            op = "set"
            name = "SourceCode.Net.Mail.SmtpConnection"
            values = { "Host Name" = "smtp.office365.com", Port = 587, "Enable" = true }

            [[change]]
            op = "unset"
            name = "SourceCode.Net.Mail.SmtpConnection"
            keys = ["Password"]

            [[change]]
            op = "rename"
            name = "a"
            to = "b"
        "#;
        let json = r#"{"changes": [
            {"op": "set", "name": "SourceCode.Net.Mail.SmtpConnection",
             "values": {"Host Name": "smtp.office365.com", "Port": 587, "Enable": true}},
            {"op": "unset", "name": "SourceCode.Net.Mail.SmtpConnection", "keys": ["Password"]},
            {"op": "rename", "name": "a", "to": "b"}
        ]}"#;
        let a = parse_batch(Path::new("b.toml"), toml).unwrap();
        let b = parse_batch(Path::new("b.json"), json).unwrap();
        assert_eq!(a, b);
        let Change::Set { values, .. } = &a[0] else {
            panic!()
        };
        assert_eq!(
            values.0,
            [
                ("Host Name".into(), "smtp.office365.com".into()),
                ("Port".into(), "587".into()),
                ("Enable".into(), "True".into())
            ]
        );
    }

    #[test]
    fn mistakes_are_reported_with_the_file() {
        let err = parse_batch(
            Path::new("b.toml"),
            "[[change]]\nop = \"sett\"\nname = \"x\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("b.toml: "), "{err}");
        let err = parse_batch(Path::new("b.json"), "{\"changes\": []}").unwrap_err();
        assert!(err.to_string().contains("no changes"), "{err}");
        let err = parse_batch(
            Path::new("b.toml"),
            "[[change]]\nop = \"remove\"\nname = \"x\"\ntypo = 1\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("typo"), "{err}");
    }

    #[test]
    fn debug_never_shows_values() {
        let c = Change::Set {
            name: "x".into(),
            values: Values::from_pairs([("Password", "hunter2")]),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
