//! Document engine tests: every edit must change exactly the bytes it means to.

use std::path::Path;

use super::*;
use crate::edit::{Change, Values};
use crate::sample::K2_SAMPLE;
use crate::xml::source::Encoding;

const EWS_OAUTH: &str =
    "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:k2service@denallix.com";
const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection";

fn sample() -> Document {
    Document::from_bytes(Path::new("K2HostServer.exe.config"), K2_SAMPLE.to_vec()).unwrap()
}

fn doc(text: &str) -> Document {
    Document::from_bytes(Path::new("t.config"), text.as_bytes().to_vec()).unwrap()
}

fn bytes(doc: &Document) -> Vec<u8> {
    doc.main_file().encode()
}

fn set(name: &str, key: &str, value: &str) -> Change {
    Change::Set {
        name: name.into(),
        values: Values::from_pairs([(key, value)]),
    }
}

/// Asserts `after` equals `before` with exactly one contiguous range replaced by `inserted`
/// (after trimming the common prefix and suffix) and returns the removed bytes.
fn only_change(before: &[u8], after: &[u8], inserted: &str) -> String {
    let prefix = before.iter().zip(after).take_while(|(a, b)| a == b).count();
    let max = before.len().min(after.len()) - prefix;
    let suffix = before
        .iter()
        .rev()
        .zip(after.iter().rev())
        .take_while(|(a, b)| a == b)
        .count()
        .min(max);
    assert_eq!(
        String::from_utf8_lossy(&after[prefix..after.len() - suffix]),
        inserted
    );
    String::from_utf8_lossy(&before[prefix..before.len() - suffix]).into_owned()
}

#[test]
fn sample_loads_without_changes_byte_for_byte() {
    let d = sample();
    assert_eq!(bytes(&d), K2_SAMPLE);
    assert_eq!(d.main_file().encoding(), Encoding::Utf8 { bom: true });
    assert_eq!(d.main_file().line_ending(), "\r\n");
    let names: Vec<String> = d
        .entries()
        .unwrap()
        .iter()
        .map(|e| e.name.as_str().to_owned())
        .collect();
    assert_eq!(names.len(), 8, "{names:?}");
    // The commented-out template at the bottom is not the section.
    assert!(
        !names.iter().any(|n| n.contains("administrator@")),
        "{names:?}"
    );
    assert!(d.protection().is_none());
}

#[test]
fn values_decode_entities_like_dotnet() {
    let d = sample();
    let e = d
        .entry("SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:smartactions@denallix.com")
        .unwrap();
    assert_eq!(e.get("password"), Some("P@ss;w0rd"));
    assert_eq!(e.get("user id"), Some("DENALLIX\\k2smartactions"));
    assert_eq!(
        d.entry("hostserverdb").unwrap().setting("server"),
        Some("SQL01\\K2")
    );
}

#[test]
fn setting_a_value_rewrites_only_that_value() {
    let mut d = sample();
    d.apply(&set(SMTP, "Port", "587")).unwrap();
    assert_eq!(only_change(K2_SAMPLE, &bytes(&d), "587"), "25");
    assert_eq!(d.entry(SMTP).unwrap().get("Port"), Some("587"));
}

#[test]
fn values_needing_quotes_and_escapes_are_written_correctly() {
    let mut d = sample();
    d.apply(&set(SMTP, "Host Name", "smtp \"edge\" & <relay>"))
        .unwrap();
    let after = bytes(&d);
    only_change(
        K2_SAMPLE,
        &after,
        "'smtp &quot;edge&quot; &amp; &lt;relay>'",
    );
    assert_eq!(
        d.entry(SMTP).unwrap().get("host name"),
        Some("smtp \"edge\" & <relay>")
    );
    // Reloading from the bytes sees the same.
    let reread = Document::from_bytes(Path::new("x"), after).unwrap();
    assert_eq!(
        reread.entry(SMTP).unwrap().get("host name"),
        Some("smtp \"edge\" & <relay>")
    );
}

