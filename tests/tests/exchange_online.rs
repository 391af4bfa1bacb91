//! The dated Exchange Online rules from the command line, with "today" pinned (`lint --today`)
//! so the tests never rot: the bundled sample's SMTP entry (Authentication=Plain against
//! smtp.office365.com) is a warning in December 2026 and an error from January 2027
//! (MC786329); an EWS entry with a password against Exchange Online is an error.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

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
