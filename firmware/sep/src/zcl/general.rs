//! ZCL general (profile-wide) commands used by Smart Energy, ZCL status codes, data types and
//! typed attribute values.

use crate::error::{Error, Result};
use crate::wire::{ByteString, Field, Reader, Records, Writer};
use crate::{MAX_PAYLOAD_LEN, UtcTime};

/// General command identifiers (ZCL 2.5).
pub mod command_id {
    /// Read Attributes.
    pub const READ_ATTRIBUTES: u8 = 0x00;
    /// Read Attributes Response.
    pub const READ_ATTRIBUTES_RESPONSE: u8 = 0x01;
    /// Write Attributes.
    pub const WRITE_ATTRIBUTES: u8 = 0x02;
    /// Write Attributes Undivided.
    pub const WRITE_ATTRIBUTES_UNDIVIDED: u8 = 0x03;
    /// Write Attributes Response.
    pub const WRITE_ATTRIBUTES_RESPONSE: u8 = 0x04;
    /// Write Attributes No Response.
    pub const WRITE_ATTRIBUTES_NO_RESPONSE: u8 = 0x05;
    /// Configure Reporting.
    pub const CONFIGURE_REPORTING: u8 = 0x06;
    /// Configure Reporting Response.
    pub const CONFIGURE_REPORTING_RESPONSE: u8 = 0x07;
    /// Report Attributes.
    pub const REPORT_ATTRIBUTES: u8 = 0x0A;
    /// Default Response.
    pub const DEFAULT_RESPONSE: u8 = 0x0B;
}

open_enum! {
    /// ZCL status codes (ZCL spec §2.5.3; Wireshark `zbee_zcl_status_names`).
    pub enum Status(u8) {
        Success = 0x00, Failure = 0x01, NotAuthorized = 0x7E, ReservedFieldNotZero = 0x7F,
        MalformedCommand = 0x80, UnsupClusterCommand = 0x81, UnsupGeneralCommand = 0x82,
        UnsupManufClusterCommand = 0x83, UnsupManufGeneralCommand = 0x84, InvalidField = 0x85,
        UnsupportedAttribute = 0x86, InvalidValue = 0x87, ReadOnly = 0x88,
        InsufficientSpace = 0x89, DuplicateExists = 0x8A, NotFound = 0x8B,
        UnreportableAttribute = 0x8C, InvalidDataType = 0x8D, InvalidSelector = 0x8E,
        WriteOnly = 0x8F, InconsistentStartupState = 0x90, DefinedOutOfBand = 0x91,
        Inconsistent = 0x92, ActionDenied = 0x93, Timeout = 0x94, HardwareFailure = 0xC0,
        SoftwareFailure = 0xC1, CalibrationError = 0xC2,
    }
}

open_enum! {
    /// ZCL data type identifiers (ZCL spec Table 2-10; Wireshark `ZBEE_ZCL_*` type IDs).
    pub enum DataType(u8) {
        NoData = 0x00,
        Data8 = 0x08, Data16 = 0x09, Data24 = 0x0A, Data32 = 0x0B,
        Data40 = 0x0C, Data48 = 0x0D, Data56 = 0x0E, Data64 = 0x0F,
        Bool = 0x10,
        Bitmap8 = 0x18, Bitmap16 = 0x19, Bitmap24 = 0x1A, Bitmap32 = 0x1B,
        Bitmap40 = 0x1C, Bitmap48 = 0x1D, Bitmap56 = 0x1E, Bitmap64 = 0x1F,
        Uint8 = 0x20, Uint16 = 0x21, Uint24 = 0x22, Uint32 = 0x23,
        Uint40 = 0x24, Uint48 = 0x25, Uint56 = 0x26, Uint64 = 0x27,
        Int8 = 0x28, Int16 = 0x29, Int24 = 0x2A, Int32 = 0x2B,
        Int40 = 0x2C, Int48 = 0x2D, Int56 = 0x2E, Int64 = 0x2F,
        Enum8 = 0x30, Enum16 = 0x31,
        SemiFloat = 0x38, SingleFloat = 0x39, DoubleFloat = 0x3A,
        OctetString = 0x41, CharString = 0x42, LongOctetString = 0x43, LongCharString = 0x44,
        Array = 0x48, Structure = 0x4C, Set = 0x50, Bag = 0x51,
        TimeOfDay = 0xE0, Date = 0xE1, UtcTime = 0xE2,
        ClusterId = 0xE8, AttributeId = 0xE9, BacnetOid = 0xEA,
        Eui64 = 0xF0, SecurityKey = 0xF1,
        UnknownType = 0xFF,
    }
}

