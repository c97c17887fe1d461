//! Any bytes: the first two pick the cluster, the rest is a ZCL frame. Whatever parses must
//! re-emit to the same bytes, and its JSON form must give the same frame back.
#![no_main]

use hanrig_sep::{MAX_FRAME_LEN, ZclFrame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [c0, c1, frame @ ..] = data else { return };
    // Steer most inputs to the SE clusters, where the layouts are.
    let cluster = match c0 % 8 {
        0 => 0x0700,
        1 => 0x0701,
        2 => 0x0702,
        3 => 0x0703,
        4 => 0x0800,
        5 => 0x000A,
        6 => 0x0000,
        _ => u16::from_le_bytes([*c0, *c1]),
    };
    let Ok(parsed) = ZclFrame::parse(cluster, frame) else { return };
    let mut buf = [0u8; 2 * MAX_FRAME_LEN];
    let len = parsed.emit(&mut buf).expect("a parsed frame emits");
    assert_eq!(&buf[..len], frame, "emit(parse(b)) != b");
    let json = serde_json::to_string(&parsed).expect("serialises");
    let back: ZclFrame = serde_json::from_str(&json).expect("its JSON parses");
    assert_eq!(back, parsed, "JSON round trip");
});
