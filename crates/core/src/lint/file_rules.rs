//! Findings about the file around the section: what makes .NET's configuration system refuse
//! to load the whole file (and K2 not start) although the XML is well-formed: attributes on
//! `<configuration>`, and an encoding declaration the bytes contradict (a UTF-8 file declaring
//! UTF-16, or a UTF-16 file declaring an encoding .NET then switches to).

use super::{CONFIG_FILE, Diagnostic};
use crate::config::Document;
use crate::xml::{attr, source};

/// The only attribute .NET allows on `<configuration>`, and its only value
/// (`BaseConfigurationRecord.ScanFactories`: anything else is "Unrecognized attribute", or
/// `Config_namespace_invalid`).
const CONFIG_NAMESPACE: &str = "http://schemas.microsoft.com/.NetConfiguration/v2.0";

/// Encoding names .NET's XML reader takes for UTF-16, which it can switch to only from a
/// UTF-16 byte-order mark ("There is no Unicode byte order mark. Cannot switch to Unicode.").
const UTF16_NAMES: &[&str] = &[
    "utf-16",
    "utf-16le",
    "utf-16be",
    "unicode",
    "ucs-2",
    "iso-10646-ucs-2",
];

/// Every file-level problem of the document's main file.
pub fn check(doc: &Document) -> Vec<Diagnostic> {
    let file = doc.main_file();
    let text = file.text();
    let mut out = Vec::new();
    if let Some(root) = &file.index().root {
        for a in root.attrs(text) {
            let name = &text[a.name.clone()];
            let value = attr::decode(&text[a.value.clone()]).unwrap_or_default();
            let message = if name != "xmlns" {
                format!(
                    "attribute \"{name}\" on <configuration>: .NET refuses the file (\"Unrecognized attribute '{name}'\") and K2 does not start"
                )
            } else if value != CONFIG_NAMESPACE {
                format!(
                    "xmlns=\"{value}\" on <configuration>: .NET accepts only {CONFIG_NAMESPACE} there and refuses the file"
                )
            } else {
                continue;
            };
            out.push(
                Diagnostic::new(
                    CONFIG_FILE,
                    message,
                    "remove the attribute (xmlns:xdt comes from a Web.config transform file and belongs only there)",
                )
                .at(Some(&file.location(a.name.start))),
            );
        }
    }
    let utf16 = matches!(
        file.encoding(),
        source::Encoding::Utf16Le { .. } | source::Encoding::Utf16Be { .. }
    );
    if let Some(declared) = source::declared_encoding(text)
        && utf16
        && !utf16_reader_follows(declared, file.encoding())
    {
        let at = text.find(declared).unwrap_or(0);
        out.push(
            Diagnostic::new(
                CONFIG_FILE,
                format!(
                    "the XML declaration says encoding=\"{declared}\" but the file is {}: .NET switches to the declared encoding, reads the UTF-16 bytes as garbage and refuses the file",
                    file.encoding().label()
                ),
                "write encoding=\"utf-16\" in the declaration (the file's bytes are UTF-16), or re-save the file as UTF-8",
            )
            .at(Some(&file.location(at))),
        );
    }
    if let Some(declared) = source::declared_encoding(text)
        && !utf16
        && UTF16_NAMES
            .iter()
            .any(|n| n.eq_ignore_ascii_case(declared.trim()))
    {
        let at = text.find(declared).unwrap_or(0);
        out.push(
            Diagnostic::new(
                CONFIG_FILE,
                format!(
                    "the XML declaration says encoding=\"{declared}\" but the file is {}: .NET refuses it (\"There is no Unicode byte order mark. Cannot switch to Unicode.\")",
                    file.encoding().label()
                ),
                "write encoding=\"utf-8\" in the declaration (the file's bytes are UTF-8)",
            )
            .at(Some(&file.location(at))),
        );
    }
    out
}

/// Whether .NET's XML reader, reading a UTF-16 file (`encoding`), accepts its declaration
/// (`XmlTextReaderImpl.CheckEncoding`): the generic UTF-16 names keep the byte order found;
/// any other name is switched to, which is harmless only when it is the same UTF-16 byte order
/// (`Encoding.WebName` equal). Checked against Mono for each name
/// (`tests/tests/interop_file_level.rs`).
fn utf16_reader_follows(declared: &str, encoding: source::Encoding) -> bool {
    let name = declared.trim().to_ascii_lowercase();
    if matches!(
        name.as_str(),
        "utf-16" | "ucs-2" | "iso-10646-ucs-2" | "ucs-4"
    ) {
        return true;
    }
    match encoding {
        source::Encoding::Utf16Le { .. } => matches!(name.as_str(), "utf-16le" | "unicode"),
        source::Encoding::Utf16Be { .. } => matches!(name.as_str(), "utf-16be" | "unicodefffe"),
        _ => false,
    }
}
