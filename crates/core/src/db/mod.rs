//! The K2 database: configuration tokens in `[HostServer].[Configuration]`, read and written
//! over TDS with tiberius, and their link to the config file's connection strings.
//!
//! - [`target`]: where to connect, from an ADO.NET connection string;
//! - [`client`]: the connection, the key stack, reads and transactional writes;
//! - `bounded_stream`: the cap on what a server reply may make the client buffer;
//! - [`sql`]: every statement sent, parameterized;
//! - `snapshot`: rows exactly as stored, for backups, and their restore in one transaction;
//! - [`link`]: which token holds which entry (mapping file, defaults, discovery), drift, and
//!   the plans behind `db push` and `db pull`.
//!
//! Everything is `async` and runtime-agnostic in the sense that the crate never creates a
//! runtime: front ends run these futures on theirs (tokio, for the TCP stream).

mod bounded_stream;
mod client;
mod error;
pub mod link;
pub mod push;
pub mod shape;
mod snapshot;
pub mod sql;
pub mod target;

use std::fmt;

pub use client::{Credentials, Database, TokenWrite};
pub use error::DbError;
pub use link::{Discovery, Drift, DriftState, Link, LinkSource, Mapping};
pub use shape::{FlagType, TableShape, ValueType};
pub use snapshot::{RawRow, RowChange, StoredValue};
pub use target::{Authentication, Encryption, Target};

/// A token's value as read.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenValue {
    /// The (decrypted) text.
    Text(String),
    /// The stored value is NULL.
    Null,
    /// Encrypted, and the key is not open (or the value is not valid ciphertext).
    Unreadable,
}

impl TokenValue {
    /// The text, if readable and not NULL.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            Self::Null | Self::Unreadable => None,
        }
    }
}

impl fmt::Debug for TokenValue {
    /// Values may hold passwords: never printed by `Debug`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(_) => f.write_str("Text(********)"),
            Self::Null => f.write_str("Null"),
            Self::Unreadable => f.write_str("Unreadable"),
        }
    }
}

impl Drop for TokenValue {
    fn drop(&mut self) {
        if let Self::Text(t) = self {
            zeroize::Zeroize::zeroize(t);
        }
    }
}

/// One row of `[HostServer].[Configuration]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// `VariableToken`, e.g. `[USESQLENCRYPTION]`.
    pub name: String,
    /// `Encrypted`.
    pub encrypted: bool,
    /// `VariableValue`, decrypted.
    pub value: TokenValue,
}

/// Whether encrypted tokens can be read and written in this session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStatus {
    /// The database has no `SCSSOKey`: nothing is encrypted by SQL Server.
    NotPresent,
    /// `SCSSOKey` is open.
    Open,
    /// The master key must be opened with its password first.
    MasterKeyPasswordRequired {
        /// Keyring account for `k2cse secret set master-key-password`.
        account: String,
    },
    /// The master key password given is wrong (SQL Server error 15313).
    WrongMasterKeyPassword {
        /// Keyring account.
        account: String,
    },
    /// The login may not open `SCSSOKey` (SQL Server error 15151 for a key the catalog
    /// lists).
    NoPermission {
        /// The login, as the connection string names it.
        login: String,
    },
    /// Another failure, with the server's words.
    Failed(String),
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPresent => f.write_str("the database has no SCSSOKey"),
            Self::Open => f.write_str("SCSSOKey is open"),
            Self::MasterKeyPasswordRequired { account } => write!(
                f,
                "the database master key password is needed to open SCSSOKey: store it with `k2cse secret set master-key-password --account {account}` or set K2CSE_MASTER_KEY_PASSWORD"
            ),
            Self::WrongMasterKeyPassword { account } => write!(
                f,
                "the database master key password is wrong (SQL Server error 15313); update it with `k2cse secret set master-key-password --account {account}`"
            ),
            Self::NoPermission { login } => write!(
                f,
                "the login {login} has no permission to open SCSSOKey (SQL Server error 15151): connect as the K2 service account, or have a DBA grant it VIEW DEFINITION on SYMMETRIC KEY::SCSSOKey and CONTROL on CERTIFICATE::SCHostServerCert"
            ),
            Self::Failed(message) => write!(f, "SCSSOKey could not be opened: {message}"),
        }
    }
}

/// What `db status` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "one flag per catalog object, as reported"
)]
pub struct Status {
    /// Server as written in the connection string.
    pub server: String,
    /// `DB_NAME()`.
    pub database: String,
    /// First line of `@@VERSION`.
    pub version: String,
    /// `SERVERPROPERTY('ProductVersion')`, e.g. `15.0.2000.5`.
    pub product_version: String,
    /// The database's compatibility level (100 = SQL Server 2008 R2 ... 160 = 2022).
    pub compatibility_level: Option<i32>,
    /// The database's default collation.
    pub collation: String,
    /// The column types of `[HostServer].[Configuration]`.
    pub shape: TableShape,
    /// `[HostServer].[Configuration]` exists.
    pub has_configuration_table: bool,
    /// A database master key exists.
    pub has_master_key: bool,
    /// `SCHostServerCert` exists.
    pub has_certificate: bool,
    /// `SCSSOKey` exists.
    pub has_symmetric_key: bool,
    /// Whether the key stack is usable in this session.
    pub keys: KeyStatus,
    /// The `[USESQLENCRYPTION]` token, when present and readable.
    pub use_sql_encryption: Option<bool>,
}
