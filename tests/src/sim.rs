//! The `k2cse-mssql-sim` binary as a separate process, the way CI, demos and other clients
//! (FreeTDS, python-tds) use it.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::fixtures::binary;

/// The `sa` password the tests give the simulator.
pub const SA_PASSWORD: &str = "Sim-Test!Pass1";
/// The sample database's master key password (see `k2cse_mssql_sim::SAMPLE_MASTER_KEY_PASSWORD`).
pub const MASTER_KEY_PASSWORD: &str = "K2sample!MasterKey";

/// A running simulator process; killed when dropped.
#[derive(Debug)]
pub struct SimProcess {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// Its data folder.
    pub data: tempfile::TempDir,
}

impl SimProcess {
    /// Starts `k2cse-mssql-sim --listen 127.0.0.1:0 --seed k2-sample` with `extra` arguments and
    /// waits for its `listening on` line.
    pub fn start(extra: &[&str]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(binary("k2cse-mssql-sim"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--seed",
                "k2-sample",
                "--sa-password",
                SA_PASSWORD,
                "--data",
            ])
            .arg(data.path())
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting k2cse-mssql-sim");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_mins(1))
            .expect("k2cse-mssql-sim did not print its address within 60 s");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        Self { child, port, data }
    }

    /// An ADO.NET connection string for `sa`, without the password (tests pass it through
    /// `K2CSE_SQL_PASSWORD` or the keyring, as admins would).
    pub fn connection(&self) -> String {
        format!(
            "Data Source=127.0.0.1,{};Initial Catalog=K2;User ID=sa;TrustServerCertificate=True",
            self.port
        )
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
