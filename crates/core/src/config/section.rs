//! The `connectionStrings` section as .NET loads it: `<add>`, `<remove>` and `<clear>` applied
//! in order, giving the effective entries, plus notes about anything .NET would trip on.

use std::path::Path;

use crate::connstr::ConnectionString;
use crate::entry::{Entry, EntryName, Kind, eq_ignore_case};
use crate::error::{Error, Location, Result};
use crate::xml::attr;
use crate::xml::lines::LineIndex;
use crate::xml::scan::{ElementSpan, SectionSpan};

/// Attributes .NET accepts on `<add>` (the three properties plus the configuration system's
/// lock attributes).
const ADD_ATTRIBUTES: &[&str] = &[
    "name",
    "connectionString",
    "providerName",
    "lockItem",
    "lockAttributes",
    "lockAllAttributesExcept",
    "lockElements",
    "lockAllElementsExcept",
];

/// Something about the section's structure worth a lint diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SectionNote {
    /// An `<add>` or `<remove>` without a `name` attribute (.NET: "Required attribute 'name'
    /// not found").
    MissingName {
        /// The element.
        location: Location,
        /// `add` or `remove`.
        element: String,
    },
    /// An element .NET does not know in this section ("Unrecognized element").
    UnknownElement {
        /// The element.
        location: Location,
        /// Its name.
        element: String,
    },
    /// An attribute .NET does not know on `<add>` ("Unrecognized attribute").
    UnknownAttribute {
        /// The element.
        location: Location,
        /// The attribute.
        attribute: String,
    },
    /// An `<add>` that a later `<remove>` or `<clear>` cancels.
    Shadowed {
        /// The `<add>`.
        location: Location,
        /// Its name.
        name: String,
        /// The `<remove>` or `<clear>`.
        by: Location,
    },
    /// A second `<add>` with a name already added (.NET: "The entry 'X' has already been
    /// added."; K2 does not start).
    DuplicateName {
        /// The second `<add>`.
        location: Location,
        /// The name.
        name: String,
        /// The first one.
        first: Location,
    },
}

/// The effective entries and the structural notes.
#[derive(Debug, Clone, Default)]
pub struct SectionView {
    /// Effective entries in file order (duplicates included, each flagged by a note).
    pub entries: Vec<Entry>,
    /// Structural findings.
    pub notes: Vec<SectionNote>,
}

/// An effective `<add>` known by name only: cheap to build for every entry of a large file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Index of the `<add>` among the section's children.
    pub child: usize,
    /// Its decoded name.
    pub name: String,
    /// Where it starts.
    pub location: Location,
}

/// The effective entries by name, and the structural notes.
#[derive(Debug, Clone, Default)]
pub struct SectionNames {
    /// Effective `<add>` elements in file order.
    pub slots: Vec<Slot>,
    /// Structural findings.
    pub notes: Vec<SectionNote>,
}

/// The text a section lives in, with what is needed to report positions.
#[derive(Debug, Clone, Copy)]
pub struct SectionText<'a> {
    /// The file.
    pub path: &'a Path,
    /// Its text.
    pub text: &'a str,
    /// The section's spans.
    pub section: &'a SectionSpan,
    /// Line index of `text`.
    pub lines: &'a LineIndex,
}

impl SectionText<'_> {
    fn at(&self, offset: usize) -> Location {
        let (line, column) = self.lines.locate(self.text, offset);
        Location::new(self.path, line, column)
    }
}

