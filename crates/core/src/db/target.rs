//! Where and how to connect: read from an ADO.NET connection string (K2's `HostserverDB`
//! entry or `--connection`) with k2cse's own parser, so the rules are .NET's, not tiberius'.
//!
//! Recognised keys (with `SqlClient`'s synonyms): `Data Source`, `Initial Catalog`,
//! `Integrated Security`, `User ID`, `Password`, `Encrypt`, `TrustServerCertificate`,
//! `Connect Timeout`, `Application Name`. Keys that change how a connection is made but that
//! k2cse cannot honour ([`UNSUPPORTED`]: Azure AD authentication, failover partners,
//! multi-subnet failover, ...) are refused by name, never ignored. The rest (`Pooling`,
//! `Max Pool Size`, ...) do not change how k2cse connects and are ignored.
//!
//! TLS follows `System.Data.SqlClient`: `Encrypt=True` validates the server's certificate
//! unless `TrustServerCertificate=True`; `Encrypt=False` encrypts the login (and the whole
//! session when the server forces it) without validating; `Encrypt=Strict` (TDS 8.0) is
//! refused, since k2cse's client speaks TDS 7.4 and would otherwise have to downgrade.

use std::time::Duration;

use crate::connstr::{ConnectionString, same_key};
use crate::secret::Secret;

use super::DbError;

/// How the client authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// Windows integrated authentication (SSPI); only available on Windows.
    Integrated,
    /// A SQL Server login. The password may come from the string, the keyring or a prompt.
    SqlLogin {
        /// Login name.
        user: String,
        /// Password, when the connection string has one.
        password: Option<Secret>,
    },
}

/// TLS policy, from `Encrypt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    /// TLS for the whole session (`Encrypt=True`/`Mandatory`, k2cse's default).
    Required,
    /// `Encrypt=False`/`Optional`: TLS protects the login only, as with `SqlClient`.
    LoginOnly,
}

/// Everything needed to open a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or address.
    pub host: String,
    /// Named instance (`host\instance`), resolved through the SQL Browser service unless a
    /// port is given.
    pub instance: Option<String>,
    /// TCP port (`host,port`); 1433 when neither port nor instance is given.
    pub port: Option<u16>,
    /// Database (`Initial Catalog`); K2's default name `K2` when absent.
    pub database: String,
    /// Login.
    pub authentication: Authentication,
    /// TLS policy.
    pub encryption: Encryption,
    /// Accept any server certificate (`TrustServerCertificate=True` or `--trust-server-cert`).
    pub trust_server_certificate: bool,
    /// Time allowed for TCP connect plus login.
    pub connect_timeout: Duration,
    /// Time allowed for each round trip.
    pub command_timeout: Duration,
}

/// Keywords that change how the connection is made and that k2cse cannot honour:
/// `(keyword and synonyms, value that is harmless (lower-case) or "" for none, why)`.
const UNSUPPORTED: &[(&[&str], &[&str], &str)] = &[
    (
        &["Authentication"],
        &["sqlpassword", "sql password"],
        "k2cse logs in with SQL logins or Windows integrated security only (no Azure AD / Entra ID methods)",
    ),
    (
        &["MultiSubnetFailover", "Multi Subnet Failover"],
        &["false", "no"],
        "k2cse connects to one address; connect to the availability group listener's current primary, or leave MultiSubnetFailover out",
    ),
    (
        &["Failover Partner"],
        &[""],
        "k2cse does not follow database mirroring failover; connect to the principal server",
    ),
    (
        &["ApplicationIntent", "Application Intent"],
        &["readwrite"],
        "a read-only intent routes to a secondary replica, where k2cse cannot write",
    ),
    (
        &["Column Encryption Setting"],
        &["disabled"],
        "Always Encrypted is not supported",
    ),
    (
        &[
            "AttachDbFilename",
            "Extended Properties",
            "Initial File Name",
        ],
        &[""],
        "k2cse connects to a server's database, not to a database file",
    ),
    (
        &["User Instance"],
        &["false", "no"],
        "user instances (SQL Server Express, named pipes) are not supported",
    ),
    (
        &["Network Library", "Net", "Network"],
        &["dbmssocn"],
        "k2cse connects over TCP only",
    ),
    (
        &["Context Connection"],
        &["false", "no"],
        "a context connection exists only inside SQL Server's CLR",
    ),
];

/// The first keyword of `cs` that k2cse cannot honour, with why.
fn unsupported(cs: &ConnectionString) -> Option<String> {
    for (keyword, value) in cs.effective() {
        for (names, harmless, why) in UNSUPPORTED {
            if names.iter().any(|n| same_key(keyword, n))
                && !harmless.contains(&value.trim().to_ascii_lowercase().as_str())
            {
                return Some(format!("{keyword}={value}: {why}"));
            }
        }
    }
    None
}

