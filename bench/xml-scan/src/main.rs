//! k2cse's hand-written XML lexer/scanner (`crates/core/src/xml`) against quick-xml's reader,
//! on the bench scripts' 10,000/100,000-entry configs and on the .NET-fidelity corpus (the
//! bundled sample, `tests/fixtures`, the `config_edit` fuzz corpus), plus the well-formedness
//! cases where the two could differ. Plain `std::time`, medians of several runs, release build.
//!
//! Usage: run.sh (or `k2cse-xml-scan-bench ROOT`). Prints Markdown for ARCHITECTURE.md.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark: a panic is the report.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use k2cse_core::xml::lexer;
use k2cse_core::xml::scan::{self, ScanMode};
use k2cse_core::xml::source::SourceText;
use quick_xml::Reader;
use quick_xml::events::Event;

/// What k2cse does when it loads a file: well-formedness, element stack, the section index.
fn ours_scan(text: &str) -> Result<usize, String> {
    scan::scan(Path::new("bench.config"), text, ScanMode::ConfigFile)
        .map(|index| index.sections.iter().map(|s| s.children.len()).sum())
        .map_err(|e| e.to_string())
}

/// The lexer alone (well-formedness and element events, no index).
fn ours_lex(text: &str) -> Result<usize, String> {
    let mut events = 0;
    lexer::lex(text, |_| {
        events += 1;
        Ok(())
    })
    .map(|()| events)
    .map_err(|e| e.message)
}

/// quick-xml doing the comparable work: every event, end names checked, comments checked,
/// each start tag's attributes parsed with the duplicate check, and the byte span of every
/// tag from `buffer_position` (what the scanner's index needs).
fn quick(text: &str) -> Result<usize, String> {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.check_comments = true;
    let mut spans = Vec::new();
    loop {
        let start = reader.buffer_position();
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) | Event::Empty(e) => {
                for attribute in e.attributes().with_checks(true) {
                    black_box(attribute.map_err(|e| e.to_string())?);
                }
                spans.push(start..reader.buffer_position());
            }
            Event::End(_) => spans.push(start..reader.buffer_position()),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(spans.len())
}

/// The median of `runs` timings of `f` over all `texts`.
fn time(texts: &[String], runs: usize, f: fn(&str) -> Result<usize, String>) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            for text in texts {
                let _ = black_box(f(black_box(text)));
            }
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn decode(path: &Path, bytes: Vec<u8>) -> Option<String> {
    SourceText::decode(path, bytes).ok().map(|s| s.text.clone())
}

fn generated(root: &Path, entries: usize) -> String {
    let out = std::env::temp_dir().join(format!("k2cse-xml-bench-{entries}.config"));
    let status = Command::new("python3")
        .arg(root.join("bench/gen_config.py"))
        .arg(entries.to_string())
        .arg(&out)
        .status()
        .expect("python3 runs bench/gen_config.py");
    assert!(status.success());
    let text = decode(&out, std::fs::read(&out).unwrap()).unwrap();
    let _ = std::fs::remove_file(&out);
    text
}

fn corpus(root: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["tests/fixtures", "fuzz/corpus/config_edit"] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            files.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
        }
    }
    files.sort();
    let mut texts =
        vec![decode(Path::new("sample"), k2cse_core::sample::K2_SAMPLE.to_vec()).unwrap()];
    texts.extend(
        files
            .iter()
            .filter_map(|p| decode(p, std::fs::read(p).ok()?)),
    );
    texts
}

/// Config files where a reader's idea of well-formed matters to K2, each with what Mono's
/// `ConfigurationManager` (tests/oracle/ConfigReader.cs) did with it on 2026-12-01: `false`
/// means it throws (K2 would not start). `{}` is where the case goes.
const PROBES: &[(&str, &str, bool)] = &[
    (
        "'<' in an attribute value",
        "<add name=\"x\" connectionString=\"x<y\" />",
        false,
    ),
    (
        "duplicate attribute",
        "<add name=\"x\" name=\"y\" connectionString=\"a\" />",
        false,
    ),
    (
        "undefined entity &bogus; (kept as text)",
        "<add name=\"x\" connectionString=\"&bogus;\" />",
        true,
    ),
    (
        "character reference &#0;",
        "<add name=\"x\" connectionString=\"&#0;\" />",
        true,
    ),
    (
        "control character U+0001",
        "<add name=\"x\" connectionString=\"a\u{1}b\" />",
        false,
    ),
    (
        "unquoted attribute",
        "<add name=x connectionString=\"a\" />",
        false,
    ),
    ("'--' inside a comment", "<!-- a -- b -->", false),
    (
        "undeclared prefix",
        "<p:add name=\"x\" connectionString=\"a\" />",
        false,
    ),
    (
        "TAB and LF in an attribute value",
        "<add name=\"x\" connectionString=\"x\ty\nz\" />",
        true,
    ),
];

