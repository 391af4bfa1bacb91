//! Encrypted `connectionStrings` sections, end to end, against implementations no one here
//! wrote: .NET's `EncryptedXml` and `ConfigurationManager` (Mono) and `xmlsec1`.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use k2cse_core::protect::RsaKey;
use k2cse_tests::fixtures::{Scratch, declaration, files_under, listed, plain_k2, tool, tool_text};
use k2cse_tests::mono::{self, Sandbox};
use predicates::prelude::*;

const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com";
const SECRETS: &[&str] = &["S3cret!Pass", "P@ss;w0rd", "9f8e7d6c"];

fn key_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/keys")
        .join(name)
}

fn key() -> String {
    key_path("k2-test-key.xml").to_str().unwrap().to_owned()
}

/// The config encrypted by .NET's `EncryptedXml` the way `RsaProtectedConfigurationProvider` does.
fn dotnet_encrypted(oaep: bool, algorithm: &str) -> Scratch {
    let s = Scratch::with(plain_k2(false).as_bytes());
    let exe = mono::oracle("ProtectedConfig");
    let oaep_flag = if oaep { "1" } else { "0" };
    mono::run(
        &exe,
        &[
            "encrypt",
            s.config.to_str().unwrap(),
            &key(),
            oaep_flag,
            algorithm,
        ],
        "",
    );
    s
}

/// `k2cse list --json --reveal`: entry name -> connection string.
fn k2cse_entries(s: &Scratch, key: &str) -> BTreeMap<String, String> {
    listed(&mut s.k2cse(&["--key-file", key, "--reveal", "list", "--json"]))
}

fn plain_entries() -> BTreeMap<String, String> {
    let s = Scratch::with(plain_k2(false).as_bytes());
    k2cse_entries(&s, &key())
}

/// A sandboxed `ProtectedConfig` oracle whose `ConfigurationManager` can decrypt with the test
/// key (Mono looks providers up in the program's own config, not the mapped file).
fn dotnet_reader() -> Sandbox {
    let sandbox = Sandbox::new(
        "ProtectedConfig",
        "<?xml version=\"1.0\"?>\n<configuration><configProtectedData><providers>\
         <add name=\"K2ConfigurationKey\" type=\"System.Configuration.RsaProtectedConfigurationProvider, System.Configuration, Version=2.0.0.0, Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a\" keyContainerName=\"K2TestKey\" useMachineContainer=\"false\" />\
         </providers></configProtectedData></configuration>\n",
    );
    sandbox.run(&["install-key", &key(), "K2TestKey"]).unwrap();
    sandbox
}

fn dotnet_entries(reader: &Sandbox, config: &Path) -> BTreeMap<String, String> {
    mono::parse_view(&reader.run(&["read", config.to_str().unwrap()]).unwrap())
}

/// The file with the text of every `<CipherValue>` removed.
fn outside_cipher_values(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    text.split("<CipherValue>")
        .map(|p| {
            p.split_once("</CipherValue>")
                .map_or(p, |(_, rest)| rest)
                .to_owned()
        })
        .collect()
}

#[test]
fn sections_encrypted_by_dotnet_are_read_by_k2cse() {
    let expected = plain_entries();
    assert_eq!(expected.len(), 8);
    for algorithm in ["tripledes", "aes128", "aes192", "aes256"] {
        for oaep in [false, true] {
            let s = dotnet_encrypted(oaep, algorithm);
            let text = s.text();
            assert!(text.contains("configProtectionProvider=\"K2ConfigurationKey\""));
            assert!(SECRETS.iter().all(|secret| !text.contains(secret)));
            // The declaration says useOAEP="false" even for the OAEP cases: k2cse falls back.
            assert_eq!(
                k2cse_entries(&s, &key()),
                expected,
                "{algorithm} oaep={oaep}"
            );
        }
    }
}

