//! A byte-level XML 1.0 well-formedness checker that reports element starts and ends.
//!
//! Config files are mostly long attribute values and white space, so the lexer jumps from
//! one `<` or quote to the next with `memchr` instead of visiting every character through a
//! general tokenizer; on a 10,000-entry file this is several times faster than one, which is
//! most of what loading a file costs. It checks what makes a file well-formed: names, attribute
//! syntax and uniqueness, references, comments, CDATA, processing instructions, characters,
//! and that nothing but comments, PIs and white space surrounds the one root element. Matching
//! start and end tags is left to the caller, which keeps the element stack anyway. A DOCTYPE
//! is skipped unread, as .NET's config reader does (see the scanner). quick-xml was measured
//! against it and not adopted: ARCHITECTURE.md, "Recorded decisions".
//!
//! `tests/` checks it against the `xmlparser` tokenizer on generated documents.

use std::ops::Range;

use memchr::{memchr, memchr2, memmem};

/// Where and why the text is not well-formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// What the lexer reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A start tag `<name ...>` or `<name .../>` spanning `tag`.
    Start {
        /// The whole tag, `<` to `>`.
        tag: Range<usize>,
        /// The qualified name.
        name: Range<usize>,
        /// `/>`: the element has no content and no end tag.
        empty: bool,
        /// The element or an attribute name has a prefix, or an attribute declares one
        /// (`xmlns`, `xmlns:p`): the caller must check namespace scoping.
        namespaced: bool,
    },
    /// An end tag `</name>` spanning `tag`.
    End {
        /// The whole tag.
        tag: Range<usize>,
        /// The qualified name.
        name: Range<usize>,
    },
    /// A `<!DOCTYPE` declaration starts here (the caller checks where). It is skipped, never
    /// read: like .NET's config reader, k2cse expands no entity it declares.
    Doctype {
        /// Its offset.
        at: usize,
    },
    /// Non-white-space text (or CDATA) at `at`, reported so the caller can refuse text
    /// outside the root element.
    Text {
        /// Its offset.
        at: usize,
    },
}

type Result<T> = std::result::Result<T, LexError>;

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T> {
    Err(LexError {
        offset,
        message: message.into(),
    })
}

/// Lexes `text`, calling `on` for each event; stops at the first error (its own or `on`'s).
pub fn lex(text: &str, mut on: impl FnMut(Event) -> Result<()>) -> Result<()> {
    check_chars(text)?;
    let bytes = text.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() {
        let Some(lt) = memchr(b'<', &bytes[pos..]).map(|i| pos + i) else {
            char_data(text, pos..bytes.len(), &mut on)?;
            break;
        };
        char_data(text, pos..lt, &mut on)?;
        pos = match bytes.get(lt + 1) {
            Some(b'?') => processing_instruction(text, lt)?,
            Some(b'!') if bytes[lt..].starts_with(b"<!--") => comment(bytes, lt)?,
            Some(b'!') if bytes[lt..].starts_with(b"<![CDATA[") => {
                on(Event::Text { at: lt })?;
                let body = lt + 9;
                memmem::find(&bytes[body..], b"]]>")
                    .map(|e| body + e + 3)
                    .map_or_else(|| err(lt, "CDATA section is not closed with ]]>"), Ok)?
            }
            Some(b'!') if bytes[lt..].starts_with(b"<!DOCTYPE") => {
                on(Event::Doctype { at: lt })?;
                doctype(bytes, lt)?
            }
            Some(b'/') => {
                let name = name(text, lt + 2)?;
                let close = skip_ws(bytes, name.end);
                if bytes.get(close) != Some(&b'>') {
                    return err(
                        close,
                        format!("expected '>' to close </{}", &text[name.clone()]),
                    );
                }
                on(Event::End {
                    tag: lt..close + 1,
                    name,
                })?;
                close + 1
            }
            Some(_) => {
                let t = start_tag(text, lt)?;
                on(Event::Start {
                    tag: lt..t.end,
                    name: t.name,
                    empty: t.empty,
                    namespaced: t.namespaced,
                })?;
                t.end
            }
            None => return err(lt, "the file ends inside a tag"),
        };
    }
    Ok(())
}

/// Checks one start tag on its own (for edits that change only an attribute value).
pub fn is_start_tag(tag: &str) -> bool {
    check_chars(tag).is_ok()
        && tag.starts_with('<')
        && start_tag(tag, 0).is_ok_and(|t| t.end == tag.len())
}

