//! Pretty JSON output, byte for byte what `serde_json::to_writer_pretty` writes (two-space
//! indent), from any `Serialize` value.
//!
//! Why not `serde_json` itself: it escapes strings in a byte-by-byte loop inside the crate that
//! no `Formatter` can replace, and that loop was 13–15% of `list --json` (13 MB of output at
//! 10,000 entries). Here a string is searched 16 bytes at a time for a byte that needs an
//! escape (a branch-free test the compiler turns into vector instructions) and copied whole
//! when it has none, which is nearly always. Output goes to one `Vec` that is handed to the
//! writer every 64 KiB, so each token is a copy into a buffer, not an `io::Write` call.
//! Numbers are written by `itoa` and, for floats, by `serde_json` itself. The unit tests
//! compare the output with `serde_json`'s on generated documents; a map key `serde_json` would
//! refuse (not a string, number, boolean or character) is refused here too.

use std::fmt::Display;
use std::io;

use serde::ser::{self, Serialize};

/// Writes `value` as pretty JSON to `out` (no newline at the end).
pub fn to_writer_pretty<W: io::Write + ?Sized, T: Serialize + ?Sized>(
    out: &mut W,
    value: &T,
) -> io::Result<()> {
    let mut ser = Serializer {
        out,
        buf: Vec::with_capacity(FLUSH_AT + 4096),
        flush_at: FLUSH_AT,
        level: 0,
        has_value: false,
        raw_next: false,
    };
    value.serialize(&mut ser).map_err(Error::into_io)?;
    ser.flush()
}

/// The buffer is handed to the writer once it holds this much.
const FLUSH_AT: usize = 64 * 1024;

/// The items of an array, written ahead of the array itself (on another thread, say) at the
/// depth they will have in it, to be put in with [`Raw`]: each after a comma and a line
/// break, as the array would put them, except the first, before which the array puts its own.
#[derive(Debug)]
pub struct Items {
    text: Vec<u8>,
    level: usize,
}

impl Items {
    /// Items of an array `level` deep (1 for an array that is the value of a top-level key),
    /// written into `buffer` (emptied first: a buffer given back by [`Self::into_buffer`]
    /// saves growing a new one).
    pub fn new(level: usize, mut buffer: Vec<u8>) -> Self {
        buffer.clear();
        Self {
            text: buffer,
            level: level + 1,
        }
    }

    /// The buffer, for the next [`Self::new`].
    pub fn into_buffer(self) -> Vec<u8> {
        self.text
    }

    /// Appends `value` as the next item.
    pub fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        let mut ser = Serializer {
            out: &mut io::sink(),
            buf: std::mem::take(&mut self.text),
            flush_at: usize::MAX,
            level: self.level,
            has_value: false,
            raw_next: false,
        };
        if !ser.buf.is_empty() {
            ser.item(false);
        }
        let written = value.serialize(&mut ser).map_err(Error::into_io);
        self.text = ser.buf;
        written
    }

    /// The items written so far, as JSON text (UTF-8: only [`Serializer`] wrote them).
    pub fn text(&self) -> &[u8] {
        &self.text
    }
}

/// JSON text written as it is, unchecked: one or more array items made by [`Items`].
/// Only this module's writer knows it; `serde_json` would write an array of byte values.
#[derive(Debug)]
pub struct Raw<'a>(pub &'a [u8]);

/// The newtype name that marks a [`Raw`] value.
const RAW: &str = "$k2cse::json::Raw";

impl Serialize for Raw<'_> {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Bytes<'a>(&'a [u8]);
        impl Serialize for Bytes<'_> {
            fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_bytes(self.0)
            }
        }
        serializer.serialize_newtype_struct(RAW, &Bytes(self.0))
    }
}

/// A line break followed by enough indentation for most documents (16 levels).
const BREAK: &[u8] = b"\n                                ";

/// Why a value could not be written: the writer failed, or the value is not JSON.
#[derive(Debug)]
pub struct Error(ErrorKind);

