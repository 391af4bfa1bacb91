//! The editor of one entry: a typed field per key the kind knows (checkbox, combo box,
//! validated text, masked password with a reveal toggle, poll-interval presets), raw rows for
//! keys it does not know, and each lint finding next to the field it concerns.

use k2cse_core::Change;
use k2cse_core::edit::Values;
use k2cse_core::entry::Entry;
use k2cse_core::entry::schema::{KeySpec, ValueType};
use k2cse_core::lint::{Diagnostic, Severity};

use crate::app::{Dialog, GuiApp};
use crate::commands::Command;

/// The editor's own state: what is being typed and not applied yet, and which secrets are
/// shown.
#[derive(Debug, Default)]
pub struct EditorState {
    /// Text typed into a field, by (entry, key), until it is applied (focus lost or Enter).
    pub(crate) drafts: std::collections::HashMap<(String, String), String>,
    /// Secrets shown in clear, by (entry, key).
    pub(crate) revealed: std::collections::HashSet<(String, String)>,
}

/// Draws the selected entry's editor.
pub fn show(app: &mut GuiApp, ui: &mut egui::Ui) {
    let Some(name) = app.entries.selected.clone() else {
        ui.label("Select an entry on the left, or add one.");
        return;
    };
    let Some(entry) = app.ws.as_ref().and_then(|w| w.entry(&name)) else {
        ui.label(format!("No entry named {name}."));
        return;
    };
    let findings: Vec<Diagnostic> = app
        .ws
        .as_ref()
        .map(|w| w.diagnostics(&name).into_iter().cloned().collect())
        .unwrap_or_default();
    let mut changes = Vec::new();
    header(app, ui, &entry);
    // One reserved line for the entry's own findings, there or not: nothing below moves.
    let whole: Vec<&Diagnostic> = findings.iter().filter(|d| d.key.is_none()).collect();
    finding_line(ui, &whole, ui.available_width());
    ui.separator();
    // A narrow editor puts each key's name above its field, so that field, Unset and finding
    // stay in view at 380 px; a wide one lines them up in columns.
    let stacked = ui.available_width() < STACK_BELOW;
    let field_width = if stacked {
        (ui.available_width() - 240.0).clamp(110.0, 320.0)
    } else {
        260.0
    };
    ui.data_mut(|d| d.insert_temp(field_width_id(), (field_width, stacked)));
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            match (&entry.parsed, entry.kind.spec()) {
                (Err(_), _) => raw_string(app, ui, &entry, &mut changes),
                (Ok(_), Some(spec)) => {
                    key_rows(ui, "known-keys", stacked, |ui| {
                        for key in spec.keys {
                            known_key(app, ui, &entry, key, &findings, &mut changes);
                        }
                    });
                    other_keys(app, ui, &entry, &findings, &mut changes, Some(spec.keys));
                }
                (Ok(_), None) => other_keys(app, ui, &entry, &findings, &mut changes, None),
            }
            ui.separator();
            ui.label("Connection string");
            let shown = entry.display_value(false).unwrap_or_default();
            ui.add(egui::Label::new(egui::RichText::new(shown).monospace()).wrap());
        });
    for change in changes {
        app.push(Command::Apply(change));
    }
}

fn field_width_id() -> egui::Id {
    egui::Id::unique("k2cse-field-width")
}

/// Below this width the editor stacks each key's name above its field.
const STACK_BELOW: f32 = 640.0;

fn field_width(ui: &egui::Ui) -> f32 {
    ui.data(|d| d.get_temp::<(f32, bool)>(field_width_id()))
        .map_or(260.0, |(w, _)| w)
}

fn stacked(ui: &egui::Ui) -> bool {
    ui.data(|d| d.get_temp::<(f32, bool)>(field_width_id()))
        .is_some_and(|(_, s)| s)
}

/// The keys in three columns (name, field, Unset), or stacked one under the other.
fn key_rows(ui: &mut egui::Ui, id: &str, stacked: bool, add: impl FnOnce(&mut egui::Ui)) {
    if stacked {
        ui.vertical(add);
    } else {
        egui::Grid::new(id)
            .num_columns(3)
            .spacing([12.0, 6.0])
            .show(ui, add);
    }
}

