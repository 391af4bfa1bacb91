//! Modal dialogs: open, key, add, rename/duplicate, remove, save review, "also update the
//! database?", and the unsaved-changes guard.

use std::path::PathBuf;

use k2cse_core::edit::Values;

use crate::app::{Dialog, GuiApp};
use crate::commands::{Command, Pending};
use crate::entry_edits::EntryEdit;

/// The kinds offered by "Add entry", with the values a new entry starts with.
const ADD_KINDS: &[(&str, &str, bool)] = &[
    (
        "Exchange Web Services connection (mailbox K2 reads)",
        "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection",
        true,
    ),
    (
        "Exchange Web Services destination",
        "SourceCode.MessageBus.Ews.ExchangeWebServicesDestination",
        false,
    ),
    (
        "SMTP connection",
        "SourceCode.Net.Mail.SmtpConnection",
        false,
    ),
    ("Other (type name below)", "", false),
];

enum Next {
    Keep,
    Close,
}

/// Shows the open dialog, if any.
pub fn show(app: &mut GuiApp, ctx: &egui::Context) {
    let Some(mut dialog) = app.dialog.take() else {
        return;
    };
    let title = match &dialog {
        Dialog::Open { .. } => "Open a config file",
        Dialog::Key { .. } => "Encrypted connection strings",
        Dialog::Add { .. } => "Add entry",
        Dialog::Rename {
            duplicate: false, ..
        } => "Rename entry",
        Dialog::Rename {
            duplicate: true, ..
        } => "Duplicate entry",
        Dialog::Remove { .. } => "Remove entry",
        Dialog::SaveAs { .. } => "Save the new file as",
        Dialog::Review { .. } => "Review and save",
        Dialog::UpdateDatabase { .. } => "Also update the K2 database?",
        Dialog::Unsaved { .. } => "Unsaved changes",
        Dialog::RestoreBackup => "Restore the backup?",
    };
    // A fixed place and width: the top edge and the sides stay where they are while the
    // content changes (an error line, a longer name), so nothing moves under the mouse.
    let id = egui::Id::unique(("k2cse-dialog", title));
    let width = (ctx.content_rect().width() - 48.0).clamp(280.0, 760.0);
    let area = egui::Modal::default_area(id).anchor(egui::Align2::CENTER_TOP, [0.0, 72.0]);
    let modal = egui::Modal::new(id).area(area).show(ctx, |ui| {
        ui.set_width(width);
        ui.heading(title);
        ui.add_space(6.0);
        match &mut dialog {
            Dialog::Open { path } => open(app, ui, path),
            Dialog::Key {
                path,
                message,
                key_path,
            } => key(app, ui, path, message, key_path),
            Dialog::Add {
                kind,
                type_name,
                entity,
                error,
            } => add(app, ui, kind, type_name, entity, error),
            Dialog::Rename {
                from,
                to,
                duplicate,
                error,
                understood,
            } => rename(app, ui, from, to, *duplicate, error, understood),
            Dialog::Remove { name, understood } => remove(app, ui, name, understood),
            Dialog::SaveAs { path, error } => save_as(app, ui, path, error.as_deref()),
            Dialog::Review { review, raw } => review_and_save(app, ui, review, raw),
            Dialog::UpdateDatabase { offers, check } => update_database(app, ui, offers, check),
            Dialog::Unsaved { then } => unsaved(app, ui, then),
            Dialog::RestoreBackup => restore_backup(app, ui),
        }
    });
    let escaped = modal.should_close();
    if matches!(modal.inner, Next::Keep) && !escaped && app.dialog.is_none() {
        app.dialog = Some(dialog);
    } else if escaped && matches!(dialog, Dialog::Review { .. } | Dialog::SaveAs { .. }) {
        // The review was cancelled: what was waiting for the save does not happen either.
        app.push(Command::ReviewCancelled);
    }
}

/// A line kept for an error, shown or not, so that the buttons under it stay put.
fn error_line(ui: &mut egui::Ui, error: Option<&str>) {
    let size = egui::vec2(
        ui.available_width(),
        ui.text_style_height(&egui::TextStyle::Body),
    );
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    if let Some(e) = error {
        ui.put(
            rect,
            egui::Label::new(egui::RichText::new(e).color(ui.visuals().error_fg_color))
                .truncate()
                .halign(egui::Align::Min),
        )
        .on_hover_text(e);
    }
}

