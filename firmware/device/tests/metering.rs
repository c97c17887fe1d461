//! The metering display's rules, each pinned by the behaviour it names.

#![allow(clippy::unwrap_used)]

use hanrig_device::metering::{ATTRIBUTES, MeteringDisplay, MeteringOutput};
use hanrig_sep::clusters::metering::{self, MeterStatus, UnitOfMeasure, attribute};
use hanrig_sep::wire::Records;
use hanrig_sep::zcl::general::{
    AttrValue, AttributeRecord, AttributeRecords, DataType, Encoding, ReadAttributeStatus,
    ReadAttributesResponse, Status,
};
use hanrig_sep::{Command, ZclFrame};
use proptest::prelude::*;

fn u(data_type: DataType, value: u64) -> AttrValue {
    AttrValue::unsigned(data_type, value)
}

fn report(records: &[(u16, AttrValue)]) -> AttributeRecords {
    let records: Vec<_> = records
        .iter()
        .map(|(attribute, value)| AttributeRecord {
            attribute: *attribute,
            value: value.clone(),
        })
        .collect();
    AttributeRecords {
        records: Records::from_items(&records).unwrap(),
    }
}

fn response(records: &[(u16, Result<AttrValue, Status>)]) -> ReadAttributesResponse {
    let records: Vec<_> = records
        .iter()
        .map(|(attribute, value)| match value {
            Ok(v) => ReadAttributeStatus {
                attribute: *attribute,
                status: Status::Success,
                value: Some(v.clone()),
            },
            Err(status) => ReadAttributeStatus {
                attribute: *attribute,
                status: *status,
                value: None,
            },
        })
        .collect();
    ReadAttributesResponse {
        records: Records::from_items(&records).unwrap(),
    }
}

fn text(reading: Option<metering::Reading>) -> Option<String> {
    reading.map(|r| r.to_string())
}

const KWH: u64 = 0x00;

#[test]
fn request_reads_the_display_attributes_from_the_metering_cluster() {
    let mut d = MeteringDisplay::new();
    d.request();
    let Some(MeteringOutput::Send(command)) = d.poll_output() else {
        panic!("no request")
    };
    assert_eq!(d.poll_output(), None);
    let Command::ReadAttributes(read) = &command else {
        panic!("{command:?}")
    };
    assert_eq!(read.attributes.iter().collect::<Vec<_>>(), ATTRIBUTES);
    let frame = ZclFrame::new(metering::CLUSTER_ID, command, 5).unwrap();
    let mut buf = [0u8; 127];
    let len = frame.emit(&mut buf).unwrap();
    assert_eq!(
        &buf[..len],
        [
            0x00, 5, 0x00, // general, client to server, Read Attributes
            0x00, 0x00, 0x00, 0x04, 0x00, 0x03, 0x01, 0x03, 0x02, 0x03, 0x03, 0x03, 0x04, 0x03,
            0x00, 0x02
        ]
    );
}

#[test]
fn requests_not_yet_polled_make_one_read() {
    let mut d = MeteringDisplay::new();
    assert_eq!(d.poll_output(), None);
    d.request();
    d.request();
    assert!(matches!(
        d.poll_output(),
        Some(MeteringOutput::Send(Command::ReadAttributes(_)))
    ));
    assert_eq!(d.poll_output(), None);
}

#[test]
fn summation_123456_with_divisor_1000_and_formatting_0x2b_reads_00123_456_kwh() {
    let mut d = MeteringDisplay::new();
    d.handle_read_attributes_response(&response(&[
        (
            attribute::CURRENT_SUMMATION_DELIVERED,
            Ok(u(DataType::Uint48, 0x0000_0001_E240)),
        ),
        (attribute::UNIT_OF_MEASURE, Ok(u(DataType::Enum8, KWH))),
        (attribute::MULTIPLIER, Ok(u(DataType::Uint24, 1))),
        (attribute::DIVISOR, Ok(u(DataType::Uint24, 1000))),
        (
            attribute::SUMMATION_FORMATTING,
            Ok(u(DataType::Bitmap8, 0x2B)),
        ),
    ]));
    assert_eq!(text(d.summation()).as_deref(), Some("00123.456 kWh"));
    assert_eq!(d.rejected_values(), 0);
}

