//! `k2cse.show/1`: one entry with its kind's unset keys and its findings.

use serde::Serialize;

use super::Schema;
use crate::entry::schema::KeySpec;
use crate::lint::Diagnostic;

/// `k2cse.show/1`. `E` is the entry as `k2cse.list/1` shows it (the front end's rendering,
/// secrets masked unless revealed), to which `show` adds the kind's title and unset keys.
#[derive(Debug, Serialize)]
pub struct ShowReport<'a, E> {
    /// The entry.
    pub entry: ShownEntry<E>,
    /// The entry's findings.
    pub findings: &'a [Diagnostic],
}

/// The `entry` of a [`ShowReport`].
#[derive(Debug, Serialize)]
pub struct ShownEntry<E> {
    /// The entry as listed.
    #[serde(flatten)]
    pub listed: E,
    /// The kind's human name (null for an unknown type).
    pub kind_title: Option<&'static str>,
    /// The keys the kind knows that the entry does not set.
    pub unset_keys: Vec<UnsetKey>,
}

/// A key of the entry's kind that the entry does not set.
#[derive(Debug, Serialize)]
pub struct UnsetKey {
    /// The key's canonical name.
    pub key: &'static str,
    /// What K2 uses when it is not set.
    pub default: Option<&'static str>,
    /// What it is for.
    pub description: &'static str,
}

impl From<&KeySpec> for UnsetKey {
    fn from(k: &KeySpec) -> Self {
        UnsetKey {
            key: k.name,
            default: k.default,
            description: k.description,
        }
    }
}

impl<E: Serialize> Schema for ShowReport<'_, E> {
    const NAME: &'static str = "k2cse.show/1";
}