#[test]
fn an_untouched_entity_elsewhere_in_the_value_keeps_its_spelling() {
    let mut d = doc(
        r#"<configuration><connectionStrings><add name="x" connectionString="A=&#x41;;B=1" /></connectionStrings></configuration>"#,
    );
    d.apply(&set("x", "b", "2")).unwrap();
    assert!(
        d.main_file()
            .text()
            .contains(r#"connectionString="A=&#x41;;B=2""#),
        "{}",
        d.main_file().text()
    );
}

#[test]
fn adding_a_key_appends_with_canonical_spelling() {
    let mut d = sample();
    d.apply(&set(EWS_OAUTH, "poll interval", "2M")).unwrap();
    let e = d.entry(EWS_OAUTH).unwrap();
    assert!(
        e.value
            .as_deref()
            .unwrap()
            .ends_with(";User ID=k2service@denallix.com;Poll Interval=2M")
    );
}

#[test]
fn synonyms_update_the_existing_key() {
    let mut d = sample();
    d.apply(&set("HostserverDB", "Server", "SQL02")).unwrap();
    let e = d.entry("HostserverDB").unwrap();
    assert!(
        e.value
            .as_deref()
            .unwrap()
            .starts_with("Data Source=SQL02;"),
        "{:?}",
        e.value
    );
}

#[test]
fn unset_removes_the_pair_and_one_separator() {
    let mut d = sample();
    d.apply(&Change::Unset {
        name: "SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com".into(),
        keys: vec!["password".into()],
    })
    .unwrap();
    assert_eq!(
        only_change(K2_SAMPLE, &bytes(&d), ""),
        ";Password=S3cret!Pass"
    );
}

#[test]
fn adding_an_entry_copies_indentation_quotes_and_line_endings() {
    let mut d = sample();
    let name = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:hr@denallix.com";
    d.apply(&Change::Add {
        name: name.into(),
        values: Values::from_pairs([
            ("autodiscover", "False"),
            ("oauth resource", "EWS"),
            ("OAuth Resource Audience", "https://outlook.office365.com"),
            ("user id", "hr@denallix.com"),
        ]),
    })
    .unwrap();
    let anchor = "Api Key=9f8e7d6c\" />";
    let expected = String::from_utf8(K2_SAMPLE.to_vec()).unwrap().replacen(anchor, &format!(
        "{anchor}\r\n    <add name=\"{name}\" connectionString=\"Autodiscover=False;OAuth Resource=EWS;OAuth Resource Audience=https://outlook.office365.com;User ID=hr@denallix.com\" />"
    ), 1);
    assert_eq!(String::from_utf8(bytes(&d)).unwrap(), expected);
    // It lands last in the section, after the unknown entry.
    assert_eq!(d.entries().unwrap().last().unwrap().name.as_str(), name);
}

#[test]
fn adding_copies_single_quotes_tabs_and_lf() {
    let text = "<configuration>\n\t<connectionStrings>\n\t\t<add name='a' connectionString='x=1'/>\n\t</connectionStrings>\n</configuration>\n";
    let mut d = doc(text);
    d.apply(&Change::Add {
        name: "b".into(),
        values: Values::from_pairs([("y", "it's")]),
    })
    .unwrap();
    assert_eq!(
        d.main_file().text(),
        "<configuration>\n\t<connectionStrings>\n\t\t<add name='a' connectionString='x=1'/>\n\t\t<add name='b' connectionString='y=\"it&apos;s\"'/>\n\t</connectionStrings>\n</configuration>\n"
    );
}

#[test]
fn adding_to_empty_and_missing_sections() {
    let mut d = doc("<configuration>\r\n  <connectionStrings />\r\n</configuration>");
    d.apply(&Change::Add {
        name: "a".into(),
        values: Values::from_pairs([("k", "v")]),
    })
    .unwrap();
    assert_eq!(
        d.main_file().text(),
        "<configuration>\r\n  <connectionStrings>\r\n    <add name=\"a\" connectionString=\"k=v\" />\r\n  </connectionStrings>\r\n</configuration>"
    );

    let mut d = doc("<configuration>\n  <connectionStrings></connectionStrings>\n</configuration>");
    d.apply(&Change::Add {
        name: "a".into(),
        values: Values::default(),
    })
    .unwrap();
    assert_eq!(
        d.main_file().text(),
        "<configuration>\n  <connectionStrings>\n    <add name=\"a\" connectionString=\"\" />\n  </connectionStrings>\n</configuration>"
    );

    let mut d = doc(
        "<configuration>\n    <configSections>\n    </configSections>\n    <appSettings />\n</configuration>\n",
    );
    d.apply(&Change::Add {
        name: "a".into(),
        values: Values::from_pairs([("k", "v")]),
    })
    .unwrap();
    assert_eq!(
        d.main_file().text(),
        "<configuration>\n    <configSections>\n    </configSections>\n    <connectionStrings>\n        <add name=\"a\" connectionString=\"k=v\" />\n    </connectionStrings>\n    <appSettings />\n</configuration>\n"
    );
}

#[test]
fn removing_an_entry_removes_its_line() {
    let mut d = sample();
    d.apply(&Change::Remove {
        name: "SourceCode.Custom.ArchiveStore".into(),
    })
    .unwrap();
    let line = "\r\n    <add name=\"SourceCode.Custom.ArchiveStore\" connectionString=\"Path='\\\\fileserver\\k2 archive';Retention Days=30;Api Key=9f8e7d6c\" />";
    let sample = String::from_utf8(K2_SAMPLE.to_vec()).unwrap();
    assert!(sample.contains(line));
    assert_eq!(
        String::from_utf8(bytes(&d)).unwrap(),
        sample.replacen(line, "", 1)
    );
}

#[test]
fn rename_changes_only_the_name() {
    let mut d = sample();
    d.apply(&Change::Rename {
        name: SMTP.into(),
        to: "SourceCode.Net.Mail.SmtpConnection:ops@denallix.com".into(),
    })
    .unwrap();
    assert_eq!(only_change(K2_SAMPLE, &bytes(&d), ":ops@denallix.com"), "");
    let err = d
        .apply(&Change::Rename {
            name: "HostServer".into(),
            to: "hostserverdb".into(),
        })
        .unwrap_err();
    assert!(matches!(err, crate::Error::EntryExists { .. }), "{err}");
}

#[test]
fn add_refuses_duplicates_and_ews_without_mailbox() {
    let mut d = sample();
    let err = d
        .apply(&Change::Add {
            name: "HOSTSERVERDB".into(),
            values: Values::default(),
        })
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    let err = d
        .apply(&Change::Add {
            name: "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection".into(),
            values: Values::default(),
        })
        .unwrap_err();
    assert!(err.to_string().contains("mailbox"), "{err}");
    assert_eq!(bytes(&d), K2_SAMPLE, "a refused change writes nothing");
}

#[test]
fn add_remove_clear_follow_dotnet() {
    let d = doc(r#"<configuration><connectionStrings>
        <add name="Gone" connectionString="a=1" />
        <clear />
        <add name="A" connectionString="a=1" />
        <add name="B" connectionString="b=1" />
        <remove name="b" />
        <add name="a" connectionString="a=2" />
    </connectionStrings></configuration>"#);
    let view = d.view().unwrap();
    let names: Vec<&str> = view.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["A", "a"]);
    assert_eq!(
        view.notes
            .iter()
            .filter(|n| matches!(n, SectionNote::Shadowed { .. }))
            .count(),
        2
    );
    assert_eq!(
        view.notes
            .iter()
            .filter(|n| matches!(n, SectionNote::DuplicateName { .. }))
            .count(),
        1
    );
    let err = d.entry("A").unwrap_err();
    assert!(
        matches!(err, crate::Error::AmbiguousEntry { count: 2, .. }),
        "{err}"
    );
    let err = d.entry("b").unwrap_err();
    assert!(err.to_string().contains("removed by"), "{err}");
}

#[test]
fn utf16_files_round_trip_and_edit() {
    for (bom, to_bytes) in [
        ([0xFF, 0xFE], u16::to_le_bytes as fn(u16) -> [u8; 2]),
        ([0xFE, 0xFF], u16::to_be_bytes),
    ] {
        let text = String::from_utf8(K2_SAMPLE[3..].to_vec())
            .unwrap()
            .replace("encoding=\"utf-8\"", "encoding=\"utf-16\"");
        let encode = |t: &str| {
            bom.iter()
                .copied()
                .chain(t.encode_utf16().flat_map(to_bytes))
                .collect::<Vec<u8>>()
        };
        let original = encode(&text);
        let mut d = Document::from_bytes(Path::new("u.config"), original.clone()).unwrap();
        assert_eq!(bytes(&d), original);
        d.apply(&set(SMTP, "Port", "2525")).unwrap();
        assert_eq!(
            bytes(&d),
            encode(&text.replacen("Port=25;", "Port=2525;", 1))
        );
    }
}

#[test]
fn config_source_sections_are_edited_in_their_file() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("app.config");
    std::fs::write(
        &main,
        "<configuration>\n  <connectionStrings configSource=\"cs.config\" />\n</configuration>\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("cs.config"), "<connectionStrings>\n  <add name=\"a\" connectionString=\"x=1\" />\n</connectionStrings>\n").unwrap();
    let mut d = Document::load(&main).unwrap();
    assert_eq!(d.entry("a").unwrap().get("x"), Some("1"));
    d.apply(&set("a", "x", "2")).unwrap();
    assert!(!d.main_file().is_changed());
    assert!(d.section_file().is_changed());
    assert_eq!(
        d.section_file().text(),
        "<connectionStrings>\n  <add name=\"a\" connectionString=\"x=2\" />\n</connectionStrings>\n"
    );
    std::fs::write(
        &main,
        "<configuration><connectionStrings configSource=\"../cs.config\" /></configuration>",
    )
    .unwrap();
    assert!(
        Document::load(&main)
            .unwrap_err()
            .to_string()
            .contains("relative path")
    );
}

