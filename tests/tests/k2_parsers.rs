//! K2's own parsers: `Poll Interval` read exactly as K2's EWS builder reads it (its public
//! source, run by .NET: `tests/oracle/PollInterval.cs`), on hand-picked and generated values.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)] // Test code: a panic is the failure report; small generated numbers.

use k2cse_core::lint::poll_interval;
use k2cse_tests::fixtures::Scratch;
use k2cse_tests::mono;

const CASES: &[&str] = &[
    "30S",
    "2M",
    "2m",
    "1.5M",
    "1H",
    "1h",
    "1D",
    "45",
    ".5M",
    "5.S",
    "5.",
    "1e1S",
    "1E+1S",
    "1e",
    "1,000S",
    "1,,2S",
    ",5S",
    "2 M",
    " 2M",
    "2M ",
    "+3H",
    "-1",
    "0",
    "0S",
    "-0S",
    "0.0005S",
    "0.0004S",
    "1e-3S",
    "3 0S",
    "1.5.M",
    "S",
    "30X",
    "NaN",
    "Infinity",
    "9e99D",
    "106751991D",
    "106751992D",
    "１S",
    "٣",
    "0x10S",
    "1_000S",
    "(5)S",
    "5-S",
    "$5S",
];

/// A few hundred more, from the characters the parser cares about.
fn generated() -> Vec<String> {
    let alphabet: Vec<char> = "0123456789.,eE+- SMHDsmhdX".chars().collect();
    let mut state: u64 = 0x6b32_7069_0000_0001;
    (0..400)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 1 + (state % 6) as usize;
            (0..len)
                .map(|i| alphabet[((state >> (i * 5)) % alphabet.len() as u64) as usize])
                .collect()
        })
        .collect()
}

#[test]
fn poll_interval_as_k2_reads_it() {
    let mut values: Vec<String> = CASES.iter().map(|s| (*s).to_owned()).collect();
    values.extend(generated());
    let exe = mono::oracle("PollInterval");
    let stdin: String = values
        .iter()
        .map(|v| mono::hex(v.as_bytes()) + "\n")
        .collect();
    let answers = mono::run(&exe, &[], &stdin);
    let answers: Vec<&str> = answers.lines().collect();
    assert_eq!(answers.len(), values.len());
    let (mut accepted, mut mismatches) = (0, Vec::new());
    for (v, answer) in values.iter().zip(answers) {
        let ours = poll_interval(v);
        // K2 accepts a zero or negative interval (it then polls without pause, or its timer
        // throws); k2cse refuses those on purpose.
        let k2 = answer
            .strip_prefix("OK ")
            .map(|ms| ms.parse::<i64>().unwrap())
            .filter(|ms| *ms > 0);
        let same = match (&ours, k2) {
            (Ok(secs), Some(ms)) => {
                accepted += 1;
                (secs * 1000.0).round() as i64 == ms
            }
            (Err(_), None) => true,
            _ => false,
        };
        if !same {
            mismatches.push(format!("{v:?}: k2cse {ours:?}, K2 {answer}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(
        accepted >= 30,
        "too few accepted values ({accepted}) to prove much"
    );
}

#[test]
fn lint_flags_2m_and_accepts_1_5m() {
    let text = "<?xml version=\"1.0\"?>\n<configuration>\n<connectionStrings>\n<add name=\"HostserverDB\" connectionString=\"Data Source=SQL01;Initial Catalog=K2;Integrated Security=SSPI\" />\n<add name=\"SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:a@x.com\" connectionString=\"Autodiscover=False;URL=https://mail.x.com/EWS/Exchange.asmx;User ID=a@x.com;Poll Interval=1.5M\" />\n<add name=\"SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:b@x.com\" connectionString=\"Autodiscover=False;URL=https://mail.x.com/EWS/Exchange.asmx;User ID=b@x.com;Poll Interval=2m\" />\n</connectionStrings>\n</configuration>\n";
    let s = Scratch::with(text.as_bytes());
    let out = s
        .k2cse(&["lint", "--json", "--today", "2026-11-28"])
        .assert()
        .code(3);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let k2c018: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "K2C018")
        .map(|f| f["entry"].as_str().unwrap())
        .collect();
    assert_eq!(
        k2c018,
        ["SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:b@x.com"]
    );
}
