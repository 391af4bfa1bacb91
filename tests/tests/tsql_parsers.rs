//! Every statement k2cse can send parses with two independent T-SQL parsers (sqlglot and
//! sqlfluff, `tsql` dialect), through `scripts/check-tsql.py` — which also checks that both
//! parsers reject a function call inside `EXEC (...)`, as SQL Server does. Fails (never
//! skips) when python3 or a parser is missing: scripts/setup.sh installs them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn every_statement_parses_with_independent_tsql_parsers() {
    let statements: Vec<serde_json::Value> = k2cse_core::db::sql::catalogue()
        .into_iter()
        .map(|(name, sql)| serde_json::json!({ "name": name, "sql": sql }))
        .collect();
    assert!(
        statements.len() > 50,
        "every shape and batch size is listed"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalogue.json");
    std::fs::write(&file, serde_json::Value::Array(statements).to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/check-tsql.py");
    let out = Command::new("python3")
        .arg(script)
        .arg("--catalogue")
        .arg(&file)
        .output()
        .expect("python3 is needed for the T-SQL parser check (scripts/setup.sh)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(": 0 failures"), "{stdout}");
}
