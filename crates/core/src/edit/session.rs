//! An editing session: a document, the changes applied to it, what they would do, and saving.

use std::sync::OnceLock;

use crate::config::Document;
use crate::diff;
use crate::edit::Change;
use crate::entry::{Kind, fold_name};
use crate::error::{Error, Result};
use crate::lint::{self, Diagnostic, LintOptions, Severity};
use crate::save::{self, SaveOptions, SavedFile};
use std::collections::HashSet;

/// What the changes do to the lint results of what they touch.
#[derive(Debug, Clone, Default)]
pub struct Check {
    /// Findings the changes introduce.
    pub introduced: Vec<Diagnostic>,
    /// Findings the changes make go away.
    pub resolved: Vec<Diagnostic>,
}

impl Check {
    /// The introduced findings that are errors: a save is refused while there are any.
    pub fn introduced_errors(&self) -> Vec<&Diagnostic> {
        self.introduced
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect()
    }
}

/// Load -> changes -> preview -> save, the same for the CLI and the GUI.
///
/// The session lints only what the changes touch (plus the section's structure), so editing
/// one entry of a 10,000-entry file stays fast; `lint::lint` checks everything.
#[derive(Debug, Clone)]
pub struct EditSession {
    doc: Document,
    /// The document as loaded, kept when a diff will be wanted.
    original: Option<Document>,
    options: LintOptions,
    /// Findings about each touched entry before the session first touched it.
    baseline: Vec<Diagnostic>,
    /// Findings about the section's structure before the first change that could alter it
    /// (add, remove, rename). `None` while only values changed: values cannot change the
    /// structure, and skipping it keeps one-value edits of huge files cheap.
    structural_baseline: Option<Vec<Diagnostic>>,
    touched: Vec<String>,
    /// `touched`, folded: "already touched?" in constant time for batches of thousands.
    touched_folded: HashSet<String>,
    changes: Vec<Change>,
    /// The last [`Self::check`] result, until the next change.
    checked: OnceLock<Check>,
}

impl EditSession {
    /// Starts a session on `doc`. With `keep_original` the session can produce diffs (it then
    /// holds the file twice in memory).
    pub fn new(doc: Document, options: LintOptions, keep_original: bool) -> Result<Self> {
        let original = keep_original.then(|| doc.clone());
        Ok(Self {
            doc,
            original,
            options,
            baseline: Vec::new(),
            structural_baseline: None,
            touched: Vec::new(),
            touched_folded: HashSet::new(),
            changes: Vec::new(),
            checked: OnceLock::new(),
        })
    }

    /// The document with the changes so far.
    pub fn document(&self) -> &Document {
        &self.doc
    }

    /// The changes applied so far, in order.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Whether the net result differs from what was loaded (or last saved): changes that
    /// cancel out or set what is already there are no change, and [`Self::save`] then writes
    /// nothing and takes no backup. The GUI enables Save on this.
    pub fn is_changed(&self) -> bool {
        self.doc.is_changed()
    }

    /// Applies one change; on error nothing changes.
    pub fn apply(&mut self, change: Change) -> Result<()> {
        let structural = matches!(
            change,
            Change::Add { .. } | Change::Remove { .. } | Change::Rename { .. }
        );
        if structural && self.structural_baseline.is_none() {
            self.structural_baseline = Some(lint::structural(&self.doc)?);
        }
        for name in touched_names(&change) {
            if !self.touched_folded.contains(&fold_name(name)) {
                self.baseline
                    .extend(lint::entry_diagnostics(&self.doc, &self.options, name)?);
                self.touched.push(name.to_owned());
                self.touched_folded.insert(fold_name(name));
            }
        }
        self.checked = OnceLock::new();
        self.doc.apply(&change)?;
        self.changes.push(change);
        Ok(())
    }

    /// Applies every change or none of them.
    pub fn apply_all(&mut self, changes: impl IntoIterator<Item = Change>) -> Result<()> {
        let mut changes: Vec<Change> = changes.into_iter().collect();
        if changes.len() == 1 {
            // One change is atomic by itself; skip the trial copy (a large file held twice).
            return self.apply(changes.remove(0));
        }
        let mut trial = self.clone();
        // One pass: read the names once, then every change looks its entry up in them (and
        // adds and value edits keep them up to date) instead of scanning the section again.
        // An error here (a bad name attribute) is the changes' to report; the lookups then
        // fall back to scanning.
        let _ = trial.doc.names();
        for (i, change) in changes.into_iter().enumerate() {
            trial.apply(change).map_err(|e| match e {
                Error::InvalidChange(m) => Error::InvalidChange(format!("change {}: {m}", i + 1)),
                other => other,
            })?;
        }
        *self = trial;
        Ok(())
    }

