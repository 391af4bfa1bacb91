//! The window: app state, the job results it reacts to, keyboard shortcuts, and the layout
//! that places the panels (which live in `panels/`).

use std::path::{Path, PathBuf};

use k2cse_core::lint::LintOptions;
use k2cse_core::policy::{BackupPolicy, Environment, NoPrompt, SecretLookup};
use k2cse_core::protect::{KeyStore, RsaKey};
use k2cse_core::save::SavedFile;

use crate::after_save::SaveFlow;
use crate::backups::{BackupOutcome, BackupsState};
use crate::commands::{Command, Pending};
use crate::database::{DatabaseView, DbOutcome, Snapshot};
pub use crate::dialog::Dialog;
use crate::entries_view::EntriesView;
use crate::entry_edits::OPENING;
use crate::jobs::{Busy, Jobs, Mode};
use crate::panels;
use crate::settings::Settings;
use crate::window::WindowState;
pub use crate::window::{Notice, View};
use crate::workspace::{OpenError, Workspace};

/// How the app starts.
#[derive(Debug, Clone)]
pub struct Options {
    /// A config to open (else the CLI's discovery: ./K2HostServer.exe.config, the K2 folder).
    pub config: Option<PathBuf>,
    /// Open a copy of the bundled sample (and a simulated K2 database).
    pub demo: bool,
    /// Key file for an encrypted section.
    pub key_file: Option<PathBuf>,
    /// Select this entry once the file is open.
    pub select: Option<String>,
    /// Threaded (the app) or inline (tests) jobs.
    pub jobs: Mode,
    /// The day dated lint rules compare against (default: today); tests pin it so that their
    /// pictures do not change when a date passes.
    pub lint: LintOptions,
    /// Where backup settings and secrets are read (the process environment; tests pin one).
    pub environment: Environment,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            config: None,
            demo: false,
            key_file: None,
            select: None,
            jobs: Mode::Threaded,
            lint: LintOptions::default(),
            environment: Environment::process(),
        }
    }
}

/// A finished job.
#[derive(Debug)]
pub enum JobResult {
    /// A file was opened (or not).
    Opened(Box<Result<Workspace, OpenError>>),
    /// A save finished; the workspace comes back either way.
    Saved(Box<Workspace>, Result<Vec<SavedFile>, String>),
    /// The untitled file was written (then read back from its new place), or not; the
    /// untitled workspace comes back either way.
    SavedAs(Box<Workspace>, Result<Box<Workspace>, String>),
    /// A database job finished.
    Db(Result<DbOutcome, String>),
    /// A backup job finished.
    Backup(Result<BackupOutcome, String>),
}

/// A simulated K2 database for `--demo`.
#[cfg(feature = "simulator")]
pub(crate) struct Demo {
    _dir: tempfile::TempDir,
    /// The demo's config: the simulated database belongs to it, not to other files opened later.
    pub(crate) config: PathBuf,
    pub(crate) simulator: k2cse_mssql_sim::Simulator,
}

/// The desktop editor.
pub struct GuiApp {
    pub(crate) ws: Option<Workspace>,
    pub(crate) jobs: Jobs<JobResult>,
    /// The view shown, the notice, the title.
    pub(crate) window: WindowState,
    /// The Entries view: selection, list, editor.
    pub(crate) entries: EntriesView,
    pub(crate) dialog: Option<Dialog>,
    /// Recent files, keys, environment, lint dates.
    pub(crate) settings: Settings,
    /// The Database view: connection settings, last read.
    pub(crate) db: DatabaseView,
    pub(crate) backups: BackupsState,
    /// The save in progress and what follows it.
    pub(crate) save_flow: SaveFlow,
    /// What the panels asked for this frame, applied once after they are drawn.
    pub(crate) commands: Vec<Command>,
    #[cfg(feature = "simulator")]
    pub(crate) demo: Option<Demo>,
}

impl std::fmt::Debug for GuiApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuiApp")
            .field("ws", &self.ws)
            .field("selected", &self.entries.selected)
            .finish_non_exhaustive()
    }
}

impl GuiApp {
    /// Starts the app: opens the requested (or discovered, or demo) config.
    pub fn new(options: &Options) -> Self {
        let mut app = Self {
            ws: None,
            jobs: Jobs::new(options.jobs),
            window: WindowState::default(),
            entries: EntriesView {
                select_on_open: options.select.clone(),
                ..EntriesView::default()
            },
            dialog: None,
            settings: Settings::new(options.environment.clone(), options.lint),
            db: DatabaseView::default(),
            backups: BackupsState::default(),
            save_flow: SaveFlow::default(),
            commands: Vec::new(),
            #[cfg(feature = "simulator")]
            demo: None,
        };
        if let Some(key) = &options.key_file {
            app.use_key_file(key);
        }
        if options.demo {
            app.open_demo();
        } else {
            let cwd = std::env::current_dir().unwrap_or_default();
            match k2cse_core::config::discover_config(options.config.as_deref(), &cwd, &|v| {
                std::env::var(v).ok()
            }) {
                Ok(path) => app.open(&path),
                Err(e) if options.config.is_some() => {
                    app.error("Could not open the config file", &e.to_string());
                }
                Err(_) => {}
            }
        }
        app
    }

