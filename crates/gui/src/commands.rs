//! What the panels ask the app to do. Panels only read the state and push commands; the app
//! applies them once per frame, after drawing (as egui's demo and rerun do), so that no panel
//! changes what another panel is still drawing, and every action that could throw unsaved edits
//! away passes one question: Save, Discard or Cancel.

use std::path::PathBuf;

use k2cse_core::Change;

use crate::app::{Dialog, GuiApp, View};
use crate::entry_edits::EntryEdit;
use crate::workspace::Workspace;

/// An action that would replace the open workspace: asked about first when it has unsaved
/// changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// Start a new, untitled file.
    New,
    /// Show the Open dialog.
    OpenDialog,
    /// Open this file.
    Open(PathBuf),
    /// Read the open file again from disk.
    Reload,
    /// Close the window.
    Quit,
}

impl Pending {
    /// What the question says is about to happen.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::New => "Starting a new file discards them.",
            Self::OpenDialog | Self::Open(_) => "Opening another file discards them.",
            Self::Reload => "Reloading the file from disk discards them.",
            Self::Quit => "Closing the window discards them.",
        }
    }
}

/// One request from a panel.
#[derive(Debug)]
pub enum Command {
    /// Do this, asking first if it would lose unsaved changes.
    Guarded(Pending),
    /// Do this now: the user answered "Discard" (or there was nothing to lose).
    Proceed(Pending),
    /// Ask about the unsaved changes, saving first and then doing `Pending`.
    SaveThen(Pending),
    /// Open the save review.
    RequestSave,
    /// Write the new file to this path (its first save).
    SaveAs(PathBuf),
    /// Save (after the review); `force` saves despite new lint errors.
    Save {
        /// Save anyway.
        force: bool,
    },
    /// Undo the last edit.
    Undo,
    /// Redo the last undone edit.
    Redo,
    /// Apply an edit to the open file.
    Apply(Change),
    /// Add, rename, duplicate or remove an entry (from its dialog).
    Entry(EntryEdit),
    /// Write these entries' file values into the database.
    DbPush(Vec<String>),
    /// Read the database.
    DbRefresh,
    /// Bring these entries' database values into the editor.
    DbPull(Vec<String>),
    /// List the backup folder.
    BackupsRefresh,
    /// Back up now.
    BackupNow,
    /// Verify and compare a backup.
    BackupInspect(PathBuf),
    /// Ask before restoring the inspected backup.
    BackupRequestRestore,
    /// Restore the inspected backup (confirmed).
    BackupRestore,
    /// Show a dialog.
    Show(Dialog),
    /// The save review was cancelled: what waited for the save does not happen.
    ReviewCancelled,
    /// Show this entry in the editor.
    Select(String),
    /// Switch views (the Backups view lists its folder).
    View(View),
    /// Cancel the running job.
    CancelJob,
    /// Hide the status notice.
    DismissNotice,
    /// Store the passwords typed in the Database view in the OS keyring.
    RememberPasswords,
    /// Read this key file and use it to open encrypted sections.
    UseKeyFile(PathBuf),
    /// The steps after the last save are done.
    NextStepsDone,
}

impl GuiApp {
    /// Queues a command for the end of this frame.
    pub(crate) fn push(&mut self, command: Command) {
        self.commands.push(command);
    }

    /// Applies the frame's commands in the order they were pushed.
    pub(crate) fn run_commands(&mut self, ctx: &egui::Context) {
        let commands = std::mem::take(&mut self.commands);
        if !commands.is_empty() {
            // The state changed after this frame was drawn: draw it again, even without input.
            ctx.request_repaint();
        }
        for command in commands {
            self.run_command(command, ctx);
        }
    }

