//! What the app does with a finished job: a file opened, a save, a database or backup job.

use crate::app::{Dialog, GuiApp, JobResult, View, admin_words};
use crate::database::{DatabaseView, DbOutcome};
use crate::workspace::{OpenError, Workspace};

impl GuiApp {
    /// A file was opened: it replaces the workspace.
    pub(crate) fn opened(&mut self, ws: Workspace) {
        let path = ws.path().to_owned();
        self.settings.opened(&path);
        // Another file is another K2 server: nothing of the first file's
        // database (connection, passwords, last reading) may be used for it.
        let same_file = self.ws.as_ref().is_some_and(|w| w.path() == path);
        if !same_file {
            self.db = DatabaseView::default();
            self.backups = crate::backups::BackupsState::default();
        }
        if !same_file || self.db.settings.connection.is_empty() {
            self.db.settings.connection = ws
                .entry("HostserverDB")
                .and_then(|e| e.value.clone())
                .unwrap_or_default();
        }
        #[cfg(feature = "simulator")]
        if let Some(demo) = &self.demo
            && demo.config == path
        {
            self.db.settings.connection = demo.simulator.connection_string();
            k2cse_mssql_sim::SAMPLE_MASTER_KEY_PASSWORD
                .clone_into(&mut self.db.settings.master_key_password);
        }
        let wanted = self
            .entries
            .select_on_open
            .take()
            .filter(|n| ws.entry(n).is_some());
        self.entries.selected = wanted.or_else(|| ws.rows().first().map(|r| r.name.clone()));
        self.ws = Some(ws);
        self.db.snapshot = None;
        self.entries.editor.drafts.clear();
        let text = self
            .backups
            .notice_after_open
            .take()
            .unwrap_or_else(|| format!("Opened {}", path.display()));
        self.info(text);
    }

    /// Handles a finished job.
    pub(crate) fn finish(&mut self, result: JobResult) {
        match result {
            JobResult::Opened(result) => match *result {
                Ok(ws) => self.opened(ws),
                Err(OpenError::NeedsKey { path, message, .. }) => {
                    self.dialog = Some(Dialog::Key {
                        path,
                        message,
                        key_path: String::new(),
                    });
                }
                Err(OpenError::Failed(e)) => {
                    self.error("Could not open the config file", &e.to_string());
                }
            },
            JobResult::Saved(ws, result) => {
                self.ws = Some(*ws);
                let then = self.save_flow.then.take();
                match result {
                    Ok(saved) => {
                        let backup = saved
                            .iter()
                            .find_map(|s| s.backup.as_ref())
                            .map(|b| format!(" (backup: {})", b.display()))
                            .unwrap_or_default();
                        self.info(format!("Saved{backup}."));
                        let changed = std::mem::take(&mut self.save_flow.changing);
                        self.after_saved(changed, then.is_some());
                        if let Some(then) = then {
                            self.proceed(then);
                        }
                    }
                    Err(e) => self.error("The file was not saved", &e),
                }
            }
            JobResult::SavedAs(untitled, written) => self.saved_as(untitled, written),
            JobResult::Backup(outcome) => self.finish_backup(outcome),
            JobResult::Db(Err(e)) => {
                if let Some(changed) = self.save_flow.offer_after_read.take() {
                    // The question still comes, saying that it could not be checked.
                    self.offer_unchecked(
                        &changed,
                        crate::after_save::TokenCheck::Unreachable(admin_words(&e)),
                    );
                } else {
                    self.error("The K2 database could not be used", &e);
                }
            }
            JobResult::Db(Ok(DbOutcome::Read(snapshot))) => {
                self.db.snapshot = Some(snapshot);
                if let Some(changed) = self.save_flow.offer_after_read.take() {
                    self.offer_changed_after_read(&changed);
                }
            }
            JobResult::Db(Ok(DbOutcome::Pushed { written, snapshot })) => {
                self.db.snapshot = Some(snapshot);
                self.pushed();
                self.info(format!(
                    "Wrote {written} token(s) to the K2 database in one transaction."
                ));
            }
            JobResult::Db(Ok(DbOutcome::Pull(changes))) => {
                let n = changes.len();
                let Some(ws) = self.ws.as_mut() else { return };
                match ws.apply_group(changes) {
                    Ok(()) => {
                        self.info(format!("Brought {n} database value(s) into the editor (one undo step); review and save to write the file."));
                        self.window.view = View::Entries;
                    }
                    Err(e) => self.error("The database values cannot be applied", &e.to_string()),
                }
            }
        }
    }
}
