//! The connection string of an entry being added: what setting each given key in turn on an
//! empty string gives ([`super::apply::set_key`]), built in one go when it can be.
//!
//! Why: each `set_key` re-reads the whole string it returns, so an entry of four keys was read
//! four times, and a batch of 2,000 adds spent about a tenth of its time there. When no two of
//! the keys name the same setting, setting them one by one on an empty string only appends:
//! each key under the schema's spelling (or as given, for a key the schema does not know),
//! `key=value` pairs joined by `;`, values quoted as .NET quotes them. That text is built
//! directly; anything else (a setting given twice, under one spelling or two) takes the one-
//! by-one path. A unit test compares the two on generated key lists.

use super::apply::set_key;
use crate::connstr::{
    ConnectionString, format_key, format_value, same_key, validate_key, validate_value,
};
use crate::entry::Entry;
use crate::error::{Error, Result};

/// The connection string `values` make for the new entry `probe` (an entry with no value yet).
pub(super) fn new_connection_string<'a>(
    probe: &Entry,
    values: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<String> {
    let values: Vec<(&str, &str)> = values.collect();
    // Each key under the spelling `set_key` gives a new key.
    let spellings: Vec<&str> = values
        .iter()
        .map(|(key, _)| probe.kind.key_spec(key).map_or(*key, |spec| spec.name))
        .collect();
    let distinct = spellings
        .iter()
        .enumerate()
        .all(|(i, a)| spellings[..i].iter().all(|b| !same_key(a, b)));
    if !distinct {
        return one_by_one(probe, values);
    }
    let mut text = String::new();
    for ((_, value), key) in values.iter().zip(&spellings) {
        let invalid = |source| Error::InvalidPair {
            name: probe.name.as_str().to_owned(),
            source,
        };
        validate_key(key).map_err(invalid)?;
        validate_value(key, value).map_err(invalid)?;
        if !text.is_empty() {
            text.push(';');
        }
        text.push_str(&format_key(key));
        text.push('=');
        text.push_str(&format_value(value));
    }
    Ok(text)
}

/// Setting the keys one by one, as `set` does on an existing entry.
fn one_by_one(probe: &Entry, values: Vec<(&str, &str)>) -> Result<String> {
    let mut cs = ConnectionString::parse("")
        .map_err(|_| Error::InvalidChange("internal: empty string".into()))?;
    for (key, value) in values {
        cs = set_key(probe, cs, key, value)?;
    }
    Ok(cs.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{EntryName, Kind};
    use crate::error::Location;

    fn probe(name: &str) -> Entry {
        let name = EntryName::new(name);
        Entry {
            kind: Kind::of_type(name.type_name()),
            name,
            value: None,
            parsed: ConnectionString::parse(""),
            error_location: None,
            provider_name: None,
            location: Location::new(std::path::Path::new("k.config"), 1, 1),
            child: 0,
        }
    }

    #[test]
    fn built_at_once_as_set_one_by_one_would_build_it() {
        // Schema keys and their synonyms in several cases, unknown keys, keys that need
        // quoting or are invalid; values that need quotes, are empty, or are refused.
        let keys = [
            "User ID",
            "UID",
            "user id",
            "Password",
            "PWD",
            "Server",
            "Port",
            "Autodiscover",
            "URL",
            "Foo",
            "foo",
            " Bar",
            "a;b",
            "==",
            "",
            "Enable SSL",
            "EnableSsl",
        ];
        let values = [
            "x",
            "",
            "a;b",
            "'q'",
            "\"d\"",
            " lead",
            "tail ",
            "a=b",
            "é",
            "\0",
            "x\ny",
            "It's \"x\"",
        ];
        let names = [
            "SourceCode.Net.Mail.SmtpConnection",
            "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:m@example.com",
            "Custom.Thing",
        ];
        let mut state: u64 = 0x853C_49E6_748F_EA9B;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % n as u64).unwrap()
        };
        let mut fast = 0;
        for _ in 0..20_000 {
            let probe = probe(names[next(names.len())]);
            let count = next(5);
            let list: Vec<(&str, &str)> = (0..count)
                .map(|_| (keys[next(keys.len())], values[next(values.len())]))
                .collect();
            let once = new_connection_string(&probe, list.iter().copied());
            let slow = one_by_one(&probe, list.clone());
            match (&once, &slow) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{list:?}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{list:?}"),
                _ => panic!("{list:?}: {once:?} vs {slow:?}"),
            }
            fast += usize::from(once.is_ok());
        }
        assert!(
            fast > 5_000,
            "the comparison covers successful adds: {fast}"
        );
    }
}
