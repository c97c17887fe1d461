//! HAN messages a third party sends — price, text, load control and their cancels — with their
//! addresses, checked, and each encoded once as the SE 1.0 command every address receives.

use std::collections::BTreeSet;

use hanrig_sep::clusters::drlc::{
    CancelAllLoadControlEvents, CancelControl, CancelLoadControlEvent, CriticalityLevel,
    DeviceClass, EventControl, LoadControlEvent,
};
use hanrig_sep::clusters::messaging::{CancelMessage, DisplayMessage, MessageControl};
use hanrig_sep::clusters::metering::UnitOfMeasure;
use hanrig_sep::clusters::price::PublishPrice;
use hanrig_sep::clusters::{drlc, messaging, price};
use hanrig_sep::wire::{CharString, OctetString, Records};
use hanrig_sep::zcl::general::{AttrValue, AttributeRecord, AttributeRecords, DataType};
use hanrig_sep::{Command, Direction, Eui64, UtcTime, ZclFrame};
use serde::{Deserialize, Serialize};

use crate::esiid::{Esiid, EsiidError};
use crate::routing::{Routing, Tdsp};

/// Addresses one message may carry at most.
pub const MAX_ADDRESSES: usize = 10_000;
/// The longest text (characters): the Landis+Gyr ESI's limit, the strictest of the
/// head-ends', so that a text the gateway accepts reaches every TDSP whole.
pub const MAX_TEXT: usize = 80;

/// Where a message goes: every device on a meter, or one device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Address {
    /// The devices on the meter of this ESIID.
    Esiid(Esiid),
    /// One device.
    Device(Eui64),
}

/// Why a message is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// No address.
    #[error("no address: give at least one ESIID or device")]
    NoAddress,
    /// Too many addresses in one list.
    #[error("{0}: {1} addresses: at most 10000 ESIIDs and 10000 devices per message")]
    TooManyAddresses(&'static str, usize),
    /// An ESIID.
    #[error("esiids[{0}]: {1}")]
    Esiid(usize, EsiidError),
    /// A device EUI64.
    #[error("devices[{0}]: {1:?} is not an EUI64 (16 hex digits)")]
    Device(usize, String),
    /// The text.
    #[error("text: {0}")]
    Text(String),
    /// Another field, named.
    #[error("{field}: {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn field(field: &'static str, reason: impl Into<String>) -> MessageError {
    MessageError::Field {
        field,
        reason: reason.into(),
    }
}

/// Checks and de-duplicates a message's addresses (as the API receives them).
pub fn addresses(esiids: &[String], devices: &[String]) -> Result<Vec<Address>, MessageError> {
    if esiids.is_empty() && devices.is_empty() {
        return Err(MessageError::NoAddress);
    }
    // Each list on its own, so that the limit is one a schema can state (maxItems).
    for (name, list) in [("esiids", esiids), ("devices", devices)] {
        if list.len() > MAX_ADDRESSES {
            return Err(MessageError::TooManyAddresses(name, list.len()));
        }
    }
    let mut set = BTreeSet::new();
    for (i, e) in esiids.iter().enumerate() {
        set.insert(Address::Esiid(
            e.parse().map_err(|err| MessageError::Esiid(i, err))?,
        ));
    }
    for (i, d) in devices.iter().enumerate() {
        set.insert(Address::Device(
            d.parse().map_err(|_| MessageError::Device(i, d.clone()))?,
        ));
    }
    Ok(set.into_iter().collect())
}

fn utc(unix: Option<u64>, name: &'static str) -> Result<UtcTime, MessageError> {
    match unix {
        None => Ok(UtcTime::NOW),
        Some(t) => UtcTime::from_unix(t)
            .filter(|u| *u != UtcTime::NOW && *u != UtcTime::INVALID)
            .ok_or_else(|| field(name, "a time between 2000 and 2136 (Unix seconds)")),
    }
}

/// A text message for in-home displays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TextMessage {
    /// The text, 1 to 80 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 80, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")
    )]
    pub text: String,
    /// The user must confirm it (the device then sends Message Confirmation).
    #[serde(default)]
    pub confirmation_required: bool,
    /// Importance, 0 (low) to 3 (critical).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 3))]
    pub importance: u8,
    /// When to show it (Unix seconds); now when absent.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 946_684_801, maximum = 5_241_652_094_i64)
    )]
    pub start: Option<u64>,
    /// For how long, minutes; until replaced or cancelled when absent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 65534))]
    pub duration_minutes: Option<u16>,
}

