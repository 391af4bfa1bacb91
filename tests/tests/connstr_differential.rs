//! Differential test: k2cse's connection-string parser and writer against .NET's
//! `DbConnectionStringBuilder` (Mono's class library), on hand-written edge cases and on
//! hundreds of generated strings. Same key/value map, or both rejecting at the same index.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use k2cse_core::connstr::{ConnectionString, SyntaxErrorKind, fold_key, format_key, format_value};
use k2cse_tests::mono;

/// Strings chosen to hit every state of the .NET tokenizer.
const EDGE_CASES: &[&str] = &[
    "",
    " ",
    ";",
    ";;;",
    " ; ; ",
    "a=1",
    "a=1;",
    "a=1;;b=2",
    "A=1;a=2",
    "a=1;b=2;A=3",
    "a=;b=1",
    "a=1;a=",
    "a=1;a=;a=3",
    "a=",
    "a= ",
    "a=;",
    "a = 1",
    "  a  =  1  ",
    "a=1 2",
    "a=1  2  ",
    "Key With Space=value with space",
    "  Key With Space  =  value with space  ; x = 'q''uoted;=' ; y=\"dq\"\"x\"",
    "k==ey=v",
    "k====ey=v",
    "==x=1",
    "=x=1",
    "=",
    "==",
    "===",
    "a==",
    "a===b",
    "a= =b",
    "a = = b",
    "a=b=c",
    "a=b==c",
    "a='x'",
    "a='x';b=2",
    "a='x' ;b=2",
    "a='x'y",
    "a='x' y",
    "a='it''s'",
    "a=''",
    "a=''''",
    "a='",
    "a='x",
    "a=\"x\"",
    "a=\"x\"\"y\"",
    "a=\"\"",
    "a=\"",
    "a=\"x",
    "a=\"x\" ;",
    "a=\"x\"z",
    "a='x\"y'",
    "a=\"x'y\"",
    "a=x'",
    "a=x\"",
    "a=x'y",
    "a=x\"y",
    "a=x' ",
    "a='x';",
    "a=1\0",
    "a=1\0 ",
    "a=1\0b=2",
    "a='1'\0",
    "a='1'\0  \0",
    "\0",
    "\0a=1",
    "a=\u{1}",
    "a=x\u{1}",
    "a\u{1}=x",
    "\u{1}a=x",
    "a='\u{1}'",
    "a=\"\u{7f}\"",
    "a=\t1\t",
    "a\t=1",
    "a\nb=1",
    "a=1\n;b=2",
    "a=1\r\nb=2",
    "a=\u{a0}1\u{a0}",
    "a=\u{2028}x\u{2029}",
    "a=\u{3000}x",
    "a=\u{180e}x",
    "a=\u{85}x",
    "é=ü",
    "\u{130}=1",
    "\u{3a3}A=1",
    "K\u{212a}=1",
    "\u{1F600}=\u{1F601}",
    "a=\u{1F600};b='",
    "User ID=k2@denallix.com;Password=\"p@ss;word\"",
    "Autodiscover=False;OAuth Resource=EWS;OAuth Resource Audience=https://outlook.office365.com;User ID=k2@denallix.com",
    "Autodiscover=True;Url=https://mail.denallix.com/EWS/Exchange.asmx;User ID=DENALLIX\\k2service;Password=K2pass!",
    "Host Name=smtp.office365.com;Port=587;TLS=StartTls;Authentication=Plain;User ID=k2@x.com;Password='pa\"ss'",
    "Data Source=SQL01\\K2,1433;Initial Catalog=K2;Integrated Security=True;Pooling=True",
    "Integrated=True;IsPrimaryLogin=True;Authenticate=True;EncryptedPassword=False;Host=localhost;Port=5555",
    "a=1;b",
    "a=1;b;c=2",
    "a=1; b ;",
    "a=1;;b=\"open",
    "a=1;=;b=2",
    "x=1;y=2;z=3;x=4;y=;z=",
    "a={x}",
    "a={x;y}",
    "a=%;b=$",
    "a=1 ;b= 2 ; c =3",
    // Case folding: .NET lower-cases UTF-16 code units, so supplementary-plane letters
    // (Deseret capital and small letter) stay two keys; a title-case letter is not folded.
    "𐐀=1;𐐨=2",
    "𐐨=1;𐐀=2;𐐀=3",
    "ǅ=1;ǆ=2",
    "Σ=1;σ=2",
];

/// A small deterministic PRNG (xorshift64*): the generated suite is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const TOKENS: &[&str] = &[
    "a",
    "B",
    "User ID",
    "x",
    "1",
    " ",
    "  ",
    "\t",
    "=",
    "==",
    ";",
    "'",
    "\"",
    "''",
    "\"\"",
    "é",
    "\u{1F600}",
    "\0",
    "\u{1}",
    "\n",
    "\u{a0}",
    "\u{130}",
    "Σ",
    "value",
    "http://h/p?q=1",
    "{",
    "}",
];
const KEYS: &[&str] = &[
    "a",
    "A",
    "User ID",
    "user id",
    "k=ey",
    "Poll Interval",
    "é",
    "x y",
    "Σ",
];
const VALUES: &[&str] = &[
    "",
    "1",
    "x y",
    " lead",
    "trail ",
    "a;b",
    "a=b",
    "it's",
    "say \"hi\"",
    "both ' \"",
    "é",
    "\t",
    "https://outlook.office365.com",
    "\u{1}",
    "''",
    "\"\"",
];

