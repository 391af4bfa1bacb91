use std::fmt::Write as _;
use std::path::Path;

use time::macros::date;

use super::*;
use crate::xml::attr::escape;

const EWS: &str = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection";
const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection";
const DB: (&str, &str) = (
    "HostserverDB",
    "Data Source=SQL01;Initial Catalog=K2;Integrated Security=True",
);

fn on(today: time::Date, entries: &[(&str, &str)]) -> Vec<Diagnostic> {
    let adds = entries.iter().fold(String::new(), |mut s, (n, v)| {
        let _ = writeln!(
            s,
            "<add name=\"{}\" connectionString=\"{}\" />",
            escape(n, '"'),
            escape(v, '"')
        );
        s
    });
    let text =
        format!("<configuration><connectionStrings>\n{adds}</connectionStrings></configuration>");
    let doc = Document::from_bytes(Path::new("t.config"), text.into_bytes()).unwrap();
    lint(&doc, &LintOptions { today }).unwrap()
}

fn codes(entries: &[(&str, &str)]) -> Vec<&'static str> {
    let mut all = vec![DB];
    all.extend_from_slice(entries);
    let mut c: Vec<_> = on(date!(2026 - 11 - 28), &all)
        .into_iter()
        .map(|d| d.code)
        .collect();
    c.sort_unstable();
    c.dedup();
    c
}

#[test]
fn a_clean_file_has_no_findings() {
    let ews = format!("{EWS}:k2@x.com");
    assert_eq!(
        codes(&[
            (
                &ews,
                "Autodiscover=False;URL=https://mail.x.com/EWS/Exchange.asmx;User ID=k2@x.com"
            ),
            (SMTP, "Host Name=smtp.x.com;Port=25")
        ]),
        Vec::<&str>::new()
    );
}

#[test]
fn empty_and_unparsable_values() {
    assert_eq!(codes(&[("SourceCode.Any", "")]), ["K2C001"]);
    assert_eq!(codes(&[("SourceCode.Any", " ; ")]), ["K2C001"]);
    assert_eq!(codes(&[("SourceCode.Any", "a='open")]), ["K2C002"]);
    let d = on(date!(2026 - 11 - 28), &[("SourceCode.Any", "")]);
    let empty = d.iter().find(|d| d.code == "K2C001").unwrap();
    assert!(
        empty
            .message
            .contains("Value cannot be null. Parameter name: connectionString")
    );
    assert_eq!(empty.location.as_ref().unwrap().line, 2);
}

#[test]
fn ews_rules() {
    let ews = format!("{EWS}:k2@x.com");
    let check = |v: &str| codes(&[(&ews, v)]);
    assert_eq!(check("Autodiscover=Maybe;URL=https://m/EWS"), ["K2C011"]);
    assert_eq!(check("Autodiscover=yes;URL=https://m/EWS"), ["K2C012"]);
    assert_eq!(check("Autodiscover=True;URL=https://m/EWS"), ["K2C013"]);
    assert_eq!(check("Autodiscover=False;URL=mail/EWS"), ["K2C014"]);
    assert_eq!(check("Autodiscover=False;URL=http://m/EWS"), ["K2C015"]);
    assert_eq!(
        check("Autodiscover=False;URL=https://m/EWS;OAuth Resource=EWS;User ID=k2@x.com"),
        ["K2C016"]
    );
    assert_eq!(
        check(
            "Autodiscover=False;URL=https://m/EWS;OAuth Resource Audience=https://m;User ID=k2@x.com"
        ),
        ["K2C016"]
    );
    assert_eq!(
        check(
            "Autodiscover=False;URL=https://m/EWS;OAuth Resource=EWS;OAuth Resource Audience=https://m;User ID=other@x.com"
        ),
        ["K2C017"]
    );
    assert_eq!(
        check(
            "Autodiscover=False;URL=https://m/EWS;OAuth Resource=EWS;OAuth Resource Audience=https://m"
        ),
        ["K2C017"]
    );
    assert_eq!(
        check("Autodiscover=False;URL=https://m/EWS;Poll Interval=2X"),
        ["K2C018"]
    );
    assert_eq!(
        check(
            "Autodiscover=False;URL=https://m/EWS;OAuth Resource=EWS;OAuth Resource Audience=https://m;User ID=K2@X.com;Password=p"
        ),
        ["K2C019", "K2C050"]
    );
    assert_eq!(check("Autodiscover=False"), ["K2C021"]);
    assert_eq!(
        check("Autodiscover=False;URL=https://m/EWS;Colour=blue"),
        ["K2C010"]
    );
    assert_eq!(
        check("Autodiscover=False;URL=https://m/EWS;url=https://n/EWS"),
        ["K2C004"]
    );
    assert_eq!(codes(&[(EWS, "Autodiscover=True")]), ["K2C007"]);
}

