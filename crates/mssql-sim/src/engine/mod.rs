//! The database behind the wire: SQLite files, one per T-SQL schema, and per-session state.
//!
//! A database `K2` is a folder of SQLite files: `K2.sqlite` is `dbo` (SQLite's `main`), and
//! every other schema is its own file attached under the schema's name, so
//! `[HostServer].[Configuration]` resolves without rewriting. `sys` holds the catalog views the
//! simulator answers (`sys.tables`, `sys.schemas`, `sys.symmetric_keys`, `sys.certificates`).
//! Sessions open their own connection, so transactions and locks behave across connections as
//! they would on one server (rollback journal, `BEGIN IMMEDIATE` for explicit transactions).

pub mod keys;
pub mod seed;
pub mod translate;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};

use crate::request::Param;
use crate::tokens::ServerMessage;
use keys::{Catalog, KeyState, SharedKeys, SymmetricKey};
use translate::{Password, Statement};

/// A value on the wire or in a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// NULL.
    Null,
    /// Any integer or bit.
    Int(i64),
    /// Text (`nvarchar`).
    Text(String),
    /// Binary (`varbinary`).
    Bytes(Vec<u8>),
}

impl Value {
    /// As an integer (text that is not a number is 0, as a lenient client-facing default).
    pub fn as_i64(&self) -> i64 {
        match self {
            Self::Int(i) => *i,
            Self::Text(t) => t.trim().parse().unwrap_or(0),
            Self::Null | Self::Bytes(_) => 0,
        }
    }

    /// As text; binary is read as UTF-16LE, as `CONVERT(NVARCHAR(MAX), varbinary)` does.
    pub fn to_text(&self) -> String {
        match self {
            Self::Null => String::new(),
            Self::Int(i) => i.to_string(),
            Self::Text(t) => t.clone(),
            Self::Bytes(b) => utf16_lossy(b),
        }
    }

    /// As bytes; text becomes UTF-16LE.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Bytes(b) => b.clone(),
            other => other
                .to_text()
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect(),
        }
    }

    fn from_sqlite(v: ValueRef<'_>) -> Self {
        match v {
            ValueRef::Null => Self::Null,
            ValueRef::Integer(i) => Self::Int(i),
            ValueRef::Real(r) => Self::Text(r.to_string()),
            ValueRef::Text(t) => Self::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Self::Bytes(b.to_vec()),
        }
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Self::Null => ToSqlOutput::Owned(SqlValue::Null),
            Self::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
            Self::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Self::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn utf16_lossy(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// The TDS type a result column is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `int`.
    Int,
    /// `bigint`.
    BigInt,
    /// `bit`.
    Bit,
    /// `nvarchar(max)`.
    NVarCharMax,
    /// `varbinary(max)`.
    VarBinaryMax,
}

/// A result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Name (alias).
    pub name: String,
    /// Type.
    pub kind: ColumnType,
}

/// What one statement produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A result set.
    Rows {
        /// Columns.
        columns: Vec<Column>,
        /// Rows.
        rows: Vec<Vec<Value>>,
    },
    /// Rows changed by INSERT/UPDATE/DELETE.
    Affected(u64),
    /// A statement with no result (SET, OPEN KEY, ...).
    Done,
    /// A transaction began with this descriptor.
    Began(u64),
    /// The transaction with this descriptor committed.
    Committed(u64),
    /// The transaction with this descriptor rolled back.
    RolledBack(u64),
}

/// A database on disk.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    name: String,
    schemas: Vec<String>,
}

