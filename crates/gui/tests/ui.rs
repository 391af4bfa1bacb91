//! The desktop editor driven through its accessibility tree (no display, no GPU): open,
//! select, edit, review, save, add, remove, rename, undo/redo, lint feedback, an encrypted
//! round trip, and the database panel against the simulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use k2cse_gui::jobs::Mode;
use k2cse_gui::{GuiApp, Options};

const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// A temporary copy of the bundled sample config.
fn sample() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = k2cse_core::sample::write_sample(dir.path()).unwrap();
    (dir, path)
}

fn harness(options: Options) -> Harness<'static, GuiApp> {
    let app = GuiApp::new(&Options {
        jobs: Mode::Inline,
        ..options
    });
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 1400.0))
        .with_max_steps(32)
        .build_ui_state(|ui, app: &mut GuiApp| app.show(ui), app);
    h.run();
    h
}

fn open(path: &Path) -> Harness<'static, GuiApp> {
    harness(Options {
        config: Some(path.to_owned()),
        ..Options::default()
    })
}

/// Replaces a text field's content and commits it (Enter), as a user would.
fn edit_field(h: &mut Harness<'static, GuiApp>, label: &str, text: &str) {
    h.get_by_role_and_label(Role::TextInput, label).focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run();
    h.get_by_role_and_label(Role::TextInput, label)
        .type_text(text);
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
}

/// Types into a text field (focusing it first, as a click would).
fn type_into(h: &mut Harness<'static, GuiApp>, label: &str, text: &str) {
    h.get_by_role_and_label(Role::TextInput, label).focus();
    h.run();
    h.get_by_role_and_label(Role::TextInput, label)
        .type_text(text);
    h.run();
}

fn save(h: &mut Harness<'static, GuiApp>) {
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.get_by_label("Save").click();
    h.run();
}

#[test]
fn edit_a_key_review_and_save_changes_exactly_those_bytes() {
    let (_dir, path) = sample();
    let before = std::fs::read_to_string(&path).unwrap();
    let mut h = open(&path);
    h.get_by_label(SMTP).click();
    h.run();
    assert_eq!(h.state().selected(), Some(SMTP));
    edit_field(&mut h, "Port", "587");
    assert!(h.state().workspace().unwrap().is_dirty());

    // The review lists the change, with the old and the new line.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.get_by_label("Raw diff").click();
    h.run();
    h.get_by_label_contains("+    <add name=\"SourceCode.Net.Mail.SmtpConnection\" connectionString=\"Host Name=smtp.denallix.com;Port=587;");
    h.get_by_label_contains("-    <add name=\"SourceCode.Net.Mail.SmtpConnection\" connectionString=\"Host Name=smtp.denallix.com;Port=25;");
    h.get_by_label("Save").click();
    h.run();

    let after = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        after,
        before.replacen(
            "smtp.denallix.com;Port=25;TLS=StartTls",
            "smtp.denallix.com;Port=587;TLS=StartTls",
            1
        )
    );
    assert!(!h.state().workspace().unwrap().is_dirty());
    assert!(
        h.state().notice().unwrap().text.starts_with("Saved"),
        "{:?}",
        h.state().notice()
    );
    let backups = k2cse_core::backup::BackupStore::for_config(&path, None)
        .list()
        .unwrap();
    assert_eq!(backups.len(), 1, "a backup was taken");
}

