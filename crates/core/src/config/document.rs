//! A .NET config file with its `connectionStrings` section, wherever that section lives.

use std::path::{Component, Path, PathBuf};

use std::sync::{Mutex, OnceLock};

use crate::config::file::ConfigFile;
use crate::config::protected::SealedSection;
use crate::protect::{KeyStore, Scheme};

use crate::config::section::{self, SectionNames, SectionNote, SectionText, SectionView, Slot};
use crate::entry::{Entry, eq_ignore_case};
use crate::error::{Error, Location, Result};
use crate::xml::attr;
use crate::xml::scan::{ScanMode, SectionSpan};

/// How the section is protected, when it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Protection {
    /// The `configProtectionProvider` attribute (K2 uses `K2ConfigurationKey`).
    pub provider: String,
    /// The section element.
    pub location: Location,
    /// Whether the section was decrypted (see [`Document::unlock`]).
    pub unlocked: bool,
    /// How it is encrypted, once decrypted.
    pub scheme: Option<Scheme>,
}

/// A loaded config file: `K2HostServer.exe.config` or any .NET `*.config`.
#[derive(Debug, Clone)]
pub struct Document {
    main: ConfigFile,
    /// The file named by `configSource`, when the section lives in one.
    external: Option<ConfigFile>,
    /// The entry names, read once per version of the text (edits reset it).
    names: OnceLock<SectionNames>,
    /// The last [`Self::entries_named`] lookup: an edit looks its entry up several times
    /// (lint before, the edit itself), and a large file makes each lookup count.
    last_lookup: LookupMemo,
    /// The decrypted section, when the section is encrypted and a key opened it.
    pub(crate) sealed: Option<SealedSection>,
    /// The keys given to [`Self::unlock`], kept to encrypt again on save.
    pub(crate) keys: KeyStore,
}

/// A one-entry memo of name lookups, emptied by every edit. Cloning a document starts it empty.
#[derive(Debug, Default)]
struct LookupMemo(Mutex<Option<(String, Vec<Slot>)>>);

impl LookupMemo {
    fn get(&self, name: &str) -> Option<Vec<Slot>> {
        let memo = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        memo.as_ref()
            .filter(|(n, _)| n == name)
            .map(|(_, slots)| slots.clone())
    }

    fn set(&self, name: &str, slots: &[Slot]) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((name.to_owned(), slots.to_vec()));
    }
}

impl Clone for LookupMemo {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl Document {
    /// Reads `path` (and the section's `configSource` file, if it has one).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes =
            crate::bounded::read(path, crate::config::MAX_CONFIG_BYTES, ".NET config file")?;
        Self::from_bytes(path, bytes)
    }

