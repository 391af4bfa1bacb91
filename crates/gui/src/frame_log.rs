//! A frame-time probe for `bench/gui.sh`: with `K2CSE_FRAME_LOG=FILE` the program writes one
//! line per egui pass to FILE, so that the benchmark can measure the real window (opening,
//! scrolling, undo and redo) as a user sees it. Off by default: without the variable nothing is
//! registered and nothing is measured.
//!
//! While it logs, the probe asks for the next frame at the end of every pass, so frames follow
//! each other back to back: the time from one pass's start to the next one's is then that
//! frame's whole cost (input, the egui pass with the app's own work, tessellation, painting and
//! presenting), which eframe gives no hook for after presenting.
//!
//! A line is `wall_us pass_us events revision rows`: when the pass started (microseconds since
//! the Unix epoch, so that a driver can compare it with when it started the program), how long
//! the egui pass took (input, layout, the app's work, `end_pass`), what input it handled
//! (`wheel`, `undo`, `redo`, `key`, `click`, `text`, or `-`), and the open file's revision and
//! entry count as drawn (`-` before a file is open).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The environment variable that turns the probe on.
pub const ENV: &str = "K2CSE_FRAME_LOG";

/// The probe, registered as an egui plugin.
pub struct FrameLog {
    out: BufWriter<File>,
    started: Option<(Instant, SystemTime)>,
    events: String,
    shown: Option<(u64, usize)>,
}

impl std::fmt::Debug for FrameLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameLog")
            .field("shown", &self.shown)
            .finish_non_exhaustive()
    }
}

/// Whether the environment asks for the probe.
pub fn requested() -> bool {
    std::env::var_os(ENV).is_some_and(|v| !v.is_empty())
}

/// Registers the probe on `ctx` when [`ENV`] names a file (created or appended to).
///
/// # Errors
/// The file cannot be opened.
pub fn install(ctx: &egui::Context) -> std::io::Result<()> {
    let Some(path) = std::env::var_os(ENV).filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let file = File::options()
        .create(true)
        .append(true)
        .open(Path::new(&path))?;
    ctx.add_plugin(FrameLog {
        out: BufWriter::new(file),
        started: None,
        events: String::new(),
        shown: None,
    });
    Ok(())
}

/// Tells the probe (if any) what this pass drew: the open file's revision and entry count.
pub fn shown(ctx: &egui::Context, file: Option<(u64, usize)>) {
    ctx.with_plugin(|log: &mut FrameLog| log.shown = file);
}

/// A short word for each kind of input in `events`, comma-separated (`-` for none).
fn describe(events: &[egui::Event]) -> String {
    let mut words: Vec<&str> = Vec::new();
    for event in events {
        let word = match event {
            egui::Event::MouseWheel { .. } => "wheel",
            egui::Event::Key {
                key,
                pressed: true,
                modifiers,
                ..
            } if modifiers.command && (*key == egui::Key::Y || *key == egui::Key::Z) => {
                if *key == egui::Key::Y || modifiers.shift {
                    "redo"
                } else {
                    "undo"
                }
            }
            egui::Event::Key { pressed: true, .. } => "key",
            egui::Event::PointerButton { pressed: true, .. } => "click",
            egui::Event::Text(_) => "text",
            _ => continue,
        };
        if !words.contains(&word) {
            words.push(word);
        }
    }
    if words.is_empty() {
        "-".to_owned()
    } else {
        words.join(",")
    }
}

impl egui::Plugin for FrameLog {
    fn debug_name(&self) -> &'static str {
        "k2cse frame log"
    }

    fn input_hook(&mut self, _ctx: &egui::Context, input: &mut egui::RawInput) {
        self.started = Some((Instant::now(), SystemTime::now()));
        self.events = describe(&input.events);
    }

    fn on_begin_pass(&mut self, ui: &mut egui::Ui) {
        // Back-to-back frames while logging (see the module's comment).
        ui.ctx().request_repaint();
    }

    fn output_hook(&mut self, _ctx: &egui::Context, _output: &mut egui::FullOutput) {
        let Some((start, wall)) = self.started.take() else {
            return;
        };
        let pass = start.elapsed().as_micros();
        let wall = wall
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros();
        let mut line = format!("{wall} {pass} {}", self.events);
        match self.shown {
            Some((revision, rows)) => {
                let _ = writeln!(line, " {revision} {rows}");
            }
            None => line.push_str(" - -\n"),
        }
        // A probe must not stop the program: a failed write loses the line, nothing else.
        let _ = self
            .out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.flush());
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn input_is_named_by_what_the_benchmark_measures() {
        let key = |key, command, shift| egui::Event::Key {
            key,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers: egui::Modifiers {
                command,
                ctrl: command,
                shift,
                ..egui::Modifiers::NONE
            },
        };
        assert_eq!(describe(&[]), "-");
        assert_eq!(describe(&[key(egui::Key::Z, true, false)]), "undo");
        assert_eq!(describe(&[key(egui::Key::Z, true, true)]), "redo");
        assert_eq!(describe(&[key(egui::Key::Y, true, false)]), "redo");
        assert_eq!(
            describe(&[
                key(egui::Key::Z, false, false),
                egui::Event::Text("z".into()),
                key(egui::Key::A, false, false),
            ]),
            "key,text"
        );
    }
}