    /// Findings introduced and resolved by the changes so far.
    pub fn check(&self) -> Result<Check> {
        if let Some(check) = self.checked.get() {
            return Ok(check.clone());
        }
        let mut before = self.baseline.clone();
        let mut after = Vec::new();
        if self.touched.len() > 1 {
            // Many entries to look up: read the names once (see `apply_all`).
            let _ = self.doc.names();
        }
        if let Some(structural) = &self.structural_baseline {
            before.extend(structural.iter().cloned());
            after = lint::structural(&self.doc)?;
        }
        for name in &self.touched {
            after.extend(lint::entry_diagnostics(&self.doc, &self.options, name)?);
        }
        let mut check = Check {
            introduced: minus(&after, &before),
            resolved: minus(&before, &after),
        };
        // Removing one of two same-named HostserverDB entries (--nth/--line) is the repair of
        // a duplicate, not a removal: only an edit after which none is left counts.
        for d in self.changes.iter().filter_map(hostserverdb_removed) {
            let picked_and_kept = d.entry.as_deref().is_some_and(|n| {
                self.changes
                    .iter()
                    .any(|c| c.picked().1.is_some() && c.name() == Some(n))
                    && self.doc.entries_named(n).is_ok_and(|e| !e.is_empty())
            });
            if !picked_and_kept {
                check.introduced.push(d);
            }
        }
        Ok(self.checked.get_or_init(|| check).clone())
    }

    /// A unified diff of every file the changes touch, secrets masked unless `reveal`.
    /// Requires a session started with `keep_original`.
    pub fn diff(&self, reveal: bool) -> Result<String> {
        let Some(original) = &self.original else {
            return Err(Error::InvalidChange(
                "internal: diff requested from a session that did not keep the original".into(),
            ));
        };
        let before = diff::display_texts(original, None, reveal)?;
        let after = diff::display_texts(&self.doc, Some(original), reveal)?;
        let mut out = String::new();
        // Files are paired by name: encrypting or decrypting a section adds or drops the
        // decrypted view, which has nothing to be compared with.
        for (path, old) in &before {
            if let Some((_, new)) = after.iter().find(|(p, _)| p == path) {
                let name = path.display().to_string();
                out.push_str(&diff::unified(old, new, &name, &name));
            }
        }
        Ok(out)
    }

    /// Saves every changed file atomically (with a backup unless disabled). Refuses when the
    /// changes introduce lint errors, unless `force`; refuses when a file changed on disk.
    /// With no net change it writes nothing, takes no backup and returns no file.
    pub fn save(&mut self, options: &SaveOptions, force: bool) -> Result<Vec<SavedFile>> {
        if !self.is_changed() {
            return Ok(Vec::new());
        }
        // Encrypting the section is pointless if its plain text stays on disk in a backup.
        let protecting = self
            .changes
            .iter()
            .any(|c| matches!(c, Change::Protect { .. }));
        if protecting
            && !options.no_backup
            && options.encryption.is_none()
            && !options.plaintext_backup
        {
            return Err(Error::PlaintextBackup {
                path: self.doc.path().to_owned(),
            });
        }
        if !force {
            let check = self.check()?;
            let errors: Vec<Diagnostic> = check.introduced_errors().into_iter().cloned().collect();
            if !errors.is_empty() {
                return Err(Error::LintErrors {
                    diagnostics: errors,
                });
            }
        }
        // An edited encrypted section is encrypted back into its file first.
        self.doc.seal()?;
        let mut saved = Vec::new();
        for file in self.doc.files_mut().filter(|f| f.is_changed()) {
            let report = file.with_encoded(|parts| {
                save::write_atomic(file.path(), parts, file.loaded_fingerprint(), options)
            })?;
            file.mark_saved(report.fingerprint);
            saved.push(report);
        }
        Ok(saved)
    }
}

fn touched_names(change: &Change) -> Vec<&str> {
    match change.picked().0 {
        Change::Rename { name, to } => vec![name, to],
        other => other.name().into_iter().collect(),
    }
}

/// The findings of `a` not matched one-for-one in `b` (positions ignored).
fn minus(a: &[Diagnostic], b: &[Diagnostic]) -> Vec<Diagnostic> {
    let mut unmatched: Vec<&Diagnostic> = b.iter().collect();
    a.iter()
        .filter(
            |d| match unmatched.iter().position(|u| u.identity() == d.identity()) {
                Some(i) => {
                    unmatched.swap_remove(i);
                    false
                }
                None => true,
            },
        )
        .cloned()
        .collect()
}

