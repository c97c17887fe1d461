//! Any bytes as an 802.15.4 frame: `open` never panics, whatever keys are tried; APS commands
//! that parse re-emit to the same bytes.
#![no_main]

use hanrig_sep::aps::ApsCommand;
use hanrig_sep::frame::{Keys, open};
use libfuzzer_sys::fuzz_target;

const NETWORK_KEY: [u8; 16] = [0x01, 0x03, 0x05, 0x07, 0x09, 0x0B, 0x0D, 0x0F, 0x00, 0x02, 0x04, 0x06, 0x08, 0x0A, 0x0C, 0x0D];
const LINK_KEY: [u8; 16] = [0x66, 0xB6, 0x90, 0x09, 0x81, 0xE1, 0xEE, 0x3C, 0xA4, 0x20, 0x6B, 0x6B, 0x86, 0x1C, 0x02, 0xBB];

fuzz_target!(|data: &[u8]| {
    let mut frame = data.to_vec();
    let _ = open(&mut frame, &Keys { network: &[NETWORK_KEY], link: &[LINK_KEY] });
    if let Ok(cmd) = ApsCommand::parse(data) {
        let mut buf = [0u8; 128];
        let len = cmd.emit(&mut buf).expect("a parsed command emits");
        assert_eq!(&buf[..len], data);
    }
});
