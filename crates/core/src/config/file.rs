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
    /// `(CRLF count, lone LF count)` of the text, counted on first use and kept up to date by
    /// the single-edit fast paths: adding N entries asks for the line ending N times.
    eols: OnceLock<(usize, usize)>,
    /// Where the last [`Self::splice`] moved text, when it was a single in-attribute edit:
    /// `(position, delta)`. Lets callers shift cached offsets instead of re-reading.
    last_shift: Option<(usize, isize)>,
    /// Whether that in-attribute edit left every line where it was (no line break removed or
    /// inserted), so cached line numbers still hold.
    last_shift_kept_lines: bool,
    /// The section child the last [`Self::splice`] appended after the last one, when that is
    /// what it did (the fast path of adding an entry).
    last_append: Option<usize>,
}

/// The largest config file k2cse reads. A K2 config is a few KiB; 10,000 entries are 2.4 MiB.
/// The bound keeps a wrong or hostile file from exhausting memory.
pub const MAX_CONFIG_BYTES: u64 = 64 * 1024 * 1024;

/// The length and XXH3-128 of a text as it is written: equal digests mean the same text (a
/// collision would need 2^64 tries; the texts compared are the user's own, not an attacker's).
/// For UTF-8 it is taken over the bytes on disk (byte-order mark and text), so that the digest
/// of a file as loaded is its [`Fingerprint`] and loading needs no second pass over the text;
/// for other encodings over the decoded text (encoding it only to hash it would cost a copy).
/// A file's encoding never changes, so its digests are always taken the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TextDigest(Fingerprint);

impl TextDigest {
    fn of(source: &SourceText) -> Self {
        Self(match source.encoding {
            Encoding::Utf8 { .. } => source.with_encoded(Fingerprint::of_parts),
            _ => Fingerprint::of(source.text.as_bytes()),
        })
    }

