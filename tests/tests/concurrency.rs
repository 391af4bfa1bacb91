//! Concurrent editors of one config: no update is ever lost. Whoever saves second, having
//! loaded the file before the first save, is refused with a clear message; every save that
//! succeeded is in the final file.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::fmt::Write as _;
use std::process::Stdio;

use k2cse_core::edit::Values;
use k2cse_core::lint::LintOptions;
use k2cse_core::save::SaveOptions;
use k2cse_core::{Change, Document, EditSession, Error};
use k2cse_tests::fixtures::{SAMPLE, Scratch};

const EWS: &str = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection";

fn set_port(port: &str) -> Change {
    Change::Set {
        name: "SourceCode.Net.Mail.SmtpConnection".into(),
        values: Values::from_pairs([("Port", port)]),
    }
}

#[test]
fn the_later_of_two_sessions_is_refused_and_the_first_save_stays() {
    let s = Scratch::sample();
    let session = || {
        EditSession::new(
            Document::load(&s.config).unwrap(),
            LintOptions::default(),
            false,
        )
        .unwrap()
    };
    // Two editors (say the CLI and the GUI) load the same file.
    let mut first = session();
    let mut second = session();
    first.apply(set_port("587")).unwrap();
    second.apply(set_port("2525")).unwrap();
    first.save(&SaveOptions::default(), false).unwrap();
    let err = second.save(&SaveOptions::default(), false).unwrap_err();
    assert!(matches!(err, Error::ChangedOnDisk { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("changed on disk since it was loaded; nothing was written"),
        "{err}"
    );
    assert!(s.text().contains("Port=587;"), "the first save is kept");
}

#[test]
fn concurrent_processes_never_lose_an_update() {
    // The sample plus 40 entries, each process edits its own.
    let text = String::from_utf8(SAMPLE.to_vec()).unwrap();
    let at = text.find("  </connectionStrings>").unwrap();
    let mut extra = String::new();
    for i in 0..40 {
        let _ = write!(
            extra,
            "    <add name=\"{EWS}:u{i:02}@denallix.com\" connectionString=\"Autodiscover=False;OAuth Resource=EWS;OAuth Resource Audience=https://outlook.office365.com;User ID=u{i:02}@denallix.com;Poll Interval=1M\" />\r\n"
        );
    }
    let config = format!("{}{extra}{}", &text[..at], &text[at..]);
    let s = Scratch::with(config.as_bytes());
    for round in 0..3 {
        let children: Vec<_> = (0..16)
            .map(|i| {
                let name = format!("{EWS}:u{:02}@denallix.com", (round * 13 + i) % 40);
                let mut cmd = std::process::Command::new(k2cse_tests::fixtures::binary("k2cse"));
                cmd.current_dir(s.dir.path())
                    .env("K2CSE_KEYRING", "mock")
                    .env_remove("K2CSE_CONFIG")
                    .args(["--config", s.config.to_str().unwrap(), "set", &name])
                    .arg(format!("Poll Interval={}M", 10 + round))
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped());
                (name, cmd.spawn().unwrap())
            })
            .collect();
        let mut succeeded = Vec::new();
        let mut refused = 0;
        for (name, child) in children {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.success() {
                succeeded.push(name);
            } else {
                assert!(
                    stderr.contains("changed on disk since it was loaded"),
                    "a failure other than a refused lost update: {stderr}"
                );
                refused += 1;
            }
        }
        let doc = Document::load(&s.config).unwrap();
        for name in &succeeded {
            let entry = doc.entry(name).unwrap();
            assert_eq!(
                entry.get("Poll Interval"),
                Some(format!("{}M", 10 + round).as_str()),
                "round {round}: {name} reported success but its change is not in the file"
            );
        }
        assert!(!succeeded.is_empty());
        println!(
            "round {round}: {} saved, {refused} refused",
            succeeded.len()
        );
    }
}
