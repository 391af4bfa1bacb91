//! One pass over a config file's XML that records byte spans of what k2cse may edit.
//!
//! The scanner is a thin layer over the `xmlparser` tokenizer: it checks the document is
//! well-formed (one root, matching end tags, no DTD) and keeps, for the `connectionStrings`
//! section and its children, where every element and attribute starts and ends. It builds no
//! tree, so memory stays proportional to the number of entries, not to the file.

use std::ops::Range;
use std::path::Path;

use xmlparser::{ElementEnd, Token, Tokenizer};

use crate::error::{Error, Location, Result};
use crate::xml::lines::line_column;

/// Whether the text is a whole config file or a section on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanMode {
    /// `<configuration>` root; the section is a child of it.
    ConfigFile,
    /// `<connectionStrings>` root: a `configSource` file or a decrypted section.
    SectionFile,
}

/// An attribute as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// The qualified name, e.g. `connectionString` or `xdt:Transform`.
    pub name: Range<usize>,
    /// The raw value between the quotes.
    pub value: Range<usize>,
    /// The quote character used.
    pub quote: char,
}

/// An element's spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementSpan {
    /// From `<` to the end of the end tag (or of `/>`).
    pub range: Range<usize>,
    /// The start tag, or the whole element when it is empty (`<x/>`).
    pub start_tag: Range<usize>,
    /// Between the start and end tags; `None` for `<x/>`.
    pub content: Option<Range<usize>>,
    /// The element's local name (start and end).
    pub name: Range<usize>,
    /// Its attributes in source order.
    pub attrs: Vec<Attr>,
}

impl ElementSpan {
    /// The attribute whose qualified name is `name` (XML names are case-sensitive).
    pub fn attr<'a>(&'a self, text: &str, name: &str) -> Option<&'a Attr> {
        self.attrs.iter().find(|a| &text[a.name.clone()] == name)
    }
}

/// What the scanner found.
#[derive(Debug, Clone, Default)]
pub struct FileIndex {
    /// The root element (its attributes and span; no content spans).
    pub root: Option<ElementSpan>,
    /// Every `connectionStrings` section found where .NET looks for it.
    pub sections: Vec<SectionSpan>,
    /// Ranges of the root's child elements, with their local names, for placing a new section.
    pub top_level: Vec<(String, Range<usize>)>,
}

/// A `connectionStrings` element and its children.
#[derive(Debug, Clone)]
pub struct SectionSpan {
    /// The section element.
    pub element: ElementSpan,
    /// Its child elements in order (`add`, `remove`, `clear`, `EncryptedData`, anything else).
    pub children: Vec<ElementSpan>,
}

struct Open {
    depth_kind: Depth,
    element: ElementSpan,
    prefixed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    Root,
    TopLevel,
    Section,
    SectionChild,
    Other,
}

