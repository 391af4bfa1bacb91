//! The same read/write scenario against the simulator (always) and a real SQL Server (opt-in).
//!
//! Opt in with `K2CSE_TEST_MSSQL="Data Source=host,1433;Initial Catalog=k2cse_test;User
//! ID=...;Password=...;TrustServerCertificate=True"` and optionally
//! `K2CSE_TEST_MSSQL_MASTER_KEY_PASSWORD`. The database must be a scratch database whose name
//! starts with `k2cse_test` (the test checks): for each table shape k2cse supports it drops
//! and recreates `[HostServer].[Configuration]` with those column types, creates K2's key
//! objects when missing, and runs the scenario (plain and encrypted writes, a stale write
//! refused, a backup/restore round trip). The simulator runs the same scenario for every
//! shape at compatibility level 110.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use k2cse_core::db::{Credentials, Database, DbError, KeyStatus, Target, TokenWrite};
use k2cse_core::secret::Secret;
use k2cse_mssql_sim::{SAMPLE_MASTER_KEY_PASSWORD, SimConfig, Simulator};

/// Writes plain and encrypted tokens, reads them back, updates them, and checks that a stale
/// expected value is refused.
async fn scenario(connection: &str, master_key_password: Option<&str>, run: &str) {
    let target = Target::from_connection_string(connection).unwrap();
    let credentials = Credentials {
        sql_password: None,
        master_key_password: master_key_password.map(Secret::new),
    };
    let mut db = Database::connect(&target, &credentials).await.unwrap();
    assert_eq!(db.status().keys, KeyStatus::Open, "the key stack must open");
    let plain = format!("[k2cse-test:{run}:plain]");
    let secret = format!("[k2cse-test:{run}:encrypted]");
    let value = "Host Name=smtp.example.com;Port=587;Password='it''s;secret'";
    if !db.status().shape.can_hold_ciphertext() {
        // A text column: plain values only; encrypted writes are refused by name.
        let refused = db
            .write(&[TokenWrite {
                token: secret.clone(),
                expected: None,
                new: value.into(),
                encrypt: true,
            }])
            .await
            .unwrap_err();
        assert!(matches!(refused, DbError::Shape { .. }), "{refused}");
        plain_round_trip(&mut db, &plain, value).await;
        return;
    }
    db.write(&[
        TokenWrite {
            token: plain.clone(),
            expected: None,
            new: value.into(),
            encrypt: false,
        },
        TokenWrite {
            token: secret.clone(),
            expected: None,
            new: value.into(),
            encrypt: true,
        },
    ])
    .await
    .unwrap();
    for name in [&plain, &secret] {
        let token = db.token(name).await.unwrap();
        assert_eq!(token.value.text(), Some(value));
        assert_eq!(token.encrypted, name == &secret);
    }
    let updated = "Host Name=smtp.example.com;Port=25";
    db.write(&[TokenWrite {
        token: secret.clone(),
        expected: Some(value.into()),
        new: updated.into(),
        encrypt: true,
    }])
    .await
    .unwrap();
    assert_eq!(db.token(&secret).await.unwrap().value.text(), Some(updated));
    let stale = db
        .write(&[TokenWrite {
            token: secret.clone(),
            expected: Some(value.into()),
            new: "x=1".into(),
            encrypt: true,
        }])
        .await
        .unwrap_err();
    assert!(matches!(stale, DbError::Conflict(_)), "{stale}");
    assert_eq!(db.token(&secret).await.unwrap().value.text(), Some(updated));
    backup_round_trip(&mut db).await;
}

/// Writes, updates and removes a plain token, then a backup/restore round trip.
async fn plain_round_trip(db: &mut Database, token: &str, value: &str) {
    db.write(&[TokenWrite {
        token: token.into(),
        expected: None,
        new: value.into(),
        encrypt: false,
    }])
    .await
    .unwrap();
    assert_eq!(db.token(token).await.unwrap().value.text(), Some(value));
    backup_round_trip(db).await;
}

/// Rows read as stored, changed, and restored: every value, type and flag comes back.
async fn backup_round_trip(db: &mut Database) {
    let original = db.raw_rows().await.unwrap();
    let changed = original
        .first()
        .expect("the scenario wrote rows")
        .token
        .clone();
    db.write(&[TokenWrite {
        token: format!("{changed}:added"),
        expected: None,
        new: "added".into(),
        encrypt: false,
    }])
    .await
    .unwrap();
    let before = db.raw_rows().await.unwrap();
    db.restore_rows(Some(&before), &original, || Ok(()))
        .await
        .unwrap();
    assert_eq!(db.raw_rows().await.unwrap(), original);
}

