//! What every command that reads a config needs: which file, and the display settings.

use std::path::PathBuf;

use anyhow::Context as _;
use k2cse_core::Document;
use k2cse_core::config::discover_config;

use crate::args::Global;

/// The resolved config file and output settings.
#[derive(Debug)]
pub struct Context {
    /// The config file to work on.
    pub path: PathBuf,
    /// JSON output.
    pub json: bool,
    /// Show secrets.
    pub reveal: bool,
    /// With --demo, the temporary folder holding the sample (removed on exit).
    _demo_dir: Option<tempfile::TempDir>,
}

impl Context {
    /// Resolves the config path from the flags (or sets up the demo copy).
    pub fn new(global: &Global) -> anyhow::Result<Self> {
        let (path, demo_dir) = if global.demo {
            let dir = tempfile::Builder::new()
                .prefix("k2cse-demo-")
                .tempdir()
                .context("creating a folder for the demo")?;
            let path = k2cse_core::sample::write_sample(dir.path())?;
            (path, Some(dir))
        } else {
            let cwd = std::env::current_dir().context("reading the current folder")?;
            let path = discover_config(global.config.as_deref(), &cwd, &|var| {
                std::env::var(var).ok()
            })?;
            (path, None)
        };
        Ok(Self {
            path,
            json: global.json,
            reveal: global.reveal,
            _demo_dir: demo_dir,
        })
    }

    /// Loads the config file.
    pub fn load(&self) -> anyhow::Result<Document> {
        Ok(Document::load(&self.path)?)
    }
}
