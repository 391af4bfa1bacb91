//! Fixture files and a scratch folder for each test.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The bundled sample K2 config (UTF-8 with BOM, CRLF, commented template at the bottom).
pub const SAMPLE: &[u8] = k2cse_core::sample::K2_SAMPLE;

/// A fixture file from `tests/fixtures`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A temporary folder holding one config file; removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Scratch {
    /// A folder with `bytes` as `K2HostServer.exe.config`.
    pub fn with(bytes: &[u8]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("K2HostServer.exe.config");
        std::fs::write(&config, bytes).unwrap();
        Self { dir, config }
    }

    /// A folder with the sample config.
    pub fn sample() -> Self {
        Self::with(SAMPLE)
    }

    /// The config file's current bytes.
    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.config).unwrap()
    }

    /// The config file's current text (UTF-8 without BOM).
    pub fn text(&self) -> String {
        let bytes = self.bytes();
        String::from_utf8(
            bytes
                .strip_prefix(b"\xEF\xBB\xBF")
                .unwrap_or(&bytes)
                .to_vec(),
        )
        .unwrap()
    }

    /// `k2cse --config <this config> ARGS...`, run from inside the folder.
    pub fn k2cse(&self, args: &[&str]) -> Command {
        let mut cmd = k2cse();
        cmd.current_dir(self.dir.path())
            .arg("--config")
            .arg(&self.config)
            .args(args);
        cmd
    }

    /// The backups in the default backup folder, oldest first.
    pub fn backups(&self) -> Vec<PathBuf> {
        k2cse_core::backup::BackupStore::for_config(&self.config, None)
            .list()
            .unwrap()
            .into_iter()
            .map(|b| b.path)
            .collect()
    }

    /// Files in the folder other than the config and its k2cse lock file (backups, temp files).
    pub fn others(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p != &self.config)
            .filter(|p| !p.to_string_lossy().ends_with(".k2cse-lock"))
            .collect();
        v.sort();
        v
    }
}

/// The `k2cse` binary, with a clean environment for the variables it reads.
pub fn k2cse() -> Command {
    let mut cmd = Command::new(binary("k2cse"));
    cmd.env_remove("K2CSE_CONFIG");
    cmd
}

/// Path of a workspace binary, built on first use, so that `cargo test -p k2cse-tests` works on
/// its own too. Built with `--workspace --bin NAME`: cargo resolves features over the packages a
/// command selects, and `-p NAME` alone would resolve other features than `cargo test
/// --workspace` and compile the binary's whole dependency graph again, once per binary, inside
/// the test run; over the whole workspace the dependencies are the ones already built.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let path = target
        .join("debug")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if built.iter().any(|b| b == name) {
        return path;
    }
    built.push(name.to_owned());
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--workspace", "--bin", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("running cargo build");
    assert!(status.success(), "cargo build --bin {name} failed");
    path
}

/// `text` encoded as UTF-16 with a BOM, little- or big-endian.
pub fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    type Unit = fn(u16) -> [u8; 2];
    let (bom, unit): ([u8; 2], Unit) = if little_endian {
        ([0xFF, 0xFE], u16::to_le_bytes)
    } else {
        ([0xFE, 0xFF], u16::to_be_bytes)
    };
    bom.into_iter()
        .chain(text.encode_utf16().flat_map(unit))
        .collect()
}

/// The sample as text without its BOM.
pub fn sample_text() -> String {
    String::from_utf8(SAMPLE[3..].to_vec()).unwrap()
}

/// The provider declaration of a K2 server (`useOAEP` as given).
pub fn declaration(oaep: bool) -> String {
    format!(
        "  <configProtectedData>\r\n    <providers>\r\n      <add name=\"K2ConfigurationKey\" type=\"System.Configuration.RsaProtectedConfigurationProvider, System.Configuration, Version=2.0.0.0, Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a\" keyContainerName=\"K2ConfigurationKey\" useMachineContainer=\"true\" useOAEP=\"{oaep}\" />\r\n    </providers>\r\n  </configProtectedData>\r\n"
    )
}

/// The sample K2 config with the provider declared, in plain text.
pub fn plain_k2(oaep: bool) -> String {
    sample_text().replacen(
        "  <appSettings>",
        &format!("{}  <appSettings>", declaration(oaep)),
        1,
    )
}

/// Each entry's name and connection string from `k2cse list --json` output.
pub fn listed_entries(list_json: &[u8]) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(list_json)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(list_json)));
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["connection_string"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The connection strings of `config` as k2cse's core reads them, by entry name: what the
/// interop tests compare with .NET's view (`mono::config_view`).
pub fn k2cse_view(config: &Path) -> std::collections::BTreeMap<String, String> {
    k2cse_core::Document::load(config)
        .unwrap()
        .entries()
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.name.as_str().to_owned(),
                e.value.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// The sample config with `n` more EWS entries (about 240 bytes each, named
/// `...ExchangeWebServicesConnection:user00000@denallix.com` on): a file large enough for a
/// save to be interrupted while it runs.
pub fn large_sample(n: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    const EWS: &str = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection";
    let text = String::from_utf8(SAMPLE.to_vec()).unwrap();
    let at = text.find("  </connectionStrings>").unwrap();
    let mut extra = String::new();
    for i in 0..n {
        let _ = write!(
            extra,
            "    <add name=\"{EWS}:user{i:05}@denallix.com\" connectionString=\"Autodiscover=False;OAuth Resource=EWS;OAuth Resource Audience=https://outlook.office365.com;User ID=user{i:05}@denallix.com;Poll Interval=1M\" />\r\n"
        );
    }
    format!("{}{extra}{}", &text[..at], &text[at..]).into_bytes()
}

/// Runs an oracle tool (`openssl`, `xmlsec1`) and returns its standard output; fails the test
/// (never skips it) when the tool is missing or refuses.
pub fn tool(program: &str, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); scripts/setup.sh installs it"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// [`tool`]'s output as text.
pub fn tool_text(program: &str, args: &[&str]) -> String {
    String::from_utf8(tool(program, args)).unwrap()
}

/// Every file under `dir`, in its subfolders too.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Runs a `k2cse ... list --json` command and returns each entry's connection string by
/// name; fails the test when the command fails.
pub fn listed(cmd: &mut Command) -> std::collections::BTreeMap<String, String> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    listed_entries(&out.stdout).into_iter().collect()
}
