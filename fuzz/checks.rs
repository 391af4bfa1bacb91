//! The properties the fuzz targets check, one function per target. Shared by the libFuzzer
//! targets in `fuzz_targets/` (nightly; `fuzz/run.sh`) and by the corpus replay that every
//! `cargo test` runs on stable (`tests/tests/fuzz_corpus.rs`), so that each committed corpus
//! input, including every input that once crashed a target, stays a regression test without a
//! nightly build. Each function panics when its property does not hold.
#![allow(clippy::expect_used)] // A failed expectation is the finding the fuzzer reports.

use std::path::Path;

use k2cse_core::connstr::ConnectionString;
use k2cse_core::edit::Values;
use k2cse_core::{Change, Document};
use k2cse_mssql_sim::{login, request, wire};

/// One target's property: panics on an input that breaks it.
pub type Check = fn(&[u8]);

/// Every target, by the name of its folder under `fuzz/corpus/`.
pub const TARGETS: [(&str, Check); 6] = [
    ("connstr", connstr),
    ("config_edit", config_edit),
    ("xmlenc", xmlenc),
    ("rsa_key", rsa_key),
    ("backup", backup),
    ("tds", tds),
];

/// The connection-string parser never panics, and what it accepts survives a round trip:
/// parse -> .NET serialization -> parse gives the same effective pairs, and serializing again
/// gives the same text (the writer is stable).
pub fn connstr(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = ConnectionString::parse(text) else {
        return;
    };
    let written = parsed.to_dotnet_string();
    let again = ConnectionString::parse(written.clone())
        .unwrap_or_else(|e| panic!("{written:?} (written from {text:?}) does not parse: {e}"));
    let fold = |cs: &ConnectionString| {
        cs.effective()
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v.to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(fold(&parsed), fold(&again), "{text:?} -> {written:?}");
    assert_eq!(
        again.to_dotnet_string(),
        written,
        "the writer is not stable"
    );
    // Editing a value keeps every other pair.
    if let Some((key, _)) = parsed
        .effective()
        .first()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        && let Ok(edited) = parsed.with_value(&key, "x;y='z\"")
    {
        assert_eq!(edited.get(&key), Some("x;y='z\""));
        assert_eq!(fold(&edited).len(), fold(&parsed).len());
    }
}

/// The config loader never panics on any bytes, and an edit never changes text outside the
/// edited entry's element: the first entry gets `Port=587`, and the text before and after that
/// element is identical.
pub fn config_edit(data: &[u8]) {
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
        assert_eq!(
            doc.main_file().text(),
            before,
            "a refused change changed the text"
        );
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
    let entry = reloaded
        .entry(first.name.as_str())
        .expect("entry still there");
    assert_eq!(entry.get("Port"), Some("587"));
}

/// The XML-Encryption reader (`<EncryptedData>`) never panics on any text.
pub fn xmlenc(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = k2cse_core::protect::xmlenc::parse(text, 0..text.len());
    // As part of a config file, through the document loader.
    let config = format!(
        "<configuration><connectionStrings configProtectionProvider=\"K2ConfigurationKey\">{text}</connectionStrings></configuration>"
    );
    if let Ok(doc) = Document::from_bytes(Path::new("f.config"), config.into_bytes()) {
        let _ = doc.protection();
    }
}

/// The key-file reader (`<RSAKeyValue>` exports, PEM) never panics on any text.
pub fn rsa_key(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = k2cse_core::protect::RsaKey::from_text(Path::new("key.xml"), text);
}

/// The backup reader never panics, and whatever it accepts round-trips: encoding the backup
/// again and reading that gives the same parts.
pub fn backup(data: &[u8]) {
    let path = Path::new("fuzz.k2cse.tar");
    let Ok(backup) = k2cse_core::backup::Backup::decode(path, data, None) else {
        return;
    };
    let bytes = backup
        .encode(path, None)
        .expect("an accepted backup can be written again");
    let again = k2cse_core::backup::Backup::decode(path, &bytes, None).expect("and read again");
    assert_eq!(again.manifest().files, backup.manifest().files);
    assert_eq!(again.rows(), backup.rows());
}

/// The simulator's TDS readers never panic: packet framing (`read_message`) and the parsers of
/// every message the simulator accepts (PRELOGIN, LOGIN7, SQL batch, RPC, transaction manager).
pub fn tds(data: &[u8]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let mut stream = data;
    runtime.block_on(async {
        while let Ok(Some(message)) = wire::read_message(&mut stream).await {
            parse_all(&message.data);
        }
    });
    parse_all(data);
}

fn parse_all(data: &[u8]) {
    let _ = login::client_encryption(data);
    let _ = login::parse_login(data);
    let _ = request::parse_batch(data);
    let _ = request::parse_rpc(data);
    let _ = request::parse_transaction(data);
}
