//! The modal dialogs' state: which one is open and what is typed in it (drawn by
//! `panels/dialogs.rs`).

use std::path::PathBuf;

use crate::commands::Pending;
use crate::workspace::Review;

/// A modal dialog.
#[derive(Debug)]
pub enum Dialog {
    /// Open a file by path (the file dialog is offered too).
    Open {
        /// The typed path.
        path: String,
    },
    /// The section is encrypted: choose the key.
    Key {
        /// The config.
        path: PathBuf,
        /// Why.
        message: String,
        /// The typed key path.
        key_path: String,
    },
    /// Add an entry.
    Add {
        /// Index into the kind choices.
        kind: usize,
        /// Type name (for "other").
        type_name: String,
        /// Entity (mailbox).
        entity: String,
        /// Last error.
        error: Option<String>,
    },
    /// Rename or duplicate an entry.
    Rename {
        /// The entry.
        from: String,
        /// The new name.
        to: String,
        /// Duplicate instead of rename.
        duplicate: bool,
        /// Last error.
        error: Option<String>,
        /// Renaming `HostserverDB`: the second question was answered.
        understood: bool,
    },
    /// Confirm removing an entry.
    Remove {
        /// The entry.
        name: String,
        /// Removing `HostserverDB`: the second question was answered.
        understood: bool,
    },
    /// Where to write a new file (its first save).
    SaveAs {
        /// The typed path.
        path: String,
        /// Why the last try failed.
        error: Option<String>,
    },
    /// Review before saving.
    Review {
        /// Diff and lint delta.
        review: Box<Review>,
        /// The raw diff tab is shown (else the table).
        raw: bool,
    },
    /// After a save: also update the database?
    UpdateDatabase {
        /// The entries this save changed (whose tokens differ, when the database was read).
        offers: Vec<crate::after_save::Offer>,
        /// Whether the database was read to choose them.
        check: crate::after_save::TokenCheck,
    },
    /// Unsaved changes: asked before `then` throws them away.
    Unsaved {
        /// What waits for the answer.
        then: Pending,
    },
    /// Confirm restoring the inspected backup.
    RestoreBackup,
}