/// Rejects characters XML does not allow: C0 controls other than tab, LF and CR, and the
/// non-characters U+FFFE and U+FFFF.
fn check_chars(text: &str) -> Result<()> {
    let bytes = text.as_bytes();
    let bad = |b: u8| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r');
    // Branch-free per chunk so the compiler can vectorize; locate the culprit only if needed.
    for (n, chunk) in bytes.chunks(64).enumerate() {
        if chunk.iter().fold(false, |acc, &b| acc | bad(b))
            && let Some(i) = chunk.iter().position(|&b| bad(b))
        {
            let at = n * 64 + i;
            return err(
                at,
                format!("character U+{:04X} is not allowed in XML", bytes[at]),
            );
        }
    }
    let mut from = 0;
    while let Some(i) = memmem::find(&bytes[from..], &[0xEF, 0xBF]).map(|i| from + i) {
        if matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) {
            return err(i, "characters U+FFFE and U+FFFF are not allowed in XML");
        }
        from = i + 2;
    }
    Ok(())
}

/// Text between tags: references must be valid and `]]>` may not appear.
fn char_data(
    text: &str,
    range: Range<usize>,
    on: &mut impl FnMut(Event) -> Result<()>,
) -> Result<()> {
    let segment = &text[range.clone()];
    if let Some(i) = segment.find(|c: char| !matches!(c, ' ' | '\t' | '\r' | '\n')) {
        on(Event::Text {
            at: range.start + i,
        })?;
    }
    if let Some(i) = memmem::find(segment.as_bytes(), b"]]>") {
        return err(range.start + i, "']]>' is not allowed in text");
    }
    references(text, range)
}

/// Checks every `&...;` in `text[range]`.
pub fn references(text: &str, range: Range<usize>) -> Result<()> {
    let bytes = text.as_bytes();
    let mut pos = range.start;
    while let Some(amp) = memchr(b'&', &bytes[pos..range.end]).map(|i| pos + i) {
        let Some(semi) = memchr(b';', &bytes[amp..range.end]).map(|i| amp + i) else {
            return err(
                amp,
                "'&' must start a reference such as &amp; (write & as &amp;)",
            );
        };
        let body = &text[amp + 1..semi];
        // A named reference other than the five predefined ones is not expanded by .NET's
        // config reader (EntityHandling.ExpandCharEntities): the value keeps `&name;` as text.
        let ok = if body.starts_with('#') {
            char_reference(body).is_some()
        } else {
            is_entity_name(body)
        };
        if !ok {
            let shown: String = body.chars().take(20).collect();
            return err(
                amp,
                format!(
                    "&{shown}; is not a valid reference (only &amp; &lt; &gt; &quot; &apos; and character references)"
                ),
            );
        }
        pos = semi + 1;
    }
    Ok(())
}

/// Whether `body` is an XML name (the part between `&` and `;` of an entity reference).
pub fn is_entity_name(body: &str) -> bool {
    let mut chars = body.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

/// The character a `#...` or `#x...` reference body stands for, if valid XML.
fn char_reference(body: &str) -> Option<char> {
    let code = if let Some(hex) = body.strip_prefix("#x") {
        u32::from_str_radix(hex, 16).ok()?
    } else {
        body.strip_prefix('#')?.parse().ok()?
    };
    // .NET's config reader (Normalization off) does not range-check character references.
    char::from_u32(code)
}

/// The end of a `<!DOCTYPE ...>` declaration starting at `lt`: quoted literals and the
/// internal subset `[...]` (with its own literals and comments) are skipped as opaque text.
fn doctype(bytes: &[u8], lt: usize) -> Result<usize> {
    let mut i = lt + "<!DOCTYPE".len();
    let mut in_subset = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' | b'\'' => {
                let close = memchr(b, &bytes[i + 1..]).ok_or(LexError {
                    offset: i,
                    message: "a quoted literal in the DOCTYPE is not closed".into(),
                })?;
                i += close + 2;
            }
            b'<' if in_subset && bytes[i..].starts_with(b"<!--") => i = comment(bytes, i)?,
            b'[' if !in_subset => {
                in_subset = true;
                i += 1;
            }
            b']' if in_subset => {
                in_subset = false;
                i += 1;
            }
            b'>' if !in_subset => return Ok(i + 1),
            _ => i += 1,
        }
    }
    err(lt, "the DOCTYPE declaration is not closed with '>'")
}

