//! Issue 16, "an editor an administrator can trust": no edit is lost without a question, a
//! save while another task runs keeps the edits, a second file does not use the first's
//! database, and the window title says which file is open and whether it is modified.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use k2cse_gui::app::JobResult;
use k2cse_gui::jobs::Mode;
use k2cse_gui::{GuiApp, Options};

const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection";

fn sample() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = k2cse_core::sample::write_sample(dir.path()).unwrap();
    (dir, path)
}

fn harness_with(options: &Options, size: egui::Vec2) -> Harness<'static, GuiApp> {
    let app = GuiApp::new(options);
    let mut h = Harness::builder()
        .with_size(size)
        .with_max_steps(32)
        .build_ui_state(|ui, app: &mut GuiApp| app.show(ui), app);
    h.run();
    h
}

fn open(path: &Path) -> Harness<'static, GuiApp> {
    harness_with(
        &Options {
            config: Some(path.to_owned()),
            jobs: Mode::Inline,
            ..Options::default()
        },
        egui::vec2(1280.0, 1000.0),
    )
}

fn edit_field(h: &mut Harness<'static, GuiApp>, label: &str, text: &str) {
    let role = if label == "Password" {
        Role::PasswordInput
    } else {
        Role::TextInput
    };
    h.get_by_role_and_label(role, label).focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run();
    h.get_by_role_and_label(role, label).type_text(text);
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
}

fn port(h: &Harness<'static, GuiApp>) -> Option<String> {
    h.state()
        .workspace()
        .and_then(|w| w.entry(SMTP))
        .and_then(|e| e.get("Port").map(str::to_owned))
}

fn open_by_path(h: &mut Harness<'static, GuiApp>, path: &Path) {
    h.get_by_role_and_label(Role::TextInput, "Path of K2HostServer.exe.config")
        .focus();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Path of K2HostServer.exe.config")
        .type_text(&path.display().to_string());
    h.run();
    h.get_by_label("Open").click();
    h.run();
}

#[test]
fn open_with_unsaved_changes_asks_first_and_cancel_keeps_them() {
    let (_a, first) = sample();
    let (_b, second) = sample();
    let mut h = open(&first);
    h.get_by_label(SMTP).click();
    h.run();
    edit_field(&mut h, "Port", "587");

    // Ctrl+O asks before anything else happens; Cancel keeps the edit.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.run();
    h.get_by_label("The file has unsaved changes.");
    h.get_by_label("Opening another file discards them.");
    assert!(
        h.query_by_label("Path of K2HostServer.exe.config")
            .is_none()
    );
    h.get_by_label("Cancel").click();
    h.run();
    assert!(h.query_by_label("The file has unsaved changes.").is_none());
    assert_eq!(port(&h).as_deref(), Some("587"));
    assert_eq!(h.state().workspace().unwrap().path(), first);

    // Discard: then the Open dialog, and the other file replaces the edited one.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.run();
    h.get_by_label("Discard changes").click();
    h.run();
    open_by_path(&mut h, &second);
    assert_eq!(h.state().workspace().unwrap().path(), second);
    assert!(!h.state().workspace().unwrap().is_dirty());
    assert_eq!(port(&h).as_deref(), Some("25"));
}

#[test]
fn save_then_open_saves_first() {
    let (_a, first) = sample();
    let (_b, second) = sample();
    let mut h = open(&first);
    h.state_mut().set_recent(vec![second.clone()]);
    h.get_by_label(SMTP).click();
    h.run();
    edit_field(&mut h, "Port", "587");
    // Reload from disk is a guarded action too.
    h.get_by_label("Reload").click();
    h.run();
    h.get_by_label("Reloading the file from disk discards them.");
    h.get_by_label("Review and save…").click();
    h.run();
    h.get_by_label("Save").click();
    h.run();
    assert!(
        std::fs::read_to_string(&first)
            .unwrap()
            .contains("smtp.denallix.com;Port=587;"),
        "saved before reloading"
    );
    assert_eq!(port(&h).as_deref(), Some("587"), "reloaded from disk");
    assert!(!h.state().workspace().unwrap().is_dirty());
}

