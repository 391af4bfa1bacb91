//! `HostserverDB` as K2's SQL client reads it.
//!
//! K2 runs on .NET Framework 4.8, whose `System.Data.SqlClient` accepts exactly the keywords,
//! synonyms and values below (reference source: `SqlConnectionString.cs` — `KEY`, `SYNONYM`,
//! `GetParseSynonyms`, the range checks in the constructor — and `DbConnectionStringCommon.cs`
//! for booleans and the enumerations). Anything else makes `SqlConnection` throw ("Keyword not
//! supported", "Invalid value for key ..."), so the K2 service does not start. Many connection
//! strings found on the web are written for the newer client, `Microsoft.Data.SqlClient`
//! (spaced keyword spellings, `Encrypt=Strict`, `Command Timeout`, ...): [`newer_client`] says
//! which, so lint can name it. Checked against Mono's `SqlConnection`
//! (`tests/tests/sql_client.rs`); docs/k2-entries.md lists where Mono's client differs.

use super::schema::{KeySpec, ValueType, key, syn};
use crate::connstr::same_key;

const INT_MAX: i64 = 2_147_483_647;
const BOOL: ValueType = ValueType::Bool;

/// .NET Framework 4.8 `SqlConnectionStringBuilder` keywords (display names) and synonyms.
pub static SQL_KEYS: &[KeySpec] = &[
    syn(
        "Data Source",
        &["Server", "Address", "Addr", "Network Address"],
        ValueType::Text,
        "The SQL Server: host, host\\instance or host,port.",
    ),
    syn(
        "Initial Catalog",
        &["Database"],
        ValueType::Text,
        "The K2 database (default name K2; older installs K2HostServer).",
    ),
    syn(
        "Integrated Security",
        &["Trusted_Connection"],
        ValueType::Enum {
            values: &["True", "False", "SSPI", "Yes", "No"],
        },
        "True or SSPI to sign in as the K2 service account; False for SQL logins.",
    ),
    syn(
        "User ID",
        &["UID", "User"],
        ValueType::Account,
        "The SQL login when Integrated Security is False.",
    ),
    syn(
        "Password",
        &["PWD"],
        ValueType::Secret,
        "The SQL login's password.",
    ),
    syn(
        "Persist Security Info",
        &["PersistSecurityInfo"],
        BOOL,
        "Whether the password stays readable after opening the connection.",
    ),
    key(
        "Pooling",
        BOOL,
        Some("True"),
        "Whether connections are pooled.",
    ),
    key(
        "Min Pool Size",
        ValueType::Int {
            min: 0,
            max: INT_MAX,
        },
        Some("0"),
        "Smallest pool size (at most Max Pool Size).",
    ),
    key(
        "Max Pool Size",
        ValueType::Int {
            min: 1,
            max: INT_MAX,
        },
        Some("100"),
        "Largest pool size.",
    ),
    syn(
        "Connect Timeout",
        &["Connection Timeout", "Timeout"],
        ValueType::Int {
            min: 0,
            max: INT_MAX,
        },
        "Seconds to wait for a connection.",
    ),
    key(
        "Encrypt",
        BOOL,
        Some("False"),
        "Whether to use TLS: True or False (Strict/Mandatory/Optional are Microsoft.Data.SqlClient's).",
    ),
    key(
        "TrustServerCertificate",
        BOOL,
        Some("False"),
        "Skip validation of the server's TLS certificate.",
    ),
    syn(
        "Application Name",
        &["App"],
        ValueType::Text,
        "Shown in SQL Server's session list.",
    ),
    syn(
        "Workstation ID",
        &["WSID"],
        ValueType::Text,
        "The client machine name sent to SQL Server.",
    ),
    key(
        "MultipleActiveResultSets",
        BOOL,
        Some("False"),
        "Allow several open result sets per connection.",
    ),
    key(
        "MultiSubnetFailover",
        BOOL,
        Some("False"),
        "Faster failover for Always On listeners.",
    ),
    key(
        "TransparentNetworkIPResolution",
        BOOL,
        Some("True"),
        "Try the host's IP addresses in turn.",
    ),
    key(
        "Failover Partner",
        ValueType::Text,
        None,
        "The mirror server (needs Initial Catalog).",
    ),
    key(
        "ApplicationIntent",
        ValueType::Enum {
            values: &["ReadWrite", "ReadOnly"],
        },
        Some("ReadWrite"),
        "ReadWrite or ReadOnly.",
    ),
    key(
        "Packet Size",
        ValueType::Int {
            min: 512,
            max: 32768,
        },
        Some("8000"),
        "Network packet size in bytes.",
    ),
    syn(
        "Load Balance Timeout",
        &["Connection Lifetime"],
        ValueType::Int {
            min: 0,
            max: INT_MAX,
        },
        "Seconds a pooled connection lives.",
    ),
    key(
        "Enlist",
        BOOL,
        Some("True"),
        "Enlist in the current transaction.",
    ),
    syn(
        "AttachDbFilename",
        &["Extended Properties", "Initial File Name"],
        ValueType::Text,
        "A database file to attach.",
    ),
    syn(
        "Current Language",
        &["Language"],
        ValueType::Text,
        "The SQL Server language.",
    ),
    syn(
        "Network Library",
        &["Net", "Network"],
        ValueType::Enum {
            values: &[
                "dbmssocn", "dbnmpntw", "dbmsrpcn", "dbmsvinn", "dbmsadsn", "dbmsspxn", "dbmsgnet",
                "dbmslpcn",
            ],
        },
        "The network library: dbmssocn (TCP/IP), dbnmpntw (named pipes), dbmslpcn (shared memory), ...",
    ),
    key(
        "ConnectRetryCount",
        ValueType::Int { min: 0, max: 255 },
        Some("1"),
        "Reconnection attempts.",
    ),
    key(
        "ConnectRetryInterval",
        ValueType::Int { min: 1, max: 60 },
        Some("10"),
        "Seconds between reconnection attempts.",
    ),
    key(
        "Authentication",
        ValueType::Enum {
            values: &[
                "Sql Password",
                "Active Directory Password",
                "Active Directory Integrated",
                "Active Directory Interactive",
                "SqlPassword",
                "ActiveDirectoryPassword",
                "ActiveDirectoryIntegrated",
                "ActiveDirectoryInteractive",
            ],
        },
        None,
        "Azure AD / Entra sign-in method (not with Integrated Security).",
    ),
    key(
        "Column Encryption Setting",
        ValueType::Enum {
            values: &["Enabled", "Disabled"],
        },
        Some("Disabled"),
        "Always Encrypted.",
    ),
    key(
        "Enclave Attestation Url",
        ValueType::Text,
        None,
        "Always Encrypted with secure enclaves.",
    ),
    key(
        "PoolBlockingPeriod",
        ValueType::Enum {
            values: &["Auto", "AlwaysBlock", "NeverBlock"],
        },
        Some("Auto"),
        "Pool blocking behaviour after a failed connection.",
    ),
    key("Replication", BOOL, Some("False"), "Replication support."),
    key(
        "Transaction Binding",
        ValueType::Enum {
            values: &["Implicit Unbind", "Explicit Unbind"],
        },
        Some("Implicit Unbind"),
        "Transaction binding.",
    ),
    key(
        "Type System Version",
        ValueType::Enum {
            values: &[
                "Latest",
                "SQL Server 2000",
                "SQL Server 2005",
                "SQL Server 2008",
                "SQL Server 2012",
            ],
        },
        Some("Latest"),
        "Type system version.",
    ),
    key(
        "User Instance",
        BOOL,
        Some("False"),
        "SQL Express user instance.",
    ),
    key(
        "Context Connection",
        BOOL,
        Some("False"),
        "In-process (SQLCLR) connection; True fails outside SQL Server.",
    ),
    key(
        "Connection Reset",
        BOOL,
        Some("True"),
        "Obsolete (always reset); still checked.",
    ),
    syn(
        "Asynchronous Processing",
        &["Async"],
        BOOL,
        "Obsolete; still checked.",
    ),
];

