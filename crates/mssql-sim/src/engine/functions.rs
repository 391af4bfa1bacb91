//! The T-SQL built-ins the simulator answers, as SQLite functions and collations, with SQL
//! Server's rules where k2cse depends on them: explicit `CONVERT` between text, binary and
//! integer types (`k2sim_convert`), `SQL_VARIANT_PROPERTY`, `SERVERPROPERTY`, and the
//! database collation's `=` (case-insensitive or not, trailing spaces ignored as SQL Server
//! pads strings before comparing them).

use std::cmp::Ordering;

use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value as SqlValue, ValueRef};

use super::{Value, utf16_lossy};

/// How a collation compares strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collation {
    /// `..._CI_...`: case-insensitive (Unicode letters, not only ASCII).
    CaseInsensitive,
    /// `..._CS_...`: case-sensitive.
    CaseSensitive,
    /// `..._BIN` / `..._BIN2`: code point order.
    Binary,
}

impl Collation {
    /// From a SQL Server collation name.
    pub fn from_name(name: &str) -> Self {
        let upper = name.to_ascii_uppercase();
        if upper.contains("_BIN") {
            Self::Binary
        } else if upper.contains("_CS") {
            Self::CaseSensitive
        } else {
            Self::CaseInsensitive
        }
    }

    /// SQL Server's `=` order: trailing spaces never count; case only when sensitive.
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        let (a, b) = (a.trim_end_matches(' '), b.trim_end_matches(' '));
        match self {
            Self::CaseInsensitive => {
                let fold = |s: &str| s.chars().flat_map(char::to_lowercase).collect::<String>();
                fold(a).cmp(&fold(b))
            }
            Self::CaseSensitive | Self::Binary => a.cmp(b),
        }
    }
}

/// An error a function raises, carrying SQL Server's message number (read back by
/// [`server_error`]).
fn user_error(number: i32, text: impl Into<String>) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(format!("k2sim:{number}:{}", text.into()).into())
}

/// The SQL Server error a function raised, from SQLite's message.
pub fn server_error(message: &str) -> Option<(i32, String)> {
    let rest = message.split_once("k2sim:")?.1;
    let (number, text) = rest.split_once(':')?;
    Some((number.parse().ok()?, text.to_owned()))
}

/// Version text for `@@VERSION` and `SERVERPROPERTY('ProductVersion')`: the server that
/// offers the compatibility level.
fn version(compat_level: i64) -> (&'static str, &'static str) {
    if compat_level >= 160 {
        (
            "Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64) - k2cse-mssql-sim: TDS 7.4 over SQLite, not a SQL Server",
            "16.0.1000.6",
        )
    } else {
        (crate::VERSION_TEXT, "15.0.2000.5")
    }
}

/// Registers the functions and collations on a connection to `database`.
pub fn register_functions(
    conn: &Connection,
    database: &str,
    collation: &str,
    compat_level: i64,
) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    let (version_text, product_version) = version(compat_level);
    conn.create_scalar_function("k2sim_version", 0, flags, move |_| {
        Ok(version_text.to_owned())
    })?;
    conn.create_scalar_function("k2sim_servername", 0, flags, |_| {
        Ok(crate::tokens::SERVER_NAME.to_owned())
    })?;
    let name = database.to_owned();
    conn.create_scalar_function("DB_NAME", 0, flags, move |_| Ok(name.clone()))?;
    conn.create_scalar_function("SERVERPROPERTY", 1, flags, move |ctx| {
        let property: String = ctx.get(0)?;
        Ok(match property.to_ascii_lowercase().as_str() {
            "productversion" => Some(product_version.to_owned()),
            "edition" => Some("Developer Edition (64-bit)".to_owned()),
            "servername" => Some(crate::tokens::SERVER_NAME.to_owned()),
            _ => None,
        })
    })?;
    conn.create_scalar_function("SQL_VARIANT_PROPERTY", 2, flags, |ctx| {
        let property: String = ctx.get(1)?;
        if !property.eq_ignore_ascii_case("BaseType") {
            return Ok(None);
        }
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => None,
            ValueRef::Integer(_) => Some("int"),
            ValueRef::Real(_) => Some("float"),
            ValueRef::Text(_) => Some("nvarchar"),
            ValueRef::Blob(_) => Some("varbinary"),
        })
    })?;
    conn.create_scalar_function("k2sim_convert", -1, flags, convert)?;
    conn.create_scalar_function("k2sim_codepage", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(t) => Some(to_code_page(&String::from_utf8_lossy(t))),
            _ => None,
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
                    user_error(
                        50000,
                        format!("Conversion failed when converting base64 to varbinary: {e}"),
                    )
                }),
            other => Ok(Some(Value::from_sqlite(other).to_bytes())),
        }
    })?;
    let default = Collation::from_name(collation);
    conn.create_collation("k2sim_default", move |a, b| default.compare(a, b))?;
    conn.create_collation("k2sim_ci", |a, b| Collation::CaseInsensitive.compare(a, b))?;
    conn.create_collation("k2sim_cs", |a, b| Collation::CaseSensitive.compare(a, b))?;
    conn.create_collation("k2sim_bin2", |a, b| Collation::Binary.compare(a, b))?;
    Ok(())
}

