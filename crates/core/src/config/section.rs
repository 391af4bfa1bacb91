//! The `connectionStrings` section as .NET loads it: `<add>`, `<remove>` and `<clear>` applied
//! in order, giving the effective entries, plus notes about anything .NET would trip on.

use std::path::Path;

use crate::connstr::ConnectionString;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::BuildHasherDefault;
use std::sync::OnceLock;

use crate::entry::{self, EntryName, Kind, eq_ignore_case};
use crate::error::{Error, Location, Result};
use crate::xml::attr;
use crate::xml::lines::LineIndex;
use crate::xml::scan::{Attr, ElementSpan, SectionSpan};

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
    pub entries: Vec<entry::Entry>,
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
    /// Byte offset of the element in the section's file (see [`crate::Document::locate`]).
    pub offset: usize,
}

/// The effective entries by name, and the structural notes.
#[derive(Debug, Clone, Default)]
pub struct SectionNames {
    /// Effective `<add>` elements in file order.
    pub slots: Vec<Slot>,
    /// Structural findings.
    pub notes: Vec<SectionNote>,
    /// Hash of the folded name -> index in `slots` of the first slot with that hash: a lookup
    /// by name without a scan, so that a batch of N changes does not compare every name N
    /// times. Later slots with the same hash follow through `next_same`.
    by_name: HashMap<u64, usize, BuildHasherDefault<HashIsKey>>,
    /// For each slot, the next slot (in file order) whose name has the same hash, or
    /// `usize::MAX`. One `usize` per entry instead of a `Vec` per name.
    next_same: Vec<usize>,
}

/// The keys of [`SectionNames::by_name`] are already hashes ([`folded_hash`]): hashing them
/// again (`SipHash`) cost as much as reading the name.
#[derive(Debug, Clone, Copy, Default)]
struct HashIsKey(u64);

impl std::hash::Hasher for HashIsKey {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (the key is a `u64`); this keeps the trait total.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// No next slot with the same hash.
const END: usize = usize::MAX;

impl SectionNames {
    /// The effective `<add>` elements named `name` (case-insensitive), in file order.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Slot> + 'a {
        let mut at = self.by_name.get(&folded_hash(name)).copied();
        std::iter::from_fn(move || {
            let i = at?;
            at = self.next_same.get(i).copied().filter(|&n| n != END);
            Some(i)
        })
        .filter_map(|i| self.slots.get(i))
        .filter(move |s| eq_ignore_case(&s.name, name))
    }

    /// Adds slot index `i` (the last one so far) under `hash`; returns the first slot with
    /// that hash when there was one.
    fn link(&mut self, hash: u64, i: usize) -> Option<usize> {
        self.next_same.push(END);
        match self.by_name.entry(hash) {
            Entry::Vacant(v) => {
                v.insert(i);
                None
            }
            Entry::Occupied(first) => {
                let first = *first.get();
                let mut last = first;
                while let Some(&n) = self.next_same.get(last).filter(|&&n| n != END) {
                    last = n;
                }
                if let Some(tail) = self.next_same.get_mut(last) {
                    *tail = i;
                }
                Some(first)
            }
        }
    }

    /// Records an `<add>` appended after every other child (an added entry).
    pub(crate) fn push(&mut self, slot: Slot) {
        self.link(folded_hash(&slot.name), self.slots.len());
        self.slots.push(slot);
    }

    /// Moves the offsets at or after `at` by `delta` (after an edit inside a value).
    pub(crate) fn shift(&mut self, at: usize, delta: isize) {
        for slot in self.slots.iter_mut().filter(|s| s.offset >= at) {
            slot.offset = slot.offset.saturating_add_signed(delta);
        }
    }

    fn reindex(&mut self) {
        self.by_name.clear();
        self.next_same.clear();
        for i in 0..self.slots.len() {
            let hash = self.slots.get(i).map_or(0, |s| folded_hash(&s.name));
            self.link(hash, i);
        }
    }
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
    /// Line index of `text`, built on first use (most reads never need a position).
    pub lines: &'a OnceLock<LineIndex>,
}