    /// The core's backup policy for this environment (folder, retention, encryption from a
    /// passphrase in the environment or the keyring), as the CLI applies it.
    pub(crate) fn backup_policy(&self) -> Result<BackupPolicy, String> {
        BackupPolicy::from_env(
            &self.settings.env,
            &SecretLookup::open(&self.settings.env, &NoPrompt),
        )
        .map_err(|e| e.to_string())
    }

    /// The open workspace (tests).
    pub fn workspace(&self) -> Option<&Workspace> {
        self.ws.as_ref()
    }

    /// The selected entry.
    pub fn selected(&self) -> Option<&str> {
        self.entries.selected.as_deref()
    }

    /// The current notice.
    pub fn notice(&self) -> Option<&Notice> {
        self.window.notice.as_ref()
    }

    /// Whether a job is running.
    pub fn is_busy(&self) -> bool {
        self.jobs.running().is_some()
    }

    /// The Backups view's state.
    pub fn backups(&self) -> &BackupsState {
        &self.backups
    }

    /// The last database snapshot.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.db.snapshot.as_ref()
    }

    /// Recent files (most recent first).
    pub fn recent(&self) -> &[PathBuf] {
        &self.settings.recent
    }

    /// The window title last sent to the window (file name, `*` when modified).
    pub fn window_title(&self) -> &str {
        &self.window.title
    }

    /// The database connection string the Database view uses.
    pub fn db_connection(&self) -> &str {
        &self.db.settings.connection
    }

    /// The job queue (tests start jobs of their own on it to hold it busy).
    #[doc(hidden)]
    pub fn jobs_mut(&mut self) -> &mut Jobs<JobResult> {
        &mut self.jobs
    }

    /// Restores the recent-file list.
    pub fn set_recent(&mut self, recent: Vec<PathBuf>) {
        self.settings.recent = recent;
    }

    pub(crate) fn info(&mut self, text: impl Into<String>) {
        self.window.notice = Some(Notice {
            text: text.into(),
            details: None,
            error: false,
        });
    }

    pub(crate) fn error(&mut self, text: &str, details: &str) {
        self.window.notice = Some(Notice {
            text: text.to_owned(),
            details: Some(admin_words(details)),
            error: true,
        });
    }

    /// Reports a job that could not start; returns whether it started.
    pub(crate) fn started(&mut self, result: Result<(), Busy>) -> bool {
        match result {
            Ok(()) => true,
            Err(busy) => {
                self.error(
                    "Not now: another task is still running",
                    &format!("{busy}, then try again. Nothing was changed."),
                );
                false
            }
        }
    }

    pub(crate) fn use_key_file(&mut self, path: &Path) {
        match RsaKey::from_file(path) {
            Ok(key) => self.settings.keys = KeyStore::new(Some(key)),
            Err(e) => self.error("The key file cannot be used", &e.to_string()),
        }
    }

    /// Opens `path` in the background.
    pub fn open(&mut self, path: &Path) {
        let path = path.to_owned();
        let keys = self.settings.keys.clone();
        let lint = self.settings.lint;
        let label = format!("{OPENING}{}", path.display());
        let started = self.jobs.start(label, move |_| {
            JobResult::Opened(Box::new(Workspace::open_with(&path, &keys, lint)))
        });
        self.started(started);
    }

    fn open_demo(&mut self) {
        let dir = match tempfile::Builder::new().prefix("k2cse-gui-demo-").tempdir() {
            Ok(d) => d,
            Err(e) => return self.error("Could not create the demo folder", &e.to_string()),
        };
        let path = match k2cse_core::sample::write_sample(dir.path()) {
            Ok(p) => p,
            Err(e) => return self.error("Could not write the sample", &e.to_string()),
        };
        self.open(&path);
        #[cfg(feature = "simulator")]
        match k2cse_mssql_sim::Simulator::start(k2cse_mssql_sim::SimConfig::default()) {
            Ok(simulator) => {
                self.db.settings.connection = simulator.connection_string();
                k2cse_mssql_sim::SAMPLE_MASTER_KEY_PASSWORD
                    .clone_into(&mut self.db.settings.master_key_password);
                self.demo = Some(Demo {
                    _dir: dir,
                    config: path,
                    simulator,
                });
            }
            Err(e) => self.error("The simulated K2 database did not start", &e.to_string()),
        }
        #[cfg(not(feature = "simulator"))]
        std::mem::forget(dir);
    }

    /// Draws the whole window into `ui` (the eframe app and the tests both call this).
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if !self.window.styled {
            crate::theme::apply(&ctx);
            self.window.styled = true;
        }
        self.jobs.set_context(&ctx);
        while let Some(result) = self.jobs.poll() {
            self.finish(result);
        }
        // Unsaved changes: keep the window open and ask.
        if ctx.input(|i| i.viewport().close_requested())
            && self.ws.as_ref().is_some_and(Workspace::is_dirty)
            && !self.window.close_confirmed
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.dialog = Some(Dialog::Unsaved {
                then: Pending::Quit,
            });
        }
        self.shortcuts(&ctx);
        self.dropped_files(&ctx);
        panels::layout(self, ui);
        panels::dialogs::show(self, &ctx);
        // For the frame-time probe (bench/gui.sh), when it is on: the state this frame drew,
        // before the commands below change it.
        let drawn = self.ws.as_ref().map(|w| (w.revision().1, w.rows().len()));
        crate::frame_log::shown(&ctx, drawn);
        self.run_commands(&ctx);
        self.update_title(&ctx);
        if self.jobs.running().is_some() {
            // Keep the spinner turning and pick the result up promptly.
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        if self.dialog.is_some() {
            return;
        }
        let save = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
        let undo = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);
        let redo = KeyboardShortcut::new(Modifiers::COMMAND, Key::Y);
        let redo2 = KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
        let open = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
        let new = KeyboardShortcut::new(Modifiers::COMMAND, Key::N);
        // Ctrl+Shift+Z first: Ctrl+Z would also match it with the Shift ignored.
        let (want_save, want_redo, want_undo, want_open, want_new) = ctx.input_mut(|i| {
            (
                i.consume_shortcut(&save),
                i.consume_shortcut(&redo2) || i.consume_shortcut(&redo),
                i.consume_shortcut(&undo),
                i.consume_shortcut(&open),
                i.consume_shortcut(&new),
            )
        });
        if want_new {
            self.push(Command::Guarded(Pending::New));
        }
        if want_save {
            self.push(Command::RequestSave);
        }
        if want_redo {
            self.push(Command::Redo);
        }
        if want_undo {
            self.push(Command::Undo);
        }
        if want_open {
            self.push(Command::Guarded(Pending::OpenDialog));
        }
    }

    fn dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if let Some(path) = dropped.first() {
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xml") || e.eq_ignore_ascii_case("pem"))
            {
                self.use_key_file(path);
                self.info(format!("Key file {} loaded.", path.display()));
            } else {
                self.push(Command::Guarded(Pending::Open(path.clone())));
            }
        }
    }
}