#[derive(Debug)]
enum ErrorKind {
    Io(io::Error),
    Custom(String),
}

impl Error {
    fn into_io(self) -> io::Error {
        match self.0 {
            ErrorKind::Io(err) => err,
            ErrorKind::Custom(message) => io::Error::new(io::ErrorKind::InvalidData, message),
        }
    }

    fn key_must_be_a_string() -> Self {
        Self(ErrorKind::Custom("key must be a string".to_owned()))
    }
}

impl Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            ErrorKind::Io(err) => err.fmt(f),
            ErrorKind::Custom(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Self(ErrorKind::Custom(msg.to_string()))
    }
}

/// The pretty-printing state is `serde_json`'s `PrettyFormatter`'s: the depth, and whether
/// the innermost open array or object has a value yet.
struct Serializer<'w, W: io::Write + ?Sized> {
    out: &'w mut W,
    buf: Vec<u8>,
    /// `buf` goes to `out` once it holds this much (never, for [`Items`]).
    flush_at: usize,
    level: usize,
    has_value: bool,
    /// The next bytes are a [`Raw`]'s text: written as they are.
    raw_next: bool,
}

impl<W: io::Write + ?Sized> Serializer<'_, W> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Called between values: hands the buffer over once it is full enough.
    fn maybe_flush(&mut self) -> Result<(), Error> {
        if self.buf.len() >= self.flush_at {
            self.flush().map_err(|e| Error(ErrorKind::Io(e)))?;
        }
        Ok(())
    }

    fn line(&mut self, prefix: &[u8]) {
        self.buf.extend_from_slice(prefix);
        let width = 1 + 2 * self.level;
        if let Some(line) = BREAK.get(..width) {
            self.buf.extend_from_slice(line);
        } else {
            self.buf.push(b'\n');
            (0..self.level).for_each(|_| self.buf.extend_from_slice(b"  "));
        }
    }

    /// `[` or `{`: one level deeper, nothing in it yet.
    fn open(&mut self, bracket: u8) {
        self.level += 1;
        self.has_value = false;
        self.buf.push(bracket);
    }

    /// `]` or `}`, on a line of its own unless the array or object is empty.
    fn close(&mut self, bracket: u8) {
        self.level -= 1;
        if self.has_value {
            self.line(b"");
        }
        self.buf.push(bracket);
    }

    /// The line an array value or an object key starts on, after a comma unless it is first.
    fn item(&mut self, first: bool) {
        self.line(if first { b"" } else { b"," });
    }

    fn string(&mut self, s: &str) {
        self.buf.push(b'"');
        escape_into(&mut self.buf, s.as_bytes());
        self.buf.push(b'"');
    }

    fn integer<I: itoa::Integer>(&mut self, value: I) {
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    /// `{"variant": ` of an enum's newtype, tuple or struct variant.
    fn variant_key(&mut self, variant: &str) {
        self.open(b'{');
        self.item(true);
        self.string(variant);
        self.buf.extend_from_slice(b": ");
    }

    /// The `}` after a variant's value.
    fn variant_end(&mut self) {
        self.has_value = true;
        self.close(b'}');
    }
}

/// Escapes as `serde_json` does: `"` and `\` with a backslash, the control characters
/// U+0000–U+001F as `\b`, `\t`, `\n`, `\f`, `\r` or `\u00xx`; everything else as it is.
fn escape_into(buf: &mut Vec<u8>, mut bytes: &[u8]) {
    while let Some(at) = first_to_escape(bytes) {
        buf.extend_from_slice(&bytes[..at]);
        let byte = bytes[at];
        let short = match byte {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            0x08 => Some(b'b'),
            0x09 => Some(b't'),
            0x0A => Some(b'n'),
            0x0C => Some(b'f'),
            0x0D => Some(b'r'),
            _ => None,
        };
        if let Some(letter) = short {
            buf.extend_from_slice(&[b'\\', letter]);
        } else {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let escaped = [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xF)],
            ];
            buf.extend_from_slice(&escaped);
        }
        bytes = &bytes[at + 1..];
    }
    buf.extend_from_slice(bytes);
}

fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// The index of the first byte that needs an escape. Whole 16-byte blocks are tested with a
/// fold that does not stop early, which the compiler vectorises; only a block that has such a
/// byte is searched byte by byte.
fn first_to_escape(bytes: &[u8]) -> Option<usize> {
    let mut blocks = bytes.chunks_exact(16);
    let mut offset = 0;
    for block in &mut blocks {
        if block.iter().fold(false, |any, &b| any | needs_escape(b)) {
            return block
                .iter()
                .position(|&b| needs_escape(b))
                .map(|at| offset + at);
        }
        offset += 16;
    }
    let rest = blocks.remainder();
    rest.iter()
        .position(|&b| needs_escape(b))
        .map(|at| offset + at)
}

/// The ten integer methods of a serde `Serializer`, each writing with `self.$write(v)`.
macro_rules! integers {
    ($write:ident: $($method:ident($ty:ty)),*) => {$(
        fn $method(self, v: $ty) -> Result<(), Error> {
            self.$write(v);
            Ok(())
        }
    )*};
}

/// An open array, object or enum variant; `first` says whether an item was written yet.
struct Compound<'s, 'w, W: io::Write + ?Sized> {
    ser: &'s mut Serializer<'w, W>,
    first: bool,
    /// Closing also closes the `{"variant": …}` around the array or object.
    in_variant: bool,
}

/// Opens an array (`[`) or object (`{`), inside `{"variant": …}` for an enum's variant.
fn compound<'s, 'w, W: io::Write + ?Sized>(
    ser: &'s mut Serializer<'w, W>,
    bracket: u8,
    variant: Option<&str>,
) -> Compound<'s, 'w, W> {
    if let Some(variant) = variant {
        ser.variant_key(variant);
    }
    ser.open(bracket);
    Compound {
        ser,
        first: true,
        in_variant: variant.is_some(),
    }
}

impl<W: io::Write + ?Sized> Compound<'_, '_, W> {
    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.ser.item(self.first);
        self.first = false;
        value.serialize(&mut *self.ser)?;
        self.ser.has_value = true;
        self.ser.maybe_flush()
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        self.ser.item(self.first);
        self.first = false;
        self.ser.string(key);
        self.ser.buf.extend_from_slice(b": ");
        value.serialize(&mut *self.ser)?;
        self.ser.has_value = true;
        Ok(())
    }

    fn finish(self, bracket: u8) {
        self.ser.close(bracket);
        if self.in_variant {
            self.ser.variant_end();
        }
    }
}

impl<'s, 'w, W: io::Write + ?Sized> ser::Serializer for &'s mut Serializer<'w, W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'s, 'w, W>;
    type SerializeTuple = Compound<'s, 'w, W>;
    type SerializeTupleStruct = Compound<'s, 'w, W>;
    type SerializeTupleVariant = Compound<'s, 'w, W>;
    type SerializeMap = Compound<'s, 'w, W>;
    type SerializeStruct = Compound<'s, 'w, W>;
    type SerializeStructVariant = Compound<'s, 'w, W>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.buf
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    integers!(integer:
        serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64),
        serialize_i128(i128), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
        serialize_u64(u64), serialize_u128(u128));

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        // serde_json's text for floats (shortest round-trip; `null` when not finite).
        serde_json::to_writer(&mut self.buf, &v).map_err(ser::Error::custom)
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        serde_json::to_writer(&mut self.buf, &v).map_err(ser::Error::custom)
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.string(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.string(v);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq as _;
        if std::mem::take(&mut self.raw_next) {
            // A [`Raw`] text; a large one (a chunk of array items) goes straight to the writer.
            if v.len() >= self.flush_at {
                self.flush().map_err(|e| Error(ErrorKind::Io(e)))?;
                self.out.write_all(v).map_err(|e| Error(ErrorKind::Io(e)))?;
            } else {
                self.buf.extend_from_slice(v);
            }
            return Ok(());
        }
        let mut seq = self.serialize_seq(Some(v.len()))?;
        v.iter().try_for_each(|b| seq.serialize_element(b))?;
        ser::SerializeSeq::end(seq)
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.buf.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.string(variant);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.raw_next = name == RAW;
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.variant_key(variant);
        value.serialize(&mut *self)?;
        self.variant_end();
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Ok(compound(self, b'[', None))
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Ok(compound(self, b'[', Some(variant)))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Ok(compound(self, b'{', None))
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Ok(compound(self, b'{', Some(variant)))
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.string(&value.to_string());
        Ok(())
    }
}

