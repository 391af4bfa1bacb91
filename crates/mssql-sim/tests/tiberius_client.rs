//! The simulator as tiberius sees it: handshake variants, logins, queries, parameters,
//! transactions, the K2 key stack and fault injection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use k2cse_mssql_sim::{Faults, SAMPLE_MASTER_KEY_PASSWORD, ServerEncryption, SimConfig, Simulator};
use tiberius::{AuthMethod, Client, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt as _};

type Conn = Client<Compat<TcpStream>>;

fn config(sim: &Simulator, encryption: EncryptionLevel, password: &str) -> Config {
    let mut config = Config::new();
    config.host("127.0.0.1");
    config.port(sim.port());
    config.database("K2");
    config.authentication(AuthMethod::sql_server("sa", password));
    config.encryption(encryption);
    config.trust_cert();
    config
}

async fn connect_with(
    sim: &Simulator,
    encryption: EncryptionLevel,
    password: &str,
) -> tiberius::Result<Conn> {
    let config = config(sim, encryption, password);
    let tcp = TcpStream::connect(config.get_addr()).await?;
    tcp.set_nodelay(true)?;
    Box::pin(Client::connect(config, tcp.compat_write())).await
}

async fn connect(sim: &Simulator) -> Conn {
    connect_with(sim, EncryptionLevel::Required, sim.sa_password())
        .await
        .unwrap()
}

fn start(encryption: ServerEncryption) -> Simulator {
    Simulator::start(SimConfig {
        encryption,
        ..SimConfig::default()
    })
    .unwrap()
}

async fn open_keys(client: &mut Conn) {
    client
        .execute(
            "DECLARE @open NVARCHAR(MAX) = N'OPEN MASTER KEY DECRYPTION BY PASSWORD = N''' + REPLACE(@P1, N'''', N'''''') + N''''; EXEC (@open); OPEN SYMMETRIC KEY SCSSOKey DECRYPTION BY CERTIFICATE SCHostServerCert",
            &[&SAMPLE_MASTER_KEY_PASSWORD],
        )
        .await
        .unwrap();
}

async fn token(client: &mut Conn, name: &str) -> Option<String> {
    let row = client
        .query(
            "SELECT CASE WHEN Encrypted = 1 THEN CONVERT(NVARCHAR(MAX), DecryptByKey(VariableValue)) ELSE CONVERT(NVARCHAR(MAX), VariableValue) END AS v FROM [HostServer].[Configuration] WHERE VariableToken = @P1",
            &[&name],
        )
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    row.get::<&str, _>(0).map(str::to_owned)
}

#[tokio::test]
async fn every_encryption_combination_connects_or_fails_like_sql_server() {
    for (server, client, works) in [
        (ServerEncryption::Optional, EncryptionLevel::Required, true),
        (ServerEncryption::Optional, EncryptionLevel::On, true),
        (ServerEncryption::Optional, EncryptionLevel::Off, true),
        (
            ServerEncryption::Optional,
            EncryptionLevel::NotSupported,
            true,
        ),
        (ServerEncryption::Forced, EncryptionLevel::Off, true),
        (
            ServerEncryption::Forced,
            EncryptionLevel::NotSupported,
            false,
        ),
        (
            ServerEncryption::Unsupported,
            EncryptionLevel::NotSupported,
            true,
        ),
        (
            ServerEncryption::Unsupported,
            EncryptionLevel::Required,
            false,
        ),
    ] {
        let sim = start(server);
        let result = connect_with(&sim, client, sim.sa_password()).await;
        match (works, result) {
            (true, Ok(mut c)) => {
                let row = c
                    .simple_query("SELECT DB_NAME() AS db")
                    .await
                    .unwrap()
                    .into_row()
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(
                    row.get::<&str, _>("db"),
                    Some("K2"),
                    "{server:?}/{client:?}"
                );
            }
            (false, Err(_)) => {}
            (works, result) => panic!(
                "{server:?}/{client:?}: expected works={works}, got {:?}",
                result.map(|_| ())
            ),
        }
    }
}

