//! The documentation must stay true to the code it describes.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::path::Path;

fn doc(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name)).unwrap()
}

#[test]
fn every_lint_rule_is_documented_with_its_severity() {
    let text = doc("docs/lint-rules.md");
    for rule in k2cse_core::lint::RULES {
        let row = format!(
            "| `{}` | `{}` | {} |",
            rule.code,
            rule.name,
            rule.severity.label()
        );
        assert!(
            text.contains(&row),
            "docs/lint-rules.md lacks the row starting {row}"
        );
    }
}

#[test]
fn every_command_is_documented() {
    let text = doc("docs/cli.md");
    for command in [
        "list",
        "show",
        "lint",
        "set",
        "unset",
        "add",
        "remove",
        "rename",
        "replace",
        "apply",
        "demo",
        "completions",
        "protect",
        "unprotect",
        "key inspect",
        "key import",
        "key export",
        "db status",
        "db tokens",
        "db get",
        "db set",
        "db drift",
        "db push",
        "db pull",
        "db discover",
        "secret set",
        "secret delete",
        "secret status",
        "backup create",
        "backup list",
        "backup show",
        "backup verify",
        "backup restore",
        "backup prune",
    ] {
        assert!(
            text.contains(&format!("### `k2cse {command}")),
            "docs/cli.md lacks a section for `k2cse {command}`"
        );
    }
    for schema in [
        "k2cse.list/1",
        "k2cse.show/1",
        "k2cse.lint/1",
        "k2cse.write/1",
        "k2cse.error/1",
        "k2cse.rules/1",
        "k2cse.key/1",
        "k2cse.key-import/1",
        "k2cse.key-export/1",
        "k2cse.db-status/1",
        "k2cse.db-tokens/1",
        "k2cse.db-token/1",
        "k2cse.db-drift/1",
        "k2cse.db-write/1",
        "k2cse.db-discover/1",
        "k2cse.secret/1",
        "k2cse.secret-status/1",
        "k2cse.backup/1",
        "k2cse.backup-show/1",
        "k2cse.backup-verify/1",
        "k2cse.backup-list/1",
        "k2cse.backup-restore/1",
        "k2cse.backup-prune/1",
    ] {
        assert!(
            text.contains(schema),
            "docs/cli.md does not describe the JSON schema {schema}"
        );
    }
}

#[test]
fn the_readme_test_command_is_what_ci_runs() {
    let readme = doc("README.md");
    let marker = readme
        .find("<!-- test-command -->")
        .expect("README marks its test command");
    let block = &readme[marker..];
    let command = block
        .lines()
        .skip_while(|l| !l.starts_with("```"))
        .nth(1)
        .unwrap();
    assert_eq!(command, "cargo test --workspace");
    assert!(
        doc(".ci/run").contains("<!-- test-command -->"),
        ".ci/run must take the command from README.md"
    );
}
