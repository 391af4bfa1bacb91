//! `k2cse_connection_string`, an Ansible binary module: Ansible copies this program to the
//! target, writes the task's arguments as JSON into a file and runs the program with that
//! file's path as its only argument; the program answers with one JSON object on stdout
//! (docs/ansible.md describes the contract).

mod args;
mod db_push;
mod module;

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let cwd = std::env::current_dir().unwrap_or_default();
    let result = match argv.as_slice() {
        [file] => module::run_file(Path::new(file), &cwd, &|var| std::env::var(var).ok()),
        _ => module::failure(
            "k2cse_connection_string is an Ansible module: run it with the path of a JSON arguments file as its only argument",
        ),
    };
    let failed = result
        .get("failed")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    // Ansible reads stdout only; nothing else is printed.
    let mut out = std::io::stdout().lock();
    let written = serde_json::to_writer(&mut out, &result)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    if written.is_err() || failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
