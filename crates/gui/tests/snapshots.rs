//! Image snapshots of the main views, rendered headless with wgpu on the CPU (Mesa's
//! lavapipe or llvmpipe; scripts/setup.sh installs `mesa-vulkan-drivers`). Update the reference
//! images with `UPDATE_SNAPSHOTS=1 cargo test -p k2cse-gui --test snapshots` and look at them.
#![allow(clippy::unwrap_used)]

use egui_kittest::kittest::Queryable as _;
use egui_kittest::{Harness, SnapshotOptions};
use k2cse_gui::jobs::Mode;
use k2cse_gui::{GuiApp, Options};

/// Reference images per OS: the Windows build (tested under Wine) shows a Windows path in the
/// status bar, so it has its own images, made under Wine the same way.
fn options() -> SnapshotOptions {
    SnapshotOptions::new().output_path(if cfg!(windows) {
        "tests/snapshots/windows"
    } else {
        "tests/snapshots"
    })
}

/// The sample at a fixed path: the status bar shows it, and the pixels must not depend on a
/// random temporary name.
fn sample_at_fixed_path() -> std::path::PathBuf {
    // On Windows the user's temp folder names the user; `%PUBLIC%` does not.
    let base = std::env::var_os("PUBLIC")
        .filter(|_| cfg!(windows))
        .map_or_else(std::env::temp_dir, std::path::PathBuf::from);
    let dir = base.join("k2cse-gui-snapshot");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    k2cse_core::sample::write_sample(&dir).unwrap()
}

#[test]
fn main_window_and_save_review() {
    let path = sample_at_fixed_path();
    let app = GuiApp::new(&Options {
        config: Some(path),
        jobs: Mode::Inline,
        // Pinned: dated rules (Exchange Online) would change the pictures when a date passes.
        lint: k2cse_core::lint::LintOptions::as_of("2026-12-01").unwrap(),
        ..Options::default()
    });
    let mut h = Harness::builder()
        .with_size(egui::vec2(1100.0, 640.0))
        .with_theme(egui::Theme::Light)
        .build_ui_state(|ui, app: &mut GuiApp| app.show(ui), app);
    h.run();
    h.get_by_label("SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com")
        .click();
    h.run();
    h.snapshot_options("main_window", &options());
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Port")
        .focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Port")
        .type_text("465");
    h.key_press(egui::Key::Enter);
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.snapshot_options("save_review", &options());
}
