//! Applying a [`Change`] to a [`Document`] by splicing the smallest possible range of bytes.
//!
//! Every operation computes byte-range edits of one file and hands them to
//! [`ConfigFile::splice`], which applies and re-indexes them; if anything fails, the document is left
//! exactly as it was.

use std::ops::Range;

use crate::config::document::Document;
use crate::config::file::ConfigFile;
use crate::config::layout::{Layout, line_indent};
use crate::connstr::{ConnectionString, same_key};
use crate::edit::Change;
use crate::entry::schema::KeySpec;
use crate::entry::{EntityRule, Entry, EntryName, Kind};
use crate::error::{Error, Location, Result};
use crate::xml::attr;
use crate::xml::scan::ElementSpan;

impl Document {
    /// Applies `change`. On error nothing is modified.
    pub fn apply(&mut self, change: &Change) -> Result<()> {
        let result = self.apply_change(change);
        let value_edit = matches!(
            change,
            Change::Set { .. } | Change::Unset { .. } | Change::Replace { .. }
        );
        let file = self.section_file();
        match (file.last_shift(), file.last_append(), change) {
            // Names and elements did not change: keep the lookup memo, shifted.
            (Some((at, delta)), _, _) if value_edit && result.is_ok() => {
                self.shift_after_value_edit(at, delta);
            }
            // One `<add>` appended after the last child: nothing else moved.
            (_, Some(child), Change::Add { name, .. }) if result.is_ok() => {
                self.after_append(child, name);
            }
            _ => self.invalidate(),
        }
        result
    }

    fn apply_change(&mut self, change: &Change) -> Result<()> {
        let (change, pick) = change.picked();
        if matches!(
            change,
            Change::At { .. } | Change::Add { .. } | Change::Protect { .. } | Change::Unprotect
        ) && pick.is_some()
        {
            return Err(Error::InvalidChange(
                "--nth/--line pick one of several same-named entries for set, unset, replace, rename or remove".into(),
            ));
        }
        match change {
            Change::Protect {
                provider,
                algorithm,
            } => return self.protect(provider.as_deref(), *algorithm),
            Change::Unprotect => return self.unprotect(),
            _ => {}
        }
        if let Some(protection) = self.protection().filter(|p| !p.unlocked) {
            let what = self.protection_spec().map_or_else(
                || {
                    "editing it needs the key: pass --key-file with the provider's exported key"
                        .to_owned()
                },
                |spec| {
                    format!(
                        "editing it needs the key — {}",
                        crate::protect::need_key(&spec)
                    )
                },
            );
            return Err(Error::KeyRequired {
                location: protection.location,
                provider: protection.provider,
                what,
            });
        }
        match change {
            Change::Set { name, values } => {
                let entry = self.entry_at(name, pick)?;
                let mut cs = parsed_or_error(&entry)?;
                for (key, value) in values.iter() {
                    cs = set_key(&entry, cs, key, value)?;
                }
                self.set_attribute(entry.child, "connectionString", cs.as_str())
            }
            Change::Unset { name, keys } => {
                let entry = self.entry_at(name, pick)?;
                let mut cs = parsed_or_error(&entry)?;
                for key in keys {
                    cs = unset_key(entry.kind, &cs, key);
                }
                self.set_attribute(entry.child, "connectionString", cs.as_str())
            }
            Change::Replace {
                name,
                connection_string,
            } => {
                let entry = self.entry_at(name, pick)?;
                self.set_attribute(entry.child, "connectionString", connection_string)
            }
            Change::Rename { name, to } => {
                let entry = self.entry_at(name, pick)?;
                check_new_name(to)?;
                check_entity(to)?;
                if !entry.name.same_as(to) {
                    self.refuse_existing(to)?;
                }
                self.set_attribute(entry.child, "name", to)
            }
            Change::Remove { name } => match pick {
                None => self.remove(name),
                Some(pick) => {
                    let child = self.entry_at(name, Some(pick))?.child;
                    self.remove_children(&[child])
                }
            },
            Change::Add { name, values } => self.add(name, values.iter()),
            Change::Protect { .. } | Change::Unprotect | Change::At { .. } => Ok(()),
        }
    }

