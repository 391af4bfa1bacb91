//! Issue 16, "a layout that holds": the editor stays usable at 800×600 whatever the entry
//! names, and a lint finding appearing moves no field under the mouse.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use k2cse_gui::jobs::Mode;
use k2cse_gui::{GuiApp, Options};

const EWS: &str = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection";

/// The sample with one more EWS entry whose name is 449 characters long.
fn sample_with_long_name() -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = k2cse_core::sample::write_sample(dir.path()).unwrap();
    let prefix = format!("{EWS}:");
    let domain = "@denallix.com";
    let local = "m".repeat(449 - prefix.len() - domain.len());
    let name = format!("{prefix}{local}{domain}");
    assert_eq!(name.chars().count(), 449);
    let line = format!(
        "    <add name=\"{name}\" connectionString=\"Autodiscover=False;URL=https://mail.denallix.com/EWS/Exchange.asmx;User ID={local}{domain};Poll Interval=1M\" />\r\n"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text.find("    <add name=\"HostServer\"").unwrap();
    let mut text = text;
    text.insert_str(at, &line);
    std::fs::write(&path, text).unwrap();
    (dir, path, name)
}

fn harness(path: PathBuf, size: egui::Vec2) -> Harness<'static, GuiApp> {
    let app = GuiApp::new(&Options {
        config: Some(path),
        jobs: Mode::Inline,
        lint: k2cse_core::lint::LintOptions::as_of("2026-12-01").unwrap(),
        ..Options::default()
    });
    let mut h = Harness::builder()
        .with_size(size)
        .with_max_steps(32)
        .build_ui_state(|ui, app: &mut GuiApp| app.show(ui), app);
    h.run();
    h
}

#[test]
fn a_449_character_name_at_800_by_600_keeps_the_editor_wide() {
    let (_dir, path, name) = sample_with_long_name();
    // First on a very wide screen: the list may remember a width for the next window size.
    let mut h = harness(path, egui::vec2(2400.0, 600.0));
    h.get_by_role_and_label(Role::Button, &name).click();
    h.run();
    assert_eq!(h.state().selected(), Some(name.as_str()));
    for (width, height) in [(800.0, 600.0), (1024.0, 768.0), (1280.0, 800.0)] {
        h.set_size(egui::vec2(width, height));
        h.run();
        editor_in_view(&h, &name, width);
    }
}

fn editor_in_view(h: &Harness<'static, GuiApp>, name: &str, width: f32) {
    // The editor's heading is the entry's name, from the editor's left edge.
    let heading = h
        .get_all_by_label(name)
        .find(|n| n.accesskit_node().role() != Role::Button)
        .unwrap()
        .rect();
    let remove = h.get_by_label("Remove…").rect();
    let editor = width - heading.left();
    assert!(
        editor >= 380.0,
        "at {width}: the editor is {editor} px wide"
    );
    assert!(remove.right() <= width, "at {width}: Remove… at {remove:?}");
    let unset: Vec<egui::Rect> = h.get_all_by_label("Unset").map(|n| n.rect()).collect();
    assert!(!unset.is_empty());
    for r in unset {
        assert!(
            r.right() <= width,
            "at {width}: an Unset button at {r:?} is cut off"
        );
    }
    // The list shows the mailbox, cut to its width; the full name is its accessible name.
    let row = h.get_by_role_and_label(Role::Button, name).rect();
    assert!(
        row.right() <= heading.left(),
        "the row {row:?} runs under the editor"
    );
}

/// Where every field of the editor is.
fn field_rects(h: &Harness<'static, GuiApp>, except: &str) -> Vec<(String, egui::Rect)> {
    h.query_all_by_role(Role::TextInput)
        .chain(h.query_all_by_role(Role::ComboBox))
        .chain(h.query_all_by_role(Role::CheckBox))
        .filter_map(|n| {
            let label = n.accesskit_node().label().unwrap_or_default();
            (label != except && label != "Filter").then(|| (label, n.rect()))
        })
        .collect()
}

#[test]
fn a_finding_appearing_moves_no_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = k2cse_core::sample::write_sample(dir.path()).unwrap();
    let mut h = harness(path, egui::vec2(1100.0, 800.0));
    h.get_by_label("SourceCode.Net.Mail.SmtpConnection").click();
    h.run();
    let before = field_rects(&h, "Port");
    assert!(before.len() >= 3, "{before:?}");
    assert!(h.query_by_label_contains("K2C030").is_none());
    h.get_by_role_and_label(Role::TextInput, "Port").focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Port")
        .type_text("99999");
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    h.get_by_label_contains("K2C030 error");
    let after = field_rects(&h, "Port");
    assert_eq!(before.len(), after.len());
    for ((label, b), (_, a)) in before.iter().zip(&after) {
        assert!(
            same_place(*a, *b),
            "{label} moved from {b:?} to {a:?} when the finding appeared"
        );
    }
}

#[test]
fn the_add_dialog_stays_put_when_its_error_appears() {
    let dir = tempfile::tempdir().unwrap();
    let path = k2cse_core::sample::write_sample(dir.path()).unwrap();
    let mut h = harness(path, egui::vec2(1100.0, 800.0));
    h.get_all_by_label("Add entry…").next().unwrap().click();
    h.run();
    let field = "Mailbox (entity, required)";
    h.get_by_role_and_label(Role::TextInput, field).focus();
    h.run();
    h.get_by_role_and_label(Role::TextInput, field)
        .type_text("k2service@denallix.com");
    h.run();
    let before = h.get_by_label("Add").rect();
    let heading = h.get_by_label("Add entry").rect();
    h.get_by_label("Add").click();
    h.run();
    h.get_by_label_contains("already exists");
    let after = h.get_by_label("Add").rect();
    assert!(
        same_place(after, before),
        "the Add button moved: {before:?} → {after:?}"
    );
    let moved = h.get_by_label("Add entry").rect();
    assert!(
        same_place(moved, heading),
        "the dialog moved: {heading:?} → {moved:?}"
    );
}

/// The same place to the pixel: sub-pixel rounding (0.1 px) is not a move under the mouse.
fn same_place(a: egui::Rect, b: egui::Rect) -> bool {
    (a.min - b.min).length() < 1.0 && (a.max - b.max).length() < 1.0
}
