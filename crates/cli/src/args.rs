//! The command line, as clap parses it. Plain data: turning it into core calls happens in the
//! command modules.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use k2cse_core::protect::DataAlgorithm;

const EXAMPLES: &str = "\
Examples:
  k2cse list                                   entries of ./K2HostServer.exe.config
  k2cse --config 'C:\\Program Files\\K2\\Host Server\\Bin\\K2HostServer.exe.config' lint
  k2cse show SourceCode.Net.Mail.SmtpConnection
  k2cse set SourceCode.Net.Mail.SmtpConnection 'Host Name=smtp.office365.com' Port=587 --dry-run
  k2cse set SourceCode.Net.Mail.SmtpConnection:ops@x.com --prompt Password
  k2cse add SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:k2@x.com \\
        Autodiscover=False 'OAuth Resource=EWS' \\
        'OAuth Resource Audience=https://outlook.office365.com' 'User ID=k2@x.com'
  k2cse apply changes.toml --dry-run
  k2cse --demo lint                            try it on the bundled sample config

  k2cse db drift                               file vs. K2 database ([HostServer].[Configuration])
  k2cse db push --dry-run                      what 'update database' would write
  k2cse secret set sql-password                store the SQL login's password in the OS keyring
  k2cse --demo db drift                        try it on a simulated K2 database

Exit codes: 0 ok, 1 error, 2 usage error, 3 lint errors (lint found errors, or a change
would introduce one and was refused), 4 drift found (db drift --exit-code).";

/// Inspect, lint and safely edit K2 connection strings.
///
/// k2cse reads the connectionStrings section of K2HostServer.exe.config (or any .NET config
/// file), shows every entry (unknown ones too), checks them against what K2 needs, and changes
/// exactly the bytes you ask for: a backup is taken first, the file is replaced atomically, and
/// nothing is written when the file changed on disk meanwhile.
#[derive(Debug, Parser)]
#[command(name = "k2cse", version, after_long_help = EXAMPLES, after_help = "Run `k2cse --help` for examples and exit codes.")]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The config file [default: ./K2HostServer.exe.config, ./K2HostServer.config, then the K2
    /// install folder on Windows].
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "K2CSE_CONFIG",
        value_name = "PATH"
    )]
    pub config: Option<PathBuf>,

    /// Work on a temporary copy of the bundled sample K2 config.
    #[arg(long, global = true, conflicts_with = "config")]
    pub demo: bool,

    /// Print machine-readable JSON (schemas in docs/cli.md).
    #[arg(long, global = true)]
    pub json: bool,

    /// Show passwords and other secrets instead of ********.
    #[arg(long, global = true)]
    pub reveal: bool,

    /// The RSA key of an encrypted section: the `<RSAKeyValue>` file exported with
    /// `aspnet_regiis -px "<container>" key.xml -pri`, or a PEM private key. On Windows the
    /// provider's key container (or DPAPI) is used when this is not given.
    #[arg(
        long,
        short = 'k',
        global = true,
        env = "K2CSE_KEY_FILE",
        value_name = "PATH"
    )]
    pub key_file: Option<PathBuf>,

    /// The backup folder [default: k2cse-backups next to the config file].
    #[arg(long, global = true, env = "K2CSE_BACKUP_DIR", value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,

    /// Automatic backups to keep in the backup folder (0 keeps all; manual backups are never
    /// pruned).
    #[arg(
        long,
        global = true,
        env = "K2CSE_BACKUP_KEEP",
        value_name = "N",
        default_value_t = k2cse_core::backup::DEFAULT_KEEP
    )]
    pub keep: usize,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the entries of the connectionStrings section.
    List(ListArgs),
    /// Show one entry: every key, its meaning, and its findings.
    Show(ShowArgs),
    /// Check every entry; exit code 3 when errors are found.
    Lint(LintArgs),
    /// Set keys of an entry: NAME KEY=VALUE...
    Set(SetArgs),
    /// Remove keys from an entry: NAME KEY...
    Unset(UnsetArgs),
    /// Add an entry: NAME [KEY=VALUE...]
    Add(AddArgs),
    /// Remove an entry.
    Remove(RemoveArgs),
    /// Rename an entry, keeping its connection string.
    Rename(RenameArgs),
    /// Replace an entry's whole connection string.
    Replace(ReplaceArgs),
    /// Apply a batch of changes from a TOML or JSON file, all or nothing.
    Apply(ApplyArgs),
    /// Encrypt the connectionStrings section as the K2 server does (needs --key-file on Linux).
    Protect(ProtectArgs),
    /// Store the connectionStrings section decrypted (the documented manual procedure; K2
    /// encrypts it again when it starts). Secrets are then in plain text on disk.
    Unprotect(UnprotectArgs),
    /// Keys of encrypted sections.
    #[command(subcommand)]
    Key(KeyCommand),
    /// The K2 database: configuration tokens, and their drift from this file.
    #[command(subcommand)]
    Db(DbCommand),
    /// Passwords k2cse keeps in the OS keyring (SQL login, master key, key-file passphrase,
    /// backup passphrase).
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Backups of the config file and the database tokens: create, list, show, verify,
    /// restore, prune.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// A short guided tour on a copy of the bundled sample config and a simulated K2 database.
    Demo,
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only entries of this kind (ews-connection, ews-destination, smtp, hostserver-db,
    /// hostserver, other).
    #[arg(long)]
    pub kind: Option<String>,
    /// Also print each connection string (secrets masked unless --reveal).
    #[arg(long, short = 'l')]
    pub long: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The entry's name (case-insensitive).
    pub name: String,
    /// Also list known keys that are not set, with their defaults.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub pick: PickArgs,
}

