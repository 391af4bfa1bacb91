//! A hostile TDS endpoint cannot make the client buffer without bound (issue 13, point 8):
//! a server that never ends its reply (TDS packets without the end-of-message bit) fails the
//! connection with `DbError::ReplyTooLarge` naming the server and the cap, once the reply
//! passes the cap, instead of growing until the process dies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use k2cse_core::db::{Credentials, Database, DbError, Target};
use k2cse_mssql_sim::{SimConfig, Simulator};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// More than the cap (64 MiB): without a cap the client reads all of it, then fails on the
/// closed connection with another error.
const HOSTILE_BYTES: usize = 160 * 1024 * 1024;

/// One TDS packet of type `kind` (0x04: tabular result), 4 KiB, end-of-message bit clear.
fn endless_packet(kind: u8) -> Vec<u8> {
    let len: u16 = 4096;
    let mut packet = vec![0u8; usize::from(len)];
    packet[0] = kind;
    packet[1] = 0x00; // status: normal, not end of message
    packet[2..4].copy_from_slice(&len.to_be_bytes());
    packet[6] = 1; // packet id
    packet
}

/// Writes non-EOM packets until `HOSTILE_BYTES` are sent or the client hangs up; returns
/// the bytes sent.
async fn stream_forever(socket: &mut TcpStream) -> usize {
    let packet = endless_packet(0x04);
    let mut sent = 0;
    while sent < HOSTILE_BYTES {
        if socket.write_all(&packet).await.is_err() {
            break;
        }
        sent += packet.len();
    }
    sent
}

/// An INFO token (class 0: a message, not an error) whose text is `chars` characters.
fn info_token(chars: u16) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&50_000u32.to_le_bytes()); // message number
    body.extend_from_slice(&[1, 0]); // state, class
    body.extend_from_slice(&chars.to_le_bytes());
    for _ in 0..chars {
        body.extend_from_slice(&[b'A', 0]);
    }
    body.extend_from_slice(&[0, 0]); // server name, procedure name: empty
    body.extend_from_slice(&1u32.to_le_bytes()); // line number
    let mut token = vec![0xAB];
    token.extend_from_slice(&u16::try_from(body.len()).unwrap().to_le_bytes());
    token.extend_from_slice(&body);
    token
}

/// The process's peak resident memory (Linux), in MiB.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn target(port: u16) -> Target {
    Target::from_connection_string(&format!(
        "Data Source=127.0.0.1,{port};Initial Catalog=K2;User ID=sa;Password=x;Encrypt=False;TrustServerCertificate=True;Connect Timeout=60"
    ))
    .unwrap()
}

fn assert_capped(err: &DbError, port: u16) {
    assert!(
        matches!(err, DbError::ReplyTooLarge { server, cap_mib: 64 } if server.contains(&port.to_string())),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("64 MiB") && message.contains(&port.to_string()),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_prelogin_reply_fails_at_the_cap() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        // The client's PRELOGIN: header, then the rest of the packet.
        let mut header = [0u8; 8];
        socket.read_exact(&mut header).await.unwrap();
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let mut body = vec![0u8; len - 8];
        socket.read_exact(&mut body).await.unwrap();
        stream_forever(&mut socket).await
    });
    let before = peak_rss_mib();
    let started = Instant::now();
    let err = Database::connect(&target(port), &Credentials::default())
        .await
        .expect_err("a reply that never ends cannot log in");
    let elapsed = started.elapsed();
    let sent = server.await.unwrap();
    eprintln!(
        "prelogin: failed after {elapsed:?}; server sent {} MiB; peak RSS {before:?} -> {:?} MiB",
        sent / (1024 * 1024),
        peak_rss_mib()
    );
    assert_capped(&err, port);
    assert!(
        sent < HOSTILE_BYTES,
        "the client read everything the server sent"
    );
}

/// A proxy in front of the simulator: login goes through untouched (TLS for the login only),
/// then the reply to the first SQL batch (packet type 0x01, which never starts a TLS record)
/// is replaced by an endless stream of valid tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_query_reply_after_login_fails_at_the_cap() {
    let sim = Simulator::start(SimConfig::default()).unwrap();
    let sim_addr = sim.addr();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let proxy = tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let upstream = TcpStream::connect(sim_addr).await.unwrap();
        let (mut client_read, mut client_write) = client.into_split();
        let (mut up_read, mut up_write) = upstream.into_split();
        let (batch_tx, mut batch_rx) = tokio::sync::oneshot::channel::<()>();
        // Client -> server, until the first SQL batch.
        let forward_up = tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = client_read.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                if buf[0] == 0x01 {
                    let _ = batch_tx.send(());
                    // Keep draining the client so that its writes never block.
                    while client_read.read(&mut buf).await.unwrap_or(0) > 0 {}
                    return;
                }
                if up_write.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        });
        // Server -> client until the batch, then the endless reply.
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            tokio::select! {
                _ = &mut batch_rx => break,
                n = up_read.read(&mut buf) => {
                    let n = n.unwrap_or(0);
                    if n == 0 || client_write.write_all(&buf[..n]).await.is_err() {
                        return 0;
                    }
                }
            }
        }
        // A valid reply that never ends: informational messages (INFO tokens of 30,000
        // characters), cut into packets without the end-of-message bit.
        let info = info_token(30_000);
        let mut tokens = info.iter().copied().cycle();
        let mut sent = 0;
        while sent < HOSTILE_BYTES {
            let mut packet = endless_packet(0x04);
            for byte in &mut packet[8..] {
                *byte = tokens.next().unwrap();
            }
            if client_write.write_all(&packet).await.is_err() {
                break;
            }
            sent += packet.len();
        }
        forward_up.abort();
        sent
    });
    let target = Target::from_connection_string(&format!(
        "Data Source=127.0.0.1,{port};Initial Catalog={};User ID=sa;Password={};Encrypt=False;TrustServerCertificate=True;Connect Timeout=60",
        sim.database(),
        sim.sa_password()
    ))
    .unwrap();
    // Decoding is slow in a debug build on a loaded machine: the cap, not the command
    // timeout, must end this.
    let mut target = target;
    target.command_timeout = Duration::from_mins(5);
    let before = peak_rss_mib();
    let started = Instant::now();
    let err = Database::connect(&target, &Credentials::default())
        .await
        .expect_err("a reply that never ends cannot be read");
    let elapsed = started.elapsed();
    let sent = tokio::time::timeout(Duration::from_mins(1), proxy)
        .await
        .unwrap()
        .unwrap();
    eprintln!(
        "query: failed after {elapsed:?}; proxy sent {} MiB; peak RSS {before:?} -> {:?} MiB",
        sent / (1024 * 1024),
        peak_rss_mib()
    );
    assert!(sent > 0, "the login did not get through the proxy: {err:?}");
    assert_capped(&err, port);
    assert!(
        sent < HOSTILE_BYTES,
        "the client read everything the server sent"
    );
}
