//! `k2cse db` and `k2cse secret` end to end: the k2cse binary against the k2cse-mssql-sim
//! binary over TCP and TLS.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use k2cse_tests::fixtures::{Scratch, k2cse};
use k2cse_tests::sim::{MASTER_KEY_PASSWORD, SA_PASSWORD, SimProcess};
use predicates::prelude::*;

/// `k2cse` on the sample config, connected to `sim` with both passwords from the environment.
fn db(scratch: &Scratch, sim: &SimProcess, args: &[&str]) -> Command {
    let mut cmd = scratch.k2cse(args);
    cmd.env("K2CSE_CONNECTION", sim.connection())
        .env("K2CSE_SQL_PASSWORD", SA_PASSWORD)
        .env("K2CSE_MASTER_KEY_PASSWORD", MASTER_KEY_PASSWORD)
        .env("K2CSE_KEYRING", "mock");
    cmd
}

fn json(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.arg("--json").output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn status_and_tokens_mask_secrets_unless_revealed() {
    let sim = SimProcess::start(&[]);
    let scratch = Scratch::sample();
    let status = json(&mut db(&scratch, &sim, &["db", "status"]));
    assert_eq!(status["schema"], "k2cse.db-status/1");
    assert_eq!(status["keys_open"], true);
    assert_eq!(status["use_sql_encryption"], true);
    db(&scratch, &sim, &["db", "tokens"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Password=********"))
        .stdout(predicate::str::contains("Old-Basic-Auth-1").not());
    db(&scratch, &sim, &["db", "get", "[ConnectionString:SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:k2service@denallix.com]", "--reveal"])
        .assert()
        .success()
        .stdout("Autodiscover=True;User ID=k2service@denallix.com;Password=Old-Basic-Auth-1\n");
}

#[test]
fn drift_push_and_pull_round_trip() {
    let sim = SimProcess::start(&[]);
    let scratch = Scratch::sample();
    let before = scratch.bytes();
    db(&scratch, &sim, &["db", "drift", "--exit-code"])
        .assert()
        .code(4)
        .stdout(predicate::str::contains("differs: TLS"));
    let drift = json(&mut db(&scratch, &sim, &["db", "drift"]));
    assert_eq!(drift["different"], 4);

    // A dry run writes nothing.
    db(&scratch, &sim, &["db", "push", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "would update [ConnectionString:SourceCode.Net.Mail.SmtpConnection]",
        ));
    assert_eq!(
        json(&mut db(&scratch, &sim, &["db", "drift"]))["different"],
        4
    );

    // Push one entry, then the rest with --create.
    db(
        &scratch,
        &sim,
        &["db", "push", "SourceCode.Net.Mail.SmtpConnection", "--yes"],
    )
    .assert()
    .success()
    .stdout(predicate::str::contains("did update"));
    assert_eq!(
        json(&mut db(&scratch, &sim, &["db", "drift"]))["different"],
        3
    );
    let pushed = json(&mut db(
        &scratch,
        &sim,
        &["db", "push", "--create", "--yes"],
    ));
    assert_eq!(pushed["writes"].as_array().unwrap().len(), 3, "{pushed}");
    db(&scratch, &sim, &["db", "drift", "--exit-code"])
        .assert()
        .success();
    assert_eq!(scratch.bytes(), before, "push never touches the file");

    // Someone changes the database; pull brings the change into the file, with a backup.
    db(
        &scratch,
        &sim,
        &[
            "db",
            "set",
            "[ConnectionString:SourceCode.Net.Mail.SmtpConnection]",
            "Host Name=smtp.denallix.com;Port=2525;TLS=StartTls;Authentication=Anonymous",
        ],
    )
    .assert()
    .success();
    db(&scratch, &sim, &["db", "pull", "--dry-run"]).assert().success().stdout(predicate::str::contains("+    <add name=\"SourceCode.Net.Mail.SmtpConnection\" connectionString=\"Host Name=smtp.denallix.com;Port=2525;"));
    assert_eq!(scratch.bytes(), before);
    db(&scratch, &sim, &["db", "pull"]).assert().success();
    assert!(scratch.text().contains("Port=2525;TLS=StartTls"));
    let backups = scratch.backups();
    assert!(
        backups.iter().any(
            |p| k2cse_core::backup::open(p, None).unwrap().manifest().reason
                == "before k2cse db pull"
        ),
        "a backup of the file was taken: {backups:?}"
    );
    assert!(
        backups.iter().any(|p| k2cse_core::backup::open(p, None)
            .unwrap()
            .rows()
            .is_some_and(|rows| !rows.is_empty())),
        "db set backed up the rows first: {backups:?}"
    );
    db(&scratch, &sim, &["db", "drift", "--exit-code"])
        .assert()
        .success();
}

#[test]
fn the_connection_comes_from_the_configs_hostserverdb_entry() {
    let sim = SimProcess::start(&[]);
    let scratch = Scratch::sample();
    k2cse()
        .current_dir(scratch.dir.path())
        .args(["--config"])
        .arg(&scratch.config)
        .args([
            "set",
            "HostserverDB",
            &format!("Data Source=127.0.0.1,{}", sim.port),
            "Integrated Security=False",
            "User ID=sa",
            "TrustServerCertificate=True",
        ])
        .assert()
        .success();
    let mut cmd = scratch.k2cse(&["db", "status"]);
    cmd.env("K2CSE_SQL_PASSWORD", SA_PASSWORD)
        .env("K2CSE_KEYRING", "mock")
        .env_remove("K2CSE_CONNECTION");
    cmd.assert()
        .success()
        .stdout(predicate::str::contains("Server:              127.0.0.1,"));
}

#[test]
fn encrypted_values_round_trip_through_set_and_get() {
    let sim = SimProcess::start(&[]);
    let scratch = Scratch::sample();
    let token = "[ConnectionString:HostserverDB]";
    let value = "Data Source=SQL02\\K2;Initial Catalog=K2;Integrated Security=True";
    db(&scratch, &sim, &["db", "set", token, "--stdin"])
        .write_stdin(format!("{value}\n"))
        .assert()
        .success()
        .stdout(predicate::str::contains("(encrypted)"));
    db(&scratch, &sim, &["db", "get", token])
        .assert()
        .success()
        .stdout(format!("{value}\n"));
    db(&scratch, &sim, &["db", "set", "[NOPE]", "x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no token \"[NOPE]\""));
    db(&scratch, &sim, &["db", "set", "[NEW]", "x=1", "--create"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Did create [NEW] (encrypted)"));
}

#[test]
fn failures_are_explained() {
    let sim = SimProcess::start(&[]);
    let scratch = Scratch::sample();
    // Wrong SQL password.
    db(&scratch, &sim, &["db", "status"])
        .env("K2CSE_SQL_PASSWORD", "wrong")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("login failed (error 18456)"));
    // No SQL password anywhere: says where to put it.
    db(&scratch, &sim, &["db", "status"])
        .env_remove("K2CSE_SQL_PASSWORD")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "k2cse secret set sql-password --account sa@127.0.0.1,{}",
            sim.port
        )));
    // No master key password: reading works, encrypted values are marked, pushing them is refused.
    db(&scratch, &sim, &["db", "tokens"])
        .env_remove("K2CSE_MASTER_KEY_PASSWORD")
        .assert()
        .success()
        .stdout(predicate::str::contains("(encrypted; key not open)"));
    db(&scratch, &sim, &["db", "push", "--yes"])
        .env_remove("K2CSE_MASTER_KEY_PASSWORD")
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("cannot decrypt")
                .and(predicate::str::contains("master key password")),
        );
    // Wrong master key password.
    db(&scratch, &sim, &["db", "status"])
        .env("K2CSE_MASTER_KEY_PASSWORD", "nope")
        .assert()
        .success()
        .stdout(predicate::str::contains("15313"));
    // Without TrustServerCertificate the self-signed certificate is refused, with the way out.
    let strict = sim.connection().replace(";TrustServerCertificate=True", "");
    db(&scratch, &sim, &["db", "status", "--connection", &strict])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--trust-server-cert"));
    db(
        &scratch,
        &sim,
        &[
            "db",
            "status",
            "--connection",
            &strict,
            "--trust-server-cert",
        ],
    )
    .assert()
    .success();
    // A server without TLS and Encrypt=True (the default).
    let plain = SimProcess::start(&["--encryption", "unsupported"]);
    db(&scratch, &plain, &["db", "status"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("TLS failed"));
    db(
        &scratch,
        &plain,
        &[
            "db",
            "status",
            "--connection",
            &format!("{};Encrypt=False", plain.connection()),
        ],
    )
    .assert()
    .code(1)
    .stderr(predicate::str::contains("TLS"));
}

#[test]
fn a_mapping_file_links_entries_to_other_tokens() {
    let sim = SimProcess::start(&[]);
    let scratch = Scratch::sample();
    let mapping = scratch.dir.path().join("mapping.toml");
    std::fs::write(
        &mapping,
        "[tokens]\n\"SourceCode.Net.Mail.SmtpConnection\" = \"[K2SERVER]\"\n",
    )
    .unwrap();
    let drift = json(
        db(&scratch, &sim, &["db", "drift"])
            .arg("--mapping")
            .arg(&mapping),
    );
    let smtp = drift["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entry"] == "SourceCode.Net.Mail.SmtpConnection")
        .unwrap();
    assert_eq!(smtp["token"], "[K2SERVER]");
    assert_eq!(smtp["link"], "mapping");
    std::fs::write(&mapping, "[tokens\n").unwrap();
    db(&scratch, &sim, &["db", "drift"])
        .arg("--mapping")
        .arg(&mapping)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("mapping.toml"));
    let found = json(&mut db(&scratch, &sim, &["db", "discover"]));
    let host = found["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["token"] == "[K2HostServerConnectionString]")
        .unwrap();
    assert_eq!(host["matches"][0]["entry"], "HostServer");
    assert_eq!(host["matches"][0]["match"]["match"], "same");
}

