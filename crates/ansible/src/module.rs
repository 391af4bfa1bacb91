//! What the module does with its arguments: load the config as the CLI does, turn the options
//! into core [`Change`]s, preview them (lint, diff), save unless in check mode, and describe
//! the outcome as the JSON object Ansible expects.

use std::path::{Path, PathBuf};

use k2cse_core::config::discover_config;
use k2cse_core::edit::Values;
use k2cse_core::lint::{Diagnostic, LintOptions, Severity};
use k2cse_core::protect::{KeyStore, ProviderKind, RsaKey};
use k2cse_core::save::SaveOptions;
use k2cse_core::{Change, Document, EditSession};
use serde_json::{Value, json};

use crate::args::{Args, State};

/// The largest arguments file read: options are a few kilobytes.
const MAX_ARGS_BYTES: u64 = 1024 * 1024;

/// The failure result Ansible expects: `failed: true` and a message.
pub fn failure(msg: impl Into<String>) -> Value {
    json!({ "failed": true, "changed": false, "msg": msg.into() })
}

/// Runs the module on the arguments file Ansible wrote.
pub fn run_file(file: &Path, cwd: &Path, env: &dyn Fn(&str) -> Option<String>) -> Value {
    let text = match k2cse_core::bounded::read_to_string(file, MAX_ARGS_BYTES, "arguments file") {
        Ok(text) => text,
        Err(e) => return failure(e.to_string()),
    };
    match serde_json::from_str::<Value>(&text) {
        // The message of a JSON syntax error quotes no input, only a position.
        Err(e) => failure(format!("the arguments file is not JSON: {e}")),
        Ok(value) => run(value, cwd, env),
    }
}

/// Runs the module on the arguments object.
pub fn run(value: Value, cwd: &Path, env: &dyn Fn(&str) -> Option<String>) -> Value {
    let args = match Args::from_json(value) {
        Ok(args) => args,
        Err(msg) => return failure(msg),
    };
    match execute(&args, cwd, env) {
        Ok(result) => result,
        Err(msg) => failure(msg),
    }
}