#[test]
fn reload_reads_the_file_again() {
    let (_a, path) = sample();
    let mut h = open(&path);
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "smtp.denallix.com;Port=25;",
        "smtp.denallix.com;Port=2525;",
        1,
    );
    std::fs::write(&path, text).unwrap();
    assert_eq!(port(&h).as_deref(), Some("25"));
    h.get_by_label("Reload").click();
    h.run();
    // Nothing unsaved: no question.
    assert!(h.query_by_label("The file has unsaved changes.").is_none());
    assert_eq!(port(&h).as_deref(), Some("2525"));
}

#[test]
fn the_title_names_the_file_and_marks_unsaved_changes() {
    let (_a, path) = sample();
    let mut h = open(&path);
    let title = h.state().window_title().to_owned();
    assert!(title.starts_with("K2HostServer.exe.config ("), "{title}");
    h.get_by_label(SMTP).click();
    h.run();
    edit_field(&mut h, "Port", "587");
    assert!(
        h.state()
            .window_title()
            .starts_with("*K2HostServer.exe.config ("),
        "{}",
        h.state().window_title()
    );
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run();
    assert_eq!(h.state().window_title(), title);
}

#[test]
fn a_save_while_another_task_runs_keeps_the_edits() {
    let (_a, path) = sample();
    let before = std::fs::read(&path).unwrap();
    let mut h = harness_with(
        &Options {
            config: Some(path.clone()),
            jobs: Mode::Threaded,
            ..Options::default()
        },
        egui::vec2(1280.0, 1000.0),
    );
    let start = std::time::Instant::now();
    while h.state().workspace().is_none() {
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
        std::thread::sleep(std::time::Duration::from_millis(10));
        h.step();
    }
    h.run();
    h.get_by_label(SMTP).click();
    h.run();
    edit_field(&mut h, "Port", "587");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    // A database read that has not finished yet.
    let (release, wait) = std::sync::mpsc::channel::<()>();
    h.state_mut()
        .jobs_mut()
        .start("Reading the K2 database", move |_| {
            let _ = wait.recv();
            JobResult::Db(Err("stopped by the test".into()))
        })
        .unwrap();
    // A spinner turns while it runs: step, do not wait to settle.
    h.run_steps(3);
    let save = h.get_by_label("Save");
    assert!(
        save.accesskit_node().is_disabled(),
        "Save waits for the running task"
    );
    save.click();
    h.run_steps(3);
    assert!(h.state().is_busy());
    let ws = h.state().workspace().expect("the edits are still open");
    assert!(ws.is_dirty());
    assert_eq!(port(&h).as_deref(), Some("587"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    release.send(()).unwrap();
}

#[test]
fn a_second_file_does_not_use_the_first_files_database() {
    let (_a, first) = sample();
    let (_b, second) = sample();
    let text = std::fs::read_to_string(&second).unwrap().replacen(
        "Data Source=SQL01\\K2;",
        "Data Source=OTHERSQL;",
        1,
    );
    std::fs::write(&second, text).unwrap();
    let mut h = open(&first);
    assert!(
        h.state().db_connection().contains("SQL01\\K2"),
        "{}",
        h.state().db_connection()
    );
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.run();
    open_by_path(&mut h, &second);
    assert_eq!(h.state().workspace().unwrap().path(), second);
    assert!(
        h.state().db_connection().contains("OTHERSQL"),
        "{}",
        h.state().db_connection()
    );
}

#[test]
fn the_review_is_a_table_of_old_and_new_values_enter_saves_esc_cancels() {
    let (_a, path) = sample();
    let before = std::fs::read_to_string(&path).unwrap();
    let mut h = open(&path);
    h.get_by_label(SMTP).click();
    h.run();
    edit_field(&mut h, "Port", "587");
    let ews = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:smartactions@denallix.com";
    h.get_by_label(ews).click();
    h.run();
    edit_field(&mut h, "Password", "N3w;Secret");
    // Emptying a field removes its key.
    h.get_by_role_and_label(Role::TextInput, "Poll Interval")
        .focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.key_press(egui::Key::Enter);
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.get_by_label(&format!("{SMTP} (changed)"));
    h.get_by_label("25 → 587");
    h.get_by_label("•••••••• → ••••••••");
    h.get_by_label("− 1M  (key removed)");
    assert!(
        h.query_by_label_contains("N3w").is_none() && h.query_by_label_contains("P@ss").is_none(),
        "passwords are masked"
    );
    // The raw diff is one tab away.
    h.get_by_label("Raw diff").click();
    h.run();
    h.get_by_label_contains("+    <add name=\"SourceCode.Net.Mail.SmtpConnection\"");
    // Esc cancels: nothing written.
    h.key_press(egui::Key::Escape);
    h.run();
    assert!(h.query_by_label("Raw diff").is_none());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    // Enter saves.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(
        after.contains("smtp.denallix.com;Port=587;"),
        "saved by Enter"
    );
    assert!(!h.state().workspace().unwrap().is_dirty());
}

#[test]
fn the_update_database_question_lists_only_the_entries_this_save_changed() {
    let mut h = harness_with(
        &Options {
            demo: true,
            jobs: Mode::Inline,
            ..Options::default()
        },
        egui::vec2(1280.0, 1000.0),
    );
    h.get_by_label("Database").click();
    h.run();
    h.get_by_label("Connect").click();
    h.run();
    let differs = |h: &Harness<'static, GuiApp>| -> Vec<String> {
        h.state()
            .snapshot()
            .unwrap()
            .drifts
            .iter()
            .filter(|d| matches!(d.state, k2cse_core::db::DriftState::Differs { .. }))
            .map(|d| d.link.entry.clone())
            .collect()
    };
    let before = differs(&h);
    assert_eq!(before.len(), 2, "{before:?}");
    // Change an entry that is in sync with its token, and save.
    let ews = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:smartactions@denallix.com";
    assert!(!before.iter().any(|e| e == ews));
    h.get_by_label("Entries").click();
    h.run();
    h.get_by_role_and_label(Role::Button, ews).click();
    h.run();
    edit_field(&mut h, "Poll Interval", "5M");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Also update the K2 database?");
    // Only that entry, ticked, with what will be written (secrets masked).
    // (The editor's own checkboxes, behind the dialog, are keys, not entries.)
    let entries: Vec<String> = h
        .state()
        .workspace()
        .unwrap()
        .rows()
        .iter()
        .map(|r| r.name.clone())
        .collect();
    let boxes: Vec<String> = h
        .query_all_by_role(Role::CheckBox)
        .filter_map(|n| n.accesskit_node().label())
        .filter(|l| entries.contains(l))
        .collect();
    assert_eq!(boxes, vec![ews.to_owned()]);
    h.get_by_label(&format!("writes into [ConnectionString:{ews}]:"));
    assert!(h.get_all_by_label_contains("Poll Interval=5M").count() >= 2);
    assert!(h.query_by_label_contains("P@ss").is_none());
    // What comes next, said: the tokens, and the restart.
    assert!(
        h.state()
            .next_steps()
            .iter()
            .any(|s| s.contains(ews) && s.contains("k2cse db push")),
        "{:?}",
        h.state().next_steps()
    );
    assert!(
        h.state()
            .next_steps()
            .iter()
            .any(|s| s.starts_with("Restart the \"K2 Server\" service"))
    );
    h.get_by_label("Update database").click();
    h.run();
    let after = differs(&h);
    assert_eq!(
        after, before,
        "the two entries not changed by the save were not pushed"
    );
    assert!(
        !h.state()
            .next_steps()
            .iter()
            .any(|s| s.contains("k2cse db push")),
        "the push step is done"
    );
}

