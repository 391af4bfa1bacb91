//! The Windows `k2cse.exe` under Wine against the simulator (a Linux process on loopback): TLS
//! through rustls and TDS from the Windows build, and Windows authentication attempted for real
//! (SSPI), where the Linux build refuses it up front. Ignored by default;
//! `scripts/wine-tests.sh` runs it.
#![allow(clippy::unwrap_used)]
// Wine runs on a Unix host; on Windows the programs run natively and the other suites cover them.
#![cfg(unix)]

use k2cse_tests::fixtures::Scratch;
use k2cse_tests::sim::{SA_PASSWORD, SimProcess};
use k2cse_tests::wine::{Wine, stderr, stdout};

#[test]
#[ignore = "needs Wine: scripts/wine-tests.sh"]
fn the_windows_build_reads_the_k2_database_and_tries_windows_authentication() {
    let wine = Wine::from_env();
    let sim = SimProcess::start(&[]);
    let s = Scratch::sample();
    let dir = s.dir.path();
    let connection = sim.connection();
    let sql_login = wine
        .k2cse(
            dir,
            &[
                "--config",
                "K2HostServer.exe.config",
                "db",
                "tokens",
                "--connection",
                &connection,
            ],
        )
        .env("K2CSE_SQL_PASSWORD", SA_PASSWORD)
        .output()
        .unwrap();
    assert!(sql_login.status.success(), "{}", stderr(&sql_login));
    assert!(
        stdout(&sql_login).contains("[ConnectionString:SourceCode.Net.Mail.SmtpConnection]"),
        "{}",
        stdout(&sql_login)
    );

    // Integrated Security: the Windows build builds an SSPI login. Under Wine without a domain
    // (no winbind), SSPI itself fails; with one, the simulator refuses it (error 18452) as a
    // SQL Server refuses an untrusted domain. Either way it is not the Linux build's "needs
    // Windows" refusal, and the message names Windows authentication or the server's answer.
    let integrated = format!(
        "Data Source=127.0.0.1,{};Initial Catalog=K2;Integrated Security=True;TrustServerCertificate=True",
        sim.port
    );
    let out = wine
        .k2cse(
            dir,
            &[
                "--config",
                "K2HostServer.exe.config",
                "db",
                "status",
                "--connection",
                &integrated,
            ],
        )
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(!err.contains("needs Windows"), "{err}");
    assert!(
        err.contains("Windows authentication (SSPI) failed") || err.contains("error 18452"),
        "{err}"
    );
}
