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

/// Words that make a key secret on their own.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "secret",
    "token",
    "key",
    "sas",
    "signature",
    "credential",
    "credentials",
    "apikey",
    "accesskey",
    "privatekey",
    "accountkey",
    "secretkey",
];
/// Word parts that make a key secret wherever they are in it.
const SECRET_PARTS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "credential",
    "accesskey",
    "accountkey",
    "privatekey",
    "apikey",
    "sharedaccess",
    "signature",
];

/// Whether a key of an entry with no schema looks like it holds a secret: one of its words is
/// password, passwd, pwd, pass, passphrase, secret, token, key, sas, signature or credential
/// (`Private Key`, `AccessKey`, `SAS`, `api_key`, `DbPwd`), except keys that only describe a
/// secret (`EncryptedPassword=False`, `Key Name`, `Token URL`). Masking a harmless value is
/// the safe mistake; showing a secret is not.
pub fn looks_secret(key: &str) -> bool {
    let words = words(key);
    let compact: String = words.concat();
    // Flags and descriptions of a secret, not the secret itself.
    if matches!(
        compact.as_str(),
        "encryptedpassword" | "cachepassword" | "persistsecurityinfo" | "passwordchar"
    ) {
        return false;
    }
    if words.last().is_some_and(|w| {
        matches!(
            w.as_str(),
            "name"
                | "id"
                | "url"
                | "uri"
                | "endpoint"
                | "type"
                | "file"
                | "path"
                | "length"
                | "size"
                | "lifetime"
                | "expiry"
                | "expires"
                | "version"
                | "vault"
                | "store"
                | "container"
                | "provider"
                | "format"
        )
    }) && words.len() > 1
    {
        return false;
    }
    words.iter().any(|w| SECRET_WORDS.contains(&w.as_str()))
        || SECRET_PARTS.iter().any(|w| compact.contains(w))
        || compact.ends_with("pwd")
        || compact.ends_with("token")
}

/// The lower-case words of a key: split at spaces, `_`, `-`, `.` and camelCase humps
/// (`AccessKey` -> access, key; `SASToken` -> sas, token).
fn words(key: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = key.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1);
        let hump = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase() || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
            });
        if hump && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The byte ranges of passwords (or, without a `:`, the whole user-info) in URLs' user-info,
/// `scheme://user:password@host`, in `text`.
pub fn url_userinfo_secrets(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut found = Vec::new();
    let mut from = 0;
    // At each `:` (one `memchr` jump), not a substring searcher built per call: every value
    // of every listed entry goes through here.
    let bytes = text.as_bytes();
    while let Some(i) = memchr::memchr(b':', bytes.get(from..).unwrap_or_default()) {
        if bytes.get(from + i + 1..from + i + 3) != Some(b"//".as_slice()) {
            from += i + 1;
            continue;
        }
        let start = from + i + 3;
        let authority_end = text[start..]
            .find(['/', '?', '#', ';', '"', '\'', ' ', '<', '>'])
            .map_or(text.len(), |e| start + e);
        let authority = &text[start..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            let secret = match userinfo.find(':') {
                Some(colon) => start + colon + 1..start + at,
                None => start..start + at,
            };
            if !secret.is_empty() {
                found.push(secret);
            }
        }
        from = start;
    }
    found
}
