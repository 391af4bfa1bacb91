//! The shape ARCHITECTURE.md promises, checked on the source: the CLI's modules import each
//! other without a cycle (commands depend on the shared layer — args, context, connection,
//! render, terminal — and on the core, never back).
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules of `crates/cli/src` each file names through `crate::` (in `use` lines and in
/// paths), leaving out the crate root's own items (`crate::Outcome`).
fn cli_imports() -> BTreeMap<String, BTreeSet<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/cli/src");
    let mut sources = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            sources.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    let modules: BTreeSet<String> = sources.keys().filter(|m| *m != "main").cloned().collect();
    sources
        .iter()
        .filter(|(name, _)| *name != "main")
        .map(|(name, text)| {
            let mut deps = BTreeSet::new();
            for (at, _) in text.match_indices("crate::") {
                let rest = &text[at + "crate::".len()..];
                // `crate::{a, b::C}` names several; `crate::a::b` one.
                let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                    group[..group.find('}').unwrap()]
                        .split(',')
                        .map(|item| item.trim().split("::").next().unwrap())
                        .collect()
                } else {
                    vec![
                        rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                            .next()
                            .unwrap(),
                    ]
                };
                for module in names {
                    if module != name && modules.contains(module) {
                        deps.insert(module.to_owned());
                    }
                }
            }
            (name.clone(), deps)
        })
        .collect()
}

/// A cycle through `start`, if any, as the list of modules on it.
fn cycle_from(
    graph: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    let here = path.last().unwrap().clone();
    for next in graph.get(&here).into_iter().flatten() {
        if next == start {
            let mut cycle = path.clone();
            cycle.push(next.clone());
            return Some(cycle);
        }
        if !path.contains(next) {
            path.push(next.clone());
            if let Some(found) = cycle_from(graph, start, path) {
                return Some(found);
            }
            path.pop();
        }
    }
    None
}

#[test]
fn the_cli_modules_import_each_other_without_a_cycle() {
    let graph = cli_imports();
    assert!(
        graph.get("db").is_some_and(|d| d.contains("context")),
        "the parser finds the imports: {graph:?}"
    );
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|m| cycle_from(&graph, m, &mut vec![m.clone()]))
        .map(|c| c.join(" → "))
        .collect();
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

#[test]
fn the_shared_cli_layer_imports_no_command_module() {
    let graph = cli_imports();
    let shared = [
        "args",
        "context",
        "connection",
        "render",
        "json",
        "entries",
        "terminal",
        "progress",
    ];
    for module in shared {
        for dep in graph.get(module).into_iter().flatten() {
            assert!(
                shared.contains(&dep.as_str()),
                "{module} (shared) imports the command module {dep}"
            );
        }
    }
}

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            found.push((path, text));
        }
    }
    found
}

#[test]
fn the_front_ends_push_through_the_cores_use_case() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for front_end in ["crates/cli/src", "crates/gui/src"] {
        let files = sources(&root.join(front_end));
        // Planning, backing up and writing tokens is the core's sequence, not theirs.
        for (path, text) in &files {
            for sequence_step in ["link::push_plan(", ".write(&plan)", "BackupKind::Automatic"] {
                assert!(
                    !text.contains(sequence_step),
                    "{} runs the push sequence itself ({sequence_step}); use k2cse_core::db::push::PushPlan",
                    path.display()
                );
            }
        }
        assert!(
            files
                .iter()
                .any(|(_, text)| text.contains("PushPlan::new(")),
            "{front_end} pushes through PushPlan"
        );
    }
}
