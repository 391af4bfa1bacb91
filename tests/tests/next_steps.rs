//! After a save, k2cse says what the administrator still has to do: restart the K2 service
//! (K2 reads the file only at start-up) and, for entries K2 may keep as database tokens,
//! `k2cse db push`. Text ends with a "Next:" block; JSON has `next_steps`.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use k2cse_tests::fixtures::Scratch;
use serde_json::{Value, json};

const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection";
const EWS: &str = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:k2service@denallix.com";

/// `k2cse ARGS` with no database named in the environment.
fn k2cse(s: &Scratch, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = s.k2cse(args);
    cmd.env_remove("K2CSE_CONNECTION")
        .env_remove("K2CSE_MAPPING");
    cmd
}

fn run_json(s: &Scratch, args: &[&str]) -> Value {
    let out = k2cse(s, args).arg("--json").output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn run_text(s: &Scratch, args: &[&str]) -> String {
    let out = k2cse(s, args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn restart() -> Value {
    json!({"step": "restart-service", "service": "K2 Server"})
}

fn push(entries: &[&str], command: &str) -> Value {
    json!({"step": "db-push", "entries": entries, "command": command})
}

#[test]
fn a_set_ends_with_what_comes_next() {
    let s = Scratch::sample();
    let text = run_text(&s, &["set", SMTP, "Port=2600"]);
    let (saved, next) = text
        .split_once("Next:\n")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(saved.starts_with("saved "), "{text}");
    let steps: Vec<&str> = next.lines().collect();
    assert_eq!(steps.len(), 2, "{text}");
    assert!(
        steps[0].starts_with("  - restart the \"K2 Server\" service")
            && steps[0].contains("only when it starts"),
        "{text}"
    );
    assert!(
        steps[1].contains(&format!("`k2cse db push {SMTP}`")),
        "{text}"
    );

    let v = run_json(&s, &["set", EWS, "Poll Interval=2M"]);
    assert_eq!(v["schema"], "k2cse.write/1");
    assert_eq!(
        v["next_steps"],
        json!([restart(), push(&[EWS], &format!("k2cse db push {EWS}"))])
    );
}

#[test]
fn nothing_comes_next_when_nothing_was_written() {
    let s = Scratch::sample();
    let dry = run_json(&s, &["set", SMTP, "Port=2600", "--dry-run"]);
    assert_eq!(dry["next_steps"], json!([]));
    let same = run_json(&s, &["set", SMTP, "Port=25"]);
    assert_eq!(same["changed"], false, "{same}");
    assert_eq!(same["next_steps"], json!([]));
    let text = run_text(&s, &["set", SMTP, "Port=25"]);
    assert!(!text.contains("Next:"), "{text}");
}

#[test]
fn entries_without_a_token_need_only_a_restart_unless_a_database_is_configured() {
    let s = Scratch::sample();
    // `HostServer` is not a connection string K2's editor keeps in the database.
    let v = run_json(&s, &["set", "HostServer", "Port=5556"]);
    assert_eq!(v["next_steps"], json!([restart()]));
    // Renaming and removing keep every remaining value as it was.
    let v = run_json(
        &s,
        &["rename", SMTP, "SourceCode.Net.Mail.SmtpConnection:ops"],
    );
    assert_eq!(v["next_steps"], json!([restart()]));
    let v = run_json(&s, &["remove", "SourceCode.Net.Mail.SmtpConnection:ops"]);
    assert_eq!(v["next_steps"], json!([restart()]));
    // With a database named for k2cse, any saved entry may have a token.
    let out = k2cse(&s, &["set", "HostServer", "Port=5557", "--json"])
        .env("K2CSE_CONNECTION", "Data Source=sql01;Initial Catalog=K2")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["next_steps"],
        json!([restart(), push(&["HostServer"], "k2cse db push HostServer")])
    );
}

#[test]
fn a_batch_names_each_changed_entry_once_and_creates_tokens_for_new_ones() {
    let s = Scratch::sample();
    let new = "SourceCode.Net.Mail.SmtpConnection:hr@denallix.com";
    let batch = s.dir.path().join("batch.toml");
    std::fs::write(
        &batch,
        format!(
            "[[change]]\nop = \"set\"\nname = \"{SMTP}\"\nvalues = {{ Port = 587 }}\n\n\
             [[change]]\nop = \"unset\"\nname = \"{}\"\nkeys = [\"TLS\"]\n\n\
             [[change]]\nop = \"add\"\nname = \"{new}\"\nvalues = {{ \"Host Name\" = \"smtp.office365.com\", Port = 587 }}\n",
            SMTP.to_lowercase()
        ),
    )
    .unwrap();
    let v = run_json(&s, &["apply", batch.to_str().unwrap()]);
    assert_eq!(
        v["next_steps"],
        json!([
            restart(),
            push(
                &[SMTP, new],
                &format!("k2cse db push --create {SMTP} {new}")
            )
        ])
    );
}

#[test]
fn a_restore_of_the_file_alone_says_to_restart_and_check_the_tokens() {
    let s = Scratch::sample();
    let backup = run_json(&s, &["backup", "create", "--only", "file"]);
    let path = backup["path"].as_str().unwrap().to_owned();
    run_text(&s, &["set", SMTP, "Port=2600"]);
    let text = run_text(&s, &["backup", "restore", &path, "--yes"]);
    let next = text
        .split_once("Next:\n")
        .unwrap_or_else(|| panic!("{text}"))
        .1;
    assert!(next.contains("\"K2 Server\""), "{text}");
    assert!(
        next.contains("`k2cse db drift`") && next.contains("`k2cse db push`"),
        "{text}"
    );
    run_text(&s, &["set", SMTP, "Port=2601"]);
    let v = run_json(&s, &["backup", "restore", &path, "--yes"]);
    assert_eq!(
        v["next_steps"],
        json!([restart(), push(&[], "k2cse db push")])
    );
    let dry = run_json(&s, &["backup", "restore", &path, "--dry-run"]);
    assert_eq!(dry["next_steps"], json!([]));
}
