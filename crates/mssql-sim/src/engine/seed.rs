//! Creating a database: the schema files, the catalog and the K2-like sample content.
//!
//! The shape of `[HostServer].[Configuration]` is the project's assumption, not a published
//! schema: `VariableToken nvarchar(256)` (the key, case-insensitive), `VariableValue
//! varbinary(max)` (plain values as UTF-16LE `nvarchar` bytes, encrypted ones as
//! `EncryptByKey` output) and `Encrypted bit`. docs/database.md says what is known.

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

/// Creates database `name` in `dir` with `seed`; returns it opened.
pub fn create(dir: &Path, name: &str, seed: Seed) -> rusqlite::Result<Store> {
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
         CREATE TABLE IF NOT EXISTS HostServer.Configuration (
             VariableToken NVARCHAR(256) NOT NULL COLLATE NOCASE PRIMARY KEY,
             VariableValue VARBINARY NULL,
             Encrypted BIT NOT NULL DEFAULT 0);
         CREATE TABLE IF NOT EXISTS sys.schemas (schema_id INT PRIMARY KEY, name NVARCHAR(128) NOT NULL COLLATE NOCASE);
         CREATE TABLE IF NOT EXISTS sys.tables (object_id INT PRIMARY KEY, schema_id INT NOT NULL, name NVARCHAR(128) NOT NULL COLLATE NOCASE);
         CREATE TABLE IF NOT EXISTS sys.certificates (certificate_id INT PRIMARY KEY, name NVARCHAR(128) NOT NULL COLLATE NOCASE);
         CREATE TABLE IF NOT EXISTS sys.symmetric_keys (
             symmetric_key_id INT PRIMARY KEY, name NVARCHAR(128) NOT NULL COLLATE NOCASE,
             key_guid VARBINARY, key_algorithm NVARCHAR(2), key_length INT,
             k2sim_secret VARBINARY, k2sim_certificate NVARCHAR(128));
         CREATE TABLE IF NOT EXISTS sys.k2sim_master_key (password_sha256 VARBINARY NOT NULL);
         INSERT OR IGNORE INTO sys.schemas VALUES (1, 'dbo'), (4, 'sys'), (5, 'HostServer');
         INSERT OR IGNORE INTO sys.tables VALUES (1001, 5, 'Configuration');
         COMMIT;",
    )?;
    if seed == Seed::K2Sample {
        seed_sample(&main)?;
    }
    drop(main);
    Store::open(dir, name)
}

fn seed_sample(conn: &Connection) -> rusqlite::Result<()> {
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
        let stored = if encrypted {
            keys::encrypt(&key, &plain)
        } else {
            plain
        };
        insert.execute((token, stored, encrypted))?;
    }
    Ok(())
}