/// Ends a key's row: Unset (or the default) in its own column, or nothing when stacked.
fn end_key(ui: &mut egui::Ui, stacked: bool, unset: impl FnOnce(&mut egui::Ui)) {
    if stacked {
        ui.add_space(4.0);
    } else {
        ui.horizontal(unset);
        ui.end_row();
    }
}

fn header(app: &mut GuiApp, ui: &mut egui::Ui, entry: &Entry) {
    ui.add(egui::Label::new(egui::RichText::new(entry.name.as_str()).heading()).truncate())
        .on_hover_text(entry.name.as_str());
    ui.horizontal_wrapped(|ui| {
        ui.label(
            entry
                .kind
                .spec()
                .map_or("Unknown type: keys are edited as they are", |s| s.title),
        );
        ui.separator();
        let name = entry.name.as_str().to_owned();
        if ui.button("Rename…").clicked() {
            app.push(Command::Show(Dialog::Rename {
                from: name.clone(),
                to: name.clone(),
                duplicate: false,
                error: None,
                understood: false,
            }));
        }
        if ui.button("Duplicate…").clicked() {
            app.push(Command::Show(Dialog::Rename {
                from: name.clone(),
                to: format!("{name} (copy)"),
                duplicate: true,
                error: None,
                understood: false,
            }));
        }
        if ui.button("Remove…").clicked() {
            app.push(Command::Show(Dialog::Remove {
                name,
                understood: false,
            }));
        }
    });
}

