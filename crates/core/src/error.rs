//! The one error type of the core. Front ends decide how to show it; every variant that
//! concerns a place in a file carries that place.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::connstr::{InvalidPair, SyntaxError};

/// A position in a file, 1-based, columns counted in characters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl Location {
    /// A location in `path`.
    pub fn new(path: &Path, line: usize, column: usize) -> Self {
        Self {
            path: path.to_owned(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// Everything that can go wrong in k2cse-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The file is not text in an encoding .NET config files use.
    #[error("{location}: {message}")]
    Encoding {
        /// Where decoding failed.
        location: Location,
        /// What was wrong.
        message: String,
    },

    /// The file is not well-formed XML, or not shaped like a .NET config file.
    #[error("{location}: {message}")]
    Xml {
        /// Where the problem is.
        location: Location,
        /// What is wrong.
        message: String,
    },

    /// A `connectionString` attribute that .NET would refuse to read.
    #[error("{location}: entry {name:?}: {source}")]
    ConnectionString {
        /// Where the offending character is.
        location: Location,
        /// The entry.
        name: String,
        /// The syntax error.
        #[source]
        source: SyntaxError,
    },

    /// A key or value the .NET connection-string builder would not store.
    #[error("entry {name:?}: {source}")]
    InvalidPair {
        /// The entry being changed.
        name: String,
        /// What is wrong with the pair.
        #[source]
        source: InvalidPair,
    },

    /// No entry has this name.
    #[error("{}: no entry named {name:?}{}", path.display(), hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    EntryNotFound {
        /// The file searched.
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// A near match, if there is one.
        hint: Option<String>,
    },

    /// An entry with this name (compared case-insensitively, as .NET does) already exists.
    #[error("{location}: an entry named {name:?} already exists")]
    EntryExists {
        /// The existing entry.
        location: Location,
        /// The name.
        name: String,
    },

    /// Several `<add>` elements carry this name; an edit would be ambiguous.
    #[error("{}: {count} entries are named {name:?} (lines {lines}); .NET refuses the file until only one is left: pick one with --nth N (1 to {count}) or --line L, e.g. `k2cse show {name:?} --nth 2`, then `k2cse remove {name:?} --nth 2` or `k2cse rename {name:?} NEW-NAME --nth 2`", path.display())]
    AmbiguousEntry {
        /// The file.
        path: PathBuf,
        /// The name.
        name: String,
        /// How many.
        count: usize,
        /// Their lines, comma-separated.
        lines: String,
    },

    /// A name or change that cannot be applied as asked.
    #[error("{0}")]
    InvalidChange(String),

    /// The section is encrypted and no usable key was given.
    #[error(
        "{location}: the connectionStrings section is encrypted (provider {provider:?}); {what}"
    )]
    KeyRequired {
        /// The section.
        location: Location,
        /// The provider.
        provider: String,
        /// What to do.
        what: String,
    },

    /// Decrypting or encrypting the section failed.
    #[error("{location}: provider {provider:?}: {message}")]
    Crypto {
        /// The section (or the provider declaration).
        location: Location,
        /// The provider.
        provider: String,
        /// What went wrong and what to do next (never key material or plain text).
        message: String,
    },

    /// A key file could not be used.
    #[error("{0}")]
    Key(#[from] crate::protect::KeyError),

    /// The file on disk is not the one that was loaded.
    #[error("{}: the file changed on disk since it was loaded; nothing was written (load it again and redo the change)", path.display())]
    ChangedOnDisk {
        /// The file.
        path: PathBuf,
    },

    /// Another program wrote to the file while k2cse replaced it: k2cse's version is in place,
    /// the other program's is kept in a backup.
    #[error("{}: another program wrote to the file while k2cse was saving it; k2cse's version is now in place and the other program's is kept in {}: compare them (`k2cse backup restore {} --dry-run`) and merge", path.display(), kept.display(), kept.display())]
    EditedDuringSave {
        /// The config file.
        path: PathBuf,
        /// The backup holding the other program's version.
        kept: PathBuf,
    },

    /// Another k2cse holds the file's write lock (its save is taking long, or it hangs).
    #[error("{}: another k2cse is saving this file (it has held {} for more than {seconds}s); nothing was written; try again when it is done", path.display(), lock.display())]
    Locked {
        /// The config file.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// How long this run waited.
        seconds: u64,
    },

    /// `protect` would leave the plain-text file in an unencrypted automatic backup.
    #[error("{}: protecting the section would keep its current plain text (passwords included) in an unencrypted backup; nothing was written. Set a backup passphrase (K2CSE_BACKUP_PASSPHRASE or `k2cse secret set backup-passphrase`) so that the backup is encrypted, or pass --plaintext-backup to keep a plain-text backup anyway, or --no-backup", path.display())]
    PlaintextBackup {
        /// The config file.
        path: PathBuf,
    },

    /// The changes would introduce lint errors (K2 would fail); nothing was written.
    #[error(
        "the change would break the configuration; nothing was written:{}",
        list_diagnostics(diagnostics)
    )]
    LintErrors {
        /// The errors introduced.
        diagnostics: Vec<crate::lint::Diagnostic>,
    },

    /// A batch file (`k2cse apply`) could not be read.
    #[error("{}: {message}", path.display())]
    Batch {
        /// The batch file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// The K2 database.
    #[error(transparent)]
    Database(#[from] crate::db::DbError),

    /// A backup that cannot be used.
    #[error(transparent)]
    Backup(#[from] crate::backup::BackupError),

    /// The OS keyring.
    #[error(transparent)]
    Keyring(#[from] crate::credentials::KeyringError),

    /// No config file was given and none was found in the usual places.
    #[error("no K2 config file found; looked for {}. Pass --config PATH", tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    ConfigNotFound {
        /// Paths tried, in order.
        tried: Vec<PathBuf>,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// An I/O error of `operation` ("creating a temporary file", "renaming the new file into
    /// place", ...) on `path`: a bare `os error N` says neither what nor where.
    pub fn io_op(operation: &str, path: &Path, source: std::io::Error) -> Self {
        let kind = source.kind();
        Self::Io {
            path: path.to_owned(),
            source: std::io::Error::new(
                kind,
                During {
                    operation: operation.to_owned(),
                    source,
                },
            ),
        }
    }

    /// The file position the error points at, when it has one.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Self::Encoding { location, .. }
            | Self::Xml { location, .. }
            | Self::ConnectionString { location, .. }
            | Self::EntryExists { location, .. }
            | Self::KeyRequired { location, .. }
            | Self::Crypto { location, .. } => Some(location),
            _ => None,
        }
    }
}

/// An OS error and what k2cse was doing when it happened.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {source}")]
struct During {
    operation: String,
    source: std::io::Error,
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn list_diagnostics(diagnostics: &[crate::lint::Diagnostic]) -> String {
    use std::fmt::Write as _;
    diagnostics.iter().fold(String::new(), |mut out, d| {
        let _ = write!(
            out,
            "\n  {} {}: {}",
            d.code,
            d.entry.as_deref().unwrap_or("-"),
            d.message
        );
        if let Some(location) = &d.location {
            let _ = write!(out, " ({location})");
        }
        out
    })
}
