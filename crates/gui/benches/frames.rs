//! Goal 6 of issue #15, the app's side: the editor with a K2-shaped config of 100 and 10,000
//! entries (`bench/gen_config.py`) driven by `egui_kittest`, each frame timed phase by phase:
//! the app's own drawing (`GuiApp::show`), the whole egui pass around it (`Harness::step`:
//! input, layout, `end_pass`, and kittest's AccessKit tree update), tessellation, the raster on
//! the CPU (wgpu on Mesa's lavapipe, a software Vulkan rasteriser; the bench refuses a GPU
//! adapter unless `K2CSE_BENCH_ANY_ADAPTER=1`), and reading the image back, which kittest does
//! and a window does not (`frames/timed.rs`). What a user sees is measured on the real window
//! by bench/gui.sh (the `K2CSE_FRAME_LOG` probe).
//!
//! Scenarios: opening the file (from starting to load it on the loading thread, as the program
//! does, to the first rendered frame whose list shows its entries); idle; typing a filter;
//! scrolling the list with the mouse wheel; committing an edit; undo (Ctrl+Z) and redo (Ctrl+Y)
//! of value edits and of removing an entry (which re-checks the whole section).
//!
//! `cargo bench -p k2cse-gui --bench frames -- --config N=FILE... [--json FILE] [--targets FILE]
//! [--no-dithering]`; bench/gui.sh generates the files and records the result in
//! docs/performance.md. `--targets` writes where the Poll Interval field and the Remove…
//! button are in the 1280×800 window, for the real-window driver.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

#[path = "frames/timed.rs"]
mod timed;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use k2cse_gui::jobs::Mode;
use k2cse_gui::{GuiApp, Options};
use timed::{Phases, TimedRenderer};

const EWS: &str = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection";

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// One measured frame, in milliseconds.
#[derive(Debug, Default, Clone, Copy)]
struct Frame {
    /// `Harness::step` and `Harness::render`: what this bench waits for.
    whole: f64,
    /// `GuiApp::show`, summed over the frame's passes.
    app: f64,
    /// `Harness::step`: egui's passes (one per queued event) with the app in them.
    pass: f64,
    phases: Phases,
}

/// Where the harness's closure and renderer leave their clocks.
#[derive(Clone)]
struct Clocks {
    app: Arc<Mutex<f64>>,
    phases: Arc<Mutex<Phases>>,
}

#[derive(Default)]
struct Times(Vec<Frame>);

impl Times {
    /// One frame: egui's pass, then rendering it on the CPU.
    fn frame(&mut self, h: &mut Harness<'_, GuiApp>, clocks: &Clocks) {
        *clocks.app.lock().unwrap() = 0.0;
        let start = Instant::now();
        h.step();
        let pass = ms(start);
        h.render().unwrap();
        self.0.push(Frame {
            whole: ms(start),
            app: *clocks.app.lock().unwrap(),
            pass,
            phases: *clocks.phases.lock().unwrap(),
        });
    }

    /// Median, 95th percentile and maximum of one figure.
    fn summary(&self, figure: impl Fn(&Frame) -> f64) -> [f64; 3] {
        let mut v: Vec<f64> = self.0.iter().map(figure).collect();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        [at(0.5), at(0.95), at(1.0)]
    }
}

