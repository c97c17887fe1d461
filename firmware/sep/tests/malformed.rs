//! Bad input gets a typed error that says what and where; emitting never panics.

#![allow(clippy::unwrap_used)]

use hanrig_sep::clusters::messaging::{DisplayMessage, MessageControl};
use hanrig_sep::clusters::metering::{Formatting, Quantity, Reading, UnitOfMeasure};
use hanrig_sep::clusters::price::PublishPrice;
use hanrig_sep::wire::{CharString, OctetString};
use hanrig_sep::zcl::general::{AttrValue, AttributeRecord, DataType};
use hanrig_sep::{Command, Direction, Error, FrameType, UtcTime, ZclFrame};

/// Load Control Event from sep1-wire-facts.md §5(a).
const LCE: &str = "0909007856341214000000000000010004ffff0080008080ff00";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn truncated_load_control_event_names_the_missing_field_and_its_offset() {
    let bytes = unhex(LCE);
    let err = ZclFrame::parse(0x0701, &bytes[..bytes.len() - 1]).unwrap_err();
    assert_eq!(
        err,
        Error::Truncated {
            field: "event_control",
            offset: 25,
            needed: 1,
            available: 0
        }
    );
    let err = ZclFrame::parse(0x0701, &bytes[..10]).unwrap_err();
    assert_eq!(
        err,
        Error::Truncated {
            field: "start_time",
            offset: 10,
            needed: 4,
            available: 0
        }
    );
    let err = ZclFrame::parse(0x0701, &bytes[..12]).unwrap_err();
    assert_eq!(
        err,
        Error::Truncated {
            field: "start_time",
            offset: 10,
            needed: 4,
            available: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "truncated: start_time at offset 10 needs 4 byte(s), 2 left"
    );
}

#[test]
fn every_strict_prefix_of_a_fixed_layout_command_is_refused() {
    let bytes = unhex(LCE);
    for len in 0..bytes.len() {
        assert!(
            matches!(
                ZclFrame::parse(0x0701, &bytes[..len]),
                Err(Error::Truncated { .. })
            ),
            "prefix of {len} bytes was accepted"
        );
    }
}

#[test]
fn trailing_garbage_after_a_command_is_refused_with_its_offset() {
    let mut bytes = unhex(LCE);
    bytes.extend_from_slice(&[0xAA, 0xBB]);
    assert_eq!(
        ZclFrame::parse(0x0701, &bytes),
        Err(Error::TrailingBytes {
            offset: 26,
            count: 2
        })
    );
}

#[test]
fn header_truncation_is_reported_per_field() {
    assert_eq!(
        ZclFrame::parse(0x0701, &[]),
        Err(Error::Truncated {
            field: "frame_control",
            offset: 0,
            needed: 1,
            available: 0
        })
    );
    assert_eq!(
        ZclFrame::parse(0x0701, &[0x05, 0x10]),
        Err(Error::Truncated {
            field: "manufacturer_code",
            offset: 1,
            needed: 2,
            available: 1
        })
    );
    assert_eq!(
        ZclFrame::parse(0x0701, &[0x09, 0x01]),
        Err(Error::Truncated {
            field: "command_id",
            offset: 2,
            needed: 1,
            available: 0
        })
    );
}

#[test]
fn emitting_into_a_small_buffer_is_an_error_not_a_panic() {
    let frame = ZclFrame::parse(0x0701, &unhex(LCE)).unwrap();
    for size in 0..26 {
        let mut buf = vec![0u8; size];
        assert_eq!(
            frame.emit(&mut buf),
            Err(Error::BufferTooSmall {
                needed: 26,
                available: size
            })
        );
    }
}

fn publish_price() -> PublishPrice {
    PublishPrice {
        provider_id: 1,
        rate_label: OctetString::new(b"TOU peak").unwrap(),
        issuer_event_id: 2,
        current_time: UtcTime(3),
        unit_of_measure: UnitOfMeasure::KilowattHours,
        currency: 840,
        price_trailing_digit_and_price_tier: 0x21,
        number_of_price_tiers_and_register_tier: 0x31,
        start_time: UtcTime::NOW,
        duration_in_minutes: 0xFFFF,
        price: 1234,
        price_ratio: None,
        generation_price: None,
        generation_price_ratio: None,
        alternate_cost_delivered: None,
        alternate_cost_unit: None,
        alternate_cost_trailing_digit: None,
        number_of_block_thresholds: None,
        price_control: None,
        number_of_generation_tiers: None,
        generation_tier: None,
        extended_number_of_price_tiers: None,
        extended_price_tier: None,
        extended_register_tier: None,
    }
}

#[test]
fn publish_price_optional_fields_may_only_be_omitted_from_the_end() {
    let mut price = publish_price();
    price.price_control = Some(1);
    let frame = ZclFrame::new(0x0700, Command::PublishPrice(price), 1).unwrap();
    assert_eq!(
        frame.emit(&mut [0u8; 127]),
        Err(Error::OptionalFieldGap {
            field: "price_control"
        })
    );

    let mut price = publish_price();
    price.keep_optionals(8);
    assert_eq!(price.price_control, Some(0));
    assert!(!price.acknowledgement_required() && price.number_of_generation_tiers.is_none());
    let frame = ZclFrame::new(0x0700, Command::PublishPrice(price.clone()), 1).unwrap();
    let mut buf = [0u8; 127];
    let len = frame.emit(&mut buf).unwrap();
    // Header, 27 bytes of fixed SE 1.0 fields, the label with its length byte, then the eight
    // optional fields: ratio 1, generation price 4, generation ratio 1, alternate cost 4,
    // its unit 1 and trailing digit 1, block thresholds 1, price control 1.
    assert_eq!(len, 3 + 27 + (1 + 8) + (1 + 4 + 1) + (4 + 1 + 1 + 1 + 1));
    assert_eq!(ZclFrame::parse(0x0700, &buf[..len]).unwrap(), frame);
    assert_eq!((price.trailing_digits(), price.price_tier()), (2, 1));
    assert_eq!(
        (price.number_of_price_tiers(), price.register_tier()),
        (3, 1)
    );
}

#[test]
fn publish_price_cut_inside_an_optional_field_is_truncated_not_absent() {
    let mut price = publish_price();
    price.keep_optionals(2);
    let frame = ZclFrame::new(0x0700, Command::PublishPrice(price), 1).unwrap();
    let mut buf = [0u8; 127];
    let len = frame.emit(&mut buf).unwrap();
    assert!(matches!(
        ZclFrame::parse(0x0700, &buf[..len - 1]),
        Err(Error::Truncated {
            field: "generation_price",
            needed: 4,
            available: 3,
            ..
        })
    ));
    // Cut at the boundary: the frame is a valid SE 1.0 Publish Price with one optional field.
    let shorter = ZclFrame::parse(0x0700, &buf[..len - 4]).unwrap();
    let Command::PublishPrice(p) = shorter.command else {
        panic!()
    };
    assert_eq!((p.price_ratio, p.generation_price), (Some(0), None));
}

#[test]
fn rate_label_longer_than_12_bytes_is_refused() {
    let mut bytes = unhex("090000" /* header */);
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.push(13);
    bytes.extend_from_slice(b"thirteen byte");
    let err = ZclFrame::parse(0x0700, &bytes).unwrap_err();
    assert_eq!(
        err,
        Error::TooLong {
            field: "rate_label",
            offset: 8,
            capacity: 12
        }
    );
    assert!(OctetString::<12>::new(b"thirteen byte").is_err());
}

#[test]
fn a_command_under_the_wrong_header_is_refused_when_emitting() {
    let mut frame = ZclFrame::parse(0x0701, &unhex(LCE)).unwrap();
    frame.header.direction = Direction::ClientToServer;
    assert_eq!(
        frame.emit(&mut [0u8; 64]),
        Err(Error::CommandMismatch {
            command: "load_control_event",
            reason: "the header's direction is not this command's"
        })
    );
    let mut frame = ZclFrame::parse(0x0701, &unhex(LCE)).unwrap();
    frame.cluster = 0x0700;
    assert!(matches!(
        frame.emit(&mut [0u8; 64]),
        Err(Error::CommandMismatch { .. })
    ));
    let mut frame = ZclFrame::parse(0x0701, &unhex(LCE)).unwrap();
    frame.header.frame_type = FrameType::General;
    assert!(matches!(
        frame.emit(&mut [0u8; 64]),
        Err(Error::CommandMismatch { .. })
    ));
}

#[test]
fn unknown_commands_enum_values_and_reserved_bits_round_trip_byte_for_byte() {
    let cases: [(u16, &str); 5] = [
        // DRLC command 0x07 does not exist in SE 1.0.
        (0x0701, "19420701020304"),
        // Manufacturer-specific Price command.
        (0x0700, "0d3412420055"),
        // Reserved frame type 2 and reserved frame-control bits.
        (0x0702, "e2070000"),
        // Report Event Status with event status 0x42 and signature type 0x07 (both unknown).
        (
            0x0701,
            "010500785634124200000000f10080008080ff0007000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526272829",
        ),
        // Cluster 0xFC00, cluster-specific command 0x00: unknown cluster.
        (0xFC00, "11010000"),
    ];
    for (cluster, hex) in cases {
        let bytes = unhex(hex);
        let frame = ZclFrame::parse(cluster, &bytes).unwrap_or_else(|e| panic!("{hex}: {e}"));
        let mut buf = [0u8; 127];
        let len = frame.emit(&mut buf).unwrap();
        assert_eq!(&buf[..len], &bytes[..], "{hex}");
    }
}

#[test]
fn the_invalid_string_length_0xff_round_trips_and_shows_in_json() {
    // Display Message whose message is the invalid string, and a Read Attributes Response
    // with an invalid character string attribute (ZCL: length 0xFF means "invalid value").
    for (cluster, hex) in [
        (0x0703, "0901000700000000000000003c00ff"),
        (0x0000, "18010104000042ff"),
    ] {
        let bytes = unhex(hex);
        let frame = ZclFrame::parse(cluster, &bytes).unwrap_or_else(|e| panic!("{hex}: {e}"));
        let mut buf = [0u8; 64];
        let len = frame.emit(&mut buf).unwrap();
        assert_eq!(&buf[..len], &bytes[..]);
        let json = serde_json::to_value(&frame).unwrap();
        assert!(json.to_string().contains(r#"{"invalid":true}"#), "{json}");
        let back: ZclFrame = serde_json::from_value(json).unwrap();
        assert_eq!(back, frame);
    }
    assert!(CharString::<8>::INVALID.is_invalid());
    assert_eq!(CharString::<8>::INVALID.as_bytes(), b"");
}

#[test]
fn write_attributes_response_success_stands_alone() {
    // A SUCCESS record followed by more records is refused, as is SUCCESS among failures.
    assert!(matches!(
        ZclFrame::parse(0x0702, &unhex("1801040000010086000200")),
        Err(Error::Invalid {
            field: "status",
            offset: 3,
            ..
        })
    ));
    // A lone failure byte has no attribute: truncated.
    assert!(matches!(
        ZclFrame::parse(0x0702, &unhex("18010486")),
        Err(Error::Truncated {
            field: "attribute",
            offset: 4,
            ..
        })
    ));
}

#[test]
fn unknown_command_under_a_known_header_is_refused_when_emitting() {
    let frame = ZclFrame::parse(0x0701, &unhex("19420701020304")).unwrap();
    let mut forged = frame.clone();
    forged.header.command_id = 0x00;
    assert!(matches!(
        forged.emit(&mut [0u8; 64]),
        Err(Error::CommandMismatch {
            command: "unknown",
            ..
        })
    ));
}

#[test]
fn attribute_values_that_do_not_fit_their_type_are_refused() {
    let records = [AttributeRecord {
        attribute: 0,
        value: AttrValue::unsigned(DataType::Uint8, 256),
    }];
    // The record is checked when it is put in the list.
    let err =
        hanrig_sep::wire::Records::<AttributeRecord, 124>::from_items(records.iter()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Invalid {
                reason: "value does not fit the data type",
                ..
            }
        ),
        "{err:?}"
    );
    let signed = [AttributeRecord {
        attribute: 0,
        value: AttrValue::signed(DataType::Int24, -(1 << 23) - 1),
    }];
    assert!(hanrig_sep::wire::Records::<AttributeRecord, 124>::from_items(signed.iter()).is_err());
    let eui = [AttributeRecord {
        attribute: 0,
        value: AttrValue::bytes(DataType::Eui64, &[1, 2, 3]).unwrap(),
    }];
    assert!(hanrig_sep::wire::Records::<AttributeRecord, 124>::from_items(eui.iter()).is_err());
    // Arrays and structures are named as unsupported, with the offset of their type byte.
    let err = ZclFrame::parse(0x0702, &unhex("18010a00004805")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Invalid {
                field: "data_type",
                offset: 5,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn display_message_text_and_control_bits() {
    let msg = DisplayMessage {
        message_id: 7,
        message_control: MessageControl(0x80 | 0x08 | 0x01),
        start_time: UtcTime::NOW,
        duration_in_minutes: 60,
        message: CharString::new("Peak pricing 2–6 pm".as_bytes()).unwrap(),
        extended_message_control: None,
    };
    assert!(msg.message_control.confirmation_required());
    assert_eq!(msg.message_control.transmission(), 1);
    assert_eq!(
        msg.message_control.importance(),
        hanrig_sep::clusters::messaging::Importance::High
    );
    let frame = ZclFrame::new(0x0703, Command::DisplayMessage(msg), 9).unwrap();
    let mut buf = [0u8; 127];
    let len = frame.emit(&mut buf).unwrap();
    let back = ZclFrame::parse(0x0703, &buf[..len]).unwrap();
    let Command::DisplayMessage(m) = back.command else {
        panic!()
    };
    assert_eq!(m.message.as_str(), Some("Peak pricing 2–6 pm"));
}

#[test]
fn metering_readings_apply_multiplier_divisor_and_formatting() {
    // 0x2B: 5 digits left, 3 right, leading zeros shown.
    let r = Reading::new(
        123_456,
        1,
        1000,
        Formatting(0x2B),
        UnitOfMeasure::KilowattHours,
        Quantity::Summation,
    )
    .unwrap();
    assert_eq!(r.to_string(), "00123.456 kWh");
    // Suppress leading zeros.
    let r = Reading::new(
        123_456,
        1,
        1000,
        Formatting(0x80 | 0x2B),
        UnitOfMeasure::KilowattHours,
        Quantity::Summation,
    )
    .unwrap();
    assert_eq!(r.to_string(), "123.456 kWh");
    // Multiplier and truncation to the right digits: 7 × 3 / 1000 = 0.021 → one digit: 0.0
    let r = Reading::new(
        7,
        3,
        1000,
        Formatting(0x80 | 0x01),
        UnitOfMeasure::KilowattHours,
        Quantity::Demand,
    )
    .unwrap();
    assert_eq!(r.to_string(), "0.0 kW");
    // Negative demand (exporting).
    let r = Reading::new(
        -1500,
        1,
        1000,
        Formatting(0x92),
        UnitOfMeasure::CubicFeet,
        Quantity::Demand,
    )
    .unwrap();
    assert_eq!(r.to_string(), "-1.50 ft³/h");
    // BCD unit (0x80 + ft³): 0x1500 reads as 1500; a digit above 9 is refused.
    let bcd_ft3 = UnitOfMeasure::from(0x82);
    let r = Reading::new(
        0x1500,
        1,
        1000,
        Formatting(0x92),
        bcd_ft3,
        Quantity::Summation,
    )
    .unwrap();
    assert_eq!(r.to_string(), "1.50 ft³");
    assert_eq!(
        Reading::new(0x1A00, 1, 1, Formatting(0x80), bcd_ft3, Quantity::Summation),
        None
    );
    // Multiplier 0 (unset) counts as 1.
    let r = Reading::new(
        42,
        0,
        1,
        Formatting(0x80),
        UnitOfMeasure::KilowattHours,
        Quantity::Summation,
    )
    .unwrap();
    assert_eq!(r.to_string(), "42 kWh");
    // Integer part wider than the left digits is kept whole.
    let r = Reading::new(
        1_234_567,
        1,
        1,
        Formatting(0x18),
        UnitOfMeasure::UsGallons,
        Quantity::Summation,
    )
    .unwrap();
    assert_eq!(r.to_string(), "1234567 US gal");
    // Divisor 0 (unset) counts as 1; unknown unit is named by number.
    let r = Reading::new(
        42,
        1,
        0,
        Formatting(0x80),
        UnitOfMeasure::from(0x30),
        Quantity::Summation,
    )
    .unwrap();
    assert_eq!(r.to_string(), "42 (unit 0x30)");
}