#[test]
fn unticking_an_entry_leaves_its_token_alone() {
    let mut h = harness_with(
        &Options {
            demo: true,
            jobs: Mode::Inline,
            ..Options::default()
        },
        egui::vec2(1280.0, 1000.0),
    );
    // The Database view never used: the save checks the tokens, then asks.
    let ews = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:smartactions@denallix.com";
    h.get_by_role_and_label(Role::Button, ews).click();
    h.run();
    edit_field(&mut h, "Poll Interval", "5M");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.get_by_label("Save").click();
    h.run();
    let differs = |h: &Harness<'static, GuiApp>| {
        h.state().snapshot().unwrap().drifts.iter().any(|d| {
            d.link.entry == ews && matches!(d.state, k2cse_core::db::DriftState::Differs { .. })
        })
    };
    assert!(differs(&h));
    h.get_by_role_and_label(Role::CheckBox, ews).click();
    h.run();
    assert!(
        h.get_by_label("Update database")
            .accesskit_node()
            .is_disabled(),
        "nothing ticked, nothing to write"
    );
    h.get_by_label("Cancel").click();
    h.run();
    assert!(differs(&h), "the token still holds the old value");
}

#[test]
fn open_recent_offers_only_files_that_still_exist() {
    let (_a, kept) = sample();
    let gone = {
        let (dir, path) = sample();
        drop(dir);
        path
    };
    let mut h = harness_with(
        &Options {
            jobs: Mode::Inline,
            ..Options::default()
        },
        egui::vec2(1280.0, 1000.0),
    );
    h.state_mut().set_recent(vec![gone.clone(), kept.clone()]);
    h.run();
    assert!(h.query_by_label(&gone.display().to_string()).is_none());
    h.get_by_label(&kept.display().to_string()).click();
    h.run();
    assert_eq!(h.state().workspace().unwrap().path(), kept);
}

