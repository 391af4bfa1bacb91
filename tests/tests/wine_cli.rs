//! The Windows `k2cse.exe` under Wine, against the Linux build as the oracle: the same
//! listings, the same edited bytes, and the Windows-only features for real — a `CryptoAPI` key
//! container, DPAPI, Credential Manager, the K2 service in the registry, `ReplaceFileW` saves.
//! Ignored by default; `scripts/wine-tests.sh` (a CI step) runs them.
#![allow(clippy::unwrap_used)]
// Wine runs on a Unix host; on Windows the programs run natively and the other suites cover them.
#![cfg(unix)]

use std::path::{Path, PathBuf};

use k2cse_core::protect::RsaKey;
use k2cse_tests::fixtures::{SAMPLE, Scratch, fixture, k2cse, listed_entries, plain_k2};
use k2cse_tests::wine::{Wine, stderr, stdout, windows_path};
use serde_json::Value;

const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection";
const CONFIG: &str = "K2HostServer.exe.config";

fn key_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/keys")
        .join(name)
}

/// `k2cse ARGS` (Linux build) in `dir`, with the config named relative to it as Windows is.
fn linux(dir: &Path, args: &[&str]) -> std::process::Output {
    k2cse()
        .current_dir(dir)
        .env("K2CSE_KEYRING", "mock")
        .args(["--config", CONFIG])
        .args(args)
        .output()
        .unwrap()
}

/// `k2cse.exe --config K2HostServer.exe.config ARGS` under Wine in `dir`.
fn windows(wine: &Wine, dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--config", CONFIG];
    all.extend_from_slice(args);
    wine.k2cse(dir, &all).output().unwrap()
}

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(output), stderr(output)))
}

/// Each entry's name and connection string (lines differ once the section is encrypted).
fn entries(output: &std::process::Output) -> Vec<(String, String)> {
    listed_entries(&output.stdout)
}

fn ok(output: std::process::Output) -> std::process::Output {
    assert!(
        output.status.success(),
        "exit {:?}\n{}{}",
        output.status.code(),
        stdout(&output),
        stderr(&output)
    );
    output
}