#[test]
fn an_edit_undone_by_hand_leaves_nothing_to_save() {
    let (_dir, path) = sample();
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut h = open(&path);
    h.get_by_label(SMTP).click();
    h.run();
    edit_field(&mut h, "Port", "587");
    assert!(h.state().workspace().unwrap().is_dirty());
    edit_field(&mut h, "Port", "25");
    assert!(
        !h.state().workspace().unwrap().is_dirty(),
        "the net change is empty: Save is disabled"
    );
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    assert_eq!(h.state().notice().unwrap().text, "Nothing to save.");
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        before
    );
    assert!(
        k2cse_core::backup::BackupStore::for_config(&path, None)
            .list()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn lint_findings_appear_next_to_the_field_and_go_away() {
    let (_dir, path) = sample();
    let mut h = open(&path);
    h.get_by_label(SMTP).click();
    h.run();
    assert!(h.query_by_label_contains("K2C030").is_none());
    edit_field(&mut h, "Port", "99999");
    h.get_by_label_contains("K2C030 error");
    assert_eq!(
        h.state()
            .workspace()
            .unwrap()
            .rows()
            .iter()
            .find(|r| r.name == SMTP)
            .unwrap()
            .errors,
        1
    );
    // Saving is refused while the change introduces an error; "Save" is disabled.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.get_by_label_contains("would break K2");
    h.get_by_label("Cancel").click();
    h.run();
    edit_field(&mut h, "Port", "25");
    assert!(h.query_by_label_contains("K2C030").is_none());
    assert!(
        !h.state().workspace().unwrap().is_dirty()
            || h.state()
                .workspace()
                .unwrap()
                .review()
                .unwrap()
                .check
                .introduced
                .is_empty()
    );
}

#[test]
fn typed_editors_for_booleans_and_choices() {
    let (_dir, path) = sample();
    let mut h = open(&path);
    h.get_by_label(SMTP).click();
    h.run();
    h.get_by_role_and_label(Role::ComboBox, "TLS").click();
    h.run();
    h.get_by_label("BootTls").click();
    h.run();
    let entry = h.state().workspace().unwrap().entry(SMTP).unwrap();
    assert_eq!(entry.get("TLS"), Some("BootTls"));

    let ews = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:smartactions@denallix.com";
    h.get_by_label(ews).click();
    h.run();
    h.get_by_role_and_label(Role::CheckBox, "Autodiscover")
        .click();
    h.run();
    assert_eq!(
        h.state()
            .workspace()
            .unwrap()
            .entry(ews)
            .unwrap()
            .get("Autodiscover"),
        Some("True")
    );
    // The password is masked until revealed.
    let password = |h: &Harness<'static, GuiApp>| h.get_by_label("Password").value();
    assert_ne!(password(&h).as_deref(), Some("P@ss;w0rd"));
    h.get_by_label("Show").click();
    h.run();
    assert_eq!(password(&h).as_deref(), Some("P@ss;w0rd"));
}

#[test]
fn add_rename_duplicate_remove_with_undo_and_redo() {
    let (_dir, path) = sample();
    let mut h = open(&path);
    let count = |h: &Harness<'static, GuiApp>| h.state().workspace().unwrap().rows().len();
    assert_eq!(count(&h), 8);
    h.get_all_by_label("Add entry…").next().unwrap().click();
    h.run();
    type_into(&mut h, "Mailbox (entity, required)", "new@denallix.com");
    h.run();
    h.get_by_label("Add").click();
    h.run();
    let new = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:new@denallix.com";
    assert_eq!(count(&h), 9);
    assert_eq!(h.state().selected(), Some(new));

    // The vendor tool's duplicate check.
    h.get_all_by_label("Add entry…").next().unwrap().click();
    h.run();
    type_into(&mut h, "Mailbox (entity, required)", "new@denallix.com");
    h.run();
    h.get_by_label("Add").click();
    h.run();
    h.get_by_label_contains("already exists");
    h.get_by_label("Cancel").click();
    h.run();

    h.get_by_label("Rename…").click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "New name").focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run();
    type_into(
        &mut h,
        "New name",
        "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:renamed@denallix.com",
    );
    h.get_by_label("Rename").click();
    h.run();
    assert!(
        h.state()
            .workspace()
            .unwrap()
            .entry("SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:renamed@denallix.com")
            .is_some()
    );

    h.get_by_label("Duplicate…").click();
    h.run();
    h.get_by_label("Duplicate").click();
    h.run();
    assert_eq!(count(&h), 10);

    h.get_by_label("Remove…").click();
    h.run();
    h.get_by_label("Remove").click();
    h.run();
    assert_eq!(count(&h), 9);

    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run();
    assert_eq!(count(&h), 10);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Y);
    h.run();
    assert_eq!(count(&h), 9);
    for _ in 0..4 {
        // remove, duplicate (one step), rename, add
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
        h.run();
    }
    assert_eq!(count(&h), 8);
    assert!(
        !h.state().workspace().unwrap().is_dirty(),
        "undone back to the file as loaded"
    );
}

