//! File → New: an untitled K2 host-server config, and the Save-as its first save goes
//! through.
//!
//! The new file is shaped like K2's own `K2HostServer.exe.config` (UTF-8 with a byte-order
//! mark, CRLF line endings, an XML declaration), holding only an empty `<connectionStrings>`
//! section. It has no path until it is saved: the first Save asks where to write it, writes it
//! there (refusing a file that already exists: k2cse never overwrites a config it has not
//! read), and opens what was written, as if it had been opened from disk.

use std::path::{Path, PathBuf};

use k2cse_core::Document;
use k2cse_core::save::SaveOptions;

use crate::app::{Dialog, GuiApp, JobResult};
use crate::workspace::Workspace;

/// The untitled file's placeholder path (`<` cannot be in a Windows file name, and no file is
/// read from it: the text is in memory).
pub const UNTITLED: &str = "<untitled>";

/// A new K2 host-server config: what K2's file holds around its connection strings, minus
/// everything else.
pub const NEW_CONFIG: &[u8] = b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<configuration>\r\n  <connectionStrings>\r\n  </connectionStrings>\r\n</configuration>\r\n";

/// Whether `ws` is a new file that has never been saved.
pub fn is_untitled(ws: &Workspace) -> bool {
    ws.path() == Path::new(UNTITLED)
}

/// A new, untitled workspace.
pub fn untitled(lint: k2cse_core::lint::LintOptions) -> k2cse_core::Result<Workspace> {
    let doc = Document::from_bytes(Path::new(UNTITLED), NEW_CONFIG.to_vec())?;
    Workspace::from_document_with(doc, lint)
}

impl GuiApp {
    /// File → New (after the unsaved-changes question).
    pub(crate) fn new_file(&mut self) {
        match untitled(self.settings.lint) {
            Ok(ws) => {
                // A new file is no K2 server yet: nothing of the previous file's database
                // or backups applies to it.
                self.db = crate::database::DatabaseView::default();
                self.backups = crate::backups::BackupsState::default();
                self.entries.selected = None;
                self.entries.editor.drafts.clear();
                self.ws = Some(ws);
                self.window.view = crate::app::View::Entries;
                self.info("New file: add its entries, then Save to choose where it goes.");
            }
            Err(e) => self.error("A new file could not be made", &e.to_string()),
        }
    }

    /// Writes the untitled file to `path` (which must not exist yet), then opens it from there.
    /// The workspace moves into the job only when the job starts, and comes back if the write
    /// fails.
    pub(crate) fn save_as(&mut self, path: PathBuf) {
        let Some(ws) = self.ws.take() else { return };
        self.save_flow.changing = ws.rows().iter().map(|r| r.name.clone()).collect();
        let keys = self.settings.keys.clone();
        let lint = self.settings.lint;
        let label = format!("Saving {}", path.display());
        let started = self.jobs.start_with(label, ws, move |ws, _| {
            let bytes: Vec<u8> = ws
                .document()
                .files()
                .next()
                .map(k2cse_core::config::ConfigFile::encode)
                .unwrap_or_default();
            // Nothing to back up: the file is new (and `None` refuses one that exists).
            let written = k2cse_core::save::write_atomic(
                &path,
                &[&bytes],
                None,
                &SaveOptions::without_backup(),
            )
            .map_err(|e| e.to_string())
            .and_then(|_| Workspace::open_with(&path, &keys, lint).map_err(|e| e.to_string()));
            JobResult::SavedAs(Box::new(ws), written.map(Box::new))
        });
        if let Err((busy, ws)) = started {
            self.ws = Some(ws);
            self.save_flow.then = None;
            self.started(Err(busy));
        }
    }

    /// The Save-as job finished: the written file replaces the untitled one.
    pub(crate) fn saved_as(
        &mut self,
        untitled: Box<Workspace>,
        written: Result<Box<Workspace>, String>,
    ) {
        let then = self.save_flow.then.take();
        match written {
            Ok(ws) => {
                let path = ws.path().to_owned();
                self.ws = Some(*untitled);
                self.opened(*ws);
                self.info(format!("Saved as {}.", path.display()));
                let changed = std::mem::take(&mut self.save_flow.changing);
                self.after_saved(changed, then.is_some());
                if let Some(then) = then {
                    self.proceed(then);
                }
            }
            Err(e) => {
                self.ws = Some(*untitled);
                self.save_flow.then = then;
                self.dialog = Some(Dialog::SaveAs {
                    path: String::new(),
                    error: Some(e),
                });
            }
        }
    }
}
