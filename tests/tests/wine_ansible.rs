//! The Windows `k2cse_connection_string.exe` under Wine, run as Ansible runs a binary module
//! (the path of a JSON arguments file as its only argument, one JSON object on stdout), against
//! the Linux build of the module as the oracle: the same results, the same bytes written.
//! Ignored by default; `scripts/wine-tests.sh` (a CI step) runs it.
#![allow(clippy::unwrap_used)]
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

use k2cse_core::sample::K2_SAMPLE;
use k2cse_tests::wine::{Wine, stderr, stdout, windows_path};
use serde_json::{Value, json};

const MODULE: &str = "k2cse_connection_string";

/// The Linux build of the module.
fn linux_module() -> PathBuf {
    k2cse_tests::fixtures::binary(MODULE)
}

fn parse(output: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(output)).unwrap_or_else(|e| {
        panic!(
            "not one JSON object ({e}): {}{}",
            stdout(output),
            stderr(output)
        )
    })
}

/// Writes `args` with `path` set to the node's config (as each platform names it) and runs the
/// module on that arguments file: Linux natively, Windows under Wine.
fn run(wine: Option<&Wine>, dir: &Path, mut args: Value) -> Value {
    let config = dir.join("K2HostServer.exe.config");
    let file = dir.join("args.json");
    let output = if let Some(wine) = wine {
        args["path"] = windows_path(&config).into();
        std::fs::write(&file, args.to_string()).unwrap();
        wine.process(&wine.exe(MODULE), dir, &[&windows_path(&file)])
            .output()
            .unwrap()
    } else {
        args["path"] = config.display().to_string().into();
        std::fs::write(&file, args.to_string()).unwrap();
        Command::new(linux_module()).arg(&file).output().unwrap()
    };
    let result = parse(&output);
    let failed = result.get("failed").and_then(Value::as_bool) == Some(true);
    assert_eq!(output.status.success(), !failed, "{result}");
    result
}

/// The result without what names the platform's paths.
fn portable(mut result: Value) -> Value {
    if let Some(map) = result.as_object_mut() {
        for key in ["path", "backup_file", "msg"] {
            map.remove(key);
        }
        if let Some(diff) = map.get_mut("diff").and_then(Value::as_object_mut) {
            diff.remove("before_header");
            diff.remove("after_header");
        }
    }
    result
}

#[test]
#[ignore = "needs Wine and the Windows build: scripts/wine-tests.sh"]
fn the_windows_module_answers_as_the_linux_one() {
    let wine = Wine::from_env();
    assert!(
        wine.exe(MODULE).is_file(),
        "{} is missing: run scripts/wine-tests.sh",
        wine.exe(MODULE).display()
    );
    let linux_dir = tempfile::tempdir().unwrap();
    let windows_dir = tempfile::tempdir().unwrap();
    for dir in [&linux_dir, &windows_dir] {
        std::fs::write(dir.path().join("K2HostServer.exe.config"), K2_SAMPLE).unwrap();
    }
    let smtp = "SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com";
    let steps = [
        // Check mode with a diff: would change, nothing written, the secret masked.
        json!({"name": smtp, "values": {"Port": 25, "Password": "N3w-Secret"},
               "_ansible_check_mode": true, "_ansible_diff": true}),
        // The write, with a backup.
        json!({"name": smtp, "values": {"Port": 25, "Password": "N3w-Secret"}}),
        // Again: no change.
        json!({"name": smtp, "values": {"Port": 25, "Password": "N3w-Secret"}}),
        // A lint error fails.
        json!({"name": "SourceCode.Net.Mail.SmtpConnection", "values": {"TLS": "Ssl"}}),
    ];
    for (i, args) in steps.into_iter().enumerate() {
        let on_linux = run(None, linux_dir.path(), args.clone());
        let on_windows = run(Some(&wine), windows_dir.path(), args);
        assert!(
            !on_windows.to_string().contains("N3w-Secret"),
            "{on_windows}"
        );
        if i == 1 {
            let backup = on_windows["backup_file"].as_str().unwrap();
            assert!(backup.starts_with("Z:\\"), "{on_windows}");
        }
        assert_eq!(
            portable(on_windows.clone()),
            portable(on_linux.clone()),
            "step {i}: Windows {on_windows} vs Linux {on_linux}"
        );
        assert_eq!(
            std::fs::read(windows_dir.path().join("K2HostServer.exe.config")).unwrap(),
            std::fs::read(linux_dir.path().join("K2HostServer.exe.config")).unwrap(),
            "step {i}"
        );
    }
    let backups = |dir: &Path| {
        std::fs::read_dir(dir.join("k2cse-backups"))
            .unwrap()
            .count()
    };
    assert_eq!(backups(windows_dir.path()), 1);
    assert_eq!(backups(linux_dir.path()), 1);
}