#[test]
fn k2cse_edits_of_a_dotnet_encrypted_section_are_read_back_by_dotnet() {
    let reader = dotnet_reader();
    let s = dotnet_encrypted(false, "tripledes");
    let before = s.bytes();
    assert_eq!(
        dotnet_entries(&reader, &s.config),
        plain_entries(),
        ".NET reads its own encryption"
    );
    s.k2cse(&[
        "-k",
        &key(),
        "set",
        SMTP,
        "Password=N3w;Secret",
        "Port=2525",
    ])
    .assert()
    .success();
    s.k2cse(&[
        "-k",
        &key(),
        "add",
        "SourceCode.Net.Mail.SmtpConnection:ops@denallix.com",
        "Host Name=relay.denallix.com",
    ])
    .assert()
    .success();
    let after = s.bytes();
    assert_eq!(
        outside_cipher_values(&before),
        outside_cipher_values(&after),
        "only cipher values may change"
    );
    let seen = dotnet_entries(&reader, &s.config);
    assert_eq!(seen, k2cse_entries(&s, &key()));
    assert!(
        seen[SMTP].contains("Port=2525") && seen[SMTP].ends_with("Password=\"N3w;Secret\""),
        "{}",
        seen[SMTP]
    );
    assert_eq!(
        seen["SourceCode.Net.Mail.SmtpConnection:ops@denallix.com"],
        "Host Name=relay.denallix.com"
    );
    // EncryptedXml itself decrypts k2cse's output to the section k2cse shows.
    let section = mono::unhex(
        mono::run(
            &mono::oracle("ProtectedConfig"),
            &["decrypt", s.config.to_str().unwrap(), &key()],
            "",
        )
        .trim(),
    );
    assert!(section.starts_with("<connectionStrings>") && section.contains("relay.denallix.com"));
}

#[test]
fn xmlsec1_decrypts_k2cse_output_and_k2cse_decrypts_xmlsec1_output() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = RsaKey::from_file(&key_path("k2-test-key.xml")).unwrap();
    let pem = dir.path().join("key.pem");
    std::fs::write(&pem, rsa.private_pkcs8_pem().unwrap().as_bytes()).unwrap();
    // k2cse encrypts (protect), xmlsec1 decrypts.
    let s = Scratch::with(plain_k2(false).as_bytes());
    s.k2cse(&[
        "-k",
        &key(),
        "protect",
        "--plaintext-backup",
        "--algorithm",
        "aes256-cbc",
    ])
    .assert()
    .success();
    let out = xmlsec(&[
        "--decrypt",
        "--privkey-pem:Rsa Key",
        pem.to_str().unwrap(),
        s.config.to_str().unwrap(),
    ]);
    assert!(
        out.contains("Password=S3cret!Pass") && out.contains("<connectionStrings>"),
        "{out}"
    );
    // xmlsec1 encrypts (OAEP, AES-256, wrapped base64), k2cse decrypts.
    let public = dir.path().join("pub.pem");
    tool(
        "openssl",
        &[
            "pkey",
            "-in",
            pem.to_str().unwrap(),
            "-pubout",
            "-out",
            public.to_str().unwrap(),
        ],
    );
    let section = dir.path().join("section.xml");
    std::fs::write(&section, "<connectionStrings>\n    <add name=\"HostserverDB\" connectionString=\"Data Source=SQL9;Password=xmlsec-secret\" />\n  </connectionStrings>\n").unwrap();
    let template = dir.path().join("template.xml");
    std::fs::write(&template, XMLSEC_TEMPLATE).unwrap();
    let encrypted = xmlsec(&[
        "--encrypt",
        "--pubkey-pem:Rsa Key",
        public.to_str().unwrap(),
        "--session-key",
        "aes-256",
        "--xml-data",
        section.to_str().unwrap(),
        "--node-xpath",
        "/connectionStrings",
        template.to_str().unwrap(),
    ]);
    let body = encrypted
        .trim_start_matches("<?xml version=\"1.0\"?>")
        .trim();
    let config = format!(
        "<?xml version=\"1.0\"?>\n<configuration>\n{}  <connectionStrings configProtectionProvider=\"K2ConfigurationKey\">\n    {body}\n  </connectionStrings>\n</configuration>\n",
        declaration(false)
    );
    let x = Scratch::with(config.as_bytes());
    let entries = k2cse_entries(&x, &key());
    assert_eq!(
        entries["HostserverDB"],
        "Data Source=SQL9;Password=xmlsec-secret"
    );
}

const XMLSEC_TEMPLATE: &str = "<EncryptedData xmlns=\"http://www.w3.org/2001/04/xmlenc#\" Type=\"http://www.w3.org/2001/04/xmlenc#Element\">\
<EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#aes256-cbc\"/><KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\">\
<EncryptedKey xmlns=\"http://www.w3.org/2001/04/xmlenc#\"><EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\"/>\
<KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><KeyName/></KeyInfo><CipherData><CipherValue/></CipherData></EncryptedKey></KeyInfo>\
<CipherData><CipherValue/></CipherData></EncryptedData>";