#[test]
fn a_cancelled_review_cancels_what_waited_for_the_save() {
    let (_a, first) = sample();
    let (_b, second) = sample();
    let mut h = open(&first);
    h.state_mut().set_recent(vec![second.clone()]);
    h.get_by_label(SMTP).click();
    h.run();
    edit_field(&mut h, "Port", "587");
    h.get_by_label("Reload").click();
    h.run();
    h.get_by_label("Review and save…").click();
    h.run();
    h.get_by_label("Cancel").click();
    h.run();
    // A later save is only a save: no reload after it.
    edit_field(&mut h, "Port", "588");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.get_by_label("Save").click();
    h.run();
    assert_eq!(h.state().workspace().unwrap().path(), first);
    assert!(
        h.state().notice().unwrap().text.starts_with("Saved"),
        "{:?}",
        h.state().notice()
    );
}

/// The GUI's automatic backup follows the core's policy, as the CLI's does (docs/cli.md):
/// `K2CSE_BACKUP_DIR` is the folder, and a backup passphrase in the environment encrypts it.
#[test]
fn the_automatic_backup_follows_the_backup_policy() {
    let (_a, path) = sample();
    let elsewhere = tempfile::tempdir().unwrap();
    let mut h = harness_with(
        &Options {
            config: Some(path.clone()),
            jobs: Mode::Inline,
            environment: k2cse_core::policy::Environment::fixed([
                ("K2CSE_BACKUP_DIR", elsewhere.path().to_str().unwrap()),
                ("K2CSE_BACKUP_PASSPHRASE", "gui backup passphrase"),
                ("K2CSE_BACKUP_SCRYPT_LOG_N", "10"),
                ("K2CSE_KEYRING", "mock"),
            ]),
            ..Options::default()
        },
        egui::vec2(1280.0, 1000.0),
    );
    h.get_by_label(SMTP).click();
    h.run();
    edit_field(&mut h, "Port", "587");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("Port=587;")
    );
    let backups: Vec<PathBuf> = std::fs::read_dir(elsewhere.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".k2cse.tar.age"))
        .collect();
    assert_eq!(
        backups.len(),
        1,
        "one encrypted backup in K2CSE_BACKUP_DIR: {backups:?}"
    );
    assert!(k2cse_core::backup::is_encrypted_file(&backups[0]).unwrap());
    let passphrase = k2cse_core::secret::Secret::new("gui backup passphrase");
    let opened = k2cse_core::backup::open(&backups[0], Some(&passphrase)).unwrap();
    assert!(
        opened.manifest().reason.contains("k2cse-gui save"),
        "{}",
        opened.manifest().reason
    );
    assert!(
        !path.parent().unwrap().join("k2cse-backups").exists()
            || std::fs::read_dir(path.parent().unwrap().join("k2cse-backups"))
                .unwrap()
                .next()
                .is_none(),
        "nothing went to the default folder"
    );
}