impl TextMessage {
    /// The Display Message command, with the gateway's message ID.
    pub fn command(&self, message_id: u32) -> Result<Command, MessageError> {
        let n = self.text.chars().count();
        if n == 0 || n > MAX_TEXT {
            return Err(MessageError::Text(format!(
                "{n} characters; 1 to {MAX_TEXT} reach every head-end"
            )));
        }
        if let Some(c) = self.text.chars().find(|c| c.is_control()) {
            return Err(MessageError::Text(format!(
                "control character U+{:04X} cannot be displayed",
                u32::from(c)
            )));
        }
        if self.importance > 3 {
            return Err(field("importance", "0 (low) to 3 (critical)"));
        }
        let duration = match self.duration_minutes {
            None => messaging::DURATION_UNTIL_CHANGED,
            Some(0) | Some(0xFFFF) => {
                return Err(field("duration_minutes", "1 to 65534 minutes, or absent"));
            }
            Some(d) => d,
        };
        let message = CharString::new(self.text.as_bytes())
            .map_err(|_| MessageError::Text("too long for one frame".into()))?;
        let mut control = self.importance << 2;
        if self.confirmation_required {
            control |= MessageControl::CONFIRMATION_REQUIRED;
        }
        Ok(Command::DisplayMessage(DisplayMessage {
            message_id,
            message_control: MessageControl(control),
            start_time: utc(self.start, "start")?,
            duration_in_minutes: duration,
            message,
            extended_message_control: None,
        }))
    }

    /// Cancel Message for the message `message_id`.
    pub fn cancel(message_id: u32) -> Command {
        Command::CancelMessage(CancelMessage {
            message_id,
            message_control: MessageControl(0),
        })
    }
}

/// A price signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PriceMessage {
    /// The commodity provider (the REP).
    #[cfg_attr(feature = "openapi", schema(maximum = 4_294_967_295_u32))]
    pub provider_id: u32,
    /// Tariff label, at most 12 bytes.
    #[cfg_attr(feature = "openapi", schema(max_length = 12))]
    pub rate_label: String,
    /// Price per kWh in units of 10^-trailing_digits of the currency.
    #[cfg_attr(feature = "openapi", schema(maximum = 4_294_967_295_u32))]
    pub price: u32,
    /// Digits right of the decimal point, 0–15.
    #[cfg_attr(feature = "openapi", schema(maximum = 15))]
    pub trailing_digits: u8,
    /// Price tier, 1–6.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 6))]
    pub tier: u8,
    /// ISO 4217 currency number; 840 (US dollar) when absent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 65535))]
    pub currency: Option<u16>,
    /// When the price starts (Unix seconds); now when absent.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 946_684_801, maximum = 5_241_652_094_i64)
    )]
    pub start: Option<u64>,
    /// For how long, minutes; until changed when absent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 65535))]
    pub duration_minutes: Option<u16>,
    /// Ask devices for Price Acknowledgement.
    #[serde(default)]
    pub acknowledge: bool,
}

impl PriceMessage {
    /// The Publish Price command, with the gateway's issuer event ID.
    pub fn command(&self, issuer_event_id: u32) -> Result<Command, MessageError> {
        let rate_label = OctetString::new(self.rate_label.as_bytes())
            .map_err(|_| field("rate_label", "at most 12 bytes"))?;
        if self.trailing_digits > 15 {
            return Err(field("trailing_digits", "0 to 15"));
        }
        if !(1..=6).contains(&self.tier) {
            return Err(field("tier", "1 to 6"));
        }
        if self.duration_minutes == Some(0) {
            return Err(field("duration_minutes", "at least 1 minute, or absent"));
        }
        Ok(Command::PublishPrice(PublishPrice {
            provider_id: self.provider_id,
            rate_label,
            issuer_event_id,
            current_time: UtcTime::NOW,
            unit_of_measure: UnitOfMeasure::KilowattHours,
            currency: self.currency.unwrap_or(840),
            price_trailing_digit_and_price_tier: self.trailing_digits << 4 | self.tier,
            number_of_price_tiers_and_register_tier: 0x60 | self.tier,
            start_time: utc(self.start, "start")?,
            duration_in_minutes: self.duration_minutes.unwrap_or(0xFFFF),
            price: self.price,
            price_ratio: Some(0xFF),
            generation_price: Some(0xFFFF_FFFF),
            generation_price_ratio: Some(0xFF),
            alternate_cost_delivered: Some(0xFFFF_FFFF),
            alternate_cost_unit: Some(0xFF),
            alternate_cost_trailing_digit: Some(0xFF),
            number_of_block_thresholds: Some(0xFF),
            price_control: Some(u8::from(self.acknowledge)),
            number_of_generation_tiers: None,
            generation_tier: None,
            extended_number_of_price_tiers: None,
            extended_price_tier: None,
            extended_register_tier: None,
        }))
    }
}

