//! The simulator speaks real TDS: clients no one here wrote connect to the `k2cse-mssql-sim`
//! binary and read `[HostServer].[Configuration]`. FreeTDS `tsql` (Debian `freetds-bin`) and
//! python-tds (from `PyPI`) are installed by scripts/setup.sh; a missing client fails the test.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use k2cse_tests::sim::{SA_PASSWORD, SimProcess};

fn tsql(
    sim: &SimProcess,
    config: Option<&std::path::Path>,
    password: &str,
    script: &str,
) -> (String, String) {
    let mut cmd = Command::new("tsql");
    match config {
        Some(conf) => cmd.env("FREETDSCONF", conf).args(["-S", "sim"]),
        None => cmd.args(["-H", "127.0.0.1", "-p", &sim.port.to_string(), "-D", "K2"]),
    };
    let mut child = cmd
        .args(["-U", "sa", "-P", password])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("FreeTDS tsql is needed for this test ({e}); run scripts/setup.sh (Debian package freetds-bin)"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const QUERY: &str = "SELECT VariableToken, Encrypted, CONVERT(NVARCHAR(MAX), VariableValue) AS v FROM [HostServer].[Configuration] WHERE Encrypted = 0\ngo\nSELECT COUNT(*) AS n FROM [HostServer].[Configuration]\ngo\nexit\n";

#[test]
fn freetds_tsql_reads_the_k2_tokens() {
    let sim = SimProcess::start(&[]);
    let (out, err) = tsql(&sim, None, SA_PASSWORD, QUERY);
    assert!(
        out.contains("[K2SERVER]\t0\tK2SERVER01"),
        "stdout:\n{out}\nstderr:\n{err}"
    );
    assert!(out.contains("[USESQLENCRYPTION]\t0\ttrue"), "{out}");
    assert!(
        out.contains("(4 rows affected)") && out.contains("\n9\n"),
        "{out}"
    );
}

#[test]
fn freetds_tsql_with_tls_required() {
    let sim = SimProcess::start(&["--encryption", "forced"]);
    let conf = sim.data.path().join("freetds.conf");
    std::fs::write(&conf, format!("[sim]\n\thost = 127.0.0.1\n\tport = {}\n\ttds version = 7.4\n\tencryption = require\n\tdatabase = K2\n", sim.port)).unwrap();
    let (out, err) = tsql(&sim, Some(&conf), SA_PASSWORD, QUERY);
    assert!(
        out.contains("[K2SERVER]\t0\tK2SERVER01"),
        "stdout:\n{out}\nstderr:\n{err}"
    );
}

#[test]
fn freetds_tsql_sees_login_failed() {
    let sim = SimProcess::start(&[]);
    let (out, err) = tsql(&sim, None, "wrong", QUERY);
    assert!(
        format!("{out}{err}").contains("Login failed for user 'sa'"),
        "stdout:\n{out}\nstderr:\n{err}"
    );
}

#[test]
fn python_tds_reads_writes_and_rolls_back() {
    let sim = SimProcess::start(&[]);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/pytds_check.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(sim.port.to_string())
        .arg(SA_PASSWORD)
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed for this test ({e}); run scripts/setup.sh"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python-tds failed (scripts/setup.sh installs it with pip):\n{stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["k2server"],
        serde_json::json!([["[K2SERVER]", false, "K2SERVER01"]])
    );
    assert_eq!(v["count"], 9);
    assert_eq!(v["updated"], 1);
    assert_eq!(v["after_rollback"], "K2SERVER01");
    assert_eq!(v["encrypted_with_key_closed"], serde_json::Value::Null);
}
