//! The shape of `[HostServer].[Configuration]` as the database really has it.
//!
//! K2 does not publish the table's column types, and public scripts disagree about them
//! (docs/database.md, "Evidence"): `VariableValue` may be `varbinary(max)`, a text type or
//! `sql_variant`; `Encrypted` may be `bit` or an integer. k2cse reads the types from
//! `sys.columns` when it connects and builds every statement for the shape it found
//! ([`super::sql`]); a shape it does not know reads where that is safe and refuses to write.

use std::fmt;

/// The type of `VariableValue`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// `varbinary(max)`: plain values as UTF-16LE (`nvarchar`) bytes, encrypted values as
    /// `EncryptByKey` output.
    Varbinary,
    /// `nvarchar(n|max)`: plain values only (how K2 would keep ciphertext in a text column is
    /// not known, so encrypted rows are not read or written).
    Nvarchar,
    /// `varchar(n|max)`: like `nvarchar`, within the column's code page.
    Varchar,
    /// `sql_variant`: each row keeps its own base type (`nvarchar`, `varchar` or
    /// `varbinary`); encrypted values are `varbinary`.
    SqlVariant,
    /// Any other type (the name as `sys.types` gives it): read as text where SQL Server can
    /// convert it, never written.
    Other(String),
}

/// The type of `Encrypted`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagType {
    /// `bit`.
    Bit,
    /// `tinyint`.
    Tinyint,
    /// `smallint`.
    Smallint,
    /// `int`.
    Int,
    /// Any other type: read through `CONVERT(INT, ...)`, never written.
    Other(String),
}

/// The column types of `[HostServer].[Configuration]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableShape {
    /// `VariableValue`.
    pub value: ValueType,
    /// `VariableValue`'s `max_length` in bytes (`-1` for `max`).
    pub value_max_length: i32,
    /// `Encrypted`.
    pub flag: FlagType,
}

impl TableShape {
    /// The shape k2cse assumed before it read the catalog, and what backups made by those
    /// versions hold: `varbinary(max)` values and a `bit` flag.
    pub fn legacy() -> Self {
        Self {
            value: ValueType::Varbinary,
            value_max_length: -1,
            flag: FlagType::Bit,
        }
    }

    /// From the `sys.types` names and `max_length` of the two columns.
    pub fn from_catalog(value_type: &str, value_max_length: i32, flag_type: &str) -> Self {
        let value = match value_type.to_ascii_lowercase().as_str() {
            "varbinary" => ValueType::Varbinary,
            "nvarchar" => ValueType::Nvarchar,
            "varchar" => ValueType::Varchar,
            "sql_variant" => ValueType::SqlVariant,
            other => ValueType::Other(other.to_owned()),
        };
        let flag = match flag_type.to_ascii_lowercase().as_str() {
            "bit" => FlagType::Bit,
            "tinyint" => FlagType::Tinyint,
            "smallint" => FlagType::Smallint,
            "int" => FlagType::Int,
            other => FlagType::Other(other.to_owned()),
        };
        Self {
            value,
            value_max_length,
            flag,
        }
    }

    /// Why k2cse must not write to this table, naming the column and its type; `None` when
    /// it may (plain values; see [`TableShape::can_hold_ciphertext`] for encrypted ones).
    pub fn write_refusal(&self) -> Option<String> {
        if let ValueType::Other(t) = &self.value {
            return Some(format!(
                "[HostServer].[Configuration].VariableValue is {t}, a type k2cse does not know how K2 stores values in; k2cse reads it but does not write it"
            ));
        }
        if let FlagType::Other(t) = &self.flag {
            return Some(format!(
                "[HostServer].[Configuration].Encrypted is {t}, a type k2cse does not know; k2cse reads it but does not write it"
            ));
        }
        None
    }

    /// Whether encrypted (`EncryptByKey`) values can be stored and read in `VariableValue`.
    pub fn can_hold_ciphertext(&self) -> bool {
        matches!(self.value, ValueType::Varbinary | ValueType::SqlVariant)
    }

    /// Why an encrypted value cannot be read or written in this shape.
    pub fn ciphertext_refusal(&self) -> String {
        format!(
            "[HostServer].[Configuration].VariableValue is {}: k2cse does not know how K2 keeps encrypted values in such a column, so it neither reads nor writes them",
            self.value_type_name()
        )
    }