/// Removing or renaming `HostserverDB` is an error of the edit itself: K2 cannot reach its
/// database without it, and the vendor's editor never allows it.
fn hostserverdb_removed(change: &Change) -> Option<Diagnostic> {
    let is_db = |name: &str| {
        Kind::of_type(name.split(':').next().unwrap_or_default()) == Kind::HostServerDb
    };
    let (name, what) = match change.picked().0 {
        Change::Remove { name } if is_db(name) => (name, "removes"),
        Change::Rename { name, to } if is_db(name) && !is_db(to) => (name, "renames"),
        _ => return None,
    };
    let mut d = Diagnostic::new(
        lint::HOSTSERVERDB_REMOVED,
        format!(
            "this edit {what} {name:?}: the K2 server reads its database connection from it and does not start without it"
        ),
        "edit its keys instead (k2cse set/replace); pass --force only if K2 really must lose it",
    );
    d.entry = Some(name.clone());
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::Values;
    use crate::sample::{K2_SAMPLE, write_sample};

    const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection";

    fn set(key: &str, value: &str) -> Change {
        Change::Set {
            name: SMTP.into(),
            values: Values::from_pairs([(key, value)]),
        }
    }

    #[test]
    fn refuses_to_save_over_a_file_changed_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_sample(dir.path()).unwrap();
        let mut session = EditSession::new(
            Document::load(&path).unwrap(),
            LintOptions::default(),
            false,
        )
        .unwrap();
        session.apply(set("Port", "587")).unwrap();
        std::fs::write(&path, b"edited by someone else").unwrap();
        let err = session.save(&SaveOptions::default(), false).unwrap_err();
        assert!(matches!(err, Error::ChangedOnDisk { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"edited by someone else");
    }

    #[test]
    fn edits_that_change_nothing_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_sample(dir.path()).unwrap();
        let before = std::fs::metadata(&path).unwrap();
        for change in [
            set("Port", "25"),
            Change::Unset {
                name: SMTP.into(),
                keys: vec!["NoSuchKey".into()],
            },
        ] {
            let mut session =
                EditSession::new(Document::load(&path).unwrap(), LintOptions::default(), true)
                    .unwrap();
            session.apply(change).unwrap();
            assert!(!session.is_changed());
            assert_eq!(session.diff(false).unwrap(), "");
            assert!(
                session
                    .save(&SaveOptions::default(), false)
                    .unwrap()
                    .is_empty()
            );
        }
        // A change and its reverse cancel out.
        let mut session = EditSession::new(
            Document::load(&path).unwrap(),
            LintOptions::default(),
            false,
        )
        .unwrap();
        session.apply(set("Port", "587")).unwrap();
        assert!(session.is_changed());
        session.apply(set("Port", "25")).unwrap();
        assert!(!session.is_changed());
        assert!(
            session
                .save(&SaveOptions::default(), false)
                .unwrap()
                .is_empty()
        );
        let after = std::fs::metadata(&path).unwrap();
        assert_eq!(after.modified().unwrap(), before.modified().unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            assert_eq!(after.ino(), before.ino());
        }
        assert!(!dir.path().join(crate::backup::DIR_NAME).exists());
    }

    #[test]
    fn saving_twice_in_one_session_works() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_sample(dir.path()).unwrap();
        let mut session = EditSession::new(
            Document::load(&path).unwrap(),
            LintOptions::default(),
            false,
        )
        .unwrap();
        session.apply(set("Port", "587")).unwrap();
        session.save(&SaveOptions::without_backup(), false).unwrap();
        session.apply(set("Port", "588")).unwrap();
        session.save(&SaveOptions::without_backup(), false).unwrap();
        assert!(String::from_utf8_lossy(&std::fs::read(&path).unwrap()).contains("Port=588;"));
    }

    #[test]
    fn introduced_errors_block_the_save_and_fixed_ones_are_reported() {
        let doc =
            Document::from_bytes(std::path::Path::new("x.config"), K2_SAMPLE.to_vec()).unwrap();
        let mut session = EditSession::new(doc, LintOptions::default(), true).unwrap();
        session.apply(set("TLS", "Ssl")).unwrap();
        let check = session.check().unwrap();
        assert_eq!(check.introduced_errors().len(), 1);
        assert_eq!(check.introduced[0].code, "K2C031");
        let err = session.save(&SaveOptions::default(), false).unwrap_err();
        assert!(matches!(err, Error::LintErrors { .. }));
        session.apply(set("TLS", "BootTls")).unwrap();
        assert!(session.check().unwrap().introduced.is_empty());
    }

    #[test]
    fn apply_all_is_all_or_nothing() {
        let doc =
            Document::from_bytes(std::path::Path::new("x.config"), K2_SAMPLE.to_vec()).unwrap();
        let mut session = EditSession::new(doc, LintOptions::default(), true).unwrap();
        let err = session
            .apply_all([
                set("Port", "587"),
                Change::Remove {
                    name: "missing".into(),
                },
            ])
            .unwrap_err();
        assert!(matches!(err, Error::EntryNotFound { .. }), "{err}");
        assert!(!session.is_changed());
        assert!(session.changes().is_empty());
        assert_eq!(session.diff(false).unwrap(), "");
    }
}
