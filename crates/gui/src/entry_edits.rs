//! Entry edits asked for by the Add, Rename / Duplicate and Remove dialogs. The dialogs only
//! queue an [`EntryEdit`]; it is applied with the frame's other commands, and its outcome goes
//! back to the dialog: closed on success (the new name selected), the core's words on its
//! error line otherwise.

use k2cse_core::Change;
use k2cse_core::edit::Values;

use crate::app::{Dialog, GuiApp};

/// An edit of a whole entry.
#[derive(Debug)]
pub enum EntryEdit {
    /// Add `name` with `values`.
    Add {
        /// The new entry.
        name: String,
        /// Its first values.
        values: Values,
    },
    /// Rename `from` to `to`.
    Rename {
        /// The entry.
        from: String,
        /// Its new name.
        to: String,
    },
    /// Copy `from`'s connection string into a new entry `to` (one undo step).
    Duplicate {
        /// The entry copied.
        from: String,
        /// The copy's name.
        to: String,
    },
    /// Remove `name`.
    Remove {
        /// The entry.
        name: String,
    },
}

/// The label of a job that replaces the open workspace when it finishes.
pub const OPENING: &str = "Opening ";

impl GuiApp {
    /// Why an edit cannot be made now: the file is being saved (the workspace is in the save
    /// job) or opened again (the workspace the edit would go into is about to be replaced, and
    /// the edit with it).
    pub(crate) fn edits_refused(&self) -> Option<String> {
        let running = self.jobs.running()?;
        (self.ws.is_none() || running.label.starts_with(OPENING)).then(|| {
            format!(
                "Not now: wait until \"{}\" has finished, then try again. Nothing was changed.",
                running.label
            )
        })
    }

    /// Applies an entry edit from a dialog.
    pub(crate) fn entry_edit(&mut self, edit: EntryEdit) {
        if let Some(why) = self.edits_refused() {
            return self.dialog_failed(why);
        }
        let Some(ws) = self.ws.as_mut() else {
            self.dialog = None;
            return;
        };
        let (result, select) = match edit {
            EntryEdit::Add { name, values } => (
                ws.apply(Change::Add {
                    name: name.clone(),
                    values,
                }),
                Some(name),
            ),
            EntryEdit::Rename { from, to } => (
                ws.apply(Change::Rename {
                    name: from,
                    to: to.clone(),
                }),
                Some(to),
            ),
            EntryEdit::Duplicate { from, to } => {
                let value = ws
                    .entry(&from)
                    .and_then(|e| e.value.clone())
                    .unwrap_or_default();
                let group = vec![
                    Change::Add {
                        name: to.clone(),
                        values: Values::default(),
                    },
                    Change::Replace {
                        name: to.clone(),
                        connection_string: value,
                    },
                ];
                (ws.apply_group(group), Some(to))
            }
            EntryEdit::Remove { name } => (ws.apply(Change::Remove { name }), None),
        };
        match result {
            Ok(()) => {
                self.entries.selected =
                    select.or_else(|| ws.rows().first().map(|r| r.name.clone()));
                self.dialog = None;
            }
            // The vendor tool's checks (a name taken, an invalid name), in the core's words.
            Err(e) => self.dialog_failed(e.to_string()),
        }
    }

    /// Shows why an edit failed on the dialog's error line (Add, Rename), or as a notice.
    fn dialog_failed(&mut self, message: String) {
        if let Some(Dialog::Add { error, .. } | Dialog::Rename { error, .. }) = &mut self.dialog {
            *error = Some(message);
        } else {
            self.dialog = None;
            self.error("That change cannot be made", &message);
        }
    }
}