/// Scans `text`, reporting problems against `path`.
#[allow(clippy::too_many_lines)] // One token loop with its stack; split, the state would scatter.
pub fn scan(path: &Path, text: &str, mode: ScanMode) -> Result<FileIndex> {
    let fail = |offset: usize, message: String| {
        let (line, column) = line_column(text, offset);
        Error::Xml {
            location: Location::new(path, line, column),
            message,
        }
    };
    let mut index = FileIndex::default();
    let mut stack: Vec<Open> = Vec::new();
    let mut pending: Option<Open> = None;
    let mut root_closed = false;
    let mut children: Vec<ElementSpan> = Vec::new();

    for token in Tokenizer::from(text) {
        let token = token.map_err(|e| {
            let pos = e.pos();
            Error::Xml {
                location: Location::new(path, pos.row as usize, pos.col as usize),
                message: format!("not well-formed XML: {e}"),
            }
        })?;
        match token {
            Token::DtdStart { span, .. } | Token::EmptyDtd { span, .. } => {
                return Err(fail(
                    span.start(),
                    "DOCTYPE declarations are not allowed in .NET config files".to_owned(),
                ));
            }
            Token::ElementStart {
                prefix,
                local,
                span,
            } => {
                if root_closed {
                    return Err(fail(
                        span.start(),
                        "a second root element; an XML file has exactly one".into(),
                    ));
                }
                let parent = stack.last().map(|o| (o.depth_kind, o.prefixed));
                let depth_kind = child_depth(mode, parent, prefix.is_empty(), local.as_str());
                pending = Some(Open {
                    depth_kind,
                    prefixed: !prefix.is_empty(),
                    element: ElementSpan {
                        range: span.start()..span.end(),
                        start_tag: span.start()..span.end(),
                        content: None,
                        name: local.range(),
                        attrs: Vec::new(),
                    },
                });
            }
            Token::Attribute {
                prefix,
                local,
                value,
                span,
            } => {
                check_references(value, &fail)?;
                if let Some(open) = pending.as_mut() {
                    let name = if prefix.is_empty() {
                        local.range()
                    } else {
                        prefix.start()..local.end()
                    };
                    let quote = text[value.start() - 1..].chars().next().unwrap_or('"');
                    if open
                        .element
                        .attrs
                        .iter()
                        .any(|a| text[a.name.clone()] == text[name.clone()])
                    {
                        return Err(fail(
                            span.start(),
                            format!("duplicate attribute {:?}", &text[name]),
                        ));
                    }
                    open.element.attrs.push(Attr {
                        name,
                        value: value.range(),
                        quote,
                    });
                }
            }
            Token::ElementEnd {
                end: ElementEnd::Open,
                span,
            } => {
                if let Some(mut open) = pending.take() {
                    open.element.start_tag.end = span.end();
                    open.element.content = Some(span.end()..span.end());
                    stack.push(open);
                }
            }
            Token::ElementEnd {
                end: ElementEnd::Empty,
                span,
            } => {
                if let Some(mut open) = pending.take() {
                    open.element.start_tag.end = span.end();
                    open.element.range.end = span.end();
                    root_closed |= stack.is_empty();
                    record(&mut index, &mut children, open, text, stack.is_empty());
                }
            }
            Token::ElementEnd {
                end: ElementEnd::Close(prefix, local),
                span,
            } => {
                let Some(mut open) = stack.pop() else {
                    return Err(fail(span.start(), "end tag without a start tag".into()));
                };
                let open_name = &text[open.element.name.clone()];
                if local.as_str() != open_name || prefix.is_empty() == open.prefixed {
                    let (line, column) = line_column(text, open.element.range.start);
                    return Err(fail(
                        span.start(),
                        format!(
                            "end tag </{}> does not match <{open_name}> opened at {line}:{column}",
                            span.as_str()
                                .trim_start_matches("</")
                                .trim_end_matches('>')
                                .trim()
                        ),
                    ));
                }
                if let Some(content) = open.element.content.as_mut() {
                    content.end = span.start();
                }
                open.element.range.end = span.end();
                root_closed |= stack.is_empty();
                record(&mut index, &mut children, open, text, stack.is_empty());
            }
            Token::Text { text: t } if stack.is_empty() && !t.as_str().trim().is_empty() => {
                return Err(fail(t.start(), "text outside the root element".into()));
            }
            Token::Text { text: t } => check_references(t, &fail)?,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        let name = &text[open.element.name.clone()];
        return Err(fail(
            text.len(),
            format!("the file ends before </{name}> (truncated?)"),
        ));
    }
    let Some(root) = index.root.as_ref() else {
        return Err(fail(
            0,
            "no root element: this is not an XML config file".into(),
        ));
    };
    let expected = match mode {
        ScanMode::ConfigFile => "configuration",
        ScanMode::SectionFile => "connectionStrings",
    };
    if text[root.name.clone()] != *expected {
        return Err(fail(
            root.range.start,
            format!(
                "the root element is <{}>, expected <{expected}>",
                &text[root.name.clone()]
            ),
        ));
    }
    Ok(index)
}

/// Rejects malformed `&` references, which the tokenizer passes through but .NET refuses.
fn check_references(
    span: xmlparser::StrSpan<'_>,
    fail: &impl Fn(usize, String) -> Error,
) -> Result<()> {
    if !span.as_str().contains('&') {
        return Ok(());
    }
    match crate::xml::attr::decode(span.as_str()) {
        Ok(_) => Ok(()),
        Err(e) => Err(fail(span.start() + e.offset, e.message)),
    }
}

/// Where an element sits relative to the parts we index.
fn child_depth(
    mode: ScanMode,
    parent: Option<(Depth, bool)>,
    unprefixed: bool,
    local: &str,
) -> Depth {
    match (mode, parent) {
        (ScanMode::SectionFile, None) => Depth::Section,
        (_, None) => Depth::Root,
        (_, Some((Depth::Root, _))) if unprefixed && local == "connectionStrings" => Depth::Section,
        (_, Some((Depth::Root, _))) => Depth::TopLevel,
        (_, Some((Depth::Section, _))) => Depth::SectionChild,
        _ => Depth::Other,
    }
}

/// Files a completed element where it belongs. `children` collects the children of the
/// section being read (sections cannot nest, so one list is enough).
fn record(
    index: &mut FileIndex,
    children: &mut Vec<ElementSpan>,
    open: Open,
    text: &str,
    is_root: bool,
) {
    let Open {
        depth_kind,
        element,
        ..
    } = open;
    match depth_kind {
        Depth::Root => index.root = Some(element),
        Depth::Section => {
            if is_root {
                index.root = Some(element.clone());
            } else {
                index
                    .top_level
                    .push(("connectionStrings".into(), element.range.clone()));
            }
            index.sections.push(SectionSpan {
                element,
                children: std::mem::take(children),
            });
        }
        Depth::SectionChild => children.push(element),
        Depth::TopLevel => {
            index
                .top_level
                .push((text[element.name.clone()].to_owned(), element.range.clone()));
        }
        Depth::Other => {}
    }
}
