//! Byte vectors kept in `tests/vectors/`, each named after its source.

#![allow(clippy::unwrap_used)]

use hanrig_sep::install_code::{InstallCode, InstallCodeError, hmac_mmo, mmo_hash};
use hanrig_sep::zcl::general::{DataType, Status};
use hanrig_sep::{Command, ZclFrame};

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

#[test]
fn install_code_vectors_derive_the_published_link_keys() {
    let text = include_str!("vectors/install_codes.txt");
    let mut count = 0;
    for line in lines(text) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [code, crc_bytes, key] = fields[..] else {
            panic!("bad line {line}")
        };
        let code: InstallCode = code.parse().unwrap();
        assert_eq!(
            code.crc().to_le_bytes().to_vec(),
            unhex(crc_bytes),
            "{line}"
        );
        assert_eq!(code.link_key().to_vec(), unhex(key), "{line}");
        count += 1;
    }
    assert_eq!(count, 4);
}

#[test]
fn aes_mmo_and_hmac_vectors_match_the_zigbee_spec() {
    let text = include_str!("vectors/aes_mmo.txt");
    let mut count = 0;
    for line in lines(text) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [kind, key, msg, expected] = fields[..] else {
            panic!("bad line {line}")
        };
        let msg = match msg.strip_prefix("pattern:") {
            Some(n) => (0..n.parse::<usize>().unwrap()).map(|i| i as u8).collect(),
            None => unhex(msg),
        };
        let got = match kind {
            "mmo" => mmo_hash(&msg),
            "hmac" => hmac_mmo(&unhex(key).try_into().unwrap(), &msg).unwrap(),
            other => panic!("unknown kind {other}"),
        };
        assert_eq!(got.to_vec(), unhex(expected), "{line}");
        count += 1;
    }
    assert_eq!(count, 11);
}

#[test]
fn mmo_of_8192_bytes_uses_the_32_bit_length_rule() {
    // sep1-wire-facts.md §3: zigpy's 16-bit-only padding gives 5C9FE131…, the spec's second
    // rule (32-bit length + 16 zero bits) gives DC6B0687…, for 8192 bytes 0, 1, 2, … mod 256.
    let data: Vec<u8> = (0..8192).map(|i| i as u8).collect();
    let hash = mmo_hash(&data);
    assert_eq!(hash[..4], [0xDC, 0x6B, 0x06, 0x87]);
}

#[test]
fn install_code_parsing_accepts_separators_and_reports_errors_precisely() {
    let spaced: InstallCode = "83FE D340 7A93 9723 A5C6 39B2 6916 D505 C3B5"
        .parse()
        .unwrap();
    let dashed: InstallCode = "83-fe-d3-40-7a-93-97-23-a5-c6-39-b2-69-16-d5-05-c3-b5"
        .parse()
        .unwrap();
    let coloned: InstallCode = "83:FE:D3:40:7A:93:97:23:A5:C6:39:B2:69:16:D5:05:C3:B5"
        .parse()
        .unwrap();
    assert_eq!(spaced, dashed);
    assert_eq!(spaced, coloned);
    assert_eq!(spaced.to_string(), "83FED3407A939723A5C639B26916D505C3B5");

    assert_eq!(
        "83FED3407A939723A5C639B26916D505C3B6".parse::<InstallCode>(),
        Err(InstallCodeError::BadCrc {
            expected: 0xB5C3,
            found: 0xB6C3
        })
    );
    assert_eq!(
        "83FED3407A939723A5C639B26916D505".parse::<InstallCode>(),
        Err(InstallCodeError::BadLength { len: 16 })
    );
    assert_eq!(
        "83FED3407A939723A5C639B26916D505C3B5AA".parse::<InstallCode>(),
        Err(InstallCodeError::BadLength { len: 19 })
    );
    assert_eq!(
        "83FED3407A939723A5C639B26916D505C3B".parse::<InstallCode>(),
        Err(InstallCodeError::OddDigits { digits: 35 })
    );
    assert_eq!(
        "83FED3407A93972G".parse::<InstallCode>(),
        Err(InstallCodeError::BadCharacter {
            position: 15,
            character: 'G'
        })
    );
    let message = InstallCodeError::BadCrc {
        expected: 0xB5C3,
        found: 0xB6C3,
    }
    .to_string();
    assert!(
        message.contains("0xB5C3") && message.contains("0xB6C3"),
        "{message}"
    );
}