#[test]
fn filter_narrows_the_list() {
    let (_dir, path) = sample();
    let mut h = open(&path);
    type_into(&mut h, "Filter", "smartactions");
    h.run();
    assert!(h.query_by_label(SMTP).is_none());
    h.get_by_label(
        "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:smartactions@denallix.com",
    );
    h.get_by_label_contains("Exchange Web Services connection (1)");
}

#[test]
fn an_encrypted_file_asks_for_the_key_once_and_saves_encrypted() {
    // The sample with K2's provider declared, encrypted by the core with the test key. The
    // container is one no machine has, so that on Windows (tests run under Wine) the key is
    // asked for too rather than found in the machine store.
    let (_dir, path) = sample();
    let key = fixtures().join("keys/k2-test-key.xml");
    let declaration = "  <configProtectedData>\r\n    <providers>\r\n      <add name=\"K2ConfigurationKey\" type=\"System.Configuration.RsaProtectedConfigurationProvider, System.Configuration, Version=2.0.0.0, Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a\" keyContainerName=\"k2cse-gui-test-absent\" useMachineContainer=\"true\" />\r\n    </providers>\r\n  </configProtectedData>\r\n";
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "  <appSettings>",
        &format!("{declaration}  <appSettings>"),
        1,
    );
    std::fs::write(&path, text).unwrap();
    let keys = k2cse_core::protect::KeyStore::new(Some(
        k2cse_core::protect::RsaKey::from_file(&key).unwrap(),
    ));
    let mut doc = k2cse_core::Document::load(&path).unwrap();
    doc.unlock(keys.clone()).unwrap();
    let mut session =
        k2cse_core::EditSession::new(doc, k2cse_core::lint::LintOptions::default(), false).unwrap();
    session
        .apply(k2cse_core::Change::Protect {
            provider: None,
            algorithm: None,
        })
        .unwrap();
    session
        .save(&k2cse_core::save::SaveOptions::without_backup(), true)
        .unwrap();
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("<EncryptedData")
    );
    let mut h = open(&path);
    h.get_by_label_contains("encrypted (provider \"K2ConfigurationKey\")");
    type_into(&mut h, "Key file", &key.display().to_string());
    h.run();
    h.get_by_label("Open with this key").click();
    h.run();
    assert!(h.state().workspace().is_some(), "{:?}", h.state().notice());
    let smtp = h
        .state()
        .workspace()
        .unwrap()
        .rows()
        .iter()
        .find(|r| r.name.starts_with(SMTP))
        .unwrap()
        .name
        .clone();
    h.get_by_label(&smtp).click();
    h.run();
    edit_field(&mut h, "Host Name", "smtp.office365.com");
    save(&mut h);

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("<EncryptedData") && !text.contains("smtp.office365.com"),
        "still encrypted on disk"
    );
    let mut doc = k2cse_core::Document::load(&path).unwrap();
    doc.unlock(keys).unwrap();
    assert_eq!(
        doc.entry(&smtp).unwrap().get("Host Name"),
        Some("smtp.office365.com")
    );
}