/// Keywords and values of `Microsoft.Data.SqlClient` (the newer client) that .NET Framework's
/// `System.Data.SqlClient` rejects: the spelling, and what to write instead for K2 (`None`:
/// nothing; remove it).
const NEWER_KEYWORDS: &[(&str, Option<&str>)] = &[
    ("Application Intent", Some("ApplicationIntent")),
    ("Trust Server Certificate", Some("TrustServerCertificate")),
    (
        "Multiple Active Result Sets",
        Some("MultipleActiveResultSets"),
    ),
    ("Multi Subnet Failover", Some("MultiSubnetFailover")),
    ("Connect Retry Count", Some("ConnectRetryCount")),
    ("Connect Retry Interval", Some("ConnectRetryInterval")),
    ("Pool Blocking Period", Some("PoolBlockingPeriod")),
    (
        "Transparent Network IP Resolution",
        Some("TransparentNetworkIPResolution"),
    ),
    ("Command Timeout", None),
    ("Host Name In Certificate", None),
    ("HostNameInCertificate", None),
    ("Server Certificate", None),
    ("ServerCertificate", None),
    ("Server SPN", None),
    ("ServerSPN", None),
    ("Failover Partner SPN", None),
    ("FailoverPartnerSPN", None),
    ("IP Address Preference", None),
    ("IPAddressPreference", None),
    ("Attestation Protocol", None),
];

/// Whether `key` is a keyword only the newer client knows; `Some(replacement)` then, where the
/// replacement is the .NET Framework spelling of the same setting, if it has one.
pub fn newer_client(key: &str) -> Option<Option<&'static str>> {
    NEWER_KEYWORDS
        .iter()
        .find(|(k, _)| same_key(k, key))
        .map(|(_, instead)| *instead)
}

/// Whether `value` of `Encrypt` is one of the newer client's `SqlConnectionEncryptOption`
/// names, which .NET Framework's boolean conversion rejects.
pub fn newer_encrypt_value(value: &str) -> bool {
    ["Strict", "Mandatory", "Optional"]
        .iter()
        .any(|v| v.eq_ignore_ascii_case(value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_framework_spelling_is_known_and_no_newer_one_is() {
        let known = |k: &str| SQL_KEYS.iter().any(|s| s.matches(k));
        for k in [
            "server",
            "ADDR",
            "Trusted_Connection",
            "persistsecurityinfo",
            "wsid",
        ] {
            assert!(known(k), "{k}");
        }
        for (k, _) in NEWER_KEYWORDS {
            assert!(!known(k), "{k} is not a .NET Framework keyword");
            assert!(newer_client(k).is_some());
        }
        assert_eq!(
            newer_client("application intent"),
            Some(Some("ApplicationIntent"))
        );
        assert!(newer_encrypt_value(" strict "));
        assert!(!newer_encrypt_value("True"));
    }
}