fn comment(bytes: &[u8], lt: usize) -> Result<usize> {
    let body = lt + 4;
    let Some(dashes) = memmem::find(&bytes[body..], b"--").map(|i| body + i) else {
        return err(lt, "comment is not closed with -->");
    };
    if bytes.get(dashes + 2) != Some(&b'>') {
        return err(dashes, "'--' is not allowed inside a comment");
    }
    Ok(dashes + 3)
}

fn processing_instruction(text: &str, lt: usize) -> Result<usize> {
    let target = name(text, lt + 2)?;
    if text[target.clone()].eq_ignore_ascii_case("xml") {
        if lt != 0 || &text[target.clone()] != "xml" {
            return err(
                lt,
                "the XML declaration must be at the very start of the file, written <?xml",
            );
        }
        return xml_declaration(text, target.end);
    }
    let bytes = text.as_bytes();
    let after = target.end;
    if !bytes[after..].starts_with(b"?>")
        && !matches!(bytes.get(after), Some(b' ' | b'\t' | b'\r' | b'\n'))
    {
        return err(
            after,
            "expected white space after the processing instruction's target",
        );
    }
    memmem::find(&bytes[after..], b"?>")
        .map(|i| after + i + 2)
        .map_or_else(
            || err(lt, "processing instruction is not closed with ?>"),
            Ok,
        )
}

/// `<?xml version="1.x" [encoding="..."] [standalone="yes|no"] ?>`, from after `<?xml`.
fn xml_declaration(text: &str, mut pos: usize) -> Result<usize> {
    let bytes = text.as_bytes();
    let mut seen: Vec<&str> = Vec::new();
    loop {
        let at = skip_ws(bytes, pos);
        if bytes[at..].starts_with(b"?>") {
            if seen.is_empty() {
                return err(at, "the XML declaration needs a version");
            }
            return Ok(at + 2);
        }
        if at == pos {
            return err(pos, "expected white space in the XML declaration");
        }
        let key = name(text, at)?;
        let eq = skip_ws(bytes, key.end);
        if bytes.get(eq) != Some(&b'=') {
            return err(eq, "expected '=' in the XML declaration");
        }
        let open = skip_ws(bytes, eq + 1);
        let Some(&quote @ (b'"' | b'\'')) = bytes.get(open) else {
            return err(open, "expected a quoted value in the XML declaration");
        };
        let Some(close) = memchr(quote, &bytes[open + 1..]).map(|i| open + 1 + i) else {
            return err(open, "unclosed value in the XML declaration");
        };
        let value = &text[open + 1..close];
        let key_text = &text[key.clone()];
        let valid = match (key_text, seen.as_slice()) {
            ("version", []) => value
                .strip_prefix("1.")
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())),
            ("encoding", ["version"]) => {
                value
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphabetic())
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            }
            ("standalone", ["version"] | ["version", "encoding"]) => matches!(value, "yes" | "no"),
            _ => {
                return err(
                    key.start,
                    format!("unexpected {key_text:?} in the XML declaration"),
                );
            }
        };
        if !valid {
            return err(
                open,
                format!("invalid {key_text} {value:?} in the XML declaration"),
            );
        }
        seen.push(key_text);
        pos = close + 1;
    }
}

/// Reads a start tag at `lt`; returns its end (after `>`), its name, and whether it is empty.
/// What [`start_tag`] read.
struct StartTag {
    /// After the `>`.
    end: usize,
    name: Range<usize>,
    empty: bool,
    namespaced: bool,
}

fn start_tag(text: &str, lt: usize) -> Result<StartTag> {
    let bytes = text.as_bytes();
    let tag_name = name(text, lt + 1)?;
    let mut namespaced = text[tag_name.clone()].contains(':');
    let mut names: Vec<&[u8]> = Vec::new();
    let mut pos = tag_name.end;
    loop {
        let after_ws = skip_ws(bytes, pos);
        match bytes.get(after_ws) {
            Some(b'>') => {
                return Ok(StartTag {
                    end: after_ws + 1,
                    name: tag_name,
                    empty: false,
                    namespaced,
                });
            }
            Some(b'/') if bytes.get(after_ws + 1) == Some(&b'>') => {
                return Ok(StartTag {
                    end: after_ws + 2,
                    name: tag_name,
                    empty: true,
                    namespaced,
                });
            }
            None => return err(lt, format!("the file ends inside <{}", &text[tag_name])),
            Some(_) if after_ws == pos => {
                return err(
                    pos,
                    "expected white space, '>' or '/>' after a name or attribute",
                );
            }
            Some(_) => {}
        }
        let attr = name(text, after_ws)?;
        let eq = skip_ws(bytes, attr.end);
        if bytes.get(eq) != Some(&b'=') {
            return err(eq, format!("expected '=' after attribute {}", &text[attr]));
        }
        let open = skip_ws(bytes, eq + 1);
        let Some(&quote @ (b'"' | b'\'')) = bytes.get(open) else {
            return err(
                open,
                format!("the value of attribute {} must be in quotes", &text[attr]),
            );
        };
        let value_start = open + 1;
        let Some(close) = memchr2(quote, b'<', &bytes[value_start..]).map(|i| value_start + i)
        else {
            return err(
                open,
                format!("the value of attribute {} is not closed", &text[attr]),
            );
        };
        if bytes[close] == b'<' {
            return err(
                close,
                "'<' is not allowed in an attribute value (write &lt;)",
            );
        }
        references(text, value_start..close)?;
        let attr_name = &bytes[attr.clone()];
        if names.contains(&attr_name) {
            return err(attr.start, format!("duplicate attribute {:?}", &text[attr]));
        }
        namespaced |= attr_name.contains(&b':') || attr_name.starts_with(b"xmlns");
        names.push(attr_name);
        pos = close + 1;
    }
}

