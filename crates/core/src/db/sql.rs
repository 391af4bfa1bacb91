//! Every statement k2cse sends to SQL Server, in one place so that it can be reviewed, parsed
//! by an independent T-SQL parser (`scripts/check-tsql.py`, a CI step) and run by the
//! simulator's strict subset.
//!
//! Rules every statement keeps:
//! - Values travel only as `sp_executesql` parameters (`@P1`, ...). Batches of values travel
//!   as parameterized table-value constructors (`(VALUES (@P1, @P2), ...) AS v(...)`), valid at
//!   every compatibility level from 100 (SQL Server 2008 R2) on; `OPENJSON` (level 130+) and
//!   `STRING_SPLIT` are never used. A batch is cut into chunks below SQL Server's limits
//!   (2,100 parameters per request, 1,000 rows per `VALUES`), each chunk one round trip.
//! - The column types of `[HostServer].[Configuration]` are read from the catalog
//!   ([`SHAPE`]) and every read and write converts explicitly for that shape
//!   ([`TableShape`]): nothing relies on an implicit conversion.
//! - Reads that precede a write take update locks (`UPDLOCK, HOLDLOCK`) inside the
//!   transaction, so nothing can change between the check and the write. Old-value checks use
//!   a binary collation: a case-only change is a change.
//! - No function call inside `EXEC (...)`: SQL Server accepts only string literals and
//!   variables there, so dynamic SQL is built in a variable first ([`OPEN_MASTER_KEY`]).

use std::fmt::Write as _;

use super::shape::{TableShape, ValueType};

/// Session setup, sent as a batch: `SET` options inside `sp_executesql` would end with it.
pub const SESSION_SETUP: &str = "SET XACT_ABORT ON; SET NOCOUNT OFF";

/// What `db status` and every connection start with: the server, the database's
/// compatibility level and collation, and the K2 objects.
pub const PROBE: &str = "SELECT DB_NAME() AS database_name, @@VERSION AS version, \
CONVERT(NVARCHAR(128), SERVERPROPERTY('ProductVersion')) AS product_version, \
(SELECT CONVERT(INT, d.compatibility_level) FROM sys.databases AS d WHERE d.name = DB_NAME()) AS compatibility_level, \
(SELECT CONVERT(NVARCHAR(128), d.collation_name) FROM sys.databases AS d WHERE d.name = DB_NAME()) AS collation_name, \
(SELECT COUNT(*) FROM sys.tables AS t JOIN sys.schemas AS s ON s.schema_id = t.schema_id WHERE s.name = N'HostServer' AND t.name = N'Configuration') AS has_table, \
(SELECT COUNT(*) FROM sys.symmetric_keys WHERE name = N'##MS_DatabaseMasterKey##') AS has_master_key, \
(SELECT COUNT(*) FROM sys.certificates WHERE name = N'SCHostServerCert') AS has_certificate, \
(SELECT COUNT(*) FROM sys.symmetric_keys WHERE name = N'SCSSOKey') AS has_symmetric_key";

/// The column types of `[HostServer].[Configuration]` (base system types, so an alias type
/// reads as what it is built on).
pub const SHAPE: &str = "SELECT c.name AS column_name, ty.name AS type_name, CONVERT(INT, c.max_length) AS max_length \
FROM sys.columns AS c \
JOIN sys.tables AS t ON t.object_id = c.object_id \
JOIN sys.schemas AS s ON s.schema_id = t.schema_id \
JOIN sys.types AS ty ON ty.user_type_id = c.system_type_id \
WHERE s.name = N'HostServer' AND t.name = N'Configuration'";

/// Opens the database master key with the password in `@P1`. `OPEN MASTER KEY` takes no
/// variables, so the statement is built in a variable (quotes doubled by `REPLACE`) and run
/// with `EXEC (@variable)`; the key stays open for the session.
pub const OPEN_MASTER_KEY: &str = "DECLARE @open_master_key NVARCHAR(MAX) = \
N'OPEN MASTER KEY DECRYPTION BY PASSWORD = N''' + REPLACE(@P1, N'''', N'''''') + N''''; \
EXEC (@open_master_key)";

/// Opens K2's symmetric key (sent on its own, after the master key, so that each failure is
/// named); the key stays open for the session.
pub const OPEN_SYMMETRIC_KEY: &str =
    "OPEN SYMMETRIC KEY SCSSOKey DECRYPTION BY CERTIFICATE SCHostServerCert";

