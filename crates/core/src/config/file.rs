//! One file on disk that k2cse reads and may write: its text, how it was encoded, what was on
//! disk when it was read, and the index of its `connectionStrings` section.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};
use crate::save::Fingerprint;
use std::sync::OnceLock;

use crate::xml::lines::LineIndex;
use crate::xml::scan::{self, FileIndex, ScanMode, SectionSpan};
use crate::xml::source::{Encoding, SourceText};

/// A config file (or `configSource` file) loaded into memory.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    source: SourceText,
    /// The bytes on disk when loaded; `None` for a file not yet on disk.
    loaded: Option<Fingerprint>,
    original_len: usize,
    index: FileIndex,
    mode: ScanMode,
    /// An edit touched the text since loading (or the last save). The text may still be what
    /// it was (an edit undone, a value set to what it already was): see [`Self::is_changed`].
    changed: bool,
    /// The text as loaded or last saved: its length and XXH3-128, to tell a net change from
    /// edits that cancel out without keeping a second copy of a large file.
    baseline: TextDigest,
    /// Whether the text differs from `baseline`, computed once per version of the text.
    net_changed: OnceLock<bool>,
    /// Line starts, built on first use and dropped on every edit.
    lines: OnceLock<LineIndex>,
    /// Where the last [`Self::splice`] moved text, when it was a single in-attribute edit:
    /// `(position, delta)`. Lets callers shift cached offsets instead of re-reading.
    last_shift: Option<(usize, isize)>,
}

/// The largest config file k2cse reads. A K2 config is a few KiB; 10,000 entries are 2.4 MiB.
/// The bound keeps a wrong or hostile file from exhausting memory.
pub const MAX_CONFIG_BYTES: u64 = 64 * 1024 * 1024;

/// The length and XXH3-128 of a text: equal digests mean the same text (a collision would
/// need 2^64 tries; the texts compared are the user's own, not an attacker's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TextDigest {
    len: usize,
    hash: u128,
}

impl TextDigest {
    fn of(text: &str) -> Self {
        Self {
            len: text.len(),
            hash: xxhash_rust::xxh3::xxh3_128(text.as_bytes()),
        }
    }
}

fn too_large(path: &Path, size: u64) -> Error {
    Error::io(
        path,
        std::io::Error::other(format!(
            "{size} bytes: larger than any .NET config file k2cse reads ({} MiB); is this the right file?",
            MAX_CONFIG_BYTES / 1024 / 1024
        )),
    )
}

impl ConfigFile {
    /// Reads and indexes `path`.
    pub fn load(path: &Path, mode: ScanMode) -> Result<Self> {
        let bytes = crate::bounded::read(path, MAX_CONFIG_BYTES, ".NET config file")?;
        Self::from_bytes(path, bytes, mode)
    }

