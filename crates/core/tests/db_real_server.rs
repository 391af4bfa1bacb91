//! The same read/write scenario against the simulator (always) and a real SQL Server (opt-in).
//!
//! Opt in with `K2CSE_TEST_MSSQL="Data Source=host,1433;Initial Catalog=k2cse_test;User
//! ID=...;Password=...;TrustServerCertificate=True"` and optionally
//! `K2CSE_TEST_MSSQL_MASTER_KEY_PASSWORD`. The database must be a scratch database: the test
//! creates `[HostServer].[Configuration]` and K2's key objects there when missing, writes
//! tokens named `[k2cse-test:...]` and deletes them afterwards. Never point it at a real K2
//! database.
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
}

#[tokio::test]
async fn scenario_against_the_simulator() {
    let sim = Simulator::start(SimConfig::default()).unwrap();
    scenario(
        &sim.connection_string(),
        Some(SAMPLE_MASTER_KEY_PASSWORD),
        "sim",
    )
    .await;
}

#[tokio::test]
async fn scenario_against_a_real_sql_server() {
    let Ok(connection) = std::env::var("K2CSE_TEST_MSSQL") else {
        eprintln!(
            "skipped: set K2CSE_TEST_MSSQL to a scratch database's connection string to run against a real SQL Server (README, \"Testing against a real SQL Server\")"
        );
        return;
    };
    let master = std::env::var("K2CSE_TEST_MSSQL_MASTER_KEY_PASSWORD").ok();
    let run = format!("{}", std::process::id());
    prepare(&connection, master.as_deref()).await;
    scenario(&connection, master.as_deref(), &run).await;
    cleanup(&connection, &run).await;
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

/// Creates K2's table and key objects in the scratch database when missing.
async fn prepare(connection: &str, master_key_password: Option<&str>) {
    let mut client = raw(connection).await;
    client
        .simple_query(
            "IF SCHEMA_ID(N'HostServer') IS NULL EXEC (N'CREATE SCHEMA HostServer'); \
             IF OBJECT_ID(N'HostServer.Configuration') IS NULL CREATE TABLE HostServer.Configuration (VariableToken NVARCHAR(256) NOT NULL PRIMARY KEY, VariableValue VARBINARY(MAX) NULL, Encrypted BIT NOT NULL DEFAULT 0);",
        )
        .await
        .unwrap()
        .into_results()
        .await
        .unwrap();
    if let Some(password) = master_key_password {
        client
            .execute(
                "IF NOT EXISTS (SELECT 1 FROM sys.symmetric_keys WHERE name = N'##MS_DatabaseMasterKey##') EXEC (N'CREATE MASTER KEY ENCRYPTION BY PASSWORD = N''' + REPLACE(@P1, N'''', N'''''') + N'''')",
                &[&password],
            )
            .await
            .unwrap();
        client
            .execute(
                "EXEC (N'OPEN MASTER KEY DECRYPTION BY PASSWORD = N''' + REPLACE(@P1, N'''', N'''''') + N'''')",
                &[&password],
            )
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

async fn cleanup(connection: &str, run: &str) {
    let mut client = raw(connection).await;
    let pattern = format!("[[]k2cse-test:{run}:%");
    client
        .execute(
            "DELETE FROM HostServer.Configuration WHERE VariableToken LIKE @P1",
            &[&pattern],
        )
        .await
        .unwrap();
}
