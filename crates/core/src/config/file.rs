//! One file on disk that k2cse reads and may write: its text, how it was encoded, what was on
//! disk when it was read, and the index of its `connectionStrings` section.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};
use crate::save::Fingerprint;
use crate::xml::lines::line_column;
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
    changed: bool,
}

impl ConfigFile {
    /// Reads and indexes `path`.
    pub fn load(path: &Path, mode: ScanMode) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(path, bytes, mode)
    }

    /// Indexes `bytes` as if read from `path`.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>, mode: ScanMode) -> Result<Self> {
        let loaded = Fingerprint::of(&bytes);
        let original_len = bytes.len();
        let source = SourceText::decode(path, bytes)?;
        let index = scan::scan(path, &source.text, mode)?;
        Ok(Self {
            path: path.to_owned(),
            source,
            loaded: Some(loaded),
            original_len,
            index,
            mode,
            changed: false,
        })
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

    /// Whether an edit changed the text since loading.
    pub fn is_changed(&self) -> bool {
        self.changed
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
        let (line, column) = line_column(self.text(), offset);
        Location::new(&self.path, line, column)
    }

    /// Replaces each byte range with its text (ranges refer to the current text and must not
    /// overlap) and re-indexes the file. The text is edited in place, so a large file is never
    /// held twice. If the result does not scan, the edits are undone and the error returned
    /// (that would be a k2cse bug: edits are built to keep the file well-formed).
    pub fn splice(&mut self, mut edits: Vec<(Range<usize>, String)>) -> Result<()> {
        edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
        if edits.windows(2).any(|w| w[1].0.end > w[0].0.start) {
            return Err(Error::InvalidChange("internal: overlapping edits".into()));
        }
        let mut undo = Vec::with_capacity(edits.len());
        for (range, replacement) in edits {
            let old = self.source.text[range.clone()].to_owned();
            self.source.text.replace_range(range.clone(), &replacement);
            undo.push((range.start..range.start + replacement.len(), old));
        }
        // Free the old index before building the new one: on large files it is sizeable.
        self.index = FileIndex::default();
        match scan::scan(&self.path, &self.source.text, self.mode) {
            Ok(index) => {
                self.index = index;
                self.changed = true;
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

    /// Marks the file as saved with `fingerprint` now on disk.
    pub(crate) fn mark_saved(&mut self, fingerprint: Fingerprint) {
        self.original_len = usize::try_from(fingerprint.len()).unwrap_or(usize::MAX);
        self.loaded = Some(fingerprint);
        self.changed = false;
    }
}