#[test]
fn exchange_online_warning_follows_the_calendar() {
    let ews = format!("{EWS}:k2@x.com");
    let v = "Autodiscover=False;OAuth Resource=EWS;OAuth Resource Audience=https://outlook.office365.com;User ID=k2@x.com";
    let find = |today| {
        on(today, &[DB, (&ews, v)])
            .into_iter()
            .find(|d| d.code == "K2C020")
            .unwrap()
    };
    let before = find(date!(2026 - 06 - 01));
    assert!(
        before
            .message
            .contains("starts blocking EWS in Exchange Online on 2026-10-01"),
        "{}",
        before.message
    );
    let now = find(date!(2026 - 11 - 28));
    assert_eq!(now.severity, Severity::Warning);
    assert!(
        now.message.contains("since 2026-10-01") && now.message.contains("2027-04-01"),
        "{}",
        now.message
    );
    assert!(now.hint.contains("5.8.1") && now.hint.contains("Microsoft Graph"));
    let after = find(date!(2027 - 05 - 01));
    assert_eq!(after.severity, Severity::Error);
    // An on-premises Exchange server is not affected.
    let onprem = on(
        date!(2026 - 11 - 28),
        &[
            DB,
            (
                &ews,
                "Autodiscover=False;URL=https://mail.x.com/EWS/Exchange.asmx",
            ),
        ],
    );
    assert!(onprem.iter().all(|d| d.code != "K2C020"));
}

#[test]
fn smtp_rules() {
    assert_eq!(codes(&[(SMTP, "Host Name=h;Port=0")]), ["K2C030"]);
    assert_eq!(codes(&[(SMTP, "Host Name=h;Port=70000")]), ["K2C030"]);
    assert_eq!(codes(&[(SMTP, "Host Name=h;Port=2x")]), ["K2C030"]);
    assert_eq!(codes(&[(SMTP, "Host Name=h;TLS=Ssl")]), ["K2C031"]);
    assert_eq!(
        codes(&[(SMTP, "Host Name=h;Tls=boottls;Authentication=Kerberos")]),
        ["K2C031"]
    );
    assert_eq!(codes(&[(SMTP, "Port=25")]), ["K2C032"]);
    assert_eq!(
        codes(&[(SMTP, "Host Name=h;Authentication=Plain;User ID=u")]),
        ["K2C033"]
    );
}

#[test]
fn structure_and_database_rules() {
    assert_eq!(codes(&[("HostServerDB", "Data Source=x")]), ["K2C003"]);
    let unknown = on(
        date!(2026 - 11 - 28),
        &[("HostserverDB", "Data Source=x;Colour=blue")],
    );
    let d = unknown.iter().find(|d| d.code == "K2C010").unwrap();
    assert_eq!(
        d.severity,
        Severity::Error,
        "SqlClient rejects unknown keywords"
    );
    let no_server = on(
        date!(2026 - 11 - 28),
        &[("HostserverDB", "Initial Catalog=K2")],
    );
    assert!(no_server.iter().any(|d| d.code == "K2C040"));
    let no_db = on(date!(2026 - 11 - 28), &[(SMTP, "Host Name=h")]);
    assert!(no_db.iter().any(|d| d.code == "K2C041"));
    assert_eq!(codes(&[("HostserverDB:x", "Data Source=x")]), ["K2C007"]);
}

#[test]
fn messages_never_contain_secret_values() {
    let ews = format!("{EWS}:k2@x.com");
    let all = on(
        date!(2026 - 11 - 28),
        &[(
            &ews,
            "OAuth Resource=EWS;OAuth Resource Audience=https://m;User ID=k2@x.com;Password=hunter2",
        )],
    );
    assert!(!all.is_empty());
    for d in all {
        assert!(
            !d.message.contains("hunter2") && !d.hint.contains("hunter2"),
            "{d:?}"
        );
    }
}