/// The figures of a row: the name in the JSON and how to read it from a frame.
type Figure = (&'static str, fn(&Frame) -> f64);
const FIGURES: [Figure; 6] = [
    ("whole", |f| f.whole),
    ("app", |f| f.app),
    ("pass", |f| f.pass),
    ("tessellate", |f| f.phases.tessellate),
    ("raster", |f| f.phases.raster),
    ("readback", |f| f.phases.readback),
];

/// Opens `path` as the program does (on the loading thread) and steps and renders frames
/// until one shows the list; returns the harness, its clocks, the time from starting to
/// load, and the adapter's name.
fn open(path: &Path, first_entry: &str) -> (Harness<'static, GuiApp>, Clocks, f64, String) {
    let state = timed::render_state();
    let info = state.adapter.get_info();
    let adapter = format!("{} ({:?}, {})", info.name, info.backend, info.driver_info);
    assert!(
        info.device_type == eframe::egui_wgpu::wgpu::DeviceType::Cpu
            || std::env::var_os("K2CSE_BENCH_ANY_ADAPTER").is_some(),
        "goal 6 is about CPU rendering, but wgpu chose {adapter} ({:?})",
        info.device_type
    );
    let (renderer, phases) = TimedRenderer::new(state);
    let clocks = Clocks {
        app: Arc::new(Mutex::new(0.0)),
        phases,
    };
    let app_clock = Arc::clone(&clocks.app);
    let start = Instant::now();
    let app = GuiApp::new(&Options {
        config: Some(path.to_owned()),
        jobs: Mode::Threaded,
        ..Options::default()
    });
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_max_steps(64)
        .renderer(renderer)
        .build_ui_state(
            move |ui, app: &mut GuiApp| {
                let start = Instant::now();
                app.show(ui);
                *app_clock.lock().unwrap() += ms(start);
            },
            app,
        );
    loop {
        h.step();
        let shown = h.query_all_by_label(first_entry).next().is_some();
        h.render().unwrap();
        if shown {
            break;
        }
        assert!(start.elapsed() < Duration::from_mins(10), "never opened");
        // The window waits for the loading thread's repaint; 2 ms of polling stands for it.
        std::thread::sleep(Duration::from_millis(2));
    }
    (h, clocks, ms(start), adapter)
}

fn wheel(h: &mut Harness<'_, GuiApp>, down: f32) {
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, down),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: egui::Modifiers::NONE,
    });
}

/// Undo and redo (Ctrl+Z, Ctrl+Y) six times each: the removal and the last five value
/// edits, then back; the frames that handle the shortcut.
fn undo_redo(h: &mut Harness<'_, GuiApp>, clocks: &Clocks) -> (Times, Times) {
    let mut undoing = Times::default();
    let mut redoing = Times::default();
    h.hover_at(egui::pos2(200.0, 400.0));
    for _ in 0..6 {
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
        undoing.frame(h, clocks);
        h.step();
    }
    assert!(h.state().workspace().unwrap().can_redo());
    for _ in 0..6 {
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Y);
        redoing.frame(h, clocks);
        h.step();
    }
    assert!(!h.state().workspace().unwrap().can_redo());
    (undoing, redoing)
}

/// The centre of a widget, for the real-window driver.
fn centre(h: &Harness<'_, GuiApp>, role: Role, label: &str) -> String {
    let c = h.get_by_role_and_label(role, label).rect().center();
    format!("[{:.0}, {:.0}]", c.x, c.y)
}

