//! The Entries view's state: which entry is selected, the list's filter and folds, and the
//! editor's fields being typed in.

use crate::panels::editor::EditorState;
use crate::panels::entries::ListCache;

/// The Entries view.
#[derive(Debug, Default)]
pub struct EntriesView {
    /// The entry shown in the editor.
    pub selected: Option<String>,
    /// The entry to select once the file being opened is read.
    pub select_on_open: Option<String>,
    /// The entry list's state (filter, folded groups, its cache).
    pub list: ListCache,
    /// The editor's state (fields being typed in, passwords shown).
    pub editor: EditorState,
}
