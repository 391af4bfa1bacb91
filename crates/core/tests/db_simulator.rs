//! The `db` module against the TDS simulator, through tiberius: status and keys, reads, drift,
//! push and pull, and every failure path (wrong passwords, TLS, conflicts, dropped
//! connections, timeouts).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use k2cse_core::db::{
    self, Credentials, Database, DbError, DriftState, KeyStatus, LinkSource, Mapping, Target,
    TokenValue, TokenWrite,
};
use k2cse_core::secret::Secret;
use k2cse_core::{Document, EditSession};
mod common;
use common::{credentials, open};
use k2cse_mssql_sim::{Faults, ServerEncryption, SimConfig, Simulator};

fn sim() -> Simulator {
    Simulator::start(SimConfig::default()).unwrap()
}

fn sample_entries() -> Vec<k2cse_core::entry::Entry> {
    let dir = tempfile::tempdir().unwrap();
    let path = k2cse_core::sample::write_sample(dir.path()).unwrap();
    Document::load(&path).unwrap().entries().unwrap()
}

async fn value(db: &mut Database, token: &str) -> Option<String> {
    db.token(token)
        .await
        .unwrap()
        .value
        .text()
        .map(str::to_owned)
}

#[tokio::test]
async fn status_reports_the_k2_key_stack() {
    let sim = sim();
    let db = open(&sim).await;
    let status = db.status();
    assert_eq!(status.database, "K2");
    assert!(status.version.starts_with("Microsoft SQL Server"));
    assert!(
        status.has_configuration_table
            && status.has_master_key
            && status.has_certificate
            && status.has_symmetric_key
    );
    assert_eq!(status.keys, KeyStatus::Open);
    assert_eq!(status.use_sql_encryption, Some(true));
}

#[tokio::test]
async fn without_the_master_key_password_encrypted_tokens_are_unreadable_not_errors() {
    let sim = sim();
    let target = Target::from_connection_string(&sim.connection_string()).unwrap();
    let mut db = Database::connect(&target, &Credentials::default())
        .await
        .unwrap();
    assert!(
        matches!(
            db.status().keys,
            KeyStatus::MasterKeyPasswordRequired { .. }
        ),
        "{:?}",
        db.status().keys
    );
    assert!(
        db.status()
            .keys
            .to_string()
            .contains("k2cse secret set master-key-password")
    );
    let tokens = db.tokens().await.unwrap();
    let host = tokens
        .iter()
        .find(|t| t.name == "[ConnectionString:HostserverDB]")
        .unwrap();
    assert_eq!(
        (host.encrypted, &host.value),
        (true, &TokenValue::Unreadable)
    );
    let plain = tokens.iter().find(|t| t.name == "[K2SERVER]").unwrap();
    assert_eq!(plain.value.text(), Some("K2SERVER01"));
    // Writing an encrypted token is refused before anything is sent.
    let err = db
        .write(&[TokenWrite {
            token: host.name.clone(),
            expected: None,
            new: "x".into(),
            encrypt: true,
        }])
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::KeysUnavailable { .. }), "{err}");
}

#[tokio::test]
async fn a_wrong_master_key_password_is_reported_as_such() {
    let sim = sim();
    let target = Target::from_connection_string(&sim.connection_string()).unwrap();
    let creds = Credentials {
        master_key_password: Some(Secret::new("not it")),
        ..Credentials::default()
    };
    let db = Database::connect(&target, &creds).await.unwrap();
    assert!(matches!(
        db.status().keys,
        KeyStatus::WrongMasterKeyPassword { .. }
    ));
    assert!(db.status().keys.to_string().contains("15313"));
}

