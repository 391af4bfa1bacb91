//! Encrypted sections, honestly: without the key nothing looks green, damaged data is called
//! damaged, messages name the provider's real key container, and key files come in the forms
//! admins produce.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::path::{Path, PathBuf};

use k2cse_tests::fixtures::{Scratch, listed_entries, plain_k2};
use predicates::prelude::*;

fn key() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/keys/k2-test-key.xml")
        .to_str()
        .unwrap()
        .to_owned()
}

/// The sample K2 config, encrypted by k2cse with the test key (container `K2ConfigurationKey`).
fn encrypted(oaep: bool) -> Scratch {
    let s = Scratch::with(plain_k2(oaep).as_bytes());
    s.k2cse(&["-k", &key(), "protect", "--no-backup"])
        .assert()
        .success()
        // Off the server, protect says the server's container must hold this key.
        .stderr(
            predicate::str::contains("K2ConfigurationKey")
                .and(predicate::str::contains("cannot start")),
        );
    s
}

#[test]
fn without_the_key_list_lint_and_show_do_not_look_green() {
    let s = encrypted(false);
    let export = "aspnet_regiis -px \"K2ConfigurationKey\" key.xml -pri";
    s.k2cse(&["lint"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("error[K2C051]").and(predicate::str::contains(export)));
    s.k2cse(&["list"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(export));
    s.k2cse(&["--json", "list"]).assert().code(3);
    s.k2cse(&["show", "HostserverDB"]).assert().code(1).stderr(
        predicate::str::contains("without its key")
            .and(predicate::str::contains(export))
            .and(predicate::str::contains("no entry named").not()),
    );
    // With the key all is well.
    s.k2cse(&["-k", &key(), "show", "HostserverDB"])
        .assert()
        .success();
}

/// Replaces one base64 character of the section's data `CipherValue` (the second one; the
/// first holds the session key), `from_end` characters before its end.
fn damage(s: &Scratch, from_end: usize) {
    let text = s.text();
    let second = text.match_indices("<CipherValue>").nth(1).unwrap().0 + "<CipherValue>".len();
    let end = second + text[second..].find("</CipherValue>").unwrap();
    let at = end - from_end;
    let old = text.as_bytes()[at];
    let new = if old == b'A' { 'B' } else { 'A' };
    let mut damaged = text.clone();
    damaged.replace_range(at..=at, &new.to_string());
    std::fs::write(&s.config, damaged).unwrap();
}

#[test]
fn damaged_cipher_data_is_reported_as_damaged_not_as_a_wrong_key() {
    // The last block holds the padding: damage there breaks it.
    let s = encrypted(false);
    damage(&s, 6);
    s.k2cse(&["-k", &key(), "list"]).assert().code(1).stderr(
        predicate::str::contains("damaged").and(predicate::str::contains("wrong key").not()),
    );
    // A cipher value cut short is damaged whatever the key.
    let t = encrypted(false);
    let text = t.text();
    let second = text.match_indices("<CipherValue>").nth(1).unwrap().0 + "<CipherValue>".len();
    std::fs::write(
        &t.config,
        format!("{}{}", &text[..second + 8], &text[second + 12..]),
    )
    .unwrap();
    t.k2cse(&["-k", &key(), "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("damaged"));
}

#[test]
fn a_utf16_rsakeyvalue_file_is_accepted() {
    let s = encrypted(false);
    let xml = std::fs::read_to_string(key()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let utf16: PathBuf = dir.path().join("key-utf16.xml");
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(xml.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(&utf16, bytes).unwrap();
    let list = |k: &str| {
        let out = s.k2cse(&["-k", k, "--json", "list"]).assert().success();
        listed_entries(&out.get_output().stdout)
    };
    assert_eq!(list(utf16.to_str().unwrap()), list(&key()));
}

#[test]
fn a_provider_with_use_oaep_true_is_warned_about() {
    let s = encrypted(true);
    s.k2cse(&["-k", &key(), "lint", "--today", "2026-11-28"])
        .assert()
        .stdout(predicate::str::contains("warning[K2C052]"));
    let plain = Scratch::with(
        plain_k2(false)
            .replace("useOAEP=\"false\"", "useOAEP=\"True\"")
            .as_bytes(),
    );
    // .NET accepts only "true"/"false" for the provider's flags.
    plain
        .k2cse(&["-k", &key(), "protect", "--no-backup"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("useOAEP"));
}
