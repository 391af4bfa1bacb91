//! Duplicate names repaired from the command line: `--nth N` / `--line L` pick one of several
//! same-named entries (a file .NET refuses: "Duplicate element in collection"), and .NET reads
//! the repaired file (Mono's `ConfigurationManager`).
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use k2cse_tests::fixtures::Scratch;
use k2cse_tests::mono;
use predicates::prelude::*;

const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection";
const EWS: &str = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection";

fn config() -> Scratch {
    Scratch::with(
        format!(
            "<?xml version=\"1.0\"?>\n<configuration>\n  <connectionStrings>\n    <add name=\"HostserverDB\" connectionString=\"Data Source=SQL01;Initial Catalog=K2;Integrated Security=SSPI\" />\n    <add name=\"{SMTP}\" connectionString=\"Host Name=relay1;Port=25\" />\n    <add name=\"{SMTP}\" connectionString=\"Host Name=relay2;Port=25\" />\n    <add name=\"HostserverDB\" connectionString=\"Data Source=SQL02;Initial Catalog=K2;Integrated Security=SSPI\" />\n  </connectionStrings>\n</configuration>\n"
        )
        .as_bytes(),
    )
}

#[test]
fn a_duplicate_pair_is_repaired_with_nth_and_line() {
    let s = config();
    assert!(
        mono::config_view(&s.config)
            .unwrap_err()
            .contains("Duplicate")
    );
    let before = s.bytes();
    // Without a pick: refused, and the message says how to pick.
    s.k2cse(&["show", SMTP])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--nth").and(predicate::str::contains("--line")));
    s.k2cse(&["remove", SMTP]).assert().code(1);
    assert_eq!(s.bytes(), before, "remove without a pick deletes nothing");
    // Each one can be shown, set and replaced.
    s.k2cse(&["show", SMTP, "--nth", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("relay2"));
    s.k2cse(&["show", SMTP, "--line", "5"])
        .assert()
        .success()
        .stdout(predicate::str::contains("relay1"));
    s.k2cse(&["show", SMTP, "--nth", "3"]).assert().code(1);
    s.k2cse(&["set", SMTP, "--nth", "1", "Port=587"])
        .assert()
        .success();
    s.k2cse(&["replace", SMTP, "--line", "6", "Host Name=relay3"])
        .assert()
        .success();
    // The repair: remove one SMTP duplicate, rename the other HostserverDB aside (a
    // duplicate's removal is not a HostserverDB removal: no --force needed).
    s.k2cse(&["remove", SMTP, "--nth", "2"]).assert().success();
    s.k2cse(&["remove", "HostserverDB", "--line", "6"])
        .assert()
        .success();
    let dotnet = mono::config_view(&s.config).unwrap();
    assert_eq!(dotnet[SMTP], "Host Name=relay1;Port=587");
    assert_eq!(
        dotnet["HostserverDB"],
        "Data Source=SQL01;Initial Catalog=K2;Integrated Security=SSPI"
    );
    assert_eq!(dotnet.len(), 2);
}

#[test]
fn rename_picks_one_and_validates_the_new_name_as_add_does() {
    let s = config();
    s.k2cse(&[
        "rename",
        SMTP,
        &format!("{SMTP}:alerts@x.com"),
        "--nth",
        "2",
    ])
    .assert()
    .success();
    // An EWS name needs its mailbox, for rename as for add.
    s.k2cse(&["rename", &format!("{SMTP}:alerts@x.com"), EWS])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("target entity"));
    s.k2cse(&[
        "rename",
        "HostserverDB",
        "HostserverDB:x",
        "--nth",
        "2",
        "--force",
    ])
    .assert()
    .success();
    let dotnet = mono::config_view(&s.config).unwrap();
    assert_eq!(
        dotnet[&format!("{SMTP}:alerts@x.com")],
        "Host Name=relay2;Port=25"
    );
    assert_eq!(dotnet[SMTP], "Host Name=relay1;Port=25");
    assert_eq!(dotnet.len(), 4);
}