    /// Indexes `bytes` as if read from `path`.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>, mode: ScanMode) -> Result<Self> {
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(too_large(path, bytes.len() as u64));
        }
        let loaded = Fingerprint::of(&bytes);
        let original_len = bytes.len();
        let source = SourceText::decode(path, bytes)?;
        let index = scan::scan(path, &source.text, mode)?;
        Ok(Self {
            path: path.to_owned(),
            baseline: TextDigest::of(&source.text),
            source,
            loaded: Some(loaded),
            original_len,
            index,
            mode,
            changed: false,
            net_changed: OnceLock::new(),
            lines: OnceLock::new(),
            last_shift: None,
        })
    }

    /// Text that exists only in memory (a decrypted section), indexed as if read from `path`.
    /// It is never written to disk: [`crate::Document::files`] does not list it.
    pub(crate) fn in_memory(path: &Path, text: String, mode: ScanMode) -> Result<Self> {
        let index = scan::scan(path, &text, mode)?;
        let source = SourceText {
            text,
            encoding: crate::xml::source::Encoding::Utf8 { bom: false },
        };
        Ok(Self {
            path: path.to_owned(),
            original_len: source.text.len(),
            baseline: TextDigest::of(&source.text),
            source,
            loaded: None,
            index,
            mode,
            changed: false,
            net_changed: OnceLock::new(),
            lines: OnceLock::new(),
            last_shift: None,
        })
    }

    /// Forgets that the text changed (after its changes were carried elsewhere, e.g. encrypted
    /// into the file that holds it).
    pub(crate) fn clear_changed(&mut self) {
        self.baseline = TextDigest::of(&self.source.text);
        self.changed = false;
        self.net_changed = OnceLock::new();
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The decoded text.
    pub fn text(&self) -> &str {
        &self.source.text
    }

    /// How the file is encoded.
    pub fn encoding(&self) -> Encoding {
        self.source.encoding
    }

    /// The file's dominant line ending.
    pub fn line_ending(&self) -> &'static str {
        self.source.line_ending()
    }

    /// The bytes to write: the text in the original encoding.
    pub fn encode(&self) -> Vec<u8> {
        self.source.encode()
    }

    /// Runs `f` on the bytes to write, as consecutive slices (see [`SourceText::with_encoded`]).
    pub fn with_encoded<R>(&self, f: impl FnOnce(&[&[u8]]) -> R) -> R {
        self.source.with_encoded(f)
    }

    /// Whether the text differs from what was loaded (or last saved): edits that cancel out,
    /// or set what was already there, are no change. Nothing is written for such a file.
    pub fn is_changed(&self) -> bool {
        self.changed
            && *self
                .net_changed
                .get_or_init(|| TextDigest::of(&self.source.text) != self.baseline)
    }

    /// What was on disk when the file was loaded.
    pub fn loaded_fingerprint(&self) -> Option<&Fingerprint> {
        self.loaded.as_ref()
    }

    /// Size on disk when loaded.
    pub fn original_len(&self) -> usize {
        self.original_len
    }

    /// The scan result.
    pub fn index(&self) -> &FileIndex {
        &self.index
    }

    /// The one `connectionStrings` section, if present.
    pub fn section(&self) -> Option<&SectionSpan> {
        self.index.sections.first()
    }

    /// `path:line:column` of a byte offset in the text.
    pub fn location(&self, offset: usize) -> Location {
        let (line, column) = self
            .lines()
            .get_or_init(|| LineIndex::new(self.text()))
            .locate(self.text(), offset);
        Location::new(&self.path, line, column)
    }

    /// `(position, delta)` when the last splice only changed bytes inside one attribute value.
    pub fn last_shift(&self) -> Option<(usize, isize)> {
        self.last_shift
    }

    /// The (lazily built) line index of the text.
    pub fn lines(&self) -> &OnceLock<LineIndex> {
        &self.lines
    }

    /// Replaces each byte range with its text (ranges refer to the current text and must not
    /// overlap) and re-indexes the file. The text is edited in place, so a large file is never
    /// held twice. If the result does not scan, the edits are undone and the error returned
    /// (that would be a k2cse bug: edits are built to keep the file well-formed).
    pub fn splice(&mut self, mut edits: Vec<(Range<usize>, String)>) -> Result<()> {
        self.last_shift = None;
        // A character the file's encoding cannot hold (a single-byte code page) is refused,
        // never written as other bytes that .NET would read as another password.
        for (range, replacement) in &edits {
            if let Some(c) = self.source.encoding.unrepresentable(replacement) {
                return Err(Error::Encoding {
                    location: self.location(range.start),
                    message: format!(
                        "{c:?} (U+{:04X}) cannot be written in this file's encoding, {}; use only characters it holds, or convert the file (and its XML declaration) to UTF-8",
                        u32::from(c),
                        self.source.encoding.label()
                    ),
                });
            }
        }
        edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
        if edits.windows(2).any(|w| w[1].0.end > w[0].0.start) {
            return Err(Error::InvalidChange("internal: overlapping edits".into()));
        }
        if let [(range, replacement)] = edits.as_slice()
            && self.splice_in_attribute(range.clone(), replacement)
        {
            return Ok(());
        }
        let mut undo = Vec::with_capacity(edits.len());
        for (range, replacement) in edits {
            let old = self.source.text[range.clone()].to_owned();
            self.source.text.replace_range(range.clone(), &replacement);
            undo.push((range.start..range.start + replacement.len(), old));
        }
        // Free the old index before building the new one: on large files it is sizeable.
        self.index = FileIndex::default();
        self.lines = OnceLock::new();
        match scan::scan(&self.path, &self.source.text, self.mode) {
            Ok(index) => {
                self.index = index;
                self.changed = true;
                self.net_changed = OnceLock::new();
                Ok(())
            }
            Err(err) => {
                for (range, old) in undo.into_iter().rev() {
                    self.source.text.replace_range(range, &old);
                }
                self.index = scan::scan(&self.path, &self.source.text, self.mode)?;
                Err(err)
            }
        }
    }

    /// The fast path for the most common edit, a change inside one attribute value of a section
    /// child: the structure cannot change, so instead of re-scanning the whole file, the edited
    /// start tag is checked on its own and the spans after the edit are shifted. Returns false
    /// (having changed nothing) when the edit is not of that kind.
    fn splice_in_attribute(&mut self, range: Range<usize>, replacement: &str) -> bool {
        let text = &self.source.text;
        let Some(section) = self.index.sections.first() else {
            return false;
        };
        let i = section
            .children
            .partition_point(|c| c.range.start <= range.start);
        let Some(element) = i.checked_sub(1).and_then(|i| section.children.get(i)) else {
            return false;
        };
        let inside_value = element
            .attrs(text)
            .iter()
            .any(|a| a.value.start <= range.start && range.end <= a.value.end);
        if !inside_value || range.end > element.start_tag.end {
            return false;
        }
        let delta = replacement.len().cast_signed() - range.len().cast_signed();
        let new_tag_end = element.start_tag.end.saturating_add_signed(delta);
        let tag_start = element.start_tag.start;
        let mut candidate = String::with_capacity(new_tag_end - tag_start);
        candidate.push_str(&text[tag_start..range.start]);
        candidate.push_str(replacement);
        candidate.push_str(&text[range.end..element.start_tag.end]);
        if !scan::is_well_formed_start_tag(&candidate) {
            return false;
        }
        self.source.text.replace_range(range.clone(), replacement);
        self.index.shift(range.end, delta);
        self.last_shift = Some((range.end, delta));
        self.lines = OnceLock::new();
        self.changed = true;
        self.net_changed = OnceLock::new();
        true
    }

    /// Marks the file as saved with `fingerprint` now on disk.
    pub(crate) fn mark_saved(&mut self, fingerprint: Fingerprint) {
        self.original_len = usize::try_from(fingerprint.len()).unwrap_or(usize::MAX);
        self.loaded = Some(fingerprint);
        self.clear_changed();
    }
}