#[test]
fn protected_sections_are_reported_and_not_edited() {
    let text = r#"<configuration>
  <connectionStrings configProtectionProvider="K2ConfigurationKey">
    <EncryptedData Type="http://www.w3.org/2001/04/xmlenc#Element" xmlns="http://www.w3.org/2001/04/xmlenc#">
      <CipherData><CipherValue>AAAA</CipherValue></CipherData>
    </EncryptedData>
  </connectionStrings>
</configuration>"#;
    let mut d = doc(text);
    let p = d.protection().unwrap();
    assert_eq!(p.provider, "K2ConfigurationKey");
    assert_eq!(p.location.line, 2);
    assert!(d.entries().unwrap().is_empty());
    let err = d.apply(&set("x", "a", "b")).unwrap_err();
    assert!(
        err.to_string()
            .contains("encrypted (provider \"K2ConfigurationKey\")"),
        "{err}"
    );
}

#[test]
fn malformed_files_are_refused_with_a_position() {
    for (text, line, needle) in [
        (
            "<configuration>\n<connectionStrings>\n</configuration>",
            3,
            "does not match",
        ),
        (
            "<configuration>\n  <connectionStrings>\n    <add name=\"a\" connectionString=\"x&y\"/>\n  </connectionStrings>\n</configuration>",
            3,
            "&amp;",
        ),
        (
            // Accepted before the root (as .NET's reader skips it); not after.
            "<?xml version=\"1.0\"?>\n<configuration/>\n<!DOCTYPE x [<!ENTITY a \"b\">]>",
            3,
            "DOCTYPE",
        ),
        ("<appSettings/>", 1, "expected <configuration>"),
        (
            "<configuration>\n<connectionStrings/>\n<connectionStrings/>\n</configuration>",
            3,
            "second",
        ),
        ("<configuration>\n  <connectionStrings>", 2, "ends before"),
        (
            "<configuration>\n  <x:appSettings />\n</configuration>",
            2,
            "prefix \"x\" is not declared",
        ),
        (
            "<?xml version=\"2.0\"?>\n<configuration/>",
            1,
            "invalid version",
        ),
        (
            "<configuration>\n <a b='1'/><!-- x -- y -->\n</configuration>",
            2,
            "'--' is not allowed",
        ),
    ] {
        let err =
            Document::from_bytes(Path::new("bad.config"), text.as_bytes().to_vec()).unwrap_err();
        let loc = err
            .location()
            .unwrap_or_else(|| panic!("no location: {err}"));
        assert_eq!(loc.line, line, "{err}");
        assert!(err.to_string().contains(needle), "{err}");
        assert!(err.to_string().starts_with("bad.config:"), "{err}");
    }
}