/// Error details as an administrator reads them: advice meant for the programmer who embeds a
/// library (turning on its tracing, a configuration call) is replaced by what to check.
pub(crate) fn admin_words(details: &str) -> String {
    let stalled = details.contains("did not") && details.contains("handshake");
    let out = if stalled {
        "The SQL Server accepted the connection but did not finish signing in within the time allowed. Check that the server and port in the connection string are K2's SQL Server, that Encrypt / TrustServerCertificate match how the server is set up, and that the server is not overloaded; then Connect again."
    } else {
        details
    };
    // Any remaining sentence that speaks to a programmer goes.
    out.split_inclusive(". ")
        .filter(|s| !(s.contains("`tracing`") || s.contains("Config::")))
        .collect::<String>()
        .trim()
        .to_owned()
}

impl eframe::App for GuiApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, "recent", &self.settings.recent);
    }
}

#[cfg(test)]
mod tests {
    use super::admin_words;

    #[test]
    fn error_details_speak_to_an_administrator() {
        // tiberius 0.13's own words for a stalled handshake.
        let library = "Timed out: the connection handshake (prelogin, TLS negotiation and login) did not complete within 15s; the server accepted the TCP connection but did not finish the handshake in time (it may have stalled, or be responding too slowly for the configured bound). Enable `tracing` at DEBUG to see which stage was last reached, or change the bound with `Config::handshake_timeout`.";
        let shown = admin_words(library);
        assert!(
            !shown.contains("tracing") && !shown.contains("Config::"),
            "{shown}"
        );
        assert!(
            shown.contains("Encrypt / TrustServerCertificate"),
            "{shown}"
        );
        assert_eq!(
            admin_words("Login failed for user 'k2'."),
            "Login failed for user 'k2'."
        );
    }
}