/// How a value of a [`DataType`] is laid out on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// A little-endian unsigned integer of this many bytes (bool, data, bitmaps, uints, enums,
    /// floats as raw bits, times, dates, IDs).
    Unsigned(usize),
    /// A little-endian two's-complement integer of this many bytes.
    Signed(usize),
    /// Exactly this many bytes, kept in wire order (EUI64, security key).
    Bytes(usize),
    /// A string with a length prefix of this many bytes.
    Prefixed(usize),
    /// A type this codec does not carry (array, structure, set, bag, reserved IDs).
    Unsupported,
}

impl DataType {
    /// The wire layout of values of this type.
    pub fn encoding(self) -> Encoding {
        let id = u8::from(self);
        match id {
            0x00 | 0xFF => Encoding::Unsigned(0),
            0x08..=0x0F => Encoding::Unsigned(usize::from(id - 0x07)),
            0x10 => Encoding::Unsigned(1),
            0x18..=0x1F => Encoding::Unsigned(usize::from(id - 0x17)),
            0x20..=0x27 => Encoding::Unsigned(usize::from(id - 0x1F)),
            0x28..=0x2F => Encoding::Signed(usize::from(id - 0x27)),
            0x30 => Encoding::Unsigned(1),
            0x31 | 0x38 | 0xE8 | 0xE9 => Encoding::Unsigned(2),
            0x39 | 0xE0 | 0xE1 | 0xE2 | 0xEA => Encoding::Unsigned(4),
            0x3A => Encoding::Unsigned(8),
            0x41 | 0x42 => Encoding::Prefixed(1),
            0x43 | 0x44 => Encoding::Prefixed(2),
            0xF0 => Encoding::Bytes(8),
            0xF1 => Encoding::Bytes(16),
            _ => Encoding::Unsupported,
        }
    }

    /// Whether reports of this type carry a reportable-change field (ZCL "analog" types:
    /// integers, floats, time of day, date, UTCTime).
    pub fn is_analog(self) -> bool {
        matches!(u8::from(self), 0x20..=0x2F | 0x38..=0x3A | 0xE0..=0xE2)
    }
}

/// The value part of an [`AttrValue`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Value {
    /// Unsigned and bit-pattern types.
    Unsigned(u64),
    /// Signed integers.
    Signed(i64),
    /// Strings, EUI64 and keys, in wire order without any length prefix.
    Bytes(ByteString<MAX_PAYLOAD_LEN>),
    /// The invalid value of a string type: length 0xFF (0xFFFF for long strings), no bytes.
    InvalidString,
}

/// The all-ones length that marks an invalid string with a `prefix`-byte length.
fn invalid_length(prefix: usize) -> u64 {
    if prefix == 1 { 0xFF } else { 0xFFFF }
}

/// A typed attribute value: its ZCL data type and the value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AttrValue {
    /// The data type sent before the value.
    pub data_type: DataType,
    /// The value.
    pub value: Value,
}