impl PickArgs {
    /// The core's pick, if one was given.
    pub fn pick(self) -> Option<k2cse_core::edit::Pick> {
        match (self.nth, self.line) {
            (Some(n), _) => Some(k2cse_core::edit::Pick::Nth(n as usize)),
            (None, Some(l)) => Some(k2cse_core::edit::Pick::Line(l as usize)),
            (None, None) => None,
        }
    }
}

/// Which of several entries with the same name (a file .NET refuses until it is repaired).
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct PickArgs {
    /// The n-th entry of that name, in file order (from 1).
    #[arg(long, value_name = "N", conflicts_with = "line", value_parser = clap::value_parser!(u32).range(1..))]
    pub nth: Option<u32>,
    /// The entry of that name whose <add> starts on line L.
    #[arg(long, value_name = "L", value_parser = clap::value_parser!(u32).range(1..))]
    pub line: Option<u32>,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Treat warnings as errors (exit code 3).
    #[arg(long)]
    pub strict: bool,
    /// List the rules instead of checking.
    #[arg(long)]
    pub rules: bool,
    /// Check as of this day (YYYY-MM-DD) instead of today, for the dated Exchange Online rules.
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
}

/// Options shared by every command that writes.
#[derive(Debug, Args)]
pub struct WriteOptions {
    /// Print the unified diff of the file and write nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Do not take the automatic backup before writing.
    #[arg(long)]
    pub no_backup: bool,
    /// Save even when the change introduces lint errors.
    #[arg(long)]
    pub force: bool,
}

/// The values a `set` or `add` gives.
#[derive(Debug, Args)]
pub struct ValueArgs {
    /// KEY=VALUE pairs (split at the first '=').
    #[arg(value_name = "KEY=VALUE")]
    pub pairs: Vec<String>,
    /// Read the value of KEY from standard input (one line), e.g. --stdin Password.
    #[arg(long, value_name = "KEY")]
    pub stdin: Option<String>,
    /// Ask for the value of KEY without echoing it, e.g. --prompt Password.
    #[arg(long, value_name = "KEY", conflicts_with = "stdin")]
    pub prompt: Option<String>,
    /// Accept an empty value from --stdin/--prompt (otherwise empty or closed input is refused,
    /// so that a failed command feeding the secret cannot wipe it).
    #[arg(long)]
    pub allow_empty: bool,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// The entry's name.
    pub name: String,
    #[command(flatten)]
    pub values: ValueArgs,
    #[command(flatten)]
    pub pick: PickArgs,
    #[command(flatten)]
    pub write: WriteOptions,
}

#[derive(Debug, Args)]
pub struct UnsetArgs {
    /// The entry's name.
    pub name: String,
    /// Keys to remove.
    #[arg(required = true, value_name = "KEY")]
    pub keys: Vec<String>,
    #[command(flatten)]
    pub pick: PickArgs,
    #[command(flatten)]
    pub write: WriteOptions,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The new entry's name: Type or Type:Entity.
    pub name: String,
    #[command(flatten)]
    pub values: ValueArgs,
    #[command(flatten)]
    pub write: WriteOptions,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The entry's name.
    pub name: String,
    #[command(flatten)]
    pub pick: PickArgs,
    #[command(flatten)]
    pub write: WriteOptions,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The entry's name.
    pub name: String,
    /// Its new name.
    pub new_name: String,
    #[command(flatten)]
    pub pick: PickArgs,
    #[command(flatten)]
    pub write: WriteOptions,
}