    fn run_command(&mut self, command: Command, ctx: &egui::Context) {
        match command {
            Command::Guarded(pending) => {
                if self.ws.as_ref().is_some_and(Workspace::is_dirty) {
                    self.dialog = Some(Dialog::Unsaved { then: pending });
                } else {
                    self.run_pending(pending, ctx);
                }
            }
            Command::Proceed(pending) => self.run_pending(pending, ctx),
            Command::SaveThen(pending) => {
                self.save_flow.then = Some(pending);
                self.request_save();
                if !matches!(self.dialog, Some(Dialog::Review { .. })) {
                    self.save_flow.then = None;
                }
            }
            Command::RequestSave => self.request_save(),
            Command::Save { force } => self.save(force),
            Command::SaveAs(path) => self.save_as(path),
            Command::Undo => self.undo(),
            Command::Redo => self.redo(),
            Command::Apply(change) => {
                self.apply(change);
            }
            Command::Entry(edit) => self.entry_edit(edit),
            Command::DbPush(entries) => self.db_push(entries),
            Command::DbRefresh => self.db_refresh(),
            Command::DbPull(entries) => self.db_pull(entries),
            Command::BackupsRefresh => self.backups_refresh(),
            Command::BackupNow => self.backup_now(),
            Command::BackupInspect(path) => self.backup_inspect(path),
            Command::BackupRequestRestore => self.backup_request_restore(),
            Command::BackupRestore => self.backup_restore(),
            Command::Show(dialog) => self.dialog = Some(dialog),
            Command::ReviewCancelled => self.save_flow.then = None,
            Command::Select(name) => {
                self.entries.selected = Some(name);
                self.entries.editor.drafts.clear();
            }
            Command::View(view) => {
                self.window.view = view;
                if view == View::Backups {
                    self.backups_refresh();
                }
            }
            Command::CancelJob => self.jobs.cancel(),
            Command::DismissNotice => self.window.notice = None,
            Command::RememberPasswords => match self.db.settings.remember() {
                Ok(text) => self.info(text),
                Err(e) => self.error("The passwords were not stored", &e),
            },
            Command::UseKeyFile(path) => self.use_key_file(&path),
            Command::NextStepsDone => self.save_flow.next_steps.clear(),
        }
    }

    /// Runs `pending` without asking (after a save, or "Discard").
    pub(crate) fn proceed(&mut self, pending: Pending) {
        self.commands.push(Command::Proceed(pending));
    }

    fn run_pending(&mut self, pending: Pending, ctx: &egui::Context) {
        match pending {
            Pending::New => self.new_file(),
            Pending::OpenDialog => {
                self.dialog = Some(Dialog::Open {
                    path: String::new(),
                });
            }
            Pending::Open(path) => self.open(&path),
            Pending::Reload => {
                let on_disk = self
                    .ws
                    .as_ref()
                    .filter(|w| !crate::new_file::is_untitled(w));
                if let Some(path) = on_disk.map(|w| w.path().to_owned()) {
                    self.entries.select_on_open = self.entries.selected.clone();
                    self.open(&path);
                }
            }
            Pending::Quit => {
                self.window.close_confirmed = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }

    /// The window title: the file's name, `*` in front while it has unsaved changes, and its
    /// folder (several servers' files look alike).
    pub(crate) fn update_title(&mut self, ctx: &egui::Context) {
        let title = match &self.ws {
            // A save in progress has the workspace: keep the title until it comes back.
            None if self.jobs.running().is_some() => return,
            None => "k2cse — K2 connection strings".to_owned(),
            Some(ws) if crate::new_file::is_untitled(ws) => {
                let mark = if ws.is_dirty() { "*" } else { "" };
                format!("{mark}Untitled — k2cse")
            }
            Some(ws) => {
                let path = ws.path();
                let name = path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                let folder = path
                    .parent()
                    .map(|p| format!(" ({})", p.display()))
                    .unwrap_or_default();
                let mark = if ws.is_dirty() { "*" } else { "" };
                format!("{mark}{name}{folder} — k2cse")
            }
        };
        if title != self.window.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.window.title = title;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::JobResult;
    use crate::jobs::{Jobs, Mode};
    use crate::{GuiApp, Options};

    #[test]
    fn a_save_refused_because_a_job_runs_keeps_the_workspace_and_its_edits() {
        let dir = tempfile::tempdir().unwrap();
        let path = k2cse_core::sample::write_sample(dir.path()).unwrap();
        let mut app = GuiApp::new(&Options {
            config: Some(path),
            jobs: Mode::Inline,
            ..Options::default()
        });
        let opened = app.jobs.poll().unwrap();
        app.finish(opened);
        assert!(app.apply(Change::Set {
            name: "SourceCode.Net.Mail.SmtpConnection".into(),
            values: k2cse_core::edit::Values::from_pairs([("Port", "587")]),
        }));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        app.jobs = Jobs::new(Mode::Threaded);
        app.jobs
            .start("Reading the K2 database", move |_| {
                let _ = wait.recv();
                JobResult::Db(Err("stopped by the test".into()))
            })
            .unwrap();
        app.save(false);
        let ws = app.ws.as_ref().expect("the workspace is still open");
        assert!(ws.is_dirty());
        assert!(app.window.notice.as_ref().is_some_and(|n| n.error));
        release.send(()).unwrap();
    }
}
