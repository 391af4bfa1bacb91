//! The dated Exchange Online rules from the command line, with "today" pinned (`lint --today`)
//! so the tests never rot: the bundled sample's SMTP entry (Authentication=Plain against
//! smtp.office365.com) is a warning in December 2026 and an error from January 2027
//! (MC786329); an EWS entry with a password against Exchange Online is an error.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::fmt::Write as _;

use k2cse_tests::fixtures::Scratch;

fn findings(s: &Scratch, today: &str, code: i32) -> Vec<serde_json::Value> {
    let out = s
        .k2cse(&["lint", "--json", "--today", today])
        .assert()
        .code(code);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    v["findings"].as_array().unwrap().clone()
}

fn severity_of(findings: &[serde_json::Value], code: &str) -> Option<String> {
    findings
        .iter()
        .find(|f| f["code"] == code)
        .map(|f| f["severity"].as_str().unwrap().to_owned())
}

#[test]
fn smtp_basic_auth_is_dated() {
    let s = Scratch::sample();
    let december = findings(&s, "2026-12-31", 0);
    assert_eq!(severity_of(&december, "K2C034").as_deref(), Some("warning"));
    let january = findings(&s, "2027-01-01", 3);
    assert_eq!(severity_of(&january, "K2C034").as_deref(), Some("error"));
    let hint = january.iter().find(|f| f["code"] == "K2C034").unwrap()["hint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(hint.contains("Microsoft Graph"), "{hint}");
    s.k2cse(&["lint", "--today", "someday"]).assert().failure();
}

#[test]
fn ews_basic_auth_against_exchange_online_is_an_error() {
    let s = Scratch::sample();
    s.k2cse(&[
        "add",
        "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:hr@denallix.com",
        "Autodiscover=False",
        "URL=https://outlook.office365.us/EWS/Exchange.asmx",
        "User ID=hr@denallix.com",
        "Password=secret",
        "--force",
    ])
    .assert()
    .success();
    let found = findings(&s, "2026-06-01", 3);
    assert_eq!(severity_of(&found, "K2C022").as_deref(), Some("error"));
}

/// Every Exchange Online host family, as Microsoft's endpoint lists name them (worldwide, GCC
/// High, Department of Defense, 21Vianet, the closed Germany cloud; see `docs/lint-rules.md` for the pages): a
/// password against each is flagged, and look-alike hosts are not.
#[test]
fn every_cloud_s_exchange_online_hosts_are_recognised() {
    let ews_hosts = [
        ("outlook.office365.com", true),
        ("outlook.office.com", true),
        ("outlook.office365.us", true),
        ("outlook-dod.office365.us", true),
        ("webmail.apps.mil", true),
        ("partner.outlook.cn", true),
        ("outlook.office.de", true),
        ("mail.denallix.com", false),
        ("outlook.office365.us.example.com", false),
        ("webmail.apps.mil.example", false),
    ];
    let smtp_hosts = [
        ("smtp.office365.com", true),
        ("outlook.office365.com", true),
        ("smtp-legacy.office365.com", true),
        ("outlook.office365.us", true),
        ("smtp.office365.us", true),
        ("outlook-dod.office365.us", true),
        ("webmail.apps.mil", true),
        ("smtp.partner.outlook.cn", true),
        ("outlook.office.de", true),
        ("smtp.denallix.com", false),
        ("smtp.partner.outlook.cn.example", false),
        ("notoutlook.office365.us", false),
    ];
    let mut adds = String::new();
    for (i, (host, _)) in ews_hosts.iter().enumerate() {
        let _ = writeln!(
            adds,
            "<add name=\"SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:ews{i}@denallix.com\" connectionString=\"Autodiscover=False;URL=https://{host}/EWS/Exchange.asmx;User ID=ews{i}@denallix.com;Password=secret\" />"
        );
    }
    for (i, (host, _)) in smtp_hosts.iter().enumerate() {
        let _ = writeln!(
            adds,
            "<add name=\"SourceCode.Net.Mail.SmtpConnection:smtp{i}@denallix.com\" connectionString=\"Host Name={host};Port=587;Tls=StartTls;Authentication=Plain;User Name=smtp{i}@denallix.com;Password=secret\" />"
        );
    }
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration>\n<connectionStrings>\n{adds}</connectionStrings>\n</configuration>\n"
    );
    let s = Scratch::with(text.as_bytes());
    let found = findings(&s, "2026-06-01", 3);
    let flagged = |code: &str, entry: &str| {
        found
            .iter()
            .any(|f| f["code"] == code && f["entry"].as_str().is_some_and(|e| e.ends_with(entry)))
    };
    for (i, (host, online)) in ews_hosts.iter().enumerate() {
        let entry = format!(":ews{i}@denallix.com");
        assert_eq!(flagged("K2C022", &entry), *online, "EWS {host}");
        assert_eq!(flagged("K2C020", &entry), *online, "EWS {host}");
    }
    for (i, (host, online)) in smtp_hosts.iter().enumerate() {
        let entry = format!(":smtp{i}@denallix.com");
        assert_eq!(flagged("K2C034", &entry), *online, "SMTP {host}");
    }
}