#[derive(Debug, Args)]
pub struct ReplaceArgs {
    /// The entry's name.
    pub name: String,
    /// The new connection string (or --stdin: it holds passwords).
    #[arg(required_unless_present = "stdin")]
    pub connection_string: Option<String>,
    /// Read the new connection string from standard input (one line).
    #[arg(long, conflicts_with = "connection_string")]
    pub stdin: bool,
    /// Accept an empty connection string from --stdin (otherwise refused).
    #[arg(long, requires = "stdin")]
    pub allow_empty: bool,
    #[command(flatten)]
    pub pick: PickArgs,
    #[command(flatten)]
    pub write: WriteOptions,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The batch file (.toml, or .json).
    pub file: PathBuf,
    #[command(flatten)]
    pub write: WriteOptions,
}

#[derive(Debug, Args)]
pub struct ProtectArgs {
    /// The provider [default: `K2ConfigurationKey` if the file declares it, else the one it
    /// declares].
    #[arg(long)]
    pub provider: Option<String>,
    /// The data algorithm [default: the provider's: tripledes-cbc, or aes256-cbc with
    /// useFIPS].
    #[arg(long, value_parser = parse_algorithm)]
    pub algorithm: Option<DataAlgorithm>,
    /// Keep the automatic backup of the file as it is now (plain text, passwords readable)
    /// although no backup passphrase is set; without it, protect refuses.
    #[arg(long)]
    pub plaintext_backup: bool,
    #[command(flatten)]
    pub write: WriteOptions,
}

fn parse_algorithm(s: &str) -> Result<DataAlgorithm, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub struct UnprotectArgs {
    #[command(flatten)]
    pub write: WriteOptions,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Show the provider, the key container and the key (size, SHA-256 fingerprint of the
    /// public key, whether it opens the section). Never the private key.
    Inspect(KeyInspectArgs),
    /// Windows: put an exported key into the provider's key container (like
    /// `aspnet_regiis -pi`), so the section opens here without --key-file.
    Import(KeyImportArgs),
    /// Windows: write the key container's private key as `<RSAKeyValue>` XML (like
    /// `aspnet_regiis -px ... -pri`), for --key-file on another machine.
    Export(KeyExportArgs),
}

/// Which key container: the provider's (from the config) or one named directly.
#[derive(Debug, Args)]
pub struct ContainerChoice {
    /// The provider whose container to use [default: the section's, or `K2ConfigurationKey`].
    #[arg(long, conflicts_with = "container")]
    pub provider: Option<String>,
    /// Name the key container directly instead (no config file needed).
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// With --container: the current user's store instead of the machine's.
    #[arg(long, requires = "container")]
    pub user_store: bool,
}

#[derive(Debug, Args)]
pub struct KeyImportArgs {
    /// The key: `<RSAKeyValue>` XML with the private key (`aspnet_regiis -px ... -pri`), or PEM.
    pub file: PathBuf,
    #[command(flatten)]
    pub container: ContainerChoice,
    /// Overwrite a container that holds a different key (sections encrypted with that key can
    /// then no longer be decrypted).
    #[arg(long)]
    pub replace: bool,
}

#[derive(Debug, Args)]
pub struct KeyExportArgs {
    /// Where to write the key (created owner-only; never overwritten).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    #[command(flatten)]
    pub container: ContainerChoice,
}

#[derive(Debug, Args)]
pub struct KeyInspectArgs {
    /// The provider to describe [default: the section's, or `K2ConfigurationKey`].
    #[arg(long)]
    pub provider: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// Where the K2 database is and how to reach it.
#[derive(Debug, Clone, Args)]
pub struct DbOptions {
    /// ADO.NET connection string of the K2 database [default: the config's `HostserverDB`
    /// entry; with --demo, a simulated K2 database].
    #[arg(
        long,
        env = "K2CSE_CONNECTION",
        value_name = "STRING",
        hide_env_values = true
    )]
    pub connection: Option<String>,
    /// Accept the server's TLS certificate without verifying it (TrustServerCertificate=True).
    #[arg(long)]
    pub trust_server_cert: bool,
    /// Seconds allowed per round trip.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
}