/// A load-control (demand response) event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoadControlMessage {
    /// Device classes (SE DRLC bits: 0x0001 HVAC, 0x0004 water heater, 0x0008 pool pump, …).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 65535))]
    pub device_class: u16,
    /// Utility enrollment group; 0 (all) when absent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 255))]
    pub enrollment_group: u8,
    /// When the event starts (Unix seconds); now when absent.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 946_684_801, maximum = 5_241_652_094_i64)
    )]
    pub start: Option<u64>,
    /// How long, 1–1440 minutes.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1440))]
    pub duration_minutes: u16,
    /// Criticality, 1 (green) to 9 (service disconnect).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 9))]
    pub criticality: u8,
    /// Cooling offset, 0.1 °C.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 254))]
    pub cooling_offset: Option<u8>,
    /// Heating offset, 0.1 °C.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 254))]
    pub heating_offset: Option<u8>,
    /// Cooling set point, 0.01 °C.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = -32768, maximum = 32767))]
    pub cooling_set_point: Option<i16>,
    /// Heating set point, 0.01 °C.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = -32768, maximum = 32767))]
    pub heating_set_point: Option<i16>,
    /// Average load adjustment, −100 to 100 percent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = -100, maximum = 100))]
    pub load_adjustment: Option<i8>,
    /// Duty cycle, 0–100 percent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 100))]
    pub duty_cycle: Option<u8>,
    /// Devices randomise their start.
    #[serde(default)]
    pub randomize_start: bool,
    /// Devices randomise their end.
    #[serde(default)]
    pub randomize_end: bool,
}

impl LoadControlMessage {
    /// The Load Control Event command, with the gateway's issuer event ID.
    pub fn command(&self, issuer_event_id: u32) -> Result<Command, MessageError> {
        if self.device_class == 0 {
            return Err(field("device_class", "at least one device class bit"));
        }
        if !(1..=1440).contains(&self.duration_minutes) {
            return Err(field("duration_minutes", "1 to 1440 minutes"));
        }
        if !(1..=9).contains(&self.criticality) {
            return Err(field("criticality", "1 (green) to 9 (service disconnect)"));
        }
        if self
            .load_adjustment
            .is_some_and(|a| !(-100..=100).contains(&a))
        {
            return Err(field("load_adjustment", "-100 to 100 percent"));
        }
        if self.duty_cycle.is_some_and(|d| d > 100) {
            return Err(field("duty_cycle", "0 to 100 percent"));
        }
        if self.cooling_offset == Some(0xFF) || self.heating_offset == Some(0xFF) {
            return Err(field(
                "cooling_offset/heating_offset",
                "0 to 25.4 °C (0–254)",
            ));
        }
        let mut control = 0;
        if self.randomize_start {
            control |= EventControl::RANDOMIZE_START;
        }
        if self.randomize_end {
            control |= EventControl::RANDOMIZE_END;
        }
        Ok(Command::LoadControlEvent(LoadControlEvent {
            issuer_event_id,
            device_class: DeviceClass(self.device_class),
            utility_enrollment_group: self.enrollment_group,
            start_time: utc(self.start, "start")?,
            duration_in_minutes: self.duration_minutes,
            criticality_level: CriticalityLevel::from(self.criticality),
            cooling_temperature_offset: self.cooling_offset.unwrap_or(0xFF),
            heating_temperature_offset: self.heating_offset.unwrap_or(0xFF),
            cooling_temperature_set_point: self.cooling_set_point.unwrap_or(i16::MIN),
            heating_temperature_set_point: self.heating_set_point.unwrap_or(i16::MIN),
            average_load_adjustment_percentage: self.load_adjustment.unwrap_or(i8::MIN),
            duty_cycle: self.duty_cycle.unwrap_or(0xFF),
            event_control: EventControl(control),
        }))
    }