impl Target {
    /// Reads a SQL Server connection string.
    pub fn from_connection_string(text: &str) -> Result<Self, DbError> {
        let cs = ConnectionString::parse(text)
            .map_err(|e| DbError::InvalidConnectionString(e.to_string()))?;
        if let Some(refusal) = unsupported(&cs) {
            return Err(DbError::InvalidConnectionString(refusal));
        }
        let get = |names: &[&str]| -> Option<&str> {
            cs.effective()
                .into_iter()
                .rev()
                .find(|(k, _)| names.iter().any(|n| same_key(k, n)))
                .map(|(_, v)| v)
        };
        let source = get(&[
            "Data Source",
            "Server",
            "Address",
            "Addr",
            "Network Address",
        ])
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            DbError::InvalidConnectionString(
                "no Data Source (server) in the connection string".into(),
            )
        })?;
        let (host, instance, port) = parse_data_source(source)?;
        let database = get(&["Initial Catalog", "Database"])
            .filter(|d| !d.is_empty())
            .unwrap_or("K2")
            .to_owned();
        let integrated = match get(&["Integrated Security", "Trusted_Connection"]) {
            None => false,
            Some(v) => parse_bool_or_sspi(v).ok_or_else(|| {
                DbError::InvalidConnectionString(format!(
                    "Integrated Security={v:?} is not true, false or SSPI"
                ))
            })?,
        };
        let authentication = if integrated {
            Authentication::Integrated
        } else {
            let user = get(&["User ID", "UID", "User"])
                .unwrap_or_default()
                .to_owned();
            if user.is_empty() {
                return Err(DbError::InvalidConnectionString(
                    "neither Integrated Security nor a User ID in the connection string".into(),
                ));
            }
            Authentication::SqlLogin {
                user,
                password: get(&["Password", "PWD"]).map(Secret::new),
            }
        };
        let encryption = match get(&["Encrypt"]).map(str::to_ascii_lowercase).as_deref() {
            None | Some("true" | "yes" | "mandatory") => Encryption::Required,
            Some("strict") => {
                return Err(DbError::InvalidConnectionString(
                    "Encrypt=Strict asks for TDS 8.0 (TLS before the first packet), which k2cse's SQL client cannot do; use Encrypt=True, which encrypts the whole session and validates the server's certificate".into(),
                ));
            }
            Some("false" | "no" | "optional") => Encryption::LoginOnly,
            Some(other) => {
                return Err(DbError::InvalidConnectionString(format!(
                    "Encrypt={other:?} is not true, false, mandatory or optional"
                )));
            }
        };
        let trust_server_certificate =
            match get(&["TrustServerCertificate", "Trust Server Certificate"]) {
                None => false,
                Some(v) => parse_bool_or_sspi(v)
                    .filter(|_| !v.eq_ignore_ascii_case("sspi"))
                    .ok_or_else(|| {
                        DbError::InvalidConnectionString(format!(
                            "TrustServerCertificate={v:?} is not true or false"
                        ))
                    })?,
            };
        let connect_timeout = match get(&["Connect Timeout", "Connection Timeout", "Timeout"]) {
            None => Duration::from_secs(15),
            Some(v) => Duration::from_secs(v.trim().parse().map_err(|_| {
                DbError::InvalidConnectionString(format!(
                    "Connect Timeout={v:?} is not a number of seconds"
                ))
            })?),
        };
        Ok(Self {
            host,
            instance,
            port,
            database,
            authentication,
            encryption,
            trust_server_certificate,
            connect_timeout,
            command_timeout: Duration::from_secs(30),
        })
    }

    /// `host\instance,port` as the user would write it, for messages.
    pub fn server(&self) -> String {
        let mut s = self.host.clone();
        if let Some(instance) = &self.instance {
            s.push('\\');
            s.push_str(instance);
        }
        if let Some(port) = self.port {
            s.push(',');
            s.push_str(&port.to_string());
        }
        s
    }

    /// The keyring account for this target's SQL password: `login@server`.
    pub fn password_account(&self) -> Option<String> {
        match &self.authentication {
            Authentication::SqlLogin { user, .. } => {
                Some(format!("{user}@{}", self.server().to_lowercase()))
            }
            Authentication::Integrated => None,
        }
    }

    /// The login for messages: the SQL login's name, or "(Windows account)".
    pub fn login_name(&self) -> String {
        match &self.authentication {
            Authentication::SqlLogin { user, .. } => format!("{user:?}"),
            Authentication::Integrated => "of this Windows account".to_owned(),
        }
    }

    /// The keyring account for the database master key password: `server/database`.
    pub fn master_key_account(&self) -> String {
        format!(
            "{}/{}",
            self.server().to_lowercase(),
            self.database.to_lowercase()
        )
    }
}

