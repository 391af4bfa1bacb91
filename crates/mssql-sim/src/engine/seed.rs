//! Creating a database: the schema files, the catalog and the K2-like sample content.
//!
//! The column types of `[HostServer].[Configuration]` are not published (docs/database.md,
//! "Evidence"), so the simulator offers each shape k2cse must handle ([`SchemaProfile`]):
//! `VariableValue` as `varbinary(max)`, `nvarchar(max)`, `varchar(max)` or `sql_variant`,
//! `Encrypted` as `bit`, `tinyint` or `int`. Every column keeps to its type as SQL Server
//! does: a value of the wrong kind is refused (Msg 257), never converted implicitly. The
//! catalog (`sys.columns`, `sys.types`, `sys.databases`) describes what was created.

use std::path::Path;

use rand::Rng as _;
use rusqlite::Connection;

use super::Store;
use super::keys::{self, SymmetricKey};

/// What to put in a new database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Seed {
    /// A K2 database matching k2cse's bundled sample config: tokens for its connection strings
    /// (some encrypted, some different from the file, some under non-default names), the
    /// master key, `SCHostServerCert` and `SCSSOKey`.
    #[default]
    K2Sample,
    /// The `[HostServer].[Configuration]` table with no rows and no key objects.
    Empty,
}

impl std::str::FromStr for Seed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "k2-sample" => Ok(Self::K2Sample),
            "empty" => Ok(Self::Empty),
            other => Err(format!(
                "unknown seed {other:?} (expected k2-sample or empty)"
            )),
        }
    }
}

/// The column types of `[HostServer].[Configuration]`: `VALUE[:FLAG]`, e.g. `nvarchar:tinyint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaProfile {
    /// `VariableValue`'s type.
    pub value: ValueColumn,
    /// `Encrypted`'s type.
    pub flag: FlagColumn,
}

/// `VariableValue`'s type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueColumn {
    /// `varbinary(max)`.
    Varbinary,
    /// `nvarchar(max)`.
    Nvarchar,
    /// `varchar(max)`.
    Varchar,
    /// `sql_variant`.
    SqlVariant,
}

/// `Encrypted`'s type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagColumn {
    /// `bit`.
    Bit,
    /// `tinyint`.
    Tinyint,
    /// `int`.
    Int,
}

impl Default for SchemaProfile {
    fn default() -> Self {
        Self {
            value: ValueColumn::Varbinary,
            flag: FlagColumn::Bit,
        }
    }
}

impl std::str::FromStr for SchemaProfile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (value, flag) = s.split_once(':').unwrap_or((s, "bit"));
        let value = match value.to_ascii_lowercase().as_str() {
            "varbinary" => ValueColumn::Varbinary,
            "nvarchar" => ValueColumn::Nvarchar,
            "varchar" => ValueColumn::Varchar,
            "sql_variant" => ValueColumn::SqlVariant,
            other => {
                return Err(format!(
                    "unknown value type {other:?} (expected varbinary, nvarchar, varchar or sql_variant)"
                ));
            }
        };
        let flag = match flag.to_ascii_lowercase().as_str() {
            "bit" => FlagColumn::Bit,
            "tinyint" => FlagColumn::Tinyint,
            "int" => FlagColumn::Int,
            other => {
                return Err(format!(
                    "unknown flag type {other:?} (expected bit, tinyint or int)"
                ));
            }
        };
        Ok(Self { value, flag })
    }
}

impl SchemaProfile {
    /// `(SQLite declaration, CHECK, sys.types name, system_type_id, max_length)` of `VariableValue`.
    fn value_column(self) -> (&'static str, &'static str, &'static str, i64, i64) {
        match self.value {
            ValueColumn::Varbinary => (
                "VARBINARY",
                "typeof(VariableValue) = 'blob'",
                "varbinary(max)",
                165,
                -1,
            ),
            ValueColumn::Nvarchar => (
                "NVARCHAR",
                "typeof(VariableValue) = 'text'",
                "nvarchar(max)",
                231,
                -1,
            ),
            ValueColumn::Varchar => (
                "VARCHAR",
                "typeof(VariableValue) = 'text'",
                "varchar(max)",
                167,
                -1,
            ),
            // sql_variant holds no (max) type: longer values stand for an nvarchar(max) or
            // varbinary(max) operand, which SQL Server refuses (Msg 206).
            ValueColumn::SqlVariant => (
                "SQL_VARIANT",
                "typeof(VariableValue) IN ('text', 'blob', 'integer', 'real')) CONSTRAINT \"k2sim_variant\" CHECK ((typeof(VariableValue) <> 'text' OR length(VariableValue) <= 4000) AND (typeof(VariableValue) <> 'blob' OR length(VariableValue) <= 8000)",
                "sql_variant",
                98,
                8016,
            ),
        }
    }