/// Issue 16 point 2: the Add / Rename / Remove dialogs queue their edit like every other
/// action, so an edit is refused, with the dialog kept and its reason shown, while the file is
/// being opened again — instead of going into a workspace that the reload then replaces.
#[test]
fn an_entry_added_while_the_file_is_being_reopened_is_not_lost() {
    let (_a, path) = sample();
    let mut h = open(&path);
    h.get_all_by_label("Add entry…").next().unwrap().click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Mailbox (entity, required)")
        .focus();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Mailbox (entity, required)")
        .type_text("new@denallix.com");
    h.run();
    // The file being opened again (Reload, or Open of the same file) by a job still running.
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let reopened = path.clone();
    *h.state_mut().jobs_mut() = k2cse_gui::jobs::Jobs::new(Mode::Threaded);
    h.state_mut()
        .jobs_mut()
        .start(
            format!("{}{}", k2cse_gui::entry_edits::OPENING, path.display()),
            move |_| {
                let _ = wait.recv();
                JobResult::Opened(Box::new(k2cse_gui::workspace::Workspace::open(
                    &reopened,
                    &k2cse_core::protect::KeyStore::new(None),
                )))
            },
        )
        .unwrap();
    h.run_steps(2);
    h.get_by_label("Add").click();
    h.run_steps(3);
    let new = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:new@denallix.com";
    // Refused and said, the dialog still holding what was typed.
    h.get_by_label_contains("Not now: wait until");
    assert!(h.state().workspace().unwrap().entry(new).is_none());
    release.send(()).unwrap();
    let start = std::time::Instant::now();
    while h.state().is_busy() {
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
        std::thread::sleep(std::time::Duration::from_millis(10));
        h.step();
    }
    h.run_steps(3);
    // Now it goes into the file as it is on disk, and the dialog closes.
    h.get_by_label("Add").click();
    h.run_steps(3);
    assert!(h.state().workspace().unwrap().entry(new).is_some());
    assert_eq!(h.state().selected(), Some(new));
    assert!(h.query_by_label_contains("Not now: wait until").is_none());
}

/// Issue 16 point 4: File → New (Ctrl+N) asks about unsaved changes like Open, starts an
/// untitled K2 config, and its first save goes through Save-as, writing a file shaped like
/// K2's own (UTF-8 with a BOM, CRLF) that is then the open file.
#[test]
fn new_asks_first_then_its_first_save_asks_where() {
    let (dir, path) = sample();
    let mut h = open(&path);
    h.get_by_label(SMTP).click();
    h.run();
    edit_field(&mut h, "Port", "587");

    // Asked first; Cancel keeps the edit.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::N);
    h.run();
    h.get_by_label("Starting a new file discards them.");
    h.get_by_label("Cancel").click();
    h.run();
    assert_eq!(port(&h).as_deref(), Some("587"));
    assert_eq!(h.state().workspace().unwrap().path(), path);

    // Discard: an untitled file, no entries, and the title says so.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::N);
    h.run();
    h.get_by_label("Discard changes").click();
    h.run();
    assert!(h.state().workspace().unwrap().rows().is_empty());
    assert_eq!(h.state().window_title(), "Untitled — k2cse");
    assert_eq!(std::fs::read(&path).unwrap(), k2cse_core::sample::K2_SAMPLE);

    // An entry, then Save: the review, then where to.
    h.get_all_by_label("Add entry…").next().unwrap().click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Mailbox (entity, required)")
        .focus();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Mailbox (entity, required)")
        .type_text("new@denallix.com");
    h.run();
    h.get_by_label("Add").click();
    h.run();
    assert_eq!(h.state().window_title(), "*Untitled — k2cse");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    // An existing file is refused, and the new file stays open with its entry.
    let field = "Path of the new config file";
    h.get_by_role_and_label(Role::TextInput, field).focus();
    h.run();
    h.get_by_role_and_label(Role::TextInput, field)
        .type_text(&path.display().to_string());
    h.run();
    h.get_by_label("Save").click();
    h.run();
    assert_eq!(std::fs::read(&path).unwrap(), k2cse_core::sample::K2_SAMPLE);
    assert_eq!(h.state().workspace().unwrap().rows().len(), 1);
    h.get_by_role_and_label(Role::TextInput, field).focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run();
    let target = dir.path().join("new").join("K2HostServer.exe.config");
    std::fs::create_dir(target.parent().unwrap()).unwrap();
    h.get_by_role_and_label(Role::TextInput, field)
        .type_text(&target.display().to_string());
    h.run();
    h.get_by_label("Save").click();
    h.run();

    let bytes = std::fs::read(&target).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF<?xml"), "UTF-8 with a BOM");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(
        text.match_indices('\n')
            .all(|(i, _)| i > 0 && &text[i - 1..i] == "\r"),
        "CRLF only: {text:?}"
    );
    assert!(text.contains("<configuration>") && text.contains("</connectionStrings>"));
    let doc = k2cse_core::Document::load(&target).unwrap();
    let names: Vec<String> = doc
        .entries()
        .unwrap()
        .iter()
        .map(|e| e.name.as_str().to_owned())
        .collect();
    assert_eq!(
        names,
        ["SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:new@denallix.com"]
    );
    // The written file is now the open one.
    let ws = h.state().workspace().unwrap();
    assert_eq!(ws.path(), target);
    assert!(!ws.is_dirty());
    assert!(
        h.state()
            .window_title()
            .starts_with("K2HostServer.exe.config ("),
        "{}",
        h.state().window_title()
    );
}

