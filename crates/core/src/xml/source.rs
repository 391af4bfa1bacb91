//! A config file's bytes as text, and back to the very same bytes.
//!
//! .NET config files are UTF-8 (with or without a byte-order mark) or UTF-16 with a BOM.
//! Everything else in the core works on a `String`; this module remembers how the bytes were
//! encoded so that writing the text back reproduces every byte that was not edited.

use std::path::Path;

use crate::error::{Error, Location, Result};

/// How a file's text is encoded on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// UTF-8, `bom` telling whether the file starts with EF BB BF.
    Utf8 {
        /// Starts with a byte-order mark.
        bom: bool,
    },
    /// UTF-16 little-endian.
    Utf16Le {
        /// Starts with a byte-order mark (FF FE).
        bom: bool,
    },
    /// UTF-16 big-endian.
    Utf16Be {
        /// Starts with a byte-order mark (FE FF).
        bom: bool,
    },
}

impl Encoding {
    /// A short name for messages and JSON: `utf-8`, `utf-8-bom`, `utf-16le`, ...
    pub fn label(self) -> &'static str {
        match self {
            Self::Utf8 { bom: false } => "utf-8",
            Self::Utf8 { bom: true } => "utf-8-bom",
            Self::Utf16Le { .. } => "utf-16le",
            Self::Utf16Be { .. } => "utf-16be",
        }
    }
}

/// Decoded file text plus what is needed to encode it back identically.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceText {
    /// The text, without any byte-order mark.
    pub text: String,
    /// The encoding found on disk.
    pub encoding: Encoding,
}

impl Drop for SourceText {
    /// Config text can hold passwords (and decrypted sections always do): wipe it.
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.text);
    }
}

impl std::fmt::Debug for SourceText {
    /// The text may hold passwords in plain text; show only its size.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceText")
            .field("len", &self.text.len())
            .field("encoding", &self.encoding)
            .finish()
    }
}

impl SourceText {
    /// Decodes `bytes` read from `path` (the path is only used in error messages).
    pub fn decode(path: &Path, bytes: Vec<u8>) -> Result<Self> {
        let (encoding, skip) = match bytes.as_slice() {
            [0xEF, 0xBB, 0xBF, ..] => (Encoding::Utf8 { bom: true }, 3),
            [0xFF, 0xFE, ..] => (Encoding::Utf16Le { bom: true }, 2),
            [0xFE, 0xFF, ..] => (Encoding::Utf16Be { bom: true }, 2),
            // XML's auto-detection of BOM-less UTF-16 from the bytes of "<?".
            [0x3C, 0x00, 0x3F, 0x00, ..] => (Encoding::Utf16Le { bom: false }, 0),
            [0x00, 0x3C, 0x00, 0x3F, ..] => (Encoding::Utf16Be { bom: false }, 0),
            _ => (Encoding::Utf8 { bom: false }, 0),
        };
        let text = match encoding {
            Encoding::Utf8 { .. } => decode_utf8(path, bytes, skip)?,
            Encoding::Utf16Le { .. } => decode_utf16(path, &bytes[skip..], u16::from_le_bytes)?,
            Encoding::Utf16Be { .. } => decode_utf16(path, &bytes[skip..], u16::from_be_bytes)?,
        };
        let source = Self { text, encoding };
        source.check_declared_encoding(path)?;
        Ok(source)
    }

    /// Encodes the text back into bytes with the original encoding and byte-order mark.
    pub fn encode(&self) -> Vec<u8> {
        match self.encoding {
            Encoding::Utf8 { bom } => {
                let mut out = Vec::with_capacity(self.text.len() + 3);
                if bom {
                    out.extend_from_slice(&[0xEF, 0xBB, 0xBF]);
                }
                out.extend_from_slice(self.text.as_bytes());
                out
            }
            Encoding::Utf16Le { bom } => encode_utf16(&self.text, bom, u16::to_le_bytes),
            Encoding::Utf16Be { bom } => encode_utf16(&self.text, bom, u16::to_be_bytes),
        }
    }

    /// Runs `f` on the encoded bytes as slices to write one after the other. For UTF-8 this
    /// borrows the text instead of copying it (a large file is not held twice).
    pub fn with_encoded<R>(&self, f: impl FnOnce(&[&[u8]]) -> R) -> R {
        match self.encoding {
            Encoding::Utf8 { bom } => {
                let bom: &[u8] = if bom { &[0xEF, 0xBB, 0xBF] } else { &[] };
                f(&[bom, self.text.as_bytes()])
            }
            _ => f(&[&self.encode()]),
        }
    }

