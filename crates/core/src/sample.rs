//! The bundled sample `K2HostServer.exe.config`, for `--demo` and for trying k2cse without a
//! K2 server. It is shaped like a real K2 5.x file: UTF-8 with a byte-order mark, CRLF line
//! endings, EWS (OAuth and basic), SMTP, the database and K2 client entries, one unknown entry,
//! and the commented-out template K2 ships at the bottom.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The sample file's bytes.
pub const K2_SAMPLE: &[u8] = include_bytes!("../assets/k2-sample.config");

/// Writes the sample as `K2HostServer.exe.config` into `dir` and returns its path.
pub fn write_sample(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("K2HostServer.exe.config");
    std::fs::write(&path, K2_SAMPLE).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}
