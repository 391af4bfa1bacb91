//! Frame time of the editor with 100 and 10,000 entries while idle, typing a filter and
//! scrolling the list: the CPU time of one egui frame (layout and the app's `show`), measured
//! headless with `egui_kittest` (no GPU; rendering is not included).
//!
//! `cargo bench -p k2cse-gui --bench frames -- [--json FILE]`; bench/gui.sh runs it and records
//! the result in docs/performance.md. Target: under 16 ms per frame at 10,000 entries.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::fmt::Write as _;
use std::time::Instant;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use k2cse_gui::jobs::Mode;
use k2cse_gui::{GuiApp, Options};

/// A K2-shaped config with `n` EWS entries (the shape of `bench/gen_config.py`).
fn config(n: usize) -> String {
    let mut s = String::from(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<configuration>\r\n  <connectionStrings>\r\n    <add name=\"HostserverDB\" connectionString=\"Data Source=SQL01;Initial Catalog=K2;Integrated Security=True\" />\r\n",
    );
    for i in 0..n {
        let mailbox = format!("user{i:05}@denallix.com");
        let value = if i % 2 == 1 {
            format!(
                "Autodiscover=False;OAuth Resource=EWS;OAuth Resource Audience=https://outlook.office365.com;User ID={mailbox}"
            )
        } else {
            format!(
                "Autodiscover=False;URL=https://mail.denallix.com/EWS/Exchange.asmx;User ID=DENALLIX\\svc{i:05};Password=Pw{i:05}!;Poll Interval=1M"
            )
        };
        let _ = write!(
            s,
            "    <add name=\"SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:{mailbox}\" connectionString=\"{value}\" />\r\n"
        );
    }
    s.push_str("  </connectionStrings>\r\n</configuration>\r\n");
    s
}

#[derive(Default)]
struct Times(Vec<f64>);

impl Times {
    fn frame(&mut self, h: &mut Harness<'_, GuiApp>) {
        let start = Instant::now();
        h.step();
        self.0.push(start.elapsed().as_secs_f64() * 1000.0);
    }

    fn summary(&mut self) -> (f64, f64, f64) {
        self.0.sort_by(f64::total_cmp);
        let at = |q: f64| self.0[((self.0.len() - 1) as f64 * q).round() as usize];
        (at(0.5), at(0.95), at(1.0))
    }
}

/// Undo and redo (Ctrl+Z, Ctrl+Y) five times each: the frames that handle the shortcut.
fn undo_redo(h: &mut Harness<'_, GuiApp>) -> (Times, Times) {
    let mut undoing = Times::default();
    let mut redoing = Times::default();
    h.hover_at(egui::pos2(200.0, 400.0));
    for _ in 0..5 {
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
        undoing.frame(h);
        h.step();
    }
    assert!(h.state().workspace().unwrap().can_redo());
    for _ in 0..5 {
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Y);
        redoing.frame(h);
        h.step();
    }
    (undoing, redoing)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let json_out = args
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let mut rows = Vec::new();
    println!(
        "{:>7} {:<20} {:>10} {:>10} {:>10}",
        "entries", "scenario", "median ms", "p95 ms", "max ms"
    );
    for n in [100usize, 10_000] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("K2HostServer.exe.config");
        std::fs::write(&path, config(n)).unwrap();
        // Opening: reading and checking the file, then the first complete frame.
        let mut opening = Times::default();
        let start = Instant::now();
        let app = GuiApp::new(&Options {
            config: Some(path),
            jobs: Mode::Inline,
            ..Options::default()
        });
        let mut h = Harness::builder()
            .with_size(egui::vec2(1280.0, 800.0))
            .with_max_steps(64)
            .build_ui_state(|ui, app: &mut GuiApp| app.show(ui), app);
        h.step();
        opening.0.push(start.elapsed().as_secs_f64() * 1000.0);
        h.run();
        assert_eq!(h.state().workspace().unwrap().rows().len(), n + 1);

        let mut idle = Times::default();
        for _ in 0..100 {
            idle.frame(&mut h);
        }

        let mut typing = Times::default();
        h.get_by_label("Filter").focus();
        h.step();
        for _ in 0..5 {
            for c in "user0123".chars() {
                h.get_by_label("Filter").type_text(&c.to_string());
                typing.frame(&mut h);
            }
            for _ in 0.."user0123".len() {
                h.key_press(egui::Key::Backspace);
                typing.frame(&mut h);
            }
        }

        // Select the first EWS entry (its editor has a Poll Interval field).
        h.get_by_label(
            "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:user00000@denallix.com",
        )
        .click();
        h.run();
        let mut scrolling = Times::default();
        h.hover_at(egui::pos2(200.0, 400.0));
        for i in 0..200 {
            let down = if (i / 100) % 2 == 0 { -40.0 } else { 40.0 };
            h.event(egui::Event::MouseWheel {
                unit: egui::MouseWheelUnit::Point,
                delta: egui::vec2(0.0, down),
                phase: egui::TouchPhase::Move,
                source: egui::MouseWheelSource::Unknown,
                modifiers: egui::Modifiers::NONE,
            });
            scrolling.frame(&mut h);
        }

        // Committing an edit re-checks the edited entry on the UI thread.
        let mut editing = Times::default();
        for i in 0..10 {
            h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Poll Interval")
                .focus();
            h.step();
            h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Poll Interval")
                .type_text(&i.to_string());
            h.step();
            h.key_press(egui::Key::Enter);
            editing.frame(&mut h);
            h.step();
        }
        assert!(h.state().workspace().unwrap().is_dirty());

        let (mut undoing, mut redoing) = undo_redo(&mut h);

        for (scenario, times) in [
            ("opening the file", &mut opening),
            ("idle", &mut idle),
            ("typing a filter", &mut typing),
            ("scrolling", &mut scrolling),
            ("committing an edit", &mut editing),
            ("undo (Ctrl+Z)", &mut undoing),
            ("redo (Ctrl+Y)", &mut redoing),
        ] {
            let (median, p95, max) = times.summary();
            println!("{n:>7} {scenario:<20} {median:>10.2} {p95:>10.2} {max:>10.2}");
            rows.push(format!("{{\"entries\": {n}, \"scenario\": \"{scenario}\", \"median_ms\": {median:.3}, \"p95_ms\": {p95:.3}, \"max_ms\": {max:.3}, \"frames\": {}}}", times.0.len()));
        }
    }
    if let Some(path) = json_out {
        std::fs::write(path, format!("[\n  {}\n]\n", rows.join(",\n  "))).unwrap();
    }
}