    /// The digest of `source` just decoded from bytes whose fingerprint is `loaded`.
    fn of_loaded(source: &SourceText, loaded: &Fingerprint) -> Self {
        match source.encoding {
            // UTF-8 is decoded in place: the text and its mark are the bytes fingerprinted.
            Encoding::Utf8 { .. } => Self(*loaded),
            _ => Self::of(source),
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
            baseline: TextDigest::of_loaded(&source, &loaded),
            source,
            loaded: Some(loaded),
            original_len,
            index,
            mode,
            changed: false,
            net_changed: OnceLock::new(),
            lines: OnceLock::new(),
            eols: OnceLock::new(),
            last_shift: None,
            last_shift_kept_lines: false,
            last_append: None,
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
            baseline: TextDigest::of(&source),
            source,
            loaded: None,
            index,
            mode,
            changed: false,
            net_changed: OnceLock::new(),
            lines: OnceLock::new(),
            eols: OnceLock::new(),
            last_shift: None,
            last_shift_kept_lines: false,
            last_append: None,
        })
    }

    /// Forgets that the text changed (after its changes were carried elsewhere, e.g. encrypted
    /// into the file that holds it).
    pub(crate) fn clear_changed(&mut self) {
        self.baseline = TextDigest::of(&self.source);
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

    /// The file's dominant line ending (as [`SourceText::line_ending`] decides it).
    pub fn line_ending(&self) -> &'static str {
        let (crlf, lf) = *self
            .eols
            .get_or_init(|| eol_counts(self.source.text.as_bytes()));
        if crlf > lf { "\r\n" } else { "\n" }
    }

    /// The kept line-ending counts and a fresh count of the text (tests of the bookkeeping).
    #[cfg(test)]
    pub(crate) fn eol_counts_kept_and_fresh(&self) -> (Option<(usize, usize)>, (usize, usize)) {
        (
            self.eols.get().copied(),
            eol_counts(self.source.text.as_bytes()),
        )
    }

    /// Replaces `range` of the text by `replacement`, keeping the line-ending counts (when
    /// counted) right by recounting only around the edit: a `\n` can change status only
    /// inside the range or right after it (its `\r` may have been replaced).
    fn replace_text(&mut self, range: Range<usize>, replacement: &str) {
        let window = |text: &str, end: usize| {
            eol_counts(&text.as_bytes()[range.start.saturating_sub(1)..(end + 1).min(text.len())])
        };
        let before = self
            .eols
            .get()
            .map(|_| window(&self.source.text, range.end));
        self.source.text.replace_range(range.clone(), replacement);
        // Every path that changes the text comes here: the net change is computed again.
        self.net_changed = OnceLock::new();
        match (before, self.eols.get_mut()) {
            (Some((crlf0, lf0)), Some(counts)) => {
                let (crlf1, lf1) = window(&self.source.text, range.start + replacement.len());
                counts.0 = counts.0 + crlf1 - crlf0;
                counts.1 = counts.1 + lf1 - lf0;
            }
            _ => self.eols = OnceLock::new(),
        }
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
                .get_or_init(|| TextDigest::of(&self.source) != self.baseline)
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

    /// Whether the last splice was an in-attribute edit that kept every line in place.
    pub(crate) fn last_shift_kept_lines(&self) -> bool {
        self.last_shift.is_some() && self.last_shift_kept_lines
    }

    /// The index of the section child the last splice appended, when it only appended one
    /// empty element after the last child.
    pub(crate) fn last_append(&self) -> Option<usize> {
        self.last_append
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
        self.last_append = None;
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
            && (self.splice_in_attribute(range.clone(), replacement)
                || self.append_child(range.clone(), replacement))
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
        self.eols = OnceLock::new();
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
        self.last_shift_kept_lines =
            !text[range.clone()].contains('\n') && !replacement.contains('\n');
        self.replace_text(range.clone(), replacement);
        self.index.shift(range.end, delta);
        self.last_shift = Some((range.end, delta));
        self.lines = OnceLock::new();
        self.changed = true;
        self.net_changed = OnceLock::new();
        true
    }

    /// The fast path of adding an entry: white space and one empty element (`<add ... />`)
    /// inserted right after the section's last child. The structure around it cannot change,
    /// so instead of re-scanning the whole file (which made a batch of N adds cost N scans),
    /// the new start tag is checked on its own, the spans after it are shifted, and the
    /// element is appended to the section's children. Returns false (having changed nothing)
    /// when the edit is not of that kind.
    fn append_child(&mut self, range: Range<usize>, replacement: &str) -> bool {
        let Some(section) = self.index.sections.first() else {
            return false;
        };
        let (Some(last), Some(content)) = (section.children.last(), &section.element.content)
        else {
            return false;
        };
        // Strictly inside the content: the end tag (or text) still follows the insertion.
        if !range.is_empty() || range.start != last.range.end || range.start >= content.end {
            return false;
        }
        let tag = replacement.trim_start_matches([' ', '\t', '\r', '\n']);
        let name_len = tag[1.min(tag.len())..]
            .find([' ', '\t', '\r', '\n', '/', '>'])
            .unwrap_or(0);
        let name = tag.get(1..=name_len).unwrap_or_default();
        // No namespace prefixes or declarations: those need the scanner's context.
        let plain = !name.is_empty()
            && !name.contains(':')
            && !tag.contains("xmlns")
            && tag.ends_with("/>")
            && tag.starts_with('<');
        if !plain || !scan::is_well_formed_start_tag(tag) {
            return false;
        }
        let at = range.start;
        let start = at + (replacement.len() - tag.len());
        let element = scan::ElementSpan {
            range: start..start + tag.len(),
            start_tag: start..start + tag.len(),
            content: None,
            name: start + 1..start + 1 + name_len,
        };
        // Attribute names must be unique and not prefixed, as the scanner requires.
        let local = scan::ElementSpan {
            range: 0..tag.len(),
            start_tag: 0..tag.len(),
            content: None,
            name: 1..1 + name_len,
        };
        let mut names: Vec<&str> = local.attr_iter(tag).map(|a| &tag[a.name]).collect();
        if names.iter().any(|n| n.contains(':')) {
            return false;
        }
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return false;
        }
        self.replace_text(at..at, replacement);
        // Positions after the insertion point move; the last child, which ends there, stays.
        self.index.shift(at + 1, replacement.len().cast_signed());
        let Some(section) = self.index.sections.first_mut() else {
            return false;
        };
        section.children.push(element);
        self.last_append = Some(section.children.len() - 1);
        self.lines = OnceLock::new();
        self.changed = true;
        true
    }

    /// Marks the file as saved with `fingerprint` now on disk.
    pub(crate) fn mark_saved(&mut self, fingerprint: Fingerprint) {
        self.original_len = usize::try_from(fingerprint.len()).unwrap_or(usize::MAX);
        self.loaded = Some(fingerprint);
        self.clear_changed();
    }
}

/// `(CRLF count, lone LF count)` of `bytes`.
fn eol_counts(bytes: &[u8]) -> (usize, usize) {
    let (mut crlf, mut lf) = (0, 0);
    for i in memchr::memchr_iter(b'\n', bytes) {
        if i > 0 && bytes[i - 1] == b'\r' {
            crlf += 1;
        } else {
            lf += 1;
        }
    }
    (crlf, lf)
}
