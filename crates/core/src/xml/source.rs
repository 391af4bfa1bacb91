//! A config file's bytes as text, and back to the very same bytes.
//!
//! .NET config files are UTF-8 (with or without a byte-order mark), UTF-16, or — declared in
//! the XML declaration — a single-byte code page .NET supports (`iso-8859-1`, `windows-1252`,
//! `us-ascii`, ...; decoded with `encoding_rs`). Everything else in the core works on a
//! `String`; this module remembers how the bytes were encoded so that writing the text back
//! reproduces every byte that was not edited, and refuses a character the encoding cannot
//! hold instead of writing other bytes.

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
    /// A single-byte code page named by the XML declaration (no BOM).
    SingleByte {
        /// Its canonical name: `iso-8859-1`, `us-ascii`, or an `encoding_rs` name.
        name: &'static str,
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
            Self::SingleByte { name } => name,
        }
    }

    /// The first character of `text` this encoding cannot hold, if any.
    pub fn unrepresentable(self, text: &str) -> Option<char> {
        let Self::SingleByte { name } = self else {
            return None;
        };
        match name {
            "us-ascii" => text.chars().find(|c| !c.is_ascii()),
            "iso-8859-1" => text.chars().find(|c| u32::from(*c) > 0xFF),
            _ => {
                let enc = encoding_rs::Encoding::for_label(name.as_bytes())?;
                text.chars().find(|c| {
                    let mut buf = [0u8; 4];
                    let (_, _, unmappable) = enc.encode(c.encode_utf8(&mut buf));
                    unmappable
                })
            }
        }
    }
}

/// The single-byte encoding .NET would use for a declared `encoding` name, if it is one k2cse
/// reads (the code pages `Encoding.GetEncoding` knows that are one byte per character).
fn single_byte(declared: &str) -> Option<&'static str> {
    let lower = declared.trim().to_ascii_lowercase();
    match lower.as_str() {
        // .NET's Latin-1 is the real ISO-8859-1 (0x80-0x9F are C1 controls), not windows-1252
        // as the WHATWG label mapping in encoding_rs would have it.
        "iso-8859-1" | "iso8859-1" | "latin1" | "l1" | "iso_8859-1" | "cp819" | "ibm819" => {
            Some("iso-8859-1")
        }
        "us-ascii" | "ascii" | "us" | "ansi_x3.4-1968" | "iso646-us" | "cp367" => Some("us-ascii"),
        _ => {
            let enc = encoding_rs::Encoding::for_label(lower.as_bytes())?;
            // Only single-byte encodings: the multi-byte ones are not needed for K2 configs.
            let single = enc != encoding_rs::UTF_8
                && enc != encoding_rs::UTF_16LE
                && enc != encoding_rs::UTF_16BE
                && enc.is_single_byte();
            single.then(|| enc.name())
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

/// UTF-8's byte-order mark.
const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

impl Drop for SourceText {
    /// Config text can hold passwords (and decrypted sections always do): wipe it, spare
    /// capacity included (what a shorter edit left past the end was text too). The same
    /// volatile writes as `zeroize`, a word at a time where aligned: `String::zeroize` writes
    /// byte by byte, which for a 2.4 MB file was 5% of a whole `set`.
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        let mut bytes = std::mem::take(&mut self.text).into_bytes();
        bytes.resize(bytes.capacity(), 0);
        let (head, words, tail) = bytemuck::pod_align_to_mut::<u8, u64>(&mut bytes);
        head.zeroize();
        words.zeroize();
        tail.zeroize();
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
        // Without a BOM, an ASCII-compatible file is what its declaration says it is.
        let encoding = match encoding {
            Encoding::Utf8 { bom: false } => declared_in_bytes(&bytes)
                .and_then(single_byte)
                .map_or(encoding, |name| Encoding::SingleByte { name }),
            other => other,
        };
        let text = match encoding {
            Encoding::SingleByte { name } => decode_single_byte(path, &bytes, name)?,
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
                    out.extend_from_slice(UTF8_BOM);
                }
                out.extend_from_slice(self.text.as_bytes());
                out
            }
            Encoding::Utf16Le { bom } => encode_utf16(&self.text, bom, u16::to_le_bytes),
            Encoding::Utf16Be { bom } => encode_utf16(&self.text, bom, u16::to_be_bytes),
            Encoding::SingleByte { name } => encode_single_byte(&self.text, name),
        }
    }

    /// Runs `f` on the encoded bytes as slices to write one after the other. For UTF-8 this
    /// borrows the text instead of copying it (a large file is not held twice).
    pub fn with_encoded<R>(&self, f: impl FnOnce(&[&[u8]]) -> R) -> R {
        match self.encoding {
            Encoding::Utf8 { bom } => {
                let bom: &[u8] = if bom { UTF8_BOM } else { &[] };
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
            // A UTF-16 file is read by its bytes whatever it declares; a declaration .NET's
            // reader cannot follow from UTF-16 (it switches to it and then fails) is the lint
            // error K2C060, not a refusal to load: the admin needs to see and fix the file.
            _ if is_utf16 => true,
            // UTF-8 in a UTF-8 file; UTF-16 in a UTF-8 file is K2C060 too.
            "utf-8" | "utf8" | "utf-16" | "utf-16le" | "utf-16be" | "unicode" => true,
            _ if matches!(self.encoding, Encoding::SingleByte { .. }) => true,
            // A code page k2cse does not read, or one a UTF-8 BOM contradicts.
            _ => self.text.is_ascii(),
        };
        if fine {
            return Ok(());
        }
        Err(Error::Encoding {
            location: Location::new(path, 1, 1),
            message: format!(
                "the XML declaration says encoding=\"{declared}\" but the file is {} with \
                 non-ASCII text; k2cse reads UTF-8, UTF-16 and single-byte code pages \
                 (re-save the file as UTF-8)",
                self.encoding.label()
            ),
        })
    }
}

