//! One open config file and its edits: the GUI's model, with no egui in it.
//!
//! Edits go through the core's [`EditSession`] exactly as the CLI's do. Undo and redo keep
//! the list of changes since the file was loaded (or last saved) and rebuild the session from
//! the saved document: every state the user can return to is one the core produced.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use k2cse_core::config::Unlock;
use k2cse_core::edit::Check;
use k2cse_core::entry::{Entry, Kind, fold_name};
use k2cse_core::lint::{self, Diagnostic, LintOptions, Severity};
use k2cse_core::protect::KeyStore;
use k2cse_core::save::{SaveOptions, SavedFile};
use k2cse_core::{Change, Document, EditSession};

use crate::recheck::{self, Recheck};

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
    /// Each changed entry and key, `old → new` (secrets masked).
    pub entries: Vec<crate::review::EntryChange>,
}

/// An open config file.
pub struct Workspace {
    base: Document,
    /// Applied since the base, one group per user action (one undo step each).
    changes: Vec<Vec<Change>>,
    redo: Vec<Vec<Change>>,
    session: EditSession,
    /// Section-wide findings (duplicates, structure, no `HostserverDB`).
    structural: Vec<Diagnostic>,
    /// Each entry's own findings, by folded name; recomputed only for the entries an edit
    /// touches, so that an edit costs the same with 10 entries or 10,000.
    by_entry: HashMap<String, Vec<Diagnostic>>,
    rows: Vec<EntryRow>,
    options: LintOptions,
    /// Which workspace this is (unique in the process) and how often it changed: views that
    /// cache something derived from it key their cache on both, so no one bumps a counter by hand.
    id: u64,
    revision: u64,
}

