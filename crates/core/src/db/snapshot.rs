//! `[HostServer].[Configuration]` exactly as stored, for backups, and its restore.
//!
//! A backup must give back the same bytes, so nothing here decrypts or encrypts: encrypted
//! values travel as their `EncryptByKey` ciphertext, with their `Encrypted` flag. A restore is
//! one transaction: lock every row, check that they are still what the pre-restore backup
//! saw, delete / update / insert, read back and compare byte for byte, let the caller finish
//! its own part (writing the config file), then commit. Any failure before the commit rolls
//! back; a dropped connection rolls back on the server.

use std::collections::BTreeMap;

use tiberius::Row;

use super::client::{Param, round_trip, token_and_flag};
use super::shape::ValueType;
use super::{Database, DbError, sql};

/// A stored value, typed as SQL Server holds it.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredValue {
    /// NULL.
    Null,
    /// `varbinary` bytes: UTF-16LE `nvarchar` bytes, or `EncryptByKey` ciphertext.
    Binary(Vec<u8>),
    /// `nvarchar` text.
    Nvarchar(String),
    /// `varchar` text (within the column's code page).
    Varchar(String),
}

impl std::fmt::Debug for StoredValue {
    /// Values may be passwords in clear: only the type and size are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Null => f.write_str("Null"),
            Self::Binary(b) => write!(f, "Binary({} bytes)", b.len()),
            Self::Nvarchar(t) => write!(f, "Nvarchar({} bytes)", t.len()),
            Self::Varchar(t) => write!(f, "Varchar({} bytes)", t.len()),
        }
    }
}

impl StoredValue {
    /// The base type's name, as `SQL_VARIANT_PROPERTY(..., 'BaseType')` says it.
    pub fn base_type(&self) -> Option<&'static str> {
        match self {
            Self::Null => None,
            Self::Binary(_) => Some("varbinary"),
            Self::Nvarchar(_) => Some("nvarchar"),
            Self::Varchar(_) => Some("varchar"),
        }
    }
}

/// One row as stored.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "RowRecord", into = "RowRecord")]
pub struct RawRow {
    /// `VariableToken`.
    pub token: String,
    /// `VariableValue`, typed.
    pub value: StoredValue,
    /// `Encrypted` (any non-zero value).
    pub encrypted: bool,
}

/// A row in a backup's JSON: `value` is base64 bytes (the only form older backups have),
/// `text` and `base_type` say what a text value is.
#[derive(serde::Serialize, serde::Deserialize)]
struct RowRecord {
    token: String,
    #[serde(with = "base64_bytes")]
    value: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base_type: Option<String>,
    encrypted: bool,
}

impl From<RowRecord> for RawRow {
    fn from(r: RowRecord) -> Self {
        let value = match (r.value, r.text, r.base_type.as_deref()) {
            (Some(bytes), _, _) => StoredValue::Binary(bytes),
            (None, Some(text), Some("varchar")) => StoredValue::Varchar(text),
            (None, Some(text), _) => StoredValue::Nvarchar(text),
            (None, None, _) => StoredValue::Null,
        };
        Self {
            token: r.token,
            value,
            encrypted: r.encrypted,
        }
    }
}

impl From<RawRow> for RowRecord {
    fn from(r: RawRow) -> Self {
        let base_type = r.value.base_type().map(str::to_owned);
        let (value, text) = match r.value {
            StoredValue::Null => (None, None),
            StoredValue::Binary(b) => (Some(b), None),
            StoredValue::Nvarchar(t) | StoredValue::Varchar(t) => (None, Some(t)),
        };
        Self {
            token: r.token,
            value,
            text,
            base_type: base_type.filter(|b| *b != "varbinary"),
            encrypted: r.encrypted,
        }
    }
}

impl std::fmt::Debug for RawRow {
    /// Values may be passwords in clear: only their type and size are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let size = match &self.value {
            StoredValue::Null => None,
            StoredValue::Binary(b) => Some(b.len()),
            StoredValue::Nvarchar(t) | StoredValue::Varchar(t) => Some(t.len()),
        };
        f.debug_struct("RawRow")
            .field("token", &self.token)
            .field("type", &self.value.base_type())
            .field("size", &size)
            .field("encrypted", &self.encrypted)
            .finish()
    }
}

