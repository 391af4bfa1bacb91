//! The database behind the wire: SQLite files, one per T-SQL schema, and per-session state.
//!
//! A database `K2` is a folder of SQLite files: `K2.sqlite` is `dbo` (SQLite's `main`), and
//! every other schema is its own file attached under the schema's name, so
//! `[HostServer].[Configuration]` resolves without rewriting. `sys` holds the catalog views the
//! simulator answers (`sys.tables`, `sys.schemas`, `sys.symmetric_keys`, `sys.certificates`).
//! Sessions open their own connection, so transactions and locks behave across connections as
//! they would on one server (rollback journal, `BEGIN IMMEDIATE` for explicit transactions).

mod functions;
pub mod keys;
pub mod seed;
pub mod translate;

pub use functions::{Collation, register_functions};

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};

use crate::request::Param;
use crate::tokens::ServerMessage;
use keys::{Catalog, KeyState, SharedKeys, SymmetricKey};
use translate::Statement;

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
        let (compat_level, collation): (i64, String) = conn.query_row(
            "SELECT compatibility_level, collation_name FROM sys.databases WHERE name = ?1",
            [&self.name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        register_functions(&conn, &self.name, &collation, compat_level)?;
        Ok(Session {
            conn,
            keys,
            transaction: None,
            xact_abort: false,
            compat_level: u16::try_from(compat_level).unwrap_or(150),
            locals: Vec::new(),
            may_open_keys: true,
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

/// One connection's state.
pub struct Session {
    conn: Connection,
    keys: SharedKeys,
    transaction: Option<u64>,
    xact_abort: bool,
    compat_level: u16,
    /// The current batch's variables (`DECLARE`), dropped when the batch ends.
    locals: Vec<Param>,
    may_open_keys: bool,
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

    /// The database's compatibility level.
    pub fn compat_level(&self) -> u16 {
        self.compat_level
    }

    /// A login without permission on the symmetric keys: `OPEN SYMMETRIC KEY` answers 15151,
    /// as SQL Server does when a key "does not exist or you do not have permission".
    pub fn deny_keys(&mut self) {
        self.may_open_keys = false;
    }

    /// Starts a new batch: its variables are gone.
    pub fn start_batch(&mut self) {
        self.locals.clear();
    }

    /// Runs one statement's text: refuses functions the compatibility level does not have,
    /// translates, runs.
    pub fn run_text(&mut self, text: &str, params: &[Param]) -> Result<Outcome, ServerMessage> {
        if let Some((name, level)) = translate::requires_level(text)
            && self.compat_level < level
        {
            return Err(ServerMessage::error(
                208,
                format!("Invalid object name '{name}'."),
            ));
        }
        self.run(&translate::translate(text), params)
    }

    /// A parameter or a variable of the current batch.
    fn variable<'p>(&'p self, params: &'p [Param], name: &str) -> Option<&'p Param> {
        params
            .iter()
            .chain(&self.locals)
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// `SELECT expression` with the batch's parameters and variables.
    fn evaluate(&mut self, expression: &str, params: &[Param]) -> Result<Value, ServerMessage> {
        match self.query(&format!("SELECT {expression}"), params)? {
            Outcome::Rows { rows, .. } => Ok(rows
                .into_iter()
                .next()
                .and_then(|r| r.into_iter().next())
                .unwrap_or(Value::Null)),
            _ => Ok(Value::Null),
        }
    }

    fn set_local(&mut self, name: &str, value: Value) {
        self.locals.retain(|p| !p.name.eq_ignore_ascii_case(name));
        self.locals.push(Param {
            name: name.to_owned(),
            value,
        });
    }

    /// `EXEC (...)`: the string built from the parts runs as a batch of its own, in a scope
    /// that does not see the caller's variables or parameters.
    fn exec(
        &mut self,
        parts: &[translate::ExecPart],
        params: &[Param],
    ) -> Result<Outcome, ServerMessage> {
        let mut batch = String::new();
        for part in parts {
            match part {
                translate::ExecPart::Literal(text) => batch.push_str(text),
                translate::ExecPart::Variable(name) => match self.variable(params, name) {
                    Some(p) if p.value == Value::Null => {}
                    Some(p) => batch.push_str(&p.value.to_text()),
                    None => return Err(undeclared(name)),
                },
            }
        }
        let outer = std::mem::take(&mut self.locals);
        let mut outcome = Ok(Outcome::Done);
        for statement in translate::split(&batch) {
            outcome = self.run_text(statement, &[]);
            if outcome.is_err() {
                break;
            }
        }
        self.locals = outer;
        outcome
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
                keys.open_master(password).map(|()| Outcome::Done)
            }
            Statement::Declare { name, value } => {
                drop(keys);
                let value = match value {
                    Some(expression) => self.evaluate(expression, params)?,
                    None => Value::Null,
                };
                self.set_local(name, value);
                Ok(Outcome::Done)
            }
            Statement::SetVariable { name, value } => {
                drop(keys);
                if self
                    .locals
                    .iter()
                    .all(|p| !p.name.eq_ignore_ascii_case(name))
                {
                    return Err(undeclared(name));
                }
                let value = self.evaluate(value, params)?;
                self.set_local(name, value);
                Ok(Outcome::Done)
            }
            Statement::Exec(parts) => {
                drop(keys);
                self.exec(parts, params)
            }
            Statement::SyntaxError { number, near } => Err(syntax_error(*number, near)),
            Statement::OpenSymmetricKey { key, .. } if !self.may_open_keys => {
                Err(ServerMessage::error(
                    15151,
                    format!(
                        "Cannot find the symmetric key '{key}', because it does not exist or you do not have permission."
                    ),
                ))
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
            let value = self
                .variable(params, &name)
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
        // sql_variant rows differ in type: each value says what it is.
        Some(d) if d.contains("VARIANT") => {}
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

/// A syntax error as SQL Server words it: 156 names a keyword, 102 anything else.
fn syntax_error(number: i32, near: &str) -> ServerMessage {
    if number == 156 {
        ServerMessage::error(156, format!("Incorrect syntax near the keyword '{near}'."))
    } else {
        ServerMessage::error(102, format!("Incorrect syntax near '{near}'."))
    }
}

/// Words SQLite stops at that SQL Server reports as keywords (Msg 156).
const KEYWORDS: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AS", "SET", "VALUES", "INSERT", "UPDATE", "DELETE", "EXEC",
    "EXECUTE", "ON", "JOIN", "AND", "OR", "NOT", "IN", "CASE", "WHEN", "THEN", "ELSE", "END",
    "INTO", "ORDER", "BY", "GROUP", "NULL", "IS", "COLLATE", "WITH",
];

/// SQLite's error as a SQL Server message: missing tables and columns (208, 207), syntax
/// errors (102, 156), a value of the wrong type for its column (257: SQL Server does not
/// convert implicitly between binary and text), duplicate keys (2627).
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
    if let Some(function) = text.strip_prefix("no such function: ") {
        return ServerMessage::error(
            195,
            format!("'{function}' is not a recognized built-in function name."),
        );
    }
    if let Some(near) = text
        .strip_prefix("near \"")
        .and_then(|rest| rest.split_once("\": syntax error"))
        .map(|(near, _)| near)
    {
        let keyword = KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(near));
        return syntax_error(if keyword { 156 } else { 102 }, near);
    }
    if let Some(target) = text
        .split_once("CHECK constraint failed: k2sim_type:")
        .map(|(_, t)| t.trim())
    {
        let source = if target.contains("binary") {
            "nvarchar(max)"
        } else {
            "varbinary(max)"
        };
        return ServerMessage::error(
            257,
            format!(
                "Implicit conversion from data type {source} to {target} is not allowed. Use the CONVERT function to run this query."
            ),
        );
    }
    if text.contains("CHECK constraint failed: k2sim_variant") {
        return ServerMessage::error(
            206,
            "Operand type clash: nvarchar(max) is incompatible with sql_variant",
        );
    }
    if text.contains("UNIQUE constraint failed") {
        return ServerMessage::error(
            2627,
            format!("Violation of PRIMARY KEY constraint. Cannot insert duplicate key. ({text})"),
        );
    }
    if let rusqlite::Error::SqliteFailure(_, Some(message)) = &e
        && let Some((number, message)) = functions::server_error(message)
    {
        return ServerMessage::error(number, message);
    }
    ServerMessage::error(
        50000,
        format!("k2cse-mssql-sim: {text} (this simulator runs only the T-SQL subset k2cse sends)"),
    )
}
