//! Why a backup cannot be used. Every variant names the backup file; none carries contents.

use std::path::PathBuf;

/// A backup that is unreadable, incomplete, altered or locked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// Neither a k2cse backup archive nor an `age`-encrypted one.
    #[error("{}: not a k2cse backup ({detail})", path.display())]
    NotABackup {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        detail: String,
    },

    /// The backup is encrypted and no passphrase was given.
    #[error("{}: the backup is encrypted; give its passphrase (--passphrase, K2CSE_BACKUP_PASSPHRASE, or `k2cse secret set backup-passphrase`)", path.display())]
    PassphraseRequired {
        /// The file.
        path: PathBuf,
    },

    /// The passphrase does not open the backup.
    #[error("{}: wrong passphrase: it does not decrypt this backup", path.display())]
    WrongPassphrase {
        /// The file.
        path: PathBuf,
    },

    /// The file ends early (an interrupted copy or a full disk).
    #[error("{}: the backup is truncated ({detail}); it cannot be trusted", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Where it ends.
        detail: String,
    },

    /// A part's bytes are not the ones the manifest describes.
    #[error("{}: part {part:?} was altered or damaged: {detail}", path.display())]
    Altered {
        /// The file.
        path: PathBuf,
        /// The part.
        part: String,
        /// Expected and found size or digest.
        detail: String,
    },

    /// The manifest lists a part the archive does not hold.
    #[error("{}: part {part:?} is missing", path.display())]
    MissingPart {
        /// The file.
        path: PathBuf,
        /// The part.
        part: String,
    },

    /// The archive holds a member the manifest does not list.
    #[error("{}: unexpected member {part:?}, not listed in the manifest", path.display())]
    UnexpectedPart {
        /// The file.
        path: PathBuf,
        /// The member.
        part: String,
    },

    /// The manifest is missing or not valid.
    #[error("{}: manifest: {message}", path.display())]
    Manifest {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// Written by a newer k2cse.
    #[error("{}: backup format version {version} is newer than this k2cse reads ({supported}); update k2cse", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The manifest's version.
        version: u32,
        /// The version this build reads.
        supported: u32,
    },

    /// Larger than any K2 configuration backup can be: refused before reading it all.
    #[error("{}: larger than {limit} bytes; not a k2cse backup", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },

    /// Building or encrypting the archive failed.
    #[error("{}: writing the backup: {message}", path.display())]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The library's words.
        message: String,
    },

    /// The restore wrote the file, but the database's answer to the commit was lost.
    #[error("{}: the config file was restored, but the answer to the database commit was lost ({cause}): the rows are either all as they were or all restored, never a mix. Run the same restore again: it shows what still differs and finishes it", path.display())]
    CommitUnknown {
        /// The backup.
        path: PathBuf,
        /// What happened to the connection.
        cause: String,
    },

    /// The backup folder or file could be planted or altered by someone else.
    #[error("{}: {why}; k2cse refuses to use backups there (as ssh's StrictModes refuses such keys). Fix the owner or the mode (chmod go-w), or use another --backup-dir", path.display())]
    Untrusted {
        /// The folder or file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },

    /// The backup was taken of another file than the one this restore would write.
    #[error("{}: the backup was taken of {}, not of {}; nothing was restored. Pass --to {} to restore it onto that file anyway (or --config to pick the file it was taken of)", path.display(), source_path.display(), target.display(), target.display())]
    OtherFile {
        /// The backup.
        path: PathBuf,
        /// Where the manifest says the file was.
        source_path: PathBuf,
        /// The config in scope.
        target: PathBuf,
    },

    /// An earlier restore of this config was interrupted: it must be finished or rolled back
    /// before another backup is restored.
    #[error("{}: not restored: {message}", path.display())]
    RestorePending {
        /// The backup asked for.
        path: PathBuf,
        /// The interrupted restore, and what to run.
        message: String,
    },

    /// The backup holds nothing that this restore is asked to restore.
    #[error("{}: {message}", path.display())]
    NothingToRestore {
        /// The file.
        path: PathBuf,
        /// What is missing.
        message: String,
    },
}