/// The main button and Cancel; Enter presses the main button when it is enabled (Esc
/// cancels every dialog).
fn buttons(ui: &mut egui::Ui, ok: &str, enabled: bool) -> (bool, bool) {
    ui.add_space(8.0);
    let (ok, cancel) = ui
        .horizontal(|ui| {
            (
                ui.add_enabled(enabled, egui::Button::new(ok)).clicked(),
                ui.button("Cancel").clicked(),
            )
        })
        .inner;
    (ok || (enabled && enter_pressed(ui)), cancel)
}

/// Enter was pressed this frame (also as it leaves a single-line field).
fn enter_pressed(ui: &egui::Ui) -> bool {
    ui.input(|i| i.key_pressed(egui::Key::Enter))
}

/// The review's table: each changed entry, then each of its keys as `old → new`.
fn change_table(ui: &mut egui::Ui, entries: &[crate::review::EntryChange]) {
    use crate::review::EntryChangeKind;
    if entries.is_empty() {
        ui.label("No entry changes: only the file's layout (see the raw diff).");
        return;
    }
    for change in entries {
        let what = match change.kind {
            EntryChangeKind::Added => "added",
            EntryChangeKind::Removed => "removed",
            EntryChangeKind::Changed => "changed",
        };
        ui.add(
            egui::Label::new(egui::RichText::new(format!("{} ({what})", change.entry)).strong())
                .truncate(),
        )
        .on_hover_text(&change.entry);
        egui::Grid::new(("review", &change.entry))
            .num_columns(2)
            .spacing([16.0, 4.0])
            .striped(true)
            .show(ui, |ui| {
                for key in &change.keys {
                    ui.label(format!("    {}", key.key));
                    let text = match (&key.old, &key.new) {
                        (Some(old), Some(new)) => format!("{old} → {new}"),
                        (None, Some(new)) => format!("+ {new}  (key added)"),
                        (Some(old), None) => format!("− {old}  (key removed)"),
                        (None, None) => String::new(),
                    };
                    ui.label(egui::RichText::new(text).monospace());
                    ui.end_row();
                }
            });
        ui.add_space(4.0);
    }
}

fn open(app: &mut GuiApp, ui: &mut egui::Ui, path: &mut String) -> Next {
    let label = ui.label("Path of K2HostServer.exe.config");
    ui.horizontal(|ui| {
        ui.add(egui::TextEdit::singleline(path).desired_width(520.0))
            .labelled_by(label.id);
        if ui.button("Browse…").clicked()
            && let Some(p) = rfd::FileDialog::new()
                .add_filter("Config files", &["config"])
                .pick_file()
        {
            *path = p.display().to_string();
        }
    });
    let (ok, cancel) = buttons(ui, "Open", !path.trim().is_empty());
    if ok {
        app.push(Command::Proceed(Pending::Open(PathBuf::from(path.trim()))));
        return Next::Close;
    }
    if cancel { Next::Close } else { Next::Keep }
}

fn save_as(app: &mut GuiApp, ui: &mut egui::Ui, path: &mut String, error: Option<&str>) -> Next {
    ui.label("The new file has not been saved yet. Where should it go? (An existing file is never overwritten.)");
    let label = ui.label("Path of the new config file");
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(path)
                .desired_width(520.0)
                .hint_text("K2HostServer.exe.config"),
        )
        .labelled_by(label.id);
        if ui.button("Browse…").clicked()
            && let Some(p) = rfd::FileDialog::new()
                .add_filter("Config files", &["config"])
                .set_file_name("K2HostServer.exe.config")
                .save_file()
        {
            *path = p.display().to_string();
        }
    });
    error_line(ui, error);
    let (ok, cancel) = buttons(ui, "Save", !path.trim().is_empty() && !app.is_busy());
    if ok {
        app.push(Command::SaveAs(PathBuf::from(path.trim())));
        return Next::Close;
    }
    if cancel {
        app.push(Command::ReviewCancelled);
        return Next::Close;
    }
    Next::Keep
}