impl AttrValue {
    /// An unsigned or bit-pattern value of `data_type`.
    pub fn unsigned(data_type: DataType, value: u64) -> Self {
        AttrValue {
            data_type,
            value: Value::Unsigned(value),
        }
    }
    /// A signed value of `data_type`.
    pub fn signed(data_type: DataType, value: i64) -> Self {
        AttrValue {
            data_type,
            value: Value::Signed(value),
        }
    }
    /// A string, EUI64 or key value of `data_type`; [`Error::TooLong`] past the capacity.
    pub fn bytes(data_type: DataType, value: &[u8]) -> Result<Self> {
        Ok(AttrValue {
            data_type,
            value: Value::Bytes(ByteString::new(value)?),
        })
    }
    /// A UTCTime value.
    pub fn utc(time: UtcTime) -> Self {
        Self::unsigned(DataType::UtcTime, u64::from(time.0))
    }
    /// The value as an unsigned integer, for unsigned and bit-pattern types.
    pub fn as_u64(&self) -> Option<u64> {
        match self.value {
            Value::Unsigned(v) => Some(v),
            _ => None,
        }
    }
    /// The value as a signed integer, for signed types (and unsigned ones that fit).
    pub fn as_i64(&self) -> Option<i64> {
        match self.value {
            Value::Signed(v) => Some(v),
            Value::Unsigned(v) => i64::try_from(v).ok(),
            Value::Bytes(_) | Value::InvalidString => None,
        }
    }
    /// The value's bytes, for strings, EUI64 and keys.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.value {
            Value::Bytes(b) => Some(b.as_bytes()),
            _ => None,
        }
    }

    /// Reads a value of a type already read.
    fn read_value(r: &mut Reader<'_>, data_type: DataType, name: &'static str) -> Result<Self> {
        let value = match data_type.encoding() {
            Encoding::Unsigned(n) => Value::Unsigned(r.uint(name, n)?),
            Encoding::Signed(n) => {
                let raw = r.uint(name, n)?;
                let shift = 64 - 8 * n as u32;
                Value::Signed(((raw << shift) as i64) >> shift)
            }
            Encoding::Bytes(n) => Value::Bytes(ByteString::read_exact(r, name, n)?),
            Encoding::Prefixed(p) => match r.uint(name, p)? {
                // An all-ones length is the string type's invalid value: no bytes follow.
                len if len == invalid_length(p) => Value::InvalidString,
                len => Value::Bytes(ByteString::read_exact(r, name, len as usize)?),
            },
            Encoding::Unsupported => {
                return Err(Error::Invalid {
                    field: "data_type",
                    offset: r.offset().saturating_sub(1),
                    reason: "data type not supported (array, structure, set, bag or reserved)",
                });
            }
        };
        Ok(AttrValue { data_type, value })
    }

    fn write_value(&self, w: &mut Writer<'_>, name: &'static str) -> Result<()> {
        let invalid = |reason| Error::Invalid {
            field: name,
            offset: w.position(),
            reason,
        };
        match (self.data_type.encoding(), &self.value) {
            (Encoding::Unsigned(n), Value::Unsigned(v)) => {
                if n < 8 && *v >> (8 * n) != 0 {
                    return Err(invalid("value does not fit the data type"));
                }
                w.uint(*v, n)
            }
            (Encoding::Signed(n), Value::Signed(v)) => {
                let shift = 64 - 8 * n as u32;
                if (v << shift) >> shift != *v {
                    return Err(invalid("value does not fit the data type"));
                }
                w.uint(*v as u64, n)
            }
            (Encoding::Bytes(n), Value::Bytes(b)) => {
                if b.as_bytes().len() != n {
                    return Err(invalid(
                        "value has the wrong number of bytes for the data type",
                    ));
                }
                w.bytes(b.as_bytes())
            }
            // Capacity keeps strings below the all-ones length that means "invalid".
            (Encoding::Prefixed(p), Value::Bytes(b)) => {
                w.uint(b.as_bytes().len() as u64, p)?;
                w.bytes(b.as_bytes())
            }
            (Encoding::Prefixed(p), Value::InvalidString) => w.uint(invalid_length(p), p),
            (Encoding::Unsupported, _) => Err(invalid("data type not supported")),
            _ => Err(invalid("value kind does not match the data type")),
        }
    }

    fn value_len(&self) -> usize {
        match (self.data_type.encoding(), &self.value) {
            (Encoding::Unsigned(n) | Encoding::Signed(n), _) => n,
            (Encoding::Prefixed(p), Value::Bytes(b)) => p + b.as_bytes().len(),
            (Encoding::Prefixed(p), Value::InvalidString) => p,
            (_, Value::Bytes(b)) => b.as_bytes().len(),
            _ => 0,
        }
    }
}

/// Type byte, then the value.
impl Field for AttrValue {
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        let data_type = DataType::read(r, "data_type")?;
        Self::read_value(r, data_type, name)
    }
    fn write(&self, w: &mut Writer<'_>, name: &'static str) -> Result<()> {
        self.data_type.write(w, "data_type")?;
        self.write_value(w, name)
    }
    fn wire_len(&self) -> usize {
        1 + self.value_len()
    }
}