#[test]
fn the_database_panel_shows_drift_and_pushes_and_pulls() {
    let mut h = harness(Options {
        demo: true,
        ..Options::default()
    });
    h.get_by_label("Database").click();
    h.run();
    h.get_by_label("Connect").click();
    h.run();
    let differing = |h: &Harness<'static, GuiApp>| {
        h.state()
            .snapshot()
            .unwrap()
            .drifts
            .iter()
            .filter(|d| matches!(d.state, k2cse_core::db::DriftState::Differs { .. }))
            .count()
    };
    assert_eq!(differing(&h), 2);
    h.get_by_label_contains("differs: TLS");
    // Pull the SMTP value into the editor (an undoable edit), then push the rest.
    h.get_all_by_label("Pull").nth(1).unwrap().click();
    h.run();
    assert_eq!(
        h.state()
            .workspace()
            .unwrap()
            .entry(SMTP)
            .unwrap()
            .get("TLS"),
        Some("None")
    );
    h.get_by_label("Database").click();
    h.run();
    h.get_by_label("Push all to database").click();
    h.run();
    assert!(
        h.state()
            .notice()
            .unwrap()
            .text
            .contains("Wrote 1 token(s)"),
        "{:?}",
        h.state().notice()
    );

    // After saving, the database is read again and, if entries differ, an update is offered.
    h.get_by_label("Entries").click();
    h.run();
    h.get_by_label(SMTP).click();
    h.run();
    edit_field(&mut h, "Port", "2525");
    save(&mut h);
    h.get_by_label_contains("the tokens of these entries still hold the old values");
    h.get_by_label("Update database").click();
    h.run();
    assert_eq!(differing(&h), 0);
}

#[test]
fn a_bad_path_is_one_plain_error() {
    let mut h = harness(Options {
        config: Some(PathBuf::from("/nonexistent/K2HostServer.exe.config")),
        ..Options::default()
    });
    assert!(h.state().notice().unwrap().error);
    h.get_by_label("Open…").click();
    h.run();
    h.get_by_label_contains("Path of K2HostServer.exe.config");
    h.get_by_label("Cancel").click();
    h.run();
    // The keyboard way: Ctrl+O, type the path, Enter on the Open button.
    let (_dir, path) = sample();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.run();
    type_into(
        &mut h,
        "Path of K2HostServer.exe.config",
        &path.display().to_string(),
    );
    h.get_by_label("Open").click();
    h.run();
    assert_eq!(
        h.state()
            .workspace()
            .map(k2cse_gui::workspace::Workspace::path),
        Some(path.as_path())
    );
}

#[test]
fn closing_with_unsaved_changes_asks_first() {
    let (_dir, path) = sample();
    let mut h = open(&path);
    h.get_by_label(SMTP).click();
    h.run();
    edit_field(&mut h, "Port", "587");
    h.input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .events
        .push(egui::ViewportEvent::Close);
    h.run();
    h.get_by_label("The file has unsaved changes.");
    h.get_by_label("Discard changes");
    h.get_by_label("Cancel").click();
    h.run();
    assert!(h.query_by_label("Discard changes").is_none());
    assert!(
        h.state().workspace().unwrap().is_dirty(),
        "nothing was lost"
    );
}

#[test]
fn slow_work_runs_off_the_ui_thread() {
    let (_dir, path) = sample();
    let app = GuiApp::new(&Options {
        config: Some(path),
        jobs: Mode::Threaded,
        ..Options::default()
    });
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .build_ui_state(|ui, app: &mut GuiApp| app.show(ui), app);
    // The first frame draws while the file is still being read.
    h.step();
    let start = std::time::Instant::now();
    while h.state().workspace().is_none() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "the open job never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
        h.step();
    }
    h.run();
    h.get_by_label(SMTP);
}

#[test]
fn an_entry_can_be_selected_at_start() {
    let (_dir, path) = sample();
    let h = harness(Options {
        config: Some(path),
        select: Some(SMTP.to_owned()),
        ..Options::default()
    });
    assert_eq!(h.state().selected(), Some(SMTP));
    h.get_by_label("SMTP connection");
}

