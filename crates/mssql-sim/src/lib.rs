//! A SQL Server stand-in for k2cse's tests and demos: real TDS 7.4 over TCP (optionally TLS),
//! with SQLite underneath.
//!
//! ```text
//! TcpListener ─► session (PRELOGIN, TLS, LOGIN7, requests) ─► engine::Session (SQLite + keys)
//!                      │                                            │
//!                wire / login / request / tokens              translate (T-SQL subset)
//! ```
//!
//! [`Simulator::start`] runs the server on its own thread and runtime, so synchronous tests,
//! async tests and the `k2cse-mssql-sim` binary all use it the same way. It is not SQL Server:
//! it understands the T-SQL k2cse sends and simple queries, emulates the K2 key stack, and
//! counts what it does so tests and benchmarks can assert on round trips.

pub mod engine;
pub mod login;
pub mod request;
mod session;
pub mod tls;
pub mod tokens;
pub mod wire;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;

pub use engine::seed::{
    DatabaseOptions, FlagColumn, SAMPLE_MASTER_KEY_PASSWORD, SAMPLE_TOKENS, SchemaProfile, Seed,
    ValueColumn,
};
pub use login::ServerEncryption;

/// What `SELECT @@VERSION` answers.
pub const VERSION_TEXT: &str = "Microsoft SQL Server 2019 (RTM) - 15.0.2000.5 (X64) - k2cse-mssql-sim: TDS 7.4 over SQLite, not a SQL Server";

/// How to run a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Content of a new database.
    pub seed: Seed,
    /// Password of the `sa` login.
    pub sa_password: String,
    /// Folder for the SQLite files; a temporary folder (deleted on drop) when `None`.
    pub data_dir: Option<PathBuf>,
    /// TLS policy.
    pub encryption: ServerEncryption,
    /// Database name.
    pub database: String,
    /// Print session errors to stderr.
    pub verbose: bool,
    /// Compatibility level, column types and collation of a new database.
    pub database_options: engine::seed::DatabaseOptions,
    /// A second login `(user, password)` that may read the table but not open the keys
    /// (`OPEN SYMMETRIC KEY` answers 15151).
    pub login_without_key_permission: Option<(String, String)>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: Seed::K2Sample,
            sa_password: "Simulator!Pass1".into(),
            data_dir: None,
            encryption: ServerEncryption::Optional,
            database: "K2".into(),
            verbose: false,
            database_options: engine::seed::DatabaseOptions::default(),
            login_without_key_permission: None,
        }
    }
}

/// Faults to inject into the next requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Hang up (without answering) right after this many further statements have run.
    pub drop_after_statements: Option<u64>,
    /// Wait this long before answering each request.
    pub delay: Option<Duration>,
    /// Fail every statement whose text contains this (case-insensitive) with error 50000.
    pub fail_statement: Option<String>,
    /// Hang up on the next commit request: before committing (the transaction dies with the
    /// connection) or after (the commit happened; its answer is lost).
    pub drop_at_commit: Option<CommitDrop>,
}

/// Where [`Faults::drop_at_commit`] hangs up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitDrop {
    /// Without committing.
    BeforeCommitting,
    /// After committing, before answering.
    AfterCommitting,
}

/// What the server has done so far.
#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    logins: AtomicU64,
    failed_logins: AtomicU64,
    requests: AtomicU64,
    statements: AtomicU64,
    commits: AtomicU64,
    rollbacks: AtomicU64,
}

/// A copy of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// TCP connections accepted.
    pub connections: u64,
    /// Successful logins.
    pub logins: u64,
    /// Refused logins.
    pub failed_logins: u64,
    /// Requests after login (batches, RPCs, transaction-manager requests, attentions): round trips.
    pub requests: u64,
    /// Statements executed.
    pub statements: u64,
    /// Transactions committed.
    pub commits: u64,
    /// Transactions rolled back.
    pub rollbacks: u64,
}

#[derive(Debug, Default)]
struct ActiveFaults {
    faults: Faults,
    drop_at: Option<u64>,
}

/// State shared by all sessions.
#[derive(Debug)]
struct Shared {
    config: SimConfig,
    store: engine::Store,
    identity: Option<tls::Identity>,
    counters: Counters,
    faults: Mutex<ActiveFaults>,
}

impl Shared {
    fn faults(&self) -> Faults {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .faults
            .clone()
    }