fn xmlsec(args: &[&str]) -> String {
    tool_text("xmlsec1", args)
}

#[test]
fn no_plain_text_ever_reaches_the_disk() {
    let s = dotnet_encrypted(false, "tripledes");
    let tmp = s.dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let batch = s.dir.path().join("batch.toml");
    std::fs::write(&batch, format!("[[change]]\nop = \"set\"\nname = \"{SMTP}\"\nvalues = {{ \"User ID\" = \"NewUser-7Q\" }}\n")).unwrap();
    let new_secrets = ["Fresh-Pw-91", "NewUser-7Q", "relay-x.denallix.com"];
    for args in [
        vec!["set", SMTP, "Password=Fresh-Pw-91"],
        vec![
            "add",
            "SourceCode.Net.Mail.SmtpConnection:x@denallix.com",
            "Host Name=relay-x.denallix.com",
        ],
        vec!["apply", batch.to_str().unwrap()],
        vec!["set", SMTP, "Port=26", "--dry-run"],
    ] {
        let mut cmd = s.k2cse(&[&["-k", &key()][..], &args].concat());
        cmd.env("TMPDIR", &tmp).assert().success();
        for file in walk(s.dir.path()) {
            let bytes = std::fs::read(&file).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            for secret in SECRETS.iter().chain(&new_secrets) {
                assert!(
                    !text.contains(secret),
                    "{secret} found in {} after {args:?}",
                    file.display()
                );
            }
        }
    }
    // Backups were taken, and they are encrypted too (checked above); the edits are real.
    assert!(
        walk(s.dir.path())
            .iter()
            .any(|p| p.to_string_lossy().ends_with(".k2cse.tar"))
    );
    assert!(k2cse_entries(&s, &key())[SMTP].contains("User ID=NewUser-7Q"));
}

/// The files under `dir` but the batch files (the user's own, holding the new secrets).
fn walk(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_none_or(|e| e != "toml"))
        .collect()
}