/// Hands out workspace ids.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

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
        Self::open_with(path, keys, LintOptions::default())
    }

    /// [`Workspace::open`], linting with `lint` (the day dated rules compare against).
    pub fn open_with(path: &Path, keys: &KeyStore, lint: LintOptions) -> Result<Self, OpenError> {
        // The core's open-and-unlock, as the CLI's: a DPAPI section is always tried.
        let opened = k2cse_core::config::open(path, keys).map_err(OpenError::Failed)?;
        match opened.unlock {
            Unlock::Plain | Unlock::Unlocked => {}
            Unlock::NoKey { provider } => {
                return Err(OpenError::NeedsKey {
                    path: path.to_owned(),
                    message: format!(
                        "The connection strings are encrypted (provider \"{provider}\"). Choose the key file exported with aspnet_regiis -px."
                    ),
                    provider,
                });
            }
            Unlock::Failed { provider, error } => {
                // With no key file this was the Windows key store (the container or DPAPI):
                // say so, and that a key file is the way on.
                let message = if keys.rsa.is_none() {
                    format!(
                        "The connection strings are encrypted (provider \"{provider}\") and this machine's key store cannot open them: {error}. Choose the key file exported with aspnet_regiis -px."
                    )
                } else {
                    error.to_string()
                };
                return Err(OpenError::NeedsKey {
                    path: path.to_owned(),
                    provider,
                    message,
                });
            }
        }
        let doc = opened.doc;
        Self::from_document_with(doc, lint).map_err(OpenError::Failed)
    }

    /// Wraps a loaded document.
    pub fn from_document(doc: Document) -> k2cse_core::Result<Self> {
        Self::from_document_with(doc, LintOptions::default())
    }

    /// [`Workspace::from_document`], linting with `options`.
    pub fn from_document_with(doc: Document, options: LintOptions) -> k2cse_core::Result<Self> {
        let session = EditSession::new(doc.clone(), options, true)?;
        let mut ws = Self {
            base: doc,
            changes: Vec::new(),
            redo: Vec::new(),
            session,
            structural: Vec::new(),
            by_entry: HashMap::new(),
            rows: Vec::new(),
            options,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            revision: 0,
        };
        ws.refresh(&Recheck::All, None)?;
        Ok(ws)
    }

    /// The config file.
    pub fn path(&self) -> &Path {
        self.base.path()
    }

    /// This workspace's identity and its change count: together they change whenever what the
    /// views show from it may have changed (an edit, undo, redo, save, or another file).
    pub fn revision(&self) -> (u64, u64) {
        (self.id, self.revision)
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

    /// Findings on `entry`: its own and the section-wide ones that name it.
    pub fn diagnostics(&self, entry: &str) -> Vec<&Diagnostic> {
        let folded = fold_name(entry);
        let named = |d: &&Diagnostic| d.entry.as_deref().is_some_and(|n| fold_name(n) == folded);
        self.structural
            .iter()
            .filter(named)
            .chain(self.by_entry.get(&folded).into_iter().flatten())
            .collect()
    }

    /// Whether there are unsaved changes: the net change, so that edits undone by hand (or a
    /// value set to what it was) leave Save disabled, as the core would write nothing.
    pub fn is_dirty(&self) -> bool {
        self.session.is_changed()
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
        let recheck = Recheck::of(&group);
        let before = self.starts_before(&recheck)?;
        for (i, change) in group.iter().enumerate() {
            if let Err(e) = self.session.apply(change.clone()) {
                if i > 0 {
                    self.rebuild(&Recheck::of(&group[..i]), before)?;
                }
                return Err(e);
            }
        }
        self.changes.push(group);
        self.redo.clear();
        self.refresh(&recheck, before)
    }

    /// Undoes the last action.
    pub fn undo(&mut self) -> k2cse_core::Result<bool> {
        let Some(group) = self.changes.pop() else {
            return Ok(false);
        };
        // Only the entries the undone group touched can have other findings now: re-check
        // those, not every entry (a 10,000-entry file froze for seconds on Ctrl+Z).
        let recheck = Recheck::of(&group);
        let before = self.starts_before(&recheck)?;
        self.redo.push(group);
        self.rebuild(&recheck, before)?;
        Ok(true)
    }

    /// Redoes the last undone action.
    pub fn redo(&mut self) -> k2cse_core::Result<bool> {
        let Some(group) = self.redo.pop() else {
            return Ok(false);
        };
        let recheck = Recheck::of(&group);
        let before = self.starts_before(&recheck)?;
        self.session.apply_all(group.iter().cloned())?;
        self.changes.push(group);
        self.refresh(&recheck, before)?;
        Ok(true)
    }

    /// The diff and lint delta a save would write.
    pub fn review(&self) -> k2cse_core::Result<Review> {
        Ok(Review {
            diff: self.session.diff(false)?,
            check: self.session.check()?,
            entries: crate::review::entry_changes(&self.base, self.session.document()),
        })
    }

    /// Saves with `options` (the core's backup policy: backup, retention, encryption; atomic
    /// replace, lost-update check); the saved state becomes the new base
    /// and the undo history starts again.
    pub fn save(
        &mut self,
        force: bool,
        options: &SaveOptions,
    ) -> k2cse_core::Result<Vec<SavedFile>> {
        let saved = self.session.save(options, force)?;
        self.base = self.session.document().clone();
        self.changes.clear();
        self.redo.clear();
        self.session = EditSession::new(self.base.clone(), self.options, true)?;
        self.refresh(&Recheck::All, None)?;
        Ok(saved)
    }

    /// Where the entries start before a change that may move them (see [`Self::refresh`]).
    fn starts_before(&self, recheck: &Recheck) -> k2cse_core::Result<Option<recheck::Starts>> {
        match recheck {
            Recheck::Moved(_) => recheck::starts(self.session.document()).map(Some),
            Recheck::All | Recheck::Entries(_) => Ok(None),
        }
    }

    /// Replays the changes on the base document; `recheck` and `before` as for
    /// [`Self::refresh`].
    fn rebuild(
        &mut self,
        recheck: &Recheck,
        before: Option<recheck::Starts>,
    ) -> k2cse_core::Result<()> {
        let mut session = EditSession::new(self.base.clone(), self.options, true)?;
        session.apply_all(self.changes.iter().flatten().cloned())?;
        self.session = session;
        self.refresh(recheck, before)
    }

    /// After entries were added or removed: moves the findings of every entry not in
    /// `touched` by as much as the entry moved, and returns the names to check again:
    /// `touched`, and names several entries share (their findings cannot be told apart).
    fn move_findings(
        &mut self,
        touched: &[String],
        before: &recheck::Starts,
    ) -> k2cse_core::Result<Vec<String>> {
        let after = recheck::starts(self.session.document())?;
        let mut again = touched.to_vec();
        let named: HashSet<String> = touched.iter().map(|n| fold_name(n)).collect();
        self.by_entry.retain(|folded, findings| {
            if named.contains(folded) {
                return true; // checked again below
            }
            if let (Some(Some(from)), Some(Some(to))) = (before.get(folded), after.get(folded)) {
                recheck::shift(findings, *from, *to);
                return true;
            }
            again.extend(findings.iter().find_map(|d| d.entry.clone()));
            false
        });
        Ok(again)
    }

    /// Re-checks the section, and the entries `recheck` names (every entry for
    /// [`Recheck::All`]). For [`Recheck::Moved`], `before` is where each entry started before
    /// the change: every other entry's findings move with it (see `recheck.rs`).
    fn refresh(
        &mut self,
        recheck: &Recheck,
        before: Option<recheck::Starts>,
    ) -> k2cse_core::Result<()> {
        self.revision += 1;
        let doc = self.session.document();
        self.structural = lint::structural(doc)?;
        let names: Vec<String> = doc.names()?.slots.iter().map(|s| s.name.clone()).collect();
        let touched = match (recheck, before) {
            (Recheck::All, _) | (Recheck::Moved(_), None) => None,
            (Recheck::Entries(touched), _) => Some(touched.clone()),
            (Recheck::Moved(touched), Some(before)) => Some(self.move_findings(touched, &before)?),
        };
        let doc = self.session.document();
        match touched.as_deref() {
            None => {
                // Every entry in one pass over the section (asking for each name in turn
                // looked each one up among all the others: minutes at 10,000 entries).
                self.by_entry.clear();
                for (name, diagnostics) in lint::each_entry_diagnostics(doc, &self.options)? {
                    if !diagnostics.is_empty() {
                        self.by_entry
                            .entry(fold_name(&name))
                            .or_default()
                            .extend(diagnostics);
                    }
                }
            }
            Some(touched) => {
                for name in touched {
                    let diagnostics = lint::entry_diagnostics(doc, &self.options, name)?;
                    if diagnostics.is_empty() {
                        self.by_entry.remove(&fold_name(name));
                    } else {
                        self.by_entry.insert(fold_name(name), diagnostics);
                    }
                }
            }
        }
        let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
        for d in self
            .structural
            .iter()
            .chain(self.by_entry.values().flatten())
        {
            let Some(name) = &d.entry else { continue };
            let c = counts.entry(fold_name(name)).or_default();
            match d.severity {
                Severity::Error => c.0 += 1,
                Severity::Warning => c.1 += 1,
                Severity::Info => {}
            }
        }
        self.rows = names
            .into_iter()
            .map(|name| {
                let (errors, warnings) = counts.get(&fold_name(&name)).copied().unwrap_or_default();
                let kind = Kind::of_type(name.split(':').next().unwrap_or_default());
                EntryRow {
                    name,
                    kind,
                    errors,
                    warnings,
                }
            })
            .collect();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use k2cse_core::edit::Values;

    /// The GUI opens and unlocks as the CLI does (the core's `config::open`): a DPAPI section
    /// is tried even without a key file, and what the OS said is shown, instead of asking for
    /// a key file that cannot open DPAPI.
    #[test]
    fn a_dpapi_section_is_tried_without_a_key_file_as_the_cli_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("K2HostServer.exe.config");
        std::fs::write(
            &path,
            "<configuration>\n  <connectionStrings configProtectionProvider=\"DataProtectionConfigurationProvider\">\n    <EncryptedData>\n      <CipherData>\n        <CipherValue>AQAAANCMnd8BFdERjHoAwE/Cl+s=</CipherValue>\n      </CipherData>\n    </EncryptedData>\n  </connectionStrings>\n</configuration>\n",
        )
        .unwrap();
        let keys = KeyStore::new(None);
        let cli = k2cse_core::config::open(&path, &keys)
            .unwrap()
            .into_document();
        let Err(cli_error) = cli else {
            panic!("a DPAPI blob from elsewhere cannot be opened here")
        };
        match Workspace::open(&path, &keys) {
            Err(OpenError::NeedsKey { message, .. }) => assert!(
                message.contains(&cli_error.to_string()),
                "the GUI says what the CLI says ({cli_error}): {message}"
            ),
            other => panic!("{other:?}"),
        }
    }

    const EWS: &str = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection";

    fn workspace(text: &str) -> Workspace {
        let doc = Document::from_bytes(Path::new("t.config"), text.as_bytes().to_vec()).unwrap();
        Workspace::from_document(doc).unwrap()
    }

    /// Undoes `steps` edits, then redoes them, checking after each step that the rows and
    /// findings are what a fresh open of the text shows.
    fn undo_and_redo_matching_fresh_opens(ws: &mut Workspace, steps: usize) {
        for _ in 0..steps {
            assert!(ws.undo().unwrap());
            assert_matches_fresh_open(ws);
        }
        for _ in 0..steps {
            assert!(ws.redo().unwrap());
            assert_matches_fresh_open(ws);
        }
    }

    /// Rows and each entry's findings, as a fresh open of the edited text shows them.
    fn assert_matches_fresh_open(ws: &Workspace) {
        let text = ws.document().main_file().text().to_owned();
        let fresh = workspace(text.trim_start_matches('\u{feff}'));
        assert_eq!(ws.rows(), fresh.rows());
        for row in fresh.rows() {
            assert_eq!(
                ws.diagnostics(&row.name),
                fresh.diagnostics(&row.name),
                "{}",
                row.name
            );
        }
    }

    #[test]
    fn open_undo_and_redo_show_the_findings_of_a_full_check() {
        let mut text = String::from("<configuration>\n  <connectionStrings>\n");
        for i in 0..20 {
            // Every third entry has a bad Poll Interval; two share a name (a duplicate).
            let poll = if i % 3 == 0 { "soon" } else { "1M" };
            let n = if i == 19 { 18 } else { i };
            let _ = writeln!(
                text,
                "    <add name=\"{EWS}:u{n}@x.com\" connectionString=\"Autodiscover=False;URL=https://mail.x.com/EWS/Exchange.asmx;Poll Interval={poll}\" />"
            );
        }
        text.push_str("  </connectionStrings>\n</configuration>\n");
        let mut ws = workspace(&text);
        assert!(ws.rows().iter().any(|r| r.errors > 0));
        let set = |i: usize, poll: &str| Change::Set {
            name: format!("{EWS}:u{i}@x.com"),
            values: Values::from_pairs([("Poll Interval", poll)]),
        };
        ws.apply(set(0, "2M")).unwrap();
        ws.apply(set(1, "never")).unwrap();
        ws.apply_group(vec![
            Change::Remove {
                name: format!("{EWS}:u2@x.com"),
            },
            set(3, "5M"),
        ])
        .unwrap();
        assert_matches_fresh_open(&ws);
        undo_and_redo_matching_fresh_opens(&mut ws, 3);
    }

    /// Adding or removing an entry moves the findings of the entries after it (their lines,
    /// and their columns when they shared its line) instead of checking them all again: what
    /// is shown is still what a full check of the edited text finds.
    #[test]
    fn findings_move_with_their_entries_when_others_are_added_or_removed() {
        let ews = |n: &str, cs: &str| {
            format!("<add name=\"{EWS}:{n}@x.com\" connectionString=\"{cs}\" />")
        };
        let bad = "Autodiscover=False;URL=https://mail.x.com/EWS/Exchange.asmx;Poll Interval=soon";
        let text = [
            "<configuration>".to_owned(),
            "  <connectionStrings>".to_owned(),
            format!("    {}", ews("u0", bad)),
            // Two entries on one line: removing the first moves the second's column.
            format!("    {}{}", ews("u1", bad), ews("u2", bad)),
            // .NET cannot parse this one: its finding points inside the value.
            format!("    {}", ews("u3", "Autodiscover=False;Poll Interval='1M")),
            // Attributes over several lines.
            format!("    <add\n      name=\"{EWS}:u4@x.com\"\n      connectionString=\"{bad}\" />"),
            // A name two entries share.
            format!("    {}", ews("u5", bad)),
            format!("    {}", ews("u5", "Autodiscover=False;Poll Interval='2M")),
            format!("    {}", ews("u6", bad)),
            "  </connectionStrings>".to_owned(),
            "</configuration>".to_owned(),
        ]
        .join("\r\n");
        let mut ws = workspace(&text);
        assert!(
            ws.diagnostics(&format!("{EWS}:u3@x.com"))
                .iter()
                .any(|d| d.location.as_ref().is_some_and(|l| l.column > 30))
        );
        let remove = |n: &str| Change::Remove {
            name: format!("{EWS}:{n}@x.com"),
        };
        ws.apply(remove("u0")).unwrap();
        assert_matches_fresh_open(&ws);
        ws.apply(remove("u1")).unwrap();
        assert_matches_fresh_open(&ws);
        ws.apply(Change::Add {
            name: format!("{EWS}:u7@x.com"),
            values: Values::from_pairs([("Autodiscover", "False"), ("Poll Interval", "later")]),
        })
        .unwrap();
        assert_matches_fresh_open(&ws);
        // One of the two sharing a name: the other stays, and so do the entries after it.
        ws.apply(Change::At {
            at: k2cse_core::edit::Pick::Nth(1),
            change: Box::new(remove("u5")),
        })
        .unwrap();
        assert_matches_fresh_open(&ws);
        undo_and_redo_matching_fresh_opens(&mut ws, 4);
    }
}