/// Reads an XML name starting at `at`.
fn name(text: &str, at: usize) -> Result<Range<usize>> {
    let bytes = text.as_bytes();
    let mut chars = text[at.min(text.len())..].char_indices();
    match chars.next() {
        Some((_, c)) if is_name_start(c) => {}
        Some((_, c)) => return err(at, format!("{c:?} cannot start a name")),
        None => return err(at, "the file ends where a name was expected"),
    }
    // ASCII fast path, then characters.
    let mut end = at + 1;
    while let Some(&b) = bytes.get(end) {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-' | b'.') {
            end += 1;
        } else if b < 0x80 {
            return qualified(text, at..end);
        } else {
            break;
        }
    }
    if end == at + 1 && !text.is_char_boundary(end) {
        end = at + text[at..].chars().next().map_or(1, char::len_utf8);
    }
    for c in text[end..].chars() {
        if !is_name_char(c) {
            break;
        }
        end += c.len_utf8();
    }
    qualified(text, at..end)
}

/// Namespaces in XML: a name has at most one colon, neither first nor last.
fn qualified(text: &str, name: Range<usize>) -> Result<Range<usize>> {
    let s = &text[name.clone()];
    if s.starts_with(':') || s.ends_with(':') || s.bytes().filter(|&b| b == b':').count() > 1 {
        return err(name.start, format!("{s:?} is not a valid qualified name"));
    }
    Ok(name)
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while matches!(bytes.get(pos), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        pos += 1;
    }
    pos
}

/// XML 1.0 (5th edition) `NameStartChar`.
fn is_name_start(c: char) -> bool {
    matches!(c,
        ':' | 'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 (5th edition) `NameChar`.
fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(text: &str) -> Result<Vec<Event>> {
        let mut out = Vec::new();
        lex(text, |e| {
            out.push(e);
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn reports_elements() {
        let e = events("<?xml version=\"1.0\"?><!-- c --><a x='1' y=\"&amp;\"><b/></a>").unwrap();
        assert_eq!(e.len(), 3);
        assert!(matches!(e[0], Event::Start { empty: false, .. }));
        assert!(matches!(e[1], Event::Start { empty: true, .. }));
        assert!(matches!(e[2], Event::End { .. }));
    }

    #[test]
    fn refuses_malformed_input() {
        for (bad, at) in [
            ("<a x='1' x='2'/>", 9),
            ("<a x=1/>", 5),
            ("<a x='<'/>", 6),
            ("<a>&n bsp;</a>", 3),
            ("<a>&amp</a>", 3),
            ("<a><!-- a -- b --></a>", 10),
            ("<a>]]></a>", 3),
            ("<a>\u{1}</a>", 3),
            (" <?xml version='1.0'?><a/>", 1),
            ("<a x='1'y='2'/>", 8),
            ("<1a/>", 1),
            ("<a", 0),
        ] {
            let e = events(bad).unwrap_err();
            assert_eq!(e.offset, at, "{bad:?}: {e:?}");
        }
    }

    #[test]
    fn start_tags_on_their_own() {
        assert!(is_start_tag(
            "<add name=\"a\" connectionString='x=&quot;1&quot;' />"
        ));
        assert!(!is_start_tag("<add name=\"a\" connectionString='x'1' />"));
        assert!(!is_start_tag("<add name=\"a\"/> trailing"));
    }
}