#[tokio::test]
async fn drift_links_by_default_name_and_by_value_and_compares_settings_not_spelling() {
    let sim = sim();
    let mut db = open(&sim).await;
    let tokens = db.tokens().await.unwrap();
    let entries = sample_entries();
    let drift = db::link::drift(&entries, &tokens, &Mapping::default());
    let by_name = |n: &str| drift.iter().find(|d| d.link.entry == n).unwrap();
    assert_eq!(by_name("HostserverDB").state, DriftState::InSync);
    let host = by_name("HostServer");
    assert_eq!(
        (host.link.source, host.link.token.as_deref(), &host.state),
        (
            LinkSource::Discovered,
            Some("[K2HostServerConnectionString]"),
            &DriftState::InSync
        )
    );
    assert_eq!(
        by_name("SourceCode.MessageBus.Ews.ExchangeWebServicesDestination:k2service@denallix.com")
            .state,
        DriftState::InSync
    );
    let ews =
        by_name("SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:k2service@denallix.com");
    let DriftState::Differs { keys } = &ews.state else {
        panic!("{:?}", ews.state)
    };
    assert!(
        keys.contains(&"Autodiscover".to_owned()) && keys.contains(&"Password".to_owned()),
        "{keys:?}"
    );
    assert!(ews.encrypted);
    let smtp = by_name("SourceCode.Net.Mail.SmtpConnection");
    assert_eq!(
        smtp.state,
        DriftState::Differs {
            keys: vec!["TLS".into()]
        }
    );
    assert_eq!(
        by_name("SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com").state,
        DriftState::MissingInDatabase
    );

    // A mapping file overrides the defaults.
    let mapping = Mapping::parse("[tokens]\n\"SourceCode.Net.Mail.SmtpConnection\" = \"[K2SERVER]\"\n\"HostServer\" = \"\"\n").unwrap();
    let drift = db::link::drift(&entries, &tokens, &mapping);
    let smtp = drift
        .iter()
        .find(|d| d.link.entry == "SourceCode.Net.Mail.SmtpConnection")
        .unwrap();
    assert_eq!(
        (smtp.link.source, smtp.link.token.as_deref()),
        (LinkSource::Mapping, Some("[K2SERVER]"))
    );
    assert_eq!(
        drift
            .iter()
            .find(|d| d.link.entry == "HostServer")
            .unwrap()
            .state,
        DriftState::NotLinked
    );
}

#[tokio::test]
async fn discover_lists_connection_string_tokens_with_their_best_match() {
    let sim = sim();
    let mut db = open(&sim).await;
    let tokens = db.tokens().await.unwrap();
    let found = db::link::discover(&sample_entries(), &tokens, &Mapping::default());
    assert!(
        found
            .iter()
            .all(|d| d.token != "[K2SERVER]" && d.token != "[USESQLENCRYPTION]"),
        "plain tokens are not connection strings"
    );
    let host = found
        .iter()
        .find(|d| d.token == "[K2HostServerConnectionString]")
        .unwrap();
    assert_eq!(
        host.matches.first().map(|(e, m)| (e.as_str(), *m)),
        Some(("HostServer", db::link::Match::Same))
    );
    assert_eq!(host.linked_to.as_deref(), Some("HostServer"));
    let ews = found
        .iter()
        .find(|d| d.token.contains("ExchangeWebServicesConnection:k2service"))
        .unwrap();
    assert!(
        matches!(ews.matches.first(), Some((e, db::link::Match::Similar { .. })) if e.contains("k2service")),
        "{:?}",
        ews.matches
    );
}

#[tokio::test]
async fn push_writes_file_values_keeping_encryption_in_constant_round_trips() {
    let sim = sim();
    let mut db = open(&sim).await;
    let entries = sample_entries();
    let tokens = db.tokens().await.unwrap();
    let drift = db::link::drift(&entries, &tokens, &Mapping::default());
    let plan = db::link::push_plan(&drift, &[], true, true, &KeyStatus::Open).unwrap();
    assert_eq!(plan.len(), 4, "{plan:?}"); // two drifted, two new
    let before = sim.counters().requests;
    db.write(&plan).await.unwrap();
    let trips = sim.counters().requests - before;
    assert!(trips <= 7, "{trips} round trips");

    let tokens = db.tokens().await.unwrap();
    let after = db::link::drift(&entries, &tokens, &Mapping::default());
    assert!(
        after.iter().all(|d| d.state == DriftState::InSync),
        "{after:#?}"
    );
    // The encrypted token is still encrypted: its stored bytes do not contain the new value.
    let mut raw = sim.sqlite().unwrap();
    let stmt = k2cse_mssql_sim::engine::translate::translate(
        "SELECT VariableValue, Encrypted FROM [HostServer].[Configuration] WHERE VariableToken LIKE '%ExchangeWebServicesConnection:k2service%'",
    );
    let k2cse_mssql_sim::engine::Outcome::Rows { rows, .. } = raw.run(&stmt, &[]).unwrap() else {
        panic!()
    };
    let k2cse_mssql_sim::engine::Value::Bytes(stored) = &rows[0][0] else {
        panic!()
    };
    let plain: Vec<u8> = "OAuth Resource"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert!(!stored.windows(plain.len()).any(|w| w == plain.as_slice()));
    assert_eq!(rows[0][1], k2cse_mssql_sim::engine::Value::Int(1));
    // New tokens were created encrypted, as [USESQLENCRYPTION] asks.
    assert!(
        tokens
            .iter()
            .find(|t| t.name.contains("notifications@denallix.com"))
            .unwrap()
            .encrypted
    );

    // Round trips do not grow with the number of tokens.
    let many: Vec<TokenWrite> = (0..200)
        .map(|i| TokenWrite {
            token: format!("[k2cse-bench:{i}]"),
            expected: None,
            new: format!("Host Name=h{i};Port=25"),
            encrypt: i % 2 == 0,
        })
        .collect();
    let before = sim.counters().requests;
    db.write(&many).await.unwrap();
    assert!(
        sim.counters().requests - before <= trips + 1,
        "200 tokens took {} round trips",
        sim.counters().requests - before
    );
}