#[cfg(feature = "proptest")]
impl proptest::arbitrary::Arbitrary for AttrValue {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        (
            any::<u8>(),
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..24),
            any::<u8>(),
        )
            .prop_filter_map("supported data type", |(id, raw, bytes, pick)| {
                let data_type = DataType::from(id);
                Some(match data_type.encoding() {
                    Encoding::Unsigned(n) => {
                        let mask = if n >= 8 {
                            u64::MAX
                        } else {
                            (1u64 << (8 * n)) - 1
                        };
                        AttrValue::unsigned(data_type, raw & mask)
                    }
                    Encoding::Signed(n) => {
                        let shift = 64 - 8 * n as u32;
                        AttrValue::signed(data_type, ((raw << shift) as i64) >> shift)
                    }
                    Encoding::Bytes(n) => {
                        let mut v = bytes.clone();
                        v.resize(n, 0xA5);
                        AttrValue::bytes(data_type, &v).ok()?
                    }
                    Encoding::Prefixed(_) if pick % 8 == 0 => AttrValue {
                        data_type,
                        value: Value::InvalidString,
                    },
                    Encoding::Prefixed(_) => AttrValue::bytes(data_type, &bytes).ok()?,
                    Encoding::Unsupported => return None,
                })
            })
            .boxed()
    }
}

layout! {
    /// Read Attributes (0x00).
    pub struct ReadAttributes {
        /// Attribute identifiers to read.
        pub attributes: Records<u16, MAX_PAYLOAD_LEN>,
    }
}

/// One record of a Read Attributes Response: the value is present only when `status` is
/// SUCCESS.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReadAttributeStatus {
    /// Attribute identifier.
    pub attribute: u16,
    /// SUCCESS, or why the attribute could not be read.
    pub status: Status,
    /// The value, when `status` is SUCCESS.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub value: Option<AttrValue>,
}

impl ReadAttributeStatus {
    /// A server's answer for `attribute`: SUCCESS with the value, or UNSUPPORTED_ATTRIBUTE.
    pub fn answer(attribute: u16, value: Option<AttrValue>) -> Self {
        ReadAttributeStatus {
            attribute,
            status: if value.is_some() {
                Status::Success
            } else {
                Status::UnsupportedAttribute
            },
            value,
        }
    }
}

impl Field for ReadAttributeStatus {
    fn read(r: &mut Reader<'_>, _: &'static str) -> Result<Self> {
        let attribute = r.u16("attribute")?;
        let status = Status::read(r, "status")?;
        let value = if status == Status::Success {
            Some(AttrValue::read(r, "value")?)
        } else {
            None
        };
        Ok(ReadAttributeStatus {
            attribute,
            status,
            value,
        })
    }
    fn write(&self, w: &mut Writer<'_>, _: &'static str) -> Result<()> {
        w.u16(self.attribute)?;
        self.status.write(w, "status")?;
        match (&self.value, self.status == Status::Success) {
            (Some(v), true) => v.write(w, "value"),
            (None, false) => Ok(()),
            _ => Err(Error::Invalid {
                field: "value",
                offset: w.position(),
                reason: "a value is present exactly when the status is SUCCESS",
            }),
        }
    }
    fn wire_len(&self) -> usize {
        3 + self.value.as_ref().map_or(0, Field::wire_len)
    }
}

#[cfg(feature = "proptest")]
impl proptest::arbitrary::Arbitrary for ReadAttributeStatus {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        (any::<u16>(), any::<Status>(), any::<AttrValue>())
            .prop_map(|(attribute, status, value)| ReadAttributeStatus {
                attribute,
                status,
                value: (status == Status::Success).then_some(value),
            })
            .boxed()
    }
}

layout! {
    /// Read Attributes Response (0x01).
    pub struct ReadAttributesResponse {
        /// One record per attribute asked for.
        pub records: Records<ReadAttributeStatus, MAX_PAYLOAD_LEN>,
    }
}

layout! {
    /// An attribute and its value, as in Write Attributes and Report Attributes.
    pub struct AttributeRecord {
        /// Attribute identifier.
        pub attribute: u16,
        /// Its typed value.
        pub value: AttrValue,
    }
}