/// The table shapes the opt-in suite creates, as SQL Server DDL, with the simulator profile
/// that has the same columns.
const PROFILES: &[(&str, &str, &str)] = &[
    ("VARBINARY(MAX)", "BIT", "varbinary:bit"),
    ("NVARCHAR(MAX)", "BIT", "nvarchar:bit"),
    ("VARCHAR(MAX)", "TINYINT", "varchar:tinyint"),
    ("SQL_VARIANT", "INT", "sql_variant:int"),
];

#[tokio::test(flavor = "multi_thread")]
async fn scenario_against_the_simulator() {
    for &(_, _, profile) in PROFILES {
        let sim = Simulator::start(SimConfig {
            database_options: k2cse_mssql_sim::DatabaseOptions {
                compat_level: 110,
                schema: profile.parse().unwrap(),
                ..Default::default()
            },
            ..SimConfig::default()
        })
        .unwrap();
        scenario(
            &sim.connection_string(),
            Some(SAMPLE_MASTER_KEY_PASSWORD),
            "sim",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scenario_against_a_real_sql_server() {
    let Ok(connection) = std::env::var("K2CSE_TEST_MSSQL") else {
        eprintln!(
            "skipped: set K2CSE_TEST_MSSQL to a scratch database's connection string to run against a real SQL Server (README, \"Testing against a real SQL Server\")"
        );
        return;
    };
    let master = std::env::var("K2CSE_TEST_MSSQL_MASTER_KEY_PASSWORD").ok();
    let run = format!("{}", std::process::id());
    for &(value, flag, _) in PROFILES {
        eprintln!("profile: VariableValue {value}, Encrypted {flag}");
        prepare(&connection, master.as_deref(), value, flag).await;
        scenario(&connection, master.as_deref(), &run).await;
    }
}

async fn raw(
    connection: &str,
) -> tiberius::Client<tokio_util::compat::Compat<tokio::net::TcpStream>> {
    use tokio_util::compat::TokioAsyncWriteCompatExt as _;
    let config = tiberius::Config::from_ado_string(connection).unwrap();
    let tcp = tokio::net::TcpStream::connect(config.get_addr())
        .await
        .unwrap();
    Box::pin(tiberius::Client::connect(config, tcp.compat_write()))
        .await
        .unwrap()
}

/// (Re)creates K2's table with the given column types, and the key objects when missing, in
/// the scratch database — which must be named `k2cse_test...`, so that a real K2 database
/// can never be dropped by mistake.
async fn prepare(connection: &str, master_key_password: Option<&str>, value: &str, flag: &str) {
    let mut client = raw(connection).await;
    let name = client
        .simple_query("SELECT DB_NAME()")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap()
        .get::<&str, _>(0)
        .unwrap()
        .to_owned();
    assert!(
        name.to_ascii_lowercase().starts_with("k2cse_test"),
        "K2CSE_TEST_MSSQL must name a scratch database called k2cse_test...; {name:?} is not"
    );
    // The types come from the PROFILES table above, never from input.
    client
        .simple_query(format!(
            "IF SCHEMA_ID(N'HostServer') IS NULL EXEC (N'CREATE SCHEMA HostServer'); \
             IF OBJECT_ID(N'HostServer.Configuration') IS NOT NULL DROP TABLE HostServer.Configuration; \
             CREATE TABLE HostServer.Configuration (VariableToken NVARCHAR(256) NOT NULL PRIMARY KEY, VariableValue {value} NULL, Encrypted {flag} NOT NULL DEFAULT 0);"
        ))
        .await
        .unwrap()
        .into_results()
        .await
        .unwrap();
    if let Some(password) = master_key_password {
        client
            .execute(
                "IF NOT EXISTS (SELECT 1 FROM sys.symmetric_keys WHERE name = N'##MS_DatabaseMasterKey##') \
                 BEGIN DECLARE @create NVARCHAR(MAX) = N'CREATE MASTER KEY ENCRYPTION BY PASSWORD = N''' + REPLACE(@P1, N'''', N'''''') + N''''; EXEC (@create); END",
                &[&password],
            )
            .await
            .unwrap();
        client
            .execute(k2cse_core::db::sql::OPEN_MASTER_KEY, &[&password])
            .await
            .unwrap();
    }
    client
        .simple_query(
            "IF NOT EXISTS (SELECT 1 FROM sys.certificates WHERE name = N'SCHostServerCert') CREATE CERTIFICATE SCHostServerCert WITH SUBJECT = N'k2cse test'; \
             IF NOT EXISTS (SELECT 1 FROM sys.symmetric_keys WHERE name = N'SCSSOKey') CREATE SYMMETRIC KEY SCSSOKey WITH ALGORITHM = AES_256 ENCRYPTION BY CERTIFICATE SCHostServerCert;",
        )
        .await
        .unwrap()
        .into_results()
        .await
        .unwrap();
}
