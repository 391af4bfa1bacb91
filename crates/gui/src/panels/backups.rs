//! The Backups view: the backup folder's list, "Back up now", and the inspected backup with
//! its differences from the current state and a Restore button (which asks first).

use crate::app::GuiApp;
use crate::commands::Command;

/// Draws the Backups view.
pub fn show(app: &mut GuiApp, ui: &mut egui::Ui) {
    ui.heading("Backups");
    let Some(store) = app.backup_store() else {
        return;
    };
    ui.label(format!(
        "Folder: {} — every save and database update takes an automatic backup here (the newest {} are kept).",
        store.dir().display(),
        k2cse_core::backup::DEFAULT_KEEP
    ));
    ui.horizontal(|ui| {
        let idle = !app.is_busy();
        if ui
            .add_enabled(idle, egui::Button::new("Back up now"))
            .clicked()
        {
            app.push(Command::BackupNow);
        }
        if ui.add_enabled(idle, egui::Button::new("Refresh")).clicked() {
            app.push(Command::BackupsRefresh);
        }
        let has_db = !app.db.settings.connection.trim().is_empty();
        ui.add_enabled(
            has_db,
            egui::Checkbox::new(&mut app.backups.include_database, "Include database tokens"),
        );
        ui.checkbox(&mut app.backups.encrypt, "Encrypt");
        let label = ui.label("Passphrase");
        ui.add(
            egui::TextEdit::singleline(&mut app.backups.passphrase)
                .password(true)
                .desired_width(160.0),
        )
        .labelled_by(label.id);
    });
    ui.separator();
    list(app, ui);
    ui.separator();
    inspected(app, ui);
}

fn list(app: &mut GuiApp, ui: &mut egui::Ui) {
    if app.backups.list.is_empty() {
        ui.label("No backups yet (Refresh to look again).");
        return;
    }
    let mut inspect = None;
    egui::ScrollArea::vertical()
        .id_salt("backup-list")
        .max_height(200.0)
        .show(ui, |ui| {
            egui::Grid::new("backup-grid")
                .striped(true)
                .num_columns(5)
                .show(ui, |ui| {
                    ui.strong("Taken");
                    ui.strong("Kind");
                    ui.strong("Bytes");
                    ui.strong("File");
                    ui.strong("");
                    ui.end_row();
                    for b in app.backups.list.iter().rev() {
                        let selected = app.backups.selected.as_ref() == Some(&b.path);
                        ui.label(&b.created);
                        ui.label(b.kind.as_str());
                        ui.label(b.size.to_string());
                        let name = b.path.file_name().unwrap_or_default().to_string_lossy();
                        let lock = if b.encrypted { " 🔒" } else { "" };
                        if ui
                            .selectable_label(selected, format!("{name}{lock}"))
                            .clicked()
                        {
                            inspect = Some(b.path.clone());
                        }
                        if ui
                            .button("Inspect")
                            .on_hover_text("Verify and compare with the current state")
                            .clicked()
                        {
                            inspect = Some(b.path.clone());
                        }
                        ui.end_row();
                    }
                });
        });
    if let Some(path) = inspect {
        app.push(Command::BackupInspect(path));
    }
}

fn inspected(app: &mut GuiApp, ui: &mut egui::Ui) {
    let Some(i) = &app.backups.inspected else {
        ui.label("Pick a backup to verify it and see what restoring it would change.");
        return;
    };
    let m = &i.manifest;
    ui.label(format!(
        "{} — verified: every part matches its SHA-256. Taken {} on {} by k2cse {} ({}).",
        i.path.file_name().unwrap_or_default().to_string_lossy(),
        m.created,
        m.host,
        m.tool_version,
        m.reason
    ));
    for f in &m.files {
        ui.label(format!("File {} ({} bytes)", f.source.display(), f.size));
    }
    if let Some(d) = &m.database {
        ui.label(format!(
            "Database {} on {}: {} rows ({} encrypted, kept as ciphertext)",
            d.database, d.server, d.rows, d.encrypted_rows
        ));
    }
    if let Some(note) = &i.database_note {
        ui.label(note);
    }
    for w in &i.plan.warnings {
        ui.colored_label(ui.visuals().warn_fg_color, w);
    }
    let empty = i.plan.is_empty();
    if empty {
        ui.label("The current state already matches this backup.");
    } else {
        ui.label("Restoring it would change:");
        egui::ScrollArea::vertical()
            .id_salt("backup-diff")
            .max_height(300.0)
            .show(ui, |ui| {
                super::dialogs::diff_lines(ui, &i.diff);
                for line in &i.rows {
                    ui.label(egui::RichText::new(line).monospace());
                }
            });
    }
    if ui
        .add_enabled(!empty && !app.is_busy(), egui::Button::new("Restore…"))
        .clicked()
    {
        app.push(Command::BackupRequestRestore);
    }
}