    fn refuse_existing(&self, name: &str) -> Result<()> {
        match self.names()?.named(name).next() {
            Some(existing) => Err(Error::EntryExists {
                location: self.locate(existing.offset),
                name: existing.name.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Sets attribute `attr_name` of section child `child` to `value`, rewriting only the
    /// differing middle of the raw value (or inserting the attribute after the last one).
    fn set_attribute(&mut self, child: usize, attr_name: &str, value: &str) -> Result<()> {
        let file = self.section_file_mut();
        let element = child_element(file, child)?;
        let text = file.text();
        let edit = if let Some(a) = element.attr(text, attr_name) {
            {
                let raw = &text[a.value.clone()];
                let mapped = attr::decode_mapped(raw).map_err(|e| Error::Xml {
                    location: file.location(a.value.start + e.offset),
                    message: e.message,
                })?;
                let (decoded, replacement) = attr::changed_middle(&mapped.text, value);
                let raw_range = mapped.raw_range(decoded);
                let at = a.value.start + raw_range.start..a.value.start + raw_range.end;
                (at, attr::escape(replacement, a.quote).into_owned())
            }
        } else {
            {
                let attrs = element.attrs(text);
                let (after, quote) = attrs.last().map_or((element.name.end, '"'), |last| {
                    (last.value.end + 1, attrs[0].quote)
                });
                let inserted = format!(" {attr_name}={quote}{}{quote}", attr::escape(value, quote));
                (after..after, inserted)
            }
        };
        file.splice(vec![edit])
    }

    fn remove(&mut self, name: &str) -> Result<()> {
        let children: Vec<usize> = self.names()?.named(name).map(|s| s.child).collect();
        if children.is_empty() || children.len() > 1 {
            // Reuse the lookup's errors: not found (with hints), or several of that name —
            // removing them all would lose the one meant to stay; --nth/--line picks one.
            self.entry(name)?;
        }
        self.remove_children(&children)
    }

    /// Removes the section's children `children` (indexes), each with its whole line.
    fn remove_children(&mut self, children: &[usize]) -> Result<()> {
        let file = self.section_file_mut();
        let text = file.text();
        let edits = children
            .iter()
            .map(|&child| {
                Ok((
                    whole_lines(text, child_element(file, child)?.range.clone()),
                    String::new(),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        file.splice(edits)
    }

    fn add<'a>(
        &mut self,
        name: &str,
        values: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Result<()> {
        check_new_name(name)?;
        check_entity(name)?;
        let entry_name = EntryName::new(name);
        let kind = Kind::of_type(entry_name.type_name());
        self.refuse_existing(name)?;
        let empty = ConnectionString::parse("")
            .map_err(|_| Error::InvalidChange("internal: empty string".into()))?;
        let probe = Entry {
            name: entry_name,
            kind,
            value: None,
            parsed: Ok(empty),
            error_location: None,
            provider_name: None,
            // Offset 0 is line 1, column 1: asking the file would build its line index, after
            // every add of a batch.
            location: Location::new(self.main_file().path(), 1, 1),
            child: 0,
        };
        let connection_string = super::new_entry::new_connection_string(&probe, values)?;
        if self.section().is_some() {
            self.append_to_section(name, &connection_string)
        } else {
            self.create_section(name, &connection_string)
        }
    }

    fn append_to_section(&mut self, name: &str, connection_string: &str) -> Result<()> {
        let file = self.section_file_mut();
        let Some(section) = file.section() else {
            return Err(Error::InvalidChange(
                "internal: the section disappeared".into(),
            ));
        };
        let layout = Layout::for_section(file, section);
        let element = layout.add_element(name, connection_string);
        let text = file.text();
        let (eol, indent, section_indent) = (layout.eol, &layout.indent, &layout.section_indent);
        let edit = if let Some(last) = section.children.last() {
            (
                last.range.end..last.range.end,
                format!("{eol}{indent}{element}"),
            )
        } else if let Some(content) = section.element.content.clone() {
            // Insert after the last non-blank content (comments), before the end tag.
            let at = content.start + text[content.clone()].trim_end().len();
            let mut insertion = format!("{eol}{indent}{element}");
            if !text[at..content.end].contains('\n') {
                insertion.push_str(eol);
                insertion.push_str(section_indent);
            }
            (at..at, insertion)
        } else {
            // `<connectionStrings />` becomes a start tag, the entry, and an end tag.
            let tag = &text[section.element.start_tag.clone()];
            let open = tag.trim_end_matches('>').trim_end_matches('/').trim_end();
            let local = &text[section.element.name.clone()];
            let replacement =
                format!("{open}>{eol}{indent}{element}{eol}{section_indent}</{local}>");
            (section.element.range.clone(), replacement)
        };
        file.splice(vec![edit])
    }

    /// Adds a `<connectionStrings>` section to a config file that has none: after
    /// `<configSections>` (which .NET requires to come first), else first in `<configuration>`.
    fn create_section(&mut self, name: &str, connection_string: &str) -> Result<()> {
        let file = self.main_file_mut();
        let text = file.text();
        let index = file.index();
        let Some(root) = index.root.as_ref().filter(|r| r.content.is_some()) else {
            return Err(Error::InvalidChange("the config file's <configuration/> element is empty; add <connectionStrings> by hand first".into()));
        };
        let eol = file.line_ending();
        let root_indent = line_indent(text, root.range.start).unwrap_or("");
        let child_indent = index
            .top_level
            .first()
            .and_then(|(_, r)| line_indent(text, r.start))
            .filter(|i| i.len() > root_indent.len())
            .map_or_else(|| format!("{root_indent}  "), str::to_owned);
        let unit = child_indent
            .strip_prefix(root_indent)
            .unwrap_or("  ")
            .to_owned();
        let at = index
            .top_level
            .iter()
            .find(|(n, _)| n == "configSections")
            .map_or(root.start_tag.end, |(_, r)| r.end);
        let layout = Layout {
            eol,
            indent: format!("{child_indent}{unit}"),
            section_indent: child_indent.clone(),
            quote: '"',
            empty_end: " />".into(),
        };
        let section = format!(
            "{eol}{child_indent}<connectionStrings>{eol}{}{}{eol}{child_indent}</connectionStrings>",
            layout.indent,
            layout.add_element(name, connection_string)
        );
        file.splice(vec![(at..at, section)])
    }
}

fn child_element(file: &ConfigFile, child: usize) -> Result<&ElementSpan> {
    file.section()
        .and_then(|s| s.children.get(child))
        .ok_or_else(|| Error::InvalidChange("internal: the entry's element is gone".into()))
}

fn parsed_or_error(entry: &Entry) -> Result<ConnectionString> {
    entry
        .parsed
        .clone()
        .map_err(|source| Error::ConnectionString {
            location: entry
                .error_location
                .clone()
                .unwrap_or_else(|| entry.location.clone()),
            name: entry.name.as_str().to_owned(),
            source,
        })
}

/// Sets one key, using the schema's spelling for new keys and updating an existing key under
/// whichever synonym it is written with (dropping other synonyms, which would compete).
pub(super) fn set_key(
    entry: &Entry,
    cs: ConnectionString,
    key: &str,
    value: &str,
) -> Result<ConnectionString> {
    let invalid = |source| Error::InvalidPair {
        name: entry.name.as_str().to_owned(),
        source,
    };
    let Some(spec) = entry.kind.key_spec(key) else {
        return cs.with_value(key, value).map_err(invalid);
    };
    let written = spellings(&cs, spec);
    let chosen = written
        .last()
        .cloned()
        .unwrap_or_else(|| spec.name.to_owned());
    let mut cs = cs;
    for other in written.iter().filter(|k| !same_key(k, &chosen)) {
        cs = cs.without_key(other);
    }
    cs.with_value(&chosen, value).map_err(invalid)
}

/// Removes a key under every spelling .NET treats as the same setting.
fn unset_key(kind: Kind, cs: &ConnectionString, key: &str) -> ConnectionString {
    let Some(spec) = kind.key_spec(key) else {
        return cs.without_key(key);
    };
    spellings(cs, spec)
        .iter()
        .fold(cs.clone(), |cs, k| cs.without_key(k))
}

/// The keys of `cs` that name the setting `spec` (its name or a synonym), as written.
fn spellings(cs: &ConnectionString, spec: &KeySpec) -> Vec<String> {
    cs.pairs()
        .iter()
        .filter(|p| spec.matches(&p.key))
        .map(|p| p.key.clone())
        .collect()
}

/// A new name for a kind that needs a target entity (EWS: the mailbox) must have one, as the
/// vendor's editor demands ("Please provide an entity name.").
fn check_entity(name: &str) -> Result<()> {
    let entry_name = EntryName::new(name);
    if let Some(spec) = Kind::of_type(entry_name.type_name()).spec()
        && spec.entity == EntityRule::Required
        && entry_name.entity().is_none_or(str::is_empty)
    {
        return Err(Error::InvalidChange(format!(
            "{} entries need a target entity (the mailbox): {}:<mailbox>",
            spec.title, spec.type_name
        )));
    }
    Ok(())
}

fn check_new_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.trim() != name || name.chars().any(char::is_control) {
        return Err(Error::InvalidChange(format!(
            "invalid entry name {name:?}: names must be non-empty, without leading or trailing spaces or control characters"
        )));
    }
    Ok(())
}

/// Widens `range` to its whole line(s), line ending included, when nothing else shares them.
fn whole_lines(text: &str, range: Range<usize>) -> Range<usize> {
    let line_start = text[..range.start].rfind('\n').map_or(0, |i| i + 1);
    let before_blank = text[line_start..range.start]
        .chars()
        .all(|c| c == ' ' || c == '\t');
    let rest = &text[range.end..];
    let line_end = rest.find('\n').map_or(text.len(), |i| range.end + i + 1);
    let after_blank = text[range.end..line_end].trim().is_empty();
    if before_blank && after_blank && line_start > 0 {
        // Take the line's own ending with it: from the previous line's end to this one's.
        let prev_end = if text[..line_start].ends_with("\r\n") {
            line_start - 2
        } else {
            line_start - 1
        };
        let this_end = line_end
            - usize::from(text[..line_end].ends_with('\n'))
            - usize::from(text[..line_end].ends_with("\r\n"));
        prev_end..this_end
    } else if before_blank && after_blank {
        line_start..line_end
    } else {
        range
    }
}

#[cfg(test)]
mod tests {
    use super::whole_lines;

    #[test]
    fn removing_a_line_takes_its_line_ending() {
        let text = "<a>\r\n  <add x/>\r\n  <add y/>\r\n</a>";
        let start = text.find("<add y").unwrap();
        let r = whole_lines(text, start..start + 8);
        let mut out = text.to_owned();
        out.replace_range(r, "");
        assert_eq!(out, "<a>\r\n  <add x/>\r\n</a>");
        let inline = "<a><add y/><b/></a>";
        assert_eq!(whole_lines(inline, 3..11), 3..11);
    }
}