impl SectionText<'_> {
    fn at(&self, offset: usize) -> Location {
        let (line, column) = self
            .lines
            .get_or_init(|| LineIndex::new(self.text))
            .locate(self.text, offset);
        Location::new(self.path, line, column)
    }
}

/// Reads the section's children the way .NET's `ConnectionStringSettingsCollection` does,
/// by name only.
pub fn names(src: SectionText<'_>) -> Result<SectionNames> {
    let text = src.text;
    let mut out = SectionNames::default();
    // `out.by_name` (hash of the folded name -> first `<add>` with it) finds duplicates as the
    // names are read, without comparing every pair or allocating a folded copy of each name.
    for (child, element) in src.section.children.iter().enumerate() {
        let offset = element.range.start;
        // Locations are computed only for notes: there are few, and a file may have 10,000 entries.
        let location = || src.at(offset);
        match &text[element.name.clone()] {
            "add" => {
                let mut name_attr = None;
                for a in element.attr_iter(text) {
                    let attribute = &text[a.name.clone()];
                    if attribute == "name" {
                        name_attr = Some(a.clone());
                    }
                    let foreign = attribute.starts_with("xmlns") || attribute.contains(':');
                    if !ADD_ATTRIBUTES.contains(&attribute) && !foreign {
                        out.notes.push(SectionNote::UnknownAttribute {
                            location: src.at(a.name.start),
                            attribute: attribute.to_owned(),
                        });
                    }
                }
                let Some(name) = name_attr.map(|a| decode_attr(src, &a)).transpose()? else {
                    out.notes.push(SectionNote::MissingName {
                        location: location(),
                        element: "add".into(),
                    });
                    continue;
                };
                if let Some(first) = out.link(folded_hash(&name), out.slots.len()) {
                    // Equal hashes of different names would be a harmless miss, never a
                    // false "duplicate".
                    if let Some(first) = out
                        .slots
                        .get(first)
                        .filter(|f| eq_ignore_case(&f.name, &name))
                    {
                        out.notes.push(SectionNote::DuplicateName {
                            location: location(),
                            name: name.clone(),
                            first: src.at(first.offset),
                        });
                    }
                }
                out.slots.push(Slot {
                    child,
                    name,
                    offset,
                });
            }
            "remove" => {
                let Some(name) = attr_value(src, element, "name")? else {
                    out.notes.push(SectionNote::MissingName {
                        location: location(),
                        element: "remove".into(),
                    });
                    continue;
                };
                shadow(&mut out, src, offset, |s| eq_ignore_case(&s.name, &name));
                // Slots moved: rebuild the index (rare: `<remove>` is).
                out.reindex();
            }
            "clear" => {
                shadow(&mut out, src, offset, |_| true);
                out.reindex();
            }
            other => out.notes.push(SectionNote::UnknownElement {
                location: location(),
                element: other.to_owned(),
            }),
        }
    }
    out.slots.shrink_to_fit();
    out.next_same.shrink_to_fit();
    Ok(out)
}

/// The effective `<add>` elements named `name` (case-insensitive), found in one pass without
/// reading every name into memory: what an edit of one entry needs.
pub fn find_named(src: SectionText<'_>, name: &str) -> Result<Vec<Slot>> {
    let text = src.text;
    let mut found = Vec::new();
    for (child, element) in src.section.children.iter().enumerate() {
        let tag = &text[element.name.clone()];
        if tag == "clear" {
            found.clear();
            continue;
        }
        if tag != "add" && tag != "remove" {
            continue;
        }
        let Some(a) = element.attr(text, "name") else {
            continue;
        };
        let raw = &text[a.value.clone()];
        if raw.is_ascii() && name.is_ascii() && !raw.contains('&') && !quick_match(raw, name) {
            continue;
        }
        let decoded = attr::decode(raw).map_err(|e| Error::Xml {
            location: src.at(a.value.start + e.offset),
            message: e.message,
        })?;
        if !eq_ignore_case(&decoded, name) {
            continue;
        }
        if tag == "add" {
            found.push(Slot {
                child,
                name: decoded.into_owned(),
                offset: element.range.start,
            });
        } else {
            found.clear();
        }
    }
    Ok(found)
}