#[test]
#[ignore = "needs Wine: scripts/wine-tests.sh"]
fn the_windows_build_lists_edits_and_lints_like_the_linux_build() {
    let wine = Wine::from_env();
    for bytes in [
        SAMPLE.to_vec(),
        fixture("blackpearl-4.7.config"),
        fixture("k2five-utf16le.config"),
    ] {
        let (on_linux, on_windows) = (Scratch::with(&bytes), Scratch::with(&bytes));
        let (l, w) = (on_linux.dir.path(), on_windows.dir.path());
        assert_eq!(
            stdout(&ok(windows(&wine, w, &["--json", "list"]))),
            stdout(&ok(linux(l, &["--json", "list"])))
        );
        let lint_l = linux(l, &["--json", "lint"]);
        let lint_w = windows(&wine, w, &["--json", "lint"]);
        assert_eq!(lint_w.status.code(), lint_l.status.code());
        assert_eq!(stdout(&lint_w), stdout(&lint_l));
        let edit = [
            "set",
            "HostserverDB",
            "Connect Timeout=45",
            "Max Pool Size=300",
        ];
        ok(linux(l, &edit));
        ok(windows(&wine, w, &edit));
        assert_eq!(
            on_windows.bytes(),
            on_linux.bytes(),
            "same edit, same bytes"
        );
        assert_ne!(on_windows.bytes(), bytes);
        // The backup folder's owner-only DACL, as Wine maps it onto Unix permissions: nothing
        // for "others" (a folder made without it gets the umask's r-x).
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(w.join("k2cse-backups"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o007, 0, "k2cse-backups is {mode:o}");
        // The Windows save left an automatic backup the Linux build verifies.
        // Named: `latest` means the newest backup of this config as the Linux build names it,
        // and the Windows build tagged its backups from its own (Z:\...) path.
        let newest = newest_backup(&w.join("k2cse-backups"));
        let verify = ok(linux(w, &["backup", "verify", &newest]));
        assert!(stdout(&verify).contains("unaltered"), "{}", stdout(&verify));
    }
}

#[test]
#[ignore = "needs Wine: scripts/wine-tests.sh"]
fn the_release_exes_need_only_dlls_windows_ships_and_the_gui_opens_no_console() {
    let wine = Wine::from_env();
    // System DLLs of Windows 10 / Server 2016 and later; no compiler runtime (libgcc,
    // libwinpthread, vcruntime) may appear.
    let system = [
        "advapi32.dll",
        "api-ms-win-core-synch-l1-2-0.dll",
        "bcrypt.dll",
        "bcryptprimitives.dll",
        "combase.dll",
        "crypt32.dll",
        "dwmapi.dll",
        "dxgi.dll",
        "gdi32.dll",
        "imm32.dll",
        "kernel32.dll",
        "msvcrt.dll",
        "ncrypt.dll",
        "ntdll.dll",
        "ole32.dll",
        "oleaut32.dll",
        "opengl32.dll",
        "propsys.dll",
        "secur32.dll",
        "setupapi.dll",
        "shell32.dll",
        "shlwapi.dll",
        "uiautomationcore.dll",
        "user32.dll",
        "userenv.dll",
        "uxtheme.dll",
        "winmm.dll",
        "ws2_32.dll",
        "d3d12.dll",
        "d3dcompiler_47.dll",
        "dwrite.dll",
    ];
    for name in ["k2cse", "k2cse-gui"] {
        let dump = std::process::Command::new("x86_64-w64-mingw32-objdump")
            .arg("-p")
            .arg(wine.exe(name))
            .output()
            .unwrap();
        assert!(dump.status.success(), "objdump failed on {name}.exe");
        let imports: Vec<String> = stdout(&dump)
            .lines()
            .filter_map(|l| l.trim().strip_prefix("DLL Name: "))
            .map(str::to_ascii_lowercase)
            .collect();
        assert!(imports.contains(&"kernel32.dll".to_owned()), "{imports:?}");
        // The CLI is a console program; the GUI a Windows-subsystem one (no console window).
        let subsystem = if name == "k2cse" {
            "(Windows CUI)"
        } else {
            "(Windows GUI)"
        };
        assert!(
            stdout(&dump)
                .lines()
                .any(|l| l.starts_with("Subsystem") && l.ends_with(subsystem)),
            "{name}.exe is not a {subsystem} program"
        );
        for dll in &imports {
            assert!(system.contains(&dll.as_str()), "{name}.exe imports {dll}");
        }
    }
}

#[test]
#[ignore = "needs Wine: scripts/wine-tests.sh"]
fn a_key_imported_into_a_cryptoapi_container_encrypts_and_decrypts_the_section() {
    let wine = Wine::from_env();
    let container = "k2cse-wine-test";
    let key = key_path("k2-test-key.xml");
    let fingerprint = RsaKey::from_file(&key).unwrap().fingerprint();
    let anywhere = tempfile::tempdir().unwrap();
    let import = |file: &Path, extra: &[&str]| {
        let file = windows_path(file);
        let mut args = vec!["key", "import", "--container", container, file.as_str()];
        args.extend_from_slice(extra);
        wine.k2cse(anywhere.path(), &args).output().unwrap()
    };
    let first = stdout(&ok(import(&key, &["--replace"])));
    assert!(first.contains(&fingerprint), "{first}");
    let again = stdout(&ok(import(&key, &[])));
    assert!(again.contains("already holds"), "{again}");
    let other = import(&key_path("other-key.xml"), &[]);
    assert!(!other.status.success());
    assert!(
        stderr(&other).contains("already exists with a different key"),
        "{}",
        stderr(&other)
    );

    for oaep in [false, true] {
        let plain = plain_k2(oaep).replace(
            "keyContainerName=\"K2ConfigurationKey\"",
            &format!("keyContainerName=\"{container}\""),
        );
        let s = Scratch::with(plain.as_bytes());
        let dir = s.dir.path();
        let before = entries(&ok(linux(dir, &["--json", "list"])));
        // Encrypted on "Windows" with the container, no key file anywhere...
        ok(windows(&wine, dir, &["protect", "--plaintext-backup"]));
        let text = s.text();
        assert!(text.contains("<EncryptedData"), "{text}");
        assert!(!text.contains("smtp.office365.com"));
        // ...decrypted on Linux with the exported key file...
        let key_arg = key.to_str().unwrap();
        let listed = ok(linux(dir, &["--key-file", key_arg, "--json", "list"]));
        assert_eq!(entries(&listed), before);
        ok(linux(
            dir,
            &["--key-file", key_arg, "set", SMTP, "Port=2525"],
        ));
        // ...and what Linux encrypted opens on "Windows" with the container.
        let shown = ok(windows(&wine, dir, &["--json", "show", SMTP]));
        assert!(stdout(&shown).contains("2525"), "{}", stdout(&shown));
    }

    let exported = anywhere.path().join("exported.xml");
    let out = windows_path(&exported);
    ok(wine
        .k2cse(
            anywhere.path(),
            &["key", "export", "--container", container, "--to", &out],
        )
        .output()
        .unwrap());
    let back = RsaKey::from_file(&exported).unwrap();
    assert!(back.has_private());
    assert_eq!(back.fingerprint(), fingerprint);

    let missing = wine
        .k2cse(
            anywhere.path(),
            &[
                "key",
                "export",
                "--container",
                "k2cse-no-such",
                "--to",
                &out,
            ],
        )
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("does not exist on this machine"),
        "{}",
        stderr(&missing)
    );
}