#[test]
fn rule_codes_are_unique_and_stable() {
    let mut codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
    codes.sort_unstable();
    let before = codes.len();
    codes.dedup();
    assert_eq!(before, codes.len());
    assert!(
        RULES
            .iter()
            .all(|r| r.code.starts_with("K2C") && r.code.len() == 6)
    );
}

#[test]
fn ews_basic_auth_against_exchange_online_is_an_error() {
    let ews = format!("{EWS}:k2@x.com");
    let basic = "Autodiscover=False;URL=https://outlook.office365.com/EWS/Exchange.asmx;User ID=k2@x.com;Password=pw";
    let found = on(date!(2026 - 06 - 01), &[DB, (&ews, basic)]);
    let d = found.iter().find(|d| d.code == "K2C022").expect("K2C022");
    assert_eq!(d.severity, Severity::Error);
    // Sovereign clouds too; OAuth or on-premises are not Basic auth against Exchange Online.
    for (v, expected) in [
        (
            "Autodiscover=False;URL=https://outlook.office365.us/EWS/Exchange.asmx;User ID=k2@x.com;Password=pw",
            true,
        ),
        (
            "Autodiscover=False;URL=https://webmail.apps.mil/EWS/Exchange.asmx;User ID=k2@x.com;Password=pw",
            true,
        ),
        (
            "Autodiscover=False;URL=https://partner.outlook.cn/EWS/Exchange.asmx;User ID=k2@x.com;Password=pw",
            true,
        ),
        (
            "Autodiscover=False;URL=https://mail.x.com/EWS/Exchange.asmx;User ID=k2@x.com;Password=pw",
            false,
        ),
        (
            "Autodiscover=False;OAuth Resource=EWS;OAuth Resource Audience=https://outlook.office365.com;User ID=k2@x.com",
            false,
        ),
    ] {
        let found = on(date!(2026 - 06 - 01), &[DB, (&ews, v)]);
        assert_eq!(found.iter().any(|d| d.code == "K2C022"), expected, "{v}");
    }
}

#[test]
fn smtp_basic_auth_against_exchange_online_turns_into_an_error_after_december_2026() {
    let plain = "Host Name=smtp.office365.com;Port=587;TLS=StartTls;Authentication=Plain;User ID=k2@x.com;Password=pw";
    let severity = |today, v: &str| {
        on(today, &[DB, (SMTP, v)])
            .into_iter()
            .find(|d| d.code == "K2C034")
            .map(|d| d.severity)
    };
    assert_eq!(
        severity(date!(2026 - 12 - 01), plain),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity(date!(2026 - 12 - 31), plain),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity(date!(2027 - 01 - 01), plain),
        Some(Severity::Error)
    );
    // The legacy endpoint and the sovereign clouds, and a password without Plain.
    for v in [
        "Host Name=smtp-legacy.office365.com;Authentication=Plain;User ID=a;Password=b",
        "Host Name=SMTP.Office365.us;Authentication=Plain;User ID=a;Password=b",
        "Host Name=smtp.office365.com;Authentication=Windows;User ID=a;Password=b",
    ] {
        assert!(severity(date!(2026 - 12 - 01), v).is_some(), "{v}");
    }
    // Anonymous relay, or another server, is not affected.
    for v in [
        "Host Name=smtp.office365.com;Port=25;Authentication=Anonymous",
        "Host Name=smtp.x.com;Authentication=Plain;User ID=a;Password=b",
    ] {
        assert_eq!(severity(date!(2027 - 06 - 01), v), None, "{v}");
    }
    // The bundled sample's own SMTP entry is such an entry.
    let doc =
        Document::from_bytes(Path::new("s.config"), crate::sample::K2_SAMPLE.to_vec()).unwrap();
    let found = lint(
        &doc,
        &LintOptions {
            today: date!(2027 - 01 - 02),
        },
    )
    .unwrap();
    assert!(
        found
            .iter()
            .any(|d| d.code == "K2C034" && d.severity == Severity::Error)
    );
}
