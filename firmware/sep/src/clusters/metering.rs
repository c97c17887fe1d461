//! Simple Metering cluster (0x0702): commands, attribute identifiers, and the display rule that
//! turns raw summations and demands into the value and unit a person reads.

use crate::UtcTime;
use crate::wire::{Records, U24};
use core::fmt;

/// Cluster identifier.
pub const CLUSTER_ID: u16 = 0x0702;

/// Client→server command identifiers.
pub mod client_command {
    /// Get Profile.
    pub const GET_PROFILE: u8 = 0x00;
    /// Request Mirror Response.
    pub const REQUEST_MIRROR_RESPONSE: u8 = 0x01;
    /// Mirror Removed.
    pub const MIRROR_REMOVED: u8 = 0x02;
    /// Request Fast Poll Mode (SE 1.1).
    pub const REQUEST_FAST_POLL_MODE: u8 = 0x03;
}

/// Server→client command identifiers.
pub mod server_command {
    /// Get Profile Response.
    pub const GET_PROFILE_RESPONSE: u8 = 0x00;
    /// Request Mirror.
    pub const REQUEST_MIRROR: u8 = 0x01;
    /// Remove Mirror.
    pub const REMOVE_MIRROR: u8 = 0x02;
    /// Request Fast Poll Mode Response (SE 1.1).
    pub const REQUEST_FAST_POLL_MODE_RESPONSE: u8 = 0x03;
}

/// Server attribute identifiers.
pub mod attribute {
    /// CurrentSummationDelivered, uint48.
    pub const CURRENT_SUMMATION_DELIVERED: u16 = 0x0000;
    /// CurrentSummationReceived, uint48.
    pub const CURRENT_SUMMATION_RECEIVED: u16 = 0x0001;
    /// CurrentMaxDemandDelivered, uint48.
    pub const CURRENT_MAX_DEMAND_DELIVERED: u16 = 0x0002;
    /// CurrentMaxDemandReceived, uint48.
    pub const CURRENT_MAX_DEMAND_RECEIVED: u16 = 0x0003;
    /// DFTSummation, uint48.
    pub const DFT_SUMMATION: u16 = 0x0004;
    /// DailyFreezeTime, uint16.
    pub const DAILY_FREEZE_TIME: u16 = 0x0005;
    /// PowerFactor, int8.
    pub const POWER_FACTOR: u16 = 0x0006;
    /// ReadingSnapshotTime, UTCTime.
    pub const READING_SNAPSHOT_TIME: u16 = 0x0007;
    /// CurrentMaxDemandDeliveredTime, UTCTime.
    pub const CURRENT_MAX_DEMAND_DELIVERED_TIME: u16 = 0x0008;
    /// CurrentMaxDemandReceivedTime, UTCTime.
    pub const CURRENT_MAX_DEMAND_RECEIVED_TIME: u16 = 0x0009;
    /// DefaultUpdatePeriod, uint8 (SE 1.1).
    pub const DEFAULT_UPDATE_PERIOD: u16 = 0x000A;
    /// FastPollUpdatePeriod, uint8 (SE 1.1).
    pub const FAST_POLL_UPDATE_PERIOD: u16 = 0x000B;
    /// CurrentTier1SummationDelivered, uint48; tier n is at `0x0100 + 2 (n − 1)`.
    pub const CURRENT_TIER1_SUMMATION_DELIVERED: u16 = 0x0100;
    /// CurrentTier1SummationReceived, uint48; tier n is at `0x0101 + 2 (n − 1)`.
    pub const CURRENT_TIER1_SUMMATION_RECEIVED: u16 = 0x0101;
    /// Status, bitmap8.
    pub const STATUS: u16 = 0x0200;
    /// UnitOfMeasure, enum8.
    pub const UNIT_OF_MEASURE: u16 = 0x0300;
    /// Multiplier, uint24.
    pub const MULTIPLIER: u16 = 0x0301;
    /// Divisor, uint24.
    pub const DIVISOR: u16 = 0x0302;
    /// SummationFormatting, bitmap8.
    pub const SUMMATION_FORMATTING: u16 = 0x0303;
    /// DemandFormatting, bitmap8.
    pub const DEMAND_FORMATTING: u16 = 0x0304;
    /// HistoricalConsumptionFormatting, bitmap8.
    pub const HISTORICAL_CONSUMPTION_FORMATTING: u16 = 0x0305;
    /// MeteringDeviceType, bitmap8.
    pub const METERING_DEVICE_TYPE: u16 = 0x0306;
    /// InstantaneousDemand, int24.
    pub const INSTANTANEOUS_DEMAND: u16 = 0x0400;
    /// CurrentDayConsumptionDelivered, uint24.
    pub const CURRENT_DAY_CONSUMPTION_DELIVERED: u16 = 0x0401;
    /// CurrentDayConsumptionReceived, uint24.
    pub const CURRENT_DAY_CONSUMPTION_RECEIVED: u16 = 0x0402;
    /// PreviousDayConsumptionDelivered, uint24.
    pub const PREVIOUS_DAY_CONSUMPTION_DELIVERED: u16 = 0x0403;
    /// PreviousDayConsumptionReceived, uint24.
    pub const PREVIOUS_DAY_CONSUMPTION_RECEIVED: u16 = 0x0404;
    /// MaxNumberOfPeriodsDelivered, uint8.
    pub const MAX_NUMBER_OF_PERIODS_DELIVERED: u16 = 0x0500;
}

