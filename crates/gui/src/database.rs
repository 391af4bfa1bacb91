//! The database side of the window: settings, the last status and drift, and the jobs that
//! read and write tokens. Every operation connects, does its work and disconnects, on the job
//! thread with its own tokio runtime; the core does the rest.

use std::time::Duration;

use k2cse_core::Change;
use k2cse_core::backup::BackupStore;
use k2cse_core::credentials::SecretKind;
use k2cse_core::db::push::{PushPlan, PushRequest, RowBackup};
use k2cse_core::db::{self, Credentials, Database, DbError, Drift, Mapping, Status, Target};
use k2cse_core::entry::Entry;
use k2cse_core::policy::{BackupPolicy, Environment, NoPrompt, SecretLookup};
use k2cse_core::secret::Secret;

use crate::jobs::CancelFlag;

/// How long the check after a save may take in all (connecting, opening the keys, reading
/// the tokens): the "also update the database?" question waits for it.
pub const CHECK_LIMIT: Duration = Duration::from_secs(5);

/// How to reach the database, as the panel edits it.
#[derive(Clone, Default)]
pub struct DbSettings {
    /// ADO.NET connection string (prefilled from `HostserverDB`).
    pub connection: String,
    /// Accept an unverified server certificate.
    pub trust_server_cert: bool,
    /// SQL login password typed in the panel (else environment, then keyring).
    pub sql_password: String,
    /// Master key password typed in the panel (else environment, then keyring).
    pub master_key_password: String,
    /// Mapping file.
    pub mapping: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for DbSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbSettings")
            .field(
                "connection",
                &k2cse_core::entry::display_any(&self.connection, false),
            )
            .finish_non_exhaustive()
    }
}

/// What the panel shows after a successful read.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Server, keys.
    pub status: Status,
    /// Every entry against its token.
    pub drifts: Vec<Drift>,
}

/// The Database view's state: how to connect, and what the last read found.
#[derive(Debug, Default)]
pub struct DatabaseView {
    /// Connection settings (typed in the view, or taken from `HostserverDB`).
    pub settings: DbSettings,
    /// The last successful read.
    pub snapshot: Option<Snapshot>,
}

/// Results of database jobs.
#[derive(Debug)]
pub enum DbOutcome {
    /// Status and drift.
    Read(Snapshot),
    /// Tokens written, then status and drift again.
    Pushed {
        /// How many tokens were written.
        written: usize,
        /// The state afterwards.
        snapshot: Snapshot,
    },
    /// File changes that bring database values into the editor.
    Pull(Vec<Change>),
}

impl DbSettings {
    fn target(&self) -> Result<Target, DbError> {
        let mut target = Target::from_connection_string(&self.connection)?;
        target.trust_server_certificate |= self.trust_server_cert;
        target.command_timeout = Duration::from_secs(30);
        Ok(target)
    }

    /// The typed passwords, else the core's lookup chain (environment, then keyring; the
    /// GUI asks in its Database view, not in a prompt).
    fn credentials(&self, target: &Target) -> Credentials {
        let env = Environment::process();
        let found = SecretLookup::open(&env, &NoPrompt).credentials(target);
        let typed = |text: &str| (!text.is_empty()).then(|| Secret::new(text));
        Credentials {
            sql_password: typed(&self.sql_password).or(found.sql_password),
            master_key_password: typed(&self.master_key_password).or(found.master_key_password),
        }
    }

    /// Stores the typed passwords in the OS keyring.
    pub fn remember(&self) -> Result<String, String> {
        let target = self.target().map_err(|e| e.to_string())?;
        let keyring = Environment::process()
            .keyring()
            .map_err(|e| e.to_string())?;
        let mut stored = Vec::new();
        if let (false, Some(account)) = (self.sql_password.is_empty(), target.password_account()) {
            keyring
                .set(
                    SecretKind::SqlPassword,
                    &account,
                    &Secret::new(&self.sql_password),
                )
                .map_err(|e| e.to_string())?;
            stored.push("SQL password");
        }
        if !self.master_key_password.is_empty() {
            keyring
                .set(
                    SecretKind::MasterKeyPassword,
                    &target.master_key_account(),
                    &Secret::new(&self.master_key_password),
                )
                .map_err(|e| e.to_string())?;
            stored.push("master key password");
        }
        Ok(format!(
            "Stored {} in the {}.",
            if stored.is_empty() {
                "nothing".to_owned()
            } else {
                stored.join(" and ")
            },
            keyring.name()
        ))
    }

    fn mapping(&self) -> Result<Mapping, DbError> {
        self.mapping
            .as_deref()
            .map(Mapping::load)
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// A runtime for this thread, and where and as whom to connect.
    fn prepare(&self) -> Result<(tokio::runtime::Runtime, Target, Credentials), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let target = self.target().map_err(|e| e.to_string())?;
        let credentials = self.credentials(&target);
        Ok((runtime, target, credentials))
    }

    /// Runs `op` against a fresh connection, on a runtime of this thread, until done or cancelled.
    fn run<T, E: From<DbError> + std::fmt::Display>(
        &self,
        cancel: &CancelFlag,
        op: impl AsyncFnOnce(&mut Database) -> Result<T, E>,
    ) -> Result<T, String> {
        self.run_within(cancel, None, op)
    }