#[test]
fn secrets_go_to_the_keyring_and_are_never_printed() {
    let scratch = Scratch::sample();
    let connection = "Data Source=sql01,1433;Initial Catalog=K2;User ID=k2admin";
    let mut set = scratch.k2cse(&[
        "secret",
        "set",
        "sql-password",
        "--stdin",
        "--connection",
        connection,
    ]);
    set.env("K2CSE_KEYRING", "mock").write_stdin("s3cret\n");
    set.assert().success().stdout(
        predicate::str::contains(
            "Stored sql-password for k2admin@sql01,1433 in the mock (in memory)",
        )
        .and(predicate::str::contains("s3cret").not()),
    );
    let status = json(
        scratch
            .k2cse(&["secret", "status", "--connection", connection])
            .env("K2CSE_KEYRING", "mock"),
    );
    let kinds: Vec<_> = status["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_owned(),
                s["account"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("sql-password".into(), "k2admin@sql01,1433".into())),
        "{status}"
    );
    assert!(
        kinds.contains(&("master-key-password".into(), "sql01,1433/k2".into())),
        "{status}"
    );
    // Integrated Security has no SQL password to store.
    scratch
        .k2cse(&[
            "secret",
            "set",
            "sql-password",
            "--stdin",
            "--connection",
            "Data Source=sql01;Integrated Security=SSPI",
        ])
        .env("K2CSE_KEYRING", "mock")
        .write_stdin("x\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Integrated Security"));
    scratch
        .k2cse(&[
            "secret",
            "set",
            "sql-password",
            "--stdin",
            "--connection",
            connection,
        ])
        .env("K2CSE_KEYRING", "mock")
        .write_stdin("\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("empty"));
    scratch
        .k2cse(&["secret", "status"])
        .env("K2CSE_KEYRING", "bogus")
        .assert()
        .code(2);
}

