//! Which entries' findings an edit can change, and moving the others' findings to where their
//! entries now start.
//!
//! An entry's own findings depend on its own text only (`lint::entry_diagnostics`); what
//! other entries do can only move it. Adding or removing an entry moves the lines after it,
//! so instead of checking all 10,000 entries again (over 100 ms, on the UI thread, for a
//! Ctrl+Z), the workspace re-checks the entries the edit names and moves every other finding
//! by as much as its entry moved: the same findings a full check gives, for the price of
//! reading the names.

use std::collections::HashMap;

use k2cse_core::entry::fold_name;
use k2cse_core::lint::Diagnostic;
use k2cse_core::{Change, Document};

/// What a group of changes makes the workspace check again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recheck {
    /// Everything (the section was encrypted or decrypted).
    All,
    /// These entries; the others did not move.
    Entries(Vec<String>),
    /// These entries; entries were added or removed, so the others' lines may have moved.
    Moved(Vec<String>),
}

impl Recheck {
    /// The entries a group of changes can affect.
    pub(crate) fn of(group: &[Change]) -> Self {
        let mut names = Vec::new();
        let mut moved = false;
        for change in group {
            match change.picked().0 {
                Change::Protect { .. } | Change::Unprotect => return Self::All,
                Change::Rename { name, to } => names.extend([name.clone(), to.clone()]),
                c @ (Change::Add { .. } | Change::Remove { .. }) => {
                    moved = true;
                    names.extend(c.name().map(str::to_owned));
                }
                other => names.extend(other.name().map(str::to_owned)),
            }
        }
        if moved {
            Self::Moved(names)
        } else {
            Self::Entries(names)
        }
    }
}

/// Where each entry's element starts (line, column), by folded name; `None` for a name that
/// several entries share (their findings are kept together, so they are checked again).
pub(crate) type Starts = HashMap<String, Option<(usize, usize)>>;

/// The start of every entry of `doc`.
pub(crate) fn starts(doc: &Document) -> k2cse_core::Result<Starts> {
    let names = doc.names()?;
    let mut out = Starts::with_capacity(names.slots.len());
    for slot in &names.slots {
        let at = doc.locate(slot.offset);
        out.entry(fold_name(&slot.name))
            .and_modify(|shared| *shared = None)
            .or_insert(Some((at.line, at.column)));
    }
    Ok(out)
}

/// Moves `findings` of an entry whose element started at `from` and now starts at `to`: a
/// finding on the element's first line moves with its column, later lines keep theirs.
pub(crate) fn shift(findings: &mut [Diagnostic], from: (usize, usize), to: (usize, usize)) {
    if from == to {
        return;
    }
    for location in findings.iter_mut().filter_map(|d| d.location.as_mut()) {
        if location.line == from.0 {
            location.column = (location.column + to.1).saturating_sub(from.1);
        }
        location.line = (location.line + to.0).saturating_sub(from.0);
    }
}
