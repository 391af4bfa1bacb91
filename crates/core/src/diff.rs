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
        if !reveal {
            // What the entries do not cover: comments (an old entry commented out), entries
            // that do not parse, URLs with user-info.
            text = crate::entry::mask_text(&text);
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
        let Ok(cs) = &entry.parsed else {
            // A value that does not parse is often a password holding an unquoted `;`: the
            // core's lenient masking hides the secret and the rest of it.
            let raw = &source[a.value.clone()];
            let masked = crate::entry::masked(raw, None, |_| true);
            if masked != raw {
                edits.push((a.value.clone(), masked));
            }
            continue;
        };
        let Ok(mapped) = attr::decode_mapped(&source[a.value.clone()]) else {
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
            let changed = old.is_some_and(|old| secret_changed(old, &entry, &pair.key, value));
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

/// Whether `value` of `key` in `entry` is new: it differs from the same entry's value before,
/// or, for an entry that was not there by that name (renamed, added), no entry had it before.
fn secret_changed(old: &[Entry], entry: &Entry, key: &str, value: &str) -> bool {
    let value_of = |e: &Entry| {
        e.parsed
            .as_ref()
            .ok()
            .and_then(|cs: &ConnectionString| cs.get(key).map(str::to_owned))
    };
    match old.iter().find(|e| e.name.same_as(entry.name.as_str())) {
        Some(before) => value_of(before).as_deref() != Some(value),
        None => !old.iter().any(|e| value_of(e).as_deref() == Some(value)),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Document;
    use crate::edit::{Change, EditSession};
    use crate::lint::LintOptions;
    use std::path::Path;

    const CONFIG: &str = "<?xml version=\"1.0\"?>\n<configuration>\n  <connectionStrings>\n    <!-- old: <add name=\"Old\" connectionString=\"Host=a;Password=Commented-0ut-77;Port=1\" /> -->\n    <add name=\"SourceCode.Net.Mail.SmtpConnection\" connectionString=\"Host Name=h;Port=25;Password=Kept-Secret-99\" />\n    <add name=\"Custom.Store\" connectionString=\"Url=https://svc:Url-Pw-55@store.example.com/x;passwd=Pw-Passwd-1;Passphrase=Pw-Phrase-2;Private Key=Pw-Pk-3;Pass=Pw-Pass-4;AccessKey=Pw-Ak-5;SAS=Pw-Sas-6;Signature=Pw-Sig-7;Token=Pw-Tok-8;Port=1\" />\n    <add name=\"Custom.Broken\" connectionString=\"Pwd=Broken-Pw-9;=x=\" />\n  </connectionStrings>\n</configuration>\n";

    fn session() -> EditSession {
        let doc = Document::from_bytes(Path::new("x.config"), CONFIG.as_bytes().to_vec()).unwrap();
        EditSession::new(doc, LintOptions::default(), true).unwrap()
    }

    #[test]
    fn diffs_mask_context_lines_comments_unknown_types_and_url_user_info() {
        let mut s = session();
        s.apply(Change::Set {
            name: "SourceCode.Net.Mail.SmtpConnection".into(),
            values: crate::edit::Values::from_pairs([("Port", "587")]),
        })
        .unwrap();
        s.apply(Change::Set {
            name: "Custom.Store".into(),
            values: crate::edit::Values::from_pairs([("Port", "2")]),
        })
        .unwrap();
        let diff = s.diff(false).unwrap();
        assert!(diff.contains("Port=587"), "{diff}");
        for secret in [
            "Commented-0ut-77",
            "Kept-Secret-99",
            "Url-Pw-55",
            "Pw-Passwd-1",
            "Pw-Phrase-2",
            "Pw-Pk-3",
            "Pw-Pass-4",
            "Pw-Ak-5",
            "Pw-Sas-6",
            "Pw-Sig-7",
            "Pw-Tok-8",
            "Broken-Pw-9",
        ] {
            assert!(!diff.contains(secret), "{secret} shown in\n{diff}");
        }
        assert!(!diff.contains("(changed)"), "no secret changed:\n{diff}");
        assert!(
            diff.contains("https://svc:********@store.example.com"),
            "{diff}"
        );
        assert!(s.diff(true).unwrap().contains("Kept-Secret-99"));
    }

    #[test]
    fn a_rename_does_not_mark_the_unchanged_password_changed() {
        let mut s = session();
        s.apply(Change::Rename {
            name: "SourceCode.Net.Mail.SmtpConnection".into(),
            to: "SourceCode.Net.Mail.SmtpConnection:ops@denallix.com".into(),
        })
        .unwrap();
        let diff = s.diff(false).unwrap();
        assert!(diff.contains("ops@denallix.com"), "{diff}");
        assert!(!diff.contains("(changed)"), "{diff}");
        s.apply(Change::Set {
            name: "SourceCode.Net.Mail.SmtpConnection:ops@denallix.com".into(),
            values: crate::edit::Values::from_pairs([("Password", "New-Pw-1")]),
        })
        .unwrap();
        let diff = s.diff(false).unwrap();
        assert!(diff.contains("******** (changed)"), "{diff}");
        assert!(!diff.contains("New-Pw-1"));
    }

    #[test]
    fn secret_names_of_unknown_types() {
        use crate::entry::schema::looks_secret;
        for key in [
            "password",
            "PWD",
            "passwd",
            "Pass",
            "Passphrase",
            "Client Secret",
            "token",
            "Key",
            "Private Key",
            "AccessKey",
            "access_key",
            "SAS",
            "SasToken",
            "Signature",
            "Credential",
            "Api Key",
            "AccountKey",
            "DbPwd",
            "SharedAccessKey",
        ] {
            assert!(looks_secret(key), "{key}");
        }
        for key in [
            "Host",
            "Port",
            "User ID",
            "EncryptedPassword",
            "Passive",
            "Bypass",
            "Key Name",
            "SharedAccessKeyName",
            "Token URL",
            "Keyboard",
            "Monkey",
            "Path",
            "Retention Days",
        ] {
            assert!(!looks_secret(key), "{key}");
        }
    }
}