    /// The line ending the file uses most: `\r\n` or `\n`.
    pub fn line_ending(&self) -> &'static str {
        let crlf = self.text.matches("\r\n").count();
        let lf = self.text.matches('\n').count() - crlf;
        if crlf > lf { "\r\n" } else { "\n" }
    }

    /// A declared encoding we do not decode is only acceptable when the text is pure ASCII
    /// (then UTF-8 and that encoding agree byte for byte).
    fn check_declared_encoding(&self, path: &Path) -> Result<()> {
        let Some(declared) = declared_encoding(&self.text) else {
            return Ok(());
        };
        let lower = declared.to_ascii_lowercase();
        let is_utf16 = matches!(
            self.encoding,
            Encoding::Utf16Le { .. } | Encoding::Utf16Be { .. }
        );
        let fine = match lower.as_str() {
            "utf-8" | "utf8" => !is_utf16,
            "utf-16" | "utf-16le" | "utf-16be" | "unicode" => true,
            // us-ascii, windows-1252, iso-8859-1, ...
            _ => self.text.is_ascii(),
        };
        if fine {
            return Ok(());
        }
        Err(Error::Encoding {
            location: Location::new(path, 1, 1),
            message: format!(
                "the XML declaration says encoding=\"{declared}\" but the file is {} with \
                 non-ASCII text; k2cse reads UTF-8 and UTF-16 config files only (re-save the file \
                 as UTF-8)",
                self.encoding.label()
            ),
        })
    }
}

/// The `encoding` pseudo-attribute of the XML declaration, if any.
fn declared_encoding(text: &str) -> Option<&str> {
    let decl = text.strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &rest[1..];
    Some(&rest[..rest.find(quote)?])
}

fn decode_utf8(path: &Path, mut bytes: Vec<u8>, skip: usize) -> Result<String> {
    bytes.drain(..skip);
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        // `valid_up_to` bytes are valid UTF-8 by definition.
        let before = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        let (line, column) = crate::xml::lines::line_column(before, before.len());
        Error::Encoding {
            location: Location::new(path, line, column),
            message: format!(
                "byte 0x{:02X} at offset {} is not valid UTF-8 (re-save the file as UTF-8)",
                bytes[valid],
                valid + skip
            ),
        }
    })
}

fn decode_utf16(path: &Path, bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String> {
    if !bytes.len().is_multiple_of(2) {
        return Err(Error::Encoding {
            location: Location::new(path, 1, 1),
            message: "UTF-16 file has an odd number of bytes (truncated?)".to_owned(),
        });
    }
    let units = bytes.chunks_exact(2).map(|b| unit([b[0], b[1]]));
    let mut text = String::with_capacity(bytes.len() / 2);
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => text.push(c),
            Err(e) => {
                let (line, column) = crate::xml::lines::line_column(&text, text.len());
                return Err(Error::Encoding {
                    location: Location::new(path, line, column),
                    message: format!("unpaired UTF-16 surrogate 0x{:04X}", e.unpaired_surrogate()),
                });
            }
        }
    }
    Ok(text)
}

fn encode_utf16(text: &str, bom: bool, bytes: fn(u16) -> [u8; 2]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2 + 2);
    if bom {
        out.extend_from_slice(&bytes(0xFEFF));
    }
    for u in text.encode_utf16() {
        out.extend_from_slice(&bytes(u));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(bytes: &[u8]) -> SourceText {
        let src = SourceText::decode(Path::new("t.config"), bytes.to_vec()).unwrap();
        assert_eq!(src.encode(), bytes);
        src
    }

    #[test]
    fn every_supported_encoding_round_trips_byte_for_byte() {
        let text = "<?xml version=\"1.0\"?>\r\n<configuration>é😀</configuration>\r\n";
        assert_eq!(
            round_trip(text.as_bytes()).encoding,
            Encoding::Utf8 { bom: false }
        );
        let bom = [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat();
        assert_eq!(round_trip(&bom).text, text);
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(round_trip(&le).encoding, Encoding::Utf16Le { bom: true });
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(round_trip(&be).text, text);
        let le_nobom: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(
            round_trip(&le_nobom).encoding,
            Encoding::Utf16Le { bom: false }
        );
    }

    #[test]
    fn invalid_utf8_is_reported_with_its_position() {
        let err =
            SourceText::decode(Path::new("x.config"), b"<a>\n  \xFF</a>".to_vec()).unwrap_err();
        let loc = err.location().unwrap();
        assert_eq!((loc.line, loc.column), (2, 3));
        assert!(err.to_string().contains("0xFF"), "{err}");
    }

    #[test]
    fn a_declared_legacy_encoding_needs_ascii_text() {
        let ok = "<?xml version='1.0' encoding='windows-1252'?><configuration/>";
        assert!(SourceText::decode(Path::new("a"), ok.as_bytes().to_vec()).is_ok());
        let bad = "<?xml version='1.0' encoding='windows-1252'?><configuration>é</configuration>";
        let err = SourceText::decode(Path::new("a"), bad.as_bytes().to_vec()).unwrap_err();
        assert!(err.to_string().contains("windows-1252"), "{err}");
    }

    #[test]
    fn line_ending_is_the_majority() {
        let src = SourceText {
            text: "a\r\nb\r\nc\n".into(),
            encoding: Encoding::Utf8 { bom: false },
        };
        assert_eq!(src.line_ending(), "\r\n");
    }
}
