//! What can go wrong between k2cse and the K2 database. Messages never contain token values:
//! they may hold passwords.

use std::time::Duration;

/// A database error, with what the admin can do about it where that is known.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The connection string cannot be used to connect.
    #[error("connection string: {0}")]
    InvalidConnectionString(String),

    /// Neither `--connection` nor a `HostserverDB` entry says where the database is.
    #[error(
        "no database connection: the config has no HostserverDB entry; pass --connection \"Data Source=...;Initial Catalog=K2;...\""
    )]
    NoConnection,

    /// A SQL login without a password anywhere.
    #[error(
        "no password for SQL login {user:?} on {server}: store it with `k2cse secret set sql-password --account {account}`, put Password= in --connection, or set K2CSE_SQL_PASSWORD"
    )]
    PasswordRequired {
        /// Login.
        user: String,
        /// Server.
        server: String,
        /// Keyring account.
        account: String,
    },

    /// Integrated Security outside Windows.
    #[error(
        "{server}: Integrated Security needs Windows (SSPI); on this system use a SQL login with --connection \"...;User ID=...\""
    )]
    IntegratedUnavailable {
        /// Server.
        server: String,
    },

    /// Windows authentication failed on this side, before the server could answer (no SSPI
    /// credentials for this account, no domain, a Kerberos/NTLM failure).
    #[error(
        "{server}: Windows authentication (SSPI) failed: {message}. Run k2cse as an account that may log in to this SQL Server (the K2 service account), or use a SQL login with --connection \"...;User ID=...\""
    )]
    IntegratedLogin {
        /// Server.
        server: String,
        /// What SSPI said.
        message: String,
    },

    /// The TCP connection could not be made.
    #[error("cannot reach {server}: {message}")]
    Connect {
        /// Server.
        server: String,
        /// Why.
        message: String,
    },

    /// TLS failed (certificate not trusted, or client and server disagree about encryption).
    #[error("{server}: TLS failed: {message}. {hint}")]
    Tls {
        /// Server.
        server: String,
        /// The TLS library's words.
        message: String,
        /// What to do.
        hint: &'static str,
    },

    /// The server refused the login.
    #[error("{server}: login failed (error {code}): {message}")]
    Login {
        /// Server.
        server: String,
        /// SQL Server error number (18456, 4060, ...).
        code: u32,
        /// Server message.
        message: String,
    },

    /// A statement failed on the server.
    #[error("SQL Server error {code}: {message}")]
    Server {
        /// Error number.
        code: u32,
        /// Server message.
        message: String,
    },

    /// A round trip took longer than allowed.
    #[error("{what} timed out after {}s", after.as_secs_f32())]
    Timeout {
        /// What was being done.
        what: &'static str,
        /// The limit.
        after: Duration,
    },

    /// The server's reply grew past what k2cse lets a server make it buffer (a hostile or
    /// broken endpoint: K2's configuration table is a few hundred KiB at most).
    #[error(
        "{server}: the server's reply exceeds {cap_mib} MiB, more than any K2 configuration table needs; the connection was closed (is this a SQL Server, and the right one?)"
    )]
    ReplyTooLarge {
        /// Server.
        server: String,
        /// The cap, in MiB.
        cap_mib: u64,
    },

    /// Anything else tiberius reports (protocol, I/O after connecting).
    #[error("{0}")]
    Client(String),

    /// The database is not a K2 database (no `[HostServer].[Configuration]`).
    #[error(
        "database {database:?} has no [HostServer].[Configuration] table; is Initial Catalog the K2 database?"
    )]
    NotK2 {
        /// Database name.
        database: String,
    },

    /// Encrypted tokens are involved and the key stack could not be opened.
    #[error("cannot decrypt {tokens}: {reason}")]
    KeysUnavailable {
        /// The tokens concerned (names only), comma-separated.
        tokens: String,
        /// Why: the key status.
        reason: String,
    },

    /// The table's shape does not allow what was asked (names the column and its type).
    #[error("{message}")]
    Shape {
        /// What and why.
        message: String,
    },

    /// No such token.
    #[error("no token {0:?} in [HostServer].[Configuration]")]
    TokenNotFound(String),

    /// Rows changed since they were read; nothing was written.
    #[error("{} changed in the database since it was read; nothing was written (run the command again to see the current values): {}", if .0.len() == 1 { "a token" } else { "tokens" }, .0.join(", "))]
    Conflict(Vec<String>),

    /// A written value did not read back as written; the transaction was rolled back.
    #[error(
        "token {0:?} did not read back as written; the transaction was rolled back and nothing changed"
    )]
    Verification(String),

    /// A write failed before it was committed: the transaction was rolled back (by k2cse, or
    /// by the server when the connection died) and the database holds the old values.
    #[error(
        "{source}; nothing was written: the transaction was rolled back and the database holds the old values"
    )]
    RolledBack {
        /// What failed.
        #[source]
        source: Box<DbError>,
    },

    /// The commit was sent but its answer never came: the database holds either all the old
    /// values or all the new ones, and only looking tells which.
    #[error(
        "{source} while committing: the database holds either all the old values or all the new ones (never a mix); run `k2cse db drift` to see which"
    )]
    CommitUnknown {
        /// What failed.
        #[source]
        source: Box<DbError>,
    },

    /// The mapping file is unusable.
    #[error("{path}: {message}")]
    Mapping {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl DbError {
    /// This error, said of a write that was rolled back: errors that already say nothing was
    /// written (conflicts, verification, keys) stay as they are.
    #[must_use]
    pub fn rolled_back(self) -> Self {
        match self {
            e @ (Self::Conflict(_)
            | Self::Verification(_)
            | Self::KeysUnavailable { .. }
            | Self::RolledBack { .. }
            | Self::CommitUnknown { .. }) => e,
            other => Self::RolledBack {
                source: Box::new(other),
            },
        }
    }

    /// A failed commit: a server error answering it means it did not happen; anything else
    /// (the connection lost, no answer in time) leaves the outcome unknown.
    #[must_use]
    pub fn commit_failed(self) -> Self {
        match self {
            e @ Self::Server { .. } => Self::RolledBack {
                source: Box::new(e),
            },
            other => Self::CommitUnknown {
                source: Box::new(other),
            },
        }
    }

    /// The error at the root of a rolled-back or unknown write.
    pub fn root(&self) -> &Self {
        match self {
            Self::RolledBack { source } | Self::CommitUnknown { source } => source.root(),
            other => other,
        }
    }
}
