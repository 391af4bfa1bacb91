//! The connection-string parser never panics, and what it accepts survives a round trip:
//! parse -> .NET serialization -> parse gives the same effective pairs, and serializing again
//! gives the same text (the writer is stable).
#![no_main]

use k2cse_core::connstr::ConnectionString;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = ConnectionString::parse(text) else {
        return;
    };
    let written = parsed.to_dotnet_string();
    let again = ConnectionString::parse(written.clone())
        .unwrap_or_else(|e| panic!("{written:?} (written from {text:?}) does not parse: {e}"));
    let fold = |cs: &ConnectionString| {
        cs.effective()
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v.to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(fold(&parsed), fold(&again), "{text:?} -> {written:?}");
    assert_eq!(again.to_dotnet_string(), written, "the writer is not stable");
    // Editing a value keeps every other pair.
    if let Some((key, _)) = parsed.effective().first().map(|(k, v)| (k.to_string(), v.to_string()))
        && let Ok(edited) = parsed.with_value(&key, "x;y='z\"")
    {
        assert_eq!(edited.get(&key), Some("x;y='z\""));
        assert_eq!(fold(&edited).len(), fold(&parsed).len());
    }
});
