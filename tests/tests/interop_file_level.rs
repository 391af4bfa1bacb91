//! Interop: what .NET's config reader accepts around the section (a DOCTYPE, skipped, its
//! entities never expanded) k2cse accepts; what makes .NET refuse the whole file (attributes on
//! `<configuration>`, a declaration the BOM contradicts) is a lint error with its position.
//! Mono's `ConfigurationManager` decides.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use k2cse_tests::fixtures::{Scratch, k2cse_view};
use k2cse_tests::mono;

const BODY: &str = "<configuration>\n<connectionStrings>\n<add name=\"x\" connectionString=\"Host Name=a\" />\n</connectionStrings>\n</configuration>\n";

fn lint(s: &Scratch) -> (i32, Vec<serde_json::Value>) {
    let out = s
        .k2cse(&["lint", "--json", "--today", "2026-11-28"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        out.status.code().unwrap(),
        v["findings"].as_array().unwrap().clone(),
    )
}

#[test]
fn doctype_files_are_read_as_dotnet_reads_them() {
    for doctype in [
        "<!DOCTYPE configuration>",
        "<!DOCTYPE configuration [\n  <!ENTITY pw \"secret\">\n  <!-- a ']' and a '>' in a comment -->\n]>",
        "<!DOCTYPE configuration SYSTEM \"http://example.invalid/never-fetched.dtd\">",
    ] {
        let text = format!("<?xml version=\"1.0\"?>\n{doctype}\n{BODY}")
            .replace("Host Name=a", "Host Name=a;Password=&pw;");
        let s = Scratch::with(text.as_bytes());
        let dotnet = mono::config_view(&s.config).unwrap();
        // The entity is not expanded: K2 gets the text "&pw;".
        assert_eq!(dotnet["x"], "Host Name=a;Password=&pw;", "{doctype}");
        assert_eq!(k2cse_view(&s.config), dotnet, "{doctype}");
        s.k2cse(&["set", "x", "Port=25"]).assert().success();
        assert_eq!(k2cse_view(&s.config), mono::config_view(&s.config).unwrap());
        assert!(
            s.text().contains(doctype),
            "the DOCTYPE is kept byte for byte"
        );
    }
}

#[test]
fn attributes_on_configuration_are_lint_errors_with_their_position() {
    for (attribute, refused) in [
        (
            " xmlns:xdt=\"http://schemas.microsoft.com/XML-Document-Transform\"",
            true,
        ),
        (" foo=\"bar\"", true),
        (
            " xmlns=\"http://schemas.microsoft.com/.NetConfiguration/v2.0\"",
            false,
        ),
    ] {
        let text = format!(
            "<?xml version=\"1.0\"?>\n{}",
            BODY.replacen("<configuration>", &format!("<configuration{attribute}>"), 1)
        );
        let s = Scratch::with(text.as_bytes());
        assert_eq!(
            mono::config_view(&s.config).is_err(),
            refused,
            "{attribute}"
        );
        let (code, findings) = lint(&s);
        let k2c060: Vec<_> = findings.iter().filter(|f| f["code"] == "K2C060").collect();
        if refused {
            assert_eq!(code, 3, "{attribute}");
            assert_eq!(k2c060.len(), 1, "{findings:#?}");
            assert_eq!(k2c060[0]["location"]["line"], 2);
            assert_eq!(k2c060[0]["location"]["column"], 16);
        } else {
            assert!(k2c060.is_empty(), "{findings:#?}");
        }
    }
}

#[test]
fn a_declaration_the_bom_contradicts_is_a_lint_error() {
    for (bom, refused) in [(&b"\xEF\xBB\xBF"[..], true), (&b""[..], true)] {
        let mut bytes = bom.to_vec();
        bytes.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"utf-16\"?>\n");
        bytes.extend_from_slice(BODY.as_bytes());
        let s = Scratch::with(&bytes);
        assert_eq!(mono::config_view(&s.config).is_err(), refused);
        let (code, findings) = lint(&s);
        assert_eq!(code, 3);
        let f = findings.iter().find(|f| f["code"] == "K2C060").unwrap();
        assert_eq!(f["location"]["line"], 1);
        assert_eq!(f["location"]["column"], 31);
    }
}

/// `text` as UTF-16 (little- or big-endian), with or without a byte-order mark.
fn utf16_bytes(text: &str, little: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(if little { &[0xFF, 0xFE] } else { &[0xFE, 0xFF] });
    }
    for unit in text.encode_utf16() {
        out.extend_from_slice(&if little {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        });
    }
    out
}

#[test]
fn a_utf16_file_declaring_another_encoding_loads_and_is_a_lint_error_when_dotnet_refuses_it() {
    let body = BODY.replace("Host Name=a", "Host Name=a;Password=\u{e9}t\u{e9}");
    let mut refused_seen = 0;
    for (little, bom) in [(true, true), (false, true), (true, false)] {
        for declared in [
            "utf-8",
            "UTF-8",
            "iso-8859-1",
            "windows-1252",
            "us-ascii",
            "utf-16",
            "unicode",
            "utf-16be",
            "unicodeFFFE",
            "ucs-2",
        ] {
            let text = format!("<?xml version=\"1.0\" encoding=\"{declared}\"?>\n{body}");
            let s = Scratch::with(&utf16_bytes(&text, little, bom));
            let case = format!("{declared} little={little} bom={bom}");
            let dotnet = mono::config_view(&s.config);
            // k2cse reads the file by its bytes (UTF-16) whatever it declares.
            let ours = k2cse_view(&s.config);
            assert_eq!(ours["x"], "Host Name=a;Password=\u{e9}t\u{e9}", "{case}");
            let (code, findings) = lint(&s);
            let k2c060: Vec<_> = findings.iter().filter(|f| f["code"] == "K2C060").collect();
            match dotnet {
                Err(_) => {
                    refused_seen += 1;
                    assert_eq!(code, 3, "{case}");
                    assert_eq!(k2c060.len(), 1, "{case}: {findings:#?}");
                    assert_eq!(k2c060[0]["location"]["line"], 1, "{case}");
                    assert_eq!(k2c060[0]["location"]["column"], 31, "{case}");
                }
                Ok(view) => {
                    assert_eq!(ours, view, "{case}");
                    assert!(k2c060.is_empty(), "{case}: {findings:#?}");
                }
            }
        }
    }
    // The oracle refuses the UTF-8/single-byte declarations and the wrong byte orders.
    assert!(refused_seen >= 15, "{refused_seen}");
}
