//! The XML-Encryption reader (`<EncryptedData>`) never panics on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = k2cse_core::protect::xmlenc::parse(text, 0..text.len());
    // As part of a config file, through the document loader.
    let config = format!(
        "<configuration><connectionStrings configProtectionProvider=\"K2ConfigurationKey\">{text}</connectionStrings></configuration>"
    );
    if let Ok(doc) = k2cse_core::Document::from_bytes(std::path::Path::new("f.config"), config.into_bytes()) {
        let _ = doc.protection();
    }
});
