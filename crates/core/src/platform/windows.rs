//! The Windows calls k2cse needs beyond `std`: replacing a file while keeping its security
//! descriptor, owner-only folders for backups, and the K2 service's install folder from the
//! registry. Every `unsafe` block states why it is sound.
#![allow(unsafe_code)] // FFI to kernel32/advapi32.

use std::io;
use std::os::windows::ffi::OsStrExt as _;
use std::path::Path;
use std::ptr;

use windows_sys::Win32::Foundation::{
    ERROR_FILE_NOT_FOUND, ERROR_MORE_DATA, ERROR_NO_MORE_ITEMS, ERROR_SUCCESS, LocalFree,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{
    DACL_SECURITY_INFORMATION, OBJECT_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION,
    PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, SetFileSecurityW,
};
use windows_sys::Win32::Storage::FileSystem::{REPLACEFILE_WRITE_THROUGH, ReplaceFileW};
use windows_sys::Win32::System::Registry::{
    HKEY, HKEY_LOCAL_MACHINE, KEY_READ, RRF_NOEXPAND, RRF_RT_REG_EXPAND_SZ, RRF_RT_REG_SZ,
    RegCloseKey, RegEnumKeyExW, RegGetValueW, RegOpenKeyExW,
};

/// Owner, `SYSTEM` and Administrators get full control; nothing is inherited from the parent
/// (`P`); files and folders created inside inherit the same (`OICI`). The closest Windows has
/// to Unix's 0700.
const OWNER_ONLY_SDDL: &str = "D:P(A;OICI;FA;;;OW)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

fn wide(path: &Path) -> Vec<u16> {
    path.as_os_str().encode_wide().chain([0]).collect()
}

fn wide_str(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

/// Puts `replacement` in place of `target` with `ReplaceFileW`, which keeps the target's ACL,
/// owner, attributes and creation time (a plain rename would give the file the temporary
/// file's inherited ACL, dropping any entry an administrator added for the K2 service account).
/// When `target` does not exist, a plain rename.
pub fn replace_file(replacement: &Path, target: &Path) -> io::Result<()> {
    // Absolute paths: ReplaceFileW (Wine's, at least) fails with ERROR_DIRECTORY for a bare
    // file name such as `K2HostServer.exe.config`.
    let target_w = wide(&std::path::absolute(target)?);
    let replacement_w = wide(&std::path::absolute(replacement)?);
    // SAFETY: both paths are NUL-terminated UTF-16 buffers alive for the call; the optional
    // backup name, exclude and reserved arguments are null as documented.
    let ok = unsafe {
        ReplaceFileW(
            target_w.as_ptr(),
            replacement_w.as_ptr(),
            ptr::null(),
            REPLACEFILE_WRITE_THROUGH,
            ptr::null(),
            ptr::null(),
        )
    };
    if ok != 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == i32::try_from(ERROR_FILE_NOT_FOUND).ok() && !target.exists() {
        return std::fs::rename(replacement, target);
    }
    Err(error)
}

/// Gives `path` (a folder k2cse just created) an owner-only DACL, inherited by what is created
/// in it.
pub fn restrict_to_owner(path: &Path) -> io::Result<()> {
    let sddl = wide_str(OWNER_ONLY_SDDL);
    let mut descriptor: PSECURITY_DESCRIPTOR = ptr::null_mut();
    // SAFETY: `sddl` is NUL-terminated; `descriptor` receives a LocalAlloc'd buffer freed below.
    let ok = unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl.as_ptr(),
            SDDL_REVISION_1,
            &raw mut descriptor,
            ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    let path_w = wide(path);
    // SAFETY: `path_w` is NUL-terminated and `descriptor` is the valid descriptor from above.
    let ok = unsafe {
        SetFileSecurityW(
            path_w.as_ptr(),
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            descriptor,
        )
    };
    let result = if ok == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    };
    // SAFETY: `descriptor` was allocated by the conversion above and is freed once.
    unsafe { LocalFree(descriptor) };
    result
}

/// The `ImagePath` of every installed service, unexpanded (`REG_EXPAND_SZ` as stored). The
/// caller picks K2's by its executable name, whatever the service is called.
pub fn service_image_paths() -> Vec<String> {
    let services = wide_str(r"SYSTEM\CurrentControlSet\Services");
    let mut key: HKEY = ptr::null_mut();
    // SAFETY: `services` is NUL-terminated; `key` is an out pointer closed below.
    if unsafe {
        RegOpenKeyExW(
            HKEY_LOCAL_MACHINE,
            services.as_ptr(),
            0,
            KEY_READ,
            &raw mut key,
        )
    } != ERROR_SUCCESS
    {
        return Vec::new();
    }
    let mut images = Vec::new();
    let mut name = [0u16; 256]; // service names are at most 256 characters
    for index in 0.. {
        let mut len = u32::try_from(name.len()).unwrap_or(u32::MAX);
        // SAFETY: `name` holds `len` UTF-16 units; the optional outputs are null.
        let status = unsafe {
            RegEnumKeyExW(
                key,
                index,
                name.as_mut_ptr(),
                &raw mut len,
                ptr::null(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if status == ERROR_NO_MORE_ITEMS {
            break;
        }
        if status != ERROR_SUCCESS {
            continue;
        }
        let mut subkey = name[..len as usize].to_vec();
        subkey.push(0);
        if let Some(image) = string_value(key, &subkey, "ImagePath") {
            images.push(image);
        }
    }
    // SAFETY: `key` was opened above and is closed once.
    unsafe { RegCloseKey(key) };
    images
}

/// A `REG_SZ` or `REG_EXPAND_SZ` value of `subkey` (NUL-terminated), unexpanded.
fn string_value(key: HKEY, subkey: &[u16], value: &str) -> Option<String> {
    let value = wide_str(value);
    let flags = RRF_RT_REG_SZ | RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND;
    let mut buffer = vec![0u16; 260];
    loop {
        let mut bytes = u32::try_from(buffer.len() * 2).ok()?;
        // SAFETY: `subkey` and `value` are NUL-terminated; `buffer` holds `bytes` bytes.
        let status = unsafe {
            RegGetValueW(
                key,
                subkey.as_ptr(),
                value.as_ptr(),
                flags,
                ptr::null_mut(),
                buffer.as_mut_ptr().cast(),
                &raw mut bytes,
            )
        };
        if status == ERROR_MORE_DATA && buffer.len() < 32_768 {
            buffer.resize(buffer.len() * 4, 0);
            continue;
        }
        if status != ERROR_SUCCESS {
            return None;
        }
        let units = &buffer[..(bytes as usize / 2)];
        let end = units.iter().position(|u| *u == 0).unwrap_or(units.len());
        return String::from_utf16(&units[..end]).ok();
    }
}

/// The DACL of `path` in SDDL, for tests to check what [`restrict_to_owner`] set.
#[cfg(test)]
fn dacl_sddl(path: &Path) -> io::Result<String> {
    security_sddl(path, DACL_SECURITY_INFORMATION)
}

/// The owner and DACL of `path` in SDDL (`O:...D:...`), for the backup folder check.
pub fn owner_and_dacl_sddl(path: &Path) -> io::Result<String> {
    security_sddl(path, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION)
}

/// The parts `info` of `path`'s security descriptor, in SDDL.
fn security_sddl(path: &Path, info: OBJECT_SECURITY_INFORMATION) -> io::Result<String> {
    use windows_sys::Win32::Security::Authorization::ConvertSecurityDescriptorToStringSecurityDescriptorW;
    use windows_sys::Win32::Security::GetFileSecurityW;
    let path_w = wide(path);
    let mut needed = 0u32;
    // SAFETY: a null buffer of length 0 asks for the size in `needed`.
    unsafe { GetFileSecurityW(path_w.as_ptr(), info, ptr::null_mut(), 0, &raw mut needed) };
    let mut buffer = vec![0u8; needed as usize];
    // SAFETY: `buffer` has the `needed` bytes asked for.
    if unsafe {
        GetFileSecurityW(
            path_w.as_ptr(),
            info,
            buffer.as_mut_ptr().cast(),
            needed,
            &raw mut needed,
        )
    } == 0
    {
        return Err(io::Error::last_os_error());
    }
    let mut text: *mut u16 = ptr::null_mut();
    let mut len = 0u32;
    // SAFETY: `buffer` holds the descriptor just read; `text` receives a LocalAlloc'd string.
    if unsafe {
        ConvertSecurityDescriptorToStringSecurityDescriptorW(
            buffer.as_mut_ptr().cast(),
            SDDL_REVISION_1,
            info,
            &raw mut text,
            &raw mut len,
        )
    } == 0
    {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the conversion returned `len` UTF-16 units at `text`, freed once after copying.
    let sddl = unsafe { String::from_utf16_lossy(std::slice::from_raw_parts(text, len as usize)) };
    // SAFETY: allocated by the conversion above.
    unsafe { LocalFree(text.cast()) };
    Ok(sddl.trim_end_matches('\0').to_owned())
}

/// The SID of the user this process runs as (`S-1-5-21-...`).
pub fn current_user_sid() -> io::Result<String> {
    use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
    use windows_sys::Win32::Security::{GetTokenInformation, TOKEN_USER, TokenUser};
    // `GetCurrentProcessToken()`: a pseudo-handle (-4) for the process token, valid for
    // queries since Windows 8, never closed.
    let token = -4isize as windows_sys::Win32::Foundation::HANDLE;
    let mut needed = 0u32;
    // SAFETY: a null buffer of length 0 asks for the size in `needed`.
    unsafe { GetTokenInformation(token, TokenUser, ptr::null_mut(), 0, &raw mut needed) };
    // u64 elements: the buffer is aligned for TOKEN_USER.
    let mut buffer = vec![0u64; (needed as usize).div_ceil(8)];
    // SAFETY: `buffer` has at least the `needed` bytes asked for.
    if unsafe {
        GetTokenInformation(
            token,
            TokenUser,
            buffer.as_mut_ptr().cast(),
            needed,
            &raw mut needed,
        )
    } == 0
    {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the call filled `buffer` with a TOKEN_USER, aligned (u64 buffer).
    let user = unsafe { &*buffer.as_ptr().cast::<TOKEN_USER>() };
    let mut text: *mut u16 = ptr::null_mut();
    // SAFETY: `user.User.Sid` points into `buffer`, alive here; `text` is LocalAlloc'd.
    if unsafe { ConvertSidToStringSidW(user.User.Sid, &raw mut text) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a NUL-terminated string from the conversion, read up to its NUL, freed once.
    let sid = unsafe {
        let mut len = 0;
        while *text.add(len) != 0 {
            len += 1;
        }
        String::from_utf16_lossy(std::slice::from_raw_parts(text, len))
    };
    // SAFETY: allocated by the conversion above.
    unsafe { LocalFree(text.cast()) };
    Ok(sid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_file_keeps_the_target_and_falls_back_to_rename() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("K2HostServer.exe.config");
        let replacement = dir.path().join("new.tmp");
        std::fs::write(&target, "old").unwrap();
        std::fs::write(&replacement, "new").unwrap();
        replace_file(&replacement, &target).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert!(!replacement.exists());
        let missing = dir.path().join("fresh.config");
        std::fs::write(&replacement, "first").unwrap();
        replace_file(&replacement, &missing).unwrap();
        assert_eq!(std::fs::read_to_string(&missing).unwrap(), "first");
    }

    #[test]
    fn a_folder_k2cse_creates_passes_its_own_check() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("k2cse-backups");
        std::fs::create_dir(&private).unwrap();
        restrict_to_owner(&private).unwrap();
        let me = current_user_sid().unwrap();
        assert!(me.starts_with("S-1-"), "{me}");
        let sddl = owner_and_dacl_sddl(&private).unwrap();
        let security = super::super::acl::parse_sddl(&sddl).unwrap();
        assert_eq!(
            super::super::acl::untrusted_reason(&security, &me, "the folder"),
            None,
            "{sddl}"
        );
    }

    #[test]
    fn owner_only_folders_still_admit_their_owner() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("k2cse-backups");
        std::fs::create_dir(&private).unwrap();
        restrict_to_owner(&private).unwrap();
        // Windows keeps exactly the three entries set (owner rights, SYSTEM, Administrators);
        // Wine maps them onto Unix permissions and reports those back. Either way nobody else
        // (Everyone, Users, Authenticated Users) is let in, and SYSTEM is.
        let sddl = dacl_sddl(&private).unwrap();
        assert!(sddl.contains(";;;SY)"), "{sddl}");
        for other in [";;;WD)", ";;;BU)", ";;;AU)"] {
            assert!(!sddl.contains(other), "{sddl} admits {other}");
        }
        // A folder created without it is open to more than its owner (on Windows it inherits
        // the temp folder's ACL, under Wine the umask's "others" bits).
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        assert_ne!(dacl_sddl(&open).unwrap(), sddl);
        std::fs::write(private.join("a.tar"), "x").unwrap();
        assert_eq!(std::fs::read_to_string(private.join("a.tar")).unwrap(), "x");
    }
}