layout! {
    /// Write Attributes (0x02), Write Attributes Undivided (0x03), Write Attributes No Response
    /// (0x05) and Report Attributes (0x0A): a list of attributes with values.
    pub struct AttributeRecords {
        /// The attributes with their values.
        pub records: Records<AttributeRecord, MAX_PAYLOAD_LEN>,
    }
}

/// A status record of Write Attributes Response and Configure Reporting Response: one per
/// failed attribute. When every attribute succeeded, the response is a single SUCCESS byte:
/// one record with status SUCCESS and no attribute (and no direction).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "proptest", derive(proptest_derive::Arbitrary))]
pub struct StatusRecord {
    /// Status of this attribute.
    pub status: Status,
    /// Direction (Configure Reporting Response only).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub direction: Option<u8>,
    /// The attribute, absent in the all-success form.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub attribute: Option<u16>,
}

/// The status list of Write Attributes Response (0x04) and Configure Reporting Response (0x07).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StatusRecords {
    /// One record per failed attribute, or a single record with no attribute when all succeeded.
    pub records: heapless::Vec<StatusRecord, { MAX_PAYLOAD_LEN / 3 }>,
}

impl StatusRecords {
    fn read(r: &mut Reader<'_>, with_direction: bool) -> Result<Self> {
        let mut records = heapless::Vec::new();
        if r.remaining() == 0 {
            return Err(r.truncated("status", 1));
        }
        while r.remaining() > 0 {
            let offset = r.offset();
            let status = Status::read(r, "status")?;
            if status == Status::Success {
                // Only failed attributes get a record; SUCCESS stands alone for "all succeeded"
                // (ZCL 2.5.5/2.5.8; Wireshark reads no attribute after a SUCCESS status).
                if !records.is_empty() || r.remaining() > 0 {
                    return Err(Error::Invalid {
                        field: "status",
                        offset,
                        reason: "SUCCESS may only stand alone; records are for failed attributes",
                    });
                }
                let _ = records.push(StatusRecord {
                    status,
                    direction: None,
                    attribute: None,
                });
                break;
            }
            let direction = if with_direction {
                Some(r.u8("direction")?)
            } else {
                None
            };
            let attribute = Some(r.u16("attribute")?);
            records
                .push(StatusRecord {
                    status,
                    direction,
                    attribute,
                })
                .map_err(|_| Error::TooLong {
                    field: "records",
                    offset,
                    capacity: MAX_PAYLOAD_LEN / 3,
                })?;
        }
        Ok(StatusRecords { records })
    }

    fn write(&self, w: &mut Writer<'_>, with_direction: bool) -> Result<()> {
        let invalid = |reason| {
            Err(Error::Invalid {
                field: "records",
                offset: 0,
                reason,
            })
        };
        if self.is_all_success() {
            return Status::Success.write(w, "status");
        }
        if self.records.is_empty() {
            return invalid("at least one status record is needed");
        }
        for rec in &self.records {
            if rec.status == Status::Success {
                return invalid(
                    "SUCCESS stands alone without attribute; records are for failed attributes",
                );
            }
            rec.status.write(w, "status")?;
            match (with_direction, rec.direction) {
                (true, Some(d)) => w.u8(d)?,
                (false, None) => {}
                (true, None) => return invalid("each record needs a direction"),
                (false, Some(_)) => {
                    return invalid("Write Attributes Response records have no direction");
                }
            }
            match rec.attribute {
                Some(a) => w.u16(a)?,
                None => return invalid("each failure record needs its attribute"),
            }
        }
        Ok(())
    }

    /// The lone SUCCESS form.
    fn is_all_success(&self) -> bool {
        matches!(
            self.records.as_slice(),
            [StatusRecord {
                status: Status::Success,
                direction: None,
                attribute: None
            }]
        )
    }

    fn len(&self, with_direction: bool) -> usize {
        if self.is_all_success() {
            1
        } else {
            self.records.len() * if with_direction { 4 } else { 3 }
        }
    }

