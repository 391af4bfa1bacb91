//! A connection to the K2 database and the reads and writes k2cse makes through it.
//!
//! Every call is a fixed number of round trips whatever the number of tokens: reads return
//! all rows in one result, writes send one JSON document (see [`super::sql`]).

use std::collections::HashMap;
use std::time::Duration;

use tiberius::{AuthMethod, Client, Config, EncryptionLevel, Row};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt as _};

use super::bounded_stream::{self, BoundedStream};
use super::shape::TableShape;
use super::target::{Authentication, Encryption, Target};
use super::{DbError, KeyStatus, Status, Token, TokenValue, sql};
use crate::secret::Secret;

/// Secrets a connection may need, resolved by the front end (keyring, environment, prompt).
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// The SQL login's password when the connection string has none.
    pub sql_password: Option<Secret>,
    /// The database master key password (K2 databases whose master key is not protected by
    /// the service master key need it to open `SCSSOKey`).
    pub master_key_password: Option<Secret>,
}

/// One token write: the value it must still have, and the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenWrite {
    /// Token name.
    pub token: String,
    /// The value read before (`None`: the token must not exist yet and is created).
    pub expected: Option<String>,
    /// The value to write.
    pub new: String,
    /// For a created token: store it encrypted.
    pub encrypt: bool,
}

/// An open connection.
pub struct Database {
    pub(super) client: Conn,
    pub(super) target: Target,
    status: Status,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("server", &self.target.server())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// tiberius over a TCP stream whose replies are capped (see [`bounded_stream`]).
type Conn = Client<Compat<BoundedStream<TcpStream>>>;

impl Database {
    /// Connects, logs in, sets the session up, checks this is a K2 database and opens the key
    /// stack when there is one. A key stack that cannot be opened is reported in
    /// [`Database::status`], not as an error: only encrypted values need it.
    pub async fn connect(target: &Target, credentials: &Credentials) -> Result<Self, DbError> {
        let config = tiberius_config(target, credentials)?;
        let mut client = login(target, config).await?;
        round_trip(target, "session setup", async {
            client
                .simple_query(sql::SESSION_SETUP)
                .await?
                .into_results()
                .await
        })
        .await?;
        let row = round_trip(target, "probe", async {
            client.simple_query(sql::PROBE).await?.into_row().await
        })
        .await?;
        let row = row.ok_or_else(|| DbError::Client("the probe query returned no row".into()))?;
        let count = |name: &str| row.try_get::<i32, _>(name).ok().flatten().unwrap_or(0) > 0;
        let text = |name: &str| {
            row.try_get::<&str, _>(name)
                .ok()
                .flatten()
                .unwrap_or_default()
                .to_owned()
        };
        let mut status = Status {
            server: target.server(),
            database: text("database_name"),
            version: text("version")
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            product_version: text("product_version"),
            compatibility_level: row.try_get::<i32, _>("compatibility_level").ok().flatten(),
            collation: text("collation_name"),
            has_configuration_table: count("has_table"),
            has_master_key: count("has_master_key"),
            has_certificate: count("has_certificate"),
            has_symmetric_key: count("has_symmetric_key"),
            shape: TableShape::legacy(),
            keys: KeyStatus::NotPresent,
            use_sql_encryption: None,
        };
        if !status.has_configuration_table {
            return Err(DbError::NotK2 {
                database: status.database,
            });
        }
        status.shape = read_shape(&mut client, target).await?;
        if status.has_symmetric_key {
            status.keys = open_keys(
                &mut client,
                target,
                credentials.master_key_password.as_ref(),
            )
            .await?;
        }
        let mut db = Self {
            client,
            target: target.clone(),
            status,
        };
        let flag = db.token("[USESQLENCRYPTION]").await;
        db.status.use_sql_encryption = flag.ok().and_then(|t| {
            t.value
                .text()
                .map(|v| v.trim().eq_ignore_ascii_case("true"))
        });
        Ok(db)
    }

    /// Server, database and key objects.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Every token, decrypted where the key is open.
    pub async fn tokens(&mut self) -> Result<Vec<Token>, DbError> {
        let statement = sql::read_all(&self.status.shape);
        let rows = self.select_owned("reading tokens", &statement).await?;
        Ok(rows.iter().map(|r| self.token_from_row(r)).collect())
    }

