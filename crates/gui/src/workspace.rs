//! One open config file and its edits: the GUI's model, with no egui in it.
//!
//! Edits go through the core's [`EditSession`] exactly as the CLI's do. Undo and redo keep
//! the list of changes since the file was loaded (or last saved) and rebuild the session from
//! the saved document: every state the user can return to is one the core produced.

use std::path::{Path, PathBuf};

use k2cse_core::edit::Check;
use k2cse_core::entry::{Entry, Kind};
use k2cse_core::lint::{self, Diagnostic, LintOptions, Severity};
use k2cse_core::protect::KeyStore;
use k2cse_core::save::{SaveOptions, SavedFile};
use k2cse_core::{Change, Document, EditSession};

/// Why a file could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The section is encrypted and no key opens it.
    NeedsKey {
        /// The file.
        path: PathBuf,
        /// Its protection provider.
        provider: String,
        /// What the core said.
        message: String,
    },
    /// Anything else.
    Failed(k2cse_core::Error),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NeedsKey { message, .. } => f.write_str(message),
            Self::Failed(e) => write!(f, "{e}"),
        }
    }
}

/// A line of the entry list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRow {
    /// The entry's name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Lint errors on it.
    pub errors: usize,
    /// Lint warnings on it.
    pub warnings: usize,
}

/// What the save review shows.
#[derive(Debug, Clone)]
pub struct Review {
    /// Unified diff of every file that would change (secrets masked).
    pub diff: String,
    /// What the changes introduce and resolve.
    pub check: Check,
}

/// An open config file.
pub struct Workspace {
    base: Document,
    /// Applied since the base, one group per user action (one undo step each).
    changes: Vec<Vec<Change>>,
    redo: Vec<Vec<Change>>,
    session: EditSession,
    diagnostics: Vec<Diagnostic>,
    rows: Vec<EntryRow>,
    options: LintOptions,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("path", &self.path())
            .field("changes", &self.changes.len())
            .finish_non_exhaustive()
    }
}

impl Workspace {
    /// Loads `path`, decrypting an encrypted section with `keys`.
    pub fn open(path: &Path, keys: &KeyStore) -> Result<Self, OpenError> {
        let mut doc = Document::load(path).map_err(OpenError::Failed)?;
        if let Some(protection) = doc.protection() {
            if keys.is_empty() {
                return Err(OpenError::NeedsKey {
                    path: path.to_owned(),
                    provider: protection.provider.clone(),
                    message: format!(
                        "The connection strings are encrypted (provider \"{}\"). Choose the key file exported with aspnet_regiis -px.",
                        protection.provider
                    ),
                });
            }
            if let Err(e) = doc.unlock(keys.clone()) {
                return Err(OpenError::NeedsKey {
                    path: path.to_owned(),
                    provider: protection.provider,
                    message: e.to_string(),
                });
            }
        }
        Self::from_document(doc).map_err(OpenError::Failed)
    }

    /// Wraps a loaded document.
    pub fn from_document(doc: Document) -> k2cse_core::Result<Self> {
        let options = LintOptions::default();
        let session = EditSession::new(doc.clone(), options, true)?;
        let mut ws = Self {
            base: doc,
            changes: Vec::new(),
            redo: Vec::new(),
            session,
            diagnostics: Vec::new(),
            rows: Vec::new(),
            options,
        };
        ws.refresh()?;
        Ok(ws)
    }

    /// The config file.
    pub fn path(&self) -> &Path {
        self.base.path()
    }

    /// The document as edited.
    pub fn document(&self) -> &Document {
        self.session.document()
    }

    /// Entry lines, in file order.
    pub fn rows(&self) -> &[EntryRow] {
        &self.rows
    }

    /// One entry as edited.
    pub fn entry(&self, name: &str) -> Option<Entry> {
        self.document().entry(name).ok()
    }

    /// Findings on `entry` (all findings for `None`).
    pub fn diagnostics(&self, entry: Option<&str>) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(move |d| {
            entry.is_none_or(|e| {
                d.entry
                    .as_deref()
                    .is_some_and(|n| k2cse_core::entry::eq_ignore_case(n, e))
            })
        })
    }

    /// Whether there are unsaved changes.
    pub fn is_dirty(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Whether undo / redo can do anything.
    pub fn can_undo(&self) -> bool {
        !self.changes.is_empty()
    }

    /// See [`Workspace::can_undo`].
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Applies one change; on error nothing changes.
    pub fn apply(&mut self, change: Change) -> k2cse_core::Result<()> {
        self.apply_group(vec![change])
    }

    /// Applies changes as one undo step; if one fails, none stays applied.
    pub fn apply_group(&mut self, group: Vec<Change>) -> k2cse_core::Result<()> {
        for (i, change) in group.iter().enumerate() {
            if let Err(e) = self.session.apply(change.clone()) {
                if i > 0 {
                    self.rebuild()?;
                }
                return Err(e);
            }
        }
        self.changes.push(group);
        self.redo.clear();
        self.refresh()
    }

    /// Undoes the last action.
    pub fn undo(&mut self) -> k2cse_core::Result<bool> {
        let Some(group) = self.changes.pop() else {
            return Ok(false);
        };
        self.redo.push(group);
        self.rebuild()?;
        Ok(true)
    }

    /// Redoes the last undone action.
    pub fn redo(&mut self) -> k2cse_core::Result<bool> {
        let Some(group) = self.redo.pop() else {
            return Ok(false);
        };
        self.session.apply_all(group.iter().cloned())?;
        self.changes.push(group);
        self.refresh()?;
        Ok(true)
    }

    /// The diff and lint delta a save would write.
    pub fn review(&self) -> k2cse_core::Result<Review> {
        Ok(Review {
            diff: self.session.diff(false)?,
            check: self.session.check()?,
        })
    }

    /// Saves (backup, atomic replace, lost-update check); the saved state becomes the new base
    /// and the undo history starts again.
    pub fn save(&mut self, force: bool) -> k2cse_core::Result<Vec<SavedFile>> {
        let saved = self.session.save(&SaveOptions::default(), force)?;
        self.base = self.session.document().clone();
        self.changes.clear();
        self.redo.clear();
        self.session = EditSession::new(self.base.clone(), self.options, true)?;
        self.refresh()?;
        Ok(saved)
    }

    fn rebuild(&mut self) -> k2cse_core::Result<()> {
        let mut session = EditSession::new(self.base.clone(), self.options, true)?;
        session.apply_all(self.changes.iter().flatten().cloned())?;
        self.session = session;
        self.refresh()
    }

    fn refresh(&mut self) -> k2cse_core::Result<()> {
        let doc = self.session.document();
        self.diagnostics = lint::lint(doc, &self.options)?;
        let mut rows: Vec<EntryRow> = doc
            .entries()?
            .iter()
            .map(|e| EntryRow {
                name: e.name.as_str().to_owned(),
                kind: e.kind,
                errors: 0,
                warnings: 0,
            })
            .collect();
        for d in &self.diagnostics {
            let Some(name) = &d.entry else { continue };
            if let Some(row) = rows
                .iter_mut()
                .find(|r| k2cse_core::entry::eq_ignore_case(&r.name, name))
            {
                match d.severity {
                    Severity::Error => row.errors += 1,
                    Severity::Warning => row.warnings += 1,
                    Severity::Info => {}
                }
            }
        }
        self.rows = rows;
        Ok(())
    }
}
