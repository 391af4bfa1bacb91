//! The terminal: questions without echo and lines from standard input.

use std::io::{self, BufRead as _, IsTerminal as _, Write as _};

use anyhow::Context as _;
use k2cse_core::policy::Asker;
use k2cse_core::secret::Secret;

use crate::UsageError;

/// The CLI's way of asking for a secret: on a terminal, without echo; warnings on stderr.
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal;

impl Asker for Terminal {
    fn ask(&self, question: &str) -> Option<Secret> {
        if !io::stdin().is_terminal() {
            return None;
        }
        rpassword::prompt_password(question).ok().map(Secret::new)
    }

    fn warn(&self, message: &str) {
        let _ = writeln!(io::stderr(), "warning: {message}");
    }
}

/// The most a value read from standard input may hold: far more than any password or
/// connection string, and a bound when stdin is `/dev/zero` or a runaway producer.
const MAX_STDIN_LINE: u64 = 1024 * 1024;

/// One line from standard input (without its line end), read with a size bound. Empty or
/// closed input is refused (exit code 2) unless `allow_empty`: when the command feeding a
/// secret fails, the secret must not be replaced by nothing.
pub fn read_stdin_line(what: &str, allow_empty: bool) -> anyhow::Result<String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .take(MAX_STDIN_LINE + 1)
        .read_until(b'\n', &mut bytes)
        .with_context(|| format!("reading {what} from standard input"))?;
    if bytes.len() as u64 > MAX_STDIN_LINE {
        return Err(UsageError(format!(
            "{what}: standard input holds more than {} KiB without a line end; nothing was changed",
            MAX_STDIN_LINE / 1024
        ))
        .into());
    }
    let closed = bytes.is_empty();
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    if bytes.is_empty() && !allow_empty {
        let why = if closed {
            "standard input was closed before a line was read"
        } else {
            "standard input gave an empty line"
        };
        return Err(UsageError(format!(
            "{what}: {why}; nothing was changed (pass --allow-empty to set an empty value)"
        ))
        .into());
    }
    String::from_utf8(bytes)
        .map_err(|_| UsageError(format!("{what}: standard input is not UTF-8 text")).into())
}