#[tokio::test]
async fn a_concurrent_change_is_detected_and_nothing_is_overwritten() {
    let sim = sim();
    let mut db = open(&sim).await;
    let entries = sample_entries();
    let tokens = db.tokens().await.unwrap();
    let drift = db::link::drift(&entries, &tokens, &Mapping::default());
    let plan = db::link::push_plan(&drift, &[], false, true, &KeyStatus::Open).unwrap();
    assert_eq!(plan.len(), 2);
    // Another admin changes one of the tokens after we read it.
    let mut other = open(&sim).await;
    let smtp = "[ConnectionString:SourceCode.Net.Mail.SmtpConnection]";
    let theirs = "Host Name=smtp2.denallix.com;Port=25;TLS=None;Authentication=Anonymous";
    let current = value(&mut other, smtp).await;
    other
        .write(&[TokenWrite {
            token: smtp.into(),
            expected: current,
            new: theirs.into(),
            encrypt: false,
        }])
        .await
        .unwrap();

    let err = db.write(&plan).await.unwrap_err();
    let DbError::Conflict(names) = &err else {
        panic!("{err}")
    };
    assert_eq!(names, &[smtp.to_owned()]);
    assert!(
        !err.to_string().contains("smtp2"),
        "values stay out of messages: {err}"
    );
    assert_eq!(value(&mut db, smtp).await.as_deref(), Some(theirs));
    // The other token of the plan was not written either.
    let ews = &plan
        .iter()
        .find(|w| w.token.contains("ExchangeWebServices"))
        .unwrap();
    assert_eq!(value(&mut db, &ews.token).await, ews.expected);
}

#[tokio::test]
async fn a_connection_dropped_mid_push_leaves_the_database_unchanged() {
    let sim = sim();
    let mut db = open(&sim).await;
    let entries = sample_entries();
    let tokens = db.tokens().await.unwrap();
    let plan = db::link::push_plan(
        &db::link::drift(&entries, &tokens, &Mapping::default()),
        &[],
        false,
        true,
        &KeyStatus::Open,
    )
    .unwrap();
    // Statements of a write: the locked read, the UPDATE, the read-back. Hang up after the UPDATE.
    sim.set_faults(Faults {
        drop_after_statements: Some(2),
        ..Faults::default()
    });
    let err = db.write(&plan).await.unwrap_err();
    assert!(
        matches!(err, DbError::RolledBack { ref source } if matches!(**source, DbError::Client(_))),
        "{err:?}"
    );
    assert!(err.to_string().contains("nothing was written"), "{err}");
    let mut fresh = open(&sim).await;
    for w in &plan {
        assert_eq!(value(&mut fresh, &w.token).await, w.expected, "{}", w.token);
    }
}