#[test]
fn the_backups_view_backs_up_compares_and_restores_file_and_rows() {
    let mut h = harness(Options {
        demo: true,
        ..Options::default()
    });
    let path = h.state().workspace().unwrap().path().to_owned();
    let original = std::fs::read(&path).unwrap();
    h.get_by_label("Backups").click();
    h.run();
    h.get_by_label_contains("No backups yet");
    h.get_by_label("Include database tokens").click();
    h.run();
    h.get_by_label("Back up now").click();
    h.run();
    assert_eq!(h.state().backups().list.len(), 1);
    let manual = h.state().backups().list[0].path.clone();

    // Break both sides through the app: push the differing entries to the database, then
    // change and save the file (each write takes its own automatic backup).
    h.get_by_label("Database").click();
    h.run();
    h.get_by_label("Connect").click();
    h.run();
    h.get_by_label("Push all to database").click();
    h.run();
    h.get_by_label("Entries").click();
    h.run();
    h.get_by_label(SMTP).click();
    h.run();
    edit_field(&mut h, "Port", "2525");
    save(&mut h);
    if h.query_by_label("Update database").is_some() {
        h.get_by_label("Cancel").click();
        h.run();
    }
    assert_ne!(std::fs::read(&path).unwrap(), original);

    h.get_by_label("Backups").click();
    h.run();
    assert_eq!(
        h.state().backups().list.len(),
        3,
        "manual + database update + save"
    );
    // The list shows the newest first: the manual backup is the last row.
    h.get_all_by_label("Inspect").last().unwrap().click();
    h.run();
    let inspected = h.state().backups().inspected.as_ref().unwrap();
    assert_eq!(inspected.path, manual);
    assert!(!inspected.rows.is_empty(), "the pushed rows differ");
    h.get_by_label_contains("verified: every part matches its SHA-256");
    h.get_by_label_contains("-    <add name=\"SourceCode.Net.Mail.SmtpConnection\" connectionString=\"Host Name=smtp.denallix.com;Port=2525;");
    assert!(h.get_all_by_label_contains("~ [ConnectionString:").count() >= 1);

    h.get_by_label("Restore…").click();
    h.run();
    h.get_by_label_contains("The current state is backed up first");
    h.get_by_label("Restore").click();
    h.run();
    assert!(
        h.state()
            .notice()
            .unwrap()
            .text
            .starts_with("Restored the file and"),
        "{:?}",
        h.state().notice()
    );
    assert_eq!(std::fs::read(&path).unwrap(), original, "identical bytes");
    // Inspecting the same backup again: nothing left to restore (rows identical too).
    let manual_row = h
        .state()
        .backups()
        .list
        .iter()
        .position(|b| b.path == manual)
        .unwrap();
    let rows = h.state().backups().list.len();
    h.get_all_by_label("Inspect")
        .nth(rows - 1 - manual_row)
        .unwrap()
        .click();
    h.run();
    h.get_by_label_contains("The current state already matches this backup.");
    assert!(
        h.state()
            .backups()
            .inspected
            .as_ref()
            .unwrap()
            .plan
            .database
            .is_some()
    );
}

/// Removing or renaming `HostserverDB` asks a second time (the vendor tool disables Delete
/// for it; the CLI wants --force): the button stays disabled until the admin ticks that K2
/// will not start without it.
#[test]
fn removing_or_renaming_hostserverdb_asks_twice() {
    let (_dir, path) = sample();
    let mut h = open(&path);
    // Select another entry first: a selected entry's name is also the editor's heading.
    h.get_by_label(SMTP).click();
    h.run();
    h.get_by_label("HostserverDB").click();
    h.run();
    h.get_by_label("Remove…").click();
    h.run();
    assert!(
        h.get_by_label("Remove").accesskit_node().is_disabled(),
        "the first question alone does not remove it"
    );
    h.get_by_label("Remove").click();
    h.run();
    assert!(
        h.state()
            .workspace()
            .unwrap()
            .entry("HostserverDB")
            .is_some()
    );
    h.get_by_label_contains("Remove HostserverDB anyway")
        .click();
    h.run();
    assert!(!h.get_by_label("Remove").accesskit_node().is_disabled());
    h.get_by_label("Remove").click();
    h.run();
    assert!(
        h.state()
            .workspace()
            .unwrap()
            .entry("HostserverDB")
            .is_none()
    );
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run();
    h.get_by_label(SMTP).click();
    h.run();
    h.get_by_label("HostserverDB").click();
    h.run();
    h.get_by_label("Rename…").click();
    h.run();
    type_into(&mut h, "New name", "HostserverDB2");
    assert!(h.get_by_label("Rename").accesskit_node().is_disabled());
    h.get_by_label_contains("Rename HostserverDB anyway")
        .click();
    h.run();
    assert!(!h.get_by_label("Rename").accesskit_node().is_disabled());
}
