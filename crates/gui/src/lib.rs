//! k2cse-gui: the desktop editor that replaces K2's `ConnectionStringEditor.exe`.
//!
//! The state lives in [`GuiApp`] (and the egui-free [`workspace::Workspace`] and
//! [`database::DbSettings`], [`backups::BackupsState`]); the panels in [`panels`] draw it. Every read, check, edit,
//! save and database operation is a `k2cse-core` call, run as a [`jobs`] job when it may take
//! time. [`GuiApp::show`] draws the whole window into any `Ui`, which is how the tests drive it
//! without a display.

pub mod after_save;
pub mod app;
pub mod backups;
pub mod commands;
pub mod database;
mod db_jobs;
pub mod dialog;
mod edits;
pub mod entries_view;
pub mod entry_edits;
pub mod frame_log;
pub mod jobs;
pub mod new_file;
pub mod panels;
mod recheck;
pub mod renderer;
mod results;
pub mod review;
pub mod settings;
pub mod theme;
pub mod window;
pub mod workspace;

pub use app::{GuiApp, Options};