fn key(
    app: &mut GuiApp,
    ui: &mut egui::Ui,
    path: &std::path::Path,
    message: &str,
    key_path: &mut String,
) -> Next {
    ui.label(message);
    ui.label("On the K2 server: aspnet_regiis -px \"K2ConfigurationKey\" k2key.xml -pri — then choose that file here.");
    let label = ui.label("Key file");
    ui.horizontal(|ui| {
        ui.add(egui::TextEdit::singleline(key_path).desired_width(520.0))
            .labelled_by(label.id);
        if ui.button("Browse…").clicked()
            && let Some(p) = rfd::FileDialog::new()
                .add_filter("Key files", &["xml", "pem"])
                .pick_file()
        {
            *key_path = p.display().to_string();
        }
    });
    let (ok, cancel) = buttons(ui, "Open with this key", !key_path.trim().is_empty());
    if ok {
        app.push(Command::UseKeyFile(PathBuf::from(key_path.trim())));
        app.push(Command::Proceed(Pending::Open(path.to_owned())));
        return Next::Close;
    }
    if cancel { Next::Close } else { Next::Keep }
}

fn add(
    app: &mut GuiApp,
    ui: &mut egui::Ui,
    kind: &mut usize,
    type_name: &mut String,
    entity: &mut String,
    error: &mut Option<String>,
) -> Next {
    let kind_label = ui.label("Type");
    let combo = egui::ComboBox::from_id_salt("add-kind")
        .selected_text(ADD_KINDS[*kind].0)
        .width(420.0)
        .show_ui(ui, |ui| {
            for (i, (title, _, _)) in ADD_KINDS.iter().enumerate() {
                ui.selectable_value(kind, i, *title);
            }
        });
    combo.response.labelled_by(kind_label.id);
    let (title, fixed_type, entity_required) = ADD_KINDS[*kind];
    if fixed_type.is_empty() {
        let label = ui.label("Type name");
        ui.add(egui::TextEdit::singleline(type_name).desired_width(420.0))
            .labelled_by(label.id);
    }
    let label = ui.label(if entity_required {
        "Mailbox (entity, required)"
    } else {
        "Mailbox (entity, optional)"
    });
    ui.add(
        egui::TextEdit::singleline(entity)
            .desired_width(420.0)
            .hint_text("k2service@example.com"),
    )
    .labelled_by(label.id);
    let type_name = if fixed_type.is_empty() {
        type_name.trim().to_owned()
    } else {
        fixed_type.to_owned()
    };
    let name = if entity.trim().is_empty() {
        type_name.clone()
    } else {
        format!("{type_name}:{}", entity.trim())
    };
    ui.add(egui::Label::new(egui::RichText::new(format!("Name: {name}")).monospace()).truncate());
    error_line(ui, error.as_deref());
    let valid = !type_name.is_empty() && (!entity_required || !entity.trim().is_empty());
    let (ok, cancel) = buttons(ui, "Add", valid);
    if ok {
        let values = match title {
            t if t.starts_with("Exchange Web Services") => {
                Values::from_pairs([("Autodiscover", "True"), ("User ID", entity.trim())])
            }
            t if t.starts_with("SMTP") => Values::from_pairs([("Port", "25")]),
            _ => Values::default(),
        };
        *error = None;
        app.push(Command::Entry(EntryEdit::Add { name, values }));
    }
    if cancel { Next::Close } else { Next::Keep }
}

/// The second question before `HostserverDB` goes (removed or renamed): K2 reads its own
/// database connection from it and does not start without it (the vendor tool disables
/// Delete for it). Returns whether the action may go ahead.
fn second_question(ui: &mut egui::Ui, name: &str, what: &str, understood: &mut bool) -> bool {
    if !name.eq_ignore_ascii_case("HostserverDB") {
        return true;
    }
    ui.colored_label(
        ui.visuals().error_fg_color,
        format!(
            "HostserverDB is K2's own database connection: without it the K2 service does not start. {what} it only to repair a duplicate or a wrong name."
        ),
    );
    ui.checkbox(
        understood,
        format!("{what} HostserverDB anyway: K2 will not start until it has one again"),
    );
    *understood
}

#[allow(
    clippy::too_many_arguments,
    reason = "the dialog's fields, passed as they are"
)]
fn rename(
    app: &mut GuiApp,
    ui: &mut egui::Ui,
    from: &str,
    to: &mut String,
    duplicate: bool,
    error: &mut Option<String>,
    understood: &mut bool,
) -> Next {
    ui.label(format!(
        "{} {from}",
        if duplicate { "Copy of" } else { "Rename" }
    ));
    let label = ui.label("New name");
    ui.add(egui::TextEdit::singleline(to).desired_width(520.0))
        .labelled_by(label.id);
    error_line(ui, error.as_deref());
    let allowed = duplicate || second_question(ui, from, "Rename", understood);
    let (ok, cancel) = buttons(
        ui,
        if duplicate { "Duplicate" } else { "Rename" },
        allowed && !to.trim().is_empty() && to.trim() != from,
    );
    if ok {
        *error = None;
        let (from, to) = (from.to_owned(), to.trim().to_owned());
        app.push(Command::Entry(if duplicate {
            EntryEdit::Duplicate { from, to }
        } else {
            EntryEdit::Rename { from, to }
        }));
    }
    if cancel { Next::Close } else { Next::Keep }
}

