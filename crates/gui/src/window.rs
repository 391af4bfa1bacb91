//! The window's own state: which view is shown, the status notice, the title last sent, and
//! whether closing was confirmed.

/// Which half of the window is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Entries and the editor.
    Entries,
    /// The K2 database.
    Database,
    /// Backups of the file and the database rows.
    Backups,
}

/// A message in the status area: shown once, details expandable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// One line.
    pub text: String,
    /// More, on demand.
    pub details: Option<String>,
    /// An error (red) or information.
    pub error: bool,
}

/// The window's state.
#[derive(Debug)]
pub struct WindowState {
    /// The view shown.
    pub view: View,
    /// The status notice.
    pub notice: Option<Notice>,
    /// The window title last sent.
    pub title: String,
    /// The readable sizes and colours are set on the context.
    pub styled: bool,
    /// The unsaved-changes question was answered: the window may close.
    pub close_confirmed: bool,
}

impl Default for WindowState {
    fn default() -> Self {
        Self {
            view: View::Entries,
            notice: None,
            title: String::new(),
            styled: false,
            close_confirmed: false,
        }
    }
}
