//! The module's JSON contract, on the sample K2 config.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::run;

const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection";
const SMTP_USER: &str = "SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com";

fn no_env(_: &str) -> Option<String> {
    None
}

fn sample() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = k2cse_core::sample::write_sample(dir.path()).unwrap();
    (dir, path)
}

fn call(path: &Path, mut args: Value) -> Value {
    args["path"] = path.display().to_string().into();
    run(args, Path::new("/nonexistent"), &no_env)
}

fn backups(dir: &Path) -> usize {
    std::fs::read_dir(dir.join(k2cse_core::backup::DIR_NAME)).map_or(0, Iterator::count)
}

#[test]
fn a_change_writes_with_a_backup_and_the_same_change_again_is_no_change() {
    let (dir, path) = sample();
    let args = json!({"name": SMTP, "values": {"Port": 587, "TLS": "StartTls"}});
    // `ansible -a 'values={"Port": 587}'` passes the dictionary as JSON text: the same change.
    let as_text = json!({"name": SMTP, "values": "{\"Port\": 587}", "_ansible_check_mode": true});
    assert_eq!(call(&path, as_text)["changed"], true);
    let first = call(&path, args.clone());
    assert_eq!(first["changed"], true, "{first}");
    assert!(first.get("failed").is_none(), "{first}");
    let backup = first["backup_file"].as_str().unwrap();
    assert!(Path::new(backup).is_file(), "{first}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("Host Name=smtp.denallix.com;Port=587;TLS=StartTls"),
        "{text}"
    );
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();

    let second = call(&path, args);
    assert_eq!(second["changed"], false, "{second}");
    assert!(second.get("backup_file").is_none(), "{second}");
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified
    );
    assert_eq!(backups(dir.path()), 1);
}

#[test]
fn check_mode_reports_the_change_and_writes_nothing() {
    let (dir, path) = sample();
    let before = std::fs::read(&path).unwrap();
    let out = call(
        &path,
        json!({"name": SMTP, "values": {"Port": "587"}, "_ansible_check_mode": true}),
    );
    assert_eq!(out["changed"], true, "{out}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(backups(dir.path()), 0);
    assert!(
        out.get("diff").is_none(),
        "a diff only when Ansible asks: {out}"
    );
}

#[test]
fn the_diff_masks_secrets_and_no_log_drops_it() {
    let (_dir, path) = sample();
    let args = json!({
        "name": SMTP_USER,
        "values": {"Password": "N3w-S3cret!"},
        "_ansible_diff": true,
        "_ansible_check_mode": true,
    });
    let out = call(&path, args.clone());
    let diff = &out["diff"];
    let (before, after) = (
        diff["before"].as_str().unwrap(),
        diff["after"].as_str().unwrap(),
    );
    assert!(before.contains("Password=********"), "{before}");
    assert!(after.contains("Password=******** (changed)"), "{after}");
    let whole = out.to_string();
    for secret in ["N3w-S3cret!", "S3cret!Pass", "P@ss;w0rd"] {
        assert!(!whole.contains(secret), "{secret} in {whole}");
    }
    let mut quiet = args;
    quiet["_ansible_no_log"] = true.into();
    let out = call(&path, quiet);
    assert_eq!(out["changed"], true);
    assert!(out.get("diff").is_none(), "{out}");
}

#[test]
fn a_lint_error_fails_unless_forced_and_then_is_a_warning() {
    let (_dir, path) = sample();
    let before = std::fs::read(&path).unwrap();
    let args = json!({"name": SMTP, "values": {"TLS": "Ssl"}});
    let out = call(&path, args.clone());
    assert_eq!(out["failed"], true, "{out}");
    assert!(out["msg"].as_str().unwrap().contains("K2C031"), "{out}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let mut forced = args;
    forced["force"] = "yes".into();
    let out = call(&path, forced);
    assert_eq!(out["changed"], true, "{out}");
    assert!(
        out["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("K2C031 error"),
        "{out}"
    );
}

#[test]
fn state_absent_removes_then_is_no_change_and_present_adds() {
    let (_dir, path) = sample();
    let name = "SourceCode.Custom.ArchiveStore";
    let out = call(&path, json!({"name": name, "state": "absent"}));
    assert_eq!(out["changed"], true, "{out}");
    assert!(!std::fs::read_to_string(&path).unwrap().contains(name));
    let out = call(&path, json!({"name": name, "state": "absent"}));
    assert_eq!(out["changed"], false, "{out}");
    let out = call(
        &path,
        json!({"name": name, "connection_string": "Path=x;Retention Days=7", "unset": ["Retention Days"], "backup": false}),
    );
    assert_eq!(out["changed"], true, "{out}");
    assert!(out.get("backup_file").is_none(), "{out}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(&format!("name=\"{name}\" connectionString=\"Path=x\"")),
        "{text}"
    );
}

#[test]
fn unset_removes_keys_and_a_missing_key_is_no_change() {
    let (_dir, path) = sample();
    let out = call(&path, json!({"name": SMTP_USER, "unset": ["password"]}));
    assert_eq!(out["changed"], true, "{out}");
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("S3cret!Pass")
    );
    let out = call(&path, json!({"name": SMTP_USER, "unset": ["Password"]}));
    assert_eq!(out["changed"], false, "{out}");
}

