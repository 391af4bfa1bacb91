//! Encrypted sections in a document: decrypt, edit, encrypt back, on and off.

use std::path::Path;
use std::sync::Arc;

use crate::Document;
use crate::edit::{Change, Values};
use crate::protect::{DataAlgorithm, KeyStore, RsaKey, Scheme};
use crate::sample::K2_SAMPLE;

const KEY_XML: &str = include_str!("../../../../tests/fixtures/keys/k2-test-key.xml");
const OTHER_XML: &str = include_str!("../../../../tests/fixtures/keys/other-key.xml");
const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com";
const PROVIDER: &str = "  <configProtectedData>\r\n    <providers>\r\n      <add name=\"K2ConfigurationKey\" type=\"System.Configuration.RsaProtectedConfigurationProvider, System.Configuration, Version=2.0.0.0, Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a\" keyContainerName=\"K2ConfigurationKey\" useMachineContainer=\"true\" />\r\n    </providers>\r\n  </configProtectedData>\r\n";

fn keys(xml: &str) -> KeyStore {
    KeyStore {
        rsa: Some(Arc::new(
            RsaKey::from_text(Path::new("key.xml"), xml).unwrap(),
        )),
        os_store: false,
    }
}

/// The sample with the K2 provider declared, as on a K2 server.
fn plain_sample() -> Vec<u8> {
    let text = String::from_utf8(K2_SAMPLE.to_vec()).unwrap();
    text.replacen("  <appSettings>", &format!("{PROVIDER}  <appSettings>"), 1)
        .into_bytes()
}

fn protected_sample(algorithm: Option<DataAlgorithm>) -> Vec<u8> {
    let mut doc =
        Document::from_bytes(Path::new("K2HostServer.exe.config"), plain_sample()).unwrap();
    doc.unlock(keys(KEY_XML)).unwrap();
    doc.apply(&Change::Protect {
        provider: None,
        algorithm,
    })
    .unwrap();
    doc.main_file().encode()
}

#[test]
fn protect_encrypts_the_section_like_dotnet_and_hides_every_secret() {
    let bytes = protected_sample(None);
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("<connectionStrings configProtectionProvider=\"K2ConfigurationKey\">\r\n    <EncryptedData Type=\"http://www.w3.org/2001/04/xmlenc#Element\"\r\n"), "{text}");
    assert!(text.contains(
        "<EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#tripledes-cbc\" />"
    ));
    assert!(text.contains("<KeyName>Rsa Key</KeyName>"));
    for secret in ["S3cret!Pass", "P@ss;w0rd", "9f8e7d6c", "smtp.office365.com"] {
        assert!(!text.contains(secret), "{secret} is in the encrypted file");
    }
    // The commented template at the bottom and everything outside the section are unchanged.
    let sample = String::from_utf8(plain_sample()).unwrap();
    assert!(text.ends_with(&sample[sample.find("  <messageBus>").unwrap()..]));
}

#[test]
fn a_locked_section_is_reported_and_refuses_edits() {
    let mut doc =
        Document::from_bytes(Path::new("K2HostServer.exe.config"), protected_sample(None)).unwrap();
    let p = doc.protection().unwrap();
    assert!(!p.unlocked && p.provider == "K2ConfigurationKey");
    assert!(doc.entries().unwrap().is_empty());
    let err = doc
        .apply(&Change::Set {
            name: SMTP.into(),
            values: Values::from_pairs([("Port", "25")]),
        })
        .unwrap_err();
    // The message names the provider's real container and the export command.
    assert!(
        err.to_string().contains("needs the key")
            && err.to_string().contains("pass --key-file")
            && err
                .to_string()
                .contains("aspnet_regiis -px \"K2ConfigurationKey\""),
        "{err}"
    );
    let err = doc.unlock(KeyStore::default()).unwrap_err();
    assert!(err.to_string().contains("pass --key-file"), "{err}");
}

