//! `db push` cost: time and round trips to write 1, 100 and 1,000 token changes, k2cse's
//! batched transaction side by side with a one-UPDATE-per-token transaction, on the simulator
//! with no added latency and with 1 ms per round trip (a LAN).
//!
//! `cargo bench -p k2cse-core --bench db_push -- [--runs N] [--json FILE]`; bench/db.sh runs it
//! and regenerates docs/performance-db.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss
)]

use std::time::{Duration, Instant};

use k2cse_core::db::{Credentials, Database, Target, TokenWrite};
use k2cse_core::secret::Secret;
use k2cse_mssql_sim::{Faults, SAMPLE_MASTER_KEY_PASSWORD, SimConfig, Simulator};
use tokio_util::compat::TokioAsyncWriteCompatExt as _;

struct Sample {
    millis: Vec<f64>,
    round_trips: u64,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn value(run: usize, i: usize) -> String {
    format!(
        "Host Name=smtp{i}.denallix.com;Port=25;TLS=StartTls;Authentication=Anonymous;Run={run}"
    )
}

async fn batched(
    db: &mut Database,
    sim: &Simulator,
    n: usize,
    runs: usize,
    current: &mut Vec<String>,
) -> Sample {
    let mut millis = Vec::new();
    let mut round_trips = 0;
    for run in 0..runs {
        let writes: Vec<TokenWrite> = (0..n)
            .map(|i| TokenWrite {
                token: format!("[bench:{i}]"),
                expected: Some(current[i].clone()),
                new: value(run + 1, i),
                encrypt: i % 2 == 0,
            })
            .collect();
        let before = sim.counters().requests;
        let start = Instant::now();
        db.write(&writes).await.unwrap();
        millis.push(start.elapsed().as_secs_f64() * 1000.0);
        round_trips = sim.counters().requests - before;
        *current = writes.into_iter().map(|w| w.new).collect();
    }
    Sample {
        millis,
        round_trips,
    }
}

/// The obvious alternative: one parameterized UPDATE per token inside one transaction.
async fn per_token(sim: &Simulator, n: usize, runs: usize) -> Sample {
    let mut config = tiberius::Config::new();
    config.host("127.0.0.1");
    config.port(sim.port());
    config.database("K2");
    config.authentication(tiberius::AuthMethod::sql_server("sa", sim.sa_password()));
    config.trust_cert();
    let tcp = tokio::net::TcpStream::connect(config.get_addr())
        .await
        .unwrap();
    let mut client = Box::pin(tiberius::Client::connect(config, tcp.compat_write()))
        .await
        .unwrap();
    client
        .execute(
            k2cse_core::db::sql::OPEN_MASTER_KEY,
            &[&SAMPLE_MASTER_KEY_PASSWORD],
        )
        .await
        .unwrap();
    client
        .execute(k2cse_core::db::sql::OPEN_SYMMETRIC_KEY, &[])
        .await
        .unwrap();
    let mut millis = Vec::new();
    let mut round_trips = 0;
    for run in 0..runs {
        let before = sim.counters().requests;
        let start = Instant::now();
        client.begin_transaction().await.unwrap();
        for i in 0..n {
            let v = value(run + 100, i);
            let token = format!("[bench:{i}]");
            client
                .execute("UPDATE [HostServer].[Configuration] SET VariableValue = CASE WHEN Encrypted = 1 THEN EncryptByKey(Key_GUID(N'SCSSOKey'), @P2) ELSE CONVERT(VARBINARY(MAX), @P2) END WHERE VariableToken = @P1", &[&token, &v])
                .await
                .unwrap();
        }
        client.commit_transaction().await.unwrap();
        millis.push(start.elapsed().as_secs_f64() * 1000.0);
        round_trips = sim.counters().requests - before;
    }
    Sample {
        millis,
        round_trips,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .map_or(11, |r| r.parse().unwrap());
    let json_out = args
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let mut rows = Vec::new();
    println!(
        "{:>6} {:>8} {:<22} {:>12} {:>12}",
        "tokens", "latency", "method", "median ms", "round trips"
    );
    for latency in [0u64, 1] {
        for n in [1usize, 100, 1000] {
            let sim = Simulator::start(SimConfig::default()).unwrap();
            let target = Target::from_connection_string(&sim.connection_string()).unwrap();
            let credentials = Credentials {
                sql_password: None,
                master_key_password: Some(Secret::new(SAMPLE_MASTER_KEY_PASSWORD)),
            };
            let mut db = Database::connect(&target, &credentials).await.unwrap();
            let mut current: Vec<String> = (0..n).map(|i| value(0, i)).collect();
            let create: Vec<TokenWrite> = (0..n)
                .map(|i| TokenWrite {
                    token: format!("[bench:{i}]"),
                    expected: None,
                    new: current[i].clone(),
                    encrypt: i % 2 == 0,
                })
                .collect();
            db.write(&create).await.unwrap();
            sim.set_faults(Faults {
                delay: (latency > 0).then(|| Duration::from_millis(latency)),
                ..Faults::default()
            });
            let mut ours = batched(&mut db, &sim, n, runs, &mut current).await;
            let mut naive = per_token(&sim, n, runs).await;
            for (method, sample) in [
                ("k2cse (batched)", &mut ours),
                ("one UPDATE per token", &mut naive),
            ] {
                let m = median(&mut sample.millis);
                println!(
                    "{n:>6} {:>6} ms {method:<22} {m:>12.2} {:>12}",
                    latency, sample.round_trips
                );
                rows.push(serde_json::json!({ "tokens": n, "latency_ms": latency, "method": method, "median_ms": m, "round_trips": sample.round_trips, "runs": runs }));
            }
        }
    }
    if let Some(path) = json_out {
        std::fs::write(&path, serde_json::to_string_pretty(&rows).unwrap()).unwrap();
    }
}
