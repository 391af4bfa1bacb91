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

Exit codes: 0 ok, 1 error, 2 usage error, 3 lint errors (lint found errors, or a change
would introduce one and was refused).";

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
    /// A short guided tour on a copy of the bundled sample config.
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
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Treat warnings as errors (exit code 3).
    #[arg(long)]
    pub strict: bool,
    /// List the rules instead of checking.
    #[arg(long)]
    pub rules: bool,
}

/// Options shared by every command that writes.
#[derive(Debug, Args)]
pub struct WriteOptions {
    /// Print the unified diff of the file and write nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Do not take a backup copy before writing.
    #[arg(long)]
    pub no_backup: bool,
    /// Where backups go [default: next to the config file].
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
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
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// The entry's name.
    pub name: String,
    #[command(flatten)]
    pub values: ValueArgs,
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
    pub write: WriteOptions,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The entry's name.
    pub name: String,
    /// Its new name.
    pub new_name: String,
    #[command(flatten)]
    pub write: WriteOptions,
}

#[derive(Debug, Args)]
pub struct ReplaceArgs {
    /// The entry's name.
    pub name: String,
    /// The new connection string.
    pub connection_string: String,
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
