//! The database half over every table shape k2cse must handle and the compatibility levels
//! that matter (110: SQL Server 2012, no OPENJSON; 130: 2016; 160: 2022), on the strict
//! simulator: reads, pushes (plain and encrypted), backups and restores that keep every
//! value, base type and flag, and refusals that name the column and its type.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use k2cse_core::db::{
    Database, DbError, FlagType, KeyStatus, RawRow, StoredValue, TableShape, Target, TokenValue,
    TokenWrite, ValueType,
};
mod common;
use common::{credentials, open};
use k2cse_mssql_sim::{DatabaseOptions, SAMPLE_TOKENS, SimConfig, Simulator};

const PROFILES: &[&str] = &[
    "varbinary:bit",
    "nvarchar:bit",
    "varchar:tinyint",
    "sql_variant:int",
];
const LEVELS: &[u16] = &[110, 130, 160];

fn start(profile: &str, level: u16) -> Simulator {
    Simulator::start(SimConfig {
        database_options: DatabaseOptions {
            compat_level: level,
            schema: profile.parse().unwrap(),
            ..DatabaseOptions::default()
        },
        ..SimConfig::default()
    })
    .unwrap()
}

fn expected_shape(profile: &str) -> (ValueType, FlagType) {
    let (value, flag) = profile.split_once(':').unwrap();
    let shape = TableShape::from_catalog(value, -1, flag);
    (shape.value, shape.flag)
}

async fn text(db: &mut Database, token: &str) -> TokenValue {
    db.token(token).await.unwrap().value
}

#[tokio::test(flavor = "multi_thread")]
async fn status_names_the_level_the_collation_and_the_shape() {
    for profile in PROFILES {
        for &level in LEVELS {
            let sim = start(profile, level);
            let db = open(&sim).await;
            let status = db.status();
            assert_eq!(status.compatibility_level, Some(i32::from(level)));
            assert_eq!(status.collation, "SQL_Latin1_General_CP1_CI_AS");
            assert!(!status.product_version.is_empty());
            let (value, flag) = expected_shape(profile);
            assert_eq!(
                (status.shape.value.clone(), status.shape.flag.clone()),
                (value, flag)
            );
            assert_eq!(status.keys, KeyStatus::Open, "{profile} at {level}");
        }
    }
}

/// Plain values read as text in every shape; encrypted ones wherever ciphertext can be
/// kept, and never as a wrong value where it cannot.
#[tokio::test(flavor = "multi_thread")]
async fn reads_in_every_shape_and_level() {
    for profile in PROFILES {
        for &level in LEVELS {
            let sim = start(profile, level);
            let mut db = open(&sim).await;
            let ciphertext = db.status().shape.can_hold_ciphertext();
            let tokens = db.tokens().await.unwrap();
            assert_eq!(tokens.len(), SAMPLE_TOKENS.len());
            for &(name, value, encrypted) in SAMPLE_TOKENS {
                let read = text(&mut db, name).await;
                let token = tokens.iter().find(|t| t.name == name).unwrap();
                assert_eq!(token.encrypted, encrypted, "{profile} {name}");
                if !encrypted || ciphertext {
                    assert_eq!(read.text(), Some(value), "{profile} at {level}: {name}");
                } else {
                    assert_eq!(read, TokenValue::Unreadable, "{profile}: {name}");
                }
                assert_eq!(token.value, read);
            }
        }
    }
}

