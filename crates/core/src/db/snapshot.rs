//! `[HostServer].[Configuration]` exactly as stored, for backups, and its restore.
//!
//! A backup must give back the same bytes, so nothing here decrypts or encrypts: encrypted
//! values travel as their `EncryptByKey` ciphertext, with their `Encrypted` flag. A restore is
//! one transaction: lock every row, check that they are still what the pre-restore backup
//! saw, delete / update / insert, read back and compare byte for byte, let the caller finish
//! its own part (writing the config file), then commit. Any failure before the commit rolls
//! back; a dropped connection rolls back on the server.

use std::collections::BTreeMap;

use base64::Engine as _;
use tiberius::Row;

use super::client::round_trip;
use super::{Database, DbError, sql};

/// One row as stored.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RawRow {
    /// `VariableToken`.
    pub token: String,
    /// `VariableValue`: the stored bytes (`nvarchar` UTF-16LE bytes, or ciphertext), or NULL.
    #[serde(with = "base64_bytes")]
    pub value: Option<Vec<u8>>,
    /// `Encrypted`.
    pub encrypted: bool,
}

impl std::fmt::Debug for RawRow {
    /// Values may be passwords in clear: only their size is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRow")
            .field("token", &self.token)
            .field("bytes", &self.value.as_ref().map(Vec::len))
            .field("encrypted", &self.encrypted)
            .finish()
    }
}

impl RawRow {
    /// The value as text when it is a plain (not encrypted) `nvarchar` value.
    pub fn text(&self) -> Option<String> {
        if self.encrypted {
            return None;
        }
        let bytes = self.value.as_ref()?;
        if bytes.len() % 2 != 0 {
            return None;
        }
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).ok()
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
    /// Every row of `[HostServer].[Configuration]` exactly as stored.
    pub async fn raw_rows(&mut self) -> Result<Vec<RawRow>, DbError> {
        let rows = self.select("reading rows", sql::READ_RAW).await?;
        Ok(rows.iter().map(raw_from_row).collect())
    }

    /// Makes the table hold exactly `target`, in one transaction, provided it still holds
    /// `expected` (what the caller saw when it planned the restore; `None` skips the check).
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
        let json = rows_json(target);
        for (what, statement) in [
            ("removing rows", sql::RESTORE_DELETE),
            ("restoring rows", sql::RESTORE_UPDATE),
            ("adding rows", sql::RESTORE_INSERT),
        ] {
            round_trip(&self.target, what, async {
                self.client.execute(statement, &[&json]).await
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
        let rows = self.select("reading rows", sql::READ_RAW_LOCKED).await?;
        Ok(rows.iter().map(raw_from_row).collect())
    }
}

/// `[{"token", "value" (base64 or null), "encrypted"}]`: `OPENJSON ... WITH (value
/// VARBINARY(MAX))` decodes base64, so bytes arrive unchanged whatever they hold.
fn rows_json(rows: &[RawRow]) -> String {
    serde_json::Value::Array(
        rows.iter()
            .map(|r| {
                serde_json::json!({
                    "token": r.token,
                    "value": r.value.as_deref().map(|v| base64::engine::general_purpose::STANDARD.encode(v)),
                    "encrypted": r.encrypted,
                })
            })
            .collect(),
    )
    .to_string()
}

fn raw_from_row(row: &Row) -> RawRow {
    RawRow {
        token: row
            .try_get::<&str, _>("token")
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_owned(),
        value: row
            .try_get::<&[u8], _>("value")
            .ok()
            .flatten()
            .map(<[u8]>::to_vec),
        encrypted: row
            .try_get::<bool, _>("encrypted")
            .ok()
            .flatten()
            .unwrap_or(false),
    }
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
            value: Some(value.to_vec()),
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
                value: None,
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
    }
}