/// Random token soup: mostly invalid, exercising the error paths.
fn soup(rng: &mut Rng) -> String {
    (0..=rng.below(10)).map(|_| rng.pick(TOKENS)).collect()
}

/// Random well-formed pairs written with random quoting and spacing: exercises values.
fn pairs(rng: &mut Rng) -> String {
    let mut s = String::new();
    for i in 0..=rng.below(5) {
        if i > 0 {
            s.push_str(rng.pick(&[";", "; ", " ;", ";;"]));
        }
        s.push_str(&format_key(rng.pick(KEYS)));
        s.push_str(rng.pick(&["=", " = ", "= "]));
        let value = rng.pick(VALUES);
        match rng.below(4) {
            0 => s.push_str(&format_value(value)),
            1 => s.extend(["'", &value.replace('\'', "''"), "'"]),
            2 => s.extend(["\"", &value.replace('"', "\"\""), "\""]),
            _ => s.push_str(value),
        }
    }
    if rng.below(3) == 0 {
        s.push(';');
    }
    s
}

fn corpus() -> Vec<String> {
    let mut rng = Rng(0x6b32_6373_6500_0001);
    let mut all: Vec<String> = EDGE_CASES.iter().map(|s| (*s).to_owned()).collect();
    all.extend((0..250).map(|_| soup(&mut rng)));
    all.extend((0..250).map(|_| pairs(&mut rng)));
    all
}

#[derive(Debug, PartialEq)]
enum Outcome {
    /// Sorted (folded key, value) pairs.
    Map(Vec<(String, String)>),
    /// Rejected at this UTF-16 index; -1 when .NET's message names no index (an invalid
    /// keyword found after tokenizing).
    Rejected(i64),
}

#[test]
fn parser_and_writer_agree_with_dotnet() {
    let inputs = corpus();
    assert!(
        inputs.len() >= 300,
        "the suite must hold at least 300 strings"
    );
    let exe = mono::oracle("ConnStrOracle");
    let stdin: String = inputs
        .iter()
        .map(|s| mono::hex(s.as_bytes()) + "\n")
        .collect();
    let answers = mono::run(&exe, &[], &stdin);
    let answers: Vec<&str> = answers.lines().collect();
    assert_eq!(answers.len(), inputs.len(), "one answer per input");

    let (mut accepted, mut rejected, mut mismatches) = (0, 0, Vec::new());
    for (input, answer) in inputs.iter().zip(answers) {
        let mut fields = answer.split(' ');
        let (dotnet, written) = match fields.next() {
            Some("OK") => {
                let rest: Vec<&str> = fields.collect();
                let mut map = Vec::new();
                let mut written = Vec::new();
                for chunk in rest.chunks(3) {
                    let (k, v) = (mono::unhex(chunk[0]), mono::unhex(chunk[1]));
                    written.push((k.clone(), v.clone(), mono::unhex(chunk[2])));
                    map.push((k, v));
                }
                map.sort();
                (Outcome::Map(map), written)
            }
            Some("ERR") => (
                Outcome::Rejected(fields.next().unwrap().parse().unwrap()),
                vec![],
            ),
            other => panic!("bad oracle line {other:?}"),
        };
        let ours = match ConnectionString::parse(input.as_str()) {
            Ok(cs) => {
                let mut map: Vec<_> = cs
                    .effective()
                    .into_iter()
                    .map(|(k, v)| (fold_key(k), v.to_owned()))
                    .collect();
                map.sort();
                Outcome::Map(map)
            }
            Err(e) if e.kind == SyntaxErrorKind::InvalidKeyword => Outcome::Rejected(-1),
            Err(e) => Outcome::Rejected(i64::try_from(e.index).unwrap()),
        };
        match &ours {
            Outcome::Map(_) => accepted += 1,
            Outcome::Rejected(_) => rejected += 1,
        }
        if ours != dotnet {
            mismatches.push(format!("{input:?}: k2cse {ours:?}, .NET {dotnet:?}"));
        }
        // Writing: each pair as .NET writes it, except the documented empty-string case.
        for (key, value, dotnet_pair) in written {
            let ours = format!("{}={}", format_key(&key), format_value(&value));
            let expected = if value.is_empty() {
                format!("{}=\"\"", format_key(&key))
            } else {
                dotnet_pair
            };
            if ours != expected {
                mismatches.push(format!(
                    "writing {key:?}={value:?}: k2cse {ours:?}, .NET {expected:?}"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    // The suite must exercise both outcomes substantially, or it proves little.
    assert!(
        accepted >= 150 && rejected >= 100,
        "accepted {accepted}, rejected {rejected}"
    );
}
