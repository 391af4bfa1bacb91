//! Goal 6 of issue #15, measured as the goal states it: the editor with a K2-shaped config of
//! 100 and 10,000 entries (`bench/gen_config.py`), each frame laid out by egui, tessellated and
//! rendered on the CPU (wgpu on Mesa's lavapipe, a software Vulkan rasteriser; the bench refuses
//! a GPU adapter unless `K2CSE_BENCH_ANY_ADAPTER=1`).
//!
//! Scenarios: opening the file (from starting to load it on the loading thread, as the program
//! does, to the first rendered frame whose list shows its entries); idle; typing a filter;
//! scrolling the list with the mouse wheel; committing an edit; undo (Ctrl+Z) and redo (Ctrl+Y)
//! of value edits and of removing an entry (which re-checks the whole section). A measured
//! frame is `Harness::step` (input, layout, the app's own work) plus `Harness::render`
//! (tessellation, the lavapipe render pass and reading the image back, which a window does not
//! need: an upper bound for the window's frame).
//!
//! `cargo bench -p k2cse-gui --bench frames -- --config N=FILE... [--json FILE] [--no-dithering]`; bench/gui.sh
//! generates the files and records the result in docs/performance.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use eframe::egui_wgpu;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use egui_kittest::wgpu::{WgpuTestRenderer, create_render_state, default_wgpu_setup};
use k2cse_gui::jobs::Mode;
use k2cse_gui::{GuiApp, Options};

const EWS: &str = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection";

#[derive(Default)]
struct Times(Vec<f64>);

impl Times {
    /// One frame: egui's pass, then rendering it on the CPU.
    fn frame(&mut self, h: &mut Harness<'_, GuiApp>) {
        let start = Instant::now();
        h.step();
        h.render().unwrap();
        self.0.push(start.elapsed().as_secs_f64() * 1000.0);
    }

    fn summary(&mut self) -> (f64, f64, f64) {
        self.0.sort_by(f64::total_cmp);
        let at = |q: f64| self.0[((self.0.len() - 1) as f64 * q).round() as usize];
        (at(0.5), at(0.95), at(1.0))
    }
}

/// A fresh wgpu renderer on the software adapter, and the adapter's name.
fn renderer() -> (WgpuTestRenderer, String) {
    // eframe's defaults, as the program runs (dithering on); `--no-dithering` measures without.
    let options = egui_wgpu::RendererOptions {
        dithering: !std::env::args().any(|a| a == "--no-dithering"),
        ..egui_wgpu::RendererOptions::default()
    };
    let state = create_render_state(default_wgpu_setup(), options);
    let info = state.adapter.get_info();
    let name = format!("{} ({:?}, {})", info.name, info.backend, info.driver_info);
    assert!(
        info.device_type == egui_wgpu::wgpu::DeviceType::Cpu
            || std::env::var_os("K2CSE_BENCH_ANY_ADAPTER").is_some(),
        "goal 6 is about CPU rendering, but wgpu chose {name} ({:?})",
        info.device_type
    );
    (WgpuTestRenderer::from_render_state(state), name)
}

/// Opens `path` as the program does (on the loading thread) and steps and renders frames
/// until one shows the list; returns the harness and the time from starting to load.
fn open(path: &Path, first_entry: &str) -> (Harness<'static, GuiApp>, f64, String) {
    let (renderer, adapter) = renderer();
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
        .build_ui_state(|ui, app: &mut GuiApp| app.show(ui), app);
    loop {
        h.step();
        if h.query_all_by_label(first_entry).next().is_some() {
            h.render().unwrap();
            break;
        }
        h.render().unwrap();
        assert!(start.elapsed() < Duration::from_mins(10), "never opened");
        // The window waits for the loading thread's repaint; 2 ms of polling stands for it.
        std::thread::sleep(Duration::from_millis(2));
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    (h, ms, adapter)
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
fn undo_redo(h: &mut Harness<'_, GuiApp>) -> (Times, Times) {
    let mut undoing = Times::default();
    let mut redoing = Times::default();
    h.hover_at(egui::pos2(200.0, 400.0));
    for _ in 0..6 {
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
        undoing.frame(h);
        h.step();
    }
    assert!(h.state().workspace().unwrap().can_redo());
    for _ in 0..6 {
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Y);
        redoing.frame(h);
        h.step();
    }
    assert!(!h.state().workspace().unwrap().can_redo());
    (undoing, redoing)
}

#[allow(clippy::too_many_lines)] // one scenario after the other, in the order a user works
fn measure(n: usize, path: &Path, rows: &mut Vec<String>, adapter_out: &mut String) {
    let first = format!("{EWS}:user00000@denallix.com");
    // Opening: three fresh starts; the last one goes on.
    let mut opening = Times::default();
    let mut last = None;
    for _ in 0..3 {
        let (h, ms, adapter) = open(path, &first);
        opening.0.push(ms);
        *adapter_out = adapter;
        last = Some(h);
    }
    let mut h = last.unwrap();
    h.run();
    assert_eq!(h.state().workspace().unwrap().rows().len(), n + 1);

    let mut idle = Times::default();
    for _ in 0..50 {
        idle.frame(&mut h);
    }

    let mut typing = Times::default();
    h.get_by_label("Filter").focus();
    h.step();
    for _ in 0..3 {
        for c in "user0123".chars() {
            h.get_by_label("Filter").type_text(&c.to_string());
            typing.frame(&mut h);
        }
        for _ in 0.."user0123".len() {
            h.key_press(egui::Key::Backspace);
            typing.frame(&mut h);
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
        scrolling.frame(&mut h);
    }
    h.run();

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
        h.run();
    }
    // Removing the entry: undoing and redoing it re-checks the whole section.
    h.get_by_label("Remove…").click();
    h.run();
    h.get_by_label("Remove").click();
    h.run();
    assert_eq!(h.state().workspace().unwrap().rows().len(), n);

    let (mut undoing, mut redoing) = undo_redo(&mut h);
    assert_eq!(h.state().workspace().unwrap().rows().len(), n);

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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| -> Vec<String> {
        args.windows(2)
            .filter(|w| w[0] == flag)
            .map(|w| w[1].clone())
            .collect()
    };
    let json_out = value("--json").pop();
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
    println!(
        "{:>7} {:<20} {:>10} {:>10} {:>10}",
        "entries", "scenario", "median ms", "p95 ms", "max ms"
    );
    for (n, path) in &configs {
        measure(*n, path, &mut rows, &mut adapter);
    }
    println!("renderer: {adapter}");
    if let Some(path) = json_out {
        std::fs::write(&path, format!("[\n  {}\n]\n", rows.join(",\n  "))).unwrap();
        let info = Path::new(&path).with_extension("renderer");
        std::fs::write(info, format!("{adapter}\n")).unwrap();
    }
}
