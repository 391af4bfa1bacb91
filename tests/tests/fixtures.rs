//! Realistic configs from different K2 generations, end to end: k2cse reads them, edits them
//! minimally, and .NET reads the result.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use k2cse_tests::fixtures::{Scratch, fixture};
use k2cse_tests::mono;
use predicates::prelude::*;

/// What .NET's `ConfigurationManager` sees (machine.config defaults left out).
fn dotnet(s: &Scratch) -> Vec<(String, String)> {
    mono::parse_view(&mono::run(
        &mono::oracle("ConfigReader"),
        &[s.config.to_str().unwrap()],
        "",
    ))
}

#[test]
fn blackpearl_config_with_tabs_single_quotes_clear_and_remove() {
    let original = fixture("blackpearl-4.7.config");
    let s = Scratch::with(&original);
    let list: serde_json::Value =
        serde_json::from_slice(&s.k2cse(&["list", "--json"]).output().unwrap().stdout).unwrap();
    let names: Vec<&str> = list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    // `Legacy` is added, then removed: .NET does not see it, nor does k2cse.
    assert_eq!(
        names,
        [
            "HostserverDB",
            "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:smartactions@denallix.com",
            "SourceCode.Net.Mail.SmtpConnection",
            "SourceCode.Workflow.Reporting"
        ]
    );
    s.k2cse(&["lint", "--today", "2026-11-28"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "warning[K2C005] shadowed-entry [Legacy]",
        ));
    s.k2cse(&[
        "set",
        "SourceCode.Net.Mail.SmtpConnection",
        "Tls=StartTls",
        "Port=587",
    ])
    .assert()
    .success();
    s.k2cse(&[
        "add",
        "SourceCode.Net.Mail.SmtpConnection:ops@denallix.com",
        "Host Name=mail.denallix.com",
    ])
    .assert()
    .success();
    let text = String::from_utf8(original).unwrap();
    let expected = text
        .replace("Port=25;Tls=None", "Port=587;Tls=StartTls")
        .replace(
            "Trusted_Connection=yes'/>",
            "Trusted_Connection=yes'/>\n\t\t<add name='SourceCode.Net.Mail.SmtpConnection:ops@denallix.com' connectionString='Host Name=mail.denallix.com'/>",
        );
    assert_eq!(s.text(), expected);
    let seen = dotnet(&s);
    assert_eq!(seen.len(), 5);
    assert!(seen.contains(&(
        "SourceCode.Net.Mail.SmtpConnection".into(),
        "Host Name=mail.denallix.com;Port=587;Tls=StartTls;Authentication=Windows".into()
    )));
    assert!(seen.contains(&(
        "SourceCode.Net.Mail.SmtpConnection:ops@denallix.com".into(),
        "Host Name=mail.denallix.com".into()
    )));
}

#[test]
fn k2_five_utf16_config() {
    let original = fixture("k2five-utf16le.config");
    let s = Scratch::with(&original);
    s.k2cse(&["list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("utf-16le, CRLF): 8 entries"));
    s.k2cse(&["remove", "SourceCode.Custom.ArchiveStore"])
        .assert()
        .success();
    let after = s.bytes();
    assert_eq!(&after[..2], [0xFF, 0xFE]);
    let line_bytes = original.len() - after.len();
    // Exactly one line (CRLF + indentation + element) went, as UTF-16.
    assert!(
        line_bytes > 100 && line_bytes.is_multiple_of(2),
        "{line_bytes}"
    );
    assert_eq!(dotnet(&s).len(), 7);
}

#[test]
fn encrypted_k2_config_is_reported_not_touched() {
    let original = fixture("k2-protected.config");
    let s = Scratch::with(&original);
    // Without the key nothing was read or checked: exit 3, never green.
    s.k2cse(&["list"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "the section is encrypted with provider \"K2ConfigurationKey\"",
        ));
    s.k2cse(&["lint"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("error[K2C051] protected-section"));
    s.k2cse(&["add", "SourceCode.Net.Mail.SmtpConnection", "Host Name=x"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("k2-protected")
                .not()
                .and(predicate::str::contains(
                    "K2HostServer.exe.config:9:3: the connectionStrings section is encrypted",
                )),
        );
    assert_eq!(s.bytes(), original);
}
