//! Edits, undo and redo, and the save (review, then a job) of the open file.

use k2cse_core::Change;

use crate::app::{Dialog, GuiApp, JobResult};

impl GuiApp {
    /// Applies a change to the open file; errors become a notice.
    pub(crate) fn apply(&mut self, change: Change) -> bool {
        if let Some(why) = self.edits_refused() {
            self.error("That change cannot be made now", &why);
            return false;
        }
        let Some(ws) = self.ws.as_mut() else {
            return false;
        };
        match ws.apply(change) {
            Ok(()) => true,
            Err(e) => {
                self.error("That change cannot be made", &e.to_string());
                false
            }
        }
    }

    pub(crate) fn undo(&mut self) {
        if let Some(why) = self.edits_refused() {
            return self.error("Not now", &why);
        }
        if let Some(ws) = self.ws.as_mut() {
            match ws.undo() {
                Ok(_) => {}
                Err(e) => self.error("Undo failed", &e.to_string()),
            }
        }
        self.entries.editor.drafts.clear();
    }

    pub(crate) fn redo(&mut self) {
        if let Some(why) = self.edits_refused() {
            return self.error("Not now", &why);
        }
        if let Some(ws) = self.ws.as_mut() {
            match ws.redo() {
                Ok(_) => {}
                Err(e) => self.error("Redo failed", &e.to_string()),
            }
        }
        self.entries.editor.drafts.clear();
    }

    /// Opens the save review (Ctrl+S).
    pub fn request_save(&mut self) {
        let Some(ws) = &self.ws else { return };
        if crate::new_file::is_untitled(ws) && !ws.is_dirty() {
            // Nothing to review: the new file as it is goes where the user says.
            self.dialog = Some(Dialog::SaveAs {
                path: String::new(),
                error: None,
            });
            return;
        }
        if !ws.is_dirty() {
            self.info("Nothing to save.");
            return;
        }
        match ws.review() {
            Ok(review) => {
                self.dialog = Some(Dialog::Review {
                    review: Box::new(review),
                    raw: false,
                });
            }
            Err(e) => self.error("The changes cannot be reviewed", &e.to_string()),
        }
    }

    /// Saves in the background (after the review). The workspace moves into the job only
    /// when the job starts: a refused save gives it back with every edit.
    pub(crate) fn save(&mut self, force: bool) {
        if self.ws.as_ref().is_some_and(crate::new_file::is_untitled) {
            // Reviewed (a new lint error was allowed only by "Save anyway"): now where to.
            self.dialog = Some(Dialog::SaveAs {
                path: String::new(),
                error: None,
            });
            return;
        }
        let policy = match self.backup_policy() {
            Ok(policy) => policy,
            Err(e) => return self.error("The backup settings cannot be used", &e),
        };
        let options = policy.save_options(false, "k2cse-gui save");
        let Some(ws) = self.ws.take() else { return };
        // The entries this save changes: the question afterwards is about them only.
        self.save_flow.changing = ws
            .review()
            .map(|r| {
                r.entries
                    .into_iter()
                    .filter(|c| c.kind != crate::review::EntryChangeKind::Removed)
                    .map(|c| c.entry)
                    .collect()
            })
            .unwrap_or_default();
        let label = format!("Saving {}", ws.path().display());
        let started = self.jobs.start_with(label, ws, move |mut ws, _| {
            let result = ws.save(force, &options).map_err(|e| e.to_string());
            JobResult::Saved(Box::new(ws), result)
        });
        if let Err((busy, ws)) = started {
            self.ws = Some(ws);
            self.save_flow.then = None;
            self.started(Err(busy));
        }
    }
}