#[test]
fn bad_arguments_fail_without_echoing_values() {
    let (_dir, path) = sample();
    for (args, expect) in [
        (
            json!({"name": SMTP, "colour": "red"}),
            "Unsupported parameters: colour",
        ),
        (
            json!({"values": {"Port": "1"}}),
            "missing required arguments: name",
        ),
        (
            json!({"name": SMTP, "connection_string": ["Hunter2-secret"]}),
            "option connection_string",
        ),
        (
            json!({"name": SMTP, "values": {"Password": 1.5}}),
            "option values",
        ),
        (json!({"name": SMTP, "state": "gone"}), "option state"),
        (
            json!({"name": SMTP, "state": "absent", "values": {"Port": "1"}}),
            "state=absent",
        ),
        (json!({"name": SMTP, "force": "perhaps"}), "option force"),
        (
            json!({"name": SMTP, "values": "Password=Hunter2"}),
            "option values",
        ),
        (
            json!({"name": SMTP, "db_push": true, "db_connection": "Data Source=x;User ID=sa;Authentication=ActiveDirectoryInteractive"}),
            "Authentication=ActiveDirectoryInteractive",
        ),
    ] {
        let out = call(&path, args);
        assert_eq!(out["failed"], true, "{out}");
        let msg = out["msg"].as_str().unwrap();
        assert!(msg.contains(expect), "{msg}");
        assert!(
            !msg.contains("Hunter2") && !msg.contains("1.5") && !msg.contains("red\""),
            "{msg}"
        );
    }
}

#[test]
fn a_missing_file_fails_and_discovery_looks_in_the_current_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = call(
        &dir.path().join("K2HostServer.exe.config"),
        json!({"name": SMTP}),
    );
    assert_eq!(out["failed"], true, "{out}");
    let out = run(json!({"name": SMTP}), dir.path(), &no_env);
    assert_eq!(out["failed"], true, "{out}");
    k2cse_core::sample::write_sample(dir.path()).unwrap();
    let out = run(
        json!({"name": SMTP, "values": {"Port": "25"}}),
        dir.path(),
        &no_env,
    );
    assert_eq!(out["changed"], false, "{out}");
    assert!(
        out["path"]
            .as_str()
            .unwrap()
            .ends_with("K2HostServer.exe.config"),
        "{out}"
    );
}

/// `db_push`: after the file, the entry's database token gets the file's value (the rows are
/// backed up first); the same task again changes neither; check mode plans only.
#[test]
fn db_push_writes_the_token_once_and_check_mode_only_plans() {
    use k2cse_mssql_sim::{SAMPLE_MASTER_KEY_PASSWORD, SimConfig, Simulator};
    let sim = Simulator::start(SimConfig::default()).unwrap();
    let (dir, path) = sample();
    let env = |var: &str| {
        (var == "K2CSE_MASTER_KEY_PASSWORD").then(|| SAMPLE_MASTER_KEY_PASSWORD.to_owned())
    };
    let args = |check: bool| {
        json!({
            "path": path.display().to_string(),
            "name": SMTP,
            "values": {"Port": 587},
            "db_push": true,
            "db_connection": sim.connection_string(),
            "_ansible_check_mode": check,
        })
    };
    let token = || {
        let target =
            k2cse_core::db::Target::from_connection_string(&sim.connection_string()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut db =
                k2cse_core::db::Database::connect(&target, &k2cse_core::db::Credentials::default())
                    .await
                    .unwrap();
            db.token("[ConnectionString:SourceCode.Net.Mail.SmtpConnection]")
                .await
                .unwrap()
                .value
                .text()
                .map(str::to_owned)
        })
    };
    let before = token();
    let planned = run(args(true), Path::new("/nonexistent"), &env);
    assert_eq!(planned["changed"], true, "{planned}");
    assert_eq!(planned["db_changed"], true, "{planned}");
    assert!(
        planned["msg"].as_str().unwrap().contains("would write"),
        "{planned}"
    );
    assert_eq!(token(), before, "check mode writes nothing");

    let first = run(args(false), Path::new("/nonexistent"), &env);
    assert_eq!(first["db_changed"], true, "{first}");
    assert!(Path::new(first["db_backup_file"].as_str().unwrap()).is_file());
    let written = token().unwrap();
    assert!(written.contains("Port=587"), "{written}");
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(
        file.contains(&written.replace('"', "&quot;")),
        "the token holds the file's value"
    );

    let again = run(args(false), Path::new("/nonexistent"), &env);
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(again["db_changed"], false, "{again}");
    assert!(
        again["msg"].as_str().unwrap().contains("already in sync"),
        "{again}"
    );
    drop(dir);
}