/// Cases around the root element, as whole files.
const FILE_PROBES: &[(&str, &str, bool)] = &[
    (
        "second XML declaration",
        "<?xml version=\"1.0\"?>\n<?xml version=\"1.0\"?>\n<configuration/>",
        false,
    ),
    (
        "DOCTYPE, ']>' in a comment of its subset",
        "<!DOCTYPE configuration [<!-- ]> -->]>\n<configuration/>",
        true,
    ),
    (
        "a second root element",
        "<configuration/>\n<configuration/>",
        true,
    ),
    ("text after the root", "<configuration/>\ntext", true),
];

fn mb(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn main() {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: k2cse-xml-scan-bench ROOT"),
    );
    println!(
        "| input | size | k2cse scan | k2cse lexer only | quick-xml reader | quick-xml / k2cse scan |"
    );
    println!("|---|---|---|---|---|---|");
    let inputs: Vec<(String, Vec<String>, usize)> = vec![
        ("10,000 entries".into(), vec![generated(&root, 10_000)], 31),
        (
            "100,000 entries".into(),
            vec![generated(&root, 100_000)],
            11,
        ),
        ("fidelity corpus".into(), corpus(&root), 31),
    ];
    for (name, texts, runs) in &inputs {
        let bytes: usize = texts.iter().map(String::len).sum();
        // Warm up (page in, allocator) before timing.
        time(texts, 3, ours_scan);
        time(texts, 3, quick);
        let ours = time(texts, *runs, ours_scan);
        let lex = time(texts, *runs, ours_lex);
        let theirs = time(texts, *runs, quick);
        let label = if texts.len() > 1 {
            format!("{name} ({} files)", texts.len())
        } else {
            name.clone()
        };
        println!(
            "| {label} | {:.1} MB | {:.2} ms ({:.0} MB/s) | {:.2} ms ({:.0} MB/s) | {:.2} ms ({:.0} MB/s) | {:.2}x |",
            bytes as f64 / 1e6,
            ours.as_secs_f64() * 1e3,
            mb(bytes, ours),
            lex.as_secs_f64() * 1e3,
            mb(bytes, lex),
            theirs.as_secs_f64() * 1e3,
            mb(bytes, theirs),
            theirs.as_secs_f64() / ours.as_secs_f64(),
        );
    }
    // Accept/refuse agreement on the corpus (the lexer: well-formedness only, as quick-xml).
    let corpus = &inputs[2].1;
    let disagree = corpus
        .iter()
        .filter(|t| ours_lex(t).is_ok() != quick(t).is_ok())
        .count();
    let accepted = corpus.iter().filter(|t| ours_lex(t).is_ok()).count();
    println!();
    println!(
        "Corpus: k2cse's lexer accepts {accepted} of {} files; quick-xml's reader disagrees (accepts what the lexer refuses, or the reverse) on {disagree}.",
        corpus.len()
    );
    println!();
    println!("| case | .NET | k2cse | quick-xml |");
    println!("|---|---|---|---|");
    let word = |ok: bool| if ok { "reads" } else { "refuses" };
    let section = |case: &str| {
        format!(
            "<configuration>\n<connectionStrings>\n{case}\n</connectionStrings>\n</configuration>\n"
        )
    };
    let cases = PROBES
        .iter()
        .map(|(name, case, dotnet)| (*name, section(case), *dotnet))
        .chain(
            FILE_PROBES
                .iter()
                .map(|(name, doc, dotnet)| (*name, (*doc).to_owned(), *dotnet)),
        );
    for (name, doc, dotnet) in cases {
        println!(
            "| {name} | {} | {} | {} |",
            word(dotnet),
            word(ours_scan(&doc).is_ok()),
            word(quick(&doc).is_ok())
        );
    }
}