/// The entries offered by the open "also update the database?" question.
fn offered(h: &Harness<'static, GuiApp>) -> Vec<String> {
    let entries: Vec<String> = h
        .state()
        .workspace()
        .unwrap()
        .rows()
        .iter()
        .map(|r| r.name.clone())
        .collect();
    h.query_all_by_role(Role::CheckBox)
        .filter_map(|n| n.accesskit_node().label())
        .filter(|l| entries.contains(l))
        .collect()
}

/// Issue 16 point 6: with the Database view never used, the save checks (in a job, with the
/// simulator as K2's database) which changed entries have a token, and asks about those only.
#[test]
fn after_a_save_only_changed_entries_with_a_token_are_offered() {
    let mut h = harness_with(
        &Options {
            demo: true,
            jobs: Mode::Inline,
            ..Options::default()
        },
        egui::vec2(1280.0, 1000.0),
    );
    // One entry K2 keeps a token of, one it does not.
    let ews = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:smartactions@denallix.com";
    let smtp = "SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com";
    h.get_by_role_and_label(Role::Button, ews).click();
    h.run();
    edit_field(&mut h, "Poll Interval", "5M");
    h.get_by_role_and_label(Role::Button, smtp).click();
    h.run();
    edit_field(&mut h, "Port", "465");
    assert!(
        h.state().snapshot().is_none(),
        "the Database view was not used"
    );
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Also update the K2 database?");
    h.get_by_label_contains("the tokens of these entries still hold the old values");
    assert_eq!(offered(&h), vec![ews.to_owned()]);
    h.get_by_label(&format!("writes into [ConnectionString:{ews}]:"));
    let snapshot = h.state().snapshot().expect("read by the check");
    let smtp_state = &snapshot
        .drifts
        .iter()
        .find(|d| d.link.entry == smtp)
        .unwrap()
        .state;
    assert_eq!(*smtp_state, k2cse_core::db::DriftState::MissingInDatabase);
}

/// Issue 16 point 6: when the database cannot be reached, the question still comes, says that
/// it could not check, and offers every changed entry.
#[test]
fn an_unreachable_database_is_said_in_the_question() {
    // Nothing listens on the port HostserverDB names (a listener bound and dropped).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_a, path) = sample();
    let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
    let host = "name=\"HostserverDB\" connectionString=\"";
    let at = text.find(host).unwrap() + host.len();
    let end = at + text[at..].find('"').unwrap();
    let text = format!(
        "{}Data Source=127.0.0.1,{port};Initial Catalog=K2;User ID=sa;Password=x;Connect Timeout=2{}",
        &text[..at],
        &text[end..]
    );
    std::fs::write(&path, text).unwrap();
    let mut h = open(&path);
    let ews = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:smartactions@denallix.com";
    h.get_by_role_and_label(Role::Button, ews).click();
    h.run();
    edit_field(&mut h, "Poll Interval", "5M");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Also update the K2 database?");
    h.get_by_label_contains("k2cse could not check which of them have one");
    assert_eq!(offered(&h), vec![ews.to_owned()]);
    h.get_by_label("writes into its token, if it has one (found when connecting):");
}

