//! `k2cse-mssql-sim`: run the SQL Server stand-in until killed.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use k2cse_mssql_sim::{
    DatabaseOptions, Faults, SchemaProfile, Seed, ServerEncryption, SimConfig, Simulator,
};

/// A SQL Server stand-in for k2cse's tests and demos: TDS 7.4 over TCP, SQLite underneath.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Initial content: k2-sample (K2 tokens matching k2cse's sample config) or empty.
    #[arg(long, default_value = "k2-sample")]
    seed: Seed,
    /// Password of the sa login.
    #[arg(long, env = "K2CSE_SIM_SA_PASSWORD")]
    sa_password: String,
    /// Keep the SQLite files in DIR (reused when it already holds a database).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// TLS policy, like SQL Server's "Force Encryption".
    #[arg(long, value_enum, default_value_t = Encryption::Optional)]
    encryption: Encryption,
    /// Database name.
    #[arg(long, default_value = "K2")]
    database: String,
    /// Write the server certificate (PEM) here.
    #[arg(long, value_name = "FILE")]
    cert_out: Option<PathBuf>,
    /// Fault injection: hang up after N statements.
    #[arg(long, value_name = "N")]
    drop_after_statements: Option<u64>,
    /// Fault injection: wait this many milliseconds before each answer.
    #[arg(long, value_name = "MS")]
    delay_ms: Option<u64>,
    /// Fault injection: fail statements containing this text.
    #[arg(long, value_name = "TEXT")]
    fail_statement: Option<String>,
    /// Print session errors to stderr.
    #[arg(long, short)]
    verbose: bool,
    /// Compatibility level of a new database (100 = SQL Server 2008 R2 ... 160 = 2022).
    #[arg(long, default_value_t = 150, value_parser = clap::value_parser!(u16).range(100..=160))]
    compat_level: u16,
    #[allow(clippy::doc_markdown, reason = "the doc comment is --help text")]
    /// Column types of [HostServer].[Configuration] in a new database: VALUE[:FLAG], VALUE one
    /// of varbinary, nvarchar, varchar, sql_variant; FLAG one of bit, tinyint, int.
    #[arg(long, value_name = "PROFILE", default_value = "varbinary:bit")]
    schema: SchemaProfile,
    /// Default collation of a new database.
    #[arg(long, default_value = "SQL_Latin1_General_CP1_CI_AS")]
    collation: String,
    /// Also accept this login (USER:PASSWORD); it may read the table but has no permission
    /// on the keys.
    #[arg(long, value_name = "USER:PASSWORD")]
    login_without_key_permission: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Encryption {
    /// TLS when the client asks (SQL Server's default).
    Optional,
    /// TLS required ("Force Encryption = Yes").
    Forced,
    /// No TLS at all.
    Unsupported,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let encryption = match args.encryption {
        Encryption::Optional => ServerEncryption::Optional,
        Encryption::Forced => ServerEncryption::Forced,
        Encryption::Unsupported => ServerEncryption::Unsupported,
    };
    let sim = Simulator::start(SimConfig {
        listen: args.listen,
        seed: args.seed,
        sa_password: args.sa_password,
        data_dir: args.data,
        encryption,
        database: args.database,
        verbose: args.verbose,
        database_options: DatabaseOptions {
            compat_level: args.compat_level,
            schema: args.schema,
            collation: args.collation,
        },
        login_without_key_permission: args
            .login_without_key_permission
            .as_deref()
            .and_then(|l| l.split_once(':'))
            .map(|(u, p)| (u.to_owned(), p.to_owned())),
    })?;
    if let Some(path) = &args.cert_out {
        let pem = sim
            .certificate_pem()
            .context("--cert-out needs TLS (not --encryption unsupported)")?;
        std::fs::write(path, pem).with_context(|| format!("writing {}", path.display()))?;
    }
    sim.set_faults(Faults {
        drop_after_statements: args.drop_after_statements,
        delay: args.delay_ms.map(Duration::from_millis),
        fail_statement: args.fail_statement,
        drop_at_commit: None,
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", sim.addr())?;
    out.flush()?;
    drop(out);
    loop {
        std::thread::park();
    }
}
