//! The meter's readings as an in-home display shows them: the attributes it reads from the
//! meter's Simple Metering server, and the summation and demand they make.
//!
//! Sans-IO: [`MeteringDisplay::request`] queues a Read Attributes to send to the meter's
//! Metering cluster (0x0702); feed it the Read Attributes Response and any Report Attributes
//! that cluster sends ([`handle_read_attributes_response`], [`handle_report`]); read
//! [`summation`] and [`demand`], ready to print.
//!
//! Rules (`sep1-wire-facts.md` §2, Simple Metering attributes):
//! - the display keeps CurrentSummationDelivered (uint48), InstantaneousDemand (int24),
//!   UnitOfMeasure (enum8), Multiplier and Divisor (uint24), SummationFormatting,
//!   DemandFormatting and Status (bitmap8); each value replaces the one before;
//! - a value whose data type is not its attribute's is ignored and counted
//!   ([`rejected_values`]); records with a failure status and other attributes are ignored;
//! - a reading is `None` until its value and the unit are known; Multiplier and Divisor count as
//!   1 and the formatting as 0x00 (whole units, no padding) until read. Scaling and formatting
//!   are [`Reading`]'s.
//!
//! [`handle_read_attributes_response`]: MeteringDisplay::handle_read_attributes_response
//! [`handle_report`]: MeteringDisplay::handle_report
//! [`summation`]: MeteringDisplay::summation
//! [`demand`]: MeteringDisplay::demand
//! [`rejected_values`]: MeteringDisplay::rejected_values

use hanrig_sep::Command;
use hanrig_sep::clusters::metering::{
    Formatting, MeterStatus, Quantity, Reading, UnitOfMeasure, attribute,
};
use hanrig_sep::wire::Records;
use hanrig_sep::zcl::general::{
    AttrValue, AttributeRecords, DataType, Encoding, ReadAttributes, ReadAttributesResponse,
    Status, Value,
};

/// The attributes [`MeteringDisplay::request`] reads, in request order.
pub const ATTRIBUTES: [u16; 8] = [
    attribute::CURRENT_SUMMATION_DELIVERED,
    attribute::INSTANTANEOUS_DEMAND,
    attribute::UNIT_OF_MEASURE,
    attribute::MULTIPLIER,
    attribute::DIVISOR,
    attribute::SUMMATION_FORMATTING,
    attribute::DEMAND_FORMATTING,
    attribute::STATUS,
];

/// What the display asks its caller to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MeteringOutput {
    /// Send this command to the meter's Metering cluster (0x0702): a
    /// [`Command::ReadAttributes`] of [`ATTRIBUTES`].
    Send(Command),
}

/// The meter's values as last read or reported.
#[derive(Debug, Clone, Default)]
pub struct MeteringDisplay {
    summation: Option<u64>,
    demand: Option<i64>,
    unit: Option<UnitOfMeasure>,
    multiplier: Option<u32>,
    divisor: Option<u32>,
    summation_formatting: Option<Formatting>,
    demand_formatting: Option<Formatting>,
    status: Option<MeterStatus>,
    rejected: u32,
    /// A Read Attributes waits to be polled.
    request_pending: bool,
}

/// An unsigned value of exactly `expected`, in its range.
fn unsigned(value: &AttrValue, expected: DataType) -> Option<u64> {
    match (&value.value, expected.encoding()) {
        (Value::Unsigned(v), Encoding::Unsigned(n))
            if value.data_type == expected && (n >= 8 || *v >> (8 * n) == 0) =>
        {
            Some(*v)
        }
        _ => None,
    }
}

/// A signed value of exactly `expected`, in its range.
fn signed(value: &AttrValue, expected: DataType) -> Option<i64> {
    match (&value.value, expected.encoding()) {
        (Value::Signed(v), Encoding::Signed(n)) if value.data_type == expected && n <= 8 => {
            let shift = 64 - 8 * n as u32;
            ((*v << shift) >> shift == *v).then_some(*v)
        }
        _ => None,
    }
}

impl MeteringDisplay {
    /// A display that knows nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues a Read Attributes of [`ATTRIBUTES`] for the meter (requests not yet polled
    /// make one).
    pub fn request(&mut self) {
        self.request_pending = true;
    }