fn remove(app: &mut GuiApp, ui: &mut egui::Ui, name: &str, understood: &mut bool) -> Next {
    ui.label(format!("Remove {name}? You can undo this until you save."));
    let allowed = second_question(ui, name, "Remove", understood);
    let (ok, cancel) = buttons(ui, "Remove", allowed);
    if ok {
        app.push(Command::Entry(EntryEdit::Remove {
            name: name.to_owned(),
        }));
    }
    if cancel { Next::Close } else { Next::Keep }
}

fn review_and_save(
    app: &mut GuiApp,
    ui: &mut egui::Ui,
    review: &crate::workspace::Review,
    raw: &mut bool,
) -> Next {
    ui.label("What changes (passwords masked). A backup is taken first; the file is replaced atomically.");
    let switched = ui
        .horizontal(|ui| {
            let table = ui.selectable_value(raw, false, "Changes").changed();
            table | ui.selectable_value(raw, true, "Raw diff").changed()
        })
        .inner;
    if switched {
        ui.ctx().request_repaint();
    }
    // A fixed height, whichever tab: the buttons below stay where they are.
    let height = (ui.ctx().content_rect().height() - 340.0).clamp(120.0, 360.0);
    egui::ScrollArea::vertical()
        .min_scrolled_height(height)
        .max_height(height)
        .auto_shrink([false, false])
        .id_salt(("review", *raw))
        .show(ui, |ui| {
            if *raw {
                diff_lines(ui, &review.diff);
            } else {
                change_table(ui, &review.entries);
            }
        });
    let errors = review.check.introduced_errors();
    for d in &errors {
        ui.colored_label(
            ui.visuals().error_fg_color,
            format!(
                "{} {}: {}",
                d.code,
                d.entry.as_deref().unwrap_or("-"),
                d.message
            ),
        );
    }
    for d in &review.check.resolved {
        ui.label(format!(
            "fixed: {} {}",
            d.code,
            d.entry.as_deref().unwrap_or("-")
        ));
    }
    if !errors.is_empty() {
        ui.label("These errors would break K2: fix them, or save anyway.");
    }
    ui.add_space(8.0);
    let (save, anyway, cancel) = ui
        .horizontal(|ui| {
            // A save while another task runs would wait for nothing: it is refused, so the
            // button says so by being disabled (the running task shows in the status bar).
            let idle = !app.is_busy();
            let save = ui
                .add_enabled(errors.is_empty() && idle, egui::Button::new("Save"))
                .clicked();
            let anyway = !errors.is_empty()
                && ui
                    .add_enabled(idle, egui::Button::new("Save anyway"))
                    .clicked();
            (save, anyway, ui.button("Cancel").clicked())
        })
        .inner;
    // Enter saves when Save is the way (no new errors: "Save anyway" wants a click).
    let enter = errors.is_empty() && !app.is_busy() && enter_pressed(ui);
    if save || anyway || enter {
        app.push(Command::Save { force: anyway });
        return Next::Close;
    }
    if cancel {
        app.push(Command::ReviewCancelled);
        return Next::Close;
    }
    Next::Keep
}

/// A unified diff, one monospace label per line, additions green and removals red.
pub(crate) fn diff_lines(ui: &mut egui::Ui, diff: &str) {
    for line in diff.lines() {
        let color = match line.as_bytes().first() {
            Some(b'+') if !line.starts_with("+++") => egui::Color32::from_rgb(0x2e, 0xa0, 0x43),
            Some(b'-') if !line.starts_with("---") => ui.visuals().error_fg_color,
            _ => ui.visuals().text_color(),
        };
        ui.label(egui::RichText::new(line).monospace().color(color));
    }
}