fn execute(args: &Args, cwd: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Value, String> {
    let path = discover_config(args.path.as_deref().map(Path::new), cwd, env)
        .map_err(|e| e.to_string())?;
    let doc = load(&path, args.key_file.as_deref())?;
    let original = args.diff.then(|| doc.clone());
    let changes = changes(args, &doc)?;
    let mut session =
        EditSession::new(doc, LintOptions::default(), false).map_err(|e| e.to_string())?;
    session.apply_all(changes).map_err(|e| e.to_string())?;
    let changed = session.is_changed();
    let check = session.check().map_err(|e| e.to_string())?;
    let errors: Vec<&Diagnostic> = check.introduced_errors();
    if !errors.is_empty() && !args.force {
        return Err(format!(
            "the change would introduce lint errors (force: true writes anyway): {}",
            errors
                .iter()
                .map(|d| describe(d))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    let warnings: Vec<String> = check.introduced.iter().map(describe).collect();
    let mut result = json!({
        "changed": changed,
        "path": path.display().to_string(),
        "name": args.name,
    });
    if let Some(original) = &original
        && changed
        && !args.no_log
    {
        result["diff"] = diff(original, session.document())?;
    }
    let mut backup_file: Option<PathBuf> = None;
    let msg = if !changed {
        "no change: the file already holds this".to_owned()
    } else if args.check_mode {
        "would change the file (check mode: nothing written)".to_owned()
    } else {
        let options = SaveOptions {
            no_backup: !args.backup,
            reason: "ansible k2cse_connection_string".into(),
            ..SaveOptions::default()
        };
        let saved = session
            .save(&options, args.force)
            .map_err(|e| e.to_string())?;
        backup_file = saved.iter().find_map(|s| s.backup.clone());
        let mut msg = format!(
            "changed {}",
            saved
                .iter()
                .map(|s| s.path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        for s in &saved {
            if let Some(e) = &s.prune_error {
                msg.push_str("; old backups were not pruned: ");
                msg.push_str(e);
            }
        }
        msg
    };
    let mut msg = msg;
    if args.db_push {
        // A database failure after the file was written fails the task but keeps `changed`,
        // so that Ansible reports the file change it made.
        match crate::db_push::push(args, &path, session.document(), env) {
            Ok(pushed) => {
                if pushed.changed {
                    result["changed"] = true.into();
                }
                result["db_changed"] = pushed.changed.into();
                msg.push_str("; ");
                msg.push_str(&pushed.msg);
                if let Some(backup) = pushed.backup {
                    result["db_backup_file"] = backup.display().to_string().into();
                }
            }
            Err(e) => {
                result["failed"] = true.into();
                msg.push_str("; the database was not updated: ");
                msg.push_str(&e);
            }
        }
    }
    result["msg"] = msg.into();
    if let Some(backup) = backup_file {
        result["backup_file"] = backup.display().to_string().into();
    }
    if !warnings.is_empty() {
        result["warnings"] = warnings.into();
    }
    Ok(result)
}

/// Loads the config as `k2cse` does: an encrypted section is opened with `key_file`, or with
/// the operating system's stores (DPAPI always, as no key file can open it).
fn load(path: &Path, key_file: Option<&str>) -> Result<Document, String> {
    let mut doc = Document::load(path).map_err(|e| e.to_string())?;
    let key = key_file
        .map(|k| RsaKey::from_file(Path::new(k)))
        .transpose()
        .map_err(|e| format!("{}: {}", e.path.display(), e.message))?;
    let keys = KeyStore::new(key);
    let dpapi = doc.protection().is_some_and(|p| {
        k2cse_core::protect::provider::resolve(doc.main_file(), &p.provider)
            .is_ok_and(|spec| spec.kind == ProviderKind::Dpapi)
    });
    if doc.protection().is_none() || !keys.is_empty() || dpapi {
        doc.unlock(keys).map_err(|e| e.to_string())?;
    }
    Ok(doc)
}

/// The options as core changes. `state: present` on a missing entry adds it.
fn changes(args: &Args, doc: &Document) -> Result<Vec<Change>, String> {
    let exists = !doc
        .entries_named(&args.name)
        .map_err(|e| e.to_string())?
        .is_empty();
    let name = args.name.clone();
    let mut out = Vec::new();
    match args.state {
        State::Absent => {
            if exists {
                out.push(Change::Remove { name });
            }
        }
        State::Present => {
            if !exists {
                out.push(Change::Add {
                    name: name.clone(),
                    values: Values::default(),
                });
            }
            if let Some(connection_string) = &args.connection_string {
                out.push(Change::Replace {
                    name: name.clone(),
                    connection_string: connection_string.clone(),
                });
            }
            if !args.values.is_empty() {
                out.push(Change::Set {
                    name: name.clone(),
                    values: args.values.clone(),
                });
            }
            if !args.unset.is_empty() {
                out.push(Change::Unset {
                    name,
                    keys: args.unset.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// Ansible's diff: `before`/`after` per file, secrets masked (a changed secret reads
/// `******** (changed)`). One file gives one object; a section in a `configSource` file, a list.
fn diff(original: &Document, edited: &Document) -> Result<Value, String> {
    let before =
        k2cse_core::diff::display_texts(original, None, false).map_err(|e| e.to_string())?;
    let after = k2cse_core::diff::display_texts(edited, Some(original), false)
        .map_err(|e| e.to_string())?;
    let mut diffs: Vec<Value> = before
        .iter()
        .filter_map(|(path, old)| {
            let (_, new) = after.iter().find(|(p, _)| p == path)?;
            (old != new).then(|| {
                let header = path.display().to_string();
                json!({ "before": old, "after": new, "before_header": header, "after_header": header })
            })
        })
        .collect();
    Ok(if diffs.len() == 1 {
        diffs.remove(0)
    } else {
        Value::Array(diffs)
    })
}

/// A lint finding as one warning line: `K2C031 error (Entry, Key): message - hint`.
fn describe(d: &Diagnostic) -> String {
    let mut place: Vec<&str> = Vec::new();
    place.extend(d.entry.as_deref());
    place.extend(d.key.as_deref());
    let place = if place.is_empty() {
        String::new()
    } else {
        format!(" ({})", place.join(", "))
    };
    let severity = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    };
    format!("{} {severity}{place}: {} - {}", d.code, d.message, d.hint)
}

#[cfg(test)]
#[path = "module_tests.rs"]
mod tests;