/// Which token belongs to which entry.
#[derive(Debug, Clone, Args)]
pub struct MappingOption {
    /// Mapping file (TOML: entry name = token) [default: built-in defaults plus discovery;
    /// see docs/database.md].
    #[arg(long, env = "K2CSE_MAPPING", value_name = "FILE")]
    pub mapping: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Server, database, K2's key objects, and whether encrypted tokens can be read.
    Status(DbStatusArgs),
    /// List the tokens of `[HostServer].[Configuration]` (secrets masked unless --reveal).
    Tokens(DbTokensArgs),
    /// Print one token's value.
    Get(DbGetArgs),
    /// Set one token's value (encrypted when its row is), in a checked transaction.
    Set(DbSetArgs),
    /// Compare every connection string with its database token.
    Drift(DbDriftArgs),
    /// Write file values into their tokens (the vendor tool's "update database").
    Push(DbPushArgs),
    /// Write database values into the file (with the usual preview, backup and checks).
    Pull(DbPullArgs),
    /// List every token that holds a connection string, and the entry it matches.
    Discover(DbDiscoverArgs),
}

impl DbCommand {
    /// Whether the command reads the config file: the read-only commands given
    /// `--connection` (or `K2CSE_CONNECTION`) work anywhere.
    pub fn needs_config(&self) -> bool {
        match self {
            Self::Status(DbStatusArgs { db })
            | Self::Tokens(DbTokensArgs { db, .. })
            | Self::Get(DbGetArgs { db, .. }) => db.connection.is_none(),
            _ => true,
        }
    }
}

#[derive(Debug, Args)]
pub struct DbStatusArgs {
    #[command(flatten)]
    pub db: DbOptions,
}

#[derive(Debug, Args)]
pub struct DbTokensArgs {
    #[command(flatten)]
    pub db: DbOptions,
    /// Only tokens whose name contains TEXT (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
}

#[derive(Debug, Args)]
pub struct DbGetArgs {
    #[command(flatten)]
    pub db: DbOptions,
    /// Token name, e.g. '[USESQLENCRYPTION]'.
    pub token: String,
}

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools, reason = "command-line flags")]
pub struct DbSetArgs {
    #[command(flatten)]
    pub db: DbOptions,
    /// Token name.
    pub token: String,
    /// The new value (or use --stdin / --prompt for secrets).
    #[arg(required_unless_present_any = ["stdin", "prompt"])]
    pub value: Option<String>,
    /// Read the value from standard input (one line).
    #[arg(long, conflicts_with = "value")]
    pub stdin: bool,
    /// Ask for the value without echoing it.
    #[arg(long, conflicts_with_all = ["value", "stdin"])]
    pub prompt: bool,
    /// Create the token when it does not exist (encrypted when [USESQLENCRYPTION] is true).
    #[arg(long)]
    pub create: bool,
    /// Show what would change and write nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Do not back up the database rows before writing.
    #[arg(long)]
    pub no_backup: bool,
}

#[derive(Debug, Args)]
pub struct DbDriftArgs {
    #[command(flatten)]
    pub db: DbOptions,
    #[command(flatten)]
    pub mapping: MappingOption,
    /// Exit with code 4 when any entry differs from (or is missing in) the database.
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools, reason = "command-line flags")]
pub struct DbPushArgs {
    #[command(flatten)]
    pub db: DbOptions,
    #[command(flatten)]
    pub mapping: MappingOption,
    /// Only these entries [default: every entry that differs].
    #[arg(value_name = "ENTRY")]
    pub entries: Vec<String>,
    /// Also create tokens for entries that have none (encrypted when [USESQLENCRYPTION] is true).
    #[arg(long)]
    pub create: bool,
    /// Show what would be written and write nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Do not back up the database rows before writing.
    #[arg(long)]
    pub no_backup: bool,
    /// Write without asking (needed when not on a terminal, and with --json).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct DbPullArgs {
    #[command(flatten)]
    pub db: DbOptions,
    #[command(flatten)]
    pub mapping: MappingOption,
    /// Only these entries [default: every entry that differs].
    #[arg(value_name = "ENTRY")]
    pub entries: Vec<String>,
    #[command(flatten)]
    pub write: WriteOptions,
}

#[derive(Debug, Args)]
pub struct DbDiscoverArgs {
    #[command(flatten)]
    pub db: DbOptions,
    #[command(flatten)]
    pub mapping: MappingOption,
}