#[test]
fn protect_and_unprotect_from_the_command_line() {
    let reader = dotnet_reader();
    let plain = plain_k2(false);
    let s = Scratch::with(plain.as_bytes());
    s.k2cse(&["protect"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("pass --key-file"));
    // Without a backup passphrase, protect refuses to leave the plain text in a backup...
    s.k2cse(&["-k", &key(), "protect"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--plaintext-backup"));
    assert_eq!(s.text(), plain);
    assert!(s.backups().is_empty());
    // ...and with one, the pre-protect backup is encrypted: no plain copy remains.
    s.k2cse(&["-k", &key(), "protect"])
        .env("K2CSE_BACKUP_PASSPHRASE", "backup-pass")
        .env("K2CSE_BACKUP_SCRYPT_LOG_N", "10")
        .assert()
        .success();
    assert!(SECRETS.iter().all(|secret| !s.text().contains(secret)));
    let backups = s.backups();
    assert_eq!(backups.len(), 1);
    assert!(backups[0].to_string_lossy().ends_with(".age"));
    let stored = std::fs::read(&backups[0]).unwrap();
    assert!(
        SECRETS
            .iter()
            .all(|secret| memchr::memmem::find(&stored, secret.as_bytes()).is_none())
    );
    assert_eq!(dotnet_entries(&reader, &s.config), plain_entries());
    s.k2cse(&["-k", &key(), "unprotect"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("WARNING: the connectionStrings section")
                .and(predicate::str::contains("DECRYPTED")),
        );
    assert_eq!(s.text(), plain, "protect then unprotect restores the file");
}

#[test]
fn key_inspect_shows_the_public_fingerprint_never_the_key() {
    let s = dotnet_encrypted(false, "tripledes");
    let out = s.k2cse(&["-k", &key(), "key", "inspect"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let rsa = RsaKey::from_file(&key_path("k2-test-key.xml")).unwrap();
    // The fingerprint is what openssl computes from the same key.
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("key.pem");
    std::fs::write(&pem, rsa.private_pkcs8_pem().unwrap().as_bytes()).unwrap();
    let der = tool(
        "openssl",
        &[
            "pkey",
            "-in",
            pem.to_str().unwrap(),
            "-pubout",
            "-outform",
            "DER",
        ],
    );
    let digest = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut digest = digest;
    std::io::Write::write_all(digest.stdin.as_mut().unwrap(), &der).unwrap();
    let openssl_fingerprint = String::from_utf8(digest.wait_with_output().unwrap().stdout).unwrap();
    let openssl_fingerprint = openssl_fingerprint.split_whitespace().next().unwrap();
    assert!(
        text.contains(&format!("SHA-256 {openssl_fingerprint}")),
        "{text}"
    );
    assert!(
        text.contains("this key decrypts it") && text.contains("2048 bits"),
        "{text}"
    );
    let key_text = std::fs::read_to_string(key_path("k2-test-key.xml")).unwrap();
    let modulus = key_text
        .split("<Modulus>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert!(!text.contains(&modulus[..40]));
    let wrong = key_path("other-key.xml");
    let v: serde_json::Value = serde_json::from_slice(
        &s.k2cse(&["-k", wrong.to_str().unwrap(), "--json", "key", "inspect"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(v["schema"], "k2cse.key/1");
    assert_eq!(v["opens_section"], false);
    assert!(v["open_error"].as_str().unwrap().contains("cannot decrypt"));
}

#[test]
fn bad_inputs_are_one_line_errors_and_nothing_is_written() {
    let good = dotnet_encrypted(false, "tripledes").text();
    let last = good.rfind("</CipherValue>").unwrap();
    let dpapi = String::from(
        "<configuration>\n  <connectionStrings configProtectionProvider=\"DataProtectionConfigurationProvider\">\n    <EncryptedData>\n      <CipherData>\n        <CipherValue>AQAAANCMnd8BFdERjHoAwE/Cl+s=</CipherValue>\n      </CipherData>\n    </EncryptedData>\n  </connectionStrings>\n</configuration>\n",
    );
    let cases: Vec<(String, Vec<String>, &str)> = vec![
        (
            good.clone(),
            vec![
                "-k".into(),
                key_path("other-key.xml").to_str().unwrap().into(),
            ],
            "cannot decrypt with key file",
        ),
        (
            format!("{}@@@{}", &good[..last - 3], &good[last..]),
            vec!["-k".into(), key()],
            "not valid base64",
        ),
        (
            // Cut short: damaged, whatever the key.
            format!("{}{}", &good[..last - 12], &good[last..]),
            vec!["-k".into(), key()],
            "the encrypted data is damaged",
        ),
        (
            good.replacen("xmlenc#tripledes-cbc", "xmlenc#camellia128-cbc", 1),
            vec!["-k".into(), key()],
            "unsupported data encryption algorithm",
        ),
        (
            good.replacen(&declaration(false), "", 1),
            vec!["-k".into(), key()],
            "is not declared in <configProtectedData>",
        ),
        (dpapi, vec!["-k".into(), key()], "DPAPI"),
    ];
    for (text, flags, needle) in cases {
        let s = Scratch::with(text.as_bytes());
        let args: Vec<&str> = flags
            .iter()
            .map(String::as_str)
            .chain(["set", SMTP, "Port=1"])
            .collect();
        let out = s.k2cse(&args).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{needle}: {stderr}");
        assert!(stderr.contains(needle), "expected {needle:?} in {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains("K2HostServer.exe.config:") && stderr.contains("provider \""),
            "{stderr}"
        );
        assert_eq!(s.text(), text, "nothing written");
        assert!(s.others().is_empty(), "no backup or temp file");
    }
}

#[test]
#[cfg(not(windows))]
fn key_containers_are_windows_only_and_the_commands_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("exported.xml");
    for args in [
        vec!["key", "import", "--container", "K2ConfigurationKey", &key()],
        vec![
            "key",
            "export",
            "--container",
            "K2ConfigurationKey",
            "--to",
            to.to_str().unwrap(),
        ],
    ] {
        k2cse_tests::fixtures::k2cse()
            .current_dir(dir.path())
            .args(&args)
            .assert()
            .failure()
            .stderr(predicate::str::contains(
                "key containers exist only on Windows",
            ));
    }
    assert!(!to.exists(), "nothing is written when the export fails");
    // Without --container, the provider comes from the config, which must exist.
    k2cse_tests::fixtures::k2cse()
        .current_dir(dir.path())
        .args(["key", "import", &key()])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--container"));
}
