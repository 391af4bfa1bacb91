//! Writing keys and values the way .NET's `AppendKeyValuePairBuilder` does.

use std::borrow::Cow;

use super::InvalidPair;

/// A key as written in a connection string: `=` doubled.
pub fn format_key(key: &str) -> Cow<'_, str> {
    if key.contains('=') {
        Cow::Owned(key.replace('=', "=="))
    } else {
        Cow::Borrowed(key)
    }
}

/// A value as .NET writes it: bare when it has no quote, `=`, `;`, white space or control
/// character; else in single quotes when it holds `"` but no `'`; else in double quotes with
/// `"` doubled.
///
/// One deliberate difference: .NET writes the empty string as `key=`, which it then reads back
/// as "no value" (the key disappears). We write `key=""`, which reads back as the empty string.
pub fn format_value(value: &str) -> Cow<'_, str> {
    if value.is_empty() {
        return Cow::Borrowed("\"\"");
    }
    let plain = value
        .chars()
        .all(|c| !matches!(c, '"' | '\'' | '=' | ';') && !c.is_whitespace() && !c.is_control());
    if plain {
        Cow::Borrowed(value)
    } else if value.contains('"') && !value.contains('\'') {
        Cow::Owned(format!("'{value}'"))
    } else {
        Cow::Owned(format!("\"{}\"", value.replace('"', "\"\"")))
    }
}

/// .NET's `ConnectionStringValidKeyPattern`: `^(?![;\s])[^\p{Cc}]+(?<!\s)$`.
pub fn validate_key(key: &str) -> Result<(), InvalidPair> {
    // Every pair of every entry is checked: ASCII keys (all real ones) byte by byte.
    if let (Some(first), Some(last)) = (key.as_bytes().first(), key.as_bytes().last())
        && key.is_ascii()
    {
        let bad = *first == b';'
            || first.is_ascii_whitespace()
            || last.is_ascii_whitespace()
            || *first == 0x0B
            || *last == 0x0B
            || key.bytes().any(|b| b.is_ascii_control());
        return if bad {
            Err(InvalidPair::Key(key.to_owned()))
        } else {
            Ok(())
        };
    }
    let bad = key.is_empty()
        || key.starts_with(';')
        || key.starts_with(char::is_whitespace)
        || key.ends_with(char::is_whitespace)
        || key.chars().any(char::is_control);
    if bad {
        Err(InvalidPair::Key(key.to_owned()))
    } else {
        Ok(())
    }
}

/// .NET's `ConnectionStringValidValuePattern`: no embedded NUL.
pub fn validate_value(key: &str, value: &str) -> Result<(), InvalidPair> {
    if value.contains('\0') {
        Err(InvalidPair::Value(key.to_owned()))
    } else {
        Ok(())
    }
}
