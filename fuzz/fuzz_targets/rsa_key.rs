//! The key-file reader (`<RSAKeyValue>` exports, PEM) never panics on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = k2cse_core::protect::RsaKey::from_text(std::path::Path::new("key.xml"), text);
});