    /// The rows of a parameterless query, in one round trip.
    pub(super) async fn select_owned(
        &mut self,
        what: &'static str,
        query: &str,
    ) -> Result<Vec<Row>, DbError> {
        round_trip(&self.target, what, async {
            self.client
                .simple_query(query)
                .await?
                .into_first_result()
                .await
        })
        .await
    }

    /// One token.
    pub async fn token(&mut self, name: &str) -> Result<Token, DbError> {
        let mut found = self.locked(&[name]).await?;
        found
            .remove(&name.to_lowercase())
            .ok_or_else(|| DbError::TokenNotFound(name.to_owned()))
    }

    /// Runs `statement(n)` for every chunk of `rows` (each row's parameters in order), one
    /// round trip per chunk; returns the rows affected.
    pub(super) async fn execute_chunked(
        &mut self,
        what: &'static str,
        rows: &[Vec<Param<'_>>],
        statement: &dyn Fn(usize) -> String,
    ) -> Result<u64, DbError> {
        let Some(per_row) = rows.first().map(Vec::len) else {
            return Ok(0);
        };
        let mut affected = 0;
        for chunk in rows.chunks(sql::chunk_rows(per_row)) {
            let text = statement(chunk.len());
            let params: Vec<&dyn tiberius::ToSql> = chunk
                .iter()
                .flatten()
                .map(|p| p as &dyn tiberius::ToSql)
                .collect();
            let done = round_trip(&self.target, what, async {
                self.client.execute(text.as_str(), &params).await
            })
            .await?;
            affected += done.total();
        }
        Ok(affected)
    }

    /// Writes `writes` in one transaction: locks and re-reads the rows, refuses if any differs
    /// from what it was expected to be, writes, reads back, and commits only if every value
    /// reads back as written. On any failure the transaction is rolled back (or dies with the
    /// connection) and nothing changes.
    pub async fn write(&mut self, writes: &[TokenWrite]) -> Result<(), DbError> {
        if writes.is_empty() {
            return Ok(());
        }
        self.check_writable(writes)?;
        let names: Vec<&str> = writes.iter().map(|w| w.token.as_str()).collect();
        round_trip(&self.target, "beginning a transaction", async {
            self.client.begin_transaction().await
        })
        .await?;
        let result = self.write_in_transaction(writes, &names).await;
        match result {
            Ok(()) => round_trip(&self.target, "committing", async {
                self.client.commit_transaction().await
            })
            .await
            .map_err(DbError::commit_failed),
            Err(e) => {
                // Best effort: if the connection is gone, the server has rolled back already.
                let _ = self.client.rollback_transaction().await;
                Err(e.rolled_back())
            }
        }
    }

    async fn write_in_transaction(
        &mut self,
        writes: &[TokenWrite],
        names: &[&str],
    ) -> Result<(), DbError> {
        let current = self.locked(names).await?;
        let keys_open = self.status.keys == KeyStatus::Open;
        if !self.status.shape.can_hold_ciphertext() && current.values().any(|t| t.encrypted) {
            return Err(DbError::Shape {
                message: self.status.shape.ciphertext_refusal(),
            });
        }
        let mut conflicts = Vec::new();
        let mut unreadable = Vec::new();
        for w in writes {
            match (current.get(&w.token.to_lowercase()), &w.expected) {
                (Some(t), _)
                    if t.value == TokenValue::Unreadable || (t.encrypted && !keys_open) =>
                {
                    unreadable.push(w.token.clone());
                }
                (None, _) if w.encrypt && !keys_open => unreadable.push(w.token.clone()),
                (None, None) => {}
                (Some(t), Some(expected)) if t.value.text() == Some(expected.as_str()) => {}
                _ => conflicts.push(w.token.clone()),
            }
        }
        if !unreadable.is_empty() {
            return Err(DbError::KeysUnavailable {
                tokens: unreadable.join(", "),
                reason: self.status.keys.to_string(),
            });
        }
        if !conflicts.is_empty() {
            return Err(DbError::Conflict(conflicts));
        }
        let shape = self.status.shape.clone();
        let updates: Vec<Vec<Param<'_>>> = writes
            .iter()
            .filter_map(|w| {
                w.expected
                    .as_ref()
                    .map(|old| vec![Param::Text(&w.token), Param::Text(old), Param::Text(&w.new)])
            })
            .collect();
        let matched = self
            .execute_chunked("updating tokens", &updates, &|n| sql::update(&shape, n))
            .await?;
        if matched != updates.len() as u64 {
            return Err(DbError::Conflict(vec![format!(
                "{matched} of {} rows matched",
                updates.len()
            )]));
        }
        for encrypt in [false, true] {
            let inserts: Vec<Vec<Param<'_>>> = writes
                .iter()
                .filter(|w| w.expected.is_none() && w.encrypt == encrypt)
                .map(|w| vec![Param::Text(&w.token), Param::Text(&w.new)])
                .collect();
            self.execute_chunked("adding tokens", &inserts, &|n| {
                sql::insert(&shape, n, encrypt)
            })
            .await?;
        }
        let after = self.locked(names).await?;
        for w in writes {
            let value = after
                .get(&w.token.to_lowercase())
                .and_then(|t| t.value.text());
            if value != Some(w.new.as_str()) {
                return Err(DbError::Verification(w.token.clone()));
            }
        }
        Ok(())
    }

    /// The tokens `names`, locked until the transaction ends (one round trip per chunk).
    async fn locked(&mut self, names: &[&str]) -> Result<HashMap<String, Token>, DbError> {
        let shape = self.status.shape.clone();
        let mut out = HashMap::new();
        for chunk in names.chunks(sql::chunk_rows(1)) {
            let statement = sql::read_locked(&shape, chunk.len());
            let params: Vec<&dyn tiberius::ToSql> =
                chunk.iter().map(|n| n as &dyn tiberius::ToSql).collect();
            let rows = round_trip(&self.target, "reading tokens", async {
                self.client
                    .query(statement.as_str(), &params)
                    .await?
                    .into_first_result()
                    .await
            })
            .await?;
            out.extend(
                rows.iter()
                    .map(|r| self.token_from_row(r))
                    .map(|t| (t.name.to_lowercase(), t)),
            );
        }
        Ok(out)
    }

    /// Refuses, before anything is sent, writes this table's shape cannot take: an unknown
    /// column type, an encrypted value where ciphertext cannot be kept, a value longer than
    /// the column (or `EncryptByKey`) holds.
    fn check_writable(&self, writes: &[TokenWrite]) -> Result<(), DbError> {
        let shape = &self.status.shape;
        if let Some(refusal) = shape.write_refusal() {
            return Err(DbError::Shape { message: refusal });
        }
        for w in writes {
            if w.encrypt && !shape.can_hold_ciphertext() {
                return Err(DbError::Shape {
                    message: shape.ciphertext_refusal(),
                });
            }
            if let Some((c, page)) = shape.unstorable_char(&self.status.collation, &w.new) {
                return Err(DbError::Shape {
                    message: format!(
                        "the new value of {:?} has the character {c:?}, which VariableValue ({}, {page}) cannot hold: SQL Server would store '?' instead",
                        w.token,
                        shape.value_type_name()
                    ),
                });
            }
            let chars = w.new.encode_utf16().count();
            if let Some(max) = shape.max_plain_chars()
                && chars > max
            {
                return Err(DbError::Shape {
                    message: format!(
                        "the new value of {:?} has {chars} characters; VariableValue ({}) holds {max}",
                        w.token,
                        shape.value_type_name()
                    ),
                });
            }
            if w.encrypt && 2 * chars > MAX_ENCRYPTED_BYTES {
                return Err(DbError::Shape {
                    message: format!(
                        "the new value of {:?} has {chars} characters; SQL Server's EncryptByKey encrypts at most {} characters (its result is at most 8,000 bytes)",
                        w.token,
                        MAX_ENCRYPTED_BYTES / 2
                    ),
                });
            }
        }
        Ok(())
    }

    fn token_from_row(&self, row: &Row) -> Token {
        let mut token = token_from_row(row);
        // A text column cannot hold ciphertext k2cse knows how to read: never "readable".
        if token.encrypted && !self.status.shape.can_hold_ciphertext() {
            token.value = TokenValue::Unreadable;
        }
        token
    }
}

/// The longest plaintext, in bytes, that k2cse asks `EncryptByKey` to encrypt: its result is
/// at most 8,000 bytes, of which the key GUID, version, IV, the inner header and padding take
/// up to 60.
const MAX_ENCRYPTED_BYTES: usize = 7_936;

/// A statement parameter of one of the types k2cse sends (no `Debug`: it may be a secret).
#[derive(Clone, Copy)]
pub(super) enum Param<'a> {
    /// `nvarchar`.
    Text(&'a str),
    /// `varbinary`.
    Bytes(&'a [u8]),
    /// `int`.
    Int(i32),
}

impl tiberius::ToSql for Param<'_> {
    fn to_sql(&self) -> tiberius::ColumnData<'_> {
        match self {
            Self::Text(t) => t.to_sql(),
            Self::Bytes(b) => b.to_sql(),
            Self::Int(i) => i.to_sql(),
        }
    }
}

/// The column types of `[HostServer].[Configuration]` from the catalog.
async fn read_shape(client: &mut Conn, target: &Target) -> Result<TableShape, DbError> {
    let rows = round_trip(target, "reading the table's column types", async {
        client
            .simple_query(sql::SHAPE)
            .await?
            .into_first_result()
            .await
    })
    .await?;
    let column = |name: &str| {
        rows.iter().find(|r| {
            r.try_get::<&str, _>("column_name")
                .ok()
                .flatten()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    };
    let type_of = |name: &str| -> Result<(String, i32), DbError> {
        let row = column(name).ok_or_else(|| DbError::Shape {
            message: format!("[HostServer].[Configuration] has no column {name}"),
        })?;
        Ok((
            row.try_get::<&str, _>("type_name")
                .ok()
                .flatten()
                .unwrap_or_default()
                .to_owned(),
            row.try_get::<i32, _>("max_length")
                .ok()
                .flatten()
                .unwrap_or(-1),
        ))
    };
    type_of("VariableToken")?;
    let (value, max_length) = type_of("VariableValue")?;
    let (flag, _) = type_of("Encrypted")?;
    Ok(TableShape::from_catalog(&value, max_length, &flag))
}

/// A row's `token` and `encrypted` (any non-zero flag) columns, as every read returns them.
pub(super) fn token_and_flag(row: &Row) -> (String, bool) {
    let token = row
        .try_get::<&str, _>("token")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_owned();
    let encrypted = row
        .try_get::<i32, _>("encrypted")
        .ok()
        .flatten()
        .unwrap_or(0)
        != 0;
    (token, encrypted)
}

fn token_from_row(row: &Row) -> Token {
    let (name, encrypted) = token_and_flag(row);
    let stored_null = row
        .try_get::<i32, _>("stored_null")
        .ok()
        .flatten()
        .unwrap_or(0)
        == 1;
    let value = match row.try_get::<&str, _>("value").ok().flatten() {
        Some(v) => TokenValue::Text(v.to_owned()),
        None if stored_null => TokenValue::Null,
        None => TokenValue::Unreadable,
    };
    Token {
        name,
        encrypted,
        value,
    }
}

fn tiberius_config(target: &Target, credentials: &Credentials) -> Result<Config, DbError> {
    let mut config = Config::new();
    config.host(&target.host);
    if let Some(port) = target.port {
        config.port(port);
    }
    if let Some(instance) = &target.instance {
        config.instance_name(instance);
    }
    config.database(&target.database);
    config.application_name("k2cse");
    config.encryption(match target.encryption {
        Encryption::Required => EncryptionLevel::Required,
        Encryption::LoginOnly => EncryptionLevel::Off,
    });
    // SqlClient validates the certificate only when the whole session must be encrypted
    // (Encrypt=True) and TrustServerCertificate is not set.
    if target.trust_server_certificate || target.encryption == Encryption::LoginOnly {
        config.trust_cert();
    }
    config.handshake_timeout(Some(target.connect_timeout));
    config.command_timeout(Some(target.command_timeout));
    match &target.authentication {
        Authentication::SqlLogin { user, password } => {
            let password = password
                .as_ref()
                .or(credentials.sql_password.as_ref())
                .ok_or_else(|| DbError::PasswordRequired {
                    user: user.clone(),
                    server: target.server(),
                    account: target.password_account().unwrap_or_default(),
                })?;
            config.authentication(AuthMethod::sql_server(user, password.expose()));
        }
        #[cfg(windows)]
        Authentication::Integrated => config.authentication(AuthMethod::Integrated),
        #[cfg(not(windows))]
        Authentication::Integrated => {
            return Err(DbError::IntegratedUnavailable {
                server: target.server(),
            });
        }
    }
    Ok(config)
}

/// TCP connect (through SQL Browser for a named instance without a port) and login, within
/// the connect timeout; follows one routing redirect (Azure SQL gateways send them).
async fn login(target: &Target, config: Config) -> Result<Conn, DbError> {
    let attempt = async {
        let tcp = if target.instance.is_some() && target.port.is_none() {
            use tiberius::SqlBrowser as _;
            TcpStream::connect_named(&config)
                .await
                .map_err(|e| connect_error(target, &e, false))?
        } else {
            TcpStream::connect(config.get_addr())
                .await
                .map_err(|e| DbError::Connect {
                    server: target.server(),
                    message: e.to_string(),
                })?
        };
        let _ = tcp.set_nodelay(true);
        match Box::pin(Client::connect(config.clone(), capped(tcp))).await {
            Err(tiberius::error::Error::Routing { host, port }) => {
                let mut routed = config.clone();
                routed.host(&host);
                routed.port(port);
                let tcp =
                    TcpStream::connect(routed.get_addr())
                        .await
                        .map_err(|e| DbError::Connect {
                            server: format!("{host},{port}"),
                            message: e.to_string(),
                        })?;
                Box::pin(Client::connect(routed, capped(tcp)))
                    .await
                    .map_err(|e| connect_error(target, &e, true))
            }
            other => other.map_err(|e| connect_error(target, &e, true)),
        }
    };
    tokio::time::timeout(
        target.connect_timeout + Duration::from_secs(1),
        Box::pin(attempt),
    )
    .await
    .map_err(|_| DbError::Timeout {
        what: "connecting",
        after: target.connect_timeout,
    })?
}

/// The TCP stream as tiberius gets it: replies capped at [`bounded_stream::REPLY_CAP`].
fn capped(tcp: TcpStream) -> Compat<BoundedStream<TcpStream>> {
    BoundedStream::new(tcp, bounded_stream::REPLY_CAP).compat_write()
}

/// The error for a reply over the cap, if `message` (tiberius's I/O error text) is one.
fn reply_too_large(target: &Target, message: &str) -> Option<DbError> {
    bounded_stream::is_over_cap(message).then(|| DbError::ReplyTooLarge {
        server: target.server(),
        cap_mib: bounded_stream::REPLY_CAP / (1024 * 1024),
    })
}

/// `logging_in`: the TCP connection stands and the TLS/login exchange failed (rather than
/// SQL Browser or the connection itself).
fn connect_error(target: &Target, e: &tiberius::error::Error, logging_in: bool) -> DbError {
    use tiberius::error::Error as E;
    if let E::Io { message, .. } = e
        && let Some(too_large) = reply_too_large(target, message)
    {
        return too_large;
    }
    let server = target.server();
    match e {
        E::Server(token) => DbError::Login {
            server,
            code: token.code(),
            message: token.message().to_owned(),
        },
        E::Tls(message) => DbError::Tls {
            server,
            message: tls_message(message),
            hint: tls_hint(message),
        },
        E::Protocol(message) if message.contains("encrypt") || message.contains("TLS") => {
            DbError::Tls {
                server,
                message: message.to_string(),
                hint: "The server and k2cse disagree about encryption: the server may not support TLS (Encrypt=True needs it)",
            }
        }
        E::Io { message, .. }
            if message.contains("certificate")
                || message.contains("tls")
                || message.contains("TLS") =>
        {
            DbError::Tls {
                server,
                message: tls_message(message),
                hint: tls_hint(message),
            }
        }
        // The TCP connection stands; with Integrated Security an I/O error now comes from
        // SSPI building the login, not from the network.
        E::Io { message, .. }
            if logging_in && matches!(target.authentication, Authentication::Integrated) =>
        {
            DbError::IntegratedLogin {
                server,
                message: message.clone(),
            }
        }
        E::Io { message, .. } => DbError::Connect {
            server,
            message: message.clone(),
        },
        // Whatever answered does not speak TDS (or not sanely): say where, not only what.
        E::Protocol(message) => DbError::Connect {
            server,
            message: format!("the answer is not valid TDS ({message}); is this a SQL Server port?"),
        },
        other => DbError::Connect {
            server,
            message: other.to_string(),
        },
    }
}

/// The TLS library's words, for an administrator: what is wrong with the certificate, never
/// the library's own API advice (which names functions the admin cannot call).
fn tls_message(message: &str) -> String {
    let known = [
        (
            "UnknownIssuer",
            "the server's certificate is issued by an authority this machine does not trust (a self-signed certificate, or an internal CA not installed here)",
        ),
        (
            "NotValidForName",
            "the server's certificate is for another name than the Data Source",
        ),
        ("Expired", "the server's certificate has expired"),
        (
            "NotValidYet",
            "the server's certificate is not valid yet (check the clocks)",
        ),
        ("Revoked", "the server's certificate has been revoked"),
    ];
    if let Some((_, text)) = known.iter().find(|(kind, _)| message.contains(kind)) {
        return (*text).to_owned();
    }
    // Keep the first sentence: later ones are the library's advice to programmers.
    let first = message.split(". ").next().unwrap_or(message);
    first.replace('`', "")
}

fn tls_hint(message: &str) -> &'static str {
    if message.contains("certificate")
        || message.contains("UnknownIssuer")
        || message.contains("NotValidForName")
    {
        "The server's certificate is not trusted here: trust its issuer, or pass --trust-server-cert (TrustServerCertificate=True) if you accept an unverified server"
    } else {
        "Check that the server has TLS enabled, or set Encrypt=False to protect only the login"
    }
}

/// One round trip with the target's command timeout (tiberius enforces it too; this bounds
/// the whole call) and server errors mapped.
pub(super) async fn round_trip<T>(
    target: &Target,
    what: &'static str,
    call: impl Future<Output = tiberius::Result<T>>,
) -> Result<T, DbError> {
    match tokio::time::timeout(
        target.command_timeout + Duration::from_secs(1),
        Box::pin(call),
    )
    .await
    {
        Err(_) => Err(DbError::Timeout {
            what,
            after: target.command_timeout,
        }),
        Ok(Ok(v)) => Ok(v),
        Ok(Err(tiberius::error::Error::Server(token))) => Err(DbError::Server {
            code: token.code(),
            message: token.message().to_owned(),
        }),
        Ok(Err(e)) => {
            let message = e.to_string();
            Err(if let Some(too_large) = reply_too_large(target, &message) {
                too_large
            } else if message.contains("timed out") || message.contains("timeout") {
                DbError::Timeout {
                    what,
                    after: target.command_timeout,
                }
            } else {
                DbError::Client(message)
            })
        }
    }
}

/// Opens the master key (when a password is known), then `SCSSOKey`, each in its own round
/// trip so that a failure names the key that failed.
async fn open_keys(
    client: &mut Conn,
    target: &Target,
    master_key_password: Option<&Secret>,
) -> Result<KeyStatus, DbError> {
    if let Some(password) = master_key_password {
        let opened = round_trip(target, "opening the database master key", async {
            client
                .execute(sql::OPEN_MASTER_KEY, &[&password.expose()])
                .await
        })
        .await;
        match opened {
            Ok(_) => {}
            Err(DbError::Server { code: 15313, .. }) => {
                return Ok(KeyStatus::WrongMasterKeyPassword {
                    account: target.master_key_account(),
                });
            }
            Err(DbError::Server { code, message }) => {
                return Ok(KeyStatus::Failed(format!(
                    "opening the database master key failed (SQL Server error {code}): {message}"
                )));
            }
            Err(other) => return Err(other),
        }
    }
    let opened = round_trip(target, "opening SCSSOKey", async {
        client.execute(sql::OPEN_SYMMETRIC_KEY, &[]).await
    })
    .await;
    Ok(match opened {
        Ok(_) => KeyStatus::Open,
        Err(DbError::Server { code: 15581, .. }) => KeyStatus::MasterKeyPasswordRequired {
            account: target.master_key_account(),
        },
        // The catalog lists the key, so "does not exist or you do not have permission" means
        // the permission.
        Err(DbError::Server { code: 15151, .. }) => KeyStatus::NoPermission {
            login: target.login_name(),
        },
        Err(DbError::Server { code, message }) => KeyStatus::Failed(format!(
            "opening SCSSOKey failed (SQL Server error {code}): {message}"
        )),
        Err(other) => return Err(other),
    })
}
