//! ASH framing against the vectors of UG101 and bellows (radio-protocol-facts.md §1).

#![allow(clippy::unwrap_used)]

use hanrig_radio::ash::{CRC, Control, DecodeError, Decoder, Frame, encode, randomize};
use hanrig_radio::ezsp::{Format, Header};
use proptest::prelude::*;

fn wire(control: Control, data: &[u8]) -> Vec<u8> {
    let mut out = [0u8; 300];
    let len = encode(control, data, &mut out).unwrap();
    out[..len].to_vec()
}

fn decode_all(bytes: &[u8]) -> Vec<Result<Frame, DecodeError>> {
    let mut d = Decoder::new();
    bytes.iter().filter_map(|&b| d.push(b)).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn control_frames_match_ug101_and_bellows() {
    assert_eq!(wire(Control::Rst, &[]), unhex("C0 38 BC 7E"));
    assert_eq!(
        wire(Control::RstAck, &[0x02, 0x02]),
        unhex("C1 02 02 9B 7B 7E"),
        "RSTACK(2, power-on), UG101"
    );
    assert_eq!(
        wire(Control::RstAck, &[0x02, 0x0B]),
        unhex("C1 02 0B 0A 52 7E"),
        "RSTACK(2, software), bellows"
    );
}

#[test]
fn data_frames_are_randomised_and_match_ug101() {
    // DATA(frame 2, ack 5): EZSP version command 00 00 00 02 (UG101 03).
    let data = Control::Data {
        frame: 2,
        retransmit: false,
        ack: 5,
    };
    assert_eq!(
        wire(data, &unhex("00 00 00 02")),
        unhex("25 42 21 A8 56 A6 09 7E")
    );
    // Its CRC over the data before randomisation, as UG101 also shows it.
    assert_eq!(CRC.checksum(&unhex("25 00 00 00 02")), 0x1AAD);
    // DATA(5, 3): the version response. UG101's randomised example has a wrong CRC; ours is
    // the computed 03 2A (radio-protocol-facts.md §1).
    let rsp = Control::Data {
        frame: 5,
        retransmit: false,
        ack: 3,
    };
    assert_eq!(
        wire(rsp, &unhex("00 80 00 02 02 11 30")),
        unhex("53 42 A1 A8 56 28 04 82 03 2A 7E")
    );
    // bellows' first EZSP frame: version(4), legacy header, DATA(0, 0).
    assert_eq!(
        wire(
            Control::Data {
                frame: 0,
                retransmit: false,
                ack: 0
            },
            &unhex("00 00 00 04")
        ),
        unhex("00 42 21 A8 50 ED 2C 7E")
    );
}

#[test]
fn the_random_sequence_starts_42_21_a8() {
    let mut zeros = [0u8; 16];
    randomize(&mut zeros);
    assert_eq!(
        zeros.to_vec(),
        unhex("42 21 A8 54 2A 15 B2 59 94 4A 25 AA 55 92 49 9C")
    );
}

#[test]
fn reserved_bytes_are_stuffed() {
    // An ACK whose CRC is not involved: test through a DATA frame carrying bytes that
    // randomise to each reserved value.
    let seq = {
        let mut s = [0u8; 6];
        randomize(&mut s);
        s
    };
    let reserved = [0x7E, 0x7D, 0x11, 0x13, 0x18, 0x1A];
    let data: Vec<u8> = reserved.iter().zip(seq).map(|(r, k)| r ^ k).collect();
    let bytes = wire(
        Control::Data {
            frame: 1,
            retransmit: false,
            ack: 0,
        },
        &data,
    );
    let stuffed = unhex("7D 5E 7D 5D 7D 31 7D 33 7D 38 7D 3A");
    assert!(
        bytes.windows(stuffed.len()).any(|w| w == stuffed),
        "{bytes:02X?}"
    );
    assert_eq!(
        decode_all(&bytes),
        vec![Ok(Frame {
            control: Control::Data {
                frame: 1,
                retransmit: false,
                ack: 0
            },
            data: heapless::Vec::from_slice(&data).unwrap()
        })]
    );
}

#[test]
fn the_decoder_handles_cancel_substitute_flow_control_and_damage() {
    let rst = wire(Control::Rst, &[]);
    // 32 CANCEL bytes then RST, as bellows sends it.
    let mut bytes = vec![0x1A; 32];
    bytes.extend(&rst);
    assert_eq!(
        decode_all(&bytes),
        vec![Ok(Frame {
            control: Control::Rst,
            data: heapless::Vec::new()
        })]
    );
    // A partial frame cancelled, then a good one.
    let mut bytes = vec![0x25, 0x42, 0x1A];
    bytes.extend(&rst);
    assert_eq!(decode_all(&bytes).len(), 1);
    // XON/XOFF inside a frame are dropped.
    let mut bytes = rst.clone();
    bytes.insert(1, 0x11);
    bytes.insert(2, 0x13);
    assert!(decode_all(&bytes)[0].is_ok());
    // A substituted byte damages the frame.
    let mut bytes = rst.clone();
    bytes.insert(1, 0x18);
    assert_eq!(decode_all(&bytes), vec![Err(DecodeError::Substituted)]);
    // A flipped bit fails the CRC; an empty frame yields nothing; an escape before the flag is bad.
    let mut bytes = rst.clone();
    bytes[1] ^= 0x01;
    assert_eq!(decode_all(&bytes), vec![Err(DecodeError::BadCrc)]);
    assert!(decode_all(&[0x7E, 0x7E]).is_empty());
    assert_eq!(
        decode_all(&[0xC0, 0x7D, 0x7E]),
        vec![Err(DecodeError::BadEscape)]
    );
    assert_eq!(decode_all(&[0xC0, 0x7E]), vec![Err(DecodeError::TooShort)]);
}

#[test]
fn ezsp_headers_in_three_formats() {
    // v13 formNetwork (seq 5), radio-protocol-facts.md §2.
    let frame = unhex("05 00 01 1E 00 77 66 55 44 33 22 11 00 62 1A 08 0F 00 00 00 00 00 80 00 00");
    let (h, params) = Header::parse(Format::Extended, &frame).unwrap();
    assert_eq!(
        (h.sequence, h.control, h.control_hi, h.frame_id),
        (5, 0, 1, 0x001E)
    );
    assert_eq!(params.len(), 20);
    let mut out = [0u8; 5];
    assert_eq!(h.emit(Format::Extended, &mut out), Ok(5));
    assert_eq!(out[..], frame[..5]);
    // The v13 version response echoed in extended form.
    let response = unhex("00 80 01 00 00 0D 02 50 74");
    let (h, params) = Header::parse(Format::Extended, &response).unwrap();
    assert!(h.is_response());
    assert_eq!(
        (h.frame_id, params),
        (0x0000, &[0x0D, 0x02, 0x50, 0x74][..])
    );
    // Legacy and v5 forms.
    let (h, _) = Header::parse(Format::Legacy, &unhex("00 00 00 04")).unwrap();
    assert_eq!(h.frame_id, 0);
    let mut out = [0u8; 5];
    Header {
        sequence: 1,
        control: 0,
        control_hi: 0,
        frame_id: 0x26,
    }
    .emit(Format::V5, &mut out)
    .unwrap();
    assert_eq!(out, [1, 0, 0xFF, 0x00, 0x26]);
    assert!(Header::parse(Format::V5, &[1, 0, 0xFE, 0x00, 0x26]).is_err());
    assert_eq!(Format::of_version(4), Format::Legacy);
    assert_eq!(Format::of_version(7), Format::V5);
    assert_eq!(Format::of_version(13), Format::Extended);
}

proptest! {
    #[test]
    fn every_frame_survives_encode_then_decode(
        kind in 0u8..6, frame in 0u8..8, ack in 0u8..8, flag in any::<bool>(),
        data in prop::collection::vec(any::<u8>(), 0..=128),
    ) {
        let control = match kind {
            0 => Control::Data { frame, retransmit: flag, ack },
            1 => Control::Ack { ack, not_ready: flag },
            2 => Control::Nak { ack, not_ready: flag },
            3 => Control::Rst,
            4 => Control::RstAck,
            _ => Control::Error,
        };
        let data = if matches!(control, Control::Data { .. }) || kind >= 4 { data } else { Vec::new() };
        let bytes = wire(control, &data);
        prop_assert_eq!(bytes.iter().filter(|&&b| b == 0x7E).count(), 1);
        let frames = decode_all(&bytes);
        prop_assert_eq!(frames, vec![Ok(Frame { control, data: heapless::Vec::from_slice(&data).unwrap() })]);
    }

    #[test]
    fn random_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode_all(&bytes);
    }
}
