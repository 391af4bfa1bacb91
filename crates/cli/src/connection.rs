//! The connection to K2's database: where it goes (`--connection` or the config's
//! `HostserverDB` entry), the credentials the core's lookup chain finds, and the automatic
//! backup of the rows before a write.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use k2cse_core::db::push::RowBackup;
use k2cse_core::db::{self, Database, DbError, Target};

use crate::UsageError;
use crate::args::DbOptions;
use crate::context::Context;

/// An open connection and what keeps it alive.
pub struct Connected {
    pub runtime: tokio::runtime::Runtime,
    pub db: Database,
}

impl Connected {
    pub fn run<T>(
        &mut self,
        f: impl AsyncFnOnce(&mut Database) -> Result<T, DbError>,
    ) -> anyhow::Result<T> {
        Ok(self.runtime.block_on(f(&mut self.db))?)
    }
}

/// The connection target: `--connection`, or the config's `HostserverDB` entry.
pub fn target(ctx: &Context, options: &DbOptions) -> anyhow::Result<Target> {
    let text =
        match &options.connection {
            Some(text) => text.clone(),
            None if ctx.demo => return Err(UsageError(
                "with --demo the database is simulated; its connection is made by the db commands"
                    .into(),
            )
            .into()),
            None => {
                let doc = ctx.load()?;
                let entry = doc
                    .entries()?
                    .into_iter()
                    .find(|e| e.name.as_str().eq_ignore_ascii_case("HostserverDB"))
                    .ok_or(DbError::NoConnection)?;
                entry.value.clone().ok_or(DbError::NoConnection)?
            }
        };
    let mut target = Target::from_connection_string(&text)?;
    target.trust_server_certificate |= options.trust_server_cert;
    target.command_timeout = Duration::from_secs(options.timeout.max(1));
    Ok(target)
}

pub fn connect(ctx: &Context, options: &DbOptions) -> anyhow::Result<Connected> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    #[cfg(feature = "simulator")]
    if ctx.demo && options.connection.is_none() {
        let simulator = if let Some(s) = ctx.simulator.get() {
            s
        } else {
            let started = k2cse_mssql_sim::Simulator::start(k2cse_mssql_sim::SimConfig::default())?;
            ctx.simulator.get_or_init(|| started)
        };
        let target = Target::from_connection_string(&simulator.connection_string())?;
        let credentials = db::Credentials {
            sql_password: None,
            master_key_password: Some(k2cse_core::secret::Secret::new(
                k2cse_mssql_sim::SAMPLE_MASTER_KEY_PASSWORD,
            )),
        };
        let db = runtime.block_on(Database::connect(&target, &credentials))?;
        return Ok(Connected { runtime, db });
    }
    let target = target(ctx, options)?;
    let credentials = ctx.secrets().credentials(&target);
    let db = runtime.block_on(Database::connect(&target, &credentials))?;
    Ok(Connected { runtime, db })
}

/// The server as the connection string names it (for a backup's manifest).
pub fn server(ctx: &Context, options: &DbOptions, c: &Connected) -> String {
    target(ctx, options).map_or_else(|_| c.db.status().server.clone(), |t| t.server())
}

/// The automatic backup of the rows before `db set` (the core's [`RowBackup`], as a push
/// takes it), into the backup folder, with retention. Returns where it went.
pub fn before_db_write(
    ctx: &Context,
    c: &mut Connected,
    options: &DbOptions,
    no_backup: bool,
    reason: &str,
) -> anyhow::Result<Option<PathBuf>> {
    if no_backup {
        return Ok(None);
    }
    let policy = ctx.backup_policy();
    let store = ctx.backup_store();
    let backup = RowBackup {
        store: &store,
        encryption: policy.encryption.as_ref(),
        keep: policy.keep,
        server: server(ctx, options, c),
        reason: reason.to_owned(),
    };
    let path = c.runtime.block_on(backup.take(&mut c.db))?;
    Ok(Some(path))
}
