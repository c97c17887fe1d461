//! MT framing against zigpy-znp's first frames (radio-protocol-facts.md §4).

#![allow(clippy::unwrap_used)]

use hanrig_radio::mt::{
    DecodeError, Decoder, Header, Kind, MAX_DATA, MAX_FRAME, encode, subsystem,
};
use proptest::prelude::*;

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn wire(header: Header, data: &[u8]) -> Vec<u8> {
    let mut out = [0u8; MAX_FRAME];
    let len = encode(header, data, &mut out).unwrap();
    out[..len].to_vec()
}

#[test]
fn zigpy_znps_first_frames() {
    // SYS_PING, UTIL AssocFindDevice(0), SYS NVLength(ExNvIds.TCLK_TABLE).
    assert_eq!(
        wire(Header::new(Kind::Sreq, subsystem::SYS, 0x01), &[]),
        unhex("FE 00 21 01 20")
    );
    assert_eq!(
        wire(Header::new(Kind::Sreq, subsystem::UTIL, 0x49), &[0]),
        unhex("FE 01 27 49 00 6F")
    );
    assert_eq!(
        wire(
            Header::new(Kind::Sreq, subsystem::SYS, 0x32),
            &unhex("01 04 00 00 00")
        ),
        unhex("FE 05 21 32 01 04 00 00 00 13")
    );
    // SYS_RESET_REQ(soft) is an AREQ.
    assert_eq!(
        wire(Header::new(Kind::Areq, subsystem::SYS, 0x00), &[1]),
        unhex("FE 01 41 00 01 41")
    );
    let h = Header::parse(0x61, 0x01).unwrap();
    assert_eq!((h.kind, h.subsystem, h.id), (Kind::Srsp, subsystem::SYS, 1));
    assert_eq!(Header::parse(0x21, 0x01).unwrap().response(), h);
}

#[test]
fn the_decoder_skips_noise_and_drops_damaged_frames() {
    let mut d = Decoder::new();
    // 256 × 0xEF (the CC253x bootloader skip), then a ping.
    let mut bytes = vec![0xEF; 256];
    bytes.extend(unhex("FE 00 21 01 20"));
    // A frame with a wrong FCS, then a good one.
    bytes.extend(unhex("FE 01 27 49 00 6E"));
    bytes.extend(unhex("FE 01 27 49 00 6F"));
    // A length over 250, then a good one.
    bytes.extend(unhex("FE FB"));
    bytes.extend(unhex("FE 00 21 01 20"));
    let out: Vec<_> = bytes.iter().filter_map(|&b| d.push(b)).collect();
    assert_eq!(out.len(), 5, "{out:?}");
    assert_eq!(out[0].as_ref().unwrap().header.id, 0x01);
    assert_eq!(
        out[1],
        Err(DecodeError::BadFcs {
            got: 0x6E,
            want: 0x6F
        })
    );
    assert_eq!(out[2].as_ref().unwrap().data.as_slice(), &[0]);
    assert_eq!(out[3], Err(DecodeError::TooLong(0xFB)));
    assert!(out[4].is_ok());
    // Data over 250 bytes cannot be sent.
    assert!(
        encode(
            Header::new(Kind::Sreq, 1, 1),
            &[0; MAX_DATA + 1],
            &mut [0; 300]
        )
        .is_err()
    );
}

proptest! {
    #[test]
    fn every_frame_survives_encode_then_decode(
        kind in 0u8..4, sub in 0u8..32, id: u8, data in prop::collection::vec(any::<u8>(), 0..=MAX_DATA)
    ) {
        let header = Header::parse(kind << 5 | sub, id).unwrap();
        let bytes = wire(header, &data);
        let mut d = Decoder::new();
        let frames: Vec<_> = bytes.iter().filter_map(|&b| d.push(b)).collect();
        prop_assert_eq!(frames.len(), 1);
        let f = frames[0].as_ref().unwrap();
        prop_assert_eq!(f.header, header);
        prop_assert_eq!(f.data.as_slice(), &data[..]);
    }

    #[test]
    fn random_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut d = Decoder::new();
        for b in bytes {
            let _ = d.push(b);
        }
    }
}