bitmap! {
    /// Metering Status attribute (0x0200).
    pub struct MeterStatus(u8) {
        /// Check meter.
        const CHECK_METER = 0x01;
        /// Low battery.
        const LOW_BATTERY = 0x02;
        /// Tamper detect.
        const TAMPER_DETECT = 0x04;
        /// Power failure.
        const POWER_FAILURE = 0x08;
        /// Power quality.
        const POWER_QUALITY = 0x10;
        /// Leak detect.
        const LEAK_DETECT = 0x20;
        /// Service disconnect open.
        const SERVICE_DISCONNECT_OPEN = 0x40;
    }
}

open_enum! {
    /// UnitOfMeasure (Metering 0x0300, also Publish Price). Values `0x80 + n` are unit `n`
    /// with BCD-coded readings.
    pub enum UnitOfMeasure(u8) {
        /// kWh (summation) and kW (demand).
        KilowattHours = 0x00,
        /// m³ and m³/h.
        CubicMeters = 0x01,
        /// ft³ and ft³/h.
        CubicFeet = 0x02,
        /// ccf (100 ft³) and ccf/h.
        Ccf = 0x03,
        /// US gallons and US gal/h.
        UsGallons = 0x04,
        /// Imperial gallons and imp gal/h.
        ImperialGallons = 0x05,
        /// BTU and BTU/h.
        Btu = 0x06,
        /// Litres and l/h.
        Liters = 0x07,
        /// kPa (gauge).
        KilopascalsGauge = 0x08,
        /// kPa (absolute).
        KilopascalsAbsolute = 0x09,
    }
}

impl UnitOfMeasure {
    /// Unit symbols for summation (`.0`) and demand (`.1`), for binary and BCD forms alike;
    /// `None` for an unknown unit.
    pub fn symbols(self) -> Option<(&'static str, &'static str)> {
        let base = UnitOfMeasure::from(u8::from(self) & 0x7F);
        Some(match base {
            UnitOfMeasure::KilowattHours => ("kWh", "kW"),
            UnitOfMeasure::CubicMeters => ("m³", "m³/h"),
            UnitOfMeasure::CubicFeet => ("ft³", "ft³/h"),
            UnitOfMeasure::Ccf => ("ccf", "ccf/h"),
            UnitOfMeasure::UsGallons => ("US gal", "US gal/h"),
            UnitOfMeasure::ImperialGallons => ("imp gal", "imp gal/h"),
            UnitOfMeasure::Btu => ("BTU", "BTU/h"),
            UnitOfMeasure::Liters => ("l", "l/h"),
            UnitOfMeasure::KilopascalsGauge => ("kPa", "kPa"),
            UnitOfMeasure::KilopascalsAbsolute => ("kPa", "kPa"),
            UnitOfMeasure::Unknown(_) => return None,
        })
    }
}

open_enum! {
    /// Interval channel of Get Profile.
    pub enum IntervalChannel(u8) {
        /// Consumption delivered.
        ConsumptionDelivered = 0x00,
        /// Consumption received.
        ConsumptionReceived = 0x01,
    }
}

open_enum! {
    /// Status of Get Profile Response.
    pub enum ProfileStatus(u8) {
        /// Success.
        Success = 0x00,
        /// Undefined interval channel requested.
        UndefinedIntervalChannel = 0x01,
        /// Interval channel not supported.
        IntervalChannelNotSupported = 0x02,
        /// Invalid end time.
        InvalidEndTime = 0x03,
        /// More periods requested than can be returned.
        MorePeriodsRequested = 0x04,
        /// No intervals available for the requested time.
        NoIntervals = 0x05,
    }
}

/// Most intervals a Get Profile Response carries here (what fits a 127-byte frame).
pub const MAX_PROFILE_INTERVALS: usize = 40;

layout! {
    /// Get Profile (client→server 0x00).
    pub struct GetProfile {
        /// Delivered or received.
        pub interval_channel: IntervalChannel,
        /// End of the newest interval wanted (0 = the most recent).
        pub end_time: UtcTime,
        /// Number of intervals wanted.
        pub number_of_periods: u8,
    }
}

layout! {
    /// Request Mirror Response (client→server 0x01) and Mirror Removed (client→server 0x02).
    pub struct MirrorEndpoint {
        /// The mirror's endpoint (0xFFFF = no mirror could be made).
        pub endpoint_id: u16,
    }
}

layout! {
    /// Request Fast Poll Mode (client→server 0x03, SE 1.1).
    pub struct RequestFastPollMode {
        /// Wanted update period, seconds.
        pub fast_poll_update_period: u8,
        /// How long, minutes.
        pub duration: u8,
    }
}

