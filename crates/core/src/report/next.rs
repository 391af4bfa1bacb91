//! What the administrator still has to do after a save: K2 reads its config file only when
//! the K2 service starts, and keeps copies of some connection strings as tokens in its
//! database, which a save to the file does not change (`k2cse db push` does).
//!
//! Said by every front end after a save, in the same words, from here.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;

use crate::backup::RestoreReport;
use crate::edit::Change;
use crate::entry::{EntryName, Kind, fold_name};

/// The Windows service that runs K2 and reads K2HostServer.exe.config when it starts.
pub const K2_SERVICE: &str = "K2 Server";

/// One thing left to do after a save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum NextStep {
    /// Restart the K2 service: it reads the file only at start-up.
    RestartService {
        /// The service's name.
        service: &'static str,
    },
    /// Write the changed entries into their database tokens, which still hold the old values.
    DbPush {
        /// The entries (empty: every entry that differs).
        entries: Vec<String>,
        /// The command that does it.
        command: String,
    },
}

impl NextStep {
    /// The restart step.
    #[must_use]
    pub fn restart() -> Self {
        NextStep::RestartService {
            service: K2_SERVICE,
        }
    }

    /// The push step for `entries` (`create`: some of them are new and have no token yet).
    #[must_use]
    pub fn db_push(entries: Vec<String>, create: bool) -> Self {
        let mut command = String::from("k2cse db push");
        if create {
            command.push_str(" --create");
        }
        for entry in &entries {
            command.push(' ');
            command.push_str(&shell_word(entry));
        }
        NextStep::DbPush { entries, command }
    }

    /// The steps after a save of the file that applied `changes` (call it only when the save
    /// wrote something).
    ///
    /// `database_configured`: the administrator named a database or a token mapping for
    /// k2cse (then every changed entry may have a token); otherwise only the kinds whose
    /// tokens K2's own editor writes on "update database" (the mail connection strings of
    /// the `MessageBus` and of SMTP) are named.
    #[must_use]
    pub fn after_file_save(changes: &[Change], database_configured: bool) -> Vec<Self> {
        let mut steps = vec![Self::restart()];
        let mut entries: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        let mut create = false;
        for change in changes {
            // Renames, removals and (un)protecting leave every kept value as it was.
            let (name, added) = match change.picked().0 {
                Change::Set { name, .. }
                | Change::Unset { name, .. }
                | Change::Replace { name, .. } => (name, false),
                Change::Add { name, .. } => (name, true),
                _ => continue,
            };
            let kind = Kind::of_type(EntryName::new(name.as_str()).type_name());
            let has_token = database_configured || keeps_token(kind);
            if has_token && seen.insert(fold_name(name)) {
                entries.push(name.clone());
                create |= added;
            }
        }
        if !entries.is_empty() {
            steps.push(Self::db_push(entries, create));
        }
        steps
    }

    /// The steps after a restore that did `report`; `rows_restored`: the restore also put
    /// back the database rows (then file and tokens agree again).
    #[must_use]
    pub fn after_restore(report: &RestoreReport, rows_restored: bool) -> Vec<Self> {
        if report.files.is_empty() {
            return Vec::new();
        }
        let mut steps = vec![Self::restart()];
        if !rows_restored {
            steps.push(Self::db_push(Vec::new(), false));
        }
        steps
    }
}

/// Whether K2's own editor keeps the kind's connection strings as database tokens.
fn keeps_token(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::EwsConnection | Kind::EwsDestination | Kind::Smtp
    )
}

/// `word` as one shell argument: quoted when it holds anything but plain name characters.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._:@-/".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

impl fmt::Display for NextStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextStep::RestartService { service } => write!(
                f,
                "restart the {service:?} service (K2 Host Server): K2 reads K2HostServer.exe.config only when it starts"
            ),
            NextStep::DbPush { entries, command } if entries.is_empty() => write!(
                f,
                "the database tokens may still hold the old values: check with `k2cse db drift`, then `{command}`"
            ),
            NextStep::DbPush { entries, command } => write!(
                f,
                "K2 may also keep {} in its database, as tokens that still hold the old values: run `{command}` (`k2cse db drift` shows which differ)",
                entries.join(", ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_spaces_is_one_shell_word() {
        assert_eq!(shell_word("Smtp:ops@x.com"), "Smtp:ops@x.com");
        assert_eq!(shell_word("a b's"), r"'a b'\''s'");
    }
}
