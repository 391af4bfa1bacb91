//! How new elements should look: copied from their neighbours (indentation, quote style, the
//! `/>` spacing, line endings), so an added entry looks as if the administrator typed it.

use crate::config::file::ConfigFile;
use crate::xml::attr;
use crate::xml::scan::{ElementSpan, SectionSpan};

/// Formatting for a new child element of the section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Line ending of the file.
    pub eol: &'static str,
    /// Indentation of children.
    pub indent: String,
    /// Indentation of the section's own tags.
    pub section_indent: String,
    /// Attribute quote character.
    pub quote: char,
    /// How an empty element ends after its last attribute: `" />"` or `"/>"`.
    pub empty_end: String,
}

impl Layout {
    /// The layout for new `<add>` elements in `section` of `file`.
    pub fn for_section(file: &ConfigFile, section: &SectionSpan) -> Self {
        let text = file.text();
        let eol = file.line_ending();
        let section_indent = line_indent(text, section.element.range.start)
            .unwrap_or_default()
            .to_owned();
        let model = section
            .children
            .iter()
            .rev()
            .find(|c| &text[c.name.clone()] == "add")
            .or_else(|| section.children.last());
        let unit = indent_unit(file);
        let indent = model
            .and_then(|m| line_indent(text, m.range.start))
            .map_or_else(|| format!("{section_indent}{unit}"), str::to_owned);
        let quote = model
            .and_then(|m| m.attrs(text).first().map(|a| a.quote))
            .unwrap_or('"');
        let empty_end = model.map_or_else(|| " />".to_owned(), |m| empty_end(text, m));
        Self {
            eol,
            indent,
            section_indent,
            quote,
            empty_end,
        }
    }

    /// A new `<add name=... connectionString=... />` element.
    pub fn add_element(&self, name: &str, connection_string: &str) -> String {
        let q = self.quote;
        format!(
            "<add name={q}{}{q} connectionString={q}{}{q}{}",
            attr::escape(name, q),
            attr::escape(connection_string, q),
            self.empty_end
        )
    }
}

/// The white space before `offset` on its line, if only white space precedes it there.
pub fn line_indent(text: &str, offset: usize) -> Option<&str> {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let indent = &text[start..offset];
    indent
        .chars()
        .all(|c| c == ' ' || c == '\t')
        .then_some(indent)
}

/// One level of indentation, from how the root's first child is indented.
fn indent_unit(file: &ConfigFile) -> String {
    let text = file.text();
    let index = file.index();
    let root_indent = index
        .root
        .as_ref()
        .and_then(|r| line_indent(text, r.range.start))
        .unwrap_or("");
    index
        .top_level
        .first()
        .and_then(|(_, range)| line_indent(text, range.start))
        .and_then(|child| child.strip_prefix(root_indent))
        .filter(|unit| !unit.is_empty())
        .unwrap_or("  ")
        .to_owned()
}

/// What follows the last attribute of an empty element: `" />"`, `"/>"`, `"  />"`.
fn empty_end(text: &str, element: &ElementSpan) -> String {
    let is_empty = element.content.is_none();
    match element.attrs(text).last() {
        Some(last) if is_empty => {
            let tail = &text[last.value.end + 1..element.range.end];
            if tail.contains('\n') {
                " />".to_owned()
            } else {
                tail.to_owned()
            }
        }
        _ => " />".to_owned(),
    }
}