    /// [`Self::run`], given up after `limit` in all when there is one (connection, login and
    /// each statement are bounded by it too).
    fn run_within<T, E: From<DbError> + std::fmt::Display>(
        &self,
        cancel: &CancelFlag,
        limit: Option<Duration>,
        op: impl AsyncFnOnce(&mut Database) -> Result<T, E>,
    ) -> Result<T, String> {
        let (runtime, mut target, credentials) = self.prepare()?;
        if let Some(limit) = limit {
            target.connect_timeout = target.connect_timeout.min(limit);
            target.command_timeout = target.command_timeout.min(limit);
        }
        runtime.block_on(async {
            let work = async {
                let mut db = Database::connect(&target, &credentials).await?;
                op(&mut db).await
            };
            let cancelled = async {
                while !cancel.is_cancelled() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            };
            let deadline = async {
                match limit {
                    Some(limit) => tokio::time::sleep(limit).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = work => r.map_err(|e| e.to_string()),
                () = cancelled => Err("Cancelled. Nothing was written: an unfinished transaction is rolled back by the server.".to_owned()),
                () = deadline => Err(format!(
                    "The K2 database did not answer within {} seconds.",
                    limit.unwrap_or_default().as_secs()
                )),
            }
        })
    }

    /// Runs `op` against a fresh connection to the end: for a restore, whose file write
    /// happens inside the transaction and must not be cut off between the two.
    pub(crate) fn run_to_end<T>(
        &self,
        op: impl AsyncFnOnce(&mut Database) -> k2cse_core::Result<T>,
    ) -> Result<T, String> {
        let (runtime, target, credentials) = self.prepare()?;
        runtime
            .block_on(async {
                let mut db = Database::connect(&target, &credentials).await?;
                op(&mut db).await
            })
            .map_err(|e| e.to_string())
    }

    /// Server as written in the connection string (for backup manifests).
    pub(crate) fn server(&self) -> String {
        self.target().map(|t| t.server()).unwrap_or_default()
    }

    /// Every row as stored, for a backup or a restore plan.
    pub(crate) fn raw_rows(
        &self,
        cancel: &CancelFlag,
    ) -> Result<(Vec<db::RawRow>, String, db::TableShape), String> {
        self.run(cancel, async |db| {
            let rows = db.raw_rows().await?;
            let status = db.status();
            Ok::<_, DbError>((rows, status.database.clone(), status.shape.clone()))
        })
    }

    /// Status and drift of `entries`.
    pub fn read(&self, entries: &[Entry], cancel: &CancelFlag) -> Result<DbOutcome, String> {
        let mapping = self.mapping().map_err(|e| e.to_string())?;
        self.run(cancel, async |db| snapshot(db, entries, &mapping).await)
            .map(DbOutcome::Read)
    }

    /// [`Self::read`] within `limit`: the check after a save, which the question waits for.
    pub fn check(
        &self,
        entries: &[Entry],
        cancel: &CancelFlag,
        limit: Duration,
    ) -> Result<DbOutcome, String> {
        let mapping = self.mapping().map_err(|e| e.to_string())?;
        self.run_within(cancel, Some(limit), async |db| {
            snapshot(db, entries, &mapping).await
        })
        .map(DbOutcome::Read)
    }

    /// Writes file values of `only` (all differing entries when empty) into their tokens.
    pub fn push(
        &self,
        entries: &[Entry],
        only: &[String],
        create: bool,
        backups: &BackupStore,
        policy: &BackupPolicy,
        cancel: &CancelFlag,
    ) -> Result<DbOutcome, String> {
        let mapping = self.mapping().map_err(|e| e.to_string())?;
        let server = self.server();
        self.run(cancel, async |db| {
            // The core's push use case, as `k2cse db push` runs it: the question was asked
            // before this job (the after-save dialog, the Database view's Push).
            let request = PushRequest {
                only: only.to_vec(),
                create,
                dry_run: false,
            };
            let plan = PushPlan::new(db, entries, &mapping, &request).await?;
            let outcome = plan
                .execute(
                    db,
                    Some(RowBackup {
                        store: backups,
                        encryption: policy.encryption.as_ref(),
                        keep: policy.keep,
                        server,
                        reason: "k2cse-gui database update".into(),
                    }),
                )
                .await?;
            Ok::<_, k2cse_core::Error>(DbOutcome::Pushed {
                written: outcome.writes.len(),
                snapshot: snapshot(db, entries, &mapping).await?,
            })
        })
    }

    /// The edits that bring database values of `only` (all when empty) into the file.
    pub fn pull(
        &self,
        entries: &[Entry],
        only: &[String],
        cancel: &CancelFlag,
    ) -> Result<DbOutcome, String> {
        let mapping = self.mapping().map_err(|e| e.to_string())?;
        self.run(cancel, async |db| {
            let now = snapshot(db, entries, &mapping).await?;
            Ok::<_, DbError>(DbOutcome::Pull(db::link::pull_changes(&now.drifts, only)))
        })
    }
}

async fn snapshot(
    db: &mut Database,
    entries: &[Entry],
    mapping: &Mapping,
) -> Result<Snapshot, DbError> {
    let tokens = db.tokens().await?;
    Ok(Snapshot {
        status: db.status().clone(),
        drifts: db::link::drift(entries, &tokens, mapping),
    })
}
