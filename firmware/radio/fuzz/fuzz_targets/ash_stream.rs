//! Any bytes as a serial stream into the ASH decoder: it never panics, and every frame it
//! yields encodes back to a frame the decoder reads the same.
#![no_main]

use hanrig_radio::ash::{Decoder, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut decoder = Decoder::new();
    for &b in data {
        if let Some(Ok(frame)) = decoder.push(b) {
            let mut wire = [0u8; 512];
            let len = encode(frame.control, &frame.data, &mut wire).expect("a decoded frame encodes");
            let mut again = Decoder::new();
            let back = wire[..len].iter().find_map(|&b| again.push(b));
            assert_eq!(back.map(|r| r.map(|f| (f.control, f.data))), Some(Ok((frame.control, frame.data))));
        }
    }
});