/// A push of many tokens (updates and inserts, more than one chunk of parameters) at every
/// level, including 110 where OPENJSON does not exist.
#[tokio::test(flavor = "multi_thread")]
async fn pushes_in_every_shape_and_level() {
    for profile in PROFILES {
        for &level in LEVELS {
            let sim = start(profile, level);
            let mut db = open(&sim).await;
            let mut writes = vec![TokenWrite {
                token: "[K2SERVER]".into(),
                expected: Some("K2SERVER01".into()),
                new: "K2 Server 'two' – ünïcode".into(),
                encrypt: false,
            }];
            // 700 new tokens: 1,400 parameters, more than one VALUES chunk of inserts.
            writes.extend((0..700).map(|i| TokenWrite {
                token: format!("[NEW{i}]"),
                expected: None,
                new: format!("value {i}"),
                encrypt: false,
            }));
            db.write(&writes).await.unwrap();
            // (A varchar column of a CP1252 collation keeps these characters too.)
            assert_eq!(
                text(&mut db, "[K2SERVER]").await.text(),
                Some("K2 Server 'two' – ünïcode")
            );
            // Characters a varchar column's code page cannot hold are refused up front.
            let cyrillic = db
                .write(&[TokenWrite {
                    token: "[K2SERVER]".into(),
                    expected: Some("K2 Server 'two' – ünïcode".into()),
                    new: "пароль".into(),
                    encrypt: false,
                }])
                .await;
            if profile.starts_with("varchar") {
                let err = cyrillic.unwrap_err().to_string();
                assert!(
                    err.contains("code page 1252") && err.contains("'п'"),
                    "{err}"
                );
            } else {
                cyrillic.unwrap();
            }
            assert_eq!(text(&mut db, "[new699]").await.text(), Some("value 699"));
            assert_eq!(db.tokens().await.unwrap().len(), SAMPLE_TOKENS.len() + 700);

            // Encrypted writes where ciphertext can be kept; a named refusal where not.
            let encrypted = TokenWrite {
                token: "[ConnectionString:SourceCode.Net.Mail.SmtpConnection]".into(),
                expected: Some(
                    "Host Name=smtp.denallix.com;Port=25;TLS=None;Authentication=Anonymous".into(),
                ),
                new: "Host Name=smtp.office365.com;Port=587".into(),
                encrypt: false,
            };
            db.write(std::slice::from_ref(&encrypted)).await.unwrap();
            let added = TokenWrite {
                token: "[SECRET]".into(),
                expected: None,
                new: "p@ss".into(),
                encrypt: true,
            };
            match db.write(std::slice::from_ref(&added)).await {
                Ok(()) => {
                    assert!(db.status().shape.can_hold_ciphertext(), "{profile}");
                    let token = db.token("[SECRET]").await.unwrap();
                    assert!(token.encrypted);
                    assert_eq!(token.value.text(), Some("p@ss"));
                }
                Err(DbError::Shape { message }) => {
                    assert!(!db.status().shape.can_hold_ciphertext(), "{profile}");
                    assert!(message.contains("VariableValue is"), "{message}");
                }
                Err(other) => panic!("{profile} at {level}: {other}"),
            }
        }
    }
}

/// Back up, change everything (a value, a flag, a new row, a removed row), restore: every
/// value comes back with its type (`sql_variant` base types included) and flag; the rows that
/// did not change are not written.
#[tokio::test(flavor = "multi_thread")]
async fn backup_and_restore_keep_every_value_and_flag() {
    for profile in PROFILES {
        for &level in LEVELS {
            let sim = start(profile, level);
            let mut db = open(&sim).await;
            let original = db.raw_rows().await.unwrap();
            assert_eq!(original.len(), SAMPLE_TOKENS.len());
            assert!(
                original.iter().all(|r| r.value != StoredValue::Null),
                "{profile}"
            );
            if profile.starts_with("sql_variant") {
                // Base types are kept per row: one plain row is varbinary.
                let k2server = original.iter().find(|r| r.token == "[K2SERVER]").unwrap();
                assert!(matches!(k2server.value, StoredValue::Binary(_)));
                let flag = original
                    .iter()
                    .find(|r| r.token == "[USESQLENCRYPTION]")
                    .unwrap();
                assert!(matches!(flag.value, StoredValue::Nvarchar(_)));
            }
            common::break_rows(&mut db, false).await;
            let before = db.raw_rows().await.unwrap();
            let statements_before = sim.counters().statements;
            db.restore_rows(Some(&before), &original, || Ok(()))
                .await
                .unwrap();
            let after = db.raw_rows().await.unwrap();
            assert_eq!(after, original, "{profile} at {level}");
            // Locked read, one DELETE, one UPDATE, read-back: unchanged rows are not sent.
            let statements = sim.counters().statements - statements_before;
            assert!(statements <= 5, "{profile}: {statements} statements");
            assert_eq!(text(&mut db, "[K2SERVER]").await.text(), Some("K2SERVER01"));
        }
    }
}

