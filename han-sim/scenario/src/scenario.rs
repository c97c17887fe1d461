//! The scenario language: meters, devices (with EUI64 and install code) and a timeline of
//! prices, messages, load-control events, cancellations and user inputs — as a TOML file reads
//! (`han-sim/scenarios/`, every field in `README.md` there) and as a conformance case builds it
//! in code.

use serde::Deserialize;

use crate::clock::SimTime;

/// Why a scenario could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file is not valid TOML for a scenario.
    #[error("scenario file: {0}")]
    Parse(#[from] toml::de::Error),
    /// A value is wrong.
    #[error("scenario: {0}")]
    Invalid(String),
    /// Writing the outputs failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

fn invalid<T>(message: impl Into<String>) -> Result<T, ScenarioError> {
    Err(ScenarioError::Invalid(message.into()))
}

/// A scenario as written in its file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name.
    pub name: String,
    /// What it shows.
    #[serde(default)]
    pub description: String,
    /// Seed of every random choice (randomised event times, loss, keys).
    #[serde(default = "one")]
    pub seed: u64,
    /// Start of virtual time, `YYYY-MM-DDTHH:MM:SSZ`.
    pub start: String,
    /// How long to run: `90s`, `10m`, `2h`, `1h30m`.
    pub duration: String,
    /// The radio medium.
    #[serde(default)]
    pub medium: MediumSpec,
    /// Meters (ESIs).
    #[serde(rename = "meter")]
    pub meters: Vec<MeterSpec>,
    /// In-home devices.
    #[serde(rename = "device", default)]
    pub devices: Vec<DeviceSpec>,
    /// What happens when.
    #[serde(default)]
    pub timeline: Vec<Step>,
}

fn one() -> u64 {
    1
}

/// The radio medium of a scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediumSpec {
    /// Latency, milliseconds.
    #[serde(default = "two")]
    pub latency_ms: u64,
    /// Probability a receiver misses a frame.
    #[serde(default)]
    pub loss: f64,
    /// Probability a receiver gets a frame twice.
    #[serde(default)]
    pub duplication: f64,
}

fn two() -> u64 {
    2
}

impl Default for MediumSpec {
    fn default() -> Self {
        MediumSpec {
            latency_ms: 2,
            loss: 0.0,
            duplication: 0.0,
        }
    }
}

/// A meter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterSpec {
    /// Name.
    pub name: String,
    /// EUI64, `00:0d:6f:…`.
    pub eui64: String,
    /// PAN ID.
    pub pan: u16,
    /// Channel 11–26.
    #[serde(default = "fifteen")]
    pub channel: u8,
    /// Network key (32 hex digits); drawn from the seed when absent.
    pub network_key: Option<String>,
    /// Devices the trust centre admits at most.
    #[serde(default = "five")]
    pub device_limit: usize,
    /// Demand in watts, one value per hour of the day (or one value for a constant load).
    #[serde(default = "default_load")]
    pub load_w: Vec<i32>,
    /// Summation delivered at the start, Wh.
    #[serde(default)]
    pub summation_wh: u64,
    /// Admit devices it holds no install code for under the global link key
    /// ZigBeeAlliance09, as a Home Automation trust centre does (an SE device must refuse the
    /// network key so sent).
    #[serde(default)]
    pub global_key_fallback: bool,
    /// Metering UnitOfMeasure (0 kWh, 1 m³, …).
    #[serde(default)]
    pub unit_of_measure: u8,
    /// Metering Multiplier.
    #[serde(default = "one_u32")]
    pub multiplier: u32,
    /// Metering Divisor.
    #[serde(default = "thousand")]
    pub divisor: u32,
    /// Metering SummationFormatting.
    #[serde(default = "summation_formatting")]
    pub summation_formatting: u8,
    /// Metering DemandFormatting.
    #[serde(default = "demand_formatting")]
    pub demand_formatting: u8,
    /// Require Key Establishment (CBKE, suite 1) of every device, with a certificate from the
    /// scenario's test CA (drawn from the seed); SE traffic then runs under the derived keys,
    /// which the key file gains.
    #[serde(default)]
    pub cbke: bool,
    /// With `cbke`: break Key Establishment deliberately, to test a device (`wrong-confirm`,
    /// `foreign-certificate`, `silent`, `busy`; see `hanrig_sim::cbke::EsiFault`).
    #[serde(default)]
    pub cbke_fault: Option<String>,
}