#[test]
fn demo_db_commands_run_on_a_simulated_database() {
    k2cse()
        .args(["--demo", "db", "drift", "--exit-code"])
        .assert()
        .code(4)
        .stdout(predicate::str::contains(
            "[K2HostServerConnectionString] (discovered)",
        ));
    k2cse()
        .arg("demo")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Wrote 2 token(s) in one transaction",
        ));
}

/// A pull whose connection is cut after any statement (during the session setup, the probe,
/// opening the keys, or reading the tokens) fails clearly and leaves the file as it was.
#[test]
fn a_pull_cut_at_every_statement_leaves_the_file_untouched() {
    let mut cut = 0;
    for after in 1..=8 {
        let sim = SimProcess::start(&["--drop-after-statements", &after.to_string()]);
        let scratch = Scratch::sample();
        let before = scratch.bytes();
        let out = db(&scratch, &sim, &["db", "pull", "--force"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            // More cut points than statements: the pull read everything first.
            continue;
        }
        cut += 1;
        assert_eq!(out.status.code(), Some(1), "cut after {after}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(
            scratch.bytes(),
            before,
            "cut after {after}: the file is untouched"
        );
        assert!(
            scratch.backups().is_empty(),
            "cut after {after}: nothing was backed up either"
        );
    }
    assert!(cut >= 4, "only {cut} cut points hit a statement");
}

/// `db status` names the server version, the database's compatibility level and collation,
/// and the table's column types; with --connection it needs no config file (run from an
/// empty folder).
#[test]
fn status_with_a_connection_needs_no_config_and_names_level_collation_and_shape() {
    let sim = SimProcess::start(&["--compat-level", "110", "--schema", "nvarchar:tinyint"]);
    let empty = tempfile::tempdir().unwrap();
    let mut cmd = k2cse();
    cmd.current_dir(empty.path())
        .args(["db", "status", "--connection", &sim.connection()])
        .env("K2CSE_SQL_PASSWORD", SA_PASSWORD)
        .env("K2CSE_MASTER_KEY_PASSWORD", MASTER_KEY_PASSWORD)
        .env("K2CSE_KEYRING", "mock")
        .env_remove("K2CSE_CONNECTION");
    cmd.assert()
        .success()
        .stdout(predicate::str::contains(
            "Compatibility level: 110 (SQL Server 2012)",
        ))
        .stdout(predicate::str::contains(
            "Collation:           SQL_Latin1_General_CP1_CI_AS",
        ))
        .stdout(predicate::str::contains(
            "Table shape:         VariableValue nvarchar(max), Encrypted tinyint",
        ));
    let mut tokens = k2cse();
    tokens
        .current_dir(empty.path())
        .args(["db", "tokens", "--json"])
        .env("K2CSE_CONNECTION", sim.connection())
        .env("K2CSE_SQL_PASSWORD", SA_PASSWORD)
        .env("K2CSE_KEYRING", "mock");
    let out = tokens.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = json(
        k2cse()
            .current_dir(empty.path())
            .args(["db", "status", "--connection", &sim.connection()])
            .env("K2CSE_SQL_PASSWORD", SA_PASSWORD)
            .env("K2CSE_KEYRING", "mock"),
    );
    assert_eq!(status["compatibility_level"], 110);
    assert_eq!(status["table_shape"]["variable_value"], "nvarchar(max)");
    assert_eq!(status["table_shape"]["encrypted_values"], false);
}

/// `db push` asks before it writes, as `backup restore` does: on a terminal it shows each
/// token's value before and after (secrets masked) and writes only on "y"; without a
/// terminal it refuses (exit 2) unless --yes.
#[test]
fn push_shows_the_plan_and_asks_first() {
    let sim = SimProcess::start(&[]);
    let scratch = Scratch::sample();
    let smtp = "[ConnectionString:SourceCode.Net.Mail.SmtpConnection]";
    let value = |scratch: &Scratch| {
        let out = db(scratch, &sim, &["db", "get", smtp, "--reveal"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let before = value(&scratch);
    db(&scratch, &sim, &["db", "push"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs confirmation"));
    assert_eq!(value(&scratch), before, "nothing was written");
    let k2cse = k2cse_tests::fixtures::binary("k2cse");
    let on_tty = |answer: &str| {
        let mut child = std::process::Command::new("script")
            .current_dir(scratch.dir.path())
            .env("K2CSE_CONNECTION", sim.connection())
            .env("K2CSE_SQL_PASSWORD", SA_PASSWORD)
            .env("K2CSE_MASTER_KEY_PASSWORD", MASTER_KEY_PASSWORD)
            .env("K2CSE_KEYRING", "mock")
            .args(["-qec"])
            .arg(format!(
                "{} --config {} db push {}",
                k2cse.display(),
                scratch.config.display(),
                "SourceCode.Net.Mail.SmtpConnection"
            ))
            .arg("/dev/null")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("util-linux `script` runs the command on a pseudo-terminal");
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), answer.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let refused = on_tty("n\n");
    assert!(refused.contains("will write 1 token(s)"), "{refused}");
    assert!(
        refused.contains("was: Host Name=smtp.denallix.com"),
        "{refused}"
    );
    assert!(
        refused.contains("Write 1 token(s) to the database? [y/N]"),
        "{refused}"
    );
    assert!(refused.contains("not confirmed"), "{refused}");
    assert_eq!(value(&scratch), before);
    let accepted = on_tty("y\n");
    assert!(accepted.contains("Wrote 1 token(s)"), "{accepted}");
    assert_ne!(value(&scratch), before);
}

/// The field names of a JSON document, sorted.
fn keys(v: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// Asserts that every document names `schema` and that all have the same field set.
fn same_fields(schema: &str, docs: &[(&str, serde_json::Value)]) {
    let (first, reference) = &docs[0];
    for (command, doc) in docs {
        assert_eq!(doc["schema"], schema, "{command}: {doc}");
        assert_eq!(
            keys(doc),
            keys(reference),
            "`{command}` and `{first}` both emit {schema} with different fields"
        );
    }
}

#[test]
fn every_command_emitting_a_schema_gives_it_the_same_fields() {
    let sim = SimProcess::start(&[]);
    let scratch = Scratch::sample();
    let smtp = "SourceCode.Net.Mail.SmtpConnection";
    let writes = vec![
        (
            "set --dry-run",
            json(&mut db(
                &scratch,
                &sim,
                &["set", smtp, "Port=2526", "--dry-run"],
            )),
        ),
        (
            "set",
            json(&mut db(&scratch, &sim, &["set", smtp, "Port=2526"])),
        ),
        (
            "rename",
            json(&mut db(
                &scratch,
                &sim,
                &["rename", smtp, "SourceCode.Net.Mail.SmtpConnection:other"],
            )),
        ),
        ("db pull", json(&mut db(&scratch, &sim, &["db", "pull"]))),
        (
            "db pull (nothing to pull)",
            json(&mut db(&scratch, &sim, &["db", "pull"])),
        ),
    ];
    same_fields("k2cse.write/1", &writes);

    let db_writes = vec![
        (
            "db push",
            json(&mut db(&scratch, &sim, &["db", "push", "--yes"])),
        ),
        (
            "db set",
            json(&mut db(
                &scratch,
                &sim,
                &[
                    "db",
                    "set",
                    "[ConnectionString:SourceCode.Net.Mail.SmtpConnection]",
                    "Host Name=smtp.denallix.com;Port=2525",
                ],
            )),
        ),
    ];
    same_fields("k2cse.db-write/1", &db_writes);

    let connection = "Data Source=sql01,1433;Initial Catalog=K2;User ID=k2admin";
    let secret = |args: &[&str], stdin: &str| {
        let mut cmd = scratch.k2cse(args);
        cmd.env("K2CSE_KEYRING", "mock")
            .write_stdin(stdin.to_owned());
        json(&mut cmd)
    };
    let secrets = vec![
        (
            "secret set",
            secret(
                &[
                    "secret",
                    "set",
                    "sql-password",
                    "--stdin",
                    "--connection",
                    connection,
                ],
                "s3cret\n",
            ),
        ),
        (
            "secret delete",
            secret(
                &[
                    "secret",
                    "delete",
                    "sql-password",
                    "--connection",
                    connection,
                ],
                "",
            ),
        ),
    ];
    same_fields("k2cse.secret/1", &secrets);
}

/// The text of every `.rs` file under `dir` (relative to the workspace), with its path.
fn sources(dir: &str) -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut pending = vec![root.join(dir)];
    let mut found = Vec::new();
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path.strip_prefix(&root).unwrap().display().to_string();
            found.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    found
}

/// Every `k2cse.<what>/<version>` named in `text`.
fn schema_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("k2cse.") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || "./-".contains(c)))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        if name.contains('/') {
            names.push(name.to_owned());
        }
        rest = &tail[end.max(1)..];
    }
    names
}

/// One typed struct per documented schema: each schema of docs/cli.md's "JSON output" is named
/// exactly once in the code, as a struct's schema (`const NAME` of `core::report`, or the
/// `schema` field of a typed struct), and no front end builds a document with `json!`.
#[test]
fn every_documented_schema_has_exactly_one_typed_struct() {
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md"),
    )
    .unwrap();
    let mut documented: Vec<String> = docs
        .lines()
        .filter(|l| l.starts_with("### `k2cse."))
        .flat_map(schema_names)
        .collect();
    documented.sort();
    documented.dedup();
    assert!(documented.len() >= 20, "{documented:?}");

    let mut code = sources("crates/core/src/report");
    code.extend(
        sources("crates/core/src")
            .into_iter()
            .filter(|(p, _)| p.ends_with("report.rs")),
    );
    for front_end in ["crates/cli/src", "crates/gui/src", "crates/ansible/src"] {
        code.extend(sources(front_end));
    }
    let mut typed: Vec<String> = Vec::new();
    for (path, text) in &code {
        // Unit tests may name a schema to check it (or build JSON to compare writers): the
        // part after `#[cfg(test)]`, and the `*_tests.rs` files such a module includes.
        if path.ends_with("_tests.rs") {
            continue;
        }
        let text = text.split("#[cfg(test)]").next().unwrap();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with("//") {
                continue;
            }
            for name in schema_names(line) {
                let quoted = format!("\"{name}\"");
                let is_struct =
                    line.starts_with("const NAME: &'static str = ") || line.starts_with("schema: ");
                assert!(
                    is_struct && line.contains(&quoted),
                    "{path}: schema {name} named outside a typed struct: {line}"
                );
                typed.push(name);
            }
        }
        // The Ansible module's own results are Ansible's format, not a k2cse schema.
        assert!(
            path.starts_with("crates/ansible") || !text.contains("json!("),
            "{path} builds JSON with `json!`: give the document a typed struct in core::report"
        );
    }
    typed.sort();
    let mut once = typed.clone();
    once.dedup();
    assert_eq!(typed, once, "a schema has more than one struct");
    assert_eq!(once, documented, "typed schemas vs docs/cli.md");
}

