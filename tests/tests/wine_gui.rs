//! The Windows `k2cse-gui.exe` under Wine on a virtual X display: it opens a real window with
//! the glow renderer, and with the default `auto` renderer it survives wgpu failing (Wine has no
//! working Direct3D 12 or Vulkan device here) by starting again with glow. Screenshots go to
//! `target/wine/`. Ignored by default; `scripts/wine-tests.sh` runs them.
#![allow(clippy::unwrap_used)]
// Wine runs on a Unix host; on Windows the programs run natively and the other suites cover them.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use k2cse_tests::wine::Wine;

/// Colours in a capture of the whole display: 1 when nothing is drawn.
fn colours_on_screen(png: &Path) -> u32 {
    let captured = std::process::Command::new("import")
        .args(["-window", "root"])
        .arg(png)
        .status()
        .unwrap();
    assert!(
        captured.success(),
        "import (ImageMagick) could not capture the display"
    );
    let out = std::process::Command::new("identify")
        .args(["-format", "%k"])
        .arg(png)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Waits until the display shows more than a blank screen (or stops, with `drawn = false`).
fn wait_for_screen(png: &Path, drawn: bool, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if (colours_on_screen(png) >= 16) == drawn {
            return true;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    false
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wine");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Stops the GUI (and a glow retry it started) and waits for the screen to clear, polling
/// through `png` (not the screenshot to keep).
fn stop(mut child: Child, png: &Path) {
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::process::Command::new("pkill")
        .args(["-f", "k2cse-gui.exe"])
        .status();
    assert!(
        wait_for_screen(png, false, Duration::from_secs(30)),
        "the window did not close"
    );
}

fn start(wine: &Wine, args: &[&str]) -> Child {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "DISPLAY is not set: scripts/wine-tests.sh starts Xvfb"
    );
    let dir = tempfile::tempdir().unwrap();
    wine.process(&wine.exe("k2cse-gui"), dir.path(), args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
#[ignore = "needs Wine and Xvfb: scripts/wine-tests.sh"]
fn the_gui_draws_its_window_with_glow_and_falls_back_to_glow_from_wgpu() {
    let wine = Wine::from_env();
    let shots = screenshots();

    let glow_png = shots.join("gui-glow.png");
    let child = start(&wine, &["--demo", "--renderer", "glow"]);
    let drawn = wait_for_screen(&glow_png, true, Duration::from_secs(90));
    stop(child, &shots.join("closing.png"));
    assert!(drawn, "no window with --renderer glow");

    let auto_png = shots.join("gui-auto.png");
    let mut child = start(&wine, &["--demo"]);
    let drawn = wait_for_screen(&auto_png, true, Duration::from_mins(2));
    let mut stderr = String::new();
    let pipe = child.stderr.take().unwrap();
    stop(child, &shots.join("closing.png"));
    std::io::Read::read_to_string(&mut { pipe }, &mut stderr).unwrap();
    assert!(
        drawn,
        "no window with the default renderer; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("trying OpenGL (--renderer glow)"),
        "wgpu worked under Wine, so the fallback was not exercised; stderr:\n{stderr}"
    );
}