/// A line reserved for findings, drawn whether there are any or not, so that a finding
/// appearing moves nothing under the mouse: the first finding (cut to the line), how many more,
/// and on hover every finding with its hint.
fn finding_line(ui: &mut egui::Ui, findings: &[&Diagnostic], width: f32) {
    let height = ui.text_style_height(&egui::TextStyle::Body);
    let size = egui::vec2(width.max(40.0), height);
    // Exactly this rectangle, whatever is drawn in it.
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let Some(first) = findings.first() else {
        return;
    };
    let color = match first.severity {
        Severity::Error => ui.visuals().error_fg_color,
        Severity::Warning => ui.visuals().warn_fg_color,
        Severity::Info => ui.visuals().text_color(),
    };
    let more = match findings.len() {
        1 => String::new(),
        n => format!(" (+{} more)", n - 1),
    };
    let text = format!(
        "{} {}: {}{more}",
        first.code,
        first.severity.label(),
        first.message
    );
    let details = findings
        .iter()
        .map(|d| {
            format!(
                "{} {}: {}\nWhat to do: {}",
                d.code,
                d.severity.label(),
                d.message,
                d.hint
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    ui.put(
        rect,
        egui::Label::new(egui::RichText::new(text).color(color))
            .truncate()
            .halign(egui::Align::Min),
    )
    .on_hover_text(details);
}

/// The value .NET sees for `spec` (under any of its spellings) and the key as written.
fn current<'e>(entry: &'e Entry, spec: &KeySpec) -> Option<(&'e str, &'e str)> {
    entry
        .pairs()
        .into_iter()
        .rev()
        .find(|(k, _)| spec.matches(k))
}

fn set(name: &str, key: &str, value: &str) -> Change {
    if value.is_empty() {
        Change::Unset {
            name: name.to_owned(),
            keys: vec![key.to_owned()],
        }
    } else {
        Change::Set {
            name: name.to_owned(),
            values: Values::from_pairs([(key, value)]),
        }
    }
}

fn known_key(
    app: &mut GuiApp,
    ui: &mut egui::Ui,
    entry: &Entry,
    spec: &KeySpec,
    findings: &[Diagnostic],
    changes: &mut Vec<Change>,
) {
    let name = entry.name.as_str();
    let (written_key, value) =
        current(entry, spec).map_or((spec.name, None), |(k, v)| (k, Some(v)));
    let stacked = stacked(ui);
    let label = ui.label(spec.name).on_hover_text(spec.description);
    let mine: Vec<&Diagnostic> = findings
        .iter()
        .filter(|d| d.key.as_deref().is_some_and(|k| spec.matches(k)))
        .collect();
    let unset = |ui: &mut egui::Ui, changes: &mut Vec<Change>| {
        if value.is_some() {
            if ui
                .small_button("Unset")
                .on_hover_text(format!("Remove {} from the connection string", spec.name))
                .clicked()
            {
                changes.push(Change::Unset {
                    name: name.to_owned(),
                    keys: vec![written_key.to_owned()],
                });
            }
        } else if let Some(default) = spec.default {
            ui.label(egui::RichText::new(format!("default: {default}")).weak());
        }
    };
    ui.vertical(|ui| {
        ui.horizontal(|ui| {
            value_widget(app, ui, entry, spec, written_key, value, label.id, changes);
            if stacked {
                unset(ui, changes);
            }
        });
        finding_line(ui, &mine, field_width(ui) + 110.0);
    });
    end_key(ui, stacked, |ui| unset(ui, changes));
}

/// The input for one known key, by its type.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site; the pieces of one grid row"
)]
fn value_widget(
    app: &mut GuiApp,
    ui: &mut egui::Ui,
    entry: &Entry,
    spec: &KeySpec,
    written_key: &str,
    value: Option<&str>,
    label: egui::Id,
    changes: &mut Vec<Change>,
) {
    let name = entry.name.as_str();
    match spec.value_type {
        ValueType::Bool => {
            let default = spec.default.is_some_and(|d| d.eq_ignore_ascii_case("true"));
            let mut on = value.map_or(default, |v| v.trim().eq_ignore_ascii_case("true"));
            if ui.checkbox(&mut on, spec.name).changed() {
                changes.push(set(name, written_key, if on { "True" } else { "False" }));
            }
        }
        ValueType::Enum { values } => {
            let shown = value.unwrap_or("(not set)").to_owned();
            let combo = egui::ComboBox::from_id_salt((name, spec.name))
                .selected_text(&shown)
                .show_ui(ui, |ui| {
                    for v in values {
                        if ui
                            .selectable_label(value.is_some_and(|c| c.eq_ignore_ascii_case(v)), *v)
                            .clicked()
                        {
                            changes.push(set(name, written_key, v));
                        }
                    }
                });
            combo.response.labelled_by(label);
        }
        ValueType::Secret => {
            let id = (name.to_owned(), spec.name.to_owned());
            let revealed = app.entries.editor.revealed.contains(&id);
            if let Some(new) = text_field(
                app,
                ui,
                name,
                spec.name,
                value.unwrap_or_default(),
                !revealed,
                label,
            ) {
                changes.push(set(name, written_key, &new));
            }
            if ui
                .button(if revealed { "Hide" } else { "Show" })
                .on_hover_text("Show or hide the password")
                .clicked()
            {
                if revealed {
                    app.entries.editor.revealed.remove(&id);
                } else {
                    app.entries.editor.revealed.insert(id);
                }
            }
        }
        ValueType::Interval => {
            if let Some(new) = text_field(
                app,
                ui,
                name,
                spec.name,
                value.unwrap_or_default(),
                false,
                label,
            ) {
                changes.push(set(name, written_key, &new));
            }
            let presets = ui.label("Presets");
            let combo = egui::ComboBox::from_id_salt((name, "interval-presets"))
                .selected_text("…")
                .show_ui(ui, |ui| {
                    for (text, v) in [
                        ("30 seconds", "30S"),
                        ("1 minute", "1M"),
                        ("5 minutes", "5M"),
                        ("15 minutes", "15M"),
                        ("1 hour", "1H"),
                    ] {
                        if ui.selectable_label(false, text).clicked() {
                            changes.push(set(name, written_key, v));
                        }
                    }
                });
            combo.response.labelled_by(presets.id);
        }
        ValueType::Text | ValueType::Url | ValueType::Account | ValueType::Int { .. } => {
            if let Some(new) = text_field(
                app,
                ui,
                name,
                spec.name,
                value.unwrap_or_default(),
                false,
                label,
            ) {
                changes.push(set(name, written_key, &new));
            }
        }
    }
}