#[tokio::test]
async fn a_failed_statement_rolls_the_write_back() {
    let sim = sim();
    let mut db = open(&sim).await;
    let writes = [
        TokenWrite {
            token: "[K2SERVER]".into(),
            expected: Some("K2SERVER01".into()),
            new: "K2SERVER09".into(),
            encrypt: false,
        },
        TokenWrite {
            token: "[NEWTOKEN]".into(),
            expected: None,
            new: "x=1".into(),
            encrypt: false,
        },
    ];
    sim.set_faults(Faults {
        fail_statement: Some("INSERT INTO".into()),
        ..Faults::default()
    });
    let err = db.write(&writes).await.unwrap_err();
    assert!(
        matches!(err.root(), DbError::Server { code: 50000, .. }),
        "{err}"
    );
    sim.set_faults(Faults::default());
    assert_eq!(
        value(&mut db, "[K2SERVER]").await.as_deref(),
        Some("K2SERVER01")
    );
    assert!(matches!(
        db.token("[NEWTOKEN]").await,
        Err(DbError::TokenNotFound(_))
    ));
}

#[tokio::test]
async fn pull_writes_database_values_into_the_file() {
    let sim = sim();
    let mut db = open(&sim).await;
    let dir = tempfile::tempdir().unwrap();
    let path = k2cse_core::sample::write_sample(dir.path()).unwrap();
    let doc = Document::load(&path).unwrap();
    let tokens = db.tokens().await.unwrap();
    let drift = db::link::drift(&doc.entries().unwrap(), &tokens, &Mapping::default());
    let changes = db::link::pull_changes(&drift, &["SourceCode.Net.Mail.SmtpConnection".into()]);
    assert_eq!(changes.len(), 1);
    let mut session =
        EditSession::new(doc, k2cse_core::lint::LintOptions::default(), true).unwrap();
    session.apply_all(changes).unwrap();
    session
        .save(&k2cse_core::save::SaveOptions::default(), false)
        .unwrap();
    let entry = Document::load(&path)
        .unwrap()
        .entry("SourceCode.Net.Mail.SmtpConnection")
        .unwrap();
    assert_eq!(entry.get("TLS"), Some("None"));
}

#[tokio::test]
async fn login_failures_are_clear() {
    let sim = sim();
    let wrong = sim.connection_string().replace(sim.sa_password(), "wrong");
    let err = Database::connect(
        &Target::from_connection_string(&wrong).unwrap(),
        &Credentials::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, DbError::Login { code: 18456, .. }), "{err}");
    assert!(
        !err.to_string().contains("wrong"),
        "the password is not in the message: {err}"
    );

    let no_password = format!(
        "Data Source=127.0.0.1,{};Initial Catalog=K2;User ID=sa;TrustServerCertificate=True",
        sim.port()
    );
    let err = Database::connect(
        &Target::from_connection_string(&no_password).unwrap(),
        &Credentials::default(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("k2cse secret set sql-password --account sa@127.0.0.1,"),
        "{err}"
    );
    let creds = Credentials {
        sql_password: Some(Secret::new(sim.sa_password())),
        ..credentials()
    };
    Database::connect(
        &Target::from_connection_string(&no_password).unwrap(),
        &creds,
    )
    .await
    .unwrap();

    let other_db = sim
        .connection_string()
        .replace("Initial Catalog=K2", "Initial Catalog=Nope");
    let err = Database::connect(
        &Target::from_connection_string(&other_db).unwrap(),
        &credentials(),
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, DbError::Login { .. }), "{err}");

    let closed = "Data Source=127.0.0.1,1;User ID=sa;Password=x;Connect Timeout=2";
    let err = Database::connect(
        &Target::from_connection_string(closed).unwrap(),
        &Credentials::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, DbError::Connect { .. }), "{err}");
}

#[tokio::test]
async fn tls_mismatches_and_untrusted_certificates_are_clear() {
    // Encrypt=True against a server without TLS.
    let plain = Simulator::start(SimConfig {
        encryption: ServerEncryption::Unsupported,
        ..SimConfig::default()
    })
    .unwrap();
    let err = Database::connect(
        &Target::from_connection_string(&plain.connection_string()).unwrap(),
        &credentials(),
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, DbError::Tls { .. }), "{err:?}");

    // Without TrustServerCertificate the self-signed certificate is refused, with the way out.
    let tls = sim();
    let strict = tls
        .connection_string()
        .replace(";TrustServerCertificate=True", "");
    let err = Database::connect(
        &Target::from_connection_string(&strict).unwrap(),
        &credentials(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, DbError::Tls { .. }) && err.to_string().contains("--trust-server-cert"),
        "{err:?}"
    );

    // Encrypt=False (login-only TLS) against a server that forces encryption still connects.
    let forced = Simulator::start(SimConfig {
        encryption: ServerEncryption::Forced,
        ..SimConfig::default()
    })
    .unwrap();
    let login_only = format!("{};Encrypt=False", forced.connection_string());
    let db = Database::connect(
        &Target::from_connection_string(&login_only).unwrap(),
        &credentials(),
    )
    .await
    .unwrap();
    assert_eq!(db.status().database, "K2");
}

