//! Attribute values: raw XML text to the string .NET reads, and back.
//!
//! Decoding is what .NET's config reader does, not XML 1.0 attribute-value normalization:
//! System.Configuration reads with `XmlTextReader`, whose `Normalization` is off by default
//! (`XmlUtil`'s constructor; the section's raw XML is copied with CR and LF written as `&#xD;`
//! `&#xA;` and read back by `ConfigXmlReader`, also without normalization). So references are
//! expanded and every literal TAB, LF, CR and CR LF stays as it is in the file — K2 gets
//! `a<TAB>b`, not `a b` (checked against Mono: `tests/tests/interop_whitespace.rs`). The
//! mapped variant also records where each decoded byte came from, so an edit to part of a value
//! can be written back over exactly the raw bytes it replaces, leaving the other bytes of the
//! attribute (including how their characters were escaped) untouched.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::ops::Range;

/// A reference in an attribute value that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrError {
    /// Byte offset in the raw value.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// A decoded value with, for every decoded byte, the raw offset of the token it came from.
#[derive(Debug)]
pub struct MappedValue {
    /// The decoded value.
    pub text: String,
    /// `offsets[i]` is the raw offset of decoded byte `i`; `offsets[text.len()]` is the raw length.
    offsets: Vec<usize>,
}

impl MappedValue {
    /// The raw range that produced the decoded range `decoded` (char boundaries expected).
    pub fn raw_range(&self, decoded: Range<usize>) -> Range<usize> {
        self.offsets[decoded.start]..self.offsets[decoded.end]
    }
}

/// Decodes `raw` as .NET's XML reader would.
pub fn decode(raw: &str) -> Result<Cow<'_, str>, AttrError> {
    if !raw.contains('&') {
        return Ok(Cow::Borrowed(raw));
    }
    decode_mapped(raw).map(|m| Cow::Owned(m.text))
}

/// Decodes `raw` and keeps the map from decoded bytes back to raw offsets.
pub fn decode_mapped(raw: &str) -> Result<MappedValue, AttrError> {
    let mut text = String::with_capacity(raw.len());
    let mut offsets = Vec::with_capacity(raw.len() + 1);
    let mut push = |text: &mut String, c: char, at: usize| {
        text.push(c);
        offsets.extend(std::iter::repeat_n(at, c.len_utf8()));
    };
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i..].chars().next().unwrap_or_default();
        if c == '&' {
            let end = raw[i..].find(';').map(|e| i + e).ok_or_else(|| AttrError {
                offset: i,
                message: "'&' must start a reference such as &amp; (write & as &amp;)".into(),
            })?;
            match reference(&raw[i + 1..end], i)? {
                Some(c) => push(&mut text, c, i),
                // Kept as written, character by character.
                None => raw[i..=end]
                    .char_indices()
                    .for_each(|(k, c)| push(&mut text, c, i + k)),
            }
            i = end + 1;
        } else {
            push(&mut text, c, i);
            i += c.len_utf8();
        }
    }
    offsets.push(raw.len());
    Ok(MappedValue { text, offsets })
}