impl RawRow {
    /// The value as text when it is a plain (not encrypted) value: text as it is, bytes as
    /// `nvarchar` (UTF-16LE).
    pub fn text(&self) -> Option<String> {
        if self.encrypted {
            return None;
        }
        match &self.value {
            StoredValue::Nvarchar(t) | StoredValue::Varchar(t) => Some(t.clone()),
            StoredValue::Binary(bytes) => {
                if bytes.len() % 2 != 0 {
                    return None;
                }
                let units: Vec<u16> = bytes
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16(&units).ok()
            }
            StoredValue::Null => None,
        }
    }

    /// How this row's value travels in a restore.
    pub(super) fn restore_kind(&self) -> sql::RestoreKind {
        match self.value {
            StoredValue::Null => sql::RestoreKind::Null,
            StoredValue::Binary(_) => sql::RestoreKind::Binary,
            StoredValue::Nvarchar(_) => sql::RestoreKind::Nvarchar,
            StoredValue::Varchar(_) => sql::RestoreKind::Varchar,
        }
    }
}

/// How one token differs between two sets of rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowChange {
    /// Only in the new set.
    Added(RawRow),
    /// Only in the old set.
    Removed(RawRow),
    /// In both, with different bytes, flag or spelling.
    Changed {
        /// Old row.
        before: RawRow,
        /// New row.
        after: RawRow,
    },
}

impl RowChange {
    /// Every difference that turns `old` into `new`, by token (case-insensitive, as SQL
    /// Server's default collation compares them), in token order.
    pub fn between(old: &[RawRow], new: &[RawRow]) -> Vec<Self> {
        let key = |r: &RawRow| r.token.to_lowercase();
        let old: BTreeMap<String, &RawRow> = old.iter().map(|r| (key(r), r)).collect();
        let new: BTreeMap<String, &RawRow> = new.iter().map(|r| (key(r), r)).collect();
        let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter_map(|name| match (old.get(name), new.get(name)) {
                (Some(a), Some(b)) if a == b => None,
                (Some(a), Some(b)) => Some(Self::Changed {
                    before: (*a).clone(),
                    after: (*b).clone(),
                }),
                (Some(a), None) => Some(Self::Removed((*a).clone())),
                (None, Some(b)) => Some(Self::Added((*b).clone())),
                (None, None) => None,
            })
            .collect()
    }

    /// The token concerned.
    pub fn token(&self) -> &str {
        match self {
            Self::Added(r) | Self::Removed(r) | Self::Changed { after: r, .. } => &r.token,
        }
    }
}

/// Rows as a set, for comparisons that must not depend on the server's sort order.
fn normalized(rows: &[RawRow]) -> Vec<RawRow> {
    let mut rows = rows.to_vec();
    rows.sort_by_cached_key(|r| r.token.to_lowercase());
    rows
}

impl Database {
    /// Every row of `[HostServer].[Configuration]` exactly as stored, typed. Refuses (naming
    /// the token) when a value cannot be read back exactly, so that no backup ever holds a
    /// value that is not what the database has.
    pub async fn raw_rows(&mut self) -> Result<Vec<RawRow>, DbError> {
        let statement = self.raw_statement(false)?;
        let rows = self.select_owned("reading rows", &statement).await?;
        rows.iter().map(raw_from_row).collect()
    }

    fn raw_statement(&self, locked: bool) -> Result<String, DbError> {
        let shape = &self.status().shape;
        sql::read_raw(shape, locked).ok_or_else(|| DbError::Shape {
            message: format!(
                "{shape}: k2cse cannot read these values back exactly, so it does not back them up or restore them (back up the file alone with --only file)"
            ),
        })
    }

    /// Makes the table hold exactly `target`, in one transaction, provided it still holds
    /// `expected` (what the caller saw when it planned the restore; `None` skips the check).
    /// Only the rows that differ are written; a value becomes NULL only where `target` holds
    /// NULL.
    ///
    /// `before_commit` runs once the rows are written and read back identical, before the
    /// commit: the caller writes its file there, so that a failure of either side leaves both
    /// as they were (if the commit itself then fails, the caller must undo its part).
    pub async fn restore_rows(
        &mut self,
        expected: Option<&[RawRow]>,
        target: &[RawRow],
        before_commit: impl FnOnce() -> crate::Result<()>,
    ) -> crate::Result<()> {
        self.check_restorable(target)?;
        round_trip(&self.target, "beginning a transaction", async {
            self.client.begin_transaction().await
        })
        .await?;
        let result = self.restore_in_transaction(expected, target).await;
        let result = result.and_then(|()| before_commit());
        match result {
            Ok(()) => round_trip(&self.target, "committing", async {
                self.client.commit_transaction().await
            })
            .await
            .map_err(|e| e.commit_failed().into()),
            Err(e) => {
                // Best effort: if the connection is gone, the server has rolled back already.
                let _ = self.client.rollback_transaction().await;
                Err(match e {
                    crate::Error::Database(db) => crate::Error::Database(db.rolled_back()),
                    other => other,
                })
            }
        }
    }