layout! {
    /// Get Profile Response (server→client 0x00).
    pub struct GetProfileResponse {
        /// End of the newest interval returned.
        pub end_time: UtcTime,
        /// Outcome.
        pub status: ProfileStatus,
        /// Interval length code (0 daily, 1 = 60 min, 2 = 30, 3 = 15, 4 = 10, 5 = 7.5, 6 = 5,
        /// 7 = 2.5 minutes).
        pub profile_interval_period: u8,
        /// Number of intervals the device says it returns.
        pub number_of_periods_delivered: u8,
        /// Interval values, newest first.
        pub intervals: Records<U24, { MAX_PROFILE_INTERVALS * 3 }>,
    }
}

layout! {
    /// Request Mirror (server→client 0x01) and Remove Mirror (server→client 0x02).
    pub struct Empty {}
}

layout! {
    /// Request Fast Poll Mode Response (server→client 0x03, SE 1.1).
    pub struct RequestFastPollModeResponse {
        /// Update period the meter applies, seconds.
        pub applied_update_period: u8,
        /// When fast poll mode ends.
        pub fast_poll_mode_end_time: UtcTime,
    }
}

/// The formatting bitmap of SummationFormatting, DemandFormatting and
/// HistoricalConsumptionFormatting: bits 0–2 digits right of the point, bits 3–6 digits left,
/// bit 7 suppress leading zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Formatting(pub u8);

impl Formatting {
    /// Digits to the right of the decimal point.
    pub fn right_digits(self) -> u8 {
        self.0 & 0x07
    }
    /// Digits to the left of the decimal point.
    pub fn left_digits(self) -> u8 {
        (self.0 >> 3) & 0x0F
    }
    /// Whether leading zeros are suppressed.
    pub fn suppress_leading_zeros(self) -> bool {
        self.0 & 0x80 != 0
    }
}

/// Whether a reading is a summation (energy, volume) or a demand (power, flow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Quantity {
    /// CurrentSummation…, tier summations, day consumptions.
    Summation,
    /// InstantaneousDemand, max demands.
    Demand,
}

/// A reading ready to display: `raw × multiplier ÷ divisor`, truncated toward zero to the
/// formatting's digits right of the point, padded to its digits left of the point unless
/// leading zeros are suppressed, followed by the unit.
///
/// Padding is a minimum width: integer digits beyond `left_digits` are kept, never cut. A
/// multiplier or divisor of 0 is treated as 1 (a meter that has not set it), as Home
/// Assistant's ZHA does. For the BCD units (`0x80 + n`) the raw value's hex digits are its
/// decimal digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Reading {
    /// The value × 10^`formatting.right_digits()`, truncated toward zero.
    pub scaled: i128,
    /// The formatting applied.
    pub formatting: Formatting,
    /// Unit of measure.
    pub unit: UnitOfMeasure,
    /// Summation or demand (chooses the unit symbol).
    pub quantity: Quantity,
}

impl Reading {
    /// The displayed value of `raw` (an unsigned summation or a signed demand).
    /// `None` when a BCD unit's raw value has a digit above 9 (or is negative).
    pub fn new(
        raw: i64,
        multiplier: u32,
        divisor: u32,
        formatting: Formatting,
        unit: UnitOfMeasure,
        quantity: Quantity,
    ) -> Option<Self> {
        let value = if u8::from(unit) & 0x80 != 0 {
            bcd(raw)?
        } else {
            i128::from(raw)
        };
        let multiplier = i128::from(multiplier.max(1));
        let divisor = i128::from(divisor.max(1));
        let scale = 10i128.pow(u32::from(formatting.right_digits()));
        let scaled = value * multiplier * scale / divisor;
        Some(Reading {
            scaled,
            formatting,
            unit,
            quantity,
        })
    }
}

/// The decimal value of BCD digits (`0x1234` is 1234).
fn bcd(raw: i64) -> Option<i128> {
    let mut raw = u64::try_from(raw).ok()?;
    let (mut value, mut place) = (0i128, 1i128);
    while raw != 0 {
        let digit = raw & 0xF;
        if digit > 9 {
            return None;
        }
        value += i128::from(digit) * place;
        place *= 10;
        raw >>= 4;
    }
    Some(value)
}

impl fmt::Display for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let right = u32::from(self.formatting.right_digits());
        let scale = 10u128.pow(right);
        let magnitude = self.scaled.unsigned_abs();
        let (int, frac) = (magnitude / scale, magnitude % scale);
        let width = if self.formatting.suppress_leading_zeros() {
            1
        } else {
            usize::from(self.formatting.left_digits()).max(1)
        };
        if self.scaled < 0 {
            f.write_str("-")?;
        }
        write!(f, "{int:0width$}")?;
        if right > 0 {
            write!(f, ".{frac:0w$}", w = right as usize)?;
        }
        match self.unit.symbols() {
            Some((summation, demand)) => {
                let symbol = if self.quantity == Quantity::Summation {
                    summation
                } else {
                    demand
                };
                write!(f, " {symbol}")
            }
            None => write!(f, " (unit 0x{:02X})", u8::from(self.unit)),
        }
    }
}