/// Issue 16 point 6: a database that accepts the connection and never answers holds neither
/// the window (the check is a job: frames go on, the status bar says what runs) nor the
/// question for long (the check gives up after `CHECK_LIMIT`, and the question says so).
#[test]
fn a_silent_database_neither_freezes_the_window_nor_holds_the_question() {
    // Accepts TCP connections (the kernel's backlog) and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let (_a, path) = sample();
    let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
    let host = "name=\"HostserverDB\" connectionString=\"";
    let at = text.find(host).unwrap() + host.len();
    let end = at + text[at..].find('"').unwrap();
    let text = format!(
        "{}Data Source=127.0.0.1,{port};Initial Catalog=K2;User ID=sa;Password=x{}",
        &text[..at],
        &text[end..]
    );
    std::fs::write(&path, text).unwrap();
    let mut h = harness_with(
        &Options {
            config: Some(path.clone()),
            jobs: Mode::Threaded,
            ..Options::default()
        },
        egui::vec2(1280.0, 1000.0),
    );
    let wait_until = |h: &mut Harness<'static, GuiApp>,
                      what: &str,
                      done: &dyn Fn(&Harness<'static, GuiApp>) -> bool| {
        let start = std::time::Instant::now();
        while !done(h) {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "{what}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
            h.step();
        }
        start.elapsed()
    };
    wait_until(&mut h, "opened", &|h| h.state().workspace().is_some());
    h.run();
    let ews = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:smartactions@denallix.com";
    h.get_by_role_and_label(Role::Button, ews).click();
    h.run();
    edit_field(&mut h, "Poll Interval", "5M");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.get_by_label("Save").click();
    h.step();
    wait_until(&mut h, "the check started", &|h| {
        h.query_by_label_contains("Checking the K2 database tokens")
            .is_some()
    });
    // The window keeps drawing and answering while the server stays silent; the question
    // comes well before the 15 s a connection string allows by default.
    let checking = std::time::Instant::now();
    for _ in 0..5 {
        h.step();
    }
    assert!(h.state().is_busy());
    h.get_by_label_contains("Checking the K2 database tokens");
    let waited = wait_until(&mut h, "the question", &|h| {
        h.query_by_label("Also update the K2 database?").is_some()
    });
    let limit = k2cse_gui::database::CHECK_LIMIT;
    assert!(
        checking.elapsed() < limit + std::time::Duration::from_secs(6),
        "asked after {waited:?}"
    );
    h.get_by_label_contains("k2cse could not check which of them have one");
    assert_eq!(offered(&h), vec![ews.to_owned()]);
    drop(silent);
}

/// Issue 16 point 6: with no database connection known (no `HostserverDB`, nothing typed in
/// the Database view), the question says k2cse cannot tell, and leads to the Database view.
#[test]
fn no_known_connection_is_said_in_the_question() {
    let (_a, path) = sample();
    let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
    let start = text.find("<add name=\"HostserverDB\"").unwrap();
    let end = start + text[start..].find("/>").unwrap() + 2;
    std::fs::write(&path, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let mut h = open(&path);
    assert!(h.state().db_connection().is_empty());
    let ews = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:smartactions@denallix.com";
    h.get_by_role_and_label(Role::Button, ews).click();
    h.run();
    edit_field(&mut h, "Poll Interval", "5M");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Also update the K2 database?");
    h.get_by_label_contains("no database connection is known");
    assert_eq!(offered(&h), vec![ews.to_owned()]);
    assert!(h.query_by_label("Update database").is_none());
    h.get_by_label("Database view…").click();
    h.run();
    assert!(h.query_by_label("Also update the K2 database?").is_none());
    h.get_by_label("Connect");
}