/// Characters of Windows-1252 above 0x7F that are not Latin-1's (0x80–0x9F).
const CP1252_EXTRA: &str = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ";

/// Text as a `varchar` column of a `CP1252` collation keeps it: other characters become `?`.
fn to_code_page(text: &str) -> String {
    text.chars()
        .map(|c| {
            if (c as u32) < 0x80
                || ((c as u32) >= 0xA0 && (c as u32) <= 0xFF)
                || CP1252_EXTRA.contains(c)
            {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// `k2sim_convert('TYPE', 'n' | 'MAX' | '', expression[, style])`: `CONVERT` with SQL Server's
/// rules for the types k2cse uses.
fn convert(ctx: &mut Context<'_>) -> rusqlite::Result<SqlValue> {
    if ctx.len() < 3 {
        return Err(user_error(
            174,
            "The convert function requires 2 to 3 arguments.",
        ));
    }
    let target: String = ctx.get(0)?;
    let length: String = ctx.get(1)?;
    let limit: Option<usize> = length.parse().ok();
    let value = Value::from_sqlite(ctx.get_raw(2));
    if value == Value::Null {
        return Ok(SqlValue::Null);
    }
    let truncate_chars = |s: String| match limit {
        Some(n) => s.chars().take(n).collect(),
        None => s,
    };
    let target_upper = target.to_ascii_uppercase();
    Ok(match target_upper.as_str() {
        "NVARCHAR" | "NCHAR" | "SYSNAME" => SqlValue::Text(truncate_chars(match value {
            Value::Bytes(b) => utf16_lossy(&b),
            other => other.to_text(),
        })),
        "VARCHAR" | "CHAR" => SqlValue::Text(truncate_chars(to_code_page(&match value {
            Value::Bytes(b) => b.iter().map(|&byte| char::from(byte)).collect(),
            other => other.to_text(),
        }))),
        "VARBINARY" | "BINARY" => {
            let mut bytes = match value {
                Value::Int(i) => i32::try_from(i).map_or_else(
                    |_| i.to_be_bytes().to_vec(),
                    |small| small.to_be_bytes().to_vec(),
                ),
                other => other.to_bytes(),
            };
            if let Some(n) = limit {
                bytes.truncate(n);
            }
            SqlValue::Blob(bytes)
        }
        "INT" | "TINYINT" | "SMALLINT" | "BIGINT" | "BIT" => {
            let number = match &value {
                Value::Int(i) => *i,
                Value::Text(t) => t.trim().parse::<i64>().map_err(|_| {
                    user_error(
                        245,
                        format!(
                            "Conversion failed when converting the nvarchar value '{t}' to data type {}.",
                            target.to_ascii_lowercase()
                        ),
                    )
                })?,
                Value::Bytes(b) => b.iter().fold(0i64, |n, &byte| (n << 8) | i64::from(byte)),
                Value::Null => return Ok(SqlValue::Null),
            };
            let (low, high) = match target_upper.as_str() {
                "TINYINT" => (0, 255),
                "SMALLINT" => (-32_768, 32_767),
                "INT" => (i64::from(i32::MIN), i64::from(i32::MAX)),
                _ => (i64::MIN, i64::MAX),
            };
            if target_upper == "BIT" {
                SqlValue::Integer(i64::from(number != 0))
            } else if number < low || number > high {
                return Err(user_error(
                    220,
                    format!(
                        "Arithmetic overflow error for data type {}, value = {number}.",
                        target.to_ascii_lowercase()
                    ),
                ));
            } else {
                SqlValue::Integer(number)
            }
        }
        "SQL_VARIANT" => match value {
            Value::Int(i) => SqlValue::Integer(i),
            Value::Text(t) => SqlValue::Text(t),
            Value::Bytes(b) => SqlValue::Blob(b),
            Value::Null => SqlValue::Null,
        },
        _ => {
            return Err(user_error(
                243,
                format!("Type {target} is not a defined system type."),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collations_pad_and_fold_as_sql_server() {
        let ci = Collation::from_name("SQL_Latin1_General_CP1_CI_AS");
        assert_eq!(ci, Collation::CaseInsensitive);
        assert_eq!(ci.compare("[Token]", "[TOKEN]  "), Ordering::Equal);
        assert_eq!(ci.compare("ÄRGER", "ärger"), Ordering::Equal);
        assert_ne!(ci.compare("a", "b"), Ordering::Equal);
        let cs = Collation::from_name("Latin1_General_CS_AS");
        assert_ne!(cs.compare("A", "a"), Ordering::Equal);
        assert_eq!(cs.compare("a ", "a"), Ordering::Equal);
        assert_eq!(
            Collation::from_name("Latin1_General_BIN2"),
            Collation::Binary
        );
    }

    #[test]
    fn varchar_keeps_only_its_code_page() {
        assert_eq!(to_code_page("Passwört €"), "Passwört €");
        assert_eq!(to_code_page("пароль"), "??????");
    }

    #[test]
    fn errors_carry_sql_server_numbers() {
        let e = user_error(8116, "Argument data type nvarchar is invalid");
        assert_eq!(
            server_error(&e.to_string()),
            Some((8116, "Argument data type nvarchar is invalid".into()))
        );
    }
}