    /// Cancel Load Control Event for this event (issued as `issuer_event_id`), now or at
    /// `effective` (Unix seconds), with the randomised end if `randomize_end`.
    pub fn cancel(
        &self,
        issuer_event_id: u32,
        effective: Option<u64>,
        randomize_end: bool,
    ) -> Result<Command, MessageError> {
        Ok(Command::CancelLoadControlEvent(CancelLoadControlEvent {
            issuer_event_id,
            device_class: DeviceClass(self.device_class),
            utility_enrollment_group: self.enrollment_group,
            cancel_control: CancelControl(u8::from(randomize_end)),
            effective_time: utc(effective, "effective")?,
        }))
    }

    /// Cancel All Load Control Events.
    pub fn cancel_all(randomize_end: bool) -> Command {
        Command::CancelAllLoadControlEvents(CancelAllLoadControlEvents {
            cancel_control: CancelControl(u8::from(randomize_end)),
        })
    }
}

/// Update Utility Enrollment Group (SMT Table 6): the meter's ESI writes the device's DRLC
/// client attribute UtilityEnrollmentGroup (0x0000, uint8) with ZCL Write Attributes; a device
/// then runs only load-control events for group 0 (all) or its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollmentGroup {
    /// The group, 0–255 (0: in no group of its own, it runs only events for all groups).
    #[cfg_attr(feature = "openapi", schema(maximum = 255))]
    pub group: u8,
}

impl EnrollmentGroup {
    /// The Write Attributes command.
    pub fn command(&self) -> Command {
        let record = AttributeRecord {
            attribute: drlc::attribute::UTILITY_ENROLLMENT_GROUP,
            value: AttrValue::unsigned(DataType::Uint8, u64::from(self.group)),
        };
        let mut records = Records::new();
        // One 4-byte record always fits a frame.
        let _ = records.push(&record);
        Command::WriteAttributes(AttributeRecords { records })
    }
}

/// The cluster a HAN command travels on. The only attributes the gateway writes are the DRLC
/// client's, so a Write Attributes travels on DRLC.
pub fn cluster_of(command: &Command) -> Option<u16> {
    match command {
        Command::DisplayMessage(_) | Command::CancelMessage(_) => Some(messaging::CLUSTER_ID),
        Command::PublishPrice(_) => Some(price::CLUSTER_ID),
        Command::LoadControlEvent(_)
        | Command::CancelLoadControlEvent(_)
        | Command::CancelAllLoadControlEvents(_)
        | Command::WriteAttributes(_) => Some(drlc::CLUSTER_ID),
        _ => None,
    }
}

/// The frame every address receives, as the meter's ESI sends it: server → client (SE
/// commands carry their direction; a Write Attributes of a client attribute goes to the
/// client side too).
pub fn han_frame(command: Command) -> Option<ZclFrame> {
    let write = matches!(command, Command::WriteAttributes(_));
    let mut frame = ZclFrame::new(cluster_of(&command)?, command, 0)?;
    if write {
        frame.header.direction = Direction::ServerToClient;
    }
    Some(frame)
}

/// Addresses a message cannot be delivered to, each with the reason: the whole message is
/// refused, so that nothing half-accepted needs undoing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} of the addresses cannot be delivered: {}", .0.len(), .0.iter().take(5).map(|(a, r)| format!("{a}: {r}")).collect::<Vec<_>>().join("; "))]
pub struct Unroutable(pub Vec<(String, String)>);

/// The deliveries of a message: each address with the TDSP whose head-end carries it. A device
/// goes through the TDSP of the meter it is provisioned on (`meter_of`).
pub fn plan(
    addresses: &[Address],
    routing: &Routing,
    meter_of: impl Fn(Eui64) -> Option<Esiid>,
) -> Result<Vec<(Address, Tdsp)>, Unroutable> {
    let mut planned = Vec::with_capacity(addresses.len());
    let mut refused = Vec::new();
    for address in addresses {
        let routed = match address {
            Address::Esiid(e) => routing
                .route(e)
                .map_err(|err| (e.to_string(), err.to_string())),
            Address::Device(d) => match meter_of(*d) {
                Some(e) => routing
                    .route(&e)
                    .map_err(|err| (d.to_string(), err.to_string())),
                None => Err((d.to_string(), "not provisioned on any meter".to_string())),
            },
        };
        match routed {
            Ok(tdsp) => planned.push((address.clone(), tdsp)),
            Err(why) => refused.push(why),
        }
    }
    if refused.is_empty() {
        Ok(planned)
    } else {
        Err(Unroutable(refused))
    }
}
