//! Any text as an install code: parsing never panics, and an accepted code prints back as
//! itself and derives a key.
#![no_main]

use hanrig_sep::install_code::InstallCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(code) = text.parse::<InstallCode>() {
        let again: InstallCode = code.to_string().parse().expect("printed code parses");
        assert_eq!(again, code);
        let _ = code.link_key();
    }
});