    /// The largest plain value, in characters, that a write may store (`None`: no limit
    /// below `max`).
    pub fn max_plain_chars(&self) -> Option<usize> {
        let bytes = usize::try_from(self.value_max_length).ok();
        match self.value {
            // sql_variant cannot hold (max) types: its base types are nvarchar(4000) at most.
            ValueType::SqlVariant => Some(4000),
            ValueType::Nvarchar | ValueType::Varbinary => bytes.map(|b| b / 2),
            ValueType::Varchar => bytes,
            ValueType::Other(_) => Some(0),
        }
    }

    /// The first character of `text` a `varchar` column cannot hold under `collation`, if
    /// the column is `varchar`. Collations of code page 1252 (`SQL_Latin1_General_CP1_*`,
    /// `Latin1_General_*`) hold Windows-1252; for others k2cse only trusts ASCII.
    pub fn unstorable_char(&self, collation: &str, text: &str) -> Option<(char, String)> {
        if self.value != ValueType::Varchar {
            return None;
        }
        let upper = collation.to_ascii_uppercase();
        let cp1252 =
            upper.starts_with("SQL_LATIN1_GENERAL_CP1_") || upper.starts_with("LATIN1_GENERAL_");
        let page = if cp1252 {
            "code page 1252"
        } else {
            "an unknown code page (ASCII only)"
        };
        text.chars()
            .find(|&c| {
                let n = u32::from(c);
                let fits = n < 0x80
                    || (cp1252 && ((0xA0..=0xFF).contains(&n) || CP1252_EXTRA.contains(c)));
                !fits
            })
            .map(|c| (c, format!("collation {collation}, {page}")))
    }

    /// `VariableValue`'s type as SQL Server writes it (`nvarchar(max)`, `varbinary(200)`).
    pub fn value_type_name(&self) -> String {
        let base = match &self.value {
            ValueType::Varbinary => "varbinary",
            ValueType::Nvarchar => "nvarchar",
            ValueType::Varchar => "varchar",
            ValueType::SqlVariant => return "sql_variant".into(),
            ValueType::Other(t) => return t.clone(),
        };
        match self.value_max_length {
            -1 => format!("{base}(max)"),
            n if self.value == ValueType::Nvarchar => format!("{base}({})", n / 2),
            n => format!("{base}({n})"),
        }
    }

    /// `Encrypted`'s type name.
    pub fn flag_type_name(&self) -> &str {
        match &self.flag {
            FlagType::Bit => "bit",
            FlagType::Tinyint => "tinyint",
            FlagType::Smallint => "smallint",
            FlagType::Int => "int",
            FlagType::Other(t) => t,
        }
    }
}

/// Characters of Windows-1252 above 0x7F that are not Latin-1's (0x80–0x9F).
const CP1252_EXTRA: &str = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ";

impl fmt::Display for TableShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "VariableValue {}, Encrypted {}",
            self.value_type_name(),
            self.flag_type_name()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_from_the_catalog() {
        let s = TableShape::from_catalog("varbinary", -1, "bit");
        assert_eq!(s, TableShape::legacy());
        assert_eq!(s.to_string(), "VariableValue varbinary(max), Encrypted bit");
        assert!(s.write_refusal().is_none() && s.can_hold_ciphertext());
        let s = TableShape::from_catalog("NVARCHAR", 512, "tinyint");
        assert_eq!(s.value_type_name(), "nvarchar(256)");
        assert_eq!(s.max_plain_chars(), Some(256));
        assert!(!s.can_hold_ciphertext());
        assert!(s.ciphertext_refusal().contains("nvarchar(256)"));
        let s = TableShape::from_catalog("sql_variant", 8016, "int");
        assert_eq!(s.max_plain_chars(), Some(4000));
        assert!(s.can_hold_ciphertext());
        let s = TableShape::from_catalog("xml", -1, "bit");
        let refusal = s.write_refusal().unwrap();
        assert!(refusal.contains("VariableValue is xml"), "{refusal}");
        let s = TableShape::from_catalog("varbinary", -1, "char");
        assert!(s.write_refusal().unwrap().contains("Encrypted is char"));
    }
}