/// A single-line field whose edits are applied when it loses focus (or on Enter).
fn text_field(
    app: &mut GuiApp,
    ui: &mut egui::Ui,
    entry: &str,
    key: &str,
    current: &str,
    password: bool,
    label: egui::Id,
) -> Option<String> {
    let id = (entry.to_owned(), key.to_owned());
    let mut text = app
        .entries
        .editor
        .drafts
        .get(&id)
        .cloned()
        .unwrap_or_else(|| current.to_owned());
    let response = ui
        .add(
            egui::TextEdit::singleline(&mut text)
                .password(password)
                .desired_width(field_width(ui))
                .id_salt(("field", entry, key)),
        )
        .labelled_by(label);
    if response.changed() {
        app.entries.editor.drafts.insert(id.clone(), text.clone());
    }
    if response.lost_focus() {
        app.entries.editor.drafts.remove(&id);
        if text != current {
            return Some(text);
        }
    }
    None
}

fn other_keys(
    app: &mut GuiApp,
    ui: &mut egui::Ui,
    entry: &Entry,
    findings: &[Diagnostic],
    changes: &mut Vec<Change>,
    known: Option<&[KeySpec]>,
) {
    let name = entry.name.as_str();
    let others: Vec<(String, String)> = entry
        .pairs()
        .into_iter()
        .filter(|(k, _)| known.is_none_or(|specs| !specs.iter().any(|s| s.matches(k))))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    if known.is_some() && !others.is_empty() {
        ui.separator();
        ui.label(egui::RichText::new("Other keys").strong());
    }
    let stacked = stacked(ui);
    key_rows(ui, "other-keys", stacked, |ui| {
        for (key, value) in &others {
            let label = ui.label(key);
            let secret = entry.is_secret(key)
                && !app
                    .entries
                    .editor
                    .revealed
                    .contains(&(name.to_owned(), key.clone()));
            let mine: Vec<&Diagnostic> = findings
                .iter()
                .filter(|d| {
                    d.key
                        .as_deref()
                        .is_some_and(|k| k2cse_core::connstr::same_key(k, key))
                })
                .collect();
            let unset = |ui: &mut egui::Ui, changes: &mut Vec<Change>| {
                if ui
                    .small_button("Unset")
                    .on_hover_text(format!("Remove {key} from the connection string"))
                    .clicked()
                {
                    changes.push(Change::Unset {
                        name: name.to_owned(),
                        keys: vec![key.clone()],
                    });
                }
            };
            ui.vertical(|ui| {
                ui.horizontal(|ui| {
                    if let Some(new) = text_field(app, ui, name, key, value, secret, label.id) {
                        changes.push(set(name, key, &new));
                    }
                    if stacked {
                        unset(ui, changes);
                    }
                });
                finding_line(ui, &mine, field_width(ui) + 110.0);
            });
            end_key(ui, stacked, |ui| unset(ui, changes));
        }
    });
    ui.horizontal(|ui| {
        let id = (name.to_owned(), "\u{0}new-key".to_owned());
        let mut draft = app
            .entries
            .editor
            .drafts
            .get(&id)
            .cloned()
            .unwrap_or_default();
        let label = ui.label("New key=value");
        let response = ui
            .add(
                egui::TextEdit::singleline(&mut draft)
                    .hint_text("Key=Value")
                    .desired_width(field_width(ui)),
            )
            .labelled_by(label.id);
        if response.changed() {
            app.entries.editor.drafts.insert(id.clone(), draft.clone());
        }
        let enter = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Add key").clicked() || enter) && draft.contains('=') {
            if let Some((k, v)) = draft.split_once('=') {
                changes.push(set(name, k.trim(), v));
            }
            app.entries.editor.drafts.remove(&id);
        }
    });
}

/// A connection string .NET cannot parse: edited as a whole.
fn raw_string(app: &mut GuiApp, ui: &mut egui::Ui, entry: &Entry, changes: &mut Vec<Change>) {
    ui.label("This connection string does not parse; edit it as text:");
    let label = ui.label("Connection string text");
    let name = entry.name.as_str();
    if let Some(new) = text_field(
        app,
        ui,
        name,
        "\u{0}raw",
        entry.value.as_deref().unwrap_or_default(),
        false,
        label.id,
    ) {
        changes.push(Change::Replace {
            name: name.to_owned(),
            connection_string: new,
        });
    }
}