/// The kinds of stored secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SecretKindArg {
    /// The SQL login's password (account: login@server).
    SqlPassword,
    /// The K2 database's master key password (account: server/database).
    MasterKeyPassword,
    /// The passphrase of a password-protected PEM --key-file (account: its absolute path).
    KeyFilePassphrase,
    /// The passphrase of encrypted backups (account: `backups`); when stored, automatic
    /// backups are encrypted with it too.
    BackupPassphrase,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a secret (asked for without echo, or read from --stdin).
    Set(SecretSetArgs),
    /// Delete a stored secret.
    Delete(SecretDeleteArgs),
    /// Which secrets are stored for this connection and key file (never their values).
    Status(SecretStatusArgs),
}

#[derive(Debug, Args)]
pub struct SecretSetArgs {
    /// What the secret is for.
    pub kind: SecretKindArg,
    /// The account [default: derived from the connection or --key-file].
    #[arg(long)]
    pub account: Option<String>,
    /// Read the secret from standard input (one line) instead of prompting.
    #[arg(long)]
    pub stdin: bool,
    #[command(flatten)]
    pub db: DbOptions,
}

#[derive(Debug, Args)]
pub struct SecretDeleteArgs {
    /// What the secret is for.
    pub kind: SecretKindArg,
    /// The account [default: derived from the connection or --key-file].
    #[arg(long)]
    pub account: Option<String>,
    #[command(flatten)]
    pub db: DbOptions,
}

#[derive(Debug, Args)]
pub struct SecretStatusArgs {
    #[command(flatten)]
    pub db: DbOptions,
}

/// Which side of a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnlyArg {
    /// The config file(s).
    File,
    /// The database rows.
    Db,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Back up the config file (bytes as on disk) and the database tokens (rows as stored).
    Create(BackupCreateArgs),
    /// List the backups in the backup folder, oldest first.
    List,
    /// Show a backup's manifest (verifying it first).
    Show(BackupFileArgs),
    /// Check that a backup is complete and unaltered (exit code 1 when not).
    Verify(BackupFileArgs),
    /// Restore a backup: shows the diff, asks, takes a pre-restore backup, then restores.
    Restore(BackupRestoreArgs),
    /// Delete automatic backups beyond --keep (manual ones are kept).
    Prune,
}

#[derive(Debug, Args)]
pub struct BackupCreateArgs {
    /// Write the backup here instead of the backup folder (never over an existing file).
    #[arg(long, value_name = "PATH")]
    pub to: Option<PathBuf>,
    /// Only the config file, or only the database rows [default: both when the database is
    /// reachable through `HostserverDB` or --connection, else the file].
    #[arg(long, value_enum)]
    pub only: Option<OnlyArg>,
    /// Encrypt the backup with a passphrase (from `K2CSE_BACKUP_PASSPHRASE`, the keyring, or a
    /// prompt). A stored backup passphrase encrypts without this flag.
    #[arg(long)]
    pub passphrase: bool,
    #[command(flatten)]
    pub db: DbOptions,
}

#[derive(Debug, Args)]
pub struct BackupFileArgs {
    /// The backup file (a path, or a name in the backup folder).
    pub backup: PathBuf,
}

#[derive(Debug, Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent command-line flags"
)]
pub struct BackupRestoreArgs {
    /// The backup file (a path, or a name in the backup folder, or `latest`).
    #[arg(required_unless_present_any = ["resume", "roll_back"])]
    pub backup: Option<PathBuf>,
    /// Finish a restore that was interrupted (its journal is in the backup folder): restore
    /// the same backup again, writing only what still differs.
    #[arg(long, conflicts_with_all = ["backup", "roll_back", "only", "onto"])]
    pub resume: bool,
    /// Roll an interrupted restore back: restore the pre-restore backup it took.
    #[arg(long, conflicts_with_all = ["backup", "only", "onto"])]
    pub roll_back: bool,
    /// Show what would change and write nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Restore only the config file, or only the database rows.
    #[arg(long, value_enum)]
    pub only: Option<OnlyArg>,
    /// Answer yes to the confirmation (needed when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Restore the config file onto this path, whichever file the backup was taken of
    /// [default: the config in scope (--config or discovery), which must be the file the
    /// backup was taken of].
    #[arg(long = "to", visible_alias = "onto", value_name = "PATH")]
    pub onto: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbOptions,
}
