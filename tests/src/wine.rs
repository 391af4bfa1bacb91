//! Running the Windows build under Wine, for tests/tests/wine_*.rs.
//!
//! `scripts/wine-tests.sh` builds the release `.exe` files, prepares a Wine prefix (with the
//! `bcryptprimitives.dll` stand-in that Debian's Wine 8 lacks) and a virtual display, then runs
//! those tests with `--ignored`. Run on their own, they fail with a message saying so: a Wine
//! test never passes without Wine.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The Windows build and the Wine prefix to run it in.
#[derive(Debug, Clone)]
pub struct Wine {
    bin: PathBuf,
    prefix: PathBuf,
}

impl Wine {
    /// The setup `scripts/wine-tests.sh` made (`K2CSE_WINDOWS_BIN`, `WINEPREFIX`).
    pub fn from_env() -> Self {
        let var = |name: &str| {
            let Some(value) = std::env::var_os(name) else {
                panic!("{name} is not set: run the Wine tests with scripts/wine-tests.sh")
            };
            PathBuf::from(value)
        };
        let wine = Self {
            bin: var("K2CSE_WINDOWS_BIN"),
            prefix: var("WINEPREFIX"),
        };
        assert!(
            wine.exe("k2cse").is_file(),
            "{} is missing: run scripts/wine-tests.sh",
            wine.exe("k2cse").display()
        );
        wine
    }

    /// The path of `name.exe` in the Windows build.
    pub fn exe(&self, name: &str) -> PathBuf {
        self.bin.join(format!("{name}.exe"))
    }

    /// `wine <program> ARGS...` in `dir`, with none of k2cse's variables from this process
    /// (so the real Windows stores are used, not the test mocks).
    pub fn process(&self, program: &Path, dir: &Path, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new("wine");
        cmd.arg(program)
            .args(args)
            .current_dir(dir)
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all");
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("K2CSE_") {
                cmd.env_remove(name);
            }
        }
        cmd
    }

    /// [`Wine::process`] for `assert_cmd`.
    pub fn command(&self, program: &Path, dir: &Path, args: &[&str]) -> Command {
        Command::from_std(self.process(program, dir, args))
    }

    /// `wine k2cse.exe ARGS...` in `dir`.
    pub fn k2cse(&self, dir: &Path, args: &[&str]) -> Command {
        self.command(&self.exe("k2cse"), dir, args)
    }

    /// `wine reg ARGS...`: Wine's own registry editor.
    pub fn reg(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("wine");
        cmd.arg("reg")
            .args(args)
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all");
        cmd
    }
}

/// A Linux path as the Windows build sees it (Wine maps `/` to drive `Z:`).
pub fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

/// A command's standard output as text.
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A command's standard error as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
