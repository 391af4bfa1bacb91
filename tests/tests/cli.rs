//! End-to-end tests of the `k2cse` binary on realistic K2 configs.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use k2cse_tests::fixtures::{SAMPLE, Scratch, k2cse, sample_text, utf16};
use predicates::prelude::*;
use serde_json::Value;

const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection";
const SMTP_NOTIFY: &str = "SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com";
const EWS_OAUTH: &str =
    "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:k2service@denallix.com";

fn json_of(cmd: &mut assert_cmd::Command) -> Value {
    let out = cmd.output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn list_shows_every_entry_including_unknown_ones() {
    let s = Scratch::sample();
    s.k2cse(&["list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("8 entries"))
        .stdout(predicate::str::contains("SourceCode.Custom.ArchiveStore"))
        .stdout(predicate::str::contains("utf-8-bom, CRLF"));
    let v = json_of(&mut s.k2cse(&["list", "--json"]));
    assert_eq!(v["schema"], "k2cse.list/1");
    assert_eq!(v["config"]["encoding"], "utf-8-bom");
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 8);
    let smtp = entries.iter().find(|e| e["name"] == SMTP_NOTIFY).unwrap();
    assert_eq!(smtp["kind"], "smtp");
    assert_eq!(smtp["entity"], "notifications@denallix.com");
    assert_eq!(smtp["location"]["line"], 20);
    assert_eq!(smtp["location"]["column"], 5);
    let password = smtp["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "Password")
        .unwrap();
    assert_eq!(password["value"], "********");
    assert_eq!(password["secret"], true);
    assert!(
        !v.to_string().contains("S3cret!Pass"),
        "secrets must be masked"
    );
    assert!(
        !v.to_string().contains("9f8e7d6c"),
        "secret-looking keys of unknown entries too"
    );
    let revealed = json_of(&mut s.k2cse(&["list", "--json", "--reveal"]));
    assert!(revealed.to_string().contains("S3cret!Pass"));
    let only_smtp = json_of(&mut s.k2cse(&["list", "--json", "--kind", "smtp"]));
    assert_eq!(only_smtp["entries"].as_array().unwrap().len(), 2);
}

#[test]
fn show_describes_an_entry() {
    let s = Scratch::sample();
    s.k2cse(&["show", &SMTP_NOTIFY.to_uppercase()])
        .assert()
        .success()
        .stdout(predicate::str::contains("SMTP connection"))
        .stdout(predicate::str::contains("Password        ********"))
        .stdout(predicate::str::contains("S3cret").not());
    let v = json_of(&mut s.k2cse(&["show", EWS_OAUTH, "--json"]));
    assert_eq!(v["schema"], "k2cse.show/1");
    assert_eq!(v["entry"]["kind_title"], "Exchange Web Services connection");
    assert!(
        v["entry"]["unset_keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["key"] == "Poll Interval" && k["default"] == "30S")
    );
    assert_eq!(v["findings"][0]["code"], "K2C020");
    s.k2cse(&["show", "SourceCode.Net.Mail"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no entry named \"SourceCode.Net.Mail\"",
        ))
        .stderr(predicate::str::contains("did you mean"));
}

#[test]
fn lint_exit_codes_and_positions() {
    let s = Scratch::sample();
    // The sample has warnings (EWS to Exchange Online, SMTP AUTH Basic) but no errors — as of
    // a pinned day: the dated rules turn some into errors later.
    s.k2cse(&["lint", "--today", "2026-11-28"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("warning[K2C020]"));
    s.k2cse(&["lint", "--strict", "--today", "2026-11-28"])
        .assert()
        .code(3);
    let broken = sample_text().replace("Port=25;", "Port=0;").replace(
        "connectionString=\"Integrated=True",
        "connectionString=\"\" oops=\"Integrated=True",
    );
    let b = Scratch::with(broken.as_bytes());
    let out = b
        .k2cse(&["lint"])
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("K2HostServer.exe.config:19:5: error[K2C030]"),
        "{out}"
    );
    assert!(
        out.contains("Value cannot be null. Parameter name: connectionString"),
        "{out}"
    );
    assert!(out.contains("error[K2C006]"), "{out}");
    let v = json_of(&mut b.k2cse(&["lint", "--json"]));
    assert_eq!(v["schema"], "k2cse.lint/1");
    assert!(v["summary"]["error"].as_u64().unwrap() >= 3);
    k2cse()
        .args(["lint", "--rules"])
        .assert()
        .success()
        .stdout(predicate::str::contains("K2C020  warning"));
}

#[test]
fn set_changes_only_the_value_and_keeps_a_backup() {
    let s = Scratch::sample();
    s.k2cse(&["set", SMTP, "Port=587", "TLS=BootTls"])
        .assert()
        .success()
        .stdout(predicate::str::contains("backup:"));
    let expected = sample_text().replacen("Port=25;TLS=StartTls", "Port=587;TLS=BootTls", 1);
    assert_eq!(
        s.bytes(),
        [b"\xEF\xBB\xBF".as_slice(), expected.as_bytes()].concat()
    );
    let others = s.others();
    assert_eq!(
        others.len(),
        1,
        "the backup folder, no temp files: {others:?}"
    );
    let backups = s.backups();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let backup = k2cse_core::backup::open(&backups[0], None).unwrap();
    assert_eq!(backup.files().next().unwrap().1, SAMPLE);
    assert_eq!(backup.manifest().reason, "before k2cse set");
    s.k2cse(&["set", SMTP, "Port=25", "--no-backup"])
        .assert()
        .success();
    assert_eq!(s.backups().len(), 1);
}

#[test]
fn dry_run_prints_a_masked_diff_and_writes_nothing() {
    let s = Scratch::sample();
    let out = s
        .k2cse(&["set", SMTP_NOTIFY, "Password=N3w!", "--dry-run"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains(
            "-    <add name=\"SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com\""
        ),
        "{out}"
    );
    assert!(out.contains("Password=******** (changed)"), "{out}");
    assert!(
        !out.contains("N3w!") && !out.contains("S3cret!Pass"),
        "{out}"
    );
    assert!(out.contains("dry run: nothing written"));
    assert_eq!(s.bytes(), SAMPLE);
    assert!(s.others().is_empty());
    let v = json_of(&mut s.k2cse(&[
        "--reveal",
        "--json",
        "set",
        SMTP_NOTIFY,
        "Password=N3w!",
        "--dry-run",
    ]));
    assert_eq!(v["schema"], "k2cse.write/1");
    assert_eq!(v["dry_run"], true);
    assert!(v["diff"].as_str().unwrap().contains("Password=N3w!"));
}

#[test]
fn a_change_that_breaks_k2_is_refused_unless_forced() {
    let s = Scratch::sample();
    s.k2cse(&["set", SMTP, "Port=99999"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("K2C030"))
        .stderr(predicate::str::contains("nothing was written"));
    assert_eq!(s.bytes(), SAMPLE);
    s.k2cse(&["set", SMTP, "Port=99999", "--force"])
        .assert()
        .success();
    assert!(s.text().contains("Port=99999;"));
    // Existing problems do not block unrelated edits.
    s.k2cse(&["set", SMTP_NOTIFY, "Port=2525"])
        .assert()
        .success();
}

#[test]
fn add_rename_unset_replace_remove() {
    let s = Scratch::sample();
    let hr = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:hr@denallix.com";
    s.k2cse(&[
        "add",
        hr,
        "Autodiscover=False",
        "OAuth Resource=EWS",
        "OAuth Resource Audience=https://outlook.office365.com",
        "User ID=hr@denallix.com",
    ])
    .assert()
    .success()
    .stdout(predicate::str::contains("new: ").and(predicate::str::contains("warning[K2C020]")));
    assert!(s.text().contains(&format!("\r\n    <add name=\"{hr}\" connectionString=\"Autodiscover=False;OAuth Resource=EWS;OAuth Resource Audience=https://outlook.office365.com;User ID=hr@denallix.com\" />\r\n  </connectionStrings>")));
    s.k2cse(&["add", hr])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
    let hr2 = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:people@denallix.com";
    s.k2cse(&["rename", hr, hr2, "--force"]).assert().success();
    s.k2cse(&["set", hr2, "User ID=people@denallix.com"])
        .assert()
        .success();
    s.k2cse(&["unset", hr2, "oauth resource", "OAUTH RESOURCE AUDIENCE"])
        .assert()
        .success();
    assert!(
        s.text()
            .contains("connectionString=\"Autodiscover=False;User ID=people@denallix.com\"")
    );
    s.k2cse(&["replace", hr2, "Autodiscover=True"])
        .assert()
        .success();
    s.k2cse(&["remove", hr2]).assert().success();
    s.k2cse(&["remove", hr2]).assert().code(1);
    // Everything undone: the file is the sample again, byte for byte.
    assert_eq!(s.bytes(), SAMPLE);
}

#[test]
fn apply_is_all_or_nothing() {
    let s = Scratch::sample();
    let batch = s.dir.path().join("changes.toml");
    std::fs::write(&batch, format!("[[change]]\nop = \"set\"\nname = \"{SMTP}\"\nvalues = {{ Port = 587 }}\n\n[[change]]\nop = \"remove\"\nname = \"no such entry\"\n")).unwrap();
    s.k2cse(&["apply", batch.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no such entry"));
    assert_eq!(
        s.bytes(),
        SAMPLE,
        "the first change must not be written alone"
    );
    let json = s.dir.path().join("changes.json");
    std::fs::write(&json, format!(r#"[{{"op":"set","name":"{SMTP}","values":{{"Port":587,"TLS":"BootTls"}}}},{{"op":"remove","name":"SourceCode.Custom.ArchiveStore"}}]"#)).unwrap();
    let v = json_of(&mut s.k2cse(&["apply", json.to_str().unwrap(), "--json"]));
    assert_eq!(v["changed"], true);
    assert_eq!(
        v["files"][0]["backup"]
            .as_str()
            .map(|b| b.contains("k2cse-backups")
                && b.contains("-automatic.")
                && b.ends_with(".k2cse.tar")),
        Some(true)
    );
    assert!(s.text().contains("Port=587;TLS=BootTls") && !s.text().contains("ArchiveStore"));
}

#[test]
fn utf16_files_stay_utf16() {
    for le in [true, false] {
        let text = sample_text().replace("encoding=\"utf-8\"", "encoding=\"utf-16\"");
        let s = Scratch::with(&utf16(&text, le));
        s.k2cse(&["set", SMTP, "Host Name=relay.denallix.com"])
            .assert()
            .success();
        assert_eq!(
            s.bytes(),
            utf16(
                &text.replacen("smtp.denallix.com", "relay.denallix.com", 1),
                le
            )
        );
        s.k2cse(&["list"])
            .assert()
            .success()
            .stdout(predicate::str::contains(if le {
                "utf-16le"
            } else {
                "utf-16be"
            }));
    }
}

#[test]
fn config_discovery_and_errors() {
    let s = Scratch::sample();
    // Without --config, ./K2HostServer.exe.config is used.
    k2cse()
        .current_dir(s.dir.path())
        .arg("list")
        .assert()
        .success()
        .stdout(predicate::str::contains("8 entries"));
    k2cse()
        .current_dir(s.dir.path())
        .env("K2CSE_CONFIG", &s.config)
        .arg("list")
        .assert()
        .success();
    let empty = tempfile::tempdir().unwrap();
    k2cse()
        .current_dir(empty.path())
        .arg("list")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no K2 config file found"))
        .stderr(predicate::str::contains("K2HostServer.config"));
    let bad = Scratch::with(b"<configuration>\r\n  <connectionStrings>\r\n    <add name=\"a\" connectionString=\"x\">\r\n  </connectionStrings>\r\n</configuration>");
    bad.k2cse(&["list"]).assert().code(1).stderr(predicate::str::contains("K2HostServer.exe.config:4:3: end tag </connectionStrings> does not match <add> opened at 3:5"));
}

#[test]
fn protected_sections_are_reported() {
    let text = "<configuration>\r\n  <connectionStrings configProtectionProvider=\"K2ConfigurationKey\">\r\n    <EncryptedData><CipherData><CipherValue>AAAA</CipherValue></CipherData></EncryptedData>\r\n  </connectionStrings>\r\n</configuration>\r\n";
    let s = Scratch::with(text.as_bytes());
    // Nothing could be listed: exit 3, so a scheduled check does not look green.
    s.k2cse(&["list"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "the section is encrypted with provider \"K2ConfigurationKey\"; its entries cannot be read",
        ));
    let v = json_of(&mut s.k2cse(&["list", "--json"]));
    assert_eq!(v["config"]["protected"]["provider"], "K2ConfigurationKey");
    s.k2cse(&["set", "HostserverDB", "Pooling=False"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "K2HostServer.exe.config:2:3: the connectionStrings section is encrypted",
        ));
    assert_eq!(s.bytes(), text.as_bytes());
}

#[test]
fn usage_errors_exit_2() {
    let s = Scratch::sample();
    s.k2cse(&["set", SMTP, "Port"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not KEY=VALUE"));
    s.k2cse(&["frobnicate"]).assert().code(2);
    s.k2cse(&["list", "--kind", "fax"]).assert().code(2);
    let v = json_of(&mut s.k2cse(&["--json", "show", "nope"]));
    assert_eq!(v["schema"], "k2cse.error/1");
    assert_eq!(v["error"]["exit_code"], 1);
}

#[test]
fn secrets_from_stdin() {
    let s = Scratch::sample();
    s.k2cse(&["set", SMTP_NOTIFY, "--stdin", "Password"])
        .write_stdin("from stdin;\n")
        .assert()
        .success();
    assert!(
        s.text().contains("Password=&quot;from stdin;&quot;\" />"),
        "{}",
        s.text()
    );
}

#[test]
fn help_completions_and_demo() {
    k2cse()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Exit codes: 0 ok, 1 error, 2 usage error, 3 lint errors",
        ));
    k2cse()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("k2cse"));
    k2cse()
        .arg("demo")
        .assert()
        .success()
        .stdout(predicate::str::contains("==> k2cse lint"))
        .stdout(predicate::str::contains("Port=587;TLS=BootTls"));
    k2cse()
        .args(["--demo", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("8 entries"));
}
