//! The .NET connection-string tokenizer, state for state.
//!
//! This mirrors `DbConnectionOptions.GetKeyValuePair` from the .NET class library (non-ODBC
//! rules), because K2 reads its connection strings through `DbConnectionStringBuilder`
//! subclasses: a string .NET rejects breaks K2, and a string .NET accepts must mean the same
//! thing here. The differential suite in `tests/` runs this parser and Mono's class library on
//! the same inputs and requires identical results, including the error position.
//!
//! Unlike .NET, every token keeps its byte span in the source text, so that an edit can rewrite
//! one value and leave every other byte alone.

use std::ops::Range;

use super::fold_key;

/// The quoting a value was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    /// `key=value`
    None,
    /// `key='value'`
    Single,
    /// `key="value"`
    Double,
}

/// One `key=value` pair as written in the source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The key as written, with `==` already read as `=` and trailing white space trimmed.
    pub key: String,
    /// The key as .NET stores it: lower-cased invariantly. Compare keys with this.
    pub folded_key: String,
    /// The value; `None` for `key=` with nothing after it, which .NET reads as "remove key".
    pub value: Option<String>,
    /// The quoting used in the source.
    pub quote: Quote,
    /// Bytes of the key as written (before the separating `=`).
    pub key_span: Range<usize>,
    /// Bytes of the value token including its quotes. For a `None` value this is the empty
    /// range just after the `=`, which is where a new value would be inserted.
    pub value_span: Range<usize>,
}

impl Pair {
    /// Bytes from the first key character to the end of the value token.
    pub fn span(&self) -> Range<usize> {
        self.key_span.start..self.value_span.end.max(self.key_span.end + 1)
    }
}

/// A syntax error, at the byte offset .NET would report (the start of the offending pair).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset into the connection string.
    pub offset: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    NothingYet,
    Key,
    KeyEqual,
    KeyEnd,
    UnquotedValue,
    DoubleQuoteValue,
    DoubleQuoteValueQuote,
    SingleQuoteValue,
    SingleQuoteValueQuote,
    QuotedValueEnd,
    NullTermination,
}

/// .NET's `char.IsWhiteSpace` and Rust's `char::is_whitespace` agree on every code point
/// (Unicode `White_Space` = categories Zs, Zl, Zp plus U+0009..U+000D and U+0085).
fn is_ws(c: char) -> bool {
    c.is_whitespace()
}

/// Splits `text` into pairs exactly as .NET does, or fails where .NET fails.
pub fn tokenize(text: &str) -> Result<Vec<Pair>, SyntaxError> {
    // One allocation for the pairs: at most one per `;`, plus the last.
    let mut pairs = Vec::with_capacity(1 + memchr::memchr_iter(b';', text.as_bytes()).count());
    // One scratch buffer for every token of the string that the shortcut does not read (a key
    // or value is never longer than the text): a growing `String` per pair was a large part
    // of reading 100,000 entries. It held values (passwords among them): wiped when freed.
    let mut buffer = zeroize::Zeroizing::new(String::new());
    let mut position = 0;
    while position < text.len() {
        if let Some((next, pair)) = plain_pair(text, position) {
            pairs.push(pair);
            position = next;
            continue;
        }
        let (next, pair) = next_pair(text, position, &mut buffer)?;
        match pair {
            Some(pair) => pairs.push(pair),
            // Only trailing separators, white space or NULs were left.
            None => break,
        }
        position = next;
    }
    Ok(pairs)
}

