//! The backup reader never panics, and whatever it accepts round-trips: encoding the backup
//! again and reading that gives the same parts.
#![no_main]

use std::path::Path;

use k2cse_core::backup::Backup;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.k2cse.tar");
    let Ok(backup) = Backup::decode(path, data, None) else {
        return;
    };
    let bytes = backup.encode(path, None).expect("an accepted backup can be written again");
    let again = Backup::decode(path, &bytes, None).expect("and read again");
    assert_eq!(again.manifest().files, backup.manifest().files);
    assert_eq!(again.rows(), backup.rows());
});
