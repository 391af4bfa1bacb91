//! `k2cse`: parse the command line, call k2cse-core, render text or JSON, exit with a code.
//!
//! Exit codes: 0 success, 1 error, 2 usage error, 3 lint errors, 4 drift (`db drift --exit-code`),
//! 5 conflict (the file changed on disk or another k2cse is saving it: retry), 130 interrupted.

mod args;
mod backup;
mod connection;
mod context;
mod db;
mod demo;
mod entries;
mod json;
mod keys;
mod progress;
mod read;
mod render;
mod secrets;
mod terminal;
mod write;

use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::Parser as _;

use k2cse_core::report::{ErrorBody, ErrorReport, Schema as _};

use crate::args::{Cli, Command};
use crate::context::Context;

/// How a successful run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0.
    Ok,
    /// Exit code 3: lint errors were found (or a change was refused because of them).
    LintErrors,
    /// Exit code 4: `db drift --exit-code` found differences.
    Drift,
}

/// A mistake in how the command was called, found after clap's own checks (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    // Ctrl-C during a save or a backup: remove the temporary copies being written (they hold
    // the whole config) and end as interrupted. Files already renamed into place are complete.
    let _ = ctrlc::set_handler(|| {
        k2cse_core::cleanup::remove_all();
        std::process::exit(130);
    });
    // TLS (the `db` commands, the --demo simulator) uses ring: aws-lc-rs, rustls' default,
    // seeds its random generator with CPU jitter entropy on first use, ~50 ms of start-up
    // per command (docs/performance.md). tiberius uses the installed provider. It can only
    // fail if a provider is already installed, which then serves as well.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let json = cli.global.json;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = run(cli, &mut out);
    let code = match result {
        Ok(Outcome::Ok) => 0,
        Ok(Outcome::LintErrors) => 3,
        Ok(Outcome::Drift) => 4,
        Err(err) if is_broken_pipe(&err) => 0,
        Err(err) => report(&err, json, &mut out),
    };
    // A failed flush at exit (closed pipe) is not worth a different exit code.
    let _ = out.flush();
    ExitCode::from(code)
}

fn run(cli: Cli, out: &mut dyn io::Write) -> anyhow::Result<Outcome> {
    let Cli { global, command } = cli;
    match command {
        Command::Completions(args) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            // Generated into memory: clap_complete panics on a write error (`| head -1`).
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut cmd, "k2cse", &mut script);
            out.write_all(&script)?;
            Ok(Outcome::Ok)
        }
        Command::Demo => demo::run(&global, out),
        Command::Lint(args) if args.rules => read::rules(global.json, out),
        Command::Backup(command) => {
            let ctx = Context::without_config(&global)?;
            ctx.warn_interrupted_restore();
            backup::run(&ctx, command, out)
        }
        Command::Db(command) if !command.needs_config() => {
            db::run(&Context::without_config(&global)?, command, out)
        }
        Command::Key(args::KeyCommand::Import(args)) => {
            keys::import(&Context::without_config(&global)?, &args, out)
        }
        Command::Key(args::KeyCommand::Export(args)) => {
            keys::export(&Context::without_config(&global)?, &args, out)
        }
        command => {
            let ctx = Context::new(&global)?;
            ctx.warn_interrupted_restore();
            match command {
                Command::List(args) => read::list(&ctx, &args, out),
                Command::Show(args) => read::show(&ctx, &args, out),
                Command::Lint(args) => read::lint(&ctx, &args, out),
                Command::Key(args::KeyCommand::Inspect(args)) => keys::inspect(&ctx, &args, out),
                Command::Db(command) => db::run(&ctx, command, out),
                Command::Secret(command) => secrets::run(&ctx, command, out),
                other => write::run(&ctx, other, out),
            }
        }
    }
}

/// Prints `err` (text to stderr, or JSON to stdout with --json) and returns the exit code.
fn report(err: &anyhow::Error, json: bool, out: &mut dyn io::Write) -> u8 {
    let core = err.downcast_ref::<k2cse_core::Error>();
    let code = if err.downcast_ref::<UsageError>().is_some()
        || matches!(core, Some(k2cse_core::Error::PlaintextBackup { .. }))
    {
        2
    } else if matches!(core, Some(k2cse_core::Error::LintErrors { .. })) {
        3
    } else if matches!(
        core,
        Some(
            k2cse_core::Error::ChangedOnDisk { .. }
                | k2cse_core::Error::Locked { .. }
                | k2cse_core::Error::EditedDuringSave { .. }
        )
    ) {
        // Someone else changed or is changing the file: running the command again is right.
        5
    } else {
        1
    };
    // Messages may quote connection-string text (a value that does not parse, a refused
    // --connection, a TOML line): secrets are masked by the core's one function. Usage errors
    // are the CLI's own words about the arguments' shape (`KEY=VALUE`), never their values.
    let message = if err.downcast_ref::<UsageError>().is_some() {
        chain(err)
    } else {
        k2cse_core::entry::mask_text(&chain(err))
    };
    if json {
        let findings = match core {
            Some(k2cse_core::Error::LintErrors { diagnostics }) => Some(diagnostics.as_slice()),
            _ => None,
        };
        let report = ErrorReport {
            error: ErrorBody {
                message,
                exit_code: code,
                location: core.and_then(k2cse_core::Error::location),
                findings,
            },
        };
        let value = serde_json::to_value(report.document()).unwrap_or_default();
        let _ = writeln!(out, "{value:#}");
    } else {
        let _ = writeln!(io::stderr(), "error: {message}");
    }
    code
}

/// The error and its causes, `a: b: c`, leaving out a cause whose text the message before it
/// already contains (core errors print their cause themselves).
fn chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