impl Store {
    /// Opens the database `name` in `dir` (created by [`seed`]).
    pub fn open(dir: &Path, name: &str) -> rusqlite::Result<Self> {
        let conn = Connection::open(dir.join(format!("{name}.sqlite")))?;
        let mut stmt = conn.prepare("SELECT name FROM k2sim_schemas ORDER BY name")?;
        let schemas = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Self {
            dir: dir.to_owned(),
            name: name.to_owned(),
            schemas,
        })
    }

    /// The database name (`DB_NAME()`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file of `schema` (`dbo` is the main file).
    pub fn schema_file(dir: &Path, database: &str, schema: &str) -> PathBuf {
        if schema.eq_ignore_ascii_case("dbo") {
            dir.join(format!("{database}.sqlite"))
        } else {
            dir.join(format!("{database}.{schema}.sqlite"))
        }
    }

    /// A new session: its own connection with every schema attached and the T-SQL functions.
    pub fn session(&self) -> rusqlite::Result<Session> {
        let conn = Connection::open_with_flags(
            Self::schema_file(&self.dir, &self.name, "dbo"),
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        for schema in &self.schemas {
            let file = Self::schema_file(&self.dir, &self.name, schema);
            conn.execute(
                "ATTACH DATABASE ?1 AS ?2",
                (file.to_string_lossy().as_ref(), schema.as_str()),
            )?;
        }
        let keys = KeyState::new(load_catalog(&conn)?);
        keys::register(&conn, &keys)?;
        register_functions(&conn, &self.name)?;
        Ok(Session {
            conn,
            keys,
            transaction: None,
            xact_abort: false,
        })
    }
}

fn load_catalog(conn: &Connection) -> rusqlite::Result<Catalog> {
    let master_key_password_sha256 = conn
        .query_row(
            "SELECT password_sha256 FROM sys.k2sim_master_key",
            [],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .ok()
        .and_then(|h| <[u8; 32]>::try_from(h.as_slice()).ok());
    let mut stmt = conn.prepare("SELECT name, key_guid, k2sim_secret, k2sim_certificate FROM sys.symmetric_keys WHERE k2sim_secret IS NOT NULL")?;
    let symmetric_keys = stmt
        .query_map([], |r| {
            let guid: Vec<u8> = r.get(1)?;
            let secret: Vec<u8> = r.get(2)?;
            Ok(SymmetricKey {
                name: r.get(0)?,
                guid: guid.as_slice().try_into().unwrap_or_default(),
                secret: secret.as_slice().try_into().unwrap_or_default(),
                certificate: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare("SELECT name FROM sys.certificates")?;
    let certificates = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Catalog {
        master_key_password_sha256,
        symmetric_keys,
        certificates,
    })
}

fn register_functions(conn: &Connection, database: &str) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("k2sim_version", 0, flags, |_| {
        Ok(crate::VERSION_TEXT.to_owned())
    })?;
    conn.create_scalar_function("k2sim_servername", 0, flags, |_| {
        Ok(crate::tokens::SERVER_NAME.to_owned())
    })?;
    let name = database.to_owned();
    conn.create_scalar_function("DB_NAME", 0, flags, move |_| Ok(name.clone()))?;
    conn.create_scalar_function("k2sim_nvarchar", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => None,
            ValueRef::Blob(b) => Some(utf16_lossy(b)),
            other => Some(Value::from_sqlite(other).to_text()),
        })
    })?;
    conn.create_scalar_function("k2sim_varbinary", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => None,
            other => Some(Value::from_sqlite(other).to_bytes()),
        })
    })?;
    // `OPENJSON ... WITH (c VARBINARY(MAX))` reads a base64 string, as SQL Server does.
    conn.create_scalar_function("k2sim_base64", 1, flags, |ctx| {
        use base64::Engine as _;
        match ctx.get_raw(0) {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => base64::engine::general_purpose::STANDARD
                .decode(t)
                .map(Some)
                .map_err(|e| {
                    rusqlite::Error::UserFunctionError(
                        format!("Conversion failed when converting base64 to varbinary: {e}")
                            .into(),
                    )
                }),
            other => Ok(Some(Value::from_sqlite(other).to_bytes())),
        }
    })?;
    Ok(())
}