/// The fields of an object, in document order.
fn fields(v: &serde_json::Value) -> Vec<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

/// Asserts that `doc` is a `schema` document with exactly the `documented` fields, in order.
fn expect(doc: &serde_json::Value, schema: &str, documented: &[&str]) {
    assert_eq!(doc["schema"], schema, "{doc}");
    let mut want: Vec<String> = documented.iter().map(|f| (*f).to_owned()).collect();
    want.insert(0, "schema".to_owned());
    assert_eq!(fields(doc), want, "{schema}");
}

/// The schemas given a typed struct keep the fields docs/cli.md lists, in every command that
/// prints them: what JSON consumers (and the Ansible module) read.
#[test]
fn the_show_and_db_schemas_keep_their_documented_fields() {
    let sim = SimProcess::start(&[]);
    let scratch = Scratch::sample();
    let show = json(&mut db(
        &scratch,
        &sim,
        &["show", "SourceCode.Net.Mail.SmtpConnection"],
    ));
    expect(&show, "k2cse.show/1", &["entry", "findings"]);
    let entry = &show["entry"];
    assert!(
        entry["kind_title"].is_string() && entry["unset_keys"].is_array(),
        "{entry}"
    );
    assert!(
        entry["pairs"].is_array() && entry["name"].is_string(),
        "{entry}"
    );
    for unset in entry["unset_keys"].as_array().unwrap() {
        assert_eq!(fields(unset), ["key", "default", "description"]);
    }

    let status = json(&mut db(&scratch, &sim, &["db", "status"]));
    expect(
        &status,
        "k2cse.db-status/1",
        &[
            "server",
            "database",
            "version",
            "product_version",
            "compatibility_level",
            "collation",
            "table_shape",
            "configuration_table",
            "master_key",
            "certificate",
            "symmetric_key",
            "keys_open",
            "keys",
            "use_sql_encryption",
        ],
    );
    assert_eq!(
        fields(&status["table_shape"]),
        [
            "variable_value",
            "encrypted",
            "writable",
            "encrypted_values"
        ]
    );

    let drift = json(&mut db(&scratch, &sim, &["db", "drift"]));
    expect(&drift, "k2cse.db-drift/1", &["entries", "different"]);
    for e in drift["entries"].as_array().unwrap() {
        assert_eq!(
            fields(e),
            [
                "entry",
                "token",
                "link",
                "encrypted",
                "state",
                "file_value",
                "db_value"
            ]
        );
        assert!(e["state"]["state"].is_string(), "{e}");
    }

    let discover = json(&mut db(&scratch, &sim, &["db", "discover"]));
    expect(&discover, "k2cse.db-discover/1", &["tokens", "unreadable"]);
    let tokens = discover["tokens"].as_array().unwrap();
    assert!(!tokens.is_empty());
    for t in tokens {
        assert_eq!(fields(t), ["token", "encrypted", "linked_to", "matches"]);
        for m in t["matches"].as_array().unwrap() {
            assert_eq!(fields(m), ["entry", "match"]);
        }
    }
}

