//! Which graphics back end draws the window, and what to do when it cannot start.
//!
//! wgpu is the default everywhere: on Windows it uses Direct3D 12, which falls back to the
//! WARP software rasterizer on servers without a GPU (the usual K2 server VM, or an RDP
//! session). glow (OpenGL) needs OpenGL 2 or later, which plain Windows Server does not have
//! without a vendor driver, but which Mesa provides on Linux and Wine. `auto` starts wgpu and,
//! when wgpu cannot create a device, starts the program again with glow: winit allows one event
//! loop per process, so the second try must be a new process.

use std::ffi::{OsStr, OsString};

/// The `--renderer` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RendererChoice {
    /// wgpu, and glow if wgpu cannot start.
    #[default]
    Auto,
    /// wgpu only (Direct3D 12 / WARP on Windows, Vulkan or OpenGL elsewhere).
    Wgpu,
    /// glow (OpenGL) only.
    Glow,
}

impl RendererChoice {
    /// The eframe renderer to try first.
    pub fn first(self) -> eframe::Renderer {
        match self {
            Self::Auto | Self::Wgpu => eframe::Renderer::Wgpu,
            Self::Glow => eframe::Renderer::Glow,
        }
    }

    /// Whether a failure of the first renderer should start the program again with glow.
    pub fn falls_back(self, error: &eframe::Error) -> bool {
        self == Self::Auto && matches!(error, eframe::Error::Wgpu(_))
    }
}

/// The command-line arguments (without the program name) for the glow retry: the user's own,
/// with any `--renderer` choice replaced by `--renderer glow`.
pub fn glow_retry_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut kept = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == OsStr::new("--renderer") {
            args.next(); // its value
            continue;
        }
        if arg.to_str().is_some_and(|a| a.starts_with("--renderer=")) {
            continue;
        }
        kept.push(arg);
    }
    kept.extend([OsString::from("--renderer"), OsString::from("glow")]);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_retry_keeps_the_user_arguments_and_forces_glow() {
        assert_eq!(
            glow_retry_args(os(&[
                "--config",
                "a.config",
                "--renderer",
                "auto",
                "--demo"
            ])),
            os(&["--config", "a.config", "--demo", "--renderer", "glow"])
        );
        assert_eq!(
            glow_retry_args(os(&["--renderer=wgpu"])),
            os(&["--renderer", "glow"])
        );
        assert_eq!(glow_retry_args(os(&[])), os(&["--renderer", "glow"]));
    }

    #[test]
    fn only_auto_falls_back_and_only_from_wgpu_errors() {
        let winit = eframe::Error::AppCreation("app failed".into());
        assert!(!RendererChoice::Auto.falls_back(&winit));
        assert_eq!(RendererChoice::default().first(), eframe::Renderer::Wgpu);
        assert_eq!(RendererChoice::Glow.first(), eframe::Renderer::Glow);
    }
}
