//! Interop: white space inside `connectionString="…"` is read as .NET's config reader reads
//! it. System.Configuration does not normalize attribute values (its `XmlTextReader` has
//! `Normalization` off), so a literal TAB, LF, CR or CR LF reaches K2 unchanged, exactly like
//! the character references `&#9;`, `&#xA;`, `&#xD;`. Mono's `ConfigurationManager` decides.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use k2cse_tests::fixtures::{Scratch, k2cse_view, listed_entries};
use k2cse_tests::mono;

/// Every white-space form, raw as it stands between the quotes.
const FORMS: &[(&str, &str)] = &[
    ("tab", "Host Name=a\tb"),
    ("lf", "Host Name=a\nb"),
    ("cr", "Host Name=a\rb"),
    ("crlf", "Host Name=a\r\nb"),
    ("ref-tab", "Host Name=a&#9;b"),
    ("ref-lf", "Host Name=a&#xA;b"),
    ("ref-cr", "Host Name=a&#13;b"),
    ("ref-crlf", "Host Name=a&#xD;&#xA;b"),
    ("cr-ref-lf", "Host Name=a\r&#xA;b"),
    ("multi-line", "Host Name=relay;\r\n\t\tPort=25;\n\tTLS=None"),
    // Normalization off also means no range check of character references.
    ("ref-controls", "Host Name=a&#0;b&#x1;c&#xFFFF;d"),
];

fn config(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut text = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<configuration>\r\n  <connectionStrings>\r\n",
    );
    for (name, raw) in entries {
        writeln!(
            text,
            "    <add name=\"{name}\" connectionString=\"{raw}\" />\r"
        )
        .unwrap();
    }
    text.push_str("  </connectionStrings>\r\n</configuration>\r\n");
    text.into_bytes()
}

#[test]
fn every_white_space_form_reads_as_dotnet_reads_it() {
    let s = Scratch::with(&config(FORMS));
    let dotnet = mono::config_view(&s.config).unwrap();
    assert_eq!(dotnet.len(), FORMS.len());
    // .NET keeps every form as it is: nothing became a space.
    assert_eq!(dotnet["tab"], "Host Name=a\tb");
    assert_eq!(dotnet["crlf"], "Host Name=a\r\nb");
    assert_eq!(dotnet["cr-ref-lf"], "Host Name=a\r\nb");
    assert_eq!(dotnet["ref-controls"], "Host Name=a\0b\u{1}c\u{FFFF}d");
    assert_eq!(k2cse_view(&s.config), dotnet, "the core");
    let listed = s.k2cse(&["list", "--json"]).assert().success();
    let listed: BTreeMap<String, String> = listed_entries(&listed.get_output().stdout)
        .into_iter()
        .collect();
    assert_eq!(listed, dotnet, "list --json");
}

#[test]
fn set_over_a_literal_tab_writes_and_dotnet_reads_the_new_value() {
    let s = Scratch::with(&config(&[(
        "SourceCode.Net.Mail.SmtpConnection",
        "Host Name=relay;Authentication=Plain;User ID=k2;Password=a\tb",
    )]));
    let before = s.bytes();
    s.k2cse(&["set", "SourceCode.Net.Mail.SmtpConnection", "Password=a b"])
        .assert()
        .success();
    assert_ne!(
        s.bytes(),
        before,
        "a TAB is not a space: the file must change"
    );
    let dotnet = mono::config_view(&s.config).unwrap();
    assert_eq!(
        dotnet["SourceCode.Net.Mail.SmtpConnection"],
        // .NET's builder quotes a value holding white space, and so does k2cse.
        "Host Name=relay;Authentication=Plain;User ID=k2;Password=\"a b\""
    );
    assert_eq!(k2cse_view(&s.config), dotnet);
    // Setting it again to what .NET now reads changes nothing.
    let after = s.bytes();
    s.k2cse(&["set", "SourceCode.Net.Mail.SmtpConnection", "Password=a b"])
        .assert()
        .success();
    assert_eq!(s.bytes(), after);
}

#[test]
fn unset_keeps_the_white_space_it_does_not_touch() {
    let raw = "Host Name=a\tb;\r\n\tPort=25;\r\n\tTLS=None";
    let s = Scratch::with(&config(&[("SourceCode.Net.Mail.SmtpConnection", raw)]));
    s.k2cse(&["unset", "SourceCode.Net.Mail.SmtpConnection", "Port"])
        .assert()
        .success();
    let dotnet = mono::config_view(&s.config).unwrap();
    let value = &dotnet["SourceCode.Net.Mail.SmtpConnection"];
    assert!(value.starts_with("Host Name=a\tb;"), "{value:?}");
    assert!(value.ends_with("\tTLS=None"), "{value:?}");
    assert!(!value.contains("Port"), "{value:?}");
    assert_eq!(k2cse_view(&s.config), dotnet);
    // Only the removed pair's bytes went away.
    assert!(s.text().contains("Host Name=a\tb;"));
}

#[test]
fn a_line_feed_inside_a_sql_keyword_is_a_lint_error() {
    // .NET reads the key as "Initial\n Catalog", which its connection-string parser rejects
    // ("Invalid keyword, contain one or more of ... 'control characters'"); read as a space it
    // would look like the valid keyword Initial Catalog.
    let s = Scratch::with(&config(&[(
        "HostserverDB",
        "Data Source=SQL01;Initial\n Catalog=K2;Integrated Security=SSPI",
    )]));
    let out = s.k2cse(&["lint", "--json"]).assert().code(3);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["code"] == "K2C002" && f["severity"] == "error"),
        "{findings:#?}"
    );
}
