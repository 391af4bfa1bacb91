//! Interop: files in a declared single-byte code page are read and written in it, and .NET
//! (Mono's `ConfigurationManager`) reads back exactly what k2cse wrote.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use k2cse_tests::fixtures::{Scratch, k2cse_view};
use k2cse_tests::mono;
use predicates::prelude::*;

const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection";

fn file(encoding: &str, password: &[u8]) -> Vec<u8> {
    let mut bytes = format!("<?xml version=\"1.0\" encoding=\"{encoding}\"?>\r\n<configuration>\r\n  <connectionStrings>\r\n    <add name=\"{SMTP}\" connectionString=\"Host Name=relay;Authentication=Plain;User ID=k2;Password=").into_bytes();
    bytes.extend_from_slice(password);
    bytes.extend_from_slice(b"\" />\r\n  </connectionStrings>\r\n</configuration>\r\n");
    bytes
}

#[test]
fn a_latin1_file_with_a_non_ascii_password_is_edited_and_read_back_by_dotnet() {
    // "pässwörd" in ISO-8859-1: one byte per letter.
    let s = Scratch::with(&file("iso-8859-1", b"p\xE4ssw\xF6rd"));
    let dotnet = mono::config_view(&s.config).unwrap();
    assert!(dotnet[SMTP].ends_with("Password=pässwörd"), "{dotnet:?}");
    assert_eq!(k2cse_view(&s.config), dotnet);
    s.k2cse(&["set", SMTP, "Password=Grüße"]).assert().success();
    let bytes = s.bytes();
    assert!(
        bytes.windows(5).any(|w| w == b"Gr\xFC\xDFe"),
        "written in Latin-1"
    );
    assert!(
        !bytes.windows(2).any(|w| w == b"\xC3\xBC"),
        "no UTF-8 bytes"
    );
    let dotnet = mono::config_view(&s.config).unwrap();
    assert!(dotnet[SMTP].ends_with("Password=Grüße"), "{dotnet:?}");
    assert_eq!(k2cse_view(&s.config), dotnet);
    // A character Latin-1 cannot hold is refused, and nothing is written.
    let before = s.bytes();
    s.k2cse(&["set", SMTP, "Password=€uro"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot be written in this file's encoding, iso-8859-1",
        ));
    assert_eq!(s.bytes(), before);
}

#[test]
fn windows_1252_and_us_ascii_files() {
    let s = Scratch::with(&file("windows-1252", b"plain"));
    s.k2cse(&["set", SMTP, "Password=€uro"]).assert().success();
    assert!(s.bytes().windows(4).any(|w| w == b"\x80uro"));
    let dotnet = mono::config_view(&s.config).unwrap();
    assert!(dotnet[SMTP].ends_with("Password=€uro"), "{dotnet:?}");
    assert_eq!(k2cse_view(&s.config), dotnet);
    let a = Scratch::with(&file("us-ascii", b"plain"));
    a.k2cse(&["set", SMTP, "Password=é"]).assert().code(1);
    a.k2cse(&["set", SMTP, "Password=e"]).assert().success();
    assert_eq!(k2cse_view(&a.config), mono::config_view(&a.config).unwrap());
}