    #[cfg(feature = "proptest")]
    fn strategy(with_direction: bool) -> proptest::strategy::BoxedStrategy<Self> {
        use proptest::prelude::*;
        let all_success = StatusRecords {
            records: heapless::Vec::from_slice(&[StatusRecord {
                status: Status::Success,
                direction: None,
                attribute: None,
            }])
            .unwrap_or_default(),
        };
        let failure = any::<Status>().prop_filter("records are for failed attributes", |s| {
            *s != Status::Success
        });
        prop_oneof![
            Just(all_success),
            proptest::collection::vec((failure, any::<u8>(), any::<u16>()), 1..6).prop_map(
                move |v| StatusRecords {
                    records: v
                        .into_iter()
                        .map(|(status, d, a)| StatusRecord {
                            status,
                            direction: with_direction.then_some(d),
                            attribute: Some(a),
                        })
                        .collect(),
                }
            ),
        ]
        .boxed()
    }
}

macro_rules! status_records {
    ($(#[$m:meta])* $name:ident, $with_direction:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub struct $name(pub StatusRecords);

        impl Field for $name {
            fn read(r: &mut Reader<'_>, _: &'static str) -> Result<Self> {
                StatusRecords::read(r, $with_direction).map($name)
            }
            fn write(&self, w: &mut Writer<'_>, _: &'static str) -> Result<()> {
                self.0.write(w, $with_direction)
            }
            fn wire_len(&self) -> usize {
                self.0.len($with_direction)
            }
        }

        #[cfg(feature = "proptest")]
        impl proptest::arbitrary::Arbitrary for $name {
            type Parameters = ();
            type Strategy = proptest::strategy::BoxedStrategy<Self>;
            fn arbitrary_with(_: ()) -> Self::Strategy {
                use proptest::strategy::Strategy;
                StatusRecords::strategy($with_direction).prop_map($name).boxed()
            }
        }
    };
}

status_records!(
    /// Write Attributes Response (0x04).
    WriteAttributesResponse,
    false
);
status_records!(
    /// Configure Reporting Response (0x07).
    ConfigureReportingResponse,
    true
);

/// One attribute reporting configuration record of Configure Reporting (0x06).
///
/// Direction 0 (the receiver reports): `data_type`, `min_interval`, `max_interval`, and
/// `reportable_change` for analog types. Direction 1 (the receiver expects reports):
/// `timeout`. Fields of the other direction are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReportingConfiguration {
    /// 0: how the receiver shall report; 1: how it shall expect reports.
    pub direction: u8,
    /// The attribute.
    pub attribute: u16,
    /// Direction 0: the attribute's data type.
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub data_type: Option<DataType>,
    /// Direction 0: minimum reporting interval, seconds.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub min_interval: Option<u16>,
    /// Direction 0: maximum reporting interval, seconds.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub max_interval: Option<u16>,
    /// Direction 0, analog types: the change that triggers a report, as the unsigned raw value
    /// of the data type's size.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub reportable_change: Option<u64>,
    /// Direction 1: timeout period, seconds.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub timeout: Option<u16>,
}

impl Field for ReportingConfiguration {
    fn read(r: &mut Reader<'_>, _: &'static str) -> Result<Self> {
        let direction = r.u8("direction")?;
        let attribute = r.u16("attribute")?;
        let mut rec = ReportingConfiguration {
            direction,
            attribute,
            ..Default::default()
        };
        if direction == 1 {
            rec.timeout = Some(r.u16("timeout")?);
            return Ok(rec);
        }
        if direction != 0 {
            return Err(Error::Invalid {
                field: "direction",
                offset: r.offset() - 3,
                reason: "reporting direction must be 0 or 1",
            });
        }
        let type_offset = r.offset();
        let data_type = DataType::read(r, "data_type")?;
        // Reserved type IDs: whether a reportable change follows is unknown, so the record
        // cannot be delimited (Wireshark guesses from ranges; we refuse).
        let size = match data_type.encoding() {
            Encoding::Unsupported => {
                return Err(Error::Invalid {
                    field: "data_type",
                    offset: type_offset,
                    reason: "data type not supported in a reporting configuration",
                });
            }
            Encoding::Unsigned(n) | Encoding::Signed(n) => n,
            Encoding::Bytes(n) | Encoding::Prefixed(n) => n,
        };
        rec.data_type = Some(data_type);
        rec.min_interval = Some(r.u16("min_interval")?);
        rec.max_interval = Some(r.u16("max_interval")?);
        if data_type.is_analog() {
            rec.reportable_change = Some(r.uint("reportable_change", size)?);
        }
        Ok(rec)
    }