    /// Refuses, before anything is sent, rows this table cannot store as they were.
    fn check_restorable(&self, target: &[RawRow]) -> Result<(), DbError> {
        let shape = &self.status().shape;
        if let Some(refusal) = shape.write_refusal() {
            return Err(DbError::Shape { message: refusal });
        }
        for row in target {
            let fits = matches!(
                (&shape.value, &row.value),
                (_, StoredValue::Null)
                    | (ValueType::SqlVariant, _)
                    | (ValueType::Varbinary, StoredValue::Binary(_))
                    | (ValueType::Nvarchar, StoredValue::Nvarchar(_))
                    | (ValueType::Varchar, StoredValue::Varchar(_))
            );
            if !fits {
                return Err(DbError::Shape {
                    message: format!(
                        "token {:?} was backed up as {} and the column is now {}: restoring it would change how it is stored",
                        row.token,
                        row.value.base_type().unwrap_or("NULL"),
                        shape.value_type_name()
                    ),
                });
            }
        }
        Ok(())
    }

    async fn restore_in_transaction(
        &mut self,
        expected: Option<&[RawRow]>,
        target: &[RawRow],
    ) -> crate::Result<()> {
        let current = self.locked_raw_rows().await?;
        if let Some(expected) = expected {
            let changed: Vec<String> = RowChange::between(expected, &current)
                .iter()
                .map(|c| c.token().to_owned())
                .collect();
            if !changed.is_empty() {
                return Err(DbError::Conflict(changed).into());
            }
        }
        let shape = self.status().shape.clone();
        let changes = RowChange::between(&current, target);
        let removed: Vec<Vec<Param<'_>>> = changes
            .iter()
            .filter_map(|c| match c {
                RowChange::Removed(r) => Some(vec![Param::Text(&r.token)]),
                _ => None,
            })
            .collect();
        self.execute_chunked("removing rows", &removed, &sql::restore_delete)
            .await?;
        for kind in [
            sql::RestoreKind::Binary,
            sql::RestoreKind::Nvarchar,
            sql::RestoreKind::Varchar,
            sql::RestoreKind::Null,
        ] {
            let (changed, added): (Vec<_>, Vec<_>) = changes
                .iter()
                .filter_map(|c| match c {
                    RowChange::Changed { after, .. } => Some((true, after)),
                    RowChange::Added(r) => Some((false, r)),
                    RowChange::Removed(_) => None,
                })
                .filter(|(_, r)| r.restore_kind() == kind)
                .partition(|(existing, _)| *existing);
            let changed: Vec<Vec<Param<'_>>> =
                changed.iter().map(|(_, r)| restore_params(r)).collect();
            let added: Vec<Vec<Param<'_>>> = added.iter().map(|(_, r)| restore_params(r)).collect();
            self.execute_chunked("restoring rows", &changed, &|n| {
                sql::restore_update(&shape, kind, n)
            })
            .await?;
            self.execute_chunked("adding rows", &added, &|n| {
                sql::restore_insert(&shape, kind, n)
            })
            .await?;
        }
        let after = self.locked_raw_rows().await?;
        let after = normalized(&after);
        let wanted = normalized(target);
        if let Some(bad) = RowChange::between(&wanted, &after).first() {
            return Err(DbError::Verification(bad.token().to_owned()).into());
        }
        // Spelling too: the comparison above is case-insensitive by token.
        if let Some((bad, _)) = after.iter().zip(&wanted).find(|(a, b)| a.token != b.token) {
            return Err(DbError::Verification(bad.token.clone()).into());
        }
        Ok(())
    }

    async fn locked_raw_rows(&mut self) -> Result<Vec<RawRow>, DbError> {
        let statement = self.raw_statement(true)?;
        let rows = self.select_owned("reading rows", &statement).await?;
        rows.iter().map(raw_from_row).collect()
    }
}