    /// `(SQLite declaration with its CHECK, system_type_id, max_length)` of `Encrypted`.
    fn flag_column(self) -> (&'static str, i64, i64) {
        match self.flag {
            FlagColumn::Bit => ("BIT NOT NULL DEFAULT 0 CHECK (Encrypted IN (0, 1))", 104, 1),
            FlagColumn::Tinyint => (
                "TINYINT NOT NULL DEFAULT 0 CHECK (Encrypted BETWEEN 0 AND 255)",
                48,
                1,
            ),
            FlagColumn::Int => ("INT NOT NULL DEFAULT 0", 56, 4),
        }
    }
}

/// How a new database is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseOptions {
    /// Compatibility level (100 ... 160).
    pub compat_level: u16,
    /// Column types of `[HostServer].[Configuration]`.
    pub schema: SchemaProfile,
    /// Default collation.
    pub collation: String,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self {
            compat_level: 150,
            schema: SchemaProfile::default(),
            collation: "SQL_Latin1_General_CP1_CI_AS".into(),
        }
    }
}

/// The master key password of the `k2-sample` database (a demo value, printed by the simulator).
pub const SAMPLE_MASTER_KEY_PASSWORD: &str = "K2sample!MasterKey";

/// `(token, value, encrypted)` rows of the sample database.
pub const SAMPLE_TOKENS: &[(&str, &str, bool)] = &[
    ("[USESQLENCRYPTION]", "true", false),
    ("[K2SERVER]", "K2SERVER01", false),
    (
        "[SMARTFORMSRUNTIMEURL]",
        "https://k2.denallix.com/Runtime",
        false,
    ),
    (
        "[ConnectionString:HostserverDB]",
        "Data Source=SQL01\\K2;Initial Catalog=K2;Integrated Security=True;Pooling=True;Max Pool Size=200",
        true,
    ),
    // Under a name the default mapping does not use: `db discover` finds it by value.
    (
        "[K2HostServerConnectionString]",
        "Integrated=True;IsPrimaryLogin=True;Authenticate=True;EncryptedPassword=False;Host=localhost;Port=5555",
        true,
    ),
    // Drifted: the database still has the pre-OAuth basic-auth value.
    (
        "[ConnectionString:SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:k2service@denallix.com]",
        "Autodiscover=True;User ID=k2service@denallix.com;Password=Old-Basic-Auth-1",
        true,
    ),
    // Same settings as the file, spelled differently: not drift.
    (
        "[ConnectionString:SourceCode.MessageBus.Ews.ExchangeWebServicesDestination:k2service@denallix.com]",
        "autodiscover=False; url=https://outlook.office365.com/EWS/Exchange.asmx; OAuth Resource=EWS; OAuth Resource Audience=https://outlook.office365.com; User ID=k2service@denallix.com",
        true,
    ),
    (
        "[ConnectionString:SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:smartactions@denallix.com]",
        "Autodiscover=False;URL=https://mail.denallix.com/EWS/Exchange.asmx;User ID=DENALLIX\\k2smartactions;Password=\"P@ss;w0rd\";Poll Interval=1M",
        true,
    ),
    // Drifted and not encrypted.
    (
        "[ConnectionString:SourceCode.Net.Mail.SmtpConnection]",
        "Host Name=smtp.denallix.com;Port=25;TLS=None;Authentication=Anonymous",
        false,
    ),
];