/// The common pair, `Key Name=value` followed by `;` or the end, read without the state
/// machine; `None` for anything else, which [`next_pair`] then reads. Only what the state
/// machine reads the same way is accepted: a key of printable ASCII starting with a letter or
/// digit and without `==`, spaces after the `=`, then an unquoted value of printable ASCII
/// that does not end in a quote. Every such byte is one character that the state machine
/// copies into its buffer as it is, so the key and value are slices of `text`.
fn plain_pair(text: &str, start: usize) -> Option<(usize, Pair)> {
    let bytes = text.as_bytes();
    let printable = |b: u8| (0x20..0x7F).contains(&b);
    if !bytes.get(start)?.is_ascii_alphanumeric() {
        return None;
    }
    let eq = start + bytes.get(start..)?.iter().position(|&b| b == b'=')?;
    if !bytes.get(start..eq)?.iter().all(|&b| printable(b)) || bytes.get(eq + 1) == Some(&b'=') {
        return None;
    }
    let mut value_start = eq + 1;
    while bytes.get(value_start) == Some(&b' ') {
        value_start += 1;
    }
    let first = *bytes.get(value_start)?;
    if !printable(first) || matches!(first, b'\'' | b'"' | b';') {
        return None;
    }
    let end = bytes
        .get(value_start..)?
        .iter()
        .position(|&b| b == b';')
        .map_or(text.len(), |i| value_start + i);
    let raw = bytes.get(value_start..end)?;
    if !raw.iter().all(|&b| printable(b)) {
        return None;
    }
    let value = text.get(value_start..end)?.trim_end_matches(' ');
    if value.ends_with(['\'', '"']) {
        return None;
    }
    let key = text.get(start..eq)?.trim_end_matches(' ');
    let next = if end < text.len() { end + 1 } else { end };
    Some((
        next,
        Pair {
            folded_key: fold_key(key),
            key: key.to_owned(),
            value: Some(value.to_owned()),
            quote: Quote::None,
            key_span: start..start + key.len(),
            value_span: value_start..value_start + value.len(),
        },
    ))
}

/// Token positions gathered while scanning one pair.
#[derive(Default)]
struct Marks {
    key_end: usize,
    value_start: usize,
    value_end: usize,
}

