//! A suite-wide check that secrets stay secret: every k2cse command that reads or writes a
//! config (success and failure paths, text and JSON) runs on an encrypted config whose secrets
//! carry a marker, and the marker must never appear in what k2cse prints, in any file it
//! leaves in the folder (temporaries, backups, the config itself) or in its temp folder.
//! `--reveal`, which asks for secrets, is the one exception and is not run here.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::path::Path;

use k2cse_tests::fixtures::{Scratch, files_under, plain_k2};

/// Every secret of the test config contains it.
const MARKER: &str = "Mk7Q-zz-SECRET";

const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com";

fn key() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/keys/k2-test-key.xml")
        .to_str()
        .unwrap()
        .to_owned()
}

/// The K2 sample, its secrets marked, with an unknown entry type holding secret-named keys and
/// a URL with user-info, and a commented-out old entry; then encrypted.
fn marked_config() -> Scratch {
    let text = plain_k2(false)
        .replace("S3cret!Pass", &format!("{MARKER}-smtp"))
        .replace("P@ss;w0rd", &format!("{MARKER}-ews"))
        .replace("9f8e7d6c", &format!("{MARKER}-api"))
        .replacen(
            "  </connectionStrings>",
            &format!(
                "    <!-- was: <add name=\"Old\" connectionString=\"Host=h;Password={MARKER}-old\" /> -->\r\n    <add name=\"Custom.Vault\" connectionString=\"passwd={MARKER}-1;Passphrase={MARKER}-2;Private Key={MARKER}-3;AccessKey={MARKER}-4;SAS={MARKER}-5;Url=https://svc:{MARKER}-6@vault.example.com/\" />\r\n  </connectionStrings>"
            ),
            1,
        );
    let s = Scratch::with(text.as_bytes());
    s.k2cse(&["-k", &key(), "protect", "--no-backup"])
        .assert()
        .success();
    s
}

#[test]
fn the_secret_marker_never_leaves_k2cse_in_clear() {
    let s = marked_config();
    let dir = s.dir.path();
    let tmp = dir.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let batch_bad = dir.join("bad.input");
    std::fs::write(
        &batch_bad,
        format!("[[change]]\nop = \"set\"\nname = \"{SMTP}\"\nvalues = {{ Password = \"{MARKER}-b\", Port = 1.5 }}\n"),
    )
    .unwrap();
    let batch_ok = dir.join("ok.input");
    std::fs::write(
        &batch_ok,
        format!("[[change]]\nop = \"set\"\nname = \"{SMTP}\"\nvalues = {{ Password = \"{MARKER}-c\" }}\n"),
    )
    .unwrap();
    let bad = batch_bad.to_str().unwrap();
    let ok = batch_ok.to_str().unwrap();
    let new_password = format!("Password={MARKER}-new");
    let runs: Vec<(Vec<&str>, Option<String>)> = vec![
        (vec!["list"], None),
        (vec!["list", "--long"], None),
        (vec!["--json", "list", "--long"], None),
        (vec!["show", SMTP], None),
        (vec!["show", "Custom.Vault", "--all"], None),
        (vec!["--json", "show", "Custom.Vault"], None),
        (vec!["lint"], None),
        (vec!["--json", "lint"], None),
        (vec!["set", SMTP, &new_password, "--dry-run"], None),
        (vec!["--json", "set", SMTP, "Port=2525", "--dry-run"], None),
        (vec!["set", "Custom.Vault", "Port=1", "--dry-run"], None),
        (
            vec![
                "rename",
                SMTP,
                "SourceCode.Net.Mail.SmtpConnection:x@denallix.com",
                "--dry-run",
            ],
            None,
        ),
        (vec!["apply", bad], None),
        (vec!["--json", "apply", bad], None),
        (vec!["apply", ok, "--dry-run"], None),
        (
            vec!["set", SMTP, "--stdin", "Password"],
            Some(format!("{MARKER}-stdin\n")),
        ),
        (vec!["set", SMTP, &new_password], None),
        (vec!["set", SMTP, "Port=2526"], None),
        (vec!["--json", "set", SMTP, "Port=2527"], None),
        (
            vec!["replace", "Custom.Vault", "--stdin"],
            Some(format!("Pwd={MARKER}-r;Port=2\n")),
        ),
        (vec!["unset", "Custom.Vault", "Port"], None),
        (vec!["apply", ok], None),
        (vec!["set", "NoSuchEntry", &new_password], None),
        (vec!["backup", "create", "--only", "file"], None),
        (vec!["backup", "list"], None),
        (vec!["backup", "show", "latest"], None),
        (vec!["backup", "verify", "latest"], None),
        (vec!["backup", "restore", "latest", "--dry-run"], None),
        (
            vec!["--json", "backup", "restore", "latest", "--dry-run"],
            None,
        ),
        (vec!["backup", "restore", "latest", "--yes"], None),
        (vec!["unprotect", "--dry-run"], None),
    ];
    for (args, stdin) in &runs {
        let mut cmd = s.k2cse(&[&["-k", &key()][..], args].concat());
        cmd.env("TMPDIR", &tmp);
        if let Some(input) = stdin {
            cmd.write_stdin(input.as_str());
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stdout.contains(MARKER) && !stderr.contains(MARKER),
            "{args:?} printed a secret:\n{stdout}\n{stderr}"
        );
        for file in files_under(dir) {
            if file == batch_bad || file == batch_ok {
                continue;
            }
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                memchr::memmem::find(&bytes, MARKER.as_bytes()).is_none(),
                "{args:?} left a secret in clear in {}",
                file.display()
            );
        }
    }
    // The runs did real work: backups exist (encrypted section inside), edits landed.
    assert!(!s.backups().is_empty());
    let revealed = s
        .k2cse(&["-k", &key(), "--reveal", "show", SMTP])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&revealed.stdout).contains(MARKER));
}

