//! The parts of the window. Each is a function of the app state and a `Ui`; none reads files
//! or talks to the database (they ask the app to start jobs).

pub mod backups;
pub mod database;
pub mod dialogs;
pub mod editor;
pub mod entries;

use crate::app::{Dialog, GuiApp, View};
use crate::commands::{Command, Pending};

/// The narrowest the editor gets, so that a field, its Unset button and its finding fit.
pub const EDITOR_MIN_WIDTH: f32 = 410.0;
/// The narrowest the entry list gets.
const LIST_MIN_WIDTH: f32 = 160.0;

/// The whole window: menu bar, status bar, entry list, and the editor or the database view.
pub fn layout(app: &mut GuiApp, ui: &mut egui::Ui) {
    egui::Panel::top("menu").show(ui, |ui| menu_bar(app, ui));
    egui::Panel::top("toolbar").show(ui, |ui| toolbar(app, ui));
    egui::Panel::bottom("status").show(ui, |ui| status_bar(app, ui));
    if app.window.view == View::Entries && app.ws.is_some() {
        // The editor keeps at least EDITOR_MIN_WIDTH: the list is as wide as the user drags it,
        // up to what is left (a width remembered from a wider window is clamped too).
        let widest = (ui.available_width() - EDITOR_MIN_WIDTH).max(LIST_MIN_WIDTH);
        egui::Panel::left("entries")
            .resizable(true)
            .default_size(300.0_f32.min(widest))
            .min_size(LIST_MIN_WIDTH)
            .max_size(widest)
            .show(ui, |ui| entries::show(app, ui));
    }
    egui::CentralPanel::default_margins().show(ui, |ui| {
        match (app.window.view, app.ws.is_some()) {
            (_, false) => welcome(app, ui),
            (View::Entries, true) => editor::show(app, ui),
            (View::Database, true) => database::show(app, ui),
            (View::Backups, true) => backups::show(app, ui),
        }
    });
}

fn menu_bar(app: &mut GuiApp, ui: &mut egui::Ui) {
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            let idle = !app.is_busy();
            if ui
                .add_enabled(idle, egui::Button::new("New  (Ctrl+N)"))
                .clicked()
            {
                app.push(Command::Guarded(Pending::New));
            }
            if ui
                .add_enabled(idle, egui::Button::new("Open…  (Ctrl+O)"))
                .clicked()
            {
                app.push(Command::Guarded(Pending::OpenDialog));
            }
            // Files that are gone (a deleted demo folder) are not offered.
            let recent: Vec<_> = app
                .settings
                .recent
                .iter()
                .filter(|p| p.exists())
                .cloned()
                .collect();
            if !recent.is_empty() {
                ui.add_enabled_ui(idle, |ui| {
                    ui.menu_button("Open recent", |ui| {
                        for path in recent {
                            if ui.button(path.display().to_string()).clicked() {
                                app.push(Command::Guarded(Pending::Open(path)));
                            }
                        }
                    });
                });
            }
            if ui
                .add_enabled(idle && on_disk(app), egui::Button::new("Reload from disk"))
                .clicked()
            {
                app.push(Command::Guarded(Pending::Reload));
            }
            let dirty = app
                .ws
                .as_ref()
                .is_some_and(|w| w.is_dirty() || crate::new_file::is_untitled(w));
            if ui
                .add_enabled(dirty && idle, egui::Button::new("Save…  (Ctrl+S)"))
                .clicked()
            {
                app.push(Command::RequestSave);
            }
            if ui.button("Quit").clicked() {
                app.push(Command::Guarded(Pending::Quit));
            }
        });
        ui.menu_button("Edit", |ui| {
            let (undo, redo) = app
                .ws
                .as_ref()
                .map_or((false, false), |w| (w.can_undo(), w.can_redo()));
            if ui
                .add_enabled(undo, egui::Button::new("Undo  (Ctrl+Z)"))
                .clicked()
            {
                app.push(Command::Undo);
            }
            if ui
                .add_enabled(redo, egui::Button::new("Redo  (Ctrl+Y)"))
                .clicked()
            {
                app.push(Command::Redo);
            }
            if ui
                .add_enabled(app.ws.is_some(), egui::Button::new("Add entry…"))
                .clicked()
            {
                app.push(Command::Show(Dialog::Add {
                    kind: 0,
                    type_name: String::new(),
                    entity: String::new(),
                    error: None,
                }));
            }
        });
        ui.separator();
        let entries = ui.selectable_label(app.window.view == View::Entries, "Entries");
        if entries.clicked() {
            app.push(Command::View(View::Entries));
        }
        let database = ui.selectable_label(app.window.view == View::Database, "Database");
        if database.clicked() {
            app.push(Command::View(View::Database));
        }
        let backups = ui.selectable_label(app.window.view == View::Backups, "Backups");
        if backups.clicked() {
            app.push(Command::View(View::Backups));
        }
    });
}

