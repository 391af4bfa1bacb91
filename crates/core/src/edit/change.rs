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
enum Scalar {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// What a value must be, said without the value (it may be a password).
const SCALAR_EXPECTED: &str =
    "a value must be text, a whole number or true/false (put it in quotes to keep it as written)";

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("text, a whole number or true/false")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Scalar, E> {
                Ok(Scalar::Text(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(
                self,
                v: String,
            ) -> std::result::Result<Scalar, E> {
                Ok(Scalar::Text(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Scalar, E> {
                i64::try_from(v)
                    .map(Scalar::Int)
                    .map_err(|_| E::custom(SCALAR_EXPECTED))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> std::result::Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            // Never serde's default "invalid type: floating point `1.5`": no value in messages.
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> std::result::Result<Scalar, E> {
                Err(E::custom(SCALAR_EXPECTED))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                _: A,
            ) -> std::result::Result<Scalar, A::Error> {
                Err(serde::de::Error::custom(SCALAR_EXPECTED))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                _: A,
            ) -> std::result::Result<Scalar, A::Error> {
                Err(serde::de::Error::custom(SCALAR_EXPECTED))
            }
            fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Scalar, E> {
                Err(E::custom(SCALAR_EXPECTED))
            }
        }
        d.deserialize_any(Visitor)
    }
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

/// The largest batch file k2cse reads: thousands of changes fit in a fraction of it.
pub const MAX_BATCH_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a batch of changes from a TOML or JSON file (by extension; `.json` is JSON, anything
/// else TOML). See docs/cli.md for the format.
pub fn read_batch(path: &Path) -> Result<Vec<Change>> {
    let text = crate::bounded::read_to_string(path, MAX_BATCH_BYTES, "batch file")?;
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
                message: json_message(text, &e),
            })?
    } else {
        toml::from_str::<BatchFile>(text).map_err(|e| Error::Batch {
            path: path.to_owned(),
            message: toml_message(text, &e),
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

/// A TOML error as `line L, column C (key "K"): what`, without the line's text: the parser's
/// own message quotes the source line, which may hold a password.
fn toml_message(text: &str, e: &toml::de::Error) -> String {
    // A change is read through serde's buffering (the `op` tag), which loses positions: the
    // error then says line 1, column 1. Find the real place in the spanned document.
    let span = e
        .span()
        .filter(|s| s.start > 0)
        .or_else(|| locate_toml(text));
    match span {
        Some(span) => format!("{}: {}", place(text, span.start), plain(e.message())),
        None => plain(e.message()),
    }
}

/// Where in a TOML batch the first problem a typed read would hit is: a value of the wrong type
/// under `values`, else the first change that does not read on its own.
fn locate_toml(text: &str) -> Option<std::ops::Range<usize>> {
    use toml::de::{DeTable, DeValue};
    let root = DeTable::parse(text).ok()?;
    let changes = root
        .get_ref()
        .iter()
        .find(|(k, _)| matches!(k.get_ref().as_ref(), "change" | "changes"))?
        .1;
    let DeValue::Array(items) = changes.get_ref() else {
        return Some(changes.span());
    };
    for item in items {
        let DeValue::Table(table) = item.get_ref() else {
            return Some(item.span());
        };
        for (key, value) in table {
            if key.get_ref().as_ref() != "values" {
                continue;
            }
            let DeValue::Table(values) = value.get_ref() else {
                return Some(value.span());
            };
            for (_, v) in values {
                if !matches!(
                    v.get_ref(),
                    DeValue::String(_) | DeValue::Integer(_) | DeValue::Boolean(_)
                ) {
                    return Some(v.span());
                }
            }
        }
    }
    // Each change on its own: the first that fails is the one to look at.
    let table: toml::Table = toml::from_str(text).ok()?;
    let list = table
        .get("change")
        .or_else(|| table.get("changes"))?
        .as_array()?;
    list.iter()
        .zip(items)
        .find(|(value, _)| Change::deserialize(toml::Value::clone(value)).is_err())
        .map(|(_, item)| item.span())
}

/// A JSON error the same way (`serde_json` counts columns in bytes from 1).
fn json_message(text: &str, e: &serde_json::Error) -> String {
    let message = e.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m);
    let offset = text
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(str::len)
        .sum::<usize>()
        + e.column().saturating_sub(1);
    format!(
        "{}: {}",
        place(text, offset.min(text.len())),
        plain(message)
    )
}

/// `line L, column C` of a byte offset (columns in characters), and the key whose value is
/// there when one is (`key "Password"`), so that the user finds the place without k2cse
/// printing the value.
fn place(text: &str, offset: usize) -> String {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    let on_line = &before[line_start..];
    let key = on_line.rfind(['=', ':']).and_then(|eq| {
        let k = on_line[..eq]
            .rsplit(['{', ',', '[', '\t'])
            .next()?
            .trim()
            .trim_matches(['"', '\'']);
        (!k.is_empty() && k.len() <= 100).then(|| format!(" (key \"{k}\")"))
    });
    format!("line {line}, column {column}{}", key.unwrap_or_default())
}

/// A parser's message in plain words, with any value it quotes left out.
fn plain(message: &str) -> String {
    let message = message.trim().trim_end_matches('.');
    let mut out = String::new();
    let mut rest = message;
    // serde's `invalid type: string "x"` / `integer `5`` / `floating point `1.5``.
    for (what, open, close) in [
        ("string \"", '"', '"'),
        ("integer `", '`', '`'),
        ("floating point `", '`', '`'),
    ] {
        while let Some(i) = rest.find(what) {
            let value_start = i + what.len();
            let Some(end) = rest[value_start..].find(close) else {
                break;
            };
            let _ = open;
            out.push_str(&rest[..i]);
            out.push_str(
                what.split(' ')
                    .next()
                    .unwrap_or(what)
                    .trim_end_matches(['"', '`']),
            );
            out.push_str(if what.starts_with("floating") {
                " number"
            } else {
                ""
            });
            rest = &rest[value_start + end + 1..];
        }
    }
    out.push_str(rest);
    out.replace("untagged enum Scalar", "text, a whole number or true/false")
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
    fn batch_errors_name_the_key_and_place_never_the_value() {
        let toml = "[[change]]\nop = \"set\"\nname = \"x\"\nvalues = { User = \"u\", Password = 1.5, Other = \"Hunter2-Secret\" }\n";
        let err = parse_batch(Path::new("b.toml"), toml)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("b.toml: line 4, column "), "{err}");
        assert!(err.contains("(key \"Password\")"), "{err}");
        assert!(err.contains("text, a whole number or true/false"), "{err}");
        assert!(
            !err.contains("Hunter2-Secret") && !err.contains("1.5"),
            "{err}"
        );
        let json = "{\"changes\": [{\"op\": \"set\", \"name\": \"x\",\n \"values\": \"Password=Hunter2-Secret\"}]}";
        let err = parse_batch(Path::new("b.json"), json)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("b.json: line 2, column "), "{err}");
        assert!(!err.contains("Hunter2-Secret"), "{err}");
        // A syntax error on a line holding a password does not quote the line.
        let toml =
            "[[change]]\nop = \"set\"\nname = \"x\"\nvalues = { Password = \"Hunter2-Secret\" \n";
        let err = parse_batch(Path::new("b.toml"), toml)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("Hunter2-Secret"), "{err}");
        assert!(err.contains("line 4"), "{err}");
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