/// Error and warning paths that carry connection-string text: a password holding an unquoted
/// `;` (the config does not parse as .NET reads it), an unterminated quote, `--connection`
/// strings that are refused or cannot connect, malformed values on the command line, TOML
/// syntax and type errors in a batch. The marker must never be printed (text or `--json`).
#[test]
fn error_paths_never_show_the_secret_marker() {
    let plain = plain_k2(false);
    let configs = [
        plain.replace("S3cret!Pass", &format!("{MARKER}-a;{MARKER}-b")),
        plain.replace("S3cret!Pass", &format!("&quot;{MARKER}-c")),
        plain.replace("S3cret!Pass", &format!("'{MARKER}-d;x")),
        plain.replace(
            "S3cret!Pass",
            &format!("{MARKER}-e;Pwd={MARKER}-f;{MARKER}-g"),
        ),
    ];
    let conn_refused = format!(
        "Data Source=127.0.0.1,1;User ID=sa;Password={MARKER}-h;Encrypt=False;Connect Timeout=2"
    );
    let conn_syntax = format!("Data Source=x;User ID=sa;Password={MARKER}-i;Encrypt");
    let conn_unsupported =
        format!("Data Source=x;Password={MARKER}-j;Authentication=ActiveDirectoryPassword");
    let conn_semicolon = format!("Data Source=x;Password={MARKER}-k;{MARKER}-l");
    let conn_quote = format!("Data Source=x;Password='{MARKER}-m");
    let bad_value = format!("Password={MARKER}-n;{MARKER}-o");
    let bad_quote = format!("Password=\"{MARKER}-p");
    let empty_key = format!("={MARKER}-s");
    for text in &configs {
        let s = Scratch::with(text.as_bytes());
        let dir = s.dir.path();
        let toml_syntax = dir.join("syntax.input");
        std::fs::write(
            &toml_syntax,
            format!(
                "[[change]]\nop = \"set\"\nname = \"{SMTP}\"\nvalues = {{ Password = \"{MARKER}-q\", Port = }}\n"
            ),
        )
        .unwrap();
        let toml_type = dir.join("type.input");
        std::fs::write(
            &toml_type,
            format!(
                "[[change]]\nop = \"set\"\nname = \"{SMTP}\"\nvalues = {{ Password = [\"{MARKER}-r\"] }}\n"
            ),
        )
        .unwrap();
        let runs: Vec<Vec<&str>> = vec![
            vec!["list"],
            vec!["list", "--long"],
            vec!["show", SMTP],
            vec!["show", SMTP, "--all"],
            vec!["lint"],
            vec!["get", SMTP, "Password"],
            vec!["set", SMTP, "Port=2525"],
            vec!["set", SMTP, &bad_value, "--dry-run"],
            vec!["set", SMTP, &bad_quote, "--dry-run"],
            vec!["set", SMTP, &empty_key],
            vec!["replace", SMTP, &bad_value, "--dry-run"],
            vec!["add", "New.Entry", &bad_quote, "--dry-run"],
            vec!["apply", toml_syntax.to_str().unwrap()],
            vec!["apply", toml_type.to_str().unwrap()],
            vec!["db", "status", "--connection", &conn_refused],
            vec!["db", "status", "--connection", &conn_syntax],
            vec!["db", "status", "--connection", &conn_unsupported],
            vec!["db", "status", "--connection", &conn_semicolon],
            vec!["db", "tokens", "--connection", &conn_quote],
            vec!["db", "drift"],
            vec!["backup", "create"],
        ];
        for args in &runs {
            for json in [false, true] {
                let mut cmd =
                    s.k2cse(&[if json { &["--json"][..] } else { &[][..] }, args].concat());
                cmd.env("K2CSE_KEYRING", "mock")
                    .timeout(std::time::Duration::from_mins(1));
                let out = cmd.output().unwrap();
                let stdout = String::from_utf8_lossy(&out.stdout);
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(
                    !stdout.contains(MARKER) && !stderr.contains(MARKER),
                    "{args:?} (json: {json}) printed a secret:\n{stdout}\n{stderr}"
                );
            }
        }
    }
}
