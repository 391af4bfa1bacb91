//! The `entries` array of `list --json`, written on two threads.
//!
//! Each entry costs about as much to write (its pairs, masked value and findings: some 1.3 KB
//! of JSON) as to read and check. The entries are cut into chunks of [`CHUNK`]; a second
//! thread reads, checks and writes the odd chunks as text while this one does the even ones,
//! and the chunks go out in file order. Each thread does the whole work of its own entries,
//! so every allocation is freed by the thread that made it: a first version that only read
//! on the second thread and wrote on the first spent more CPU freeing the other thread's
//! memory (and waking each other) than it saved. Entries are read a chunk at a time and
//! dropped: 100,000 entries never exist at once, as entries, findings or JSON; at most a few
//! chunks of text wait to be written.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::mpsc;

use k2cse_core::Document;
use k2cse_core::entry::Entry;
use k2cse_core::lint::{self, Diagnostic, LintOptions};
use serde::Serialize;

use crate::json::{Items, Raw};
use crate::render::{FindingsByEntry, entry_json};

/// Entries per chunk: large enough that handing a chunk over costs nothing next to it, small
/// enough that both threads start at once and a chunk's text stays around 300 KB.
const CHUNK: usize = 256;

/// Chunks the second thread may finish ahead of this one.
const AHEAD: usize = 2;

/// Where the array sits in the `k2cse.list/1` document: the value of a top-level key.
const LEVEL: usize = 1;

/// What both threads need to write entries: shared, read-only.
struct Writer<'a> {
    doc: &'a Document,
    options: LintOptions,
    structural: &'a FindingsByEntry<'a>,
    reveal: bool,
    wanted: &'a (dyn Fn(&Entry) -> bool + Sync),
}

/// One chunk's entries as JSON text, and what stopped it early, if anything.
struct Chunk {
    items: Items,
    stop: Option<Stop>,
}

/// Why the entries stopped: an entry could not be read, or could not be written as JSON
/// (a config path that is not UTF-8).
enum Stop {
    Read(k2cse_core::Error),
    Json(std::io::Error),
}

impl Writer<'_> {
    /// The entries at positions `range`, as array items; on an error, those before it.
    /// `buffer` is a written chunk's, to be reused.
    fn chunk(&self, range: Range<usize>, buffer: Vec<u8>) -> Chunk {
        let mut items = Items::new(LEVEL, buffer);
        let stop = self.write_into(&mut items, range).err();
        Chunk { items, stop }
    }

    fn write_into(&self, items: &mut Items, range: Range<usize>) -> Result<(), Stop> {
        for entry in self.doc.entries_in(range).map_err(Stop::Read)? {
            let entry = entry.map_err(Stop::Read)?;
            if !(self.wanted)(&entry) {
                continue;
            }
            let own = lint::check_entry(&entry, &self.options);
            let findings: Vec<&Diagnostic> = self
                .structural
                .get(entry.name.as_str())
                .iter()
                .copied()
                .chain(&own)
                .collect();
            items
                .push(&entry_json(&entry, self.reveal, &findings))
                .map_err(Stop::Json)?;
        }
        Ok(())
    }
}

/// The `entries` array of `list --json`. An error reading an entry stops the output;
/// [`Self::into_result`] returns it.
pub struct EntriesJson<'a> {
    writer: Writer<'a>,
    error: RefCell<Option<k2cse_core::Error>>,
}

impl<'a> EntriesJson<'a> {
    pub fn new(
        doc: &'a Document,
        options: LintOptions,
        structural: &'a FindingsByEntry<'a>,
        reveal: bool,
        wanted: &'a (dyn Fn(&Entry) -> bool + Sync),
    ) -> Self {
        Self {
            writer: Writer {
                doc,
                options,
                structural,
                reveal,
                wanted,
            },
            error: RefCell::new(None),
        }
    }

    /// The outcome of writing: the entry error that stopped it, if any, else `written`'s.
    pub fn into_result(self, written: std::io::Result<()>) -> anyhow::Result<()> {
        match self.error.into_inner() {
            Some(err) => Err(err.into()),
            None => Ok(written?),
        }
    }
}