#[tokio::test]
async fn slow_servers_time_out() {
    let sim = sim();
    let mut target = Target::from_connection_string(&sim.connection_string()).unwrap();
    target.command_timeout = Duration::from_millis(300);
    let mut db = Database::connect(&target, &credentials()).await.unwrap();
    sim.set_faults(Faults {
        delay: Some(Duration::from_millis(1500)),
        ..Faults::default()
    });
    let err = db.tokens().await.unwrap_err();
    assert!(matches!(err, DbError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn a_value_that_does_not_read_back_as_written_rolls_everything_back() {
    let sim = sim();
    // A trigger that mangles the value on update stands in for anything on the server side
    // (a truncating column, a trigger, an encryption mishap) that stores something else.
    let mut raw = sim.sqlite().unwrap();
    let trigger = "CREATE TRIGGER HostServer.mangle AFTER UPDATE OF VariableValue ON Configuration WHEN NEW.VariableToken = '[K2SERVER]' \
                   BEGIN UPDATE Configuration SET VariableValue = X'41004100' WHERE VariableToken = NEW.VariableToken AND VariableValue <> X'41004100'; END";
    raw.run(
        &k2cse_mssql_sim::engine::translate::Statement::Sql(trigger.into()),
        &[],
    )
    .unwrap();
    let mut db = open(&sim).await;
    let writes = [
        TokenWrite {
            token: "[SMARTFORMSRUNTIMEURL]".into(),
            expected: Some("https://k2.denallix.com/Runtime".into()),
            new: "https://k2new.denallix.com/Runtime".into(),
            encrypt: false,
        },
        TokenWrite {
            token: "[K2SERVER]".into(),
            expected: Some("K2SERVER01".into()),
            new: "K2SERVER02".into(),
            encrypt: false,
        },
    ];
    let err = db.write(&writes).await.unwrap_err();
    assert!(
        matches!(&err, DbError::Verification(t) if t == "[K2SERVER]"),
        "{err}"
    );
    assert_eq!(
        value(&mut db, "[K2SERVER]").await.as_deref(),
        Some("K2SERVER01")
    );
    assert_eq!(
        value(&mut db, "[SMARTFORMSRUNTIMEURL]").await.as_deref(),
        Some("https://k2.denallix.com/Runtime")
    );
}

/// The push plan of the sample: two updates (one encrypted) and, with `create`, inserts.
async fn sample_push_plan(db: &mut Database) -> Vec<TokenWrite> {
    let tokens = db.tokens().await.unwrap();
    db::link::push_plan(
        &db::link::drift(&sample_entries(), &tokens, &Mapping::default()),
        &[],
        true,
        true,
        &KeyStatus::Open,
    )
    .unwrap()
}

async fn values(db: &mut Database, plan: &[TokenWrite]) -> Vec<Option<String>> {
    let tokens = db.tokens().await.unwrap();
    plan.iter()
        .map(|w| {
            tokens
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(&w.token))
                .and_then(|t| t.value.text().map(str::to_owned))
        })
        .collect()
}

#[tokio::test]
async fn a_push_cut_at_every_statement_or_at_the_commit_is_all_old_or_all_new() {
    let sim = sim();
    let mut db = open(&sim).await;
    let plan = sample_push_plan(&mut db).await;
    assert!(
        plan.iter().any(|w| w.expected.is_none()),
        "the plan creates tokens too"
    );
    let old: Vec<Option<String>> = plan.iter().map(|w| w.expected.clone()).collect();
    let new: Vec<Option<String>> = plan.iter().map(|w| Some(w.new.clone())).collect();
    // Statements of this write: locked read, UPDATE, INSERT (encrypted), INSERT (plain) or
    // fewer, read-back. Cut after each.
    let mut cut = 0;
    for after in 1..=6 {
        // A fresh database for each cut point.
        let sim = k2cse_mssql_sim::Simulator::start(SimConfig::default()).unwrap();
        let mut db = open(&sim).await;
        sim.set_faults(Faults {
            drop_after_statements: Some(after),
            ..Faults::default()
        });
        let result = db.write(&plan).await;
        sim.set_faults(Faults::default());
        let now = values(&mut open(&sim).await, &plan).await;
        match result {
            Err(err) => {
                cut += 1;
                assert!(
                    matches!(err, DbError::RolledBack { .. }),
                    "cut after {after}: {err:?}"
                );
                assert!(
                    err.to_string()
                        .contains("the database holds the old values"),
                    "{err}"
                );
                assert_eq!(now, old, "cut after {after}: all old");
            }
            // More cut points than statements: the write finished first.
            Ok(()) => assert_eq!(now, new, "cut after {after}: all new"),
        }
    }
    assert!(cut >= 3, "only {cut} cut points hit a statement");

    // Cut at the commit: before it, all old and "rolled back"; after it (the answer lost), the
    // outcome is unknown to k2cse, and the database is all new.
    for (drop, expect_new) in [
        (k2cse_mssql_sim::CommitDrop::BeforeCommitting, false),
        (k2cse_mssql_sim::CommitDrop::AfterCommitting, true),
    ] {
        let sim = k2cse_mssql_sim::Simulator::start(SimConfig::default()).unwrap();
        let mut db = open(&sim).await;
        sim.set_faults(Faults {
            drop_at_commit: Some(drop),
            ..Faults::default()
        });
        let err = db.write(&plan).await.unwrap_err();
        sim.set_faults(Faults::default());
        assert!(
            matches!(err, DbError::CommitUnknown { .. }),
            "{drop:?}: {err:?}"
        );
        assert!(
            err.to_string()
                .contains("either all the old values or all the new ones"),
            "{err}"
        );
        let now = values(&mut open(&sim).await, &plan).await;
        assert_eq!(
            now,
            if expect_new { new.clone() } else { old.clone() },
            "{drop:?}"
        );
    }
}

#[tokio::test]
async fn a_slow_write_times_out_and_changes_nothing() {
    let sim = sim();
    let mut target = Target::from_connection_string(&sim.connection_string()).unwrap();
    target.command_timeout = Duration::from_millis(300);
    let mut db = Database::connect(&target, &credentials()).await.unwrap();
    let plan = sample_push_plan(&mut db).await;
    let old: Vec<Option<String>> = plan.iter().map(|w| w.expected.clone()).collect();
    sim.set_faults(Faults {
        delay: Some(Duration::from_millis(1500)),
        ..Faults::default()
    });
    let err = db.write(&plan).await.unwrap_err();
    sim.set_faults(Faults::default());
    assert!(matches!(err.root(), DbError::Timeout { .. }), "{err:?}");
    // The server may still be working on the abandoned statement; give it time to roll back.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(values(&mut open(&sim).await, &plan).await, old);
}

/// TLS as System.Data.SqlClient does it: Encrypt=False protects the login without checking
/// the certificate (a self-signed on-premises certificate works), Encrypt=True checks it
/// unless TrustServerCertificate=True, Encrypt=Strict is refused rather than downgraded.
#[tokio::test]
async fn tls_follows_sqlclient() {
    for encryption in [ServerEncryption::Optional, ServerEncryption::Forced] {
        let sim = Simulator::start(SimConfig {
            encryption,
            ..SimConfig::default()
        })
        .unwrap();
        let untrusted = sim
            .connection_string()
            .replace(";TrustServerCertificate=True", "");
        let db = Database::connect(
            &Target::from_connection_string(&format!("{untrusted};Encrypt=False")).unwrap(),
            &credentials(),
        )
        .await
        .unwrap();
        assert_eq!(db.status().database, "K2");
        let err = Database::connect(
            &Target::from_connection_string(&format!("{untrusted};Encrypt=True")).unwrap(),
            &credentials(),
        )
        .await
        .unwrap_err();
        let message = err.to_string();
        assert!(matches!(&err, DbError::Tls { .. }), "{err:?}");
        assert!(message.contains("TrustServerCertificate=True"), "{message}");
        assert!(!message.contains("trust_cert"), "{message}");
        let err = Target::from_connection_string(&format!("{untrusted};Encrypt=Strict"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Encrypt=Strict") && err.contains("TDS 8.0"),
            "{err}"
        );
    }
}
