//! `k2cse-gui [--config PATH | --demo] [--key-file PATH] [--renderer wgpu|glow]`

use std::path::PathBuf;

use clap::Parser;
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
    /// Renderer: wgpu (default; Direct3D 12 with software fallback on Windows) or glow (OpenGL).
    #[arg(long, env = "K2CSE_GUI_RENDERER", default_value = "wgpu")]
    renderer: String,
}

fn main() -> eframe::Result {
    let args = Args::parse();
    let options = Options {
        config: args.config,
        demo: args.demo,
        key_file: args.key_file,
        select: args.select,
        ..Options::default()
    };
    let native = eframe::NativeOptions {
        renderer: if args.renderer == "glow" {
            eframe::Renderer::Glow
        } else {
            eframe::Renderer::Wgpu
        },
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