#[test]
fn install_code_from_body_appends_the_crc_little_endian() {
    let code = InstallCode::from_body(&unhex("83FED3407A939723A5C639B26916D505")).unwrap();
    assert_eq!(code.as_bytes()[16..], [0xC3, 0xB5]);
    assert_eq!(
        InstallCode::from_body(&[0; 7]),
        Err(InstallCodeError::BadLength { len: 9 })
    );
}

/// The frames of the facts file's zigpy snippet, with the values zigpy decodes them to.
#[test]
fn zigpy_snippet_frames_decode_to_zigpys_values_and_reencode_exactly() {
    let text = include_str!("vectors/zigpy_frames.txt");
    let frames: Vec<(u16, Vec<u8>)> = lines(text)
        .map(|line| {
            let (left, _) = line.split_once('|').unwrap();
            let (cluster, hex) = left.trim().split_once(' ').unwrap();
            (u16::from_str_radix(cluster, 16).unwrap(), unhex(hex))
        })
        .collect();
    assert_eq!(frames.len(), 4);

    let decoded: Vec<ZclFrame> = frames
        .iter()
        .map(|(c, b)| ZclFrame::parse(*c, b).unwrap())
        .collect();
    for ((_, bytes), frame) in frames.iter().zip(&decoded) {
        let mut out = [0u8; 127];
        let len = frame.emit(&mut out).unwrap();
        assert_eq!(&out[..len], &bytes[..]);
    }

    let Command::ReadAttributesResponse(rsp) = &decoded[0].command else {
        panic!("{:?}", decoded[0])
    };
    let records: Vec<_> = rsp.records.iter().collect();
    assert_eq!(records.len(), 2);
    assert_eq!(
        (records[0].attribute, records[0].status),
        (0x0000, Status::Success)
    );
    let v = records[0].value.as_ref().unwrap();
    assert_eq!(
        (v.data_type, v.as_u64()),
        (DataType::Uint48, Some(112_516_402_455_057))
    );
    let v = records[1].value.as_ref().unwrap();
    assert_eq!(
        (records[1].attribute, v.data_type, v.as_i64()),
        (0x0400, DataType::Int24, Some(-2))
    );

    let Command::GetProfile(gp) = &decoded[1].command else {
        panic!("{:?}", decoded[1])
    };
    assert_eq!(
        (
            u8::from(gp.interval_channel),
            gp.end_time.0,
            gp.number_of_periods
        ),
        (0, 305_419_896, 24)
    );

    let Command::RequestFastPollMode(fp) = &decoded[2].command else {
        panic!("{:?}", decoded[2])
    };
    assert_eq!((fp.fast_poll_update_period, fp.duration), (2, 15));

    let Command::LoadControlEvent(lce) = &decoded[3].command else {
        panic!("{:?}", decoded[3])
    };
    assert_eq!(lce.issuer_event_id, 0x1234_5678);
    assert_eq!(lce.device_class.0, 0x0014);
    assert_eq!(lce.duration_in_minutes, 1);
    assert_eq!(u8::from(lce.criticality_level), 4);
    assert_eq!(lce.cooling_temperature_set_point, i16::MIN);
    assert_eq!(lce.average_load_adjustment_percentage, i8::MIN);
    assert_eq!(lce.duty_cycle, 0xFF);
}

#[test]
fn utc_time_0x1af5e100_is_2014_05_02_04_52_16() {
    // sep1-wire-facts.md §1: how Wireshark shows 0x1AF5E100.
    assert_eq!(
        hanrig_sep::UtcTime(0x1AF5_E100).to_string(),
        "2014-05-02T04:52:16Z"
    );
    assert_eq!(hanrig_sep::UtcTime(0).to_string(), "2000-01-01T00:00:00Z");
    assert_eq!(
        hanrig_sep::UtcTime(u32::MAX).to_string(),
        "2136-02-07T06:28:15Z"
    );
}