    /// Reads a config file from `bytes` as if it were at `path`. A `configSource` file is
    /// still read from disk, relative to `path`.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self> {
        let main = ConfigFile::from_bytes(path, bytes, ScanMode::ConfigFile)?;
        if let Some(second) = main.index().sections.get(1) {
            return Err(Error::Xml {
                location: main.location(second.element.range.start),
                message: "a second <connectionStrings> section; .NET refuses the file (\"Sections \
                          must only appear once per config file\")"
                    .into(),
            });
        }
        let external = match main.section() {
            Some(section) => config_source(&main, section)?,
            None => None,
        };
        Ok(Self {
            main,
            external,
            names: OnceLock::new(),
            last_lookup: LookupMemo::default(),
            sealed: None,
            keys: KeyStore::default(),
        })
    }

    /// The config file's path.
    pub fn path(&self) -> &Path {
        self.main.path()
    }

    /// The config file itself.
    pub fn main_file(&self) -> &ConfigFile {
        &self.main
    }

    /// The text the section's entries are read from and edited in: the decrypted section when
    /// the section is encrypted and unlocked, else the file holding the section.
    pub fn section_file(&self) -> &ConfigFile {
        match &self.sealed {
            Some(sealed) => &sealed.plain,
            None => self.host_file(),
        }
    }

    pub(crate) fn section_file_mut(&mut self) -> &mut ConfigFile {
        match &mut self.sealed {
            Some(sealed) => &mut sealed.plain,
            None => self.external.as_mut().unwrap_or(&mut self.main),
        }
    }

    /// The file on disk holding the section: the `configSource` file, or the config file.
    pub fn host_file(&self) -> &ConfigFile {
        self.external.as_ref().unwrap_or(&self.main)
    }

    pub(crate) fn host_file_mut(&mut self) -> &mut ConfigFile {
        self.external.as_mut().unwrap_or(&mut self.main)
    }

    pub(crate) fn main_file_mut(&mut self) -> &mut ConfigFile {
        &mut self.main
    }

    /// Every file this document reads (the config file, then a `configSource` file).
    pub fn files(&self) -> impl Iterator<Item = &ConfigFile> {
        std::iter::once(&self.main).chain(self.external.as_ref())
    }

    pub(crate) fn files_mut(&mut self) -> impl Iterator<Item = &mut ConfigFile> {
        std::iter::once(&mut self.main).chain(self.external.as_mut())
    }

    /// The section's span in [`Self::section_file`], if the file has a section.
    pub fn section(&self) -> Option<&SectionSpan> {
        self.section_file().section()
    }

    /// Where the section's `configSource` points, if it has one.
    pub fn config_source(&self) -> Option<&Path> {
        self.external.as_ref().map(ConfigFile::path)
    }

    /// The protection of the section, if it is encrypted.
    pub fn protection(&self) -> Option<Protection> {
        let file = self.host_file();
        let section = file.section()?;
        let a = section
            .element
            .attr(file.text(), "configProtectionProvider")?;
        Some(Protection {
            provider: attr::decode(&file.text()[a.value.clone()])
                .map_or_else(|_| String::new(), std::borrow::Cow::into_owned),
            location: file.location(section.element.range.start),
            unlocked: self.sealed.is_some(),
            scheme: self.sealed.as_ref().map(|s| s.scheme),
        })
    }

    /// Whether any change is waiting to be saved (decrypted edits included).
    pub fn is_changed(&self) -> bool {
        self.files().any(ConfigFile::is_changed)
            || self.sealed.as_ref().is_some_and(|s| s.plain.is_changed())
    }

    /// Runs `f` on the section's text, or returns `empty` when the section is missing or
    /// encrypted (see [`Self::protection`]).
    fn with_section<T>(&self, empty: T, f: impl FnOnce(SectionText<'_>) -> Result<T>) -> Result<T> {
        let file = self.section_file();
        match file.section() {
            Some(section) if self.protection().is_none_or(|p| p.unlocked) => f(SectionText {
                path: file.path(),
                text: file.text(),
                section,
                lines: file.lines(),
            }),
            _ => Ok(empty),
        }
    }

    /// The effective entries, fully read, and the structural notes.
    pub fn view(&self) -> Result<SectionView> {
        Ok(SectionView {
            entries: self.entries()?,
            notes: self.names()?.notes.clone(),
        })
    }

    /// The effective entries by name only, and the structural notes: cheap on large files,
    /// and computed once per version of the text.
    pub fn names(&self) -> Result<&SectionNames> {
        if let Some(names) = self.names.get() {
            return Ok(names);
        }
        let names = self.with_section(SectionNames::default(), section::names)?;
        Ok(self.names.get_or_init(|| names))
    }

    /// Whether the names are read and kept (tests of the paths that keep them).
    #[cfg(test)]
    pub(crate) fn names_cached(&self) -> bool {
        self.names.get().is_some()
    }

    /// Forgets what was read from the text; called after every edit.
    pub(crate) fn invalidate(&mut self) {
        self.names = OnceLock::new();
        self.last_lookup = LookupMemo::default();
    }

    /// Keeps what is still true after an edit inside one attribute value: the lookup memo
    /// and, when no line moved and there are no notes (whose positions are line:column), the
    /// names, offsets moved by `delta` from `at`. Values cannot change names or structure.
    pub(crate) fn shift_after_value_edit(&mut self, at: usize, delta: isize) {
        let kept_lines = self.section_file().last_shift_kept_lines();
        match self.names.get_mut() {
            Some(names) if kept_lines && names.notes.is_empty() => names.shift(at, delta),
            _ => self.names = OnceLock::new(),
        }
        let mut memo = self
            .last_lookup
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, slots)) = memo.as_mut() {
            for slot in slots.iter_mut().filter(|s| s.offset >= at) {
                slot.offset = slot.offset.saturating_add_signed(delta);
            }
        }
    }

    /// Keeps the names after an `<add>` named `name` was appended as section child `child`
    /// (the fast path of [`crate::config::ConfigFile`]'s splice): nothing before it moved.
    pub(crate) fn after_append(&mut self, child: usize, name: &str) {
        self.last_lookup = LookupMemo::default();
        let offset = self
            .section()
            .and_then(|s| s.children.get(child))
            .map(|c| c.range.start);
        match (self.names.get_mut(), offset) {
            (Some(names), Some(offset)) => names.push(Slot {
                child,
                name: name.to_owned(),
                offset,
            }),
            _ => self.names = OnceLock::new(),
        }
    }

    /// `path:line:column` of a byte offset in the section's file (e.g. [`Slot::offset`]).
    pub fn locate(&self, offset: usize) -> Location {
        self.section_file().location(offset)
    }

    /// The effective entries.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        self.entry_iter()?.collect()
    }

    /// The effective entries, read one at a time as the iterator is advanced (from the names,
    /// read once): what a pass over 100,000 entries needs, without holding them all.
    pub fn entry_iter(&self) -> Result<impl Iterator<Item = Result<Entry>> + '_> {
        self.entries_in(0..usize::MAX)
    }

    /// As [`Self::entry_iter`], only the entries at positions `range` among them (clipped to
    /// their number): lets two threads each read their own share of a long section.
    pub fn entries_in(
        &self,
        range: std::ops::Range<usize>,
    ) -> Result<impl Iterator<Item = Result<Entry>> + '_> {
        let names = self.names()?;
        let count = names.slots.len();
        let start = range.start.min(count);
        let slots = &names.slots[start..range.end.clamp(start, count)];
        let file = self.section_file();
        let src = file
            .section()
            .filter(|_| self.protection().is_none_or(|p| p.unlocked))
            .map(|section| SectionText {
                path: file.path(),
                text: file.text(),
                section,
                lines: file.lines(),
            });
        Ok(src.into_iter().flat_map(move |src| {
            slots
                .iter()
                .map(move |slot| section::materialize(src, slot.clone()))
        }))
    }

    /// Every effective entry named `name` (normally one; more when the file has duplicates).
    pub fn entries_named(&self, name: &str) -> Result<Vec<Entry>> {
        self.with_section(Vec::new(), |src| {
            let slots = if let Some(slots) = self.last_lookup.get(name) {
                slots
            } else if let Some(names) = self.names.get() {
                // Read once already: a lookup, not a pass over the section.
                names.named(name).cloned().collect()
            } else {
                let slots = section::find_named(src, name)?;
                self.last_lookup.set(name, &slots);
                slots
            };
            slots
                .into_iter()
                .map(|slot| section::materialize(src, slot))
                .collect()
        })
    }

    /// The entry named `name`, or with `pick`, the picked one of several so named.
    pub fn entry_at(&self, name: &str, pick: Option<crate::edit::Pick>) -> Result<Entry> {
        let Some(pick) = pick else {
            return self.entry(name);
        };
        let mut found = self.entries_named(name)?;
        if found.is_empty() {
            return self.entry(name);
        }
        let lines = || {
            found
                .iter()
                .map(|e| e.location.line.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let index = match pick {
            crate::edit::Pick::Nth(n) => (1..=found.len()).contains(&n).then(|| n - 1).ok_or_else(|| {
                Error::InvalidChange(format!(
                    "--nth {n}: there {} {} entr{} named {name:?} (lines {}); give 1 to {}",
                    if found.len() == 1 { "is" } else { "are" },
                    found.len(),
                    if found.len() == 1 { "y" } else { "ies" },
                    lines(),
                    found.len()
                ))
            })?,
            crate::edit::Pick::Line(line) => found
                .iter()
                .position(|e| e.location.line == line)
                .ok_or_else(|| {
                    Error::InvalidChange(format!(
                        "--line {line}: no entry named {name:?} starts on line {line} (they start on lines {})",
                        lines()
                    ))
                })?,
        };
        Ok(found.swap_remove(index))
    }

    /// The one effective entry named `name` (case-insensitive).
    pub fn entry(&self, name: &str) -> Result<Entry> {
        let mut found = self.entries_named(name)?;
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(Error::EntryNotFound {
                path: self.section_file().path().to_owned(),
                name: name.to_owned(),
                hint: not_found_hint(self.names()?, name),
            }),
            count => Err(Error::AmbiguousEntry {
                path: self.section_file().path().to_owned(),
                name: name.to_owned(),
                count,
                lines: found
                    .iter()
                    .map(|e| e.location.line.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

/// Loads the file a `configSource` attribute names, checking it the way .NET does.
fn config_source(main: &ConfigFile, section: &SectionSpan) -> Result<Option<ConfigFile>> {
    let text = main.text();
    let Some(a) = section.element.attr(text, "configSource") else {
        return Ok(None);
    };
    let location = main.location(a.value.start);
    let value = attr::decode(&text[a.value.clone()]).map_err(|e| Error::Xml {
        location: location.clone(),
        message: e.message,
    })?;
    let relative = Path::new(value.as_ref());
    let escapes = relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if value.is_empty() || relative.is_absolute() || escapes || value.contains(':') {
        return Err(Error::Xml {
            location,
            message: format!(
                "configSource {value:?} must be a relative path inside the config file's folder"
            ),
        });
    }
    if !section.children.is_empty() || section.element.attrs(text).len() > 1 {
        return Err(Error::Xml {
            location: main.location(section.element.range.start),
            message: "a section with configSource may contain no other attributes or elements"
                .into(),
        });
    }
    let dir = main
        .path()
        .parent()
        .map_or_else(PathBuf::new, Path::to_path_buf);
    ConfigFile::load(&dir.join(relative), ScanMode::SectionFile).map(Some)
}

/// A helpful aside for "no entry named X".
fn not_found_hint(view: &SectionNames, name: &str) -> Option<String> {
    for note in &view.notes {
        if let SectionNote::Shadowed { name: n, by, .. } = note
            && eq_ignore_case(n, name)
        {
            return Some(format!(
                "it is removed by the <remove> or <clear> at line {}",
                by.line
            ));
        }
    }
    let lower = name.to_lowercase();
    let near: Vec<&str> = view
        .slots
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| {
            let n = n.to_lowercase();
            n.contains(&lower)
                || lower.contains(&n)
                || n.split(':').next_back() == lower.split(':').next_back()
        })
        .collect();
    match near.as_slice() {
        [one] => Some(format!("did you mean {one:?}?")),
        [] => None,
        many => Some(format!(
            "did you mean one of {}?",
            many.iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
