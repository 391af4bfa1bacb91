//! What each known kind of entry may contain: keys, synonyms, types, defaults, descriptions.
//!
//! The EWS and SMTP tables come from the public source of K2's original editor
//! (`ExchangeWebServicesConnectionStringBuilder`, `SmtpConnectionStringBuilder`) plus the OAuth
//! keys added in 2020; the SQL Server table (`sql_client.rs`) from .NET Framework 4.8's `System.Data.SqlClient`; the K2 client
//! table from K2's `SCConnectionStringBuilder` documentation. See docs/k2-entries.md.

use crate::connstr::same_key;

/// The kind of value a key holds, which decides how it is checked and edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ValueType {
    /// Free text.
    Text,
    /// `True` or `False` (case-insensitive, as .NET's boolean conversion).
    Bool,
    /// An absolute `http(s)` URL.
    Url,
    /// A whole number in `min..=max`.
    Int {
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// One of a fixed list of names (case-insensitive).
    Enum {
        /// The allowed names, spelled as K2 writes them.
        values: &'static [&'static str],
    },
    /// K2's polling interval: a number with an optional `S`, `M`, `H` or `D` suffix.
    Interval,
    /// An e-mail address or account name.
    Account,
    /// A password or other secret: masked unless revealed.
    Secret,
}

/// One key a kind of entry understands.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct KeySpec {
    /// The canonical spelling, used when k2cse adds the key.
    pub name: &'static str,
    /// Other keys .NET maps to the same setting (case variants need not be listed).
    pub synonyms: &'static [&'static str],
    /// The kind of value.
    #[serde(flatten)]
    pub value_type: ValueType,
    /// The value used when the key is absent.
    pub default: Option<&'static str>,
    /// What it does, for help text and the GUI.
    pub description: &'static str,
}

impl KeySpec {
    /// Whether `key` (as written in a connection string) names this setting.
    pub fn matches(&self, key: &str) -> bool {
        same_key(self.name, key) || self.synonyms.iter().any(|s| same_key(s, key))
    }

    /// Whether values of this key must be masked.
    pub fn is_secret(&self) -> bool {
        self.value_type == ValueType::Secret
    }
}

pub(super) const fn key(
    name: &'static str,
    value_type: ValueType,
    default: Option<&'static str>,
    description: &'static str,
) -> KeySpec {
    KeySpec {
        name,
        synonyms: &[],
        value_type,
        default,
        description,
    }
}

pub(super) const fn syn(
    name: &'static str,
    synonyms: &'static [&'static str],
    value_type: ValueType,
    description: &'static str,
) -> KeySpec {
    KeySpec {
        name,
        synonyms,
        value_type,
        default: None,
        description,
    }
}

/// Exchange Web Services keys (connection and destination share them).
pub static EWS_KEYS: &[KeySpec] = &[
    key(
        "Autodiscover",
        ValueType::Bool,
        Some("False"),
        "Whether the server should use Autodiscover to find the Exchange Web Services endpoint.",
    ),
    key(
        "URL",
        ValueType::Url,
        None,
        "The Exchange Web Services URL. Only used when Autodiscover is False.",
    ),
    key(
        "User ID",
        ValueType::Account,
        None,
        "The account used to connect to Exchange Web Services (the mailbox for OAuth).",
    ),
    key(
        "Password",
        ValueType::Secret,
        None,
        "The password used to connect to Exchange Web Services. Not used with OAuth.",
    ),
    key(
        "Delegate",
        ValueType::Account,
        None,
        "The user to act as under delegation, if the account has rights to delegate.",
    ),
    key(
        "Poll Interval",
        ValueType::Interval,
        Some("30S"),
        "Time between checks for new messages: a number with S, M, H or D (bare number = seconds).",
    ),
    key(
        "OAuth Resource",
        ValueType::Text,
        None,
        "The name of the K2 OAuth resource (K2 Management > Authentication > OAuth > Resources) used for the token.",
    ),
    key(
        "OAuth Resource Audience",
        ValueType::Url,
        None,
        "The audience of the OAuth token, https://outlook.office365.com for Exchange Online.",
    ),
];

/// SMTP keys.
pub static SMTP_KEYS: &[KeySpec] = &[
    key(
        "Host Name",
        ValueType::Text,
        None,
        "The SMTP server to send mail through.",
    ),
    key(
        "Port",
        ValueType::Int { min: 1, max: 65535 },
        Some("25"),
        "The SMTP port: 25 by default, 587 when TLS is BootTls.",
    ),
    key(
        "TLS",
        ValueType::Enum {
            values: &["StartTls", "BootTls", "None"],
        },
        Some("StartTls"),
        "How the connection is secured: StartTls, BootTls (TLS from the start) or None.",
    ),
    key(
        "Authentication",
        ValueType::Enum {
            values: &["Anonymous", "Windows", "Plain"],
        },
        Some("Anonymous"),
        "How K2 signs in to the SMTP server: Anonymous, Windows or Plain.",
    ),
    key(
        "User ID",
        ValueType::Account,
        None,
        "The account for Plain or Windows authentication.",
    ),
    key(
        "Password",
        ValueType::Secret,
        None,
        "The password for Plain or Windows authentication.",
    ),
];

pub use super::sql_client::SQL_KEYS;

/// K2 client (`SCConnectionStringBuilder`) keys, used by the `HostServer` entry.
pub static K2_CLIENT_KEYS: &[KeySpec] = &[
    key(
        "Host",
        ValueType::Text,
        Some("localhost"),
        "The K2 server or farm name; code on the K2 server itself uses localhost.",
    ),
    key(
        "Port",
        ValueType::Int { min: 1, max: 65535 },
        Some("5555"),
        "The K2 host server port (5555; 5252 for the workflow client).",
    ),
    key(
        "Integrated",
        ValueType::Bool,
        None,
        "True to connect as the logged-on account.",
    ),
    key(
        "IsPrimaryLogin",
        ValueType::Bool,
        None,
        "True to re-authenticate; False to use cached credentials.",
    ),
    key(
        "Authenticate",
        ValueType::Bool,
        None,
        "Authenticate the credentials against the security provider.",
    ),
    key(
        "EncryptedPassword",
        ValueType::Bool,
        None,
        "Whether Password is encrypted.",
    ),
    key(
        "SecurityLabelName",
        ValueType::Text,
        None,
        "The security label (K2, K2SQL, ...).",
    ),
    key(
        "WindowsDomain",
        ValueType::Text,
        None,
        "The Windows domain of UserID.",
    ),
    key(
        "UserID",
        ValueType::Account,
        None,
        "The account when Integrated is False.",
    ),
    key(
        "Password",
        ValueType::Secret,
        None,
        "The password when Integrated is False.",
    ),
    key(
        "CachePassword",
        ValueType::Bool,
        None,
        "Whether K2 caches the supplied password.",
    ),
];

/// Whether a key of an entry with no schema looks like it holds a secret.
pub fn looks_secret(key: &str) -> bool {
    // "Api Key", "api_key" and "ApiKey" are the same word.
    let k: String = key
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.'))
        .collect::<String>()
        .to_ascii_lowercase();
    [
        "password",
        "pwd",
        "secret",
        "token",
        "credential",
        "accountkey",
        "sharedaccesskey",
        "apikey",
    ]
    .iter()
    .any(|word| k.contains(word))
        && !matches!(
            k.as_str(),
            "encryptedpassword" | "cachepassword" | "persistsecurityinfo"
        )
}