    /// The next output, if any. Call until `None` after [`MeteringDisplay::request`].
    pub fn poll_output(&mut self) -> Option<MeteringOutput> {
        if !core::mem::take(&mut self.request_pending) {
            return None;
        }
        // Eight attribute IDs always fit the list.
        let attributes = Records::from_items(ATTRIBUTES.iter()).ok()?;
        Some(MeteringOutput::Send(Command::ReadAttributes(
            ReadAttributes { attributes },
        )))
    }

    /// A Read Attributes Response from the meter's Metering cluster.
    pub fn handle_read_attributes_response(&mut self, response: &ReadAttributesResponse) {
        for record in response.records.iter() {
            if let (Status::Success, Some(value)) = (record.status, &record.value) {
                self.update(record.attribute, value);
            }
        }
    }

    /// A Report Attributes from the meter's Metering cluster.
    pub fn handle_report(&mut self, report: &AttributeRecords) {
        for record in report.records.iter() {
            self.update(record.attribute, &record.value);
        }
    }

    fn update(&mut self, attribute: u16, value: &AttrValue) {
        let stored = match attribute {
            attribute::CURRENT_SUMMATION_DELIVERED => {
                unsigned(value, DataType::Uint48).map(|v| self.summation = Some(v))
            }
            attribute::INSTANTANEOUS_DEMAND => {
                signed(value, DataType::Int24).map(|v| self.demand = Some(v))
            }
            attribute::UNIT_OF_MEASURE => unsigned(value, DataType::Enum8)
                .and_then(|v| u8::try_from(v).ok())
                .map(|v| self.unit = Some(UnitOfMeasure::from(v))),
            attribute::MULTIPLIER => unsigned(value, DataType::Uint24)
                .and_then(|v| u32::try_from(v).ok())
                .map(|v| self.multiplier = Some(v)),
            attribute::DIVISOR => unsigned(value, DataType::Uint24)
                .and_then(|v| u32::try_from(v).ok())
                .map(|v| self.divisor = Some(v)),
            attribute::SUMMATION_FORMATTING => unsigned(value, DataType::Bitmap8)
                .and_then(|v| u8::try_from(v).ok())
                .map(|v| self.summation_formatting = Some(Formatting(v))),
            attribute::DEMAND_FORMATTING => unsigned(value, DataType::Bitmap8)
                .and_then(|v| u8::try_from(v).ok())
                .map(|v| self.demand_formatting = Some(Formatting(v))),
            attribute::STATUS => unsigned(value, DataType::Bitmap8)
                .and_then(|v| u8::try_from(v).ok())
                .map(|v| self.status = Some(MeterStatus(v))),
            _ => return,
        };
        if stored.is_none() {
            debug!(
                "metering: attribute {} has type {}, ignored",
                attribute,
                u8::from(value.data_type)
            );
            self.rejected = self.rejected.saturating_add(1);
        }
    }

    /// CurrentSummationDelivered, scaled and formatted; `None` until it and the unit are known.
    pub fn summation(&self) -> Option<Reading> {
        Reading::new(
            i64::try_from(self.summation?).ok()?,
            self.multiplier.unwrap_or(1),
            self.divisor.unwrap_or(1),
            self.summation_formatting.unwrap_or(Formatting(0)),
            self.unit?,
            Quantity::Summation,
        )
    }

    /// InstantaneousDemand, scaled and formatted; `None` until it and the unit are known.
    pub fn demand(&self) -> Option<Reading> {
        Reading::new(
            self.demand?,
            self.multiplier.unwrap_or(1),
            self.divisor.unwrap_or(1),
            self.demand_formatting.unwrap_or(Formatting(0)),
            self.unit?,
            Quantity::Demand,
        )
    }

    /// The meter's Multiplier, once read.
    pub fn multiplier(&self) -> Option<u32> {
        self.multiplier
    }

    /// The meter's Status bits, once read.
    pub fn status(&self) -> Option<MeterStatus> {
        self.status
    }

    /// The meter's UnitOfMeasure, once read.
    pub fn unit(&self) -> Option<UnitOfMeasure> {
        self.unit
    }

    /// Values ignored because their data type was not their attribute's.
    pub fn rejected_values(&self) -> u32 {
        self.rejected
    }
}
