//! Compiling and running the C# oracles in `tests/oracle` with Mono.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest as _, Sha256};

/// Assemblies the oracles may reference.
const REFERENCES: &[&str] = &[
    "System.Configuration",
    "System.Data",
    "System.Security",
    "System.Xml",
];

/// Compiles `tests/oracle/<name>.cs` once (cached by content hash) and returns the `.exe`.
pub fn oracle(name: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("oracle")
        .join(format!("{name}.cs"));
    let code = std::fs::read(&source).unwrap_or_else(|e| panic!("read {}: {e}", source.display()));
    let hash = hex(&Sha256::digest(&code)[..8]);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/k2cse-oracles");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join(format!("{name}-{hash}.exe"));
    if exe.exists() {
        return exe;
    }
    // Compile to a private name first: tests run in parallel and may race to build it.
    let tmp = tempfile::Builder::new()
        .suffix(".exe")
        .tempfile_in(&dir)
        .unwrap()
        .into_temp_path();
    let mut cmd = Command::new("mcs");
    cmd.arg(format!("-out:{}", tmp.display())).arg("-nologo");
    for r in REFERENCES {
        cmd.arg(format!("-r:{r}"));
    }
    let out = cmd
        .arg(&source)
        .output()
        .unwrap_or_else(|e| missing_mono("mcs", &e));
    assert!(
        out.status.success(),
        "mcs failed:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    tmp.persist(&exe).unwrap();
    exe
}

/// Runs an oracle with `args`, feeding `stdin`; returns stdout, panicking on failure.
pub fn run(exe: &Path, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new("mono")
        .arg(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| missing_mono("mono", &e));
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_owned();
    let writer = std::thread::spawn(move || input.write_all(data.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "oracle {} failed: {}\n{}",
        exe.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn missing_mono(tool: &str, err: &std::io::Error) -> ! {
    panic!(
        "cannot run `{tool}` ({err}). The interop tests need Mono's .NET class library: \
         run scripts/setup.sh (Debian: apt-get install mono-mcs mono-runtime \
         libmono-system-configuration4.0-cil libmono-system-data4.0-cil \
         libmono-system-security4.0-cil libmono-system-xml4.0-cil)"
    )
}

/// Lower-case hex of `bytes`; `-` for none (keeps the line protocol free of empty fields).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    if bytes.is_empty() {
        return "-".to_owned();
    }
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The inverse of [`hex`], as UTF-8 text.
pub fn unhex(text: &str) -> String {
    if text == "-" {
        return String::new();
    }
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect();
    String::from_utf8(bytes).unwrap()
}

/// A private copy of an oracle with its own `.exe.config` and its own `HOME` (where Mono keeps
/// key containers), so tests that install keys or declare providers do not meet each other.
#[derive(Debug)]
pub struct Sandbox {
    /// The sandbox folder (`HOME` of the oracle).
    pub dir: tempfile::TempDir,
    exe: PathBuf,
}

impl Sandbox {
    /// Copies oracle `name` into a new sandbox, with `exe_config` as its `.exe.config`.
    pub fn new(name: &str, exe_config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join(format!("{name}.exe"));
        std::fs::copy(oracle(name), &exe).unwrap();
        std::fs::write(dir.path().join(format!("{name}.exe.config")), exe_config).unwrap();
        Self { dir, exe }
    }

    /// Runs the oracle with `HOME` set to the sandbox: its stdout, or its stderr on failure.
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("mono")
            .arg(&self.exe)
            .args(args)
            .env("HOME", self.dir.path())
            .output()
            .unwrap_or_else(|e| missing_mono("mono", &e));
        if out.status.success() {
            Ok(String::from_utf8(out.stdout).unwrap())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

/// Connection strings of `config` as .NET's `System.Configuration` reads them (the
/// `ConfigReader` oracle), machine.config's `LocalSql*` defaults left out; or .NET's error
/// when it refuses the file.
pub fn config_view(config: &Path) -> Result<std::collections::BTreeMap<String, String>, String> {
    let out = Command::new("mono")
        .arg(oracle("ConfigReader"))
        .arg(config)
        .output()
        .unwrap_or_else(|e| missing_mono("mono", &e));
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(parse_view(&String::from_utf8(out.stdout).unwrap()))
}

/// The connection strings in the `ConfigReader` oracle's output (`hex(name) hex(value)` a
/// line), machine.config's `LocalSql...` defaults left out.
pub fn parse_view<C: FromIterator<(String, String)>>(out: &str) -> C {
    out.lines()
        .map(|l| {
            let (name, value) = l.split_once(' ').unwrap();
            (unhex(name), unhex(value))
        })
        .filter(|(name, _)| !name.starts_with("LocalSql"))
        .collect()
}