/// A backup whose rows would change type in this table is refused before anything is sent;
/// so is a backup row that this shape cannot store.
#[tokio::test(flavor = "multi_thread")]
async fn a_restore_never_changes_how_values_are_stored() {
    let sim = start("nvarchar:bit", 110);
    let mut db = open(&sim).await;
    let original = db.raw_rows().await.unwrap();
    let mut foreign: Vec<RawRow> = original.clone();
    foreign[0].value = StoredValue::Binary(vec![1, 2, 3]);
    let statements = sim.counters().statements;
    let err = db
        .restore_rows(None, &foreign, || Ok(()))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("was backed up as varbinary"), "{err}");
    assert!(err.contains("nvarchar(max)"), "{err}");
    assert_eq!(sim.counters().statements, statements, "nothing was sent");
    assert_eq!(db.raw_rows().await.unwrap(), original);
}

/// A login that may read the table but not open the key is told so (15151), not that the
/// key is missing.
#[tokio::test(flavor = "multi_thread")]
async fn a_login_without_permission_on_the_key_is_told_so() {
    let sim = Simulator::start(SimConfig {
        login_without_key_permission: Some(("k2reader".into(), "Reader!Pass1".into())),
        ..SimConfig::default()
    })
    .unwrap();
    let target = Target::from_connection_string(&format!(
        "Data Source=127.0.0.1,{};Initial Catalog=K2;User ID=k2reader;Password=Reader!Pass1;TrustServerCertificate=True",
        sim.port()
    ))
    .unwrap();
    let mut db = Database::connect(&target, &credentials()).await.unwrap();
    let keys = db.status().keys.clone();
    assert!(matches!(keys, KeyStatus::NoPermission { .. }), "{keys:?}");
    let message = keys.to_string();
    assert!(
        message.contains("no permission") && message.contains("15151"),
        "{message}"
    );
    let err = db
        .write(&[TokenWrite {
            token: "[ConnectionString:HostserverDB]".into(),
            expected: Some("x".into()),
            new: "y".into(),
            encrypt: false,
        }])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no permission"), "{err}");
}

/// A value k2cse cannot read back exactly (here a `sql_variant` row whose base type is int)
/// makes the backup refuse, naming the token, rather than hold something else.
#[tokio::test(flavor = "multi_thread")]
async fn a_value_that_cannot_be_read_back_exactly_is_never_backed_up() {
    use tiberius::{AuthMethod, Client, Config};
    use tokio_util::compat::TokioAsyncWriteCompatExt as _;
    let sim = start("sql_variant:int", 130);
    let mut config = Config::new();
    config.host("127.0.0.1");
    config.port(sim.port());
    config.authentication(AuthMethod::sql_server("sa", sim.sa_password()));
    config.trust_cert();
    let tcp = tokio::net::TcpStream::connect(config.get_addr())
        .await
        .unwrap();
    let mut client = Box::pin(Client::connect(config, tcp.compat_write()))
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO [HostServer].[Configuration] (VariableToken, VariableValue, Encrypted) VALUES (N'[NUMBER]', CONVERT(SQL_VARIANT, 42), 0)",
            &[],
        )
        .await
        .unwrap();
    let mut db = open(&sim).await;
    let err = db.raw_rows().await.unwrap_err().to_string();
    assert!(err.contains("[NUMBER]") && err.contains("int"), "{err}");
}

/// `EncryptByKey`'s result is at most 8,000 bytes (the simulator answers NULL beyond, as a
/// longer result cannot exist): k2cse refuses such a value before sending it.
#[tokio::test(flavor = "multi_thread")]
async fn values_too_long_to_encrypt_are_refused_up_front() {
    let sim = start("varbinary:bit", 160);
    let mut db = open(&sim).await;
    let statements = sim.counters().statements;
    let err = db
        .write(&[TokenWrite {
            token: "[LONG]".into(),
            expected: None,
            new: "x".repeat(4_500),
            encrypt: true,
        }])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("EncryptByKey"), "{err}");
    assert_eq!(sim.counters().statements, statements, "nothing was sent");
    db.write(&[TokenWrite {
        token: "[LONG]".into(),
        expected: None,
        new: "x".repeat(3_900),
        encrypt: true,
    }])
    .await
    .unwrap();
    assert_eq!(
        db.token("[LONG]").await.unwrap().value.text().map(str::len),
        Some(3_900)
    );
}