#[tokio::test]
async fn wrong_password_is_login_failed_18456() {
    let sim = start(ServerEncryption::Optional);
    let err = connect_with(&sim, EncryptionLevel::Required, "nope")
        .await
        .map(|_| ())
        .unwrap_err();
    match err {
        tiberius::error::Error::Server(e) => {
            assert_eq!(e.code(), 18456);
            assert!(
                e.message().contains("Login failed for user 'sa'"),
                "{}",
                e.message()
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.counters().failed_logins, 1);
}

#[tokio::test]
async fn parameters_nulls_and_types_round_trip() {
    let sim = start(ServerEncryption::Optional);
    let mut c = connect(&sim).await;
    let long = "x".repeat(9000);
    let row = c
        .query(
            "SELECT @P1 AS t, @P2 AS i, @P3 AS n, @P4 AS b, @P5 AS long, @P6 AS big",
            &[
                &"héllo ☃",
                &42i32,
                &Option::<&str>::None,
                &vec![1u8, 2, 3],
                &long.as_str(),
                &5_000_000_000i64,
            ],
        )
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<&str, _>("t"), Some("héllo ☃"));
    assert_eq!(row.get::<i32, _>("i"), Some(42));
    assert_eq!(row.get::<&str, _>("n"), None);
    assert_eq!(row.get::<&[u8], _>("b"), Some(&[1u8, 2, 3][..]));
    assert_eq!(row.get::<&str, _>("long").map(str::len), Some(9000));
    assert_eq!(row.get::<i64, _>("big"), Some(5_000_000_000));
    let version = c
        .simple_query("SELECT @@VERSION")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert!(
        version
            .get::<&str, _>(0)
            .unwrap()
            .starts_with("Microsoft SQL Server")
    );
}

#[tokio::test]
async fn the_key_stack_behaves_like_k2s() {
    let sim = start(ServerEncryption::Optional);
    let mut c = connect(&sim).await;
    // Closed key: encrypted values read as NULL, plain ones as text.
    assert_eq!(token(&mut c, "[ConnectionString:HostserverDB]").await, None);
    assert_eq!(
        token(&mut c, "[USESQLENCRYPTION]").await.as_deref(),
        Some("true")
    );
    // The symmetric key needs the master key; a wrong master key password is error 15313.
    let err = c
        .execute(
            "OPEN SYMMETRIC KEY SCSSOKey DECRYPTION BY CERTIFICATE SCHostServerCert",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(15581));
    let err = c.execute("DECLARE @open NVARCHAR(MAX) = N'OPEN MASTER KEY DECRYPTION BY PASSWORD = N''' + REPLACE(@P1, N'''', N'''''') + N''''; EXEC (@open)", &[&"wrong"]).await.unwrap_err();
    assert_eq!(err.code(), Some(15313));
    open_keys(&mut c).await;
    assert!(
        token(&mut c, "[ConnectionString:HostserverDB]")
            .await
            .unwrap()
            .starts_with("Data Source=SQL01\\K2;")
    );
    // Keys are per session: another connection still reads NULL.
    let mut other = connect(&sim).await;
    assert_eq!(
        token(&mut other, "[ConnectionString:HostserverDB]").await,
        None
    );
    // EncryptByKey writes what DecryptByKey reads back.
    c.execute("UPDATE [HostServer].[Configuration] SET VariableValue = EncryptByKey(Key_GUID(N'SCSSOKey'), @P2) WHERE VariableToken = @P1", &[&"[K2SERVER]", &"K2SERVER02"]).await.unwrap();
    c.execute(
        "UPDATE [HostServer].[Configuration] SET Encrypted = 1 WHERE VariableToken = @P1",
        &[&"[K2SERVER]"],
    )
    .await
    .unwrap();
    assert_eq!(
        token(&mut c, "[K2SERVER]").await.as_deref(),
        Some("K2SERVER02")
    );
}

#[tokio::test]
async fn transactions_commit_roll_back_and_isolate() {
    let sim = start(ServerEncryption::Optional);
    let mut a = connect(&sim).await;
    a.begin_transaction().await.unwrap();
    let done = a.execute("UPDATE [HostServer].[Configuration] SET Encrypted = 0, VariableValue = CONVERT(VARBINARY(MAX), @P2) WHERE VariableToken = @P1", &[&"[K2SERVER]", &"changed"]).await.unwrap();
    assert_eq!(done.total(), 1);
    a.rollback_transaction().await.unwrap();
    assert_eq!(
        token(&mut a, "[K2SERVER]").await.as_deref(),
        Some("K2SERVER01")
    );
    a.begin_transaction().await.unwrap();
    a.execute("UPDATE [HostServer].[Configuration] SET VariableValue = CONVERT(VARBINARY(MAX), @P2) WHERE VariableToken = @P1", &[&"[K2SERVER]", &"committed"]).await.unwrap();
    a.commit_transaction().await.unwrap();
    let mut b = connect(&sim).await;
    assert_eq!(
        token(&mut b, "[K2SERVER]").await.as_deref(),
        Some("committed")
    );
    let c = sim.counters();
    assert_eq!((c.commits, c.rollbacks), (1, 1));
}

#[tokio::test]
async fn xact_abort_rolls_back_on_a_failed_statement() {
    let sim = start(ServerEncryption::Optional);
    let mut c = connect(&sim).await;
    c.simple_query("SET XACT_ABORT ON")
        .await
        .unwrap()
        .into_results()
        .await
        .unwrap();
    c.begin_transaction().await.unwrap();
    c.execute("UPDATE [HostServer].[Configuration] SET VariableValue = CONVERT(VARBINARY(MAX), @P1) WHERE VariableToken = N'[K2SERVER]'", &[&"lost"]).await.unwrap();
    sim.set_faults(Faults {
        fail_statement: Some("INSERT".into()),
        ..Faults::default()
    });
    let err = c.execute("INSERT INTO [HostServer].[Configuration] (VariableToken, VariableValue, Encrypted) VALUES (@P1, NULL, 0)", &[&"[NEW]"]).await.unwrap_err();
    assert_eq!(err.code(), Some(50000));
    sim.set_faults(Faults::default());
    assert_eq!(
        token(&mut c, "[K2SERVER]").await.as_deref(),
        Some("K2SERVER01")
    );
    assert_eq!(sim.counters().rollbacks, 1);
}

#[tokio::test]
async fn a_dropped_connection_rolls_back_its_transaction() {
    let sim = start(ServerEncryption::Optional);
    let mut c = connect(&sim).await;
    c.begin_transaction().await.unwrap();
    sim.set_faults(Faults {
        drop_after_statements: Some(1),
        ..Faults::default()
    });
    let err = c.execute("UPDATE [HostServer].[Configuration] SET VariableValue = CONVERT(VARBINARY(MAX), @P1) WHERE VariableToken = N'[K2SERVER]'", &[&"lost"]).await;
    assert!(err.is_err());
    let mut other = connect(&sim).await;
    assert_eq!(
        token(&mut other, "[K2SERVER]").await.as_deref(),
        Some("K2SERVER01")
    );
}

#[tokio::test]
async fn delays_trip_the_clients_command_timeout() {
    let sim = start(ServerEncryption::Optional);
    let mut config = config(&sim, EncryptionLevel::Required, sim.sa_password());
    config.command_timeout(Some(Duration::from_millis(200)));
    let tcp = TcpStream::connect(config.get_addr()).await.unwrap();
    let mut c = Box::pin(Client::connect(config, tcp.compat_write()))
        .await
        .unwrap();
    sim.set_faults(Faults {
        delay: Some(Duration::from_millis(800)),
        ..Faults::default()
    });
    assert!(c.simple_query("SELECT 1").await.is_err());
}

#[tokio::test]
async fn unknown_tables_are_sql_server_error_208() {
    let sim = start(ServerEncryption::Optional);
    let mut c = connect(&sim).await;
    let err = c
        .simple_query("SELECT * FROM [HostServer].[Nope]")
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.code(), Some(208));
    let rows = c.simple_query("SELECT COUNT(*) AS n FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id WHERE s.name = N'HostServer'").await.unwrap().into_row().await.unwrap().unwrap();
    assert_eq!(rows.get::<i32, _>("n"), Some(1));
}

