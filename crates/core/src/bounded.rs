//! Reading files with bounds: only regular files (a FIFO would block forever, a device such as
//! `/dev/zero` never ends), and never more than a limit, checked before reading from the size
//! the file system reports and again while reading (a file that grows, or lies about its size).

use std::fs;
use std::io::Read as _;
use std::path::Path;

use crate::error::{Error, Result};

/// Reads `path` whole, refusing at once what is not a regular file and anything larger than
/// `limit` bytes. `what` names the file in messages ("config file", "batch file", ...).
pub fn read(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let metadata = fs::metadata(path).map_err(|e| Error::io(path, e))?;
    refuse_special(path, &metadata, what)?;
    if metadata.len() > limit {
        return Err(too_large(path, metadata.len(), limit, what));
    }
    let file = open_regular(path)?;
    // The file as opened must still be a regular file (not swapped for a FIFO since).
    let opened = file.metadata().map_err(|e| Error::io(path, e))?;
    refuse_special(path, &opened, what)?;
    let mut bytes = Vec::with_capacity(usize::try_from(opened.len().min(limit)).unwrap_or(0));
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(path, bytes.len() as u64, limit, what));
    }
    Ok(bytes)
}

/// [`read`] as UTF-8 text.
pub fn read_to_string(path: &Path, limit: u64, what: &str) -> Result<String> {
    String::from_utf8(read(path, limit, what)?).map_err(|_| {
        Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the {what} is not UTF-8 text"),
            ),
        )
    })
}

/// Opens a file for reading without blocking on a FIFO (`O_NONBLOCK` on Unix; the flag has no
/// effect on regular files).
fn open_regular(path: &Path) -> Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, nonblock());
    options.open(path).map_err(|e| Error::io(path, e))
}

#[cfg(unix)]
fn nonblock() -> i32 {
    rustix::fs::OFlags::NONBLOCK.bits().cast_signed()
}

fn refuse_special(path: &Path, metadata: &fs::Metadata, what: &str) -> Result<()> {
    if metadata.is_file() {
        return Ok(());
    }
    let kind = if metadata.is_dir() {
        "a folder"
    } else {
        special_kind(metadata)
    };
    Err(Error::io(
        path,
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "reading the {what}: it is {kind}, not a regular file; k2cse reads only regular files"
            ),
        ),
    ))
}

#[cfg(unix)]
fn special_kind(metadata: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let t = metadata.file_type();
    if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &fs::Metadata) -> &'static str {
    "a device or special file"
}

fn too_large(path: &Path, size: u64, limit: u64, what: &str) -> Error {
    Error::io(
        path,
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "reading the {what}: {size} bytes or more, larger than any {what} k2cse reads ({} MiB); is this the right file?",
                limit / 1024 / 1024
            ),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_within_the_limit_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        fs::write(&f, b"12345").unwrap();
        assert_eq!(read(&f, 5, "test file").unwrap(), b"12345");
        let err = read(&f, 4, "test file").unwrap_err().to_string();
        assert!(err.contains("larger than any test file"), "{err}");
        let err = read(dir.path(), 4, "test file").unwrap_err().to_string();
        assert!(err.contains("a folder, not a regular file"), "{err}");
        #[cfg(unix)]
        {
            let err = read(Path::new("/dev/zero"), 1 << 20, ".NET config file")
                .unwrap_err()
                .to_string();
            assert!(err.contains("a device"), "{err}");
        }
    }
}