#[test]
fn demand_minus_1500_with_divisor_1000_and_formatting_0x92_reads_minus_1_50_kw() {
    let mut d = MeteringDisplay::new();
    d.handle_report(&report(&[
        (attribute::UNIT_OF_MEASURE, u(DataType::Enum8, KWH)),
        (attribute::DIVISOR, u(DataType::Uint24, 1000)),
        (attribute::DEMAND_FORMATTING, u(DataType::Bitmap8, 0x92)),
        (
            attribute::INSTANTANEOUS_DEMAND,
            AttrValue::signed(DataType::Int24, -1500),
        ),
    ]));
    assert_eq!(text(d.demand()).as_deref(), Some("-1.50 kW"));
    // No summation was read: no summation reading.
    assert_eq!(d.summation(), None);
}

#[test]
fn readings_are_none_until_the_value_and_the_unit_are_known() {
    let mut d = MeteringDisplay::new();
    assert_eq!((d.summation(), d.demand()), (None, None));
    d.handle_report(&report(&[
        (
            attribute::CURRENT_SUMMATION_DELIVERED,
            u(DataType::Uint48, 5),
        ),
        (
            attribute::INSTANTANEOUS_DEMAND,
            AttrValue::signed(DataType::Int24, 7),
        ),
    ]));
    assert_eq!((d.summation(), d.demand()), (None, None));
    d.handle_report(&report(&[(
        attribute::UNIT_OF_MEASURE,
        u(DataType::Enum8, 0x01),
    )]));
    assert_eq!(text(d.summation()).as_deref(), Some("5 m³"));
    assert_eq!(text(d.demand()).as_deref(), Some("7 m³/h"));
}

#[test]
fn multiplier_and_divisor_count_as_one_until_read() {
    let mut d = MeteringDisplay::new();
    d.handle_report(&report(&[
        (
            attribute::CURRENT_SUMMATION_DELIVERED,
            u(DataType::Uint48, 42),
        ),
        (attribute::UNIT_OF_MEASURE, u(DataType::Enum8, KWH)),
        (attribute::SUMMATION_FORMATTING, u(DataType::Bitmap8, 0x2B)),
    ]));
    assert_eq!(text(d.summation()).as_deref(), Some("00042.000 kWh"));
    d.handle_report(&report(&[(attribute::MULTIPLIER, u(DataType::Uint24, 10))]));
    assert_eq!(text(d.summation()).as_deref(), Some("00420.000 kWh"));
}

#[test]
fn values_of_an_unexpected_type_are_ignored_and_counted() {
    let mut d = MeteringDisplay::new();
    let good = [
        (
            attribute::CURRENT_SUMMATION_DELIVERED,
            u(DataType::Uint48, 1000),
        ),
        (
            attribute::INSTANTANEOUS_DEMAND,
            AttrValue::signed(DataType::Int24, -2),
        ),
        (attribute::UNIT_OF_MEASURE, u(DataType::Enum8, KWH)),
        (attribute::MULTIPLIER, u(DataType::Uint24, 1)),
        (attribute::DIVISOR, u(DataType::Uint24, 1)),
        (attribute::SUMMATION_FORMATTING, u(DataType::Bitmap8, 0x00)),
        (attribute::DEMAND_FORMATTING, u(DataType::Bitmap8, 0x00)),
        (attribute::STATUS, u(DataType::Bitmap8, 0x00)),
    ];
    d.handle_report(&report(&good));
    let bad = [
        (
            attribute::CURRENT_SUMMATION_DELIVERED,
            u(DataType::Uint32, 9),
        ),
        (attribute::INSTANTANEOUS_DEMAND, u(DataType::Uint24, 9)),
        (attribute::UNIT_OF_MEASURE, u(DataType::Uint8, 0x01)),
        (attribute::MULTIPLIER, u(DataType::Uint16, 9)),
        (attribute::DIVISOR, u(DataType::Uint32, 9)),
        (attribute::SUMMATION_FORMATTING, u(DataType::Uint8, 0x2B)),
        (attribute::DEMAND_FORMATTING, u(DataType::Enum8, 0x2B)),
        (attribute::STATUS, u(DataType::Enum8, 0x01)),
    ];
    d.handle_report(&report(&bad));
    d.handle_read_attributes_response(&response(&[(
        attribute::CURRENT_SUMMATION_DELIVERED,
        Ok(AttrValue::signed(DataType::Int48, 9)),
    )]));
    assert_eq!(d.rejected_values(), 9);
    assert_eq!(text(d.summation()).as_deref(), Some("1000 kWh"));
    assert_eq!(text(d.demand()).as_deref(), Some("-2 kW"));
    assert_eq!(d.unit(), Some(UnitOfMeasure::KilowattHours));
    assert_eq!(d.status(), Some(MeterStatus(0)));
}

