//! `serde_json` is the oracle: every document is written by both and compared byte for byte.

use std::collections::BTreeMap;
use std::io;

use serde::Serialize;
use serde_json::{Value, json};

use super::{first_to_escape, to_writer_pretty};

fn ours<T: Serialize + ?Sized>(value: &T) -> io::Result<String> {
    let mut out = Vec::new();
    to_writer_pretty(&mut out, value)?;
    Ok(String::from_utf8(out).unwrap())
}

fn same_as_serde_json<T: Serialize + ?Sized>(value: &T) {
    let theirs = serde_json::to_string_pretty(value).unwrap();
    assert_eq!(ours(value).unwrap(), theirs);
}

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> usize {
        usize::try_from(self.next() % n).unwrap()
    }

    /// Strings of every length around the 16-byte blocks, with the characters that need an
    /// escape placed anywhere, next to plain ASCII and multi-byte characters.
    fn string(&mut self) -> String {
        const PIECES: &[&str] = &[
            "a", "Z", "0", " ", "=", ";", "\"", "\\", "\n", "\r", "\t", "\u{8}", "\u{c}", "\0",
            "\u{1}", "\u{1f}", "\u{7f}", "é", "€", "😀", "/", "'",
        ];
        let len = self.below(40);
        (0..len)
            .map(|_| {
                // Mostly plain letters, as real values are.
                if self.below(4) == 0 {
                    PIECES[self.below(PIECES.len() as u64)]
                } else {
                    PIECES[self.below(3)]
                }
            })
            .collect()
    }

    fn value(&mut self, depth: usize) -> Value {
        let leaf = depth > 5 || self.below(3) == 0;
        match (leaf, self.below(8)) {
            (true, 0) => Value::Null,
            (true, 1) => Value::Bool(self.below(2) == 0),
            (true, 2) => json!(self.next()),
            (true, 3) => json!(-i64::try_from(self.next() >> 1).unwrap()),
            (true, 4) => json!(f64::from_bits(self.next() >> 2) / 3.0),
            (true, _) => Value::String(self.string()),
            (false, 0..=3) => {
                let len = self.below(5);
                Value::Array((0..len).map(|_| self.value(depth + 1)).collect())
            }
            (false, _) => {
                let len = self.below(5);
                Value::Object(
                    (0..len)
                        .map(|_| (self.string(), self.value(depth + 1)))
                        .collect(),
                )
            }
        }
    }
}

#[test]
fn generated_documents_are_written_as_serde_json_writes_them() {
    let mut generator = Gen(0x2545_F491_4F6C_DD1D);
    for _ in 0..2_000 {
        same_as_serde_json(&generator.value(0));
    }
}

#[test]
fn deep_nesting_and_empty_containers_indent_as_serde_json_does() {
    // Past the 16 levels the line-break constant covers.
    let mut deep = json!({"leaf": [1, "two", null, {}, []]});
    for level in 0..40 {
        deep = json!({"level": level, "next": deep, "list": [level, "é\"\n", [], {}]});
    }
    for value in [
        deep,
        json!([]),
        json!({}),
        json!("x"),
        json!([[]]),
        json!({"a": {}}),
    ] {
        same_as_serde_json(&value);
    }
}

#[test]
fn every_serde_shape_is_written_as_serde_json_writes_it() {
    #[derive(Serialize)]
    struct Unit;
    #[derive(Serialize)]
    struct Newtype(u8);
    #[derive(Serialize)]
    struct Tuple(i32, &'static str);
    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(Option<u8>),
        Tuple(u8, Vec<u8>),
        Struct { a: bool, b: () },
        Empty {},
    }
    #[derive(Serialize)]
    struct All<'a> {
        unit: Unit,
        newtype: Newtype,
        tuple: Tuple,
        pair: (char, f32),
        shapes: Vec<Shape>,
        #[serde(with = "serde_bytes_as_seq")]
        bytes: &'a [u8],
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        none: Option<u8>,
        big: (u128, i128, i8, u16),
        floats: (f64, f64, f32),
        int_keys: BTreeMap<i64, &'a str>,
        bool_keys: BTreeMap<bool, u8>,
        char_keys: BTreeMap<char, u8>,
        path: &'a std::path::Path,
    }
    mod serde_bytes_as_seq {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }
    let all = All {
        unit: Unit,
        newtype: Newtype(7),
        tuple: Tuple(-3, "t"),
        pair: ('"', 1.5),
        shapes: vec![
            Shape::Unit,
            Shape::Newtype(None),
            Shape::Newtype(Some(1)),
            Shape::Tuple(2, vec![]),
            Shape::Tuple(3, vec![4, 5]),
            Shape::Struct { a: true, b: () },
            Shape::Empty {},
        ],
        bytes: b"\x00\xff",
        skipped: None,
        none: None,
        big: (u128::MAX, i128::MIN, i8::MIN, u16::MAX),
        floats: (f64::NAN, 1e300, f32::MIN_POSITIVE),
        int_keys: [(-1, "minus"), (2, "two")].into(),
        bool_keys: [(false, 0), (true, 1)].into(),
        char_keys: [('\n', 1)].into(),
        path: std::path::Path::new("C:\\Program Files\\K2\\Host Server\\Bin"),
    };
    same_as_serde_json(&all);
    same_as_serde_json(&Shape::Struct { a: false, b: () });
    same_as_serde_json(&Shape::Newtype(Some(9)));
    // Float keys, finite only (as serde_json).
    let floats: BTreeMap<Key, u8> = [(Key(1.5), 1)].into();
    same_as_serde_json(&floats);
}