/// As [`the_show_and_db_schemas_keep_their_documented_fields`], for `backup`.
#[test]
fn the_backup_schemas_keep_their_documented_fields() {
    let sim = SimProcess::start(&[]);
    let scratch = Scratch::sample();
    let created = json(&mut db(&scratch, &sim, &["backup", "create"]));
    let shown = ["path", "verified", "manifest"];
    expect(&created, "k2cse.backup/1", &shown);
    let path = created["path"].as_str().unwrap().to_owned();
    expect(
        &json(&mut db(&scratch, &sim, &["backup", "show", &path])),
        "k2cse.backup-show/1",
        &shown,
    );
    expect(
        &json(&mut db(&scratch, &sim, &["backup", "verify", &path])),
        "k2cse.backup-verify/1",
        &shown,
    );

    let plan = [
        "backup",
        "dry_run",
        "changed",
        "diff",
        "rows",
        "warnings",
        "report",
        "recovered",
        "next_steps",
    ];
    expect(
        &json(&mut db(
            &scratch,
            &sim,
            &["backup", "restore", &path, "--dry-run"],
        )),
        "k2cse.backup-restore/1",
        &plan,
    );
    db(
        &scratch,
        &sim,
        &["set", "SourceCode.Net.Mail.SmtpConnection", "Port=2600"],
    )
    .assert()
    .success();
    let restored = json(&mut db(
        &scratch,
        &sim,
        &["backup", "restore", &path, "--yes"],
    ));
    expect(&restored, "k2cse.backup-restore/1", &plan);
    assert_eq!(
        fields(&restored["report"]),
        ["pre_restore_backup", "files", "rows_changed"]
    );
}

/// The `db push` a save suggests is the one that brings the entry's token up to date.
#[test]
fn the_push_a_save_suggests_brings_the_token_in_sync() {
    let sim = SimProcess::start(&[]);
    let scratch = Scratch::sample();
    let smtp = "SourceCode.Net.Mail.SmtpConnection";
    let state = |scratch: &Scratch| {
        let drift = json(&mut db(scratch, &sim, &["db", "drift"]));
        drift["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["entry"] == smtp)
            .unwrap()["state"]["state"]
            .clone()
    };
    let saved = json(&mut db(&scratch, &sim, &["set", smtp, "Port=2600"]));
    assert_eq!(state(&scratch), "differs");
    let steps = saved["next_steps"].as_array().unwrap();
    let push = steps.iter().find(|s| s["step"] == "db-push").unwrap();
    assert_eq!(push["entries"], serde_json::json!([smtp]));
    let command: Vec<&str> = push["command"].as_str().unwrap().split(' ').collect();
    assert_eq!(command[..3], ["k2cse", "db", "push"]);
    let mut args = command[1..].to_vec();
    args.push("--yes");
    db(&scratch, &sim, &args).assert().success();
    assert_eq!(state(&scratch), "in-sync");
}
