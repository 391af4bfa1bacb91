//! The bad-input catalogue of docs/reliability.md, end to end: every class of bad input gives
//! a clear error (exit code 1, the reason on standard error), never a panic, never a write,
//! and never takes long.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use k2cse_tests::fixtures::{SAMPLE, Scratch, fixture};

/// Runs `k2cse ARGS` on a config holding `bytes` and checks the refusal: exit code 1, a
/// message containing `expect`, no panic, the file untouched, no backup, under 10 s.
fn refused(bytes: &[u8], args: &[&str], expect: &str) {
    let s = Scratch::with(bytes);
    let mut cmd = s.k2cse(args);
    cmd.env("K2CSE_KEYRING", "mock");
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(
        stderr.contains(expect),
        "{args:?}: expected {expect:?} in: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(s.bytes(), bytes, "nothing written");
    assert!(s.backups().is_empty(), "no backup of a refused write");
    assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
}

const SET: &[&str] = &["set", "SourceCode.Net.Mail.SmtpConnection", "Port=587"];

fn sample() -> String {
    String::from_utf8(SAMPLE[3..].to_vec()).unwrap()
}

#[test]
fn malformed_xml_is_refused_with_its_position() {
    let broken = sample().replacen("</connectionStrings>", "</connectionString>", 1);
    refused(broken.as_bytes(), SET, ":22:");
    refused(
        b"<configuration><connectionStrings>",
        &["list"],
        "K2HostServer.exe.config",
    );
    refused(b"", &["list"], "K2HostServer.exe.config");
    refused(
        b"\x00\x01\x02 not xml",
        &["list"],
        "K2HostServer.exe.config",
    );
}

#[test]
fn wrong_encodings_are_refused() {
    // Invalid UTF-8 in the middle of the section.
    let mut bytes = sample().into_bytes();
    let at = bytes.windows(4).position(|w| w == b"smtp").unwrap();
    bytes[at] = 0xFF;
    refused(&bytes, SET, "UTF-8");
    // UTF-16 with a BOM but an odd number of bytes (cut).
    let utf16 = fixture("k2five-utf16le.config");
    refused(&utf16[..utf16.len() - 1], &["list"], "UTF-16");
}

#[test]
fn entity_expansion_and_deep_nesting_are_bounded() {
    // Billion laughs: the DOCTYPE is skipped as .NET's config reader skips it, and no entity
    // is ever expanded: the value is the text "&lol3;", read at once.
    let laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>\n<configuration><connectionStrings><add name=\"a\" connectionString=\"&lol3;\"/></connectionStrings></configuration>";
    let s = Scratch::with(laughs.as_bytes());
    // The first run may build the binary; time only the list.
    s.k2cse(&["--version"]).output().unwrap();
    let start = Instant::now();
    let out = s.k2cse(&["--json", "list"]).output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(String::from_utf8_lossy(&out.stdout).contains("&lol3;"));
    // A reference that is not a name is an error, not an expansion.
    let undefined = sample().replacen("Port=25", "Port=&x y;", 1);
    refused(undefined.as_bytes(), SET, "K2HostServer.exe.config");
    // 200,000 nested elements: no recursion, no stack overflow.
    let deep = format!(
        "<configuration>{}{}</configuration>",
        "<a>".repeat(200_000),
        "</a>".repeat(200_000)
    );
    let s = Scratch::with(deep.as_bytes());
    let out = s.k2cse(&["list"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    assert!(
        out.status.code().is_some(),
        "not killed by a signal (stack overflow)"
    );
}

#[test]
fn huge_inputs_are_bounded() {
    // A 70 MiB file is refused before it is read.
    let s = Scratch::with(b"<configuration/>");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&s.config)
        .unwrap();
    f.set_len(70 * 1024 * 1024).unwrap();
    let out = s.k2cse(&["list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than any .NET config file"));
    // A 5 MiB attribute value is read, edited in place and written back correctly.
    let huge = sample().replacen(
        "Authentication=Anonymous",
        &format!("Authentication=Anonymous;Note={}", "x".repeat(5 << 20)),
        1,
    );
    let s = Scratch::with(huge.as_bytes());
    s.k2cse(SET).assert().success();
    assert_eq!(
        s.bytes().len(),
        huge.len() + 1,
        "one byte longer: 25 -> 587"
    );
}

#[test]
fn invalid_connection_strings_are_reported_not_rewritten() {
    let bad = sample().replacen("Port=25;TLS=StartTls", "Port='25;TLS=StartTls", 1);
    // Reading shows the problem with its place; editing that entry is refused.
    let s = Scratch::with(bad.as_bytes());
    let out = s.k2cse(&["lint"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("K2HostServer.exe.config:19:"));
    refused(
        bad.as_bytes(),
        SET,
        ":19:98: entry \"SourceCode.Net.Mail.SmtpConnection\": connection string syntax error at index 28",
    );
    // Each cause is printed once (the core's message already contains its cause).
    let out = Scratch::with(bad.as_bytes()).k2cse(SET).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("syntax error at index 28").count(),
        1,
        "{stderr}"
    );
    // A value .NET would refuse to store is refused before anything is written.
    refused(
        sample().as_bytes(),
        &["set", "SourceCode.Net.Mail.SmtpConnection", ";Port=1"],
        "invalid key",
    );
}

#[test]
fn wrong_keys_and_corrupt_backups_are_refused() {
    let protected = fixture("k2-protected.config");
    let other =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/keys/other-key.xml");
    refused(
        &protected,
        &[
            "-k",
            other.to_str().unwrap(),
            "set",
            "SourceCode.Net.Mail.SmtpConnection",
            "Port=587",
        ],
        "key",
    );
    let not_a_key = std::env::temp_dir().join("k2cse-not-a-key.xml");
    std::fs::write(
        &not_a_key,
        "<RSAKeyValue><Modulus>!!</Modulus></RSAKeyValue>",
    )
    .unwrap();
    refused(
        &protected,
        &["-k", not_a_key.to_str().unwrap(), "list"],
        "not-a-key",
    );
    // A backup that is not one.
    let s = Scratch::sample();
    let fake = s.dir.path().join("fake.k2cse.tar");
    std::fs::write(&fake, vec![b'x'; 4096]).unwrap();
    let out = s
        .k2cse(&["backup", "restore", fake.to_str().unwrap(), "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a k2cse backup"));
    assert_eq!(s.bytes(), SAMPLE);
}

/// A "SQL Server" that answers with garbage: every hostile reply is a clear error.
#[test]
fn hostile_tds_replies_are_clear_errors() {
    let replies: Vec<Vec<u8>> = vec![
        // Not TDS at all.
        b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(),
        // A TDS header claiming a length shorter than itself.
        vec![0x04, 0x01, 0x00, 0x02, 0, 0, 1, 0],
        // A PRELOGIN answer whose option table points past its end.
        vec![
            0x04, 0x01, 0x00, 0x10, 0, 0, 1, 0, 0x00, 0xFF, 0xF0, 0x00, 0x06, 0xFF, 0, 0,
        ],
        // Nothing at all: the server hangs up.
        Vec::new(),
    ];
    for reply in replies {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let answer = reply.clone();
        let server = std::thread::spawn(move || {
            if let Ok((mut conn, _)) = listener.accept() {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(&answer);
            }
        });
        let s = Scratch::sample();
        // The command first (building the program, if a lone test target runs, is not the
        // program hanging), then the clock.
        let mut push = s.k2cse(&["db", "push", "--yes", "--timeout", "3"]);
        push.env("K2CSE_KEYRING", "mock")
            .env("K2CSE_CONNECTION", format!("Data Source=127.0.0.1,{port};Initial Catalog=K2;User ID=sa;Password=x;Connect Timeout=3"));
        let start = Instant::now();
        let out = push.output().unwrap();
        server.join().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{reply:?}: {stderr}");
        assert!(
            stderr.contains("127.0.0.1"),
            "the error names the server: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        // A bound on hanging (the connect timeout is 3 s), not a speed test: generous for a loaded CI.
        assert!(start.elapsed() < Duration::from_secs(30));
        assert_eq!(s.bytes(), SAMPLE);
    }
}
