//! Finding the config file when none is named: the current folder first (where the vendor tool
//! must be run from), then the K2 install folder on Windows.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// File names looked for, in order: K2 ships `K2HostServer.exe.config`; the vendor tool also
/// accepts the older `K2HostServer.config`.
pub const DEFAULT_FILE_NAMES: &[&str] = &["K2HostServer.exe.config", "K2HostServer.config"];

/// The config file to use: `explicit` if given, else the first default name found in `cwd`,
/// else (on Windows) in `%ProgramFiles%\K2\Host Server\Bin`. `env` reads environment
/// variables (a parameter so tests need not change the process environment).
pub fn discover_config(
    explicit: Option<&Path>,
    cwd: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    let mut tried = Vec::new();
    let mut dirs = vec![cwd.to_owned()];
    if cfg!(windows) {
        for var in ["ProgramFiles", "ProgramW6432"] {
            if let Some(pf) = env(var) {
                dirs.push(Path::new(&pf).join("K2").join("Host Server").join("Bin"));
            }
        }
    }
    for dir in dirs {
        for name in DEFAULT_FILE_NAMES {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
            tried.push(candidate);
        }
    }
    tried.dedup();
    Err(Error::ConfigNotFound { tried })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_explicit_then_exe_config_then_config() {
        let dir = tempfile::tempdir().unwrap();
        let none = |_: &str| None;
        let err = discover_config(None, dir.path(), &none).unwrap_err();
        assert!(err.to_string().contains("K2HostServer.exe.config"), "{err}");
        std::fs::write(dir.path().join("K2HostServer.config"), "x").unwrap();
        assert!(
            discover_config(None, dir.path(), &none)
                .unwrap()
                .ends_with("K2HostServer.config")
        );
        std::fs::write(dir.path().join("K2HostServer.exe.config"), "x").unwrap();
        assert!(
            discover_config(None, dir.path(), &none)
                .unwrap()
                .ends_with("K2HostServer.exe.config")
        );
        let explicit = Path::new("/elsewhere/web.config");
        assert_eq!(
            discover_config(Some(explicit), dir.path(), &none).unwrap(),
            explicit
        );
    }
}
