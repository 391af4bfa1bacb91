//! `db_push: true`: after the file, the database — the vendor tool's "update database" for
//! this task's entry, through the core's push use case (read, compare, back up the rows,
//! write in one checked transaction). In check mode it only plans.
//!
//! The database is the config's `HostserverDB` entry or `db_connection`; passwords that are
//! not in the connection string come from the task's environment (`K2CSE_SQL_PASSWORD`,
//! `K2CSE_MASTER_KEY_PASSWORD`), never from the module's options, so they are never echoed.

use std::path::{Path, PathBuf};

use k2cse_core::Document;
use k2cse_core::backup::{BackupStore, DEFAULT_KEEP};
use k2cse_core::db::push::{PushRequest, RowBackup, push as push_use_case};
use k2cse_core::db::{Credentials, Database, Mapping, Target};
use k2cse_core::secret::Secret;

use crate::args::Args;

/// What the database part did.
pub struct Pushed {
    /// Whether a token was (or, in check mode, would be) written.
    pub changed: bool,
    /// One line for `msg`: token names only, never values.
    pub msg: String,
    /// The automatic backup of the rows.
    pub backup: Option<PathBuf>,
}

/// Pushes the entry `args.name` of `doc` (the file as it is after the task's change).
pub fn push(
    args: &Args,
    path: &Path,
    doc: &Document,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Pushed, String> {
    let entries = doc.entries().map_err(|e| e.to_string())?;
    let connection = match &args.db_connection {
        Some(c) => c.clone(),
        None => entries
            .iter()
            .find(|e| e.name.as_str().eq_ignore_ascii_case("HostserverDB"))
            .and_then(|e| e.value.clone())
            .ok_or("db_push: the config has no HostserverDB entry; set db_connection")?,
    };
    let target = Target::from_connection_string(&connection).map_err(|e| e.to_string())?;
    let credentials = Credentials {
        sql_password: env("K2CSE_SQL_PASSWORD").map(Secret::new),
        master_key_password: env("K2CSE_MASTER_KEY_PASSWORD").map(Secret::new),
    };
    let request = PushRequest {
        only: vec![args.name.clone()],
        create: false,
        dry_run: args.check_mode,
    };
    let store = BackupStore::for_config(path, None);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("db_push: starting the async runtime: {e}"))?;
    let outcome = runtime
        .block_on(async {
            let mut db = Database::connect(&target, &credentials).await?;
            let backup = args.backup.then(|| RowBackup {
                store: &store,
                encryption: None,
                keep: DEFAULT_KEEP,
                server: target.server(),
                reason: "ansible k2cse_connection_string db_push".into(),
            });
            push_use_case(&mut db, &entries, &Mapping::default(), &request, backup).await
        })
        .map_err(|e| format!("db_push: {e}"))?;
    let tokens: Vec<&str> = outcome.writes.iter().map(|w| w.token.as_str()).collect();
    let msg = match (tokens.is_empty(), args.check_mode) {
        (true, _) if !outcome.skipped_missing.is_empty() => format!(
            "database: {} has no token; nothing written (k2cse db push --create adds it)",
            args.name
        ),
        (true, _) => "database: already in sync".to_owned(),
        (false, true) => format!("database: would write {}", tokens.join(", ")),
        (false, false) => format!("database: wrote {}", tokens.join(", ")),
    };
    Ok(Pushed {
        changed: !tokens.is_empty(),
        msg,
        backup: outcome.backup,
    })
}
