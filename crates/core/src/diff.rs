//! Unified diffs of what a save would change, with secrets masked.

use std::path::PathBuf;

use crate::config::Document;
use crate::connstr::ConnectionString;
use crate::entry::Entry;
use crate::error::Result;
use crate::secret::MASK;
use crate::xml::attr;

/// A unified diff of `old` and `new` (carriage returns dropped, so CRLF files read cleanly;
/// k2cse never changes line endings, so nothing is hidden by that).
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    if old == new {
        return String::new();
    }
    let old = old.replace('\r', "");
    let new = new.replace('\r', "");
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

/// What a person should see of `doc`: each file on disk, and the decrypted section (which
/// is not on disk) when the section is encrypted and unlocked. Secret values are replaced by
/// `********` unless `reveal`; where `compare_to` has a different value for the same entry and
/// key, the mask reads `******** (changed)`, so a diff shows that a password changed without
/// showing it.
pub fn display_texts(
    doc: &Document,
    compare_to: Option<&Document>,
    reveal: bool,
) -> Result<Vec<(PathBuf, String)>> {
    let section_path = doc.section_file().path().to_owned();
    let old_entries = match compare_to {
        Some(other) if !reveal => other.entries()?,
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    let decrypted = doc
        .protection()
        .is_some_and(|p| p.unlocked)
        .then(|| doc.section_file());
    for file in doc.files().chain(decrypted) {
        let mut text = file.text().to_owned();
        if !reveal
            && file.path() == section_path
            && let Some(section) = doc.section()
        {
            mask(
                doc,
                file.text(),
                section,
                compare_to.map(|_| old_entries.as_slice()),
                &mut text,
            )?;
        }
        // The decrypted view ends at `</connectionStrings>`; a final newline keeps diffs quiet.
        if decrypted.is_some_and(|d| std::ptr::eq(d, file)) && !text.ends_with('\n') {
            text.push('\n');
        }
        out.push((file.path().to_owned(), text));
    }
    Ok(out)
}

/// Replaces each secret value of the section's entries in `text` (a copy of `source`).
fn mask(
    doc: &Document,
    source: &str,
    section: &crate::xml::scan::SectionSpan,
    old: Option<&[Entry]>,
    text: &mut String,
) -> Result<()> {
    let mut edits = Vec::new();
    for entry in doc.entries()? {
        let Some(element) = section.children.get(entry.child) else {
            continue;
        };
        let Some(a) = element.attr(source, "connectionString") else {
            continue;
        };
        let (Ok(cs), Ok(mapped)) = (&entry.parsed, attr::decode_mapped(&source[a.value.clone()]))
        else {
            continue;
        };
        for pair in cs.pairs() {
            let Some(value) = pair.value.as_deref().filter(|v| !v.is_empty()) else {
                continue;
            };
            if !entry.is_secret(&pair.key) {
                continue;
            }
            let raw = mapped.raw_range(pair.value_span.clone());
            let changed = old.is_some_and(|old| old_value(old, &entry, &pair.key) != Some(value));
            let mask = if changed {
                format!("{MASK} (changed)")
            } else {
                MASK.to_owned()
            };
            edits.push((a.value.start + raw.start..a.value.start + raw.end, mask));
        }
    }
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    for (range, mask) in edits {
        text.replace_range(range, &mask);
    }
    Ok(())
}

fn old_value<'a>(old: &'a [Entry], entry: &Entry, key: &str) -> Option<&'a str> {
    old.iter()
        .find(|e| e.name.same_as(entry.name.as_str()))
        .and_then(|e| e.parsed.as_ref().ok())
        .and_then(|cs: &ConnectionString| cs.get(key))
}