/// A float map key (`serde_json` quotes finite ones and refuses the rest).
struct Key(f64);

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

#[test]
fn keys_serde_json_refuses_are_refused() {
    let vec_key: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
    let nan_key: BTreeMap<Key, u8> = [(Key(f64::NAN), 1)].into();
    let unit_key: BTreeMap<(), u8> = [((), 1)].into();
    assert!(serde_json::to_string_pretty(&vec_key).is_err());
    assert!(ours(&vec_key).is_err());
    assert!(serde_json::to_string_pretty(&nan_key).is_err());
    assert!(ours(&nan_key).is_err());
    assert!(serde_json::to_string_pretty(&unit_key).is_err());
    assert!(ours(&unit_key).is_err());
}

/// A writer that counts its calls and can be told to fail.
struct Recorder {
    written: Vec<u8>,
    calls: usize,
    fail: bool,
}

impl io::Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.fail {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"));
        }
        self.calls += 1;
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn large_documents_go_out_in_64_kib_writes_and_write_errors_surface() {
    let rows: Vec<Value> = (0..20_000)
        .map(|i| json!({"name": format!("entry {i}"), "value": "x=\"y\";z"}))
        .collect();
    let mut out = Recorder {
        written: Vec::new(),
        calls: 0,
        fail: false,
    };
    to_writer_pretty(&mut out, &rows).unwrap();
    let theirs = serde_json::to_string_pretty(&rows).unwrap();
    assert_eq!(String::from_utf8(out.written).unwrap(), theirs);
    assert!(
        out.calls <= theirs.len() / (64 * 1024) + 2,
        "{} writes for {} bytes",
        out.calls,
        theirs.len()
    );
    let mut broken = Recorder {
        written: Vec::new(),
        calls: 0,
        fail: true,
    };
    let err = to_writer_pretty(&mut broken, &rows).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

#[test]
fn the_block_search_finds_the_first_byte_to_escape_wherever_it_is() {
    for len in 0..70 {
        for at in 0..len {
            for special in [b'"', b'\\', 0, 0x1f] {
                let mut bytes = vec![b'a'; len];
                bytes[at] = special;
                assert_eq!(first_to_escape(&bytes), Some(at), "len {len} at {at}");
                // A second one later does not move the answer.
                if let Some(last) = bytes.last_mut().filter(|_| at + 1 < len) {
                    *last = b'\\';
                }
                assert_eq!(first_to_escape(&bytes), Some(at));
            }
        }
        assert_eq!(first_to_escape(&vec![b'a'; len]), None);
        assert_eq!(first_to_escape("é€😀\u{7f}".repeat(len).as_bytes()), None);
    }
}

#[test]
fn items_written_ahead_fit_in_their_array_as_if_written_there() {
    use super::{Items, Raw};
    #[derive(Serialize)]
    struct Doc<'a> {
        name: &'a str,
        list: Vec<Raw<'a>>,
    }
    let mut generator = Gen(0xD1B5_4A32_D192_ED03);
    let values: Vec<Value> = (0..40).map(|_| generator.value(0)).collect();
    // The items cut into runs of 1 to 6, each run one `Raw`.
    for run in 1..7 {
        let chunks: Vec<Items> = values
            .chunks(run)
            .map(|chunk| {
                let mut items = Items::new(1, Vec::new());
                for v in chunk {
                    items.push(v).unwrap();
                }
                items
            })
            .collect();
        let doc = Doc {
            name: "x",
            list: chunks.iter().map(|c| Raw(c.text())).collect(),
        };
        let expected = json!({"name": "x", "list": values});
        assert_eq!(
            ours(&doc).unwrap(),
            serde_json::to_string_pretty(&expected).unwrap()
        );
    }
    // Large enough to go straight to the writer.
    let mut big = Items::new(1, Vec::new());
    let rows: Vec<Value> = (0..5_000).map(|i| json!({"i": i, "s": "x\"y"})).collect();
    for v in &rows {
        big.push(v).unwrap();
    }
    let doc = Doc {
        name: "big",
        list: vec![Raw(big.text())],
    };
    let expected = json!({"name": "big", "list": rows});
    assert_eq!(
        ours(&doc).unwrap(),
        serde_json::to_string_pretty(&expected).unwrap()
    );
}
