//! The entry list: grouped by kind with counts, filtered, and drawn row by row so that
//! 10,000 entries cost what the visible rows cost.

use std::collections::HashSet;

use k2cse_core::entry::{KINDS, Kind};

use crate::app::{Dialog, GuiApp};
use crate::commands::Command;
use crate::workspace::EntryRow;

/// A line of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// A kind's header with how many entries match.
    Header(Kind, usize),
    /// An entry (index into the workspace's rows).
    Entry(usize),
}

/// The filtered, grouped lines, rebuilt only when the entries or the filter change.
#[derive(Debug, Default)]
pub struct ListCache {
    /// "Name contains".
    pub(crate) filter: String,
    key: Option<((u64, u64), String, usize)>,
    lines: Vec<Line>,
    collapsed: HashSet<Kind>,
}

fn title(kind: Kind) -> &'static str {
    kind.spec().map_or("Other entries", |s| s.title)
}

fn rebuild(app: &mut GuiApp) {
    let Some(ws) = &app.ws else { return };
    let key = (
        ws.revision(),
        app.entries.list.filter.clone(),
        app.entries.list.collapsed.len(),
    );
    if app.entries.list.key.as_ref() == Some(&key) {
        return;
    }
    let needle = app.entries.list.filter.to_lowercase();
    let mut lines = Vec::new();
    let order = KINDS.iter().map(|k| k.kind).chain([Kind::Other]);
    for kind in order {
        let matching: Vec<usize> = ws
            .rows()
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.kind == kind && (needle.is_empty() || r.name.to_lowercase().contains(&needle))
            })
            .map(|(i, _)| i)
            .collect();
        if matching.is_empty() {
            continue;
        }
        lines.push(Line::Header(kind, matching.len()));
        if !app.entries.list.collapsed.contains(&kind) {
            lines.extend(matching.into_iter().map(Line::Entry));
        }
    }
    app.entries.list.lines = lines;
    app.entries.list.key = Some(key);
}

/// Draws the list.
pub fn show(app: &mut GuiApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let label = ui.label("Filter");
        ui.add(
            egui::TextEdit::singleline(&mut app.entries.list.filter)
                .hint_text("name contains…")
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    });
    ui.horizontal(|ui| {
        if ui.button("Add entry…").clicked() {
            app.push(Command::Show(Dialog::Add {
                kind: 0,
                type_name: String::new(),
                entity: String::new(),
                error: None,
            }));
        }
        if let Some(ws) = &app.ws {
            ui.label(format!("{} entries", ws.rows().len()));
        }
    });
    ui.separator();
    rebuild(app);
    let row_height = ui.spacing().interact_size.y;
    let lines = app.entries.list.lines.clone();
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, row_height, lines.len(), |ui, range| {
            for line in &lines[range] {
                match *line {
                    Line::Header(kind, count) => {
                        let collapsed = app.entries.list.collapsed.contains(&kind);
                        // ASCII: the default fonts have no triangle glyphs.
                        let arrow = if collapsed { "+" } else { "-" };
                        if ui
                            .selectable_label(
                                false,
                                egui::RichText::new(format!("{arrow} {} ({count})", title(kind)))
                                    .strong(),
                            )
                            .clicked()
                        {
                            if collapsed {
                                app.entries.list.collapsed.remove(&kind);
                            } else {
                                app.entries.list.collapsed.insert(kind);
                            }
                        }
                    }
                    Line::Entry(i) => {
                        let Some(row) = app.ws.as_ref().and_then(|w| w.rows().get(i)).cloned()
                        else {
                            continue;
                        };
                        ui.horizontal(|ui| entry_row(app, ui, &row));
                    }
                }
            }
        });
}

/// One entry: its mailbox (the type is the group's title), cut with an ellipsis to the list's
/// width, the full name on hover and for screen readers; then its lint counts.
fn entry_row(app: &mut GuiApp, ui: &mut egui::Ui, row: &EntryRow) {
    ui.add_space(12.0);
    let selected = app
        .entries
        .selected
        .as_deref()
        .is_some_and(|s| k2cse_core::entry::eq_ignore_case(s, &row.name));
    let badges: Vec<(egui::Color32, String)> = [
        (row.errors, "error", ui.visuals().error_fg_color),
        (row.warnings, "warning", ui.visuals().warn_fg_color),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, what, color)| (color, plural(n, what)))
    .collect();
    // Room for the badges first, so that a long name is what gets cut.
    let badge_width: f32 = badges
        .iter()
        .map(|(_, text)| {
            ui.fonts_mut(|f| {
                f.layout_no_wrap(
                    text.clone(),
                    egui::TextStyle::Small.resolve(ui.style()),
                    egui::Color32::WHITE,
                )
                .size()
                .x
            }) + ui.spacing().item_spacing.x
        })
        .sum();
    let width = (ui.available_width() - badge_width).max(40.0);
    let response = ui
        .scope(|ui| {
            ui.set_max_width(width);
            ui.add(egui::Button::selectable(selected, shown_name(row)).truncate())
        })
        .inner;
    let name = row.name.clone();
    response.widget_info(|| {
        egui::WidgetInfo::selected(egui::Role::Button, true, selected, name.clone())
    });
    if response.on_hover_text(&row.name).clicked() {
        app.push(Command::Select(row.name.clone()));
    }
    for (color, text) in badges {
        ui.colored_label(color, egui::RichText::new(text).small());
    }
}

/// What the list shows for an entry under its type's group: the entity (mailbox) when the
/// type is a known one, else the whole name.
fn shown_name(row: &EntryRow) -> &str {
    match row.name.split_once(':') {
        Some((_, entity)) if row.kind != Kind::Other && !entity.is_empty() => entity,
        _ => &row.name,
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
