//! The JSON documents of the read-only database commands: `db status`, `db drift`,
//! `db discover`.

use serde::Serialize;

use super::Schema;
use crate::db::{Discovery, Drift, DriftState, KeyStatus, LinkSource, Status, link::Match};

/// `k2cse.db-status/1`: the server, the database, K2's table and key objects.
#[derive(Debug, Serialize)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "the documented schema: one boolean per object"
)]
pub struct DbStatusReport<'a> {
    /// Server as written in the connection string.
    pub server: &'a str,
    /// `DB_NAME()`.
    pub database: &'a str,
    /// First line of `@@VERSION`.
    pub version: &'a str,
    /// `SERVERPROPERTY('ProductVersion')`.
    pub product_version: &'a str,
    /// The database's compatibility level.
    pub compatibility_level: Option<i32>,
    /// The database's default collation.
    pub collation: &'a str,
    /// The column types of `[HostServer].[Configuration]` and what k2cse does with them.
    pub table_shape: TableShapeShown,
    /// `[HostServer].[Configuration]` exists.
    pub configuration_table: bool,
    /// A database master key exists.
    pub master_key: bool,
    /// `SCHostServerCert` exists.
    pub certificate: bool,
    /// `SCSSOKey` exists.
    pub symmetric_key: bool,
    /// Whether the key stack is usable in this session.
    pub keys_open: bool,
    /// The key status as text, with what to do when closed.
    pub keys: String,
    /// The `[USESQLENCRYPTION]` token, when present and readable.
    pub use_sql_encryption: Option<bool>,
}

/// The `table_shape` of a [`DbStatusReport`].
#[derive(Debug, Serialize)]
pub struct TableShapeShown {
    /// The `VariableValue` column's type.
    pub variable_value: String,
    /// The `Encrypted` column's type.
    pub encrypted: String,
    /// Whether k2cse writes this table.
    pub writable: bool,
    /// Whether encrypted values can be kept in it.
    pub encrypted_values: bool,
}

impl<'a> DbStatusReport<'a> {
    /// The report of `status`.
    #[must_use]
    pub fn of(s: &'a Status) -> Self {
        DbStatusReport {
            server: &s.server,
            database: &s.database,
            version: &s.version,
            product_version: &s.product_version,
            compatibility_level: s.compatibility_level,
            collation: &s.collation,
            table_shape: TableShapeShown {
                variable_value: s.shape.value_type_name(),
                encrypted: s.shape.flag_type_name().to_owned(),
                writable: s.shape.write_refusal().is_none(),
                encrypted_values: s.shape.can_hold_ciphertext(),
            },
            configuration_table: s.has_configuration_table,
            master_key: s.has_master_key,
            certificate: s.has_certificate,
            symmetric_key: s.has_symmetric_key,
            keys_open: s.keys == KeyStatus::Open,
            keys: s.keys.to_string(),
            use_sql_encryption: s.use_sql_encryption,
        }
    }
}

impl Schema for DbStatusReport<'_> {
    const NAME: &'static str = "k2cse.db-status/1";
}

/// One entry of a [`DbDriftReport`]; values already masked (or revealed) by the caller.
#[derive(Debug, Serialize)]
pub struct DriftShown<'a> {
    /// The entry's name.
    pub entry: &'a str,
    /// Its token (none when the mapping says the entry has none).
    pub token: Option<&'a str>,
    /// How the link was made.
    pub link: LinkSource,
    /// Whether the token is encrypted.
    pub encrypted: bool,
    /// The comparison.
    pub state: &'a DriftState,
    /// The entry's value for display.
    pub file_value: Option<String>,
    /// The token's value for display.
    pub db_value: Option<String>,
}

impl<'a> DriftShown<'a> {
    /// `drift`, its values passed through `show` (masking unless revealed).
    pub fn of(drift: &'a Drift, show: impl Fn(&str) -> String) -> Self {
        DriftShown {
            entry: &drift.link.entry,
            token: drift.link.token.as_deref(),
            link: drift.link.source,
            encrypted: drift.encrypted,
            state: &drift.state,
            file_value: drift.file_value.as_deref().map(&show),
            db_value: drift.db_value.as_deref().map(&show),
        }
    }
}

/// `k2cse.db-drift/1`: every entry compared with its token.
#[derive(Debug, Serialize)]
pub struct DbDriftReport<'a> {
    /// The entries.
    pub entries: Vec<DriftShown<'a>>,
    /// How many entries differ, miss their token or cannot be compared.
    pub different: usize,
}

impl Schema for DbDriftReport<'_> {
    const NAME: &'static str = "k2cse.db-drift/1";
}

/// An entry a discovered token matches.
#[derive(Debug, Serialize)]
pub struct EntryMatch<'a> {
    /// The entry's name.
    pub entry: &'a str,
    /// How well it matches.
    #[serde(rename = "match")]
    pub how: &'a Match,
}

/// A token of a [`DbDiscoverReport`].
#[derive(Debug, Serialize)]
pub struct DiscoveryShown<'a> {
    /// The token's name.
    pub token: &'a str,
    /// Whether it is encrypted.
    pub encrypted: bool,
    /// The entry linked to it now.
    pub linked_to: Option<&'a str>,
    /// The entries it matches, best first.
    pub matches: Vec<EntryMatch<'a>>,
}

impl<'a> DiscoveryShown<'a> {
    /// `d` as shown.
    #[must_use]
    pub fn of(d: &'a Discovery) -> Self {
        DiscoveryShown {
            token: &d.token,
            encrypted: d.encrypted,
            linked_to: d.linked_to.as_deref(),
            matches: d
                .matches
                .iter()
                .map(|(entry, how)| EntryMatch { entry, how })
                .collect(),
        }
    }
}

/// `k2cse.db-discover/1`: the tokens that look like connection strings.
#[derive(Debug, Serialize)]
pub struct DbDiscoverReport<'a> {
    /// The tokens, with the entries they match.
    pub tokens: Vec<DiscoveryShown<'a>>,
    /// Encrypted tokens that could not be decrypted.
    pub unreadable: Vec<&'a str>,
}

impl Schema for DbDiscoverReport<'_> {
    const NAME: &'static str = "k2cse.db-discover/1";
}