fn thousand() -> u32 {
    1000
}
fn summation_formatting() -> u8 {
    0x2B
}
fn demand_formatting() -> u8 {
    0x13
}

fn fifteen() -> u8 {
    15
}
fn five() -> usize {
    5
}
fn default_load() -> Vec<i32> {
    vec![1500]
}

/// A device.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    /// Name.
    pub name: String,
    /// `in-home-display`, `thermostat` or `load-control`.
    pub kind: String,
    /// EUI64.
    pub eui64: String,
    /// The device's install code.
    pub install_code: String,
    /// The meter it joins.
    pub meter: String,
    /// The install code the meter was provisioned with for this device (default: the same);
    /// `"none"` for a device the meter was never told about.
    pub provisioned_install_code: Option<String>,
    /// When it starts joining (offset from the start).
    #[serde(default = "zero")]
    pub join_at: String,
    /// DRLC DeviceClassValue (default by kind: HVAC for thermostats, water heater and pool
    /// pump for load-control devices).
    pub device_class: Option<u16>,
    /// DRLC UtilityEnrollmentGroup.
    #[serde(default)]
    pub utility_enrollment_group: u8,
    /// DRLC StartRandomizationMinutes.
    #[serde(default)]
    pub start_randomization_minutes: u8,
    /// DRLC DurationRandomizationMinutes.
    #[serde(default)]
    pub duration_randomization_minutes: u8,
    /// Its CBKE certificate: `good` (the default on a meter that requires CBKE), `none` (the
    /// default elsewhere), `foreign-issuer`, `impostor-ca` or `broken-confirm`.
    pub cbke: Option<String>,
}

fn zero() -> String {
    "0s".into()
}

/// One timeline step: when, and what.
#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    /// Offset from the start.
    pub at: String,
    /// What happens.
    #[serde(flatten)]
    pub action: Action,
}

/// What a step does.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// The meter publishes a price.
    PublishPrice(PriceStep),
    /// The meter sends a text message.
    DisplayMessage(MessageStep),
    /// The meter cancels a message.
    CancelMessage(CancelMessageStep),
    /// The meter sends a load control event.
    LoadControlEvent(EventStep),
    /// The meter cancels an event.
    CancelLoadControlEvent(CancelEventStep),
    /// The meter cancels all events.
    CancelAllLoadControlEvents(CancelAllStep),
    /// A user confirms a message on a display.
    ConfirmMessage(UserMessageStep),
    /// A user opts out of an event.
    OptOut(UserEventStep),
    /// A user opts back in.
    OptIn(UserEventStep),
    /// A display reads the meter.
    ReadMetering(DeviceStep),
    /// A device sends a ZCL command in the JSON form of `hanrig zcl` (`command` object with its
    /// `name`) to its meter: for meter tests.
    SendZcl(ZclStep),
    /// A meter sends a ZCL command to one device: for device tests.
    SendZclToDevice(MeterZclStep),
}

/// `send_zcl_to_device`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterZclStep {
    /// Meter.
    pub meter: String,
    /// Device.
    pub device: String,
    /// Cluster.
    pub cluster: u16,
    /// The command.
    pub command: toml::Value,
}

/// `send_zcl`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZclStep {
    /// Device.
    pub device: String,
    /// Cluster.
    pub cluster: u16,
    /// The command, e.g. `{ name = "read_attributes", attributes = [0] }`.
    pub command: toml::Value,
}