    /// The commit drop to inject now, if any (once).
    fn take_commit_drop(&self) -> Option<CommitDrop> {
        let mut active = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        active.faults.drop_at_commit.take()
    }

    /// Whether the statement numbered `count` is where an injected drop happens (once).
    fn take_drop(&self, count: u64) -> bool {
        let mut active = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        if active.drop_at.is_some_and(|at| count >= at) {
            active.drop_at = None;
            active.faults.drop_after_statements = None;
            return true;
        }
        false
    }
}

/// A running simulator; stops when dropped.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    data_dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _temp: Option<tempfile::TempDir>,
}

impl Simulator {
    /// Creates (or reopens) the database and starts listening; returns once connections are accepted.
    pub fn start(config: SimConfig) -> anyhow::Result<Self> {
        let temp = match &config.data_dir {
            Some(_) => None,
            None => Some(tempfile::tempdir().context("creating a temporary data folder")?),
        };
        let data_dir = match (&config.data_dir, &temp) {
            (Some(dir), _) => dir.clone(),
            (None, Some(t)) => t.path().to_owned(),
            (None, None) => unreachable!("a temporary folder exists when no data folder was given"),
        };
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let store = engine::seed::create(
            &data_dir,
            &config.database,
            config.seed,
            &config.database_options,
        )
        .context("creating the database")?;
        let identity = match config.encryption {
            ServerEncryption::Unsupported => None,
            _ => Some(tls::self_signed().context("generating the TLS certificate")?),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("k2cse-mssql-sim")
            .build()?;
        // Bound here (not in the runtime) so that `start` also works inside a caller's runtime.
        let listener = std::net::TcpListener::bind(config.listen)
            .with_context(|| format!("listening on {}", config.listen))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            store,
            identity,
            counters: Counters::default(),
            faults: Mutex::default(),
        });
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let accept_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new().name("k2cse-mssql-sim".into()).spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((socket, _)) = accepted else { continue };
                            let _ = socket.set_nodelay(true);
                            let shared = Arc::clone(&accept_shared);
                            tokio::spawn(async move {
                                let verbose = shared.config.verbose;
                                if let Err(e) = session::serve(socket, shared).await
                                    && verbose {
                                        #[allow(clippy::print_stderr, reason = "the binary's --verbose log")]
                                        { eprintln!("k2cse-mssql-sim: session ended: {e}"); }
                                    }
                            });
                        }
                    }
                }
            });
            runtime.shutdown_timeout(Duration::from_secs(1));
        })?;
        Ok(Self {
            addr,
            shared,
            data_dir,
            stop: Some(stop),
            thread: Some(thread),
            _temp: temp,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The `sa` password.
    pub fn sa_password(&self) -> &str {
        &self.shared.config.sa_password
    }

    /// The database name.
    pub fn database(&self) -> &str {
        self.shared.store.name()
    }

    /// Where the SQLite files are.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server certificate (PEM), when TLS is available.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.shared
            .identity
            .as_ref()
            .map(|i| i.certificate_pem.as_str())
    }

    /// An ADO.NET connection string for `sa` (with its password) that k2cse and .NET understand.
    pub fn connection_string(&self) -> String {
        format!(
            "Data Source=127.0.0.1,{};Initial Catalog={};User ID=sa;Password={};TrustServerCertificate=True",
            self.port(),
            self.database(),
            self.sa_password()
        )
    }

    /// The counters so far.
    pub fn counters(&self) -> CountersSnapshot {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CountersSnapshot {
            connections: get(&c.connections),
            logins: get(&c.logins),
            failed_logins: get(&c.failed_logins),
            requests: get(&c.requests),
            statements: get(&c.statements),
            commits: get(&c.commits),
            rollbacks: get(&c.rollbacks),
        }
    }

    /// Replaces the injected faults (counting of `drop_after_statements` starts now).
    pub fn set_faults(&self, faults: Faults) {
        let now = self.shared.counters.statements.load(Ordering::Relaxed);
        let mut active = self
            .shared
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        active.drop_at = faults.drop_after_statements.map(|n| now + n);
        active.faults = faults;
    }

    /// Runs SQL directly on the database (outside TDS): for tests that inspect or change rows
    /// behind the client's back.
    pub fn sqlite(&self) -> anyhow::Result<engine::Session> {
        Ok(self.shared.store.session()?)
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
