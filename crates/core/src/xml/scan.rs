//! One pass over a config file's XML that records byte spans of what k2cse may edit.
//!
//! The scanner sits on the [`lexer`]: it checks the document is well-formed (one root,
//! matching end tags, no DTD) and keeps, for the `connectionStrings` section and its children,
//! where every element starts and ends. It builds no tree, so memory stays proportional to the
//! number of entries, not to the size of the file.

use std::ops::Range;
use std::path::Path;

use crate::xml::lexer::{self, Event, LexError};

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

/// An element's spans. Attributes are not stored (a large file has tens of thousands of
/// elements); [`ElementSpan::attrs`] re-reads them from the start tag, which the scanner has
/// already checked.
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
}

impl ElementSpan {
    /// The attributes in source order.
    pub fn attrs(&self, text: &str) -> Vec<Attr> {
        self.attr_iter(text).collect()
    }

    /// The attributes in source order, read lazily from the start tag.
    pub fn attr_iter<'t>(&self, text: &'t str) -> AttrIter<'t> {
        AttrIter {
            text,
            at: self.name.end,
            end: self.start_tag.end,
        }
    }

    /// The attribute whose qualified name is `name` (XML names are case-sensitive).
    pub fn attr(&self, text: &str, name: &str) -> Option<Attr> {
        self.attr_iter(text).find(|a| &text[a.name.clone()] == name)
    }
}

/// Iterator over the attributes of a start tag the scanner has already checked.
#[derive(Debug, Clone)]
pub struct AttrIter<'t> {
    text: &'t str,
    at: usize,
    end: usize,
}

impl AttrIter<'_> {
    fn skip_ws(&self, mut i: usize) -> usize {
        let bytes = self.text.as_bytes();
        while i < self.end && matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        i
    }
}

