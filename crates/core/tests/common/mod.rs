//! Set-up shared by the core's database and backup tests: the simulator's credentials, a
//! connection to it, and the change to its rows that the backup tests undo.
// Each test file uses part of this module.
#![allow(dead_code, clippy::unwrap_used)]

use k2cse_core::db::{Credentials, Database, Target, TokenWrite};
use k2cse_core::secret::Secret;
use k2cse_mssql_sim::{SAMPLE_MASTER_KEY_PASSWORD, Simulator};

/// The simulator's credentials: the sample master key's password (no SQL password).
pub fn credentials() -> Credentials {
    Credentials {
        sql_password: None,
        master_key_password: Some(Secret::new(SAMPLE_MASTER_KEY_PASSWORD)),
    }
}

/// A connection to `sim`, with its target.
pub async fn open_db(sim: &Simulator) -> (Database, Target) {
    let target = Target::from_connection_string(&sim.connection_string()).unwrap();
    (
        Database::connect(&target, &credentials()).await.unwrap(),
        target,
    )
}

/// A connection to `sim`.
pub async fn open(sim: &Simulator) -> Database {
    open_db(sim).await.0
}

/// Breaks the sample's rows: `[K2SERVER]` changed, `[ADDED]` new (encrypted as
/// `encrypt_added` says).
pub async fn break_rows(db: &mut Database, encrypt_added: bool) {
    db.write(&[
        TokenWrite {
            token: "[K2SERVER]".into(),
            expected: Some("K2SERVER01".into()),
            new: "BROKEN".into(),
            encrypt: false,
        },
        TokenWrite {
            token: "[ADDED]".into(),
            expected: None,
            new: "x".into(),
            encrypt: encrypt_added,
        },
    ])
    .await
    .unwrap();
}
