//! The module's options, read from the JSON arguments file Ansible writes.
//!
//! Each option is read on its own so that an error names the option and never quotes its
//! value (a value may be a password, and Ansible shows `msg` even for `no_log` tasks' hosts
//! in some callbacks).

use k2cse_core::edit::Values;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// `state`: whether the entry should exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The entry exists, with the given values.
    Present,
    /// The entry does not exist.
    Absent,
}

/// The task's options and the Ansible settings the module honours.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools, reason = "Ansible's boolean options")]
pub struct Args {
    pub path: Option<String>,
    pub name: String,
    pub state: State,
    pub values: Values,
    pub unset: Vec<String>,
    pub connection_string: Option<String>,
    pub key_file: Option<String>,
    pub backup: bool,
    pub db_push: bool,
    /// The K2 database for `db_push` (default: the config's `HostserverDB` entry).
    pub db_connection: Option<String>,
    pub force: bool,
    /// `_ansible_check_mode`: report, write nothing.
    pub check_mode: bool,
    /// `_ansible_diff`: return `diff`.
    pub diff: bool,
    /// `_ansible_no_log`: return nothing derived from the file's contents beyond `changed`.
    pub no_log: bool,
}

/// The options the module accepts (documented in `ansible/plugins/modules/k2cse_connection_string.py`).
pub const OPTIONS: &[&str] = &[
    "path",
    "name",
    "state",
    "values",
    "unset",
    "connection_string",
    "key_file",
    "backup",
    "db_push",
    "db_connection",
    "force",
];

impl Args {
    /// Reads the arguments object; the error is the message to report.
    pub fn from_json(value: Value) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err("the arguments file does not hold a JSON object".into());
        };
        let unknown: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| !k.starts_with("_ansible_") && !OPTIONS.contains(k))
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "Unsupported parameters: {}. Supported parameters: {}",
                unknown.join(", "),
                OPTIONS.join(", ")
            ));
        }
        let name: Option<String> = opt(&map, "name", "a string")?;
        let name = name
            .filter(|n| !n.is_empty())
            .ok_or("missing required arguments: name")?;
        let state = match opt::<String>(&map, "state", "present or absent")?.as_deref() {
            None | Some("present") => State::Present,
            Some("absent") => State::Absent,
            Some(_) => return Err("option state: expected present or absent".into()),
        };
        let args = Self {
            path: opt(&map, "path", "a string")?,
            name,
            state,
            values: values(&map)?,
            unset: opt(&map, "unset", "a list of key names")?.unwrap_or_default(),
            connection_string: opt(&map, "connection_string", "a string")?,
            key_file: opt(&map, "key_file", "a string")?,
            backup: flag(&map, "backup")?.unwrap_or(true),
            db_push: flag(&map, "db_push")?.unwrap_or(false),
            db_connection: opt(&map, "db_connection", "a string")?,
            force: flag(&map, "force")?.unwrap_or(false),
            check_mode: flag(&map, "_ansible_check_mode")?.unwrap_or(false),
            diff: flag(&map, "_ansible_diff")?.unwrap_or(false),
            no_log: flag(&map, "_ansible_no_log")?.unwrap_or(false),
        };
        if args.state == State::Absent
            && (!args.values.is_empty()
                || !args.unset.is_empty()
                || args.connection_string.is_some())
        {
            return Err(
                "state=absent removes the entry: values, unset and connection_string do not apply"
                    .into(),
            );
        }
        Ok(args)
    }
}

/// Option `key` as `T`; `null` or missing is `None`. The error names the option, not the value.
fn opt<T: DeserializeOwned>(
    map: &Map<String, Value>,
    key: &str,
    expected: &str,
) -> Result<Option<T>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|_| format!("option {key}: expected {expected}")),
    }
}

/// `values`: a dictionary, or (from `ansible -a 'values=...'`) the same as JSON text.
fn values(map: &Map<String, Value>) -> Result<Values, String> {
    const EXPECTED: &str = "a dictionary of key: value";
    if let Some(Value::String(text)) = map.get("values") {
        return serde_json::from_str(text)
            .map_err(|_| format!("option values: expected {EXPECTED}"));
    }
    Ok(opt(map, "values", EXPECTED)?.unwrap_or_default())
}

/// A boolean option, as Ansible's `type: bool` reads it (true/false, yes/no, on/off, 1/0).
fn flag(map: &Map<String, Value>, key: &str) -> Result<Option<bool>, String> {
    let bad = || format!("option {key}: expected a boolean");
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(1) => Ok(Some(true)),
            Some(0) => Ok(Some(false)),
            _ => Err(bad()),
        },
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "y" | "t" => Ok(Some(true)),
            "no" | "off" | "0" | "false" | "n" | "f" => Ok(Some(false)),
            _ => Err(bad()),
        },
        Some(_) => Err(bad()),
    }
}