/// Case-insensitive equality of ASCII names, checking length and the last bytes first: names
/// in one section mostly share a long type prefix and differ at the end (the mailbox).
fn quick_match(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let tail = a.len().saturating_sub(8);
    a[tail..].eq_ignore_ascii_case(&b[tail..]) && a[..tail].eq_ignore_ascii_case(&b[..tail])
}

/// A hash of `name` folded as [`eq_ignore_case`] compares it (an FxHash-style mix: fast, and
/// collisions only cost a comparison).
fn folded_hash(name: &str) -> u64 {
    let mix = |h: u64, x: u64| (h.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    if name.is_ascii() {
        return name
            .bytes()
            .fold(0, |h, b| mix(h, u64::from(b.to_ascii_uppercase())));
    }
    name.chars().fold(0, |h, c| {
        let mut upper = c.to_uppercase();
        let u = match (upper.next(), upper.next()) {
            (Some(u), None) => u,
            _ => c,
        };
        mix(h, u64::from(u32::from(u)))
    })
}

fn shadow(
    out: &mut SectionNames,
    src: SectionText<'_>,
    by: usize,
    matches: impl Fn(&Slot) -> bool,
) {
    let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut out.slots)
        .into_iter()
        .partition(|s| matches(s));
    out.slots = kept;
    out.notes
        .extend(gone.into_iter().map(|s| SectionNote::Shadowed {
            location: src.at(s.offset),
            name: s.name,
            by: src.at(by),
        }));
}

/// Reads one entry fully: kind, value, parsed connection string.
pub fn materialize(src: SectionText<'_>, slot: Slot) -> Result<entry::Entry> {
    let Slot {
        child,
        name,
        offset,
    } = slot;
    let location = src.at(offset);
    let Some(element) = src.section.children.get(child) else {
        return Err(Error::InvalidChange(
            "internal: no such section child".into(),
        ));
    };
    let name = EntryName::new(name);
    let kind = Kind::of_type(name.type_name());
    // One pass over the attributes for both values (each `attr` lookup re-reads the tag).
    let (mut value_attr, mut provider_attr) = (None, None);
    for a in element.attr_iter(src.text) {
        match &src.text[a.name.clone()] {
            "connectionString" if value_attr.is_none() => value_attr = Some(a),
            "providerName" if provider_attr.is_none() => provider_attr = Some(a),
            _ => {}
        }
    }
    let value = value_attr
        .as_ref()
        .map(|a| decode_attr(src, a))
        .transpose()?;
    let parsed = ConnectionString::parse(value.clone().unwrap_or_default());
    let error_location = match (&parsed, value_attr) {
        (Err(err), Some(a)) => {
            // Map the offset in the decoded value back to the raw attribute bytes.
            let raw = &src.text[a.value.clone()];
            let raw_offset =
                attr::decode_mapped(raw).map_or(0, |m| m.raw_range(err.offset..err.offset).start);
            Some(src.at(a.value.start + raw_offset))
        }
        _ => None,
    };
    Ok(entry::Entry {
        provider_name: provider_attr
            .as_ref()
            .map(|a| decode_attr(src, a))
            .transpose()?,
        name,
        kind,
        value,
        parsed,
        error_location,
        location,
        child,
    })
}

fn decode_attr(src: SectionText<'_>, a: &Attr) -> Result<String> {
    attr::decode(&src.text[a.value.clone()])
        .map(std::borrow::Cow::into_owned)
        .map_err(|e| Error::Xml {
            location: src.at(a.value.start + e.offset),
            message: e.message,
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
