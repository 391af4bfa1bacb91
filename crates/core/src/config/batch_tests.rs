//! The paths that let a batch of changes cost one pass: an entry appended without re-scanning
//! the file, and names kept (not re-read) across adds and value edits. Each must leave exactly
//! what a fresh read of the edited text gives.

use std::path::Path;

use super::*;
use crate::edit::{Change, Values};
use crate::sample::K2_SAMPLE;

const EWS: &str = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection";

fn load(bytes: &[u8]) -> Document {
    Document::from_bytes(Path::new("K2HostServer.exe.config"), bytes.to_vec()).unwrap()
}

fn add(i: usize) -> Change {
    Change::Add {
        name: format!("{EWS}:new{i}@denallix.com"),
        values: Values::from_pairs([
            ("Autodiscover", "False"),
            ("OAuth Resource", "EWS"),
            ("OAuth Resource Audience", "https://outlook.office365.com"),
            ("User ID", &format!("new{i}@denallix.com")),
        ]),
    }
}

/// `doc`'s index and names equal those of a fresh load of its text.
fn assert_same_as_fresh(doc: &Document) {
    let (kept, counted) = doc.section_file().eol_counts_kept_and_fresh();
    assert!(kept.is_none_or(|k| k == counted), "{kept:?} {counted:?}");
    let fresh = load(&doc.main_file().encode());
    let (ours, theirs) = (doc.section_file().index(), fresh.section_file().index());
    assert_eq!(ours.root, theirs.root);
    assert_eq!(ours.top_level, theirs.top_level);
    assert_eq!(ours.sections.len(), theirs.sections.len());
    for (a, b) in ours.sections.iter().zip(&theirs.sections) {
        assert_eq!(a.element, b.element);
        assert_eq!(a.children, b.children);
    }
    let (a, b) = (doc.names().unwrap(), fresh.names().unwrap());
    assert_eq!(a.slots, b.slots);
    assert_eq!(a.notes, b.notes);
    for slot in &b.slots {
        assert_eq!(a.named(&slot.name.to_uppercase()).next(), Some(slot));
    }
}

#[test]
fn appended_entries_are_indexed_without_a_rescan_as_a_rescan_would() {
    let mut doc = load(K2_SAMPLE);
    doc.names().unwrap();
    assert_eq!(doc.section_file().line_ending(), "\r\n");
    for i in 0..3 {
        doc.apply(&add(i)).unwrap();
        assert!(
            doc.section_file().last_append().is_some(),
            "add {i} re-scanned"
        );
        assert!(doc.names_cached(), "add {i} dropped the names");
        assert!(doc.section_file().eol_counts_kept_and_fresh().0.is_some());
    }
    assert_same_as_fresh(&doc);
    let entry = doc.entry(&format!("{EWS}:NEW1@denallix.com")).unwrap();
    assert_eq!(entry.get("User ID"), Some("new1@denallix.com"));
}

#[test]
fn value_edits_keep_the_names_with_shifted_offsets() {
    let mut doc = load(K2_SAMPLE);
    doc.names().unwrap();
    let first = doc.names().unwrap().slots[1].name.clone();
    doc.apply(&Change::Set {
        name: first,
        values: Values::from_pairs([("Poll Interval", "15M")]),
    })
    .unwrap();
    assert!(doc.names_cached());
    assert_same_as_fresh(&doc);
}

#[test]
fn an_entry_glued_to_the_end_tag_takes_the_slow_path_and_is_right() {
    let text = "<configuration>\n  <connectionStrings>\n    <add name=\"a\" connectionString=\"x=1\" /></connectionStrings>\n</configuration>\n";
    let mut doc = load(text.as_bytes());
    doc.names().unwrap();
    doc.apply(&Change::Add {
        name: "b".into(),
        values: Values::from_pairs([("x", "2")]),
    })
    .unwrap();
    assert!(doc.section_file().last_append().is_none());
    assert_same_as_fresh(&doc);
    assert_eq!(doc.entry("B").unwrap().get("x"), Some("2"));
}

#[test]
fn a_batch_gives_the_bytes_of_its_changes_applied_one_by_one_on_fresh_reads() {
    let mut changes: Vec<Change> = (0..60).map(add).collect();
    for i in (0..60).step_by(7) {
        changes.push(Change::Set {
            name: format!("{EWS}:NEW{i}@denallix.com"),
            values: Values::from_pairs([("Poll Interval", "2M")]),
        });
    }
    changes.push(Change::Remove {
        name: format!("{EWS}:new3@denallix.com"),
    });
    changes.push(add(3));
    let mut session =
        crate::EditSession::new(load(K2_SAMPLE), crate::lint::LintOptions::default(), false)
            .unwrap();
    session.apply_all(changes.clone()).unwrap();
    let mut expected = K2_SAMPLE.to_vec();
    for change in &changes {
        let mut fresh = load(&expected);
        fresh.apply(change).unwrap();
        expected = fresh.main_file().encode();
    }
    assert_eq!(session.document().main_file().encode(), expected);
    assert_same_as_fresh(session.document());
    // Adding a name the batch already added is refused, case-insensitively.
    assert!(session.apply_all([add(70), add(70)]).is_err());
}

#[test]
fn line_ending_counts_follow_edits_next_to_line_breaks() {
    // Mixed endings; edits right after a `\r`, and a value holding a raw line break.
    let text = "<configuration>\r\n  <connectionStrings>\n    <add name=\"a\" connectionString=\"x=1\r\ny=2\" />\r\n  </connectionStrings>\n</configuration>\r\n";
    let mut doc = load(text.as_bytes());
    doc.names().unwrap();
    let _ = doc.section_file().line_ending();
    doc.apply(&Change::Replace {
        name: "a".into(),
        connection_string: "x=1".into(),
    })
    .unwrap();
    doc.apply(&add(1)).unwrap();
    let (kept, counted) = doc.section_file().eol_counts_kept_and_fresh();
    assert_eq!(kept, Some(counted));
    assert_same_as_fresh(&doc);
}