#[test]
fn failed_records_and_other_attributes_are_ignored_without_counting() {
    let mut d = MeteringDisplay::new();
    d.handle_read_attributes_response(&response(&[
        (attribute::UNIT_OF_MEASURE, Ok(u(DataType::Enum8, KWH))),
        (
            attribute::CURRENT_SUMMATION_DELIVERED,
            Err(Status::UnsupportedAttribute),
        ),
        (
            attribute::CURRENT_SUMMATION_RECEIVED,
            Ok(u(DataType::Uint48, 7)),
        ),
        (
            attribute::POWER_FACTOR,
            Ok(AttrValue::signed(DataType::Int8, -1)),
        ),
    ]));
    assert_eq!(d.rejected_values(), 0);
    assert_eq!(d.summation(), None);
    assert_eq!(d.unit(), Some(UnitOfMeasure::KilowattHours));
}

#[test]
fn status_bits_follow_reports() {
    let mut d = MeteringDisplay::new();
    assert_eq!(d.status(), None);
    let bits = MeterStatus::LOW_BATTERY | MeterStatus::TAMPER_DETECT;
    d.handle_report(&report(&[(
        attribute::STATUS,
        u(DataType::Bitmap8, u64::from(bits)),
    )]));
    assert_eq!(d.status(), Some(MeterStatus(bits)));
    assert!(d.status().unwrap().contains(MeterStatus::TAMPER_DETECT));
}

/// The Read Attributes Response of `sep1-wire-facts.md` §5 (a), as zigpy decodes it:
/// summation uint48 0x665544332211, demand int24 −2.
#[test]
fn zigpy_oracle_response_reads_summation_and_demand() {
    let bytes = [
        0x18, 0x05, 0x01, 0x00, 0x00, 0x00, 0x25, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x00, 0x04,
        0x00, 0x2A, 0xFE, 0xFF, 0xFF,
    ];
    let frame = ZclFrame::parse(metering::CLUSTER_ID, &bytes).unwrap();
    let Command::ReadAttributesResponse(response) = &frame.command else {
        panic!("{:?}", frame.command)
    };
    let mut d = MeteringDisplay::new();
    d.handle_read_attributes_response(response);
    d.handle_report(&report(&[(
        attribute::UNIT_OF_MEASURE,
        u(DataType::Enum8, KWH),
    )]));
    assert_eq!(d.summation().map(|r| r.scaled), Some(112_516_402_455_057));
    assert_eq!(text(d.demand()).as_deref(), Some("-2 kW"));
    assert_eq!(d.rejected_values(), 0);
}

/// The data type each of [`ATTRIBUTES`] carries.
const EXPECTED: [DataType; 8] = [
    DataType::Uint48,
    DataType::Int24,
    DataType::Enum8,
    DataType::Uint24,
    DataType::Uint24,
    DataType::Bitmap8,
    DataType::Bitmap8,
    DataType::Bitmap8,
];

/// A fixed-size value of any integer, bitmap or enum type, in its type's range.
fn value() -> impl Strategy<Value = AttrValue> {
    const TYPES: [u8; 16] = [
        0x10u8, 0x18, 0x19, 0x1A, 0x20, 0x21, 0x22, 0x23, 0x25, 0x28, 0x29, 0x2A, 0x2B, 0x2D, 0x30,
        0x31,
    ];
    (proptest::sample::select(&TYPES[..]), any::<u64>()).prop_map(|(id, raw)| {
        let data_type = DataType::from(id);
        match data_type.encoding() {
            Encoding::Signed(n) => {
                let shift = 64 - 8 * n as u32;
                AttrValue::signed(data_type, ((raw << shift) as i64) >> shift)
            }
            Encoding::Unsigned(n) => AttrValue::unsigned(data_type, raw & ((1u64 << (8 * n)) - 1)),
            _ => unreachable!(),
        }
    })
}

proptest! {
    /// Any integer value for any display attribute is taken when its type is the attribute's
    /// and counted otherwise, and the readings always format.
    #[test]
    fn any_value_is_taken_or_counted(values in proptest::collection::vec((0usize..8, value()), 0..16)) {
        let mut d = MeteringDisplay::new();
        for (i, value) in &values {
            let before = d.rejected_values();
            d.handle_report(&report(&[(ATTRIBUTES[*i], value.clone())]));
            prop_assert_eq!(d.rejected_values() - before, u32::from(value.data_type != EXPECTED[*i]));
        }
        let _ = (d.summation().map(|r| r.to_string()), d.demand().map(|r| r.to_string()));
    }
}