/// serde's four array-like traits, which differ only in the name of their one method.
macro_rules! array_like {
    ($($serde_trait:ident :: $method:ident),*) => {$(
        impl<W: io::Write + ?Sized> ser::$serde_trait for Compound<'_, '_, W> {
            type Ok = ();
            type Error = Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.value(value)
            }

            fn end(self) -> Result<(), Error> {
                Compound::finish(self, b']');
                Ok(())
            }
        }
    )*};
}

array_like!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl<W: io::Write + ?Sized> ser::SerializeMap for Compound<'_, '_, W> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.ser.item(self.first);
        self.first = false;
        key.serialize(MapKey(&mut *self.ser))
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.ser.buf.extend_from_slice(b": ");
        value.serialize(&mut *self.ser)?;
        self.ser.has_value = true;
        self.ser.maybe_flush()
    }

    fn end(self) -> Result<(), Error> {
        Compound::finish(self, b'}');
        Ok(())
    }
}

/// serde's two struct traits (a struct, an enum's struct variant): the same method.
macro_rules! struct_like {
    ($($serde_trait:ident),*) => {$(
        impl<W: io::Write + ?Sized> ser::$serde_trait for Compound<'_, '_, W> {
            type Ok = ();
            type Error = Error;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(key, value)
            }

            fn end(self) -> Result<(), Error> {
                Compound::finish(self, b'}');
                Ok(())
            }
        }
    )*};
}

struct_like!(SerializeStruct, SerializeStructVariant);

/// A map key: written as a string, as `serde_json` does for strings, characters, numbers
/// and booleans; anything else is refused, as `serde_json` refuses it.
struct MapKey<'s, 'w, W: io::Write + ?Sized>(&'s mut Serializer<'w, W>);

impl<W: io::Write + ?Sized> MapKey<'_, '_, W> {
    fn quoted(self, text: impl Display) {
        self.0.string(&text.to_string());
    }

    /// A float key: `serde_json`'s text for the number, quoted; only finite ones.
    fn float<F: Serialize>(self, finite: bool, value: &F) -> Result<(), Error> {
        if !finite {
            return Err(ser::Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            ));
        }
        let text = serde_json::to_string(value).map_err(ser::Error::custom)?;
        self.0.string(&text);
        Ok(())
    }
}

impl<W: io::Write + ?Sized> ser::Serializer for MapKey<'_, '_, W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.0.string(v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.quoted(v);
        Ok(())
    }

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(v);
        Ok(())
    }

    integers!(quoted:
        serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64),
        serialize_i128(i128), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
        serialize_u64(u64), serialize_u128(u128));

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.float(v.is_finite(), &v)
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.float(v.is_finite(), &v)
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(Error::key_must_be_a_string())
    }

    fn serialize_none(self) -> Result<(), Error> {
        Err(Error::key_must_be_a_string())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        Err(Error::key_must_be_a_string())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(Error::key_must_be_a_string())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(Error::key_must_be_a_string())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(Error::key_must_be_a_string())
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(Error::key_must_be_a_string())
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(Error::key_must_be_a_string())
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Error::key_must_be_a_string())
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(Error::key_must_be_a_string())
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(Error::key_must_be_a_string())
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Error::key_must_be_a_string())
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.quoted(value);
        Ok(())
    }
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