#[test]
fn edits_of_an_encrypted_section_change_only_the_cipher_values() {
    for algorithm in [None, Some(DataAlgorithm::Aes256)] {
        let before = protected_sample(algorithm);
        let mut doc =
            Document::from_bytes(Path::new("K2HostServer.exe.config"), before.clone()).unwrap();
        assert!(doc.unlock(keys(KEY_XML)).unwrap());
        assert_eq!(doc.entries().unwrap().len(), 8);
        assert_eq!(
            doc.entry(SMTP).unwrap().get("Password"),
            Some("S3cret!Pass")
        );
        doc.apply(&Change::Set {
            name: SMTP.into(),
            values: Values::from_pairs([("Password", "N3w;Pass")]),
        })
        .unwrap();
        assert!(doc.is_changed() && !doc.main_file().is_changed());
        doc.seal().unwrap();
        let after = doc.main_file().encode();
        // Outside the two <CipherValue> texts, not a byte moved.
        let strip = |b: &[u8]| {
            let t = String::from_utf8(b.to_vec()).unwrap();
            t.split("<CipherValue>")
                .map(|part| {
                    part.split_once("</CipherValue>")
                        .map_or(part.to_owned(), |(_, rest)| rest.to_owned())
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&before), strip(&after));
        assert_ne!(before, after);
        // Reopened, it decrypts to the new value, with the same algorithms.
        let mut reopened = Document::from_bytes(Path::new("x.config"), after).unwrap();
        reopened.unlock(keys(KEY_XML)).unwrap();
        assert_eq!(
            reopened.entry(SMTP).unwrap().get("Password"),
            Some("N3w;Pass")
        );
        let Some(Scheme::Rsa { data, .. }) = reopened.protection().unwrap().scheme else {
            panic!()
        };
        assert_eq!(data, algorithm.unwrap_or(DataAlgorithm::TripleDes));
    }
}

#[test]
fn unprotect_stores_the_decrypted_section() {
    let mut doc =
        Document::from_bytes(Path::new("K2HostServer.exe.config"), protected_sample(None)).unwrap();
    doc.unlock(keys(KEY_XML)).unwrap();
    doc.apply(&Change::Unprotect).unwrap();
    assert!(doc.protection().is_none());
    // Exactly the plain sample again: protect then unprotect is the identity.
    assert_eq!(doc.main_file().encode(), plain_sample());
}

#[test]
fn wrong_key_and_missing_provider_are_clear_errors() {
    let mut doc =
        Document::from_bytes(Path::new("K2HostServer.exe.config"), protected_sample(None)).unwrap();
    let err = doc.unlock(keys(OTHER_XML)).unwrap_err().to_string();
    assert!(
        err.starts_with("K2HostServer.exe.config:")
            && err
                .contains("provider \"K2ConfigurationKey\": cannot decrypt with key file key.xml"),
        "{err}"
    );
    let undeclared = String::from_utf8(protected_sample(None))
        .unwrap()
        .replace(PROVIDER, "");
    let mut doc = Document::from_bytes(
        Path::new("K2HostServer.exe.config"),
        undeclared.into_bytes(),
    )
    .unwrap();
    let err = doc.unlock(keys(KEY_XML)).unwrap_err().to_string();
    assert!(
        err.contains("is not declared in <configProtectedData>"),
        "{err}"
    );
    let mut plain =
        Document::from_bytes(Path::new("K2HostServer.exe.config"), K2_SAMPLE.to_vec()).unwrap();
    plain.unlock(keys(KEY_XML)).unwrap();
    let err = plain
        .apply(&Change::Protect {
            provider: None,
            algorithm: None,
        })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("declares no protected-configuration provider; pass --provider"),
        "{err}"
    );
    plain
        .apply(&Change::Protect {
            provider: Some("RsaProtectedConfigurationProvider".into()),
            algorithm: None,
        })
        .unwrap();
    assert!(plain.protection().unwrap().unlocked);
}

#[test]
fn corrupted_cipher_values_are_refused_without_panic() {
    let text = String::from_utf8(protected_sample(None)).unwrap();
    let last = text.rfind("</CipherValue>").unwrap();
    for damaged in [
        format!("{}AAAA{}", &text[..last - 8], &text[last..]),
        format!("{}!!{}", &text[..last - 2], &text[last..]),
        text.replacen("tripledes-cbc", "aes512-cbc", 1),
    ] {
        let mut doc =
            Document::from_bytes(Path::new("K2HostServer.exe.config"), damaged.into_bytes())
                .unwrap();
        let err = doc.unlock(keys(KEY_XML)).unwrap_err().to_string();
        assert!(err.contains("provider \"K2ConfigurationKey\""), "{err}");
    }
}

#[test]
fn protect_refuses_a_plain_text_backup_unless_asked_or_encrypted() {
    use crate::edit::EditSession;
    use crate::save::SaveOptions;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("K2HostServer.exe.config");
    std::fs::write(&path, plain_sample()).unwrap();
    let session = || {
        let mut doc = Document::load(&path).unwrap();
        doc.unlock(keys(KEY_XML)).unwrap();
        let mut s = EditSession::new(doc, crate::lint::LintOptions::default(), false).unwrap();
        s.apply(Change::Protect {
            provider: None,
            algorithm: None,
        })
        .unwrap();
        s
    };
    let err = session().save(&SaveOptions::default(), false).unwrap_err();
    assert!(matches!(err, crate::Error::PlaintextBackup { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), plain_sample());
    assert!(!dir.path().join(crate::backup::DIR_NAME).exists());
    // An encrypted backup is fine: no plain copy is left.
    let encrypted = SaveOptions {
        encryption: Some(crate::backup::Encryption {
            passphrase: crate::secret::Secret::new("p"),
            work_factor: Some(10),
        }),
        ..SaveOptions::default()
    };
    let saved = session().save(&encrypted, false).unwrap();
    let backup = std::fs::read(saved[0].backup.as_ref().unwrap()).unwrap();
    assert!(memchr::memmem::find(&backup, b"S3cret!Pass").is_none());
}
