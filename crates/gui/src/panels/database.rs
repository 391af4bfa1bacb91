//! The K2 database view: connection settings, status, and the drift table with push/pull per
//! entry or for all.

use k2cse_core::db::{DriftState, KeyStatus, LinkSource};

use crate::app::GuiApp;
use crate::commands::Command;

/// Draws the database view.
pub fn show(app: &mut GuiApp, ui: &mut egui::Ui) {
    ui.heading("K2 database");
    ui.label("Configuration tokens in [HostServer].[Configuration], compared with this file's connection strings.");
    settings(app, ui);
    ui.separator();
    let Some(snapshot) = app.db.snapshot.clone() else {
        ui.label("Not read yet: press Connect.");
        return;
    };
    let s = &snapshot.status;
    egui::Grid::new("db-status").num_columns(2).show(ui, |ui| {
        let yes = |b: bool| if b { "present" } else { "missing" };
        for (k, v) in [
            ("Server", s.server.clone()),
            ("Database", s.database.clone()),
            ("Version", s.version.clone()),
            (
                "Compatibility level",
                s.compatibility_level
                    .map_or_else(|| "(unknown)".to_owned(), |l| l.to_string()),
            ),
            ("Collation", s.collation.clone()),
            ("Table shape", s.shape.to_string()),
            ("SCSSOKey", yes(s.has_symmetric_key).to_owned()),
            (
                "Encrypted tokens",
                if s.keys == KeyStatus::Open {
                    "readable".to_owned()
                } else {
                    s.keys.to_string()
                },
            ),
            (
                "[USESQLENCRYPTION]",
                s.use_sql_encryption
                    .map_or("(not set)".to_owned(), |b| b.to_string()),
            ),
        ] {
            ui.label(k);
            ui.label(v);
            ui.end_row();
        }
    });
    ui.separator();
    drift_table(app, ui, &snapshot);
}

fn drift_table(app: &mut GuiApp, ui: &mut egui::Ui, snapshot: &crate::database::Snapshot) {
    let differing: Vec<String> = snapshot
        .drifts
        .iter()
        .filter(|d| matches!(d.state, DriftState::Differs { .. }))
        .map(|d| d.link.entry.clone())
        .collect();
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} of {} entries differ from the database.",
            differing.len(),
            snapshot.drifts.len()
        ));
        if ui
            .add_enabled(
                !differing.is_empty() && !app.is_busy(),
                egui::Button::new("Push all to database"),
            )
            .clicked()
        {
            app.push(Command::DbPush(Vec::new()));
        }
        if ui
            .add_enabled(
                !differing.is_empty() && !app.is_busy(),
                egui::Button::new("Pull all into file"),
            )
            .clicked()
        {
            app.push(Command::DbPull(Vec::new()));
        }
    });
    egui::ScrollArea::both()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("drift")
                .num_columns(4)
                .striped(true)
                .spacing([12.0, 4.0])
                .show(ui, |ui| {
                    ui.strong("");
                    ui.strong("Entry");
                    ui.strong("State");
                    ui.strong("Token");
                    ui.end_row();
                    for d in &snapshot.drifts {
                        // Actions first: token names are long and push the last column out of view.
                        ui.horizontal(|ui| {
                            if matches!(d.state, DriftState::Differs { .. }) {
                                let idle = !app.is_busy();
                                if ui
                                    .add_enabled(idle, egui::Button::new("Push"))
                                    .on_hover_text(format!(
                                        "Write the file's value of {} into the database",
                                        d.link.entry
                                    ))
                                    .clicked()
                                {
                                    app.push(Command::DbPush(vec![d.link.entry.clone()]));
                                }
                                if ui
                                    .add_enabled(idle, egui::Button::new("Pull"))
                                    .on_hover_text(format!(
                                        "Bring the database value of {} into the editor",
                                        d.link.entry
                                    ))
                                    .clicked()
                                {
                                    app.push(Command::DbPull(vec![d.link.entry.clone()]));
                                }
                            }
                        });
                        ui.label(&d.link.entry);
                        ui.label(match &d.state {
                            DriftState::InSync => "in sync".to_owned(),
                            DriftState::Differs { keys } => format!("differs: {}", keys.join(", ")),
                            DriftState::MissingInDatabase => "missing in database".to_owned(),
                            DriftState::Unreadable => "cannot decrypt".to_owned(),
                            DriftState::NotLinked => "not linked".to_owned(),
                        });
                        let how = match d.link.source {
                            LinkSource::Mapping => " (mapping)",
                            LinkSource::Default => "",
                            LinkSource::Discovered => " (discovered)",
                        };
                        ui.label(format!("{}{how}", d.link.token.as_deref().unwrap_or("-")));
                        ui.end_row();
                    }
                });
        });
}

fn settings(app: &mut GuiApp, ui: &mut egui::Ui) {
    egui::Grid::new("db-settings")
        .num_columns(2)
        .show(ui, |ui| {
            let label = ui.label("Connection string");
            // Only the secret is hidden: the server and database stay readable.
            let masked = k2cse_core::entry::display_any(&app.db.settings.connection, false);
            let id = ("\u{0}db".to_owned(), "connection".to_owned());
            let revealed = app.entries.editor.revealed.contains(&id);
            ui.horizontal(|ui| {
                if masked == app.db.settings.connection || revealed {
                    ui.add(
                        egui::TextEdit::singleline(&mut app.db.settings.connection)
                            .desired_width(460.0),
                    )
                    .labelled_by(label.id);
                } else {
                    ui.add(egui::Label::new(egui::RichText::new(&masked).monospace()).truncate())
                        .on_hover_text(&masked);
                }
                if masked != app.db.settings.connection {
                    let text = if revealed { "Hide" } else { "Show and edit" };
                    if ui.button(text).clicked() {
                        if revealed {
                            app.entries.editor.revealed.remove(&id);
                        } else {
                            app.entries.editor.revealed.insert(id);
                        }
                    }
                }
            });
            ui.end_row();
            let label = ui.label("SQL password");
            ui.add(
                egui::TextEdit::singleline(&mut app.db.settings.sql_password)
                    .password(true)
                    .hint_text("keyring or K2CSE_SQL_PASSWORD when empty")
                    .desired_width(320.0),
            )
            .labelled_by(label.id);
            ui.end_row();
            let label = ui.label("Master key password");
            ui.add(
                egui::TextEdit::singleline(&mut app.db.settings.master_key_password)
                    .password(true)
                    .hint_text("keyring or K2CSE_MASTER_KEY_PASSWORD when empty")
                    .desired_width(320.0),
            )
            .labelled_by(label.id);
            ui.end_row();
        });
    ui.horizontal(|ui| {
        ui.checkbox(
            &mut app.db.settings.trust_server_cert,
            "Trust the server certificate",
        );
        if ui
            .add_enabled(!app.is_busy(), egui::Button::new("Connect"))
            .clicked()
        {
            app.push(Command::DbRefresh);
        }
        if ui
            .button("Remember passwords")
            .on_hover_text("Store the typed passwords in the OS keyring")
            .clicked()
        {
            app.push(Command::RememberPasswords);
        }
    });
}