/// One connection's state.
pub struct Session {
    conn: Connection,
    keys: SharedKeys,
    transaction: Option<u64>,
    xact_abort: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("transaction", &self.transaction)
            .finish_non_exhaustive()
    }
}

static NEXT_TRANSACTION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Session {
    /// The open transaction's descriptor.
    pub fn transaction(&self) -> Option<u64> {
        self.transaction
    }

    /// Whether `SET XACT_ABORT ON` is in effect.
    pub fn xact_abort(&self) -> bool {
        self.xact_abort
    }

    /// Begins an explicit transaction.
    pub fn begin(&mut self) -> Result<Outcome, ServerMessage> {
        if self.transaction.is_some() {
            // Nested BEGIN only bumps @@TRANCOUNT on SQL Server; k2cse never nests.
            return Err(ServerMessage::error(
                50000,
                "k2cse-mssql-sim: nested transactions are not supported",
            ));
        }
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(sqlite_error)?;
        let id = NEXT_TRANSACTION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.transaction = Some(id);
        Ok(Outcome::Began(id))
    }

    /// Commits.
    pub fn commit(&mut self) -> Result<Outcome, ServerMessage> {
        let Some(id) = self.transaction else {
            return Err(ServerMessage::error(
                3902,
                "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.",
            ));
        };
        self.conn.execute_batch("COMMIT").map_err(sqlite_error)?;
        self.transaction = None;
        Ok(Outcome::Committed(id))
    }

    /// Rolls back.
    pub fn rollback(&mut self) -> Result<Outcome, ServerMessage> {
        let Some(id) = self.transaction else {
            return Err(ServerMessage::error(
                3903,
                "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.",
            ));
        };
        self.transaction = None;
        self.conn.execute_batch("ROLLBACK").map_err(sqlite_error)?;
        Ok(Outcome::RolledBack(id))
    }

    /// Runs one translated statement.
    pub fn run(
        &mut self,
        statement: &Statement,
        params: &[Param],
    ) -> Result<Outcome, ServerMessage> {
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match statement {
            Statement::Sql(sql) => {
                drop(keys);
                self.query(sql, params)
            }
            Statement::NoOp => Ok(Outcome::Done),
            Statement::XactAbort(on) => {
                self.xact_abort = *on;
                Ok(Outcome::Done)
            }
            Statement::Begin => {
                drop(keys);
                self.begin()
            }
            Statement::Commit => {
                drop(keys);
                self.commit()
            }
            Statement::Rollback => {
                drop(keys);
                self.rollback()
            }
            Statement::OpenMasterKey(password) => {
                let password = match password {
                    Password::Literal(p) => p.clone(),
                    Password::Param(name) => {
                        match params.iter().find(|p| p.name.eq_ignore_ascii_case(name)) {
                            Some(p) => p.value.to_text(),
                            None => return Err(undeclared(name)),
                        }
                    }
                };
                keys.open_master(&password).map(|()| Outcome::Done)
            }
            Statement::CloseMasterKey => {
                keys.close_master();
                Ok(Outcome::Done)
            }
            Statement::OpenSymmetricKey { key, certificate } => keys
                .open_symmetric(key, certificate)
                .map(|()| Outcome::Done),
            Statement::CloseSymmetricKey(key) => {
                keys.close_symmetric(key);
                Ok(Outcome::Done)
            }
            Statement::CloseAllSymmetricKeys => {
                keys.close_all();
                Ok(Outcome::Done)
            }
        }
    }

    fn query(&mut self, sql: &str, params: &[Param]) -> Result<Outcome, ServerMessage> {
        let mut stmt = self.conn.prepare(sql).map_err(sqlite_error)?;
        for i in 1..=stmt.parameter_count() {
            let Some(name) = stmt.parameter_name(i).map(str::to_owned) else {
                return Err(ServerMessage::error(
                    50000,
                    "k2cse-mssql-sim: positional parameters are not T-SQL",
                ));
            };
            let value = params
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(&name))
                .ok_or_else(|| undeclared(&name))?;
            stmt.raw_bind_parameter(i, &value.value)
                .map_err(sqlite_error)?;
        }
        if stmt.column_count() == 0 {
            stmt.raw_execute().map_err(sqlite_error)?;
            return Ok(Outcome::Affected(self.conn.changes()));
        }
        let declared: Vec<(String, Option<String>)> = stmt
            .columns()
            .map(|c| {
                (
                    c.name().to_owned(),
                    c.decl_type().map(str::to_ascii_uppercase),
                )
            })
            .collect();
        let width = declared.len();
        let mut rows = Vec::new();
        let mut cursor = stmt.raw_query();
        while let Some(row) = cursor.next().map_err(sqlite_error)? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(Value::from_sqlite(row.get_ref(i).map_err(sqlite_error)?));
            }
            rows.push(values);
        }
        let columns = declared
            .into_iter()
            .enumerate()
            .map(|(i, (name, decl))| {
                // SQL Server leaves unnamed expressions (`SELECT @@VERSION`) without a name.
                let name = if name.contains("k2sim_") {
                    String::new()
                } else {
                    name
                };
                Column {
                    name,
                    kind: column_type(decl.as_deref(), &rows, i),
                }
            })
            .collect();
        Ok(Outcome::Rows { columns, rows })
    }
}