/// Creates database `name` in `dir` with `seed` (an existing one is reopened as it is);
/// returns it opened.
pub fn create(
    dir: &Path,
    name: &str,
    seed: Seed,
    options: &DatabaseOptions,
) -> rusqlite::Result<Store> {
    let main = Connection::open(Store::schema_file(dir, name, "dbo"))?;
    main.execute_batch("CREATE TABLE IF NOT EXISTS k2sim_schemas (name TEXT PRIMARY KEY); INSERT OR IGNORE INTO k2sim_schemas VALUES ('HostServer'), ('sys');")?;
    for schema in ["HostServer", "sys"] {
        let file = Store::schema_file(dir, name, schema);
        main.execute(
            "ATTACH DATABASE ?1 AS ?2",
            (file.to_string_lossy().as_ref(), schema),
        )?;
    }
    main.execute_batch(
        "BEGIN;
         CREATE TABLE IF NOT EXISTS sys.schemas (schema_id INT PRIMARY KEY, name NVARCHAR(128) NOT NULL COLLATE NOCASE);
         CREATE TABLE IF NOT EXISTS sys.tables (object_id INT PRIMARY KEY, schema_id INT NOT NULL, name NVARCHAR(128) NOT NULL COLLATE NOCASE);
         CREATE TABLE IF NOT EXISTS sys.columns (object_id INT NOT NULL, name NVARCHAR(128) NOT NULL COLLATE NOCASE, column_id INT NOT NULL, system_type_id INT NOT NULL, user_type_id INT NOT NULL, max_length INT NOT NULL, collation_name NVARCHAR(128), PRIMARY KEY (object_id, column_id));
         CREATE TABLE IF NOT EXISTS sys.types (name NVARCHAR(128) NOT NULL, system_type_id INT NOT NULL, user_type_id INT PRIMARY KEY, max_length INT NOT NULL);
         CREATE TABLE IF NOT EXISTS sys.databases (database_id INT PRIMARY KEY, name NVARCHAR(128) NOT NULL COLLATE NOCASE, compatibility_level INT NOT NULL, collation_name NVARCHAR(128) NOT NULL);
         CREATE TABLE IF NOT EXISTS sys.certificates (certificate_id INT PRIMARY KEY, name NVARCHAR(128) NOT NULL COLLATE NOCASE);
         CREATE TABLE IF NOT EXISTS sys.symmetric_keys (
             symmetric_key_id INT PRIMARY KEY, name NVARCHAR(128) NOT NULL COLLATE NOCASE,
             key_guid VARBINARY, key_algorithm NVARCHAR(2), key_length INT,
             k2sim_secret VARBINARY, k2sim_certificate NVARCHAR(128));
         CREATE TABLE IF NOT EXISTS sys.k2sim_master_key (password_sha256 VARBINARY NOT NULL);
         INSERT OR IGNORE INTO sys.schemas VALUES (1, 'dbo'), (4, 'sys'), (5, 'HostServer');
         INSERT OR IGNORE INTO sys.tables VALUES (1001, 5, 'Configuration');
         INSERT OR IGNORE INTO sys.types VALUES ('varbinary', 165, 165, 8000), ('nvarchar', 231, 231, 8000),
             ('varchar', 167, 167, 8000), ('sql_variant', 98, 98, 8016), ('bit', 104, 104, 1),
             ('tinyint', 48, 48, 1), ('smallint', 52, 52, 2), ('int', 56, 56, 4), ('sysname', 231, 256, 256);
         COMMIT;",
    )?;
    main.execute(
        "INSERT OR IGNORE INTO sys.databases VALUES (5, ?1, ?2, ?3)",
        (
            name,
            i64::from(options.compat_level),
            options.collation.as_str(),
        ),
    )?;
    let (compat_level, collation): (i64, String) = main.query_row(
        "SELECT compatibility_level, collation_name FROM sys.databases WHERE name = ?1",
        [name],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    super::register_functions(&main, name, &collation, compat_level)?;
    let exists: i64 = main.query_row(
        "SELECT COUNT(*) FROM HostServer.sqlite_master WHERE name = 'Configuration'",
        [],
        |r| r.get(0),
    )?;
    if exists == 0 {
        create_table(&main, options.schema)?;
    }
    if seed == Seed::K2Sample {
        seed_sample(&main, options.schema)?;
    }
    drop(main);
    Store::open(dir, name)
}

fn create_table(conn: &Connection, schema: SchemaProfile) -> rusqlite::Result<()> {
    let (value_decl, value_check, value_type, value_type_id, value_length) = schema.value_column();
    let (flag_decl, flag_type_id, flag_length) = schema.flag_column();
    conn.execute_batch(&format!(
        "BEGIN;
         CREATE TABLE HostServer.Configuration (
             VariableToken NVARCHAR(256) NOT NULL COLLATE k2sim_default PRIMARY KEY,
             VariableValue {value_decl} NULL CONSTRAINT \"k2sim_type:{value_type}\" CHECK (VariableValue IS NULL OR {value_check}),
             Encrypted {flag_decl});
         INSERT INTO sys.columns VALUES (1001, 'VariableToken', 1, 231, 231, 512, NULL),
             (1001, 'VariableValue', 2, {value_type_id}, {value_type_id}, {value_length}, NULL),
             (1001, 'Encrypted', 3, {flag_type_id}, {flag_type_id}, {flag_length}, NULL);
         COMMIT;"
    ))?;
    if schema.value == ValueColumn::Varchar {
        // A varchar column keeps only its code page's characters (others become '?').
        for (event, name) in [
            ("INSERT", "k2sim_codepage_insert"),
            ("UPDATE OF VariableValue", "k2sim_codepage_update"),
        ] {
            conn.execute_batch(&format!(
                "CREATE TRIGGER HostServer.{name} AFTER {event} ON Configuration WHEN typeof(NEW.VariableValue) = 'text' \
                 BEGIN UPDATE Configuration SET VariableValue = k2sim_codepage(NEW.VariableValue) WHERE rowid = NEW.rowid; END;"
            ))?;
        }
    }
    Ok(())
}

fn seed_sample(conn: &Connection, schema: SchemaProfile) -> rusqlite::Result<()> {
    let already: i64 =
        conn.query_row("SELECT COUNT(*) FROM HostServer.Configuration", [], |r| {
            r.get(0)
        })?;
    if already > 0 {
        return Ok(());
    }
    let mut rng = rand::rng();
    let mut guid = [0u8; 16];
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut guid);
    rng.fill_bytes(&mut secret);
    let key = SymmetricKey {
        name: "SCSSOKey".into(),
        guid,
        secret,
        certificate: "SCHostServerCert".into(),
    };
    let mut master_guid = [0u8; 16];
    rng.fill_bytes(&mut master_guid);
    conn.execute(
        "INSERT INTO sys.k2sim_master_key VALUES (?1)",
        [keys::password_hash(SAMPLE_MASTER_KEY_PASSWORD).to_vec()],
    )?;
    conn.execute(
        "INSERT INTO sys.certificates VALUES (256, 'SCHostServerCert')",
        [],
    )?;
    conn.execute("INSERT INTO sys.symmetric_keys VALUES (101, '##MS_DatabaseMasterKey##', ?1, 'A3', 256, NULL, NULL)", [master_guid.to_vec()])?;
    conn.execute("INSERT INTO sys.symmetric_keys VALUES (256, 'SCSSOKey', ?1, 'A3', 256, ?2, 'SCHostServerCert')", (guid.to_vec(), secret.to_vec()))?;
    let mut insert = conn.prepare("INSERT INTO HostServer.Configuration VALUES (?1, ?2, ?3)")?;
    for &(token, value, encrypted) in SAMPLE_TOKENS {
        let plain: Vec<u8> = value.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let stored = match (schema.value, encrypted) {
            (ValueColumn::Varbinary | ValueColumn::SqlVariant, true) => {
                super::Value::Bytes(keys::encrypt(&key, &plain))
            }
            // How K2 would keep ciphertext in a text column is unknown; the simulator writes
            // it as hex text, which k2cse must back up and restore without reading it.
            (ValueColumn::Nvarchar | ValueColumn::Varchar, true) => {
                super::Value::Text(format!("0x{}", hex(&keys::encrypt(&key, &plain))))
            }
            (ValueColumn::Varbinary, false) => super::Value::Bytes(plain),
            // One plain sql_variant row keeps varbinary as its base type, as the column allows.
            (ValueColumn::SqlVariant, false) if token == "[K2SERVER]" => super::Value::Bytes(plain),
            (_, false) => super::Value::Text(value.to_owned()),
        };
        insert.execute((token, stored, encrypted))?;
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}
