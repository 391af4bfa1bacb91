//! After a save: the vendor's question ("also update the database?") about the entries this
//! save changed, and what the administrator still has to do.
//!
//! K2 keeps a copy of some connection strings as tokens in its database, and reads the config
//! file only when the K2 service starts. So a saved file is not the end: the changed entries'
//! tokens may need the new values, and the service a restart.

use k2cse_core::db::DriftState;

use crate::app::{Dialog, GuiApp};

/// A save and what follows it.
#[derive(Debug, Default)]
pub struct SaveFlow {
    /// The entries the save in progress changes.
    pub changing: Vec<String>,
    /// What to do once the save in progress has succeeded (the unsaved-changes question's
    /// "Save").
    pub then: Option<crate::commands::Pending>,
    /// After a save: the entries it changed, to offer once the database has been read.
    pub offer_after_read: Option<Vec<String>>,
    /// What the administrator still has to do after the last save.
    pub next_steps: Vec<String>,
}

/// One entry the question offers to write to the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The entry.
    pub entry: String,
    /// Its token, when the database was read (else found when connecting).
    pub token: Option<String>,
    /// What will be written: the file's connection string, secrets masked.
    pub value: String,
    /// Ticked: write it.
    pub checked: bool,
}

/// The restart reminder (K2 reads the file at start-up), in the core's words, which the CLI
/// says too.
fn restart_step() -> String {
    let text = k2cse_core::report::NextStep::restart().to_string();
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect::<String>() + "."
    })
}

/// What k2cse knows, when it asks, about which entries have a database token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// The database was read: the offers are the changed entries whose tokens differ.
    Checked,
    /// The database could not be read in time (why): the offers are every changed entry; one
    /// without a token is left alone when connecting.
    Unreachable(String),
    /// No database connection is known (no `HostserverDB`, none typed in the Database view).
    NoConnection,
}

impl GuiApp {
    /// A save of `changed` entries succeeded: say what comes next, and ask about the database.
    /// With a known connection, a background job first reads which of them have a token that
    /// now differs, within [`crate::database::CHECK_LIMIT`], so that only those are offered;
    /// when that cannot be known, the question says so. `moving_on`: the save was asked for
    /// before Open / New / Quit, which goes ahead now; the database step is left in the list.
    pub(crate) fn after_saved(&mut self, changed: Vec<String>, moving_on: bool) {
        self.save_flow.next_steps = vec![restart_step()];
        if changed.is_empty() {
            return;
        }
        if moving_on {
            self.save_flow.next_steps.push(push_step(&changed, false));
            return;
        }
        if self.db.settings.connection.trim().is_empty() {
            return self.offer_unchecked(&changed, TokenCheck::NoConnection);
        }
        self.save_flow.offer_after_read = Some(changed);
        self.db_job(
            "Checking the K2 database tokens",
            |settings, entries, cancel| {
                settings.check(&entries, cancel, crate::database::CHECK_LIMIT)
            },
        );
    }

    /// The check could not tell which entries have a token: ask about all of `changed`,
    /// saying why.
    pub(crate) fn offer_unchecked(&mut self, changed: &[String], check: TokenCheck) {
        let offers: Vec<Offer> = changed
            .iter()
            .filter_map(|name| self.offer(name, None))
            .collect();
        if offers.is_empty() {
            return;
        }
        self.save_flow.next_steps.push(push_step(changed, false));
        self.dialog = Some(Dialog::UpdateDatabase { offers, check });
    }

    /// The database was read after a save: offer the entries of that save whose tokens differ.
    pub(crate) fn offer_changed_after_read(&mut self, changed: &[String]) {
        let Some(snapshot) = &self.db.snapshot else {
            return;
        };
        let differing: Vec<(String, Option<String>)> = snapshot
            .drifts
            .iter()
            .filter(|d| matches!(d.state, DriftState::Differs { .. }))
            .filter(|d| {
                changed
                    .iter()
                    .any(|c| k2cse_core::entry::eq_ignore_case(c, &d.link.entry))
            })
            .map(|d| (d.link.entry.clone(), d.link.token.clone()))
            .collect();
        if differing.is_empty() {
            return;
        }
        let names: Vec<String> = differing.iter().map(|(e, _)| e.clone()).collect();
        self.save_flow.next_steps.push(push_step(&names, true));
        let offers = differing
            .into_iter()
            .filter_map(|(entry, token)| self.offer(&entry, token))
            .collect();
        self.dialog = Some(Dialog::UpdateDatabase {
            offers,
            check: TokenCheck::Checked,
        });
    }

    /// The offer for `entry`: its masked value from the file.
    fn offer(&self, entry: &str, token: Option<String>) -> Option<Offer> {
        let e = self.ws.as_ref()?.entry(entry)?;
        Some(Offer {
            entry: e.name.as_str().to_owned(),
            token,
            value: e.display_value(false).unwrap_or_default(),
            checked: true,
        })
    }

    /// The tokens were written: that step is done.
    pub(crate) fn pushed(&mut self) {
        self.save_flow
            .next_steps
            .retain(|s| !s.starts_with(PUSH_PREFIX));
    }

    /// The steps still to do after the last save.
    pub fn next_steps(&self) -> &[String] {
        &self.save_flow.next_steps
    }
}

const PUSH_PREFIX: &str = "Update the K2 database tokens";

fn push_step(entries: &[String], known: bool) -> String {
    let list = entries.join(", ");
    if known {
        format!(
            "{PUSH_PREFIX} of {list}: they still hold the old values (Database view, Push, or `k2cse db push`)."
        )
    } else {
        format!(
            "{PUSH_PREFIX} of {list} if K2 keeps them there (the Database view shows which differ; then Push, or `k2cse db push`)."
        )
    }
}