/// The character a reference `&name;` (given without `&` and `;`) stands for.
fn reference(name: &str, offset: usize) -> Result<Option<char>, AttrError> {
    let error = |message: String| AttrError { offset, message };
    let code = if let Some(hex) = name.strip_prefix("#x") {
        u32::from_str_radix(hex, 16).ok()
    } else if let Some(dec) = name.strip_prefix('#') {
        dec.parse().ok()
    } else {
        return match name {
            "amp" => Ok(Some('&')),
            "lt" => Ok(Some('<')),
            "gt" => Ok(Some('>')),
            "quot" => Ok(Some('"')),
            "apos" => Ok(Some('\'')),
            // .NET's config reader does not expand other entities: `&name;` stays as text.
            _ if crate::xml::lexer::is_entity_name(name) => Ok(None),
            _ => Err(error(format!(
                "&{name}; is not a valid reference (write & as &amp;)"
            ))),
        };
    };
    // With Normalization off, .NET's reader does not range-check character references:
    // `&#0;` or `&#xFFFF;` reach K2 as those characters. A surrogate or a code point past
    // U+10FFFF cannot be a character at all, and .NET refuses it.
    code.and_then(char::from_u32)
        .map(Some)
        .ok_or_else(|| error(format!("&{name}; is not a valid XML character reference")))
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes `value` for an attribute quoted with `quote` so that it decodes back to `value`:
/// markup characters become entity references, and tab, line feed and carriage return become
/// character references (.NET would read them literally too, but any other XML reader — and
/// an editor re-indenting the file — would turn them into spaces).
pub fn escape(value: &str, quote: char) -> Cow<'_, str> {
    if !value.contains(['&', '<', '\t', '\n', '\r', quote]) && value.chars().all(is_xml_char) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 16);
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' if quote == '"' => out.push_str("&quot;"),
            '\'' if quote == '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            // Not allowed literally in XML; .NET reads the reference back as the character.
            _ if !is_xml_char(c) => {
                let _ = write!(out, "&#x{:X};", u32::from(c));
            }
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The smallest change turning `old` into `new`: the differing middle of `old` (a range) and
/// what replaces it. Both ends fall on character boundaries.
pub fn changed_middle<'n>(old: &str, new: &'n str) -> (Range<usize>, &'n str) {
    let prefix: usize = old
        .chars()
        .zip(new.chars())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum();
    let max_suffix = old.len().min(new.len()) - prefix;
    let suffix: usize = old[prefix..]
        .chars()
        .rev()
        .zip(new[prefix..].chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum::<usize>()
        .min(max_suffix);
    (prefix..old.len() - suffix, &new[prefix..new.len() - suffix])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_references_and_keeps_white_space_as_dotnet() {
        assert_eq!(decode("a&amp;b&lt;&gt;&quot;&apos;").unwrap(), "a&b<>\"'");
        assert_eq!(decode("&#65;&#x42;&#xE9;&#x1F600;").unwrap(), "ABé😀");
        assert_eq!(decode("a\r\nb\rc\nd\te").unwrap(), "a\r\nb\rc\nd\te");
        assert_eq!(decode("x&#xD;&#xA;&#9;y").unwrap(), "x\r\n\ty");
        assert!(decode("a & b").is_err());
        // Named entities other than the predefined five are not expanded (.NET neither).
        assert_eq!(decode("a&nbsp;b").unwrap(), "a&nbsp;b");
        assert!(decode("&n bsp;").is_err());
        // No range check on character references (Normalization off), except non-characters.
        assert_eq!(decode("a&#0;b&#xFFFF;").unwrap(), "a\0b\u{FFFF}");
        assert!(decode("&#xD800;").is_err());
        assert!(decode("&#x110000;").is_err());
    }

    #[test]
    fn escape_round_trips_for_both_quotes() {
        for value in [
            "plain",
            "a&b",
            "<x>",
            "say \"hi\" it's",
            "tab\there\nline\r",
            "é😀",
            "nul\0 and \u{1} and \u{FFFF}",
        ] {
            for quote in ['"', '\''] {
                let escaped = escape(value, quote);
                assert!(!escaped.contains(quote), "{escaped}");
                assert_eq!(decode(&escaped).unwrap(), value);
            }
        }
    }

    #[test]
    fn raw_ranges_cover_whole_references() {
        let raw = "a&amp;b&#xE9;c";
        let mapped = decode_mapped(raw).unwrap();
        assert_eq!(mapped.text, "a&béc");
        // The `é` (2 decoded bytes) comes from `&#xE9;`.
        assert_eq!(&raw[mapped.raw_range(3..5)], "&#xE9;");
        assert_eq!(&raw[mapped.raw_range(0..2)], "a&amp;");
        assert_eq!(&raw[mapped.raw_range(5..6)], "c");
    }

    #[test]
    fn changed_middle_is_minimal() {
        assert_eq!(changed_middle("a=1;b=2;c=3", "a=1;b=22;c=3"), (7..7, "2"));
        assert_eq!(changed_middle("abc", "abc"), (3..3, ""));
        assert_eq!(changed_middle("aaa", "aa"), (2..3, ""));
        assert_eq!(changed_middle("xéy", "xèy"), (1..3, "è"));
    }
}