async fn server_error(client: &mut Conn, sql: &str) -> (u32, String) {
    match client.simple_query(sql).await {
        Ok(stream) => match stream.into_results().await {
            Err(tiberius::error::Error::Server(e)) => (e.code(), e.message().to_owned()),
            other => panic!("{sql}: expected a server error, got {other:?}"),
        },
        Err(tiberius::error::Error::Server(e)) => (e.code(), e.message().to_owned()),
        Err(other) => panic!("{sql}: {other}"),
    }
}

fn start_with(options: k2cse_mssql_sim::DatabaseOptions) -> Simulator {
    Simulator::start(SimConfig {
        database_options: options,
        ..SimConfig::default()
    })
    .unwrap()
}

async fn count(client: &mut Conn, sql: &str) -> i32 {
    client
        .simple_query(sql)
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap()
        .get::<i32, _>(0)
        .unwrap()
}

/// SQL Server allows only string literals and variables inside `EXEC (...)`: a function call
/// there is Msg 102, whatever the statement (not one string the simulator knows).
#[tokio::test(flavor = "multi_thread")]
async fn exec_takes_only_literals_and_variables() {
    let sim = start(ServerEncryption::Optional);
    let mut client = connect(&sim).await;
    for sql in [
        "EXEC (N'OPEN MASTER KEY DECRYPTION BY PASSWORD = N''' + REPLACE(N'x', N'''', N'''''') + N'''')",
        "EXEC (N'SELECT ' + UPPER(N'1'))",
        "EXECUTE (LOWER(N'SELECT 1'))",
    ] {
        let (code, message) = server_error(&mut client, sql).await;
        assert_eq!(code, 102, "{sql}: {message}");
    }
    // Literals and variables run, in a scope of their own.
    let n = count(
        &mut client,
        "DECLARE @t NVARCHAR(MAX) = N'SELECT ' + N'41 + 1 AS n'; EXEC (@t)",
    )
    .await;
    assert_eq!(n, 42);
    let (code, _) = server_error(&mut client, "DECLARE @t INT = 1; EXEC (N'SELECT @t')").await;
    assert_eq!(
        code, 137,
        "the dynamic batch does not see the caller's variables"
    );
}