    fn write(&self, w: &mut Writer<'_>, _: &'static str) -> Result<()> {
        let invalid = |field, reason| Error::Invalid {
            field,
            offset: 0,
            reason,
        };
        w.u8(self.direction)?;
        w.u16(self.attribute)?;
        match self.direction {
            1 => match (
                self.timeout,
                self.data_type,
                self.min_interval,
                self.max_interval,
                self.reportable_change,
            ) {
                (Some(t), None, None, None, None) => w.u16(t),
                _ => Err(invalid(
                    "timeout",
                    "direction 1 carries a timeout and nothing else",
                )),
            },
            0 => {
                let (Some(data_type), Some(min), Some(max), None) = (
                    self.data_type,
                    self.min_interval,
                    self.max_interval,
                    self.timeout,
                ) else {
                    return Err(invalid(
                        "data_type",
                        "direction 0 carries type, min_interval and max_interval, and no timeout",
                    ));
                };
                if data_type.encoding() == Encoding::Unsupported {
                    return Err(invalid(
                        "data_type",
                        "data type not supported in a reporting configuration",
                    ));
                }
                data_type.write(w, "data_type")?;
                w.u16(min)?;
                w.u16(max)?;
                match (
                    data_type.is_analog(),
                    self.reportable_change,
                    data_type.encoding(),
                ) {
                    (false, None, _) => Ok(()),
                    (true, Some(change), Encoding::Unsigned(n) | Encoding::Signed(n)) => {
                        if n < 8 && change >> (8 * n) != 0 {
                            return Err(invalid("reportable_change", "does not fit the data type"));
                        }
                        w.uint(change, n)
                    }
                    _ => Err(invalid(
                        "reportable_change",
                        "present exactly for analog data types (integers, floats, times)",
                    )),
                }
            }
            _ => Err(invalid("direction", "reporting direction must be 0 or 1")),
        }
    }

    fn wire_len(&self) -> usize {
        if self.direction == 1 {
            return 5;
        }
        let change = match self.data_type.map(DataType::encoding) {
            Some(Encoding::Unsigned(n) | Encoding::Signed(n))
                if self.reportable_change.is_some() =>
            {
                n
            }
            _ => 0,
        };
        8 + change
    }
}

#[cfg(feature = "proptest")]
impl proptest::arbitrary::Arbitrary for ReportingConfiguration {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        prop_oneof![
            (any::<u16>(), any::<u16>()).prop_map(|(attribute, timeout)| ReportingConfiguration {
                direction: 1,
                attribute,
                timeout: Some(timeout),
                ..Default::default()
            }),
            (
                any::<u16>(),
                any::<u8>(),
                any::<u16>(),
                any::<u16>(),
                any::<u64>()
            )
                .prop_filter_map(
                    "fixed-size type",
                    |(attribute, id, min, max, change)| {
                        let data_type = DataType::from(id);
                        let reportable_change = match (data_type.is_analog(), data_type.encoding())
                        {
                            (true, Encoding::Unsigned(n) | Encoding::Signed(n)) => {
                                Some(if n >= 8 {
                                    change
                                } else {
                                    change & ((1u64 << (8 * n)) - 1)
                                })
                            }
                            (false, Encoding::Unsupported) | (true, _) => return None,
                            (false, _) => None,
                        };
                        Some(ReportingConfiguration {
                            direction: 0,
                            attribute,
                            data_type: Some(data_type),
                            min_interval: Some(min),
                            max_interval: Some(max),
                            reportable_change,
                            timeout: None,
                        })
                    }
                ),
        ]
        .boxed()
    }
}

layout! {
    /// Configure Reporting (0x06).
    pub struct ConfigureReporting {
        /// One configuration per attribute.
        pub records: Records<ReportingConfiguration, MAX_PAYLOAD_LEN>,
    }
}

layout! {
    /// Default Response (0x0B).
    pub struct DefaultResponse {
        /// The command this answers.
        pub command_id: u8,
        /// Its outcome.
        pub status: Status,
    }
}