/// Save, Undo, Redo and Reload, always in view; each is disabled when it cannot act (nothing
/// to save, nothing to undo, or a task running that it would conflict with).
fn toolbar(app: &mut GuiApp, ui: &mut egui::Ui) {
    let idle = !app.is_busy();
    let (dirty, undo, redo) = app.ws.as_ref().map_or((false, false, false), |w| {
        // A new file can be saved before anything is typed into it.
        (
            w.is_dirty() || crate::new_file::is_untitled(w),
            w.can_undo(),
            w.can_redo(),
        )
    });
    let open = on_disk(app);
    ui.horizontal(|ui| {
        if ui
            .add_enabled(idle, egui::Button::new("New"))
            .on_hover_text(
                "A new, empty K2 config (Ctrl+N; asks first if there are unsaved changes)",
            )
            .clicked()
        {
            app.push(Command::Guarded(Pending::New));
        }
        if ui
            .add_enabled(dirty && idle, egui::Button::new("Save…"))
            .on_hover_text("Review the changes and save (Ctrl+S)")
            .clicked()
        {
            app.push(Command::RequestSave);
        }
        if ui
            .add_enabled(undo, egui::Button::new("Undo"))
            .on_hover_text("Undo the last change (Ctrl+Z)")
            .clicked()
        {
            app.push(Command::Undo);
        }
        if ui
            .add_enabled(redo, egui::Button::new("Redo"))
            .on_hover_text("Redo (Ctrl+Y)")
            .clicked()
        {
            app.push(Command::Redo);
        }
        if ui
            .add_enabled(open && idle, egui::Button::new("Reload"))
            .on_hover_text(
                "Read the file again from disk (asks first if there are unsaved changes)",
            )
            .clicked()
        {
            app.push(Command::Guarded(Pending::Reload));
        }
    });
}

/// Whether the open file is on disk (a new file is not until its first save).
fn on_disk(app: &GuiApp) -> bool {
    app.ws
        .as_ref()
        .is_some_and(|w| !crate::new_file::is_untitled(w))
}

fn status_bar(app: &mut GuiApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        if let Some(running) = app.jobs.running().cloned() {
            ui.add(egui::Spinner::new());
            ui.label(format!(
                "{}… {:.0}s",
                running.label,
                running.started.elapsed().as_secs_f32()
            ));
            if ui.button("Cancel").clicked() {
                app.push(Command::CancelJob);
            }
            ui.separator();
        }
        if let Some(ws) = &app.ws {
            let dirty = if ws.is_dirty() {
                " — unsaved changes"
            } else {
                ""
            };
            let path = if crate::new_file::is_untitled(ws) {
                "Untitled (not saved yet)".to_owned()
            } else {
                ws.path().display().to_string()
            };
            ui.label(format!("{path}{dirty}"));
        }
    });
    if let Some(notice) = app.window.notice.clone() {
        ui.horizontal(|ui| {
            let color = if notice.error {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().text_color()
            };
            ui.colored_label(color, &notice.text);
            if ui.small_button("Dismiss").clicked() {
                app.push(Command::DismissNotice);
            }
        });
        if let Some(details) = &notice.details {
            egui::CollapsingHeader::new("Details")
                .id_salt("notice-details")
                .show(ui, |ui| {
                    ui.label(details);
                });
        }
    }
    if !app.save_flow.next_steps.is_empty() {
        ui.horizontal(|ui| {
            ui.strong("Still to do after this save:");
            if ui.small_button("Done").clicked() {
                app.push(Command::NextStepsDone);
            }
        });
        for step in &app.save_flow.next_steps {
            ui.label(format!("• {step}"));
        }
    }
}

fn welcome(app: &mut GuiApp, ui: &mut egui::Ui) {
    ui.vertical_centered(|ui| {
        ui.add_space(40.0);
        ui.heading("k2cse — K2 connection strings");
        ui.label("Open K2HostServer.exe.config (Host Server\\Bin), or drop it on this window.");
        ui.horizontal(|ui| {
            if ui.button("Open…").clicked() {
                app.push(Command::Show(Dialog::Open {
                    path: String::new(),
                }));
            }
            if ui.button("New file").clicked() {
                app.push(Command::Guarded(Pending::New));
            }
        });
        for path in app
            .settings
            .recent
            .clone()
            .into_iter()
            .filter(|p| p.exists())
        {
            if ui.link(path.display().to_string()).clicked() {
                app.push(Command::Guarded(Pending::Open(path)));
            }
        }
    });
}
