//! What differs between operating systems below the product logic: replacing a file in place,
//! owner-only folders, and where an installed K2 server lives. Windows gets its own calls
//! (`windows.rs`); elsewhere the `std` equivalents or nothing.

pub(crate) mod acl;
#[cfg(windows)]
mod windows;

use std::io;
use std::path::{Path, PathBuf};

/// Moves `replacement` over `target` atomically. On Windows `ReplaceFileW`, which keeps the
/// target's ACL, owner and attributes; elsewhere `rename(2)` (the caller copies mode and owner).
pub(crate) fn replace_file(replacement: &Path, target: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        windows::replace_file(replacement, target)
    }
    #[cfg(not(windows))]
    {
        std::fs::rename(replacement, target)
    }
}

/// Restricts a folder k2cse just created to its owner (and, on Windows, `SYSTEM` and
/// Administrators). Unix folders are created 0700 already, so this is a no-op there.
#[cfg_attr(not(windows), allow(clippy::unnecessary_wraps))] // the Windows call can fail
pub(crate) fn restrict_to_owner(dir: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        windows::restrict_to_owner(dir)
    }
    #[cfg(not(windows))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Why the Windows folder or file `path` could hold something planted by another user (its
/// owner is not this user, Administrators or SYSTEM, or its DACL lets Everyone, Users or
/// Authenticated Users write), or `None`. Security that cannot be read is not trusted.
#[cfg(windows)]
pub(crate) fn untrusted_on_windows(path: &Path, what: &str) -> Option<String> {
    let sddl = match windows::owner_and_dacl_sddl(path) {
        Ok(sddl) => sddl,
        Err(e) => return Some(format!("the security of {what} cannot be read ({e})")),
    };
    let me = match windows::current_user_sid() {
        Ok(me) => me,
        Err(e) => return Some(format!("the current user cannot be identified ({e})")),
    };
    match acl::parse_sddl(&sddl) {
        Some(security) => acl::untrusted_reason(&security, &me, what),
        None => Some(format!(
            "the security of {what} cannot be understood ({sddl})"
        )),
    }
}

/// The folders of installed K2 servers, from the `ImagePath` of every Windows service whose
/// executable is `K2HostServer.exe` (whatever the service is named or where K2 was installed).
/// Empty elsewhere.
pub fn k2_service_folders(env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    #[cfg(windows)]
    let images = windows::service_image_paths();
    #[cfg(not(windows))]
    let images: Vec<String> = Vec::new();
    images
        .iter()
        .filter_map(|image| crate::config::k2_folder_from_image_path(image, env))
        .collect()
}
