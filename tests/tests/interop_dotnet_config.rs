//! Interop: after k2cse edits a config file, .NET's own `System.Configuration` (Mono's class
//! library, `ConfigurationManager.OpenMappedExeConfiguration`, the API K2 and its vendor tool
//! use) reads exactly the values k2cse says the file holds.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::collections::BTreeMap;
use std::path::Path;

use k2cse_tests::fixtures::{Scratch, k2cse_view, sample_text, utf16};
use k2cse_tests::mono;

/// Connection strings as .NET sees them (machine.config's defaults left out).
fn dotnet_view(config: &Path) -> BTreeMap<String, String> {
    let exe = mono::oracle("ConfigReader");
    let out = mono::run(&exe, &[config.to_str().unwrap()], "");
    out.lines()
        .map(|l| {
            let (name, value) = l.split_once(' ').unwrap();
            (mono::unhex(name), mono::unhex(value))
        })
        .filter(|(name, _)| !name.starts_with("LocalSql"))
        .collect()
}

const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection";
const SMTP_NOTIFY: &str = "SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com";
const NEW_EWS: &str = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:hr@denallix.com";

fn edit(s: &Scratch) {
    let tricky = "Host Name=relay <\"edge\"> & 'co' é 😀";
    for args in [
        vec!["set", SMTP, tricky, "Port=2525"],
        vec![
            "set",
            SMTP_NOTIFY,
            "Password=p;w='x\"y",
            "User ID=  spaced  ",
        ],
        vec!["unset", SMTP_NOTIFY, "TLS"],
        vec![
            "add",
            NEW_EWS,
            "Autodiscover=True",
            "User ID=hr@denallix.com",
            "Poll Interval=2M",
        ],
        vec![
            "rename",
            "SourceCode.Custom.ArchiveStore",
            "SourceCode.Custom.ArchiveStore:eu",
        ],
        vec!["remove", "HostServer"],
        vec![
            "replace",
            "HostserverDB",
            "Data Source=tcp:SQL02,1433;Initial Catalog=K2;Integrated Security=SSPI",
        ],
    ] {
        s.k2cse(&args).assert().success();
    }
}

#[test]
fn dotnet_reads_what_k2cse_wrote() {
    let s = Scratch::sample();
    assert_eq!(
        dotnet_view(&s.config),
        k2cse_view(&s.config),
        "before editing"
    );
    edit(&s);
    let dotnet = dotnet_view(&s.config);
    assert_eq!(dotnet, k2cse_view(&s.config));
    // And those are the values asked for.
    assert_eq!(
        dotnet[SMTP],
        "Host Name=\"relay <\"\"edge\"\"> & 'co' é 😀\";Port=2525;TLS=StartTls;Authentication=Anonymous"
    );
    assert!(
        dotnet[SMTP_NOTIFY].ends_with(";User ID=\"  spaced  \";Password=\"p;w='x\"\"y\""),
        "{}",
        dotnet[SMTP_NOTIFY]
    );
    assert_eq!(
        dotnet[NEW_EWS],
        "Autodiscover=True;User ID=hr@denallix.com;Poll Interval=2M"
    );
    assert!(dotnet.contains_key("SourceCode.Custom.ArchiveStore:eu"));
    assert!(!dotnet.contains_key("HostServer"));
    assert_eq!(dotnet.len(), 8);
}

#[test]
fn dotnet_reads_utf16_files_k2cse_wrote() {
    let text = sample_text().replace("encoding=\"utf-8\"", "encoding=\"utf-16\"");
    let s = Scratch::with(&utf16(&text, true));
    edit(&s);
    assert_eq!(s.bytes()[..2], [0xFF, 0xFE]);
    assert_eq!(dotnet_view(&s.config), k2cse_view(&s.config));
}

#[test]
fn dotnet_reads_config_source_files_k2cse_wrote() {
    let s = Scratch::with(b"<?xml version=\"1.0\"?>\n<configuration>\n  <connectionStrings configSource=\"connections.config\" />\n</configuration>\n");
    std::fs::write(s.dir.path().join("connections.config"), "<connectionStrings>\n  <add name=\"HostserverDB\" connectionString=\"Data Source=x\" />\n</connectionStrings>\n").unwrap();
    s.k2cse(&["add", SMTP, "Host Name=smtp.x.com"])
        .assert()
        .success();
    s.k2cse(&["set", "HostserverDB", "Initial Catalog=K2"])
        .assert()
        .success();
    let dotnet = dotnet_view(&s.config);
    assert_eq!(dotnet, k2cse_view(&s.config));
    assert_eq!(dotnet["HostserverDB"], "Data Source=x;Initial Catalog=K2");
    assert_eq!(dotnet[SMTP], "Host Name=smtp.x.com");
}
