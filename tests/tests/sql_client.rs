//! `HostserverDB` as K2's SQL client reads it: for each connection string, k2cse's lint finds
//! an error exactly when the SQL client refuses it. The oracle is Mono's `SqlConnection`, for
//! the keywords where Mono's client and .NET Framework 4.8's agree; where they differ (Mono
//! lacks some .NET Framework keywords) the .NET Framework reference source decides, and the
//! difference is listed here and in docs/k2-entries.md.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use k2cse_core::entry::schema::{SQL_KEYS, ValueType};
use k2cse_tests::fixtures::Scratch;
use k2cse_tests::mono;

/// .NET Framework 4.8 keywords Mono's `System.Data.SqlClient` (from .NET Core) does not
/// accept ("Keyword not supported" or "not supported on this platform").
const MONO_LACKS: &[&str] = &[
    "Authentication",
    "TransparentNetworkIPResolution",
    "Column Encryption Setting",
    "Enclave Attestation Url",
    "PoolBlockingPeriod",
    "Network Library",
    "Net",
    "Network",
    "Asynchronous Processing",
    "Async",
    "Context Connection",
    "Connection Reset",
];

/// Strings the issue names, and the edge cases around them.
const CASES: &[&str] = &[
    "Encrypt=banana",
    "Encrypt=Strict",
    "Encrypt=Mandatory",
    "Encrypt=Optional",
    "Encrypt=yes",
    "Encrypt= True ",
    "Command Timeout=60",
    "Host Name In Certificate=sql.denallix.com",
    "HostNameInCertificate=sql.denallix.com",
    "Server SPN=MSSQLSvc/sql01:1433",
    "Failover Partner SPN=x",
    "IP Address Preference=IPv4First",
    "Server Certificate=c:\\cert.cer",
    "Application Intent=ReadOnly",
    "ApplicationIntent=readonly",
    "ApplicationIntent=Read",
    "Trust Server Certificate=True",
    "Multiple Active Result Sets=True",
    "Connect Retry Count=3",
    "ConnectRetryCount=300",
    "ConnectRetryInterval=0",
    "Packet Size=100",
    "Packet Size=32768",
    "Max Pool Size=0",
    "Min Pool Size=10;Max Pool Size=5",
    "Connect Timeout=-1",
    "Connect Timeout= 15 ",
    "Connect Timeout=0x10",
    "Timeout=abc",
    "Integrated Security=SSPI",
    "Integrated Security=sspi ",
    "Trusted_Connection=maybe",
    "Pooling=banana",
    "Pooling=no",
    "Type System Version=SQL Server 2012",
    "Type System Version=SQL Server 2019",
    "Transaction Binding=Explicit Unbind",
    "Transaction Binding=Unbind",
    "Initial\nCatalog=K2",
];

fn sample_value(t: ValueType) -> String {
    match t {
        ValueType::Bool => "False".into(),
        ValueType::Int { min, .. } => min.to_string(),
        ValueType::Enum { values } => values[0].into(),
        _ => "x".into(),
    }
}

#[test]
fn lint_errors_exactly_where_the_sql_client_throws() {
    let mut strings: Vec<String> = CASES
        .iter()
        .map(|c| format!("Data Source=SQL01;Initial Catalog=K2;{c}"))
        .collect();
    // Every keyword and synonym of the table, with a value of its type.
    for spec in SQL_KEYS {
        for k in std::iter::once(&spec.name).chain(spec.synonyms) {
            if MONO_LACKS.iter().any(|m| m.eq_ignore_ascii_case(k)) {
                continue;
            }
            let v = match spec.name {
                "Packet Size" => "4096".to_owned(),
                "ConnectRetryInterval" | "Max Pool Size" => "10".to_owned(),
                "Data Source" | "Initial Catalog" => "K2".to_owned(),
                _ => sample_value(spec.value_type),
            };
            strings.push(format!("Data Source=SQL01;Initial Catalog=K2;{k}={v}"));
        }
    }
    // The oracle.
    let exe = mono::oracle("SqlClientOracle");
    let stdin: String = strings
        .iter()
        .map(|s| mono::hex(s.as_bytes()) + "\n")
        .collect();
    let answers = mono::run(&exe, &[], &stdin);
    let refused: Vec<bool> = answers.lines().map(|l| l.starts_with("ERR")).collect();
    assert_eq!(refused.len(), strings.len());

    // k2cse: one file, one HostserverDB:<n> entry per string.
    let mut text = String::from("<?xml version=\"1.0\"?>\n<configuration>\n<connectionStrings>\n");
    for (i, s) in strings.iter().enumerate() {
        let raw = k2cse_core::xml::attr::escape(s, '"');
        writeln!(
            text,
            "<add name=\"HostserverDB:{i}\" connectionString=\"{raw}\" />"
        )
        .unwrap();
    }
    text.push_str("</connectionStrings>\n</configuration>\n");
    let s = Scratch::with(text.as_bytes());
    let out = s.k2cse(&["lint", "--json"]).assert().code(3);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let with_errors: BTreeSet<usize> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .filter_map(|f| {
            f["entry"]
                .as_str()?
                .strip_prefix("HostserverDB:")?
                .parse()
                .ok()
        })
        .collect();

    let mismatches: Vec<String> = strings
        .iter()
        .enumerate()
        .filter(|(i, _)| refused[*i] != with_errors.contains(i))
        .map(|(i, s)| {
            format!(
                "{s:?}: SqlClient refuses: {}, k2cse error: {}",
                refused[i],
                with_errors.contains(&i)
            )
        })
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(
        refused.iter().filter(|r| **r).count() >= 25,
        "the cases must include refusals"
    );
}

#[test]
fn keywords_of_the_newer_client_name_it_in_the_hint() {
    let text = "<?xml version=\"1.0\"?>\n<configuration>\n<connectionStrings>\n<add name=\"HostserverDB\" connectionString=\"Data Source=SQL01;Initial Catalog=K2;Encrypt=Strict;Command Timeout=60;Application Intent=ReadOnly\" />\n</connectionStrings>\n</configuration>\n";
    let s = Scratch::with(text.as_bytes());
    let out = s.k2cse(&["lint"]).assert().code(3);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert_eq!(
        stdout.matches("Microsoft.Data.SqlClient").count(),
        3,
        "{stdout}"
    );
    assert!(stdout.contains("ApplicationIntent"), "{stdout}");
}

#[test]
fn removing_or_renaming_hostserverdb_needs_force() {
    let s = Scratch::sample();
    let before = s.bytes();
    let out = s.k2cse(&["remove", "HostserverDB"]).assert().code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("K2C042"), "{stderr}");
    s.k2cse(&["rename", "HostserverDB", "OldHostserverDB"])
        .assert()
        .code(3);
    // A dry run says a real run would be refused.
    s.k2cse(&["remove", "HostserverDB", "--dry-run"])
        .assert()
        .code(3);
    assert_eq!(s.bytes(), before, "nothing written");
    // Renaming within the kind (case only) is fine, and --force overrides.
    s.k2cse(&["rename", "HostserverDB", "HostServerDB"])
        .assert()
        .success();
    s.k2cse(&["remove", "HostServerDB", "--force"])
        .assert()
        .success();
    assert!(!s.text().contains("HostServerDB\""));
}