/// Reads the section's children the way .NET's `ConnectionStringSettingsCollection` does,
/// by name only.
pub fn names(src: SectionText<'_>) -> Result<SectionNames> {
    let text = src.text;
    let mut out = SectionNames::default();
    for (child, element) in src.section.children.iter().enumerate() {
        let location = src.at(element.range.start);
        match &text[element.name.clone()] {
            "add" => {
                for a in &element.attrs {
                    let attribute = &text[a.name.clone()];
                    let foreign = attribute.starts_with("xmlns") || attribute.contains(':');
                    if !ADD_ATTRIBUTES.contains(&attribute) && !foreign {
                        out.notes.push(SectionNote::UnknownAttribute {
                            location: src.at(a.name.start),
                            attribute: attribute.to_owned(),
                        });
                    }
                }
                let Some(name) = attr_value(src, element, "name")? else {
                    out.notes.push(SectionNote::MissingName {
                        location,
                        element: "add".into(),
                    });
                    continue;
                };
                if let Some(first) = out.slots.iter().find(|s| eq_ignore_case(&s.name, &name)) {
                    out.notes.push(SectionNote::DuplicateName {
                        location: location.clone(),
                        name: name.clone(),
                        first: first.location.clone(),
                    });
                }
                out.slots.push(Slot {
                    child,
                    name,
                    location,
                });
            }
            "remove" => {
                let Some(name) = attr_value(src, element, "name")? else {
                    out.notes.push(SectionNote::MissingName {
                        location,
                        element: "remove".into(),
                    });
                    continue;
                };
                shadow(&mut out, &location, |s| eq_ignore_case(&s.name, &name));
            }
            "clear" => shadow(&mut out, &location, |_| true),
            other => out.notes.push(SectionNote::UnknownElement {
                location,
                element: other.to_owned(),
            }),
        }
    }
    Ok(out)
}

/// Every effective entry, fully read.
pub fn view(src: SectionText<'_>) -> Result<SectionView> {
    let SectionNames { slots, notes } = names(src)?;
    let entries = slots
        .into_iter()
        .map(|slot| materialize(src, slot))
        .collect::<Result<_>>()?;
    Ok(SectionView { entries, notes })
}

fn shadow(out: &mut SectionNames, by: &Location, matches: impl Fn(&Slot) -> bool) {
    let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut out.slots)
        .into_iter()
        .partition(|s| matches(s));
    out.slots = kept;
    out.notes
        .extend(gone.into_iter().map(|s| SectionNote::Shadowed {
            location: s.location,
            name: s.name,
            by: by.clone(),
        }));
}

/// Reads one entry fully: kind, value, parsed connection string.
pub fn materialize(src: SectionText<'_>, slot: Slot) -> Result<Entry> {
    let Slot {
        child,
        name,
        location,
    } = slot;
    let Some(element) = src.section.children.get(child) else {
        return Err(Error::InvalidChange(
            "internal: no such section child".into(),
        ));
    };
    let name = EntryName::new(name);
    let kind = Kind::of_type(name.type_name());
    let value = attr_value(src, element, "connectionString")?;
    let parsed = ConnectionString::parse(value.clone().unwrap_or_default());
    let error_location = match (&parsed, element.attr(src.text, "connectionString")) {
        (Err(err), Some(a)) => {
            // Map the offset in the decoded value back to the raw attribute bytes.
            let raw = &src.text[a.value.clone()];
            let raw_offset =
                attr::decode_mapped(raw).map_or(0, |m| m.raw_range(err.offset..err.offset).start);
            Some(src.at(a.value.start + raw_offset))
        }
        _ => None,
    };
    Ok(Entry {
        provider_name: attr_value(src, element, "providerName")?,
        name,
        kind,
        value,
        parsed,
        error_location,
        location,
        child,
    })
}

/// The decoded value of attribute `name` on `element`, or an error pointing at a bad reference.
pub fn attr_value(
    src: SectionText<'_>,
    element: &ElementSpan,
    name: &str,
) -> Result<Option<String>> {
    let Some(a) = element.attr(src.text, name) else {
        return Ok(None);
    };
    match attr::decode(&src.text[a.value.clone()]) {
        Ok(value) => Ok(Some(value.into_owned())),
        Err(err) => Err(Error::Xml {
            location: src.at(a.value.start + err.offset),
            message: err.message,
        }),
    }
}