#[test]
#[ignore = "needs Wine: scripts/wine-tests.sh"]
fn a_dpapi_protected_section_round_trips() {
    let wine = Wine::from_env();
    let s = Scratch::sample();
    let dir = s.dir.path();
    let before = entries(&ok(linux(dir, &["--json", "list"])));
    ok(windows(
        &wine,
        dir,
        &[
            "protect",
            "--plaintext-backup",
            "--provider",
            "DataProtectionConfigurationProvider",
        ],
    ));
    let text = s.text();
    assert!(text.contains("configProtectionProvider=\"DataProtectionConfigurationProvider\""));
    assert!(text.contains("<CipherValue>") && !text.contains("smtp.office365.com"));
    assert_eq!(
        entries(&ok(windows(&wine, dir, &["--json", "list"]))),
        before
    );
    // An edit keeps the section encrypted; unprotect gives the edited plain text back.
    ok(windows(&wine, dir, &["set", SMTP, "Port=2525"]));
    assert!(!s.text().contains("Port=2525"));
    ok(windows(&wine, dir, &["unprotect"]));
    assert!(
        s.text().contains("Host Name=smtp.denallix.com;Port=2525"),
        "{}",
        s.text()
    );
    // DPAPI keys never leave the machine: the Linux build says so.
    ok(windows(
        &wine,
        dir,
        &[
            "protect",
            "--plaintext-backup",
            "--provider",
            "DataProtectionConfigurationProvider",
        ],
    ));
    let elsewhere = linux(dir, &["list"]);
    assert!(!elsewhere.status.success());
    assert!(
        stderr(&elsewhere).contains("DPAPI"),
        "{}",
        stderr(&elsewhere)
    );
}