fn restore_backup(app: &mut GuiApp, ui: &mut egui::Ui) -> Next {
    let Some(inspected) = &app.backups.inspected else {
        return Next::Close;
    };
    let files = inspected
        .plan
        .files
        .iter()
        .filter(|f| f.is_changed())
        .count();
    let rows = inspected.rows.len();
    ui.label(format!(
        "Restore {} from {}?",
        match (files > 0, rows > 0) {
            (true, true) => format!("the config file and {rows} database row(s)"),
            (true, false) => "the config file".to_owned(),
            _ => format!("{rows} database row(s)"),
        },
        inspected.path.display()
    ));
    ui.label(if rows > 0 && files > 0 {
        "The current state is backed up first. The rows are written in one transaction and the file is replaced inside it: if anything fails, both stay as they are now."
    } else if rows > 0 {
        "The current rows are backed up first, then written in one transaction: if anything fails, they stay as they are now."
    } else {
        "The current file is backed up first, then replaced in one step: if anything fails, it stays as it is now."
    });
    let (ok, cancel) = buttons(ui, "Restore", !app.is_busy());
    if ok {
        app.push(Command::BackupRestore);
        return Next::Close;
    }
    if cancel { Next::Close } else { Next::Keep }
}

fn update_database(
    app: &mut GuiApp,
    ui: &mut egui::Ui,
    offers: &mut [crate::after_save::Offer],
    check: &crate::after_save::TokenCheck,
) -> Next {
    use crate::after_save::TokenCheck;
    ui.label(match check {
        TokenCheck::Checked => "The file is saved. In the K2 database, the tokens of these entries still hold the old values; write the new values there too?".to_owned(),
        TokenCheck::Unreachable(why) => format!("The file is saved. K2 may keep these connection strings as tokens in its database, but k2cse could not check which of them have one: {why} Write the new values there too? (An entry without a token is left alone.)"),
        TokenCheck::NoConnection => "The file is saved. K2 may keep these connection strings as tokens in its database, but no database connection is known (no HostserverDB entry, none set in the Database view), so k2cse cannot tell which have one. Set the connection in the Database view to update them.".to_owned(),
    });
    egui::ScrollArea::vertical()
        .max_height(300.0)
        .id_salt("offers")
        .show(ui, |ui| {
            for offer in offers.iter_mut() {
                ui.checkbox(&mut offer.checked, offer.entry.as_str());
                let token = offer.token.as_deref().map_or_else(
                    || "its token, if it has one (found when connecting)".to_owned(),
                    ToOwned::to_owned,
                );
                ui.indent(("offer", offer.entry.as_str()), |ui| {
                    ui.label(format!("writes into {token}:"));
                    ui.label(egui::RichText::new(&offer.value).monospace());
                });
            }
        });
    if *check == TokenCheck::NoConnection {
        let (open, cancel) = buttons(ui, "Database view…", true);
        if open {
            app.push(Command::View(crate::app::View::Database));
            return Next::Close;
        }
        return if cancel { Next::Close } else { Next::Keep };
    }
    if app.db.snapshot.is_none() {
        let server = app.db.settings.server();
        let server = if server.is_empty() {
            "the database named in HostserverDB".to_owned()
        } else {
            server
        };
        ui.label(format!(
            "k2cse connects to {server} to do it (one checked transaction; the rows are backed up first)."
        ));
    } else {
        ui.label("In one checked transaction; the rows are backed up first.");
    }
    let chosen: Vec<String> = offers
        .iter()
        .filter(|o| o.checked)
        .map(|o| o.entry.clone())
        .collect();
    let (ok, cancel) = buttons(ui, "Update database", !chosen.is_empty() && !app.is_busy());
    if ok {
        app.push(Command::DbPush(chosen));
        return Next::Close;
    }
    if cancel { Next::Close } else { Next::Keep }
}

fn unsaved(app: &mut GuiApp, ui: &mut egui::Ui, then: &Pending) -> Next {
    ui.label("The file has unsaved changes.");
    ui.label(then.describe());
    ui.add_space(8.0);
    let (save, discard, cancel) = ui
        .horizontal(|ui| {
            (
                ui.button("Review and save…").clicked(),
                ui.button("Discard changes").clicked(),
                ui.button("Cancel").clicked(),
            )
        })
        .inner;
    if save {
        app.push(Command::SaveThen(then.clone()));
        return Next::Close;
    }
    if discard {
        app.push(Command::Proceed(then.clone()));
        return Next::Close;
    }
    if cancel { Next::Close } else { Next::Keep }
}