/// A restore row's parameters: `(token, value, encrypted)`, or `(token, encrypted)` for NULL.
fn restore_params(row: &RawRow) -> Vec<Param<'_>> {
    let flag = Param::Int(i32::from(row.encrypted));
    match &row.value {
        StoredValue::Null => vec![Param::Text(&row.token), flag],
        StoredValue::Binary(b) => vec![Param::Text(&row.token), Param::Bytes(b), flag],
        StoredValue::Nvarchar(t) | StoredValue::Varchar(t) => {
            vec![Param::Text(&row.token), Param::Text(t), flag]
        }
    }
}

fn raw_from_row(row: &Row) -> Result<RawRow, DbError> {
    let (token, encrypted) = token_and_flag(row);
    let stored_null = row.try_get::<i32, _>("stored_null").ok().flatten() == Some(1);
    let base = row
        .try_get::<&str, _>("base_type")
        .ok()
        .flatten()
        .map(str::to_ascii_lowercase);
    let bytes = row.try_get::<&[u8], _>("value_bytes").ok().flatten();
    let text = row.try_get::<&str, _>("value_text").ok().flatten();
    let value = match (base.as_deref(), bytes, text) {
        _ if stored_null => StoredValue::Null,
        (Some("varbinary" | "binary"), Some(b), _) => StoredValue::Binary(b.to_vec()),
        (Some("nvarchar" | "nchar"), _, Some(t)) => StoredValue::Nvarchar(t.to_owned()),
        (Some("varchar" | "char"), _, Some(t)) => StoredValue::Varchar(t.to_owned()),
        (base, _, _) => {
            return Err(DbError::Shape {
                message: format!(
                    "the value of token {token:?} ({}) could not be read back exactly, so k2cse does not back up or restore these rows",
                    base.unwrap_or("unknown type")
                ),
            });
        }
    };
    Ok(RawRow {
        token,
        value,
        encrypted,
    })
}

/// Serde for `Option<Vec<u8>>` as a base64 string or null.
mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize as _, Deserializer, Serializer};

    #[allow(clippy::ref_option, reason = "the signature serde's `with` expects")]
    pub fn serialize<S: Serializer>(value: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) => {
                s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(token: &str, value: &[u8], encrypted: bool) -> RawRow {
        RawRow {
            token: token.into(),
            value: StoredValue::Binary(value.to_vec()),
            encrypted,
        }
    }

    #[test]
    fn changes_by_token_ignore_order_and_case_of_the_key() {
        let old = [row("[B]", b"1", false), row("[a]", b"x", true)];
        let new = [row("[A]", b"x", true), row("[C]", b"2", false)];
        let changes = RowChange::between(&old, &new);
        let tokens: Vec<_> = changes.iter().map(RowChange::token).collect();
        assert_eq!(tokens, ["[A]", "[B]", "[C]"]);
        assert!(
            matches!(changes[0], RowChange::Changed { .. }),
            "spelling counts"
        );
        assert!(matches!(changes[1], RowChange::Removed(_)));
        assert!(matches!(changes[2], RowChange::Added(_)));
        assert!(RowChange::between(&old, &old).is_empty());
    }

    #[test]
    fn rows_round_trip_through_json_and_never_debug_print_values() {
        let rows = vec![
            row("[T]", &[0xff, 0x00, 0x10], true),
            RawRow {
                token: "[N]".into(),
                value: StoredValue::Null,
                encrypted: false,
            },
        ];
        let json = serde_json::to_string(&rows).unwrap();
        assert!(json.contains("\"/wAQ\""), "{json}");
        let back: Vec<RawRow> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rows);
        assert!(!format!("{:?}", row("[P]", b"hunter2", false)).contains("hunter2"));
        let text = row("[U]", &[b'h', 0, b'i', 0], false);
        assert_eq!(text.text().as_deref(), Some("hi"));
        // Text values keep their base type; a backup written before base types were
        // recorded reads as varbinary.
        let typed = vec![
            RawRow {
                token: "[V]".into(),
                value: StoredValue::Varchar("False".into()),
                encrypted: false,
            },
            RawRow {
                token: "[W]".into(),
                value: StoredValue::Nvarchar(String::new()),
                encrypted: false,
            },
        ];
        let json = serde_json::to_string(&typed).unwrap();
        assert_eq!(serde_json::from_str::<Vec<RawRow>>(&json).unwrap(), typed);
        let old: Vec<RawRow> =
            serde_json::from_str(r#"[{"token":"[T]","value":"aABpAA==","encrypted":false}]"#)
                .unwrap();
        assert_eq!(old[0].value, StoredValue::Binary(b"h\0i\0".to_vec()));
    }
}