/// Reads one pair starting at `start`; returns the position after it (past its `;`).
#[allow(clippy::too_many_lines)] // One state machine; splitting it would hide the mirror of .NET.
fn next_pair(
    text: &str,
    start: usize,
    buffer: &mut String,
) -> Result<(usize, Option<Pair>), SyntaxError> {
    let mut pair_start = start;
    buffer.clear();
    buffer.reserve(text.len() - start);
    let mut key: Option<String> = None;
    let mut value: Option<String> = None;
    let mut quote = Quote::None;
    let mut marks = Marks::default();
    let mut state = State::NothingYet;
    let mut current = '\0';
    let mut position = start;
    let err = |offset| Err(SyntaxError { offset });

    let mut exited_early = false;
    'scan: for (rel, c) in text[start..].char_indices() {
        position = start + rel;
        current = c;
        // `goto case` in the C# source becomes a loop over the same character.
        loop {
            match state {
                State::NothingYet => {
                    if c == ';' || is_ws(c) {
                        continue 'scan;
                    }
                    if c == '\0' {
                        state = State::NullTermination;
                        continue 'scan;
                    }
                    if c.is_control() {
                        return err(pair_start);
                    }
                    pair_start = position;
                    if c == '=' {
                        state = State::KeyEqual;
                        marks.key_end = position;
                        continue 'scan;
                    }
                    state = State::Key;
                }
                State::Key => {
                    if c == '=' {
                        state = State::KeyEqual;
                        marks.key_end = position;
                        continue 'scan;
                    }
                    if !is_ws(c) && c.is_control() {
                        return err(pair_start);
                    }
                }
                State::KeyEqual => {
                    if c == '=' {
                        // `==` inside a key stands for one literal `=`.
                        state = State::Key;
                    } else {
                        let name = key_name(buffer);
                        if name.is_empty() {
                            return err(pair_start);
                        }
                        key = Some(name);
                        buffer.clear();
                        state = State::KeyEnd;
                        continue;
                    }
                }
                State::KeyEnd => {
                    if is_ws(c) {
                        continue 'scan;
                    }
                    marks.value_start = position;
                    if c == '\'' {
                        state = State::SingleQuoteValue;
                        quote = Quote::Single;
                        continue 'scan;
                    }
                    if c == '"' {
                        state = State::DoubleQuoteValue;
                        quote = Quote::Double;
                        continue 'scan;
                    }
                    if c == ';' || c == '\0' {
                        exited_early = true;
                        break 'scan;
                    }
                    if c.is_control() {
                        return err(pair_start);
                    }
                    marks.value_end = position + c.len_utf8();
                    state = State::UnquotedValue;
                }
                State::UnquotedValue => {
                    if !is_ws(c) && (c.is_control() || c == ';') {
                        exited_early = true;
                        break 'scan;
                    }
                    if !is_ws(c) {
                        marks.value_end = position + c.len_utf8();
                    }
                }
                State::DoubleQuoteValue | State::SingleQuoteValue => {
                    let q = if state == State::DoubleQuoteValue {
                        '"'
                    } else {
                        '\''
                    };
                    if c == q {
                        state = if q == '"' {
                            State::DoubleQuoteValueQuote
                        } else {
                            State::SingleQuoteValueQuote
                        };
                        marks.value_end = position + 1;
                        continue 'scan;
                    }
                    if c == '\0' {
                        return err(pair_start);
                    }
                }
                State::DoubleQuoteValueQuote | State::SingleQuoteValueQuote => {
                    let q = if state == State::DoubleQuoteValueQuote {
                        '"'
                    } else {
                        '\''
                    };
                    if c == q {
                        // A doubled quote is one literal quote character.
                        state = if q == '"' {
                            State::DoubleQuoteValue
                        } else {
                            State::SingleQuoteValue
                        };
                    } else {
                        value = Some(buffer.as_str().to_owned());
                        buffer.clear();
                        state = State::QuotedValueEnd;
                        continue;
                    }
                }
                State::QuotedValueEnd => {
                    if is_ws(c) {
                        continue 'scan;
                    }
                    if c == ';' {
                        exited_early = true;
                        break 'scan;
                    }
                    if c == '\0' {
                        state = State::NullTermination;
                        continue 'scan;
                    }
                    return err(pair_start);
                }
                State::NullTermination => {
                    if c == '\0' || is_ws(c) {
                        continue 'scan;
                    }
                    return err(position);
                }
            }
            break;
        }
        buffer.push(c);
    }
    if !exited_early {
        position = text.len();
    }

    match state {
        State::Key | State::DoubleQuoteValue | State::SingleQuoteValue => return err(pair_start),
        State::KeyEqual => {
            let name = key_name(buffer);
            if name.is_empty() {
                return err(pair_start);
            }
            key = Some(name);
        }
        State::UnquotedValue => {
            let trimmed = buffer.trim_matches(is_ws);
            if trimmed.ends_with(['\'', '"']) {
                // .NET: an unquoted value must not end in a quote.
                return err(pair_start);
            }
            value = Some(trimmed.to_owned());
        }
        State::DoubleQuoteValueQuote | State::SingleQuoteValueQuote => {
            value = Some(buffer.as_str().to_owned());
        }
        State::QuotedValueEnd | State::NothingYet | State::KeyEnd | State::NullTermination => {}
    }
    let next = if exited_early && current == ';' {
        position + 1
    } else {
        position
    };

    let Some(key) = key else {
        return Ok((next, None));
    };
    if value.is_none() {
        // `key=` or `key=;`: point the (empty) value span just after the `=`.
        let after_eq = marks.key_end + 1;
        marks.value_start = after_eq;
        marks.value_end = after_eq;
    }
    let key_span_end = trim_end_ws(text, pair_start, marks.key_end);
    let pair = Pair {
        folded_key: fold_key(&key),
        key,
        value,
        quote,
        key_span: pair_start..key_span_end,
        value_span: marks.value_start..marks.value_end,
    };
    Ok((next, Some(pair)))
}

/// `GetKeyName`: trailing white space trimmed. (Folding happens separately.)
fn key_name(buffer: &str) -> String {
    buffer.trim_end_matches(is_ws).to_owned()
}

fn trim_end_ws(text: &str, start: usize, end: usize) -> usize {
    start + text[start..end].trim_end_matches(is_ws).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string of up to five characters from an alphabet of the tokenizer's special
    /// cases, read from every position: wherever the shortcut answers, the state machine
    /// answers the same (pair, spans and next position).
    #[test]
    fn the_plain_pair_shortcut_reads_as_the_state_machine() {
        const ALPHABET: [char; 11] = ['a', 'B', '1', ' ', '=', ';', '\'', '"', '\t', 'é', '\0'];
        let mut buffer = String::new();
        let mut taken = 0;
        for text in crate::connstr::tests::every_string(&ALPHABET, 1..=5) {
            for start in text.char_indices().map(|(i, _)| i) {
                if let Some((next, pair)) = plain_pair(&text, start) {
                    taken += 1;
                    let slow = next_pair(&text, start, &mut buffer);
                    assert_eq!(slow, Ok((next, Some(pair))), "{text:?} from {start}");
                }
            }
        }
        assert!(taken > 1000, "the shortcut took {taken} strings");
    }
}