/// The `encoding` pseudo-attribute of the XML declaration, if any.
pub(crate) fn declared_encoding(text: &str) -> Option<&str> {
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

/// The declared encoding, read from the bytes of an ASCII-compatible file.
fn declared_in_bytes(bytes: &[u8]) -> Option<&str> {
    let head = &bytes[..bytes.len().min(512)];
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end + 2]).ok()?;
    declared_encoding(decl)
}

fn decode_single_byte(path: &Path, bytes: &[u8], name: &'static str) -> Result<String> {
    let refuse = |at: usize, why: String| {
        let before = String::from_utf8_lossy(&bytes[..at]);
        let (line, column) = crate::xml::lines::line_column(&before, before.len());
        Error::Encoding {
            location: Location::new(path, line, column),
            message: why,
        }
    };
    match name {
        "iso-8859-1" => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        "us-ascii" => match bytes.iter().position(|b| !b.is_ascii()) {
            // .NET would read '?' there: the file does not hold what it seems to.
            Some(at) => Err(refuse(
                at,
                format!(
                    "byte 0x{:02X} is not ASCII, but the file declares encoding=\"us-ascii\" (.NET reads it as '?'); fix the declaration",
                    bytes[at]
                ),
            )),
            None => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        },
        _ => {
            let enc = encoding_rs::Encoding::for_label(name.as_bytes())
                .ok_or_else(|| refuse(0, format!("unknown encoding {name}")))?;
            enc.decode_without_bom_handling_and_without_replacement(bytes)
                .map(std::borrow::Cow::into_owned)
                .ok_or_else(|| refuse(0, format!("the file holds bytes that are not {name}")))
        }
    }
}

fn encode_single_byte(text: &str, name: &'static str) -> Vec<u8> {
    match name {
        // Callers refuse characters the encoding cannot hold (`unrepresentable`) before they
        // reach the text; anything else here would be a bug, written as '?' as .NET does.
        "iso-8859-1" | "us-ascii" => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect(),
        _ => encoding_rs::Encoding::for_label(name.as_bytes()).map_or_else(
            || text.as_bytes().to_vec(),
            |enc| enc.encode(text).0.into_owned(),
        ),
    }
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
    fn declared_single_byte_encodings_are_read_and_written_back() {
        for (declared, byte, c) in [
            ("iso-8859-1", 0xE9, 'é'),
            ("ISO-8859-1", 0x80, '\u{80}'),
            ("windows-1252", 0x80, '€'),
            ("windows-1250", 0x8A, 'Š'),
        ] {
            let mut bytes =
                format!("<?xml version='1.0' encoding='{declared}'?><configuration>").into_bytes();
            bytes.push(byte);
            bytes.extend_from_slice(b"</configuration>");
            let src = round_trip(&bytes);
            assert!(src.text.contains(c), "{declared}");
            assert!(matches!(src.encoding, Encoding::SingleByte { .. }));
            // A character the code page cannot hold is found, never written as other bytes.
            assert_eq!(
                src.encoding.unrepresentable("ok€😀"),
                Some(if declared.starts_with("windows") {
                    '😀'
                } else {
                    '€'
                })
            );
        }
        let ascii = b"<?xml version='1.0' encoding='us-ascii'?><configuration>\xE9</configuration>";
        assert!(SourceText::decode(Path::new("a"), ascii.to_vec()).is_err());
        // A UTF-8 BOM with a legacy declaration: the BOM decides, non-ASCII text is refused.
        let bom =
            "\u{FEFF}<?xml version='1.0' encoding='windows-1252'?><configuration>é</configuration>";
        let err = SourceText::decode(Path::new("a"), bom.as_bytes().to_vec()).unwrap_err();
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