/// `OPENJSON` and `STRING_SPLIT` exist from compatibility level 130; below it SQL Server
/// answers "Invalid object name" (Msg 208). The level is in sys.databases.
#[tokio::test(flavor = "multi_thread")]
async fn functions_follow_the_compatibility_level() {
    for (level, available) in [(110, false), (120, false), (130, true), (160, true)] {
        let sim = start_with(k2cse_mssql_sim::DatabaseOptions {
            compat_level: level,
            ..Default::default()
        });
        let mut client = connect(&sim).await;
        let reported = count(
            &mut client,
            "SELECT CONVERT(INT, compatibility_level) FROM sys.databases WHERE name = DB_NAME()",
        )
        .await;
        assert_eq!(reported, i32::from(level));
        for sql in [
            "SELECT j.a FROM OPENJSON(N'[{\"a\":1}]') WITH (a INT '$.a') AS j",
            "SELECT value FROM STRING_SPLIT(N'a,b', N',')",
        ] {
            let outcome = match client.simple_query(sql).await {
                Ok(s) => s.into_results().await.map(|_| ()),
                Err(e) => Err(e),
            };
            match outcome {
                Err(tiberius::error::Error::Server(e))
                    if e.code() == 208 && !sql.contains("STRING_SPLIT") || !available =>
                {
                    assert!(!available, "level {level}: {sql}");
                    assert_eq!(e.code(), 208, "level {level}: {sql}");
                    assert!(e.message().starts_with("Invalid object name"));
                }
                // The simulator has no STRING_SPLIT at any level: only its absence is checked.
                _ if sql.contains("STRING_SPLIT") => assert!(available),
                _ => assert!(available, "level {level}: {sql} should be Msg 208"),
            }
        }
    }
}