#[allow(clippy::too_many_lines)] // one scenario after the other, in the order a user works
fn measure(
    n: usize,
    path: &Path,
    rows: &mut Vec<String>,
    adapter_out: &mut String,
    targets: &mut String,
) {
    let first = format!("{EWS}:user00000@denallix.com");
    // Opening: three fresh starts; the last one goes on.
    let mut opening = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let (h, clocks, ms, adapter) = open(path, &first);
        opening.push(ms);
        *adapter_out = adapter;
        last = Some((h, clocks));
    }
    let (mut h, clocks) = last.unwrap();
    h.run();
    assert_eq!(h.state().workspace().unwrap().rows().len(), n + 1);

    let mut idle = Times::default();
    for _ in 0..50 {
        idle.frame(&mut h, &clocks);
    }

    let mut typing = Times::default();
    h.get_by_label("Filter").focus();
    h.step();
    for _ in 0..3 {
        for c in "user0123".chars() {
            h.get_by_label("Filter").type_text(&c.to_string());
            typing.frame(&mut h, &clocks);
        }
        for _ in 0.."user0123".len() {
            h.key_press(egui::Key::Backspace);
            typing.frame(&mut h, &clocks);
        }
    }
    h.run();

    // Select the first EWS entry (its editor has a Poll Interval field).
    h.get_by_label(&first).click();
    h.run();
    let mut scrolling = Times::default();
    h.hover_at(egui::pos2(200.0, 400.0));
    for i in 0..200 {
        // Down a page at a time, then back up.
        wheel(&mut h, if i < 100 { -200.0 } else { 200.0 });
        scrolling.frame(&mut h, &clocks);
    }
    h.run();

    // Committing an edit re-checks the edited entry on the UI thread.
    let poll = centre(&h, Role::TextInput, "Poll Interval");
    let mut editing = Times::default();
    for i in 0..10 {
        h.get_by_role_and_label(Role::TextInput, "Poll Interval")
            .focus();
        h.step();
        h.get_by_role_and_label(Role::TextInput, "Poll Interval")
            .type_text(&i.to_string());
        h.step();
        h.key_press(egui::Key::Enter);
        editing.frame(&mut h, &clocks);
        h.run();
    }
    // Removing the entry: undoing and redoing it re-checks the whole section.
    let remove = centre(&h, Role::Button, "Remove…");
    h.get_by_label("Remove…").click();
    h.run();
    let confirm = centre(&h, Role::Button, "Remove");
    h.get_by_label("Remove").click();
    h.run();
    assert_eq!(h.state().workspace().unwrap().rows().len(), n);
    *targets = format!(
        "{{\"poll_interval\": {poll}, \"remove\": {remove}, \"confirm_remove\": {confirm}, \"list\": [200, 400]}}\n"
    );

    let (undoing, redoing) = undo_redo(&mut h, &clocks);
    assert_eq!(h.state().workspace().unwrap().rows().len(), n);

    let o = {
        let mut v = opening.clone();
        v.sort_by(f64::total_cmp);
        v
    };
    println!(
        "{n:>7} {:<20} median {:>9.1} max {:>9.1}",
        "opening the file", o[1], o[2]
    );
    rows.push(format!(
        "{{\"entries\": {n}, \"scenario\": \"opening the file\", \"frames\": 3, \"whole\": [{:.3}, {:.3}, {:.3}]}}",
        o[1], o[2], o[2]
    ));
    for (scenario, times) in [
        ("idle", &idle),
        ("typing a filter", &typing),
        ("scrolling", &scrolling),
        ("committing an edit", &editing),
        ("undo (Ctrl+Z)", &undoing),
        ("redo (Ctrl+Y)", &redoing),
    ] {
        let mut row = format!(
            "{{\"entries\": {n}, \"scenario\": \"{scenario}\", \"frames\": {}",
            times.0.len()
        );
        let mut line = format!("{n:>7} {scenario:<20}");
        for (name, figure) in FIGURES {
            let [median, p95, max] = times.summary(figure);
            let _ = write!(row, ", \"{name}\": [{median:.3}, {p95:.3}, {max:.3}]");
            let _ = write!(line, " {name} {median:>7.2}/{max:>7.2}");
        }
        row.push('}');
        println!("{line}");
        rows.push(row);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| -> Vec<String> {
        args.windows(2)
            .filter(|w| w[0] == flag)
            .map(|w| w[1].clone())
            .collect()
    };
    let json_out = value("--json").pop();
    let targets_out = value("--targets").pop();
    let configs: Vec<(usize, PathBuf)> = value("--config")
        .iter()
        .map(|c| {
            let (n, path) = c.split_once('=').expect("--config N=FILE");
            (n.parse().expect("--config N=FILE"), PathBuf::from(path))
        })
        .collect();
    assert!(
        !configs.is_empty(),
        "--config N=FILE (bench/gen_config.py N FILE writes one)"
    );
    let mut rows = Vec::new();
    let mut adapter = String::new();
    let mut targets = String::new();
    println!(
        "milliseconds per frame, median/max: whole frame, app (GuiApp::show), egui pass (Harness::step), tessellation, raster, readback"
    );
    for (n, path) in &configs {
        measure(*n, path, &mut rows, &mut adapter, &mut targets);
    }
    println!("renderer: {adapter}");
    if let Some(path) = json_out {
        std::fs::write(&path, format!("[\n  {}\n]\n", rows.join(",\n  "))).unwrap();
        let info = Path::new(&path).with_extension("renderer");
        std::fs::write(info, format!("{adapter}\n")).unwrap();
    }
    if let Some(path) = targets_out {
        std::fs::write(path, targets).unwrap();
    }
}
