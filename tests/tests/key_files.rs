//! Password-protected PKCS#8 key files in the older forms admins still have: PBES1
//! (`openssl pkcs8 -topk8 -v1 PBE-MD5-DES` / `PBE-SHA1-DES`) and the PKCS#12 PBE
//! (`-v1 PBE-SHA1-3DES` / `PBE-SHA1-2DES`). OpenSSL is the oracle: it makes the key and the
//! protected files at test time, and says what the modulus is.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::collections::BTreeMap;
use std::path::Path;

use k2cse_core::protect::RsaKey;
use k2cse_core::secret::Secret;
use k2cse_tests::fixtures::{Scratch, listed, plain_k2, tool_text};
use predicates::prelude::*;

/// A passphrase with non-ASCII letters: PKCS#12 turns it into UTF-16, PBES1 uses its UTF-8.
const PASSPHRASE: &str = "Sésame ouvre-toi 1";

/// Runs openssl (the oracle).
fn openssl(args: &[&str]) -> String {
    tool_text("openssl", args)
}

/// Each `-v1` form with the extra openssl arguments it needs (single DES lives in OpenSSL 3's
/// legacy provider).
const FORMS: &[(&str, &[&str])] = &[
    (
        "PBE-MD5-DES",
        &["-provider", "legacy", "-provider", "default"],
    ),
    (
        "PBE-SHA1-DES",
        &["-provider", "legacy", "-provider", "default"],
    ),
    ("PBE-SHA1-3DES", &[]),
    ("PBE-SHA1-2DES", &[]),
];

fn entries(s: &Scratch, key: &Path, passphrase: &str) -> BTreeMap<String, String> {
    listed(
        s.k2cse(&[
            "--key-file",
            key.to_str().unwrap(),
            "--reveal",
            "list",
            "--json",
        ])
        .env("K2CSE_KEY_PASSPHRASE", passphrase),
    )
}

#[test]
fn pbes1_and_pkcs12_pbe_key_files_made_by_openssl_decrypt_the_section() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.pem");
    let plain_str = plain.to_str().unwrap();
    openssl(&["genrsa", "-out", plain_str, "2048"]);
    let modulus = openssl(&["rsa", "-in", plain_str, "-noout", "-modulus"]);
    let modulus = modulus.trim().strip_prefix("Modulus=").unwrap().to_owned();

    // A section protected with openssl's key (its public half is enough to encrypt).
    let expected = entries(&Scratch::with(plain_k2(false).as_bytes()), &plain, "");
    let s = Scratch::with(plain_k2(false).as_bytes());
    s.k2cse(&["-k", plain_str, "protect", "--no-backup"])
        .assert()
        .success();
    assert!(s.text().contains("<CipherValue>"));

    for (form, extra) in FORMS {
        let protected = dir.path().join(format!("{form}.pem"));
        let protected_str = protected.to_str().unwrap();
        let mut args = vec!["pkcs8", "-topk8", "-v1", form, "-in", plain_str];
        args.extend_from_slice(extra);
        let pass = format!("pass:{PASSPHRASE}");
        args.extend_from_slice(&["-passout", &pass, "-out", protected_str]);
        openssl(&args);
        // openssl itself wrote the form asked for (its own parser names the algorithm).
        let asn1 = openssl(&["asn1parse", "-in", protected_str]);
        let oid_name = match *form {
            "PBE-MD5-DES" => "pbeWithMD5AndDES-CBC",
            "PBE-SHA1-DES" => "pbeWithSHA1AndDES-CBC",
            "PBE-SHA1-3DES" => "pbeWithSHA1And3-KeyTripleDES-CBC",
            _ => "pbeWithSHA1And2-KeyTripleDES-CBC",
        };
        assert!(asn1.contains(oid_name), "{form}: {asn1}");

        // The same modulus as `openssl rsa -modulus`.
        let key =
            RsaKey::from_file_with_passphrase(&protected, Some(&Secret::new(PASSPHRASE))).unwrap();
        assert!(key.has_private(), "{form}");
        let public = dir.path().join(format!("{form}.pub"));
        std::fs::write(&public, key.public_pem()).unwrap();
        let ours = openssl(&[
            "rsa",
            "-pubin",
            "-in",
            public.to_str().unwrap(),
            "-noout",
            "-modulus",
        ]);
        let ours = ours.trim().strip_prefix("Modulus=").unwrap().to_owned();
        assert_eq!(ours, modulus, "{form}");

        // The section decrypts with the protected key file.
        assert_eq!(entries(&s, &protected, PASSPHRASE), expected, "{form}");

        // A wrong passphrase is reported as a wrong passphrase.
        s.k2cse(&["-k", protected_str, "list"])
            .env("K2CSE_KEY_PASSPHRASE", "Sesame ouvre-toi 1")
            .assert()
            .failure()
            .stderr(predicate::str::contains("wrong passphrase"));
    }
}