#[test]
#[ignore = "needs Wine: scripts/wine-tests.sh"]
fn secrets_live_in_the_windows_credential_manager() {
    let wine = Wine::from_env();
    let s = Scratch::sample();
    let dir = s.dir.path();
    let status = || stdout(&ok(windows(&wine, dir, &["secret", "status"])));
    let line = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("backup-passphrase"))
            .unwrap_or_default()
            .to_owned()
    };
    // A run stopped halfway may have left the secret behind; this one removes it in any case,
    // or every later save in the prefix would make encrypted backups.
    let forget = || windows(&wine, dir, &["secret", "delete", "backup-passphrase"]);
    let _ = forget();
    let _cleanup = Finally(forget);
    let before = status();
    assert!(before.contains("Windows Credential Manager"), "{before}");
    assert!(line(&before).ends_with("not stored"), "{before}");
    let mut set = wine.k2cse(
        dir,
        &[
            "--config",
            CONFIG,
            "secret",
            "set",
            "backup-passphrase",
            "--stdin",
        ],
    );
    ok(set.write_stdin("wine-s3cret\n").output().unwrap());
    assert!(!line(&status()).ends_with("not stored"), "{}", status());
    // The stored passphrase encrypts the automatic backup of the next save.
    ok(windows(&wine, dir, &["set", SMTP, "Port=2525"]));
    let backups = s.backups();
    assert!(
        backups[0].to_string_lossy().ends_with(".age"),
        "{backups:?}"
    );
    let verify = |passphrase: &str| {
        k2cse()
            .current_dir(dir)
            .env("K2CSE_KEYRING", "mock")
            .env("K2CSE_BACKUP_PASSPHRASE", passphrase)
            .args(["--config", CONFIG, "backup", "verify"])
            .arg(newest_backup(&dir.join("k2cse-backups")))
            .output()
            .unwrap()
    };
    ok(verify("wine-s3cret"));
    assert!(!verify("wrong").status.success());
    ok(windows(
        &wine,
        dir,
        &["secret", "delete", "backup-passphrase"],
    ));
    assert!(line(&status()).ends_with("not stored"), "{}", status());
}

/// Runs a closure when dropped, also when the test fails.
struct Finally<F: Fn() -> std::process::Output>(F);

impl<F: Fn() -> std::process::Output> Drop for Finally<F> {
    fn drop(&mut self) {
        let _ = (self.0)();
    }
}

/// Removes the fake K2 service from Wine's registry, also when the test fails.
struct ServiceKey<'a>(&'a Wine, &'static str);

impl Drop for ServiceKey<'_> {
    fn drop(&mut self) {
        let _ = self.0.reg(&["delete", self.1, "/f"]).output();
    }
}

#[test]
#[ignore = "needs Wine: scripts/wine-tests.sh"]
fn finds_the_config_through_the_k2_service_registration() {
    let wine = Wine::from_env();
    let install = tempfile::tempdir().unwrap();
    let bin = install
        .path()
        .join("K2 Five")
        .join("Host Server")
        .join("Bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join(CONFIG), SAMPLE).unwrap();
    let key = r"HKLM\SYSTEM\CurrentControlSet\Services\K2 Server";
    let _cleanup = ServiceKey(&wine, key);
    let image = format!("\"{}\\K2HostServer.exe\" -service", windows_path(&bin));
    ok(wine
        .reg(&[
            "add",
            key,
            "/v",
            "ImagePath",
            "/t",
            "REG_EXPAND_SZ",
            "/d",
            &image,
            "/f",
        ])
        .output()
        .unwrap());
    // No --config, and the current folder has none: the service's folder is used.
    let elsewhere = tempfile::tempdir().unwrap();
    let listed = ok(wine
        .k2cse(elsewhere.path(), &["--json", "list"])
        .output()
        .unwrap());
    let path = json(&listed)["config"]["path"].as_str().unwrap().to_owned();
    assert_eq!(
        path.to_ascii_lowercase(),
        windows_path(&bin.join(CONFIG)).to_ascii_lowercase()
    );
    assert_eq!(json(&listed)["entries"].as_array().unwrap().len(), 8);
}

/// The newest backup archive in `dir` (names start with their UTC time).
fn newest_backup(dir: &std::path::Path) -> String {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().contains(".k2cse.tar"))
        .max()
        .unwrap()
        .display()
        .to_string()
}
