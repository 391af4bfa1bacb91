//! `k2cse-gui [--config PATH | --demo] [--key-file PATH] [--renderer auto|wgpu|glow]`
// A desktop program: no console window on Windows (the console of a parent shell is attached
// below, so --help and errors still reach it).
#![windows_subsystem = "windows"]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use k2cse_gui::renderer::{RendererChoice, glow_retry_args};
use k2cse_gui::{GuiApp, Options};

/// The k2cse desktop editor for K2 connection strings.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The config file [default: ./K2HostServer.exe.config, then the K2 install folder].
    #[arg(long, short = 'c', env = "K2CSE_CONFIG")]
    config: Option<PathBuf>,
    /// Open a copy of the bundled sample and a simulated K2 database.
    #[arg(long, conflicts_with = "config")]
    demo: bool,
    /// The key of an encrypted section (`aspnet_regiis` -px export, or PEM).
    #[arg(long, short = 'k', env = "K2CSE_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Select this entry once the file is open.
    #[arg(long, value_name = "ENTRY")]
    select: Option<String>,
    /// Graphics: wgpu (Direct3D 12, with the WARP software fallback on Windows), glow
    /// (OpenGL), or auto: wgpu, then glow if wgpu cannot start.
    #[arg(long, env = "K2CSE_GUI_RENDERER", value_enum, default_value_t)]
    renderer: RendererChoice,
}

fn main() -> ExitCode {
    attach_parent_console();
    let args = Args::parse();
    let renderer = args.renderer;
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if renderer.falls_back(&error) => retry_with_glow(&error),
        Err(error) => {
            report(&format!("k2cse-gui: {error}"));
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> eframe::Result {
    let options = Options {
        config: args.config,
        demo: args.demo,
        key_file: args.key_file,
        select: args.select,
        ..Options::default()
    };
    let native = eframe::NativeOptions {
        renderer: args.renderer.first(),
        viewport: egui::ViewportBuilder::default()
            .with_title("k2cse — K2 connection strings")
            .with_inner_size([1280.0, 800.0])
            .with_drag_and_drop(true),
        ..eframe::NativeOptions::default()
    };
    eframe::run_native(
        "k2cse-gui",
        native,
        Box::new(move |cc| {
            if let Err(e) = k2cse_gui::frame_log::install(&cc.egui_ctx) {
                report(&format!(
                    "k2cse-gui: {}: {e}; frame times are not logged",
                    k2cse_gui::frame_log::ENV
                ));
            }
            let mut app = GuiApp::new(&options);
            if let Some(recent) = cc
                .storage
                .and_then(|s| eframe::get_value::<Vec<PathBuf>>(s, "recent"))
                && app.recent().is_empty()
            {
                app.set_recent(recent);
            }
            Ok(Box::new(app))
        }),
    )
}

/// wgpu could not start: run this program again with glow and pass on its exit code.
fn retry_with_glow(error: &eframe::Error) -> ExitCode {
    report(&format!(
        "k2cse-gui: wgpu could not start ({error}); trying OpenGL (--renderer glow)"
    ));
    let status = std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe)
            .args(glow_retry_args(std::env::args_os().skip(1)))
            .status()
    });
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            report(&format!("k2cse-gui: cannot start again with glow: {e}"));
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stderr)] // the program's one error channel before a window exists
fn report(message: &str) {
    eprintln!("{message}");
}

/// A Windows-subsystem program starts without a console; when started from a shell, use the
/// shell's so `--help`, `--version` and errors are seen.
#[cfg(windows)]
#[allow(unsafe_code)] // one Win32 call with no pointers
fn attach_parent_console() {
    use windows_sys::Win32::System::Console::{ATTACH_PARENT_PROCESS, AttachConsole};
    // SAFETY: AttachConsole takes a process id and no pointers; failure (no parent console,
    // e.g. started from Explorer) leaves the process as it was.
    unsafe { AttachConsole(ATTACH_PARENT_PROCESS) };
}

#[cfg(not(windows))]
fn attach_parent_console() {}