/// `publish_price`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceStep {
    /// Meter.
    pub meter: String,
    /// Issuer event ID.
    pub issuer_event_id: u32,
    /// Price in currency units × 10^trailing_digits per kWh.
    pub price: u32,
    /// Digits after the decimal point.
    #[serde(default = "two_u8")]
    pub trailing_digits: u8,
    /// Price tier (1–15).
    #[serde(default = "one_u8")]
    pub tier: u8,
    /// Rate label (≤ 12 bytes).
    #[serde(default)]
    pub rate_label: String,
    /// Provider ID.
    #[serde(default = "one_u32")]
    pub provider_id: u32,
    /// ISO 4217 currency (840 USD).
    #[serde(default = "usd")]
    pub currency: u16,
    /// Duration in minutes (absent: until changed).
    pub duration_minutes: Option<u16>,
    /// Start, as an offset from the step (absent: now).
    pub start_in: Option<String>,
    /// Ask the devices to acknowledge (SE 1.1 Price Control).
    #[serde(default)]
    pub acknowledge: bool,
}

fn one_u8() -> u8 {
    1
}
fn two_u8() -> u8 {
    2
}
fn one_u32() -> u32 {
    1
}
fn usd() -> u16 {
    840
}

/// `display_message`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageStep {
    /// Meter.
    pub meter: String,
    /// Message ID.
    pub message_id: u32,
    /// Text.
    pub text: String,
    /// Start, as an offset from the step (absent: now).
    pub start_in: Option<String>,
    /// Minutes to show it (absent: until changed).
    pub duration_minutes: Option<u16>,
    /// The user must confirm it.
    #[serde(default)]
    pub confirm: bool,
    /// Importance 0 low … 3 critical.
    #[serde(default)]
    pub importance: u8,
}

/// `cancel_message`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelMessageStep {
    /// Meter.
    pub meter: String,
    /// Message ID.
    pub message_id: u32,
}

/// `load_control_event`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventStep {
    /// Meter.
    pub meter: String,
    /// Issuer event ID.
    pub issuer_event_id: u32,
    /// Device classes (default: all).
    #[serde(default = "all_classes")]
    pub device_class: u16,
    /// Utility enrollment group (0: all).
    #[serde(default)]
    pub utility_enrollment_group: u8,
    /// Start, as an offset from the step (absent: now).
    pub start_in: Option<String>,
    /// Start, as an offset from the scenario's start (for events that start in the past).
    pub start_at: Option<String>,
    /// Duration, minutes.
    pub duration_minutes: u16,
    /// Criticality level (1 green … 9).
    #[serde(default = "one_u8")]
    pub criticality: u8,
    /// Randomise the start.
    #[serde(default)]
    pub randomize_start: bool,
    /// Randomise the end.
    #[serde(default)]
    pub randomize_end: bool,
    /// Cooling offset, 0.1 °C.
    pub cooling_offset: Option<u8>,
    /// Heating offset, 0.1 °C.
    pub heating_offset: Option<u8>,
    /// Cooling set point, 0.01 °C.
    pub cooling_set_point: Option<i16>,
    /// Heating set point, 0.01 °C.
    pub heating_set_point: Option<i16>,
    /// Average load adjustment, percent.
    pub load_adjustment: Option<i8>,
    /// Duty cycle, percent.
    pub duty_cycle: Option<u8>,
}

fn all_classes() -> u16 {
    0x0FFF
}

/// `cancel_load_control_event`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelEventStep {
    /// Meter.
    pub meter: String,
    /// Issuer event ID.
    pub issuer_event_id: u32,
    /// Device classes (default: all).
    #[serde(default = "all_classes")]
    pub device_class: u16,
    /// Utility enrollment group.
    #[serde(default)]
    pub utility_enrollment_group: u8,
    /// Effective time as an offset from the step (absent: now).
    pub effective_in: Option<String>,
    /// End with the event's randomisation.
    #[serde(default)]
    pub randomize_end: bool,
}

/// `cancel_all_load_control_events`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelAllStep {
    /// Meter.
    pub meter: String,
    /// End with the events' randomisation.
    #[serde(default)]
    pub randomize_end: bool,
}

/// `confirm_message`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserMessageStep {
    /// Device.
    pub device: String,
    /// Message ID.
    pub message_id: u32,
}

/// `opt_out` / `opt_in`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEventStep {
    /// Device.
    pub device: String,
    /// Issuer event ID.
    pub issuer_event_id: u32,
}

/// `read_metering`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceStep {
    /// Device.
    pub device: String,
}