/// The declared type when there is one, else the narrowest type that holds every value.
fn column_type(declared: Option<&str>, rows: &[Vec<Value>], i: usize) -> ColumnType {
    match declared {
        Some(d) if d.contains("BIGINT") => return ColumnType::BigInt,
        Some(d) if d.contains("BIT") => return ColumnType::Bit,
        Some(d) if d.contains("INT") => return ColumnType::Int,
        Some(d) if d.contains("BINARY") || d.contains("BLOB") => return ColumnType::VarBinaryMax,
        Some(d) if d.contains("CHAR") || d.contains("TEXT") => return ColumnType::NVarCharMax,
        _ => {}
    }
    let values = rows
        .iter()
        .map(|r| &r[i])
        .filter(|v| !matches!(v, Value::Null));
    let (mut ints, mut bytes, mut others, mut wide) = (0, 0, 0, false);
    for v in values {
        match v {
            Value::Int(n) => {
                ints += 1;
                wide |= i32::try_from(*n).is_err();
            }
            Value::Bytes(_) => bytes += 1,
            _ => others += 1,
        }
    }
    match (ints, bytes, others) {
        (n, 0, 0) if n > 0 && wide => ColumnType::BigInt,
        (n, 0, 0) if n > 0 => ColumnType::Int,
        (0, n, 0) if n > 0 => ColumnType::VarBinaryMax,
        _ => ColumnType::NVarCharMax,
    }
}

fn undeclared(name: &str) -> ServerMessage {
    ServerMessage::error(137, format!("Must declare the scalar variable \"{name}\"."))
}

/// SQLite's error as a SQL Server message; "no such table" becomes error 208 as clients expect.
#[allow(
    clippy::needless_pass_by_value,
    reason = "used as `map_err(sqlite_error)`"
)]
fn sqlite_error(e: rusqlite::Error) -> ServerMessage {
    let text = e.to_string();
    if let Some(table) = text.strip_prefix("no such table: ") {
        return ServerMessage::error(208, format!("Invalid object name '{table}'."));
    }
    if let Some(column) = text.strip_prefix("no such column: ") {
        return ServerMessage::error(207, format!("Invalid column name '{column}'."));
    }
    if text.contains("UNIQUE constraint failed") {
        return ServerMessage::error(
            2627,
            format!("Violation of PRIMARY KEY constraint. Cannot insert duplicate key. ({text})"),
        );
    }
    ServerMessage::error(
        50000,
        format!("k2cse-mssql-sim: {text} (this simulator runs only the T-SQL subset k2cse sends)"),
    )
}