fn parse_bool_or_sspi(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "sspi" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

/// `[tcp:]host[\instance][,port]`, with `.`, `(local)` and `(localdb)` spellings.
fn parse_data_source(source: &str) -> Result<(String, Option<String>, Option<u16>), DbError> {
    let mut s = source.trim();
    if let Some(rest) = s.strip_prefix("tcp:").or_else(|| s.strip_prefix("TCP:")) {
        s = rest;
    } else if let Some((protocol, _)) = s
        .split_once(':')
        .filter(|(p, _)| matches!(p.to_ascii_lowercase().as_str(), "np" | "lpc" | "admin"))
    {
        return Err(DbError::InvalidConnectionString(format!(
            "Data Source {source:?} uses the {protocol}: protocol; k2cse connects over TCP only (use host,port or host\\instance)"
        )));
    }
    let (rest, port) = match s.rsplit_once(',') {
        Some((rest, port)) => {
            let port = port.trim().parse::<u16>().map_err(|_| {
                DbError::InvalidConnectionString(format!(
                    "port {port:?} in Data Source is not a number"
                ))
            })?;
            (rest.trim(), Some(port))
        }
        None => (s, None),
    };
    let (host, instance) = match rest.split_once('\\') {
        Some((host, instance)) if !instance.trim().is_empty() => {
            (host.trim(), Some(instance.trim().to_owned()))
        }
        Some((host, _)) => (host.trim(), None),
        None => (rest, None),
    };
    if host.eq_ignore_ascii_case("(localdb)") {
        return Err(DbError::InvalidConnectionString(
            "LocalDB is reached through named pipes, which k2cse does not support".into(),
        ));
    }
    let host = if host == "." || host.eq_ignore_ascii_case("(local)") || host.is_empty() {
        "localhost"
    } else {
        host
    };
    Ok((host.to_owned(), instance, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k2s_hostserverdb_string() {
        let t = Target::from_connection_string("Data Source=SQL01\\K2;Initial Catalog=K2;Integrated Security=True;Pooling=True;Max Pool Size=200").unwrap();
        assert_eq!(
            (t.host.as_str(), t.instance.as_deref(), t.port),
            ("SQL01", Some("K2"), None)
        );
        assert_eq!(t.authentication, Authentication::Integrated);
        assert_eq!(t.encryption, Encryption::Required);
        assert!(!t.trust_server_certificate);
        assert_eq!(t.server(), "SQL01\\K2");
        assert_eq!(t.master_key_account(), "sql01\\k2/k2");
    }

    #[test]
    fn sql_login_with_port_and_synonyms() {
        let t = Target::from_connection_string("server=tcp:127.0.0.1,14330; database=K2Test; uid=sa; pwd='p;w'; Encrypt=False; TrustServerCertificate=yes; Connect Timeout=3").unwrap();
        assert_eq!(
            (t.host.as_str(), t.instance.as_deref(), t.port),
            ("127.0.0.1", None, Some(14330))
        );
        assert_eq!(t.database, "K2Test");
        let Authentication::SqlLogin { user, password } = &t.authentication else {
            panic!()
        };
        assert_eq!(
            (user.as_str(), password.as_ref().map(Secret::expose)),
            ("sa", Some("p;w"))
        );
        assert_eq!(t.encryption, Encryption::LoginOnly);
        assert!(t.trust_server_certificate);
        assert_eq!(t.connect_timeout, Duration::from_secs(3));
        assert_eq!(t.password_account().as_deref(), Some("sa@127.0.0.1,14330"));
    }

    #[test]
    fn harmless_values_of_unsupported_keywords_are_accepted() {
        let t = Target::from_connection_string(
            "Data Source=x;User ID=sa;Authentication=SqlPassword;MultiSubnetFailover=False;ApplicationIntent=ReadWrite;Network Library=dbmssocn;Pooling=False",
        )
        .unwrap();
        assert_eq!(t.host, "x");
    }

    #[test]
    fn local_spellings_and_defaults() {
        for source in [".", "(local)", "(LOCAL)"] {
            let t = Target::from_connection_string(&format!("Data Source={source};User ID=k2"))
                .unwrap();
            assert_eq!(t.host, "localhost");
            assert_eq!(t.database, "K2");
        }
    }

    #[test]
    fn unusable_strings_say_why() {
        for (text, needle) in [
            ("Initial Catalog=K2", "no Data Source"),
            (
                "Data Source=np:\\\\.\\pipe\\sql\\query;User ID=sa",
                "np: protocol",
            ),
            ("Data Source=x,port;User ID=sa", "not a number"),
            ("Data Source=x", "neither Integrated Security nor a User ID"),
            (
                "Data Source=x;User ID=sa;Encrypt=maybe",
                "Encrypt=\"maybe\"",
            ),
            (
                "Data Source=x;Integrated Security=perhaps",
                "Integrated Security",
            ),
            ("Data Source=x;User ID=sa;Encrypt=Strict", "TDS 8.0"),
            (
                "Data Source=x;Authentication=Active Directory Integrated",
                "Authentication=Active Directory Integrated",
            ),
            (
                "Data Source=x;User ID=sa;MultiSubnetFailover=True",
                "MultiSubnetFailover=True",
            ),
            (
                "Data Source=x;User ID=sa;Failover Partner=y",
                "Failover Partner=y",
            ),
            (
                "Data Source=x;User ID=sa;ApplicationIntent=ReadOnly",
                "read-only intent",
            ),
            ("Data Source='x", "connection string"),
        ] {
            let err = Target::from_connection_string(text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