impl Serialize for EntriesJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeSeq as _};
        let fail = |stop: Stop| match stop {
            Stop::Read(err) => {
                let message = err.to_string();
                *self.error.borrow_mut() = Some(err);
                S::Error::custom(message)
            }
            Stop::Json(err) => S::Error::custom(err),
        };
        let mut seq = serializer.serialize_seq(None)?;
        let count = self
            .writer
            .doc
            .names()
            .map_err(|err| fail(Stop::Read(err)))?
            .slots
            .len();
        let chunks: Vec<Range<usize>> = (0..count)
            .step_by(CHUNK)
            .map(|start| start..count.min(start + CHUNK))
            .collect();
        let writer = &self.writer;
        std::thread::scope(|scope| {
            let (sender, receiver) = mpsc::sync_channel::<Chunk>(AHEAD);
            // Written chunks' buffers go back to the other thread, which made them.
            let (give_back, given_back) = mpsc::channel::<Vec<u8>>();
            let odd: Vec<Range<usize>> = chunks.iter().skip(1).step_by(2).cloned().collect();
            // A file of one chunk (every real K2 config) starts no thread.
            if !odd.is_empty() {
                scope.spawn(move || {
                    for range in odd {
                        let buffer = given_back.try_recv().unwrap_or_default();
                        // This thread stopped (an error): so does the other.
                        if sender.send(writer.chunk(range, buffer)).is_err() {
                            return;
                        }
                    }
                });
            }
            let mut done_ahead = receiver.iter();
            let mut own_buffer = Vec::new();
            for (i, range) in chunks.into_iter().enumerate() {
                let mine = i % 2 == 0;
                let chunk = if mine {
                    writer.chunk(range, std::mem::take(&mut own_buffer))
                } else {
                    // `None` only if the other thread panicked; the scope then re-raises it.
                    let Some(chunk) = done_ahead.next() else {
                        break;
                    };
                    chunk
                };
                let text = chunk.items.text();
                if !text.is_empty() {
                    seq.serialize_element(&Raw(text))?;
                }
                if let Some(stop) = chunk.stop {
                    return Err(fail(stop));
                }
                let buffer = chunk.items.into_buffer();
                if mine {
                    own_buffer = buffer;
                } else {
                    // The other thread may have finished: then the buffer is simply dropped.
                    let _ = give_back.send(buffer);
                }
            }
            seq.end()
        })
    }
}

impl std::fmt::Debug for EntriesJson<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntriesJson").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::path::Path;

    use super::*;
    use crate::render::write_json;

    fn doc(entries: usize) -> Document {
        let mut text = String::from("<configuration>\n  <connectionStrings>\n");
        for i in 0..entries {
            let kind = if i % 3 == 0 {
                "SourceCode.Net.Mail.SmtpConnection"
            } else {
                "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection"
            };
            let port = if i % 7 == 0 { "x" } else { "25" };
            writeln!(
                text,
                "    <add name=\"{kind}:m{i}@example.com\" connectionString=\"Server=h{i};Port={port};Password=p\\&quot;{i}\" />",
            )
            .unwrap();
        }
        if entries > 10 {
            // A duplicate: a section-wide finding that names an entry.
            text.push_str("    <add name=\"Dup\" connectionString=\"a=1\" />\n    <add name=\"dup\" connectionString=\"a=2\" />\n");
        }
        text.push_str("  </connectionStrings>\n</configuration>\n");
        Document::from_bytes(Path::new("k.config"), text.into_bytes()).unwrap()
    }

    /// The array as one thread and `serde_json` write it.
    fn one_thread(
        doc: &Document,
        structural: &FindingsByEntry,
        wanted: &dyn Fn(&Entry) -> bool,
    ) -> String {
        let entries: Vec<Entry> = doc
            .entries()
            .unwrap()
            .into_iter()
            .filter(|e| wanted(e))
            .collect();
        let own: Vec<Vec<Diagnostic>> = entries
            .iter()
            .map(|e| lint::check_entry(e, &LintOptions::default()))
            .collect();
        let json: Vec<_> = entries
            .iter()
            .zip(&own)
            .map(|(e, own)| {
                let findings: Vec<&Diagnostic> = structural
                    .get(e.name.as_str())
                    .iter()
                    .copied()
                    .chain(own)
                    .collect();
                entry_json(e, false, &findings)
            })
            .collect();
        serde_json::to_string_pretty(&serde_json::json!({ "entries": json })).unwrap()
    }

    #[test]
    fn two_threads_write_what_one_writes_in_the_same_order() {
        let smtp_only = |e: &Entry| e.kind.id() == "smtp";
        let every = |_: &Entry| true;
        // Around the chunk size: no entry, one chunk, one more, and several of each thread.
        for entries in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 3] {
            let doc = doc(entries);
            let all = lint::structural(&doc).unwrap();
            let structural = FindingsByEntry::new(&all);
            assert_eq!(entries > 10, all.iter().any(|d| d.entry.is_some()));
            for wanted in [&every as &(dyn Fn(&Entry) -> bool + Sync), &smtp_only] {
                let list =
                    EntriesJson::new(&doc, LintOptions::default(), &structural, false, wanted);
                // The array inside a top-level object, as `list --json` has it.
                let mut ours = Vec::new();
                write_json(&mut ours, &Wrapper { entries: &list }).unwrap();
                let ours = String::from_utf8(ours).unwrap();
                assert_eq!(
                    ours,
                    one_thread(&doc, &structural, wanted) + "\n",
                    "{entries} entries"
                );
            }
        }
    }

    #[derive(Serialize)]
    struct Wrapper<'a> {
        entries: &'a EntriesJson<'a>,
    }
}
