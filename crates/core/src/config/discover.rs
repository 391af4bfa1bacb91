//! Finding the config file when none is named: the current folder first (where the vendor tool
//! must be run from), then the K2 install folder on Windows.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// File names looked for, in order: K2 ships `K2HostServer.exe.config`; the vendor tool also
/// accepts the older `K2HostServer.config`.
pub const DEFAULT_FILE_NAMES: &[&str] = &["K2HostServer.exe.config", "K2HostServer.config"];

/// The config file to use: `explicit` if given, else the first default name found in `cwd`,
/// else (on Windows) in the folder of the installed K2 service (its `ImagePath` in the
/// registry), else in `%ProgramFiles%\K2\Host Server\Bin`. `env` reads environment variables
/// (a parameter so tests need not change the process environment).
pub fn discover_config(
    explicit: Option<&Path>,
    cwd: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    let mut dirs = vec![cwd.to_owned()];
    dirs.extend(crate::platform::k2_service_folders(env));
    if cfg!(windows) {
        for var in ["ProgramFiles", "ProgramW6432"] {
            if let Some(pf) = env(var) {
                dirs.push(Path::new(&pf).join("K2").join("Host Server").join("Bin"));
            }
        }
    }
    find_in(&dirs)
}

/// The first default file name found in `dirs`, in order.
fn find_in(dirs: &[PathBuf]) -> Result<PathBuf> {
    let mut tried = Vec::new();
    for dir in dirs {
        for name in DEFAULT_FILE_NAMES {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
            if !tried.contains(&candidate) {
                tried.push(candidate);
            }
        }
    }
    Err(Error::ConfigNotFound { tried })
}

/// The folder of a K2 server from a service's `ImagePath` (`"C:\...\K2HostServer.exe" args`,
/// quoted or not, `%VAR%` references expanded, `\??\` prefix dropped), or `None` when the
/// service runs another program.
pub fn k2_folder_from_image_path(
    image: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    let image = image.trim();
    let program = if let Some(quoted) = image.strip_prefix('"') {
        quoted.split('"').next()?
    } else {
        // Unquoted paths may contain spaces (Windows tries each prefix); the executable name
        // ends the path we want.
        let lower = image.to_ascii_lowercase();
        let end = lower.find("k2hostserver.exe")? + "k2hostserver.exe".len();
        &image[..end]
    };
    let program = expand(program, env);
    let program = program.strip_prefix(r"\??\").unwrap_or(&program);
    let (folder, file) = program.rsplit_once(['\\', '/'])?;
    file.eq_ignore_ascii_case("K2HostServer.exe")
        .then(|| PathBuf::from(folder))
}

/// Expands `%NAME%` references the way `ExpandEnvironmentStrings` does: unknown names stay.
fn expand(text: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('%') else {
            out.push_str(&rest[start..]);
            return out;
        };
        if let Some(value) = env(&after[..end]) {
            out.push_str(&value);
            rest = &after[end + 1..];
        } else {
            // Unknown: keep `%NAME` and look again from the closing `%`.
            out.push_str(&rest[start..=start + end]);
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    out
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

    #[test]
    fn k2_service_image_paths_name_the_bin_folder() {
        let env = |var: &str| (var == "ProgramFiles").then(|| r"C:\Program Files".to_owned());
        let folder = |image: &str| k2_folder_from_image_path(image, &env);
        let bin = PathBuf::from(r"C:\Program Files\K2\Host Server\Bin");
        assert_eq!(
            folder(r#""C:\Program Files\K2\Host Server\Bin\K2HostServer.exe" -service"#),
            Some(bin.clone())
        );
        assert_eq!(
            folder(r"%ProgramFiles%\K2\Host Server\Bin\k2hostserver.EXE"),
            Some(bin.clone())
        );
        assert_eq!(
            folder(r"\??\D:\K2 blackpearl\Host Server\Bin\K2HostServer.exe /x"),
            Some(PathBuf::from(r"D:\K2 blackpearl\Host Server\Bin"))
        );
        assert_eq!(
            folder(r"%Missing%\Bin\K2HostServer.exe"),
            Some(PathBuf::from(r"%Missing%\Bin"))
        );
        assert_eq!(folder(r"C:\Windows\system32\svchost.exe -k netsvcs"), None);
        assert_eq!(folder(r#""C:\K2\K2HostServer.exe.bak""#), None);
        assert_eq!(folder(""), None);
    }
}
