//! The config loader never panics on any bytes, and an edit never changes text outside the
//! edited entry's element: the first entry gets `Port=587`, and the text before and after that
//! element is identical.
#![no_main]

use std::path::Path;

use k2cse_core::edit::Values;
use k2cse_core::{Change, Document};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.config");
    let Ok(mut doc) = Document::from_bytes(path, data.to_vec()) else {
        return;
    };
    let Ok(entries) = doc.entries() else {
        return;
    };
    let _ = k2cse_core::lint::lint(&doc, &k2cse_core::lint::LintOptions::default());
    let Some(first) = entries.first() else {
        return;
    };
    if doc.section_file().path() != doc.main_file().path() {
        return;
    }
    let before = doc.main_file().text().to_owned();
    let spans: Vec<std::ops::Range<usize>> = doc
        .section()
        .map(|s| s.children.iter().map(|c| c.range.clone()).collect())
        .unwrap_or_default();
    let change = Change::Set {
        name: first.name.as_str().to_owned(),
        values: Values::from_pairs([("Port", "587")]),
    };
    if doc.apply(&change).is_err() {
        assert_eq!(doc.main_file().text(), before, "a refused change changed the text");
        return;
    }
    let after = doc.main_file().text();
    let prefix = before
        .bytes()
        .zip(after.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = before
        .bytes()
        .rev()
        .zip(after.bytes().rev())
        .take_while(|(a, b)| a == b)
        .count()
        .min(before.len() - prefix)
        .min(after.len() - prefix);
    let changed = prefix..before.len() - suffix;
    if changed.is_empty() {
        return;
    }
    assert!(
        spans
            .iter()
            .any(|s| s.start <= changed.start && changed.end <= s.end),
        "bytes {changed:?} changed outside every entry element"
    );
    // And the result still loads, with the value set.
    let reloaded = Document::from_bytes(path, doc.main_file().encode()).expect("edited file loads");
    let entry = reloaded.entry(first.name.as_str()).expect("entry still there");
    assert_eq!(entry.get("Port"), Some("587"));
});
