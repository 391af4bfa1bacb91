//! Starting the database jobs (read, push, pull, the check after a save) for the open file.

use crate::app::{GuiApp, JobResult};
use crate::database::{DbOutcome, DbSettings};

impl GuiApp {
    /// Starts a database read (status and drift).
    pub fn db_refresh(&mut self) {
        self.db_job("Reading the K2 database", |settings, entries, cancel| {
            settings.read(&entries, cancel)
        });
    }

    /// Writes file values into the database (`only` empty: every differing entry).
    pub fn db_push(&mut self, only: Vec<String>) {
        let Some(store) = self.backup_store() else {
            return;
        };
        let policy = match self.backup_policy() {
            Ok(policy) => policy,
            Err(e) => return self.error("The backup settings cannot be used", &e),
        };
        self.db_job(
            "Updating the K2 database",
            move |settings, entries, cancel| {
                settings.push(&entries, &only, false, &store, &policy, cancel)
            },
        );
    }

    /// Brings database values into the editor (`only` empty: every differing entry).
    pub fn db_pull(&mut self, only: Vec<String>) {
        self.db_job(
            "Reading database values",
            move |settings, entries, cancel| settings.pull(&entries, &only, cancel),
        );
    }

    pub(crate) fn db_job(
        &mut self,
        label: &str,
        job: impl FnOnce(
            DbSettings,
            Vec<k2cse_core::entry::Entry>,
            &crate::jobs::CancelFlag,
        ) -> Result<DbOutcome, String>
        + Send
        + 'static,
    ) {
        let Some(ws) = &self.ws else { return };
        let entries = match ws.document().entries() {
            Ok(e) => e,
            Err(e) => return self.error("The entries cannot be read", &e.to_string()),
        };
        if self.db.settings.connection.trim().is_empty()
            && let Some(hostserver) = entries
                .iter()
                .find(|e| e.name.as_str().eq_ignore_ascii_case("HostserverDB"))
        {
            self.db.settings.connection = hostserver.value.clone().unwrap_or_default();
        }
        let settings = self.db.settings.clone();
        let started = self.jobs.start(label, move |cancel| {
            JobResult::Db(job(settings, entries, cancel))
        });
        if !self.started(started)
            && let Some(changed) = self.save_flow.offer_after_read.take()
        {
            self.offer_unchecked(
                &changed,
                crate::after_save::TokenCheck::Unreachable("another task was running".to_owned()),
            );
        }
    }
}