impl Iterator for AttrIter<'_> {
    type Item = Attr;

    fn next(&mut self) -> Option<Attr> {
        let bytes = self.text.as_bytes();
        let mut i = self.skip_ws(self.at);
        if i >= self.end || matches!(bytes[i], b'/' | b'>') {
            self.at = self.end;
            return None;
        }
        let name_start = i;
        while i < self.end && !matches!(bytes[i], b'=' | b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        let name = name_start..i;
        i = self.skip_ws(self.skip_ws(i) + 1); // past the `=`
        let quote = bytes.get(i).copied().unwrap_or(b'"');
        let value_start = i + 1;
        // memchr: values are connection strings of 100+ bytes, read for every entry.
        let value_end = memchr::memchr(quote, &bytes[value_start.min(self.end)..self.end])
            .map_or(self.end, |e| value_start + e);
        self.at = value_end + 1;
        Some(Attr {
            name,
            value: value_start..value_end,
            quote: char::from(quote),
        })
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

impl FileIndex {
    /// Moves every position at or after `from` by `delta` bytes (after an edit that changed no
    /// structure).
    pub fn shift(&mut self, from: usize, delta: isize) {
        let fix = |p: &mut usize| {
            if *p >= from {
                *p = p.saturating_add_signed(delta);
            }
        };
        let fix_range = |r: &mut Range<usize>| {
            fix(&mut r.start);
            fix(&mut r.end);
        };
        let fix_element = |e: &mut ElementSpan| {
            fix_range(&mut e.range);
            fix_range(&mut e.start_tag);
            fix_range(&mut e.name);
            if let Some(c) = e.content.as_mut() {
                fix_range(c);
            }
        };
        if let Some(root) = self.root.as_mut() {
            fix_element(root);
        }
        for section in &mut self.sections {
            fix_element(&mut section.element);
            // Children are in document order: those ending before `from` do not move (an
            // edit near the end of 20,000 entries need not visit them all).
            let first = section.children.partition_point(|c| c.range.end < from);
            section.children[first..].iter_mut().for_each(fix_element);
        }
        for (_, r) in &mut self.top_level {
            fix_range(r);
        }
    }
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
    /// How many namespace prefixes this element declared.
    declared: usize,
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
pub fn scan(path: &Path, text: &str, mode: ScanMode) -> Result<FileIndex> {
    let fail = |offset: usize, message: String| {
        let (line, column) = line_column(text, offset);
        Error::Xml {
            location: Location::new(path, line, column),
            message,
        }
    };
    let mut builder = Builder {
        text,
        mode,
        index: FileIndex::default(),
        stack: Vec::new(),
        root_closed: false,
        children: Vec::new(),
        declared: Vec::new(),
        pending_declared: Vec::new(),
    };
    lexer::lex(text, |event| builder.on(event)).map_err(|e| fail(e.offset, e.message))?;
    if let Some(open) = builder.stack.last() {
        let name = &text[open.element.name.clone()];
        return Err(fail(
            text.len(),
            format!("the file ends before </{name}> (truncated?)"),
        ));
    }
    let index = builder.index;
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
        let found = &text[root.name.clone()];
        return Err(fail(
            root.range.start,
            format!("the root element is <{found}>, expected <{expected}>"),
        ));
    }
    Ok(index)
}

/// The element stack and the index being filled while the lexer runs.
struct Builder<'t> {
    text: &'t str,
    mode: ScanMode,
    index: FileIndex,
    stack: Vec<Open>,
    root_closed: bool,
    /// Children of the section being read (sections cannot nest, so one list is enough).
    children: Vec<ElementSpan>,
    /// Namespace prefixes declared by the open elements, innermost last.
    declared: Vec<String>,
    /// Prefixes declared by the start tag being read, until it is pushed.
    pending_declared: Vec<String>,
}

impl Builder<'_> {
    fn on(&mut self, event: Event) -> std::result::Result<(), LexError> {
        let fail = |offset, message: &str| {
            Err(LexError {
                offset,
                message: message.to_owned(),
            })
        };
        match event {
            // .NET's config reader skips a DOCTYPE before the root element (XmlUtil reads
            // past XmlDeclaration, Comment and DocumentType nodes) and expands nothing in it.
            Event::Doctype { .. } if self.stack.is_empty() && !self.root_closed => Ok(()),
            Event::Doctype { at } => fail(
                at,
                "a DOCTYPE declaration is allowed only before the root element",
            ),
            Event::Text { at } if self.stack.is_empty() => {
                fail(at, "text outside the root element")
            }
            Event::Text { .. } => Ok(()),
            Event::Start { tag, .. } if self.root_closed => fail(
                tag.start,
                "a second root element; an XML file has exactly one",
            ),
            Event::Start {
                tag,
                name,
                empty,
                namespaced,
            } => {
                if namespaced {
                    self.check_namespaces(&tag)?;
                }
                self.start(tag, name, empty);
                Ok(())
            }
            Event::End { tag, name } => self.end(tag, name),
        }
    }

    /// Namespaces in XML: every prefix used must be declared on the element or an ancestor
    /// (`xml` is predefined); a declaration may not be empty or redefine `xmlns`.
    fn check_namespaces(&mut self, tag: &Range<usize>) -> std::result::Result<(), LexError> {
        let text = self.text;
        let fail = |offset, message: String| Err(LexError { offset, message });
        let element = ElementSpan {
            range: tag.clone(),
            start_tag: tag.clone(),
            content: None,
            name: tag.start + 1..self.qname_end(tag),
        };
        let attrs = element.attrs(text);
        let mut declared: Vec<String> = Vec::new();
        for a in &attrs {
            if let Some(prefix) = text[a.name.clone()].strip_prefix("xmlns:") {
                if prefix == "xmlns" || a.value.is_empty() {
                    return fail(
                        a.name.start,
                        format!("invalid namespace declaration {:?}", &text[a.name.clone()]),
                    );
                }
                declared.push(prefix.to_owned());
            }
        }
        let in_scope = |p: &str| {
            p == "xml" || declared.iter().any(|d| d == p) || self.declared.iter().any(|d| d == p)
        };
        let element_name = &text[tag.start + 1..element.name.end];
        let names = std::iter::once((tag.start + 1, element_name, true)).chain(
            attrs
                .iter()
                .map(|a| (a.name.start, &text[a.name.clone()], false)),
        );
        for (at, name, is_element) in names {
            let Some((prefix, _)) = name.split_once(':') else {
                continue;
            };
            if prefix == "xmlns" && !is_element {
                continue;
            }
            if prefix == "xmlns" || !in_scope(prefix) {
                return fail(
                    at,
                    format!("the namespace prefix {prefix:?} is not declared"),
                );
            }
        }
        self.pending_declared = declared;
        Ok(())
    }

    /// End of the qualified name right after `<` in `tag`.
    fn qname_end(&self, tag: &Range<usize>) -> usize {
        let bytes = self.text.as_bytes();
        let mut end = tag.start + 1;
        while end < tag.end && !matches!(bytes[end], b' ' | b'\t' | b'\r' | b'\n' | b'/' | b'>') {
            end += 1;
        }
        end
    }

    fn start(&mut self, tag: Range<usize>, name: Range<usize>, empty: bool) {
        let (prefixed, local) = match self.text[name.clone()].find(':') {
            Some(colon) => (true, name.start + colon + 1..name.end),
            None => (false, name),
        };
        let parent = self.stack.last().map(|o| (o.depth_kind, o.prefixed));
        let depth_kind = child_depth(self.mode, parent, !prefixed, &self.text[local.clone()]);
        let content = (!empty).then_some(tag.end..tag.end);
        let element = ElementSpan {
            range: tag.clone(),
            start_tag: tag,
            content,
            name: local,
        };
        let declared = std::mem::take(&mut self.pending_declared);
        let open = Open {
            depth_kind,
            element,
            prefixed,
            declared: declared.len(),
        };
        if empty {
            self.close(open);
        } else {
            self.declared.extend(declared);
            self.stack.push(open);
        }
    }

    fn end(&mut self, tag: Range<usize>, name: Range<usize>) -> std::result::Result<(), LexError> {
        let text = self.text;
        let Some(mut open) = self.stack.pop() else {
            return Err(LexError {
                offset: tag.start,
                message: "end tag without a start tag".to_owned(),
            });
        };
        let start_name = &text[open.element.start_tag.start + 1..open.element.name.end];
        if text[name.clone()] != *start_name {
            let (line, column) = line_column(text, open.element.range.start);
            let message = format!(
                "end tag </{}> does not match <{start_name}> opened at {line}:{column}",
                &text[name]
            );
            return Err(LexError {
                offset: tag.start,
                message,
            });
        }
        if let Some(content) = open.element.content.as_mut() {
            content.end = tag.start;
        }
        open.element.range.end = tag.end;
        let still_declared = self.declared.len() - open.declared;
        self.declared.truncate(still_declared);
        self.close(open);
        Ok(())
    }

    fn close(&mut self, open: Open) {
        let is_root = self.stack.is_empty();
        self.root_closed |= is_root;
        record(
            &mut self.index,
            &mut self.children,
            open,
            self.text,
            is_root,
        );
    }
}

/// Whether `tag` (a start tag such as `<add name="a" />`) is well-formed on its own.
pub fn is_well_formed_start_tag(tag: &str) -> bool {
    lexer::is_start_tag(tag)
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
            let mut children = std::mem::take(children);
            // Growth left up to half the capacity unused; the index lives as long as the file.
            children.shrink_to_fit();
            index.sections.push(SectionSpan { element, children });
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