/// Parameters per request that a chunk may use (SQL Server allows 2,100).
const MAX_PARAMS: usize = 2000;
/// Rows per table-value constructor (SQL Server allows 1,000).
const MAX_ROWS: usize = 1000;

/// How many rows of `params_per_row` parameters one statement may carry.
pub fn chunk_rows(params_per_row: usize) -> usize {
    (MAX_PARAMS / params_per_row.max(1)).clamp(1, MAX_ROWS)
}

const TABLE: &str = "[HostServer].[Configuration]";

/// `(@P1, @P2), (@P3, @P4)`: `rows` rows of `per_row` parameters numbered from 1.
fn values_rows(rows: usize, per_row: usize) -> String {
    let mut out = String::new();
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..per_row {
            if c > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "@P{}", r * per_row + c + 1);
        }
        out.push(')');
    }
    out
}

/// `@P1, @P2, ...`.
fn param_list(n: usize) -> String {
    (1..=n)
        .map(|i| format!("@P{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The value of row `c` (`c.` or empty for the target of an `UPDATE`) as `nvarchar(max)`,
/// decrypted where it is encrypted; NULL where this shape cannot hold a readable value.
fn value_text(shape: &TableShape, c: &str) -> String {
    let value = format!("{c}VariableValue");
    let (encrypted, plain) = match &shape.value {
        ValueType::Varbinary => (
            format!("CONVERT(NVARCHAR(MAX), DecryptByKey({value}))"),
            format!("CONVERT(NVARCHAR(MAX), {value})"),
        ),
        ValueType::SqlVariant => (
            format!("CONVERT(NVARCHAR(MAX), DecryptByKey(CONVERT(VARBINARY(8000), {value})))"),
            format!("CONVERT(NVARCHAR(MAX), {value})"),
        ),
        ValueType::Nvarchar | ValueType::Varchar => (
            "CAST(NULL AS NVARCHAR(MAX))".to_owned(),
            format!("CONVERT(NVARCHAR(MAX), {value})"),
        ),
        ValueType::Other(t) => match other_read(t) {
            OtherRead::Text => (
                "CAST(NULL AS NVARCHAR(MAX))".to_owned(),
                format!("CONVERT(NVARCHAR(MAX), {value})"),
            ),
            OtherRead::Binary => (
                format!("CONVERT(NVARCHAR(MAX), DecryptByKey(CONVERT(VARBINARY(MAX), {value})))"),
                format!("CONVERT(NVARCHAR(MAX), CONVERT(VARBINARY(MAX), {value}))"),
            ),
            OtherRead::Unreadable => (
                "CAST(NULL AS NVARCHAR(MAX))".to_owned(),
                "CAST(NULL AS NVARCHAR(MAX))".to_owned(),
            ),
        },
    };
    format!("CASE WHEN {c}Encrypted <> 0 THEN {encrypted} ELSE {plain} END")
}

/// How a column of a type k2cse does not write is still read.
enum OtherRead {
    Text,
    Binary,
    Unreadable,
}

fn other_read(type_name: &str) -> OtherRead {
    match type_name {
        "char" | "nchar" | "text" | "ntext" | "xml" | "sysname" => OtherRead::Text,
        "binary" | "image" => OtherRead::Binary,
        _ => OtherRead::Unreadable,
    }
}

/// `token, encrypted, value, stored_null` of every row, decrypted where the key is open.
fn select_tokens(shape: &TableShape, hints: &str, filter: &str) -> String {
    format!(
        "SELECT c.VariableToken AS token, CONVERT(INT, c.Encrypted) AS encrypted, \
{} AS value, \
CASE WHEN c.VariableValue IS NULL THEN 1 ELSE 0 END AS stored_null \
FROM {TABLE} AS c{hints}{filter} ORDER BY c.VariableToken",
        value_text(shape, "c.")
    )
}

/// Every token with its value decrypted (NULL when it cannot be), and whether the stored
/// value itself is NULL (to tell "empty" from "cannot read").
pub fn read_all(shape: &TableShape) -> String {
    select_tokens(shape, "", "")
}

/// The `n` tokens in `@P1..@Pn`, locked until the transaction ends.
pub fn read_locked(shape: &TableShape, n: usize) -> String {
    select_tokens(
        shape,
        " WITH (UPDLOCK, HOLDLOCK)",
        &format!(" WHERE c.VariableToken IN ({})", param_list(n)),
    )
}

/// The stored expression for the `nvarchar` value `v`, for a row whose `Encrypted` flag is
/// `encrypted` (an SQL expression) and, for `sql_variant`, keeping the row's base type.
fn stored_value(shape: &TableShape, v: &str, encrypted: &str) -> String {
    match &shape.value {
        ValueType::Varbinary => format!(
            "CASE WHEN {encrypted} <> 0 THEN EncryptByKey(Key_GUID(N'SCSSOKey'), {v}) ELSE CONVERT(VARBINARY(MAX), {v}) END"
        ),
        ValueType::SqlVariant => {
            let base = "CONVERT(NVARCHAR(128), SQL_VARIANT_PROPERTY(VariableValue, 'BaseType'))";
            format!(
                "CASE WHEN {encrypted} <> 0 THEN CONVERT(SQL_VARIANT, EncryptByKey(Key_GUID(N'SCSSOKey'), CONVERT(NVARCHAR(4000), {v}))) \
WHEN {base} IN (N'varbinary', N'binary') THEN CONVERT(SQL_VARIANT, CONVERT(VARBINARY(8000), CONVERT(NVARCHAR(4000), {v}))) \
WHEN {base} IN (N'varchar', N'char') THEN CONVERT(SQL_VARIANT, CONVERT(VARCHAR(8000), {v})) \
ELSE CONVERT(SQL_VARIANT, CONVERT(NVARCHAR(4000), {v})) END"
            )
        }
        ValueType::Varchar => format!("CONVERT(VARCHAR(MAX), {v})"),
        // Nvarchar; other shapes are never written (TableShape::write_refusal).
        ValueType::Nvarchar | ValueType::Other(_) => format!("CONVERT(NVARCHAR(MAX), {v})"),
    }
}

/// Writes `new_value` into each of `n` tokens (`(token, old_value, new_value)` per row,
/// `@P1..@P3n`) whose current value is still `old_value`, encrypting where the row is
/// encrypted. The row count tells whether all rows matched.
pub fn update(shape: &TableShape, n: usize) -> String {
    let current = value_text(shape, "");
    format!(
        "UPDATE {TABLE} SET VariableValue = {} \
FROM (VALUES {}) AS v(token, old_value, new_value) \
WHERE VariableToken = v.token \
AND (({current}) COLLATE Latin1_General_BIN2 = v.old_value OR (({current}) IS NULL AND v.old_value IS NULL))",
        stored_value(shape, "v.new_value", "Encrypted"),
        values_rows(n, 3),
    )
}

/// The flag value `1`/`0` as the `Encrypted` column's type.
fn flag(shape: &TableShape, on: bool) -> String {
    format!("CONVERT({}, {})", shape.flag_type_name(), u8::from(on))
}

/// Adds `n` tokens (`(token, new_value)` per row) that do not exist yet, encrypted or not.
pub fn insert(shape: &TableShape, n: usize, encrypt: bool) -> String {
    let encrypted = if encrypt { "1" } else { "0" };
    // A new sql_variant row gets nvarchar (plain) or varbinary (encrypted) as its base type.
    let value = match &shape.value {
        ValueType::SqlVariant if encrypt => {
            "CONVERT(SQL_VARIANT, EncryptByKey(Key_GUID(N'SCSSOKey'), CONVERT(NVARCHAR(4000), v.new_value)))".to_owned()
        }
        ValueType::SqlVariant => "CONVERT(SQL_VARIANT, CONVERT(NVARCHAR(4000), v.new_value))".to_owned(),
        _ => stored_value(shape, "v.new_value", encrypted),
    };
    format!(
        "INSERT INTO {TABLE} (VariableToken, VariableValue, Encrypted) \
SELECT v.token, {value}, {} \
FROM (VALUES {}) AS v(token, new_value) \
WHERE NOT EXISTS (SELECT 1 FROM {TABLE} AS c WHERE c.VariableToken = v.token)",
        flag(shape, encrypt),
        values_rows(n, 2),
    )
}

/// Every row exactly as stored, for a backup: its base type, binary values as bytes
/// (ciphertext for encrypted rows), text values as text, nothing decrypted.
/// `None` for a shape whose values cannot be read back exactly.
pub fn read_raw(shape: &TableShape, locked: bool) -> Option<String> {
    let base_variant = "CONVERT(NVARCHAR(128), SQL_VARIANT_PROPERTY(c.VariableValue, 'BaseType'))";
    let (base, bytes, text) = match &shape.value {
        ValueType::Varbinary => (
            "N'varbinary'".to_owned(),
            "c.VariableValue".to_owned(),
            "CAST(NULL AS NVARCHAR(MAX))".to_owned(),
        ),
        ValueType::Nvarchar | ValueType::Varchar => (
            if shape.value == ValueType::Nvarchar {
                "N'nvarchar'"
            } else {
                "N'varchar'"
            }
            .to_owned(),
            "CAST(NULL AS VARBINARY(MAX))".to_owned(),
            "CONVERT(NVARCHAR(MAX), c.VariableValue)".to_owned(),
        ),
        ValueType::SqlVariant => (
            base_variant.to_owned(),
            format!(
                "CASE WHEN {base_variant} IN (N'varbinary', N'binary') THEN CONVERT(VARBINARY(8000), c.VariableValue) END"
            ),
            format!(
                "CASE WHEN {base_variant} IN (N'nvarchar', N'nchar', N'varchar', N'char') THEN CONVERT(NVARCHAR(4000), c.VariableValue) END"
            ),
        ),
        ValueType::Other(_) => return None,
    };
    let hints = if locked {
        " WITH (UPDLOCK, HOLDLOCK)"
    } else {
        ""
    };
    Some(format!(
        "SELECT c.VariableToken AS token, CONVERT(INT, c.Encrypted) AS encrypted, \
{base} AS base_type, {bytes} AS value_bytes, {text} AS value_text, \
CASE WHEN c.VariableValue IS NULL THEN 1 ELSE 0 END AS stored_null \
FROM {TABLE} AS c{hints} ORDER BY c.VariableToken"
    ))
}

/// How a restored value travels and is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreKind {
    /// Bytes (`varbinary` parameter), stored as `varbinary`.
    Binary,
    /// Text (`nvarchar` parameter), stored as `nvarchar`.
    Nvarchar,
    /// Text (`nvarchar` parameter), stored as `varchar`.
    Varchar,
    /// NULL.
    Null,
}

/// The stored expression for the restored value `v.value` of `kind`.
fn restored_value(shape: &TableShape, kind: RestoreKind) -> &'static str {
    match (&shape.value, kind) {
        (_, RestoreKind::Null) => "NULL",
        (ValueType::SqlVariant, RestoreKind::Binary) => {
            "CONVERT(SQL_VARIANT, CONVERT(VARBINARY(8000), v.value))"
        }
        (ValueType::SqlVariant, RestoreKind::Nvarchar) => {
            "CONVERT(SQL_VARIANT, CONVERT(NVARCHAR(4000), v.value))"
        }
        (ValueType::SqlVariant, RestoreKind::Varchar) => {
            "CONVERT(SQL_VARIANT, CONVERT(VARCHAR(8000), v.value))"
        }
        (ValueType::Varchar, _) => "CONVERT(VARCHAR(MAX), v.value)",
        (ValueType::Nvarchar, _) => "CONVERT(NVARCHAR(MAX), v.value)",
        (_, _) => "CONVERT(VARBINARY(MAX), v.value)",
    }
}

/// Restore: removes the `n` rows whose tokens are `@P1..@Pn`.
pub fn restore_delete(n: usize) -> String {
    format!(
        "DELETE FROM {TABLE} WHERE VariableToken IN ({})",
        param_list(n)
    )
}

/// Restore: gives `n` existing rows (`(token, value, encrypted)` per row; for
/// [`RestoreKind::Null`] `(token, encrypted)`) their backed-up value, flag and the token's
/// exact spelling, without decrypting or encrypting anything.
pub fn restore_update(shape: &TableShape, kind: RestoreKind, n: usize) -> String {
    let (columns, per_row) = restore_columns(kind);
    format!(
        "UPDATE {TABLE} SET VariableToken = v.token, VariableValue = {}, Encrypted = CONVERT({}, v.encrypted) \
FROM (VALUES {}) AS v({columns}) WHERE VariableToken = v.token",
        restored_value(shape, kind),
        shape.flag_type_name(),
        values_rows(n, per_row),
    )
}

/// Restore: adds `n` rows (same parameters as [`restore_update`]).
pub fn restore_insert(shape: &TableShape, kind: RestoreKind, n: usize) -> String {
    let (columns, per_row) = restore_columns(kind);
    format!(
        "INSERT INTO {TABLE} (VariableToken, VariableValue, Encrypted) \
SELECT v.token, {}, CONVERT({}, v.encrypted) FROM (VALUES {}) AS v({columns}) \
WHERE NOT EXISTS (SELECT 1 FROM {TABLE} AS c WHERE c.VariableToken = v.token)",
        restored_value(shape, kind),
        shape.flag_type_name(),
        values_rows(n, per_row),
    )
}

/// The parameters per row of a restore statement of `kind`.
pub fn restore_columns(kind: RestoreKind) -> (&'static str, usize) {
    match kind {
        RestoreKind::Null => ("token, encrypted", 2),
        _ => ("token, value, encrypted", 3),
    }
}

/// Every statement k2cse can send, for every shape it writes, with one and two rows per
/// batch: what `scripts/check-tsql.py` parses. `(name, statement)`.
pub fn catalogue() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![
        ("session setup".into(), SESSION_SETUP.into()),
        ("probe".into(), PROBE.into()),
        ("shape".into(), SHAPE.into()),
        ("open master key".into(), OPEN_MASTER_KEY.into()),
        ("open symmetric key".into(), OPEN_SYMMETRIC_KEY.into()),
    ];
    let shapes = [
        ("varbinary", "bit"),
        ("nvarchar", "bit"),
        ("varchar", "tinyint"),
        ("sql_variant", "int"),
        ("xml", "bit"),
    ];
    for (value, flag_type) in shapes {
        let shape = TableShape::from_catalog(value, -1, flag_type);
        let tag = format!("{value}/{flag_type}");
        out.push((format!("read all [{tag}]"), read_all(&shape)));
        if let Some(raw) = read_raw(&shape, true) {
            out.push((format!("read raw [{tag}]"), raw));
        }
        if shape.write_refusal().is_some() {
            continue;
        }
        for n in [1, 2] {
            out.push((format!("read locked {n} [{tag}]"), read_locked(&shape, n)));
            out.push((format!("update {n} [{tag}]"), update(&shape, n)));
            out.push((format!("insert {n} [{tag}]"), insert(&shape, n, false)));
            out.push((format!("delete {n}"), restore_delete(n)));
            if shape.can_hold_ciphertext() {
                out.push((
                    format!("insert encrypted {n} [{tag}]"),
                    insert(&shape, n, true),
                ));
            }
            for kind in [
                RestoreKind::Binary,
                RestoreKind::Nvarchar,
                RestoreKind::Varchar,
                RestoreKind::Null,
            ] {
                out.push((
                    format!("restore update {kind:?} {n} [{tag}]"),
                    restore_update(&shape, kind, n),
                ));
                out.push((
                    format!("restore insert {kind:?} {n} [{tag}]"),
                    restore_insert(&shape, kind, n),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_stay_below_sql_servers_limits() {
        assert_eq!(chunk_rows(1), 1000);
        assert_eq!(chunk_rows(3), 666);
        assert!(chunk_rows(3) * 3 <= 2100);
        assert_eq!(values_rows(2, 3), "(@P1, @P2, @P3), (@P4, @P5, @P6)");
        assert_eq!(param_list(3), "@P1, @P2, @P3");
    }

    #[test]
    fn no_statement_needs_openjson_or_calls_a_function_inside_exec() {
        for (name, statement) in catalogue() {
            let upper = statement.to_ascii_uppercase();
            assert!(!upper.contains("OPENJSON"), "{name}");
            assert!(!upper.contains("STRING_SPLIT"), "{name}");
            if let Some(at) = upper.find("EXEC (") {
                let inner = &upper[at + 6..];
                let inner = &inner[..inner.find(')').unwrap_or(inner.len())];
                assert!(
                    inner.trim().starts_with('@') && !inner.contains('('),
                    "{name}: {statement}"
                );
            }
        }
    }
}