#[test]
fn connection_string_errors_point_into_the_attribute() {
    let d = doc(
        "<configuration>\n  <connectionStrings>\n    <add name=\"a\" connectionString=\"x=1;y='open\" />\n  </connectionStrings>\n</configuration>",
    );
    let e = d.entry("a").unwrap();
    assert!(e.parsed.is_err());
    let loc = e.error_location.clone().unwrap();
    assert_eq!((loc.line, loc.column), (3, 41));
}

#[test]
fn names_index_finds_every_entry_of_a_name_in_file_order() {
    // The index links slots that share a hash; duplicates (same name, any case) must all be
    // found, in file order, before and after a `<remove>` of another name and a later add.
    let d = doc(concat!(
        "<configuration><connectionStrings>",
        "<add name=\"A\" connectionString=\"x=1\"/>",
        "<add name=\"b\" connectionString=\"x=2\"/>",
        "<add name=\"a\" connectionString=\"x=3\"/>",
        "<remove name=\"B\"/>",
        "<add name=\"C\" connectionString=\"x=4\"/>",
        "<add name=\"A\" connectionString=\"x=5\"/>",
        "</connectionStrings></configuration>"
    ));
    let names = d.names().unwrap();
    let children = |name: &str| names.named(name).map(|s| s.child).collect::<Vec<_>>();
    assert_eq!(children("a"), [0, 2, 5]);
    assert_eq!(children("B"), Vec::<usize>::new());
    assert_eq!(children("c"), [4]);
    assert_eq!(
        names
            .notes
            .iter()
            .filter(|n| matches!(n, crate::config::SectionNote::DuplicateName { .. }))
            .count(),
        2
    );
}