impl Default for MeterSpec {
    /// A meter with the file's defaults: channel 15, five devices, a constant 1.5 kW.
    fn default() -> Self {
        MeterSpec {
            name: String::new(),
            eui64: String::new(),
            pan: 0,
            channel: fifteen(),
            network_key: None,
            device_limit: five(),
            load_w: default_load(),
            summation_wh: 0,
            global_key_fallback: false,
            unit_of_measure: 0,
            multiplier: one_u32(),
            divisor: thousand(),
            summation_formatting: summation_formatting(),
            demand_formatting: demand_formatting(),
            cbke: false,
            cbke_fault: None,
        }
    }
}

impl Default for DeviceSpec {
    /// A device with the file's defaults: joining at once, group 0, no randomisation.
    fn default() -> Self {
        DeviceSpec {
            name: String::new(),
            kind: String::new(),
            eui64: String::new(),
            install_code: String::new(),
            meter: String::new(),
            provisioned_install_code: None,
            join_at: zero(),
            device_class: None,
            utility_enrollment_group: 0,
            start_randomization_minutes: 0,
            duration_randomization_minutes: 0,
            cbke: None,
        }
    }
}

impl Default for PriceStep {
    /// A price with the file's defaults: two trailing digits, tier 1, provider 1, USD.
    fn default() -> Self {
        PriceStep {
            meter: String::new(),
            issuer_event_id: 0,
            price: 0,
            trailing_digits: two_u8(),
            tier: one_u8(),
            rate_label: String::new(),
            provider_id: one_u32(),
            currency: usd(),
            duration_minutes: None,
            start_in: None,
            acknowledge: false,
        }
    }
}

impl Default for EventStep {
    /// An event with the file's defaults: every device class, group 0, now, criticality 1.
    fn default() -> Self {
        EventStep {
            meter: String::new(),
            issuer_event_id: 0,
            device_class: all_classes(),
            utility_enrollment_group: 0,
            start_in: None,
            start_at: None,
            duration_minutes: 0,
            criticality: one_u8(),
            randomize_start: false,
            randomize_end: false,
            cooling_offset: None,
            heating_offset: None,
            cooling_set_point: None,
            heating_set_point: None,
            load_adjustment: None,
            duty_cycle: None,
        }
    }
}

impl Default for CancelEventStep {
    /// A cancel with the file's defaults: every device class, group 0, effective now.
    fn default() -> Self {
        CancelEventStep {
            meter: String::new(),
            issuer_event_id: 0,
            device_class: all_classes(),
            utility_enrollment_group: 0,
            effective_in: None,
            randomize_end: false,
        }
    }
}

/// A duration: `90s`, `10m`, `2h`, `1h30m`, `1h30m15s`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<u64, ScenarioError> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(seconds * SimTime::SECOND);
    }
    let (mut total, mut number) = (0u64, String::new());
    for c in text.chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' if !number.is_empty() => {
                let n: u64 = number
                    .parse()
                    .map_err(|_| ScenarioError::Invalid(format!("bad duration {text:?}")))?;
                total += n * match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                number.clear();
            }
            _ => {
                return invalid(format!(
                    "bad duration {text:?}: use e.g. 90s, 10m, 2h, 1h30m"
                ));
            }
        }
    }
    if !number.is_empty() {
        return invalid(format!(
            "bad duration {text:?}: a number needs a unit (h, m or s)"
        ));
    }
    Ok(total * SimTime::SECOND)
}

/// `YYYY-MM-DDTHH:MM:SSZ` as a virtual time.
pub fn parse_time(text: &str) -> Result<SimTime, ScenarioError> {
    let bad =
        || ScenarioError::Invalid(format!("bad start time {text:?}: use YYYY-MM-DDTHH:MM:SSZ"));
    let b = text.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| {
        text.get(r)
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(bad)
    };
    let (y, m, d, hh, mm, ss) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 59 || y < 2000
    {
        return Err(bad());
    }
    // Days from civil (Howard Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(SimTime::from_unix_seconds(
        (days * 86_400 + hh * 3600 + mm * 60 + ss) as u64,
    ))
}

impl Scenario {
    /// Parses a scenario file's text.
    pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Ok(toml::from_str(text)?)
    }
}