/// Each column keeps its type: text into varbinary (or bytes into nvarchar) is Msg 257,
/// `DecryptByKey` of text is Msg 8116, whatever the statement.
#[tokio::test(flavor = "multi_thread")]
async fn no_implicit_conversion_between_text_and_binary() {
    let sim = start(ServerEncryption::Optional);
    let mut client = connect(&sim).await;
    let (code, message) = server_error(
        &mut client,
        "UPDATE [HostServer].[Configuration] SET VariableValue = N'False' WHERE VariableToken = N'[USESQLENCRYPTION]'",
    )
    .await;
    assert_eq!(code, 257, "{message}");
    assert!(message.contains("varbinary(max)"), "{message}");
    let (code, _) = server_error(
        &mut client,
        "INSERT INTO [HostServer].[Configuration] (VariableToken, VariableValue, Encrypted) VALUES (N'[X]', N'text', 0)",
    )
    .await;
    assert_eq!(code, 257);
    let (code, _) = server_error(&mut client, "SELECT DecryptByKey(N'abc')").await;
    assert_eq!(code, 8116);

    let sim = start_with(k2cse_mssql_sim::DatabaseOptions {
        schema: "nvarchar:tinyint".parse().unwrap(),
        ..Default::default()
    });
    let mut client = connect(&sim).await;
    let (code, message) = server_error(
        &mut client,
        "UPDATE [HostServer].[Configuration] SET VariableValue = 0x41 WHERE VariableToken = N'[USESQLENCRYPTION]'",
    )
    .await;
    assert_eq!(code, 257, "{message}");
    // What public K2 scripts do works on a text column.
    client
        .execute(
            "UPDATE [HostServer].[Configuration] SET VariableValue = 'False' WHERE VariableToken = '[USESQLENCRYPTION]'",
            &[],
        )
        .await
        .unwrap();
    let (code, _) = server_error(
        &mut client,
        "SELECT DecryptByKey(VariableValue) FROM [HostServer].[Configuration]",
    )
    .await;
    assert_eq!(code, 8116);
    let types = client
        .simple_query("SELECT c.name, ty.name FROM sys.columns AS c JOIN sys.types AS ty ON ty.user_type_id = c.system_type_id ORDER BY c.column_id")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    let types: Vec<(String, String)> = types
        .iter()
        .map(|r| {
            (
                r.get::<&str, _>(0).unwrap().into(),
                r.get::<&str, _>(1).unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("VariableToken".to_owned(), "nvarchar".to_owned()),
            ("VariableValue".to_owned(), "nvarchar".to_owned()),
            ("Encrypted".to_owned(), "tinyint".to_owned())
        ]
    );
}

/// `=` and `IN` under a case-insensitive collation ignore case (non-ASCII letters too) and
/// trailing spaces; under a case-sensitive one only trailing spaces. A syntax error is 102/156.
#[tokio::test(flavor = "multi_thread")]
async fn comparisons_follow_the_collation() {
    for (collation, case_insensitive) in [
        ("SQL_Latin1_General_CP1_CI_AS", true),
        ("Latin1_General_CS_AS", false),
    ] {
        let sim = start_with(k2cse_mssql_sim::DatabaseOptions {
            collation: collation.into(),
            ..Default::default()
        });
        let mut client = connect(&sim).await;
        client
            .execute(
                "INSERT INTO [HostServer].[Configuration] (VariableToken, VariableValue, Encrypted) VALUES (N'[ÄRGER]', NULL, 0)",
                &[],
            )
            .await
            .unwrap();
        let n = count(
            &mut client,
            "SELECT COUNT(*) FROM [HostServer].[Configuration] WHERE VariableToken = N'[ärger]  '",
        )
        .await;
        assert_eq!(n, i32::from(case_insensitive), "{collation}");
        let n = count(
            &mut client,
            "SELECT COUNT(*) FROM [HostServer].[Configuration] WHERE VariableToken IN (N'[K2SERVER] ', N'x')",
        )
        .await;
        assert_eq!(n, 1, "{collation}");
        let (code, _) = server_error(&mut client, "SELECT FROM WHERE").await;
        assert!(code == 102 || code == 156, "{code}");
    }
}

/// `sql_variant` holds no `max` type: a longer value is Msg 206 (operand type clash).
#[tokio::test(flavor = "multi_thread")]
async fn sql_variant_refuses_max_values() {
    let sim = start_with(k2cse_mssql_sim::DatabaseOptions {
        schema: "sql_variant:int".parse().unwrap(),
        ..Default::default()
    });
    let mut client = connect(&sim).await;
    let long = "x".repeat(4_001);
    let err = client
        .execute(
            "UPDATE [HostServer].[Configuration] SET VariableValue = @P1 WHERE VariableToken = N'[K2SERVER]'",
            &[&long.as_str()],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(206), "{err}");
    client
        .execute(
            "UPDATE [HostServer].[Configuration] SET VariableValue = @P1 WHERE VariableToken = N'[K2SERVER]'",
            &[&&long[..4_000]],
        )
        .await
        .unwrap();
}