/// A file's digest as loaded is taken from its fingerprint (UTF-8) or its text (others): in
/// every encoding an edit and its reverse are no change, a real edit is one, and the digest of
/// what a save wrote is what the next load computes.
#[test]
fn an_edit_undone_is_no_change_in_every_encoding() {
    let text =
        String::from_utf8(K2_SAMPLE.strip_prefix(b"\xEF\xBB\xBF").unwrap().to_vec()).unwrap();
    let utf16 = |bom: bool| {
        let text = text.replacen("encoding=\"utf-8\"", "encoding=\"utf-16\"", 1);
        let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        out
    };
    let variants = [
        [&b"\xEF\xBB\xBF"[..], text.as_bytes()].concat(),
        text.as_bytes().to_vec(),
        utf16(true),
        utf16(false),
    ];
    for raw in variants {
        let mut d = Document::from_bytes(Path::new("e.config"), raw.clone()).unwrap();
        d.apply(&set(SMTP, "Port", "587")).unwrap();
        assert!(d.main_file().is_changed(), "{:?}", d.main_file().encoding());
        d.apply(&set(SMTP, "Port", "25")).unwrap();
        assert!(
            !d.main_file().is_changed(),
            "{:?}",
            d.main_file().encoding()
        );
        assert_eq!(bytes(&d), raw);
        // Saved (the fingerprint of what was written), edited and undone again.
        d.apply(&set(SMTP, "Port", "587")).unwrap();
        let written = bytes(&d);
        d.files_mut()
            .next()
            .unwrap()
            .mark_saved(crate::save::Fingerprint::of(&written));
        assert!(!d.main_file().is_changed());
        d.apply(&set(SMTP, "Port", "25")).unwrap();
        d.apply(&set(SMTP, "Port", "587")).unwrap();
        assert!(
            !d.main_file().is_changed(),
            "{:?}",
            d.main_file().encoding()
        );
    }
}
