//! Scenario files: meters, devices (with EUI64 and install code) and a timeline of prices,
//! messages, load-control events, cancellations and user inputs. TOML; see
//! `han-sim/scenarios/` for examples and `README.md` there for every field.

use std::path::Path;

use hanrig_device::Rng;
use hanrig_device::drlc::DrlcConfig;
use hanrig_sep::capture::{KeyFile, PcapngWriter};
use hanrig_sep::clusters::drlc::{
    CancelAllLoadControlEvents, CancelControl, CancelLoadControlEvent, CriticalityLevel,
    DeviceClass, EventControl, LoadControlEvent,
};
use hanrig_sep::clusters::messaging::{CancelMessage, DisplayMessage, MessageControl};
use hanrig_sep::clusters::metering::UnitOfMeasure;
use hanrig_sep::clusters::price::PublishPrice;
use hanrig_sep::install_code::{InstallCode, Key};
use hanrig_sep::wire::{CharString, OctetString};
use hanrig_sep::{Eui64, UtcTime};
use serde::Deserialize;

use crate::clock::SimTime;
use crate::coordinator::Coordinator;
use crate::device::{DeviceKind, SimDevice};
use crate::esi::{Esi, EsiApp, MeterModel, Outgoing, Register, Utility};
use crate::log::Log;
use crate::remote::UserAction;
use crate::sim::{Act, Happening, MediumConfig, Node, Simulation};
use hanrig_sep::Command;

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
    /// `foreign-certificate`, `silent`, `busy`; see [`crate::cbke::EsiFault`]).
    #[serde(default)]
    pub cbke_fault: Option<String>,
}

impl MeterSpec {
    /// Its CBKE fault, read.
    pub fn cbke_fault(&self) -> Result<Option<crate::cbke::EsiFault>, ScenarioError> {
        match self.cbke_fault.as_deref() {
            None => Ok(None),
            Some(_) if !self.cbke => invalid(format!(
                "meter {:?}: cbke_fault needs cbke = true",
                self.name
            )),
            Some(name) => crate::cbke::EsiFault::from_name(name)
                .map(Some)
                .ok_or_else(|| {
                    ScenarioError::Invalid(format!(
                        "meter {:?}: cbke_fault {name:?} is not one of {}",
                        self.name,
                        crate::cbke::EsiFault::NAMES
                    ))
                }),
        }
    }
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

impl MeterSpec {
    /// How its register presents values.
    pub fn register(&self) -> Register {
        Register {
            unit: self.unit_of_measure,
            multiplier: self.multiplier,
            divisor: self.divisor,
            summation_formatting: self.summation_formatting,
            demand_formatting: self.demand_formatting,
        }
    }
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

fn key_from_hex(text: &str) -> Result<Key, ScenarioError> {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect();
    if digits.len() != 32 {
        return invalid(format!("network key {text:?}: 32 hex digits"));
    }
    let mut key = [0u8; 16];
    for (i, b) in key.iter_mut().enumerate() {
        *b = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16)
            .map_err(|_| ScenarioError::Invalid(format!("network key {text:?}: not hex")))?;
    }
    Ok(key)
}

fn eui(text: &str, what: &str) -> Result<Eui64, ScenarioError> {
    text.parse().map_err(|_| {
        ScenarioError::Invalid(format!(
            "{what}: {text:?} is not an EUI64 (16 hex digits, e.g. 00:0d:6f:00:0a:bc:de:f0)"
        ))
    })
}

fn code(text: &str, what: &str) -> Result<InstallCode, ScenarioError> {
    text.parse()
        .map_err(|e| ScenarioError::Invalid(format!("{what}: install code refused: {e}")))
}

/// A scenario built and ready to run.
pub struct Built {
    /// The simulation, at its start.
    pub simulation: Simulation,
    /// The keys that decrypt its capture.
    pub keys: KeyFile,
    /// When the scenario ends.
    pub end: SimTime,
    meter_steps: Vec<(SimTime, usize, UtilityStep)>,
}

/// A timeline step of a meter's utility: acts on its application, returns what it sends.
pub type MeterStep = Box<dyn FnOnce(&mut EsiApp, SimTime, &mut Log) -> Vec<Outgoing> + Send>;

/// A timeline step of a meter's utility as the command it sends the meter at the step's time
/// (start times follow the time it is sent): the same for a simulated meter, a meter a host
/// plays, and a meter under test in its own process.
pub type UtilityStep = Box<dyn FnOnce(SimTime) -> Utility + Send>;

/// A utility step as a step of the meter's application.
fn meter_step(f: UtilityStep) -> MeterStep {
    Box::new(move |app, now, log| app.utility(now, f(now), log))
}

/// A timeline step: the utility acting through a meter, or something done to a device.
enum Stimulus {
    Meter(usize, UtilityStep),
    Device(Act),
}

/// Runs a meter step on the simulated meter at `index`.
fn on_esi(index: usize, f: UtilityStep) -> Act {
    Box::new(move |now, nodes, log| match &mut nodes[index] {
        Node::Esi(e) => {
            let out = e.app.utility(now, f(now), log);
            vec![(index, e.transmit(out))]
        }
        // A meter under test in its own process takes the utility's command over its channel.
        Node::Remote(r) => vec![(index, r.utility(now, f(now)))],
        Node::Device(_) | Node::Coordinator(_) => Vec::new(),
    })
}

/// The host's part of a scenario whose meter a host plays over a radio co-processor
/// ([`Scenario::build_remote`]).
pub struct Remote {
    /// The meter's application, for the host to run.
    pub app: EsiApp,
    /// The install-code link keys the meter was provisioned with.
    pub link_keys: Vec<(Eui64, Key)>,
    /// Whether the meter admits unprovisioned devices under the global link key.
    pub global_key_fallback: bool,
    /// The meter's device limit.
    pub device_limit: usize,
    /// The meter's EUI64.
    pub eui: Eui64,
    /// Its PAN ID.
    pub pan: u16,
    /// Its channel.
    pub channel: u8,
    /// Its network key.
    pub network_key: Key,
    /// The meter's timeline, for the host.
    pub steps: Vec<(SimTime, MeterStep)>,
    /// Keys that decrypt the capture.
    pub keys: KeyFile,
    /// Start of virtual time.
    pub start: SimTime,
    /// End of the scenario.
    pub end: SimTime,
    /// Key Establishment, when the meter requires it.
    pub cbke: Option<RemoteCbke>,
}

/// A host-played meter's Key Establishment.
#[derive(Debug)]
pub struct RemoteCbke {
    /// The meter's certificate and key, for its radio's tokens.
    pub identity: hanrig_cbke::exchange::Identity,
    /// The faults the meter plays, if any.
    pub faults: Option<crate::cbke::EsiFaults>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("app", &self.app)
            .field("steps", &self.steps.len())
            .field("end", &self.end)
            .finish()
    }
}

impl std::fmt::Debug for Built {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Built")
            .field("simulation", &self.simulation)
            .field("end", &self.end)
            .finish()
    }
}

impl Built {
    /// Runs to the scenario's end.
    pub fn run(mut self) -> Result<RunOutput, ScenarioError> {
        for (at, index, f) in std::mem::take(&mut self.meter_steps) {
            self.simulation
                .schedule(at, Happening::Act(on_esi(index, f)));
        }
        self.simulation.run_until(self.end);
        let sim = self.simulation;
        for node in &sim.nodes {
            match node {
                Node::Esi(esi) => {
                    for (device, key) in esi.cbke_keys() {
                        self.keys
                            .add(*key, &format!("{device} CBKE link key with {}", esi.name));
                    }
                }
                // A meter in a process of its own keeps its keys; the rig's devices know theirs.
                Node::Device(d) => {
                    if let Some(key) = d.cbke_key() {
                        self.keys.add(key, &format!("{} CBKE link key", d.eui()));
                    }
                }
                Node::Coordinator(_) | Node::Remote(_) => {}
            }
        }
        Ok(RunOutput {
            log: sim.log.clone(),
            capture: sim.capture.clone(),
            keys: self.keys,
            simulation: sim,
        })
    }

    /// The device called `name`.
    pub fn device_mut(&mut self, name: &str) -> Option<&mut SimDevice> {
        let index = self.simulation.node_index(name)?;
        match &mut self.simulation.nodes[index] {
            Node::Device(d) => Some(d),
            Node::Esi(_) | Node::Coordinator(_) | Node::Remote(_) => None,
        }
    }

    /// The meter called `name`.
    pub fn meter_mut(&mut self, name: &str) -> Option<&mut Esi> {
        let index = self.simulation.node_index(name)?;
        match &mut self.simulation.nodes[index] {
            Node::Esi(e) => Some(e),
            Node::Device(_) | Node::Coordinator(_) | Node::Remote(_) => None,
        }
    }
}

/// The outcome of a run.
#[derive(Debug)]
pub struct RunOutput {
    /// The event log.
    pub log: Log,
    /// Every frame on air.
    pub capture: Vec<(SimTime, u8, Vec<u8>)>,
    /// The keys that decrypt the capture.
    pub keys: KeyFile,
    /// The finished simulation, for inspection.
    pub simulation: Simulation,
}

impl Scenario {
    /// Parses a scenario file's text.
    pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Ok(toml::from_str(text)?)
    }

    /// Builds and runs the scenario.
    pub fn run(&self) -> Result<RunOutput, ScenarioError> {
        self.build()?.run()
    }

    /// Builds the scenario's simulation without running it (so that a node can be changed
    /// first, e.g. into a mutant).
    pub fn build(&self) -> Result<Built, ScenarioError> {
        let start = parse_time(&self.start)?;
        let end = start.plus(parse_duration(&self.duration)?);
        let mut rng = Rng::new(self.seed);
        let mut keys = KeyFile::default();
        let mut nodes = Vec::new();
        let ca = crate::cbke::TestCa::new(self.seed);
        for m in &self.meters {
            if self.meters.iter().filter(|o| o.name == m.name).count() > 1 {
                return invalid(format!("two meters are called {:?}", m.name));
            }
            if !(11..=26).contains(&m.channel) {
                return invalid(format!(
                    "meter {:?}: channel {} is not a 2.4 GHz channel (11–26)",
                    m.name, m.channel
                ));
            }
            let network_key = match &m.network_key {
                Some(k) => key_from_hex(k)?,
                None => {
                    let mut k = [0u8; 16];
                    k[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
                    k[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
                    k
                }
            };
            keys.add(network_key, &format!("{} network key", m.name));
            let meter = MeterModel::new(m.load_w.clone(), m.summation_wh, start);
            let mut esi = Esi::new(
                &m.name,
                eui(&m.eui64, &m.name)?,
                m.pan,
                m.channel,
                network_key,
                m.device_limit,
                meter,
            );
            esi.global_key_fallback = m.global_key_fallback;
            esi.app.register = m.register();
            let fault = m.cbke_fault()?;
            if m.cbke {
                let identity = ca.identity(esi.eui());
                esi.require_cbke(identity, self.seed);
                if let Some(fault) = fault {
                    esi.set_cbke_faults(crate::cbke::EsiFaults::new(fault, &ca, esi.eui()));
                }
            }
            nodes.push(Node::Esi(Box::new(esi)));
        }
        for d in &self.devices {
            if self.devices.iter().filter(|o| o.name == d.name).count() > 1
                || self.meters.iter().any(|m| m.name == d.name)
            {
                return invalid(format!("two nodes are called {:?}", d.name));
            }
            let Some(kind) = DeviceKind::from_name(&d.kind) else {
                return invalid(format!(
                    "device {:?}: kind {:?} is not in-home-display, thermostat or load-control",
                    d.name, d.kind
                ));
            };
            let Some(Node::Esi(esi)) = nodes
                .iter_mut()
                .find(|n| matches!(n, Node::Esi(e) if e.name == d.meter))
            else {
                return invalid(format!(
                    "device {:?}: no meter called {:?}",
                    d.name, d.meter
                ));
            };
            let eui64 = eui(&d.eui64, &d.name)?;
            let own = code(&d.install_code, &d.name)?;
            keys.add(own.link_key(), &format!("{} install code link key", d.name));
            match d.provisioned_install_code.as_deref() {
                Some("none") => {}
                Some(other) => {
                    let provisioned = code(other, &d.name)?;
                    keys.add(
                        provisioned.link_key(),
                        &format!("{} install code given to {}", d.name, d.meter),
                    );
                    esi.provision(eui64, &provisioned, kind.clusters());
                }
                None => esi.provision(eui64, &own, kind.clusters()),
            }
            let class = d.device_class.unwrap_or(match kind {
                DeviceKind::Thermostat => DeviceClass::HVAC,
                DeviceKind::LoadControl => DeviceClass::WATER_HEATER | DeviceClass::POOL_PUMP,
                DeviceKind::InHomeDisplay => 0,
            });
            let drlc = DrlcConfig {
                device_class: DeviceClass(class),
                utility_enrollment_group: d.utility_enrollment_group,
                start_randomization_minutes: d.start_randomization_minutes,
                duration_randomization_minutes: d.duration_randomization_minutes,
            };
            let (pan, channel) = (esi.pan(), esi.channel);
            let meter_cbke = self.meters.iter().any(|m| m.name == d.meter && m.cbke);
            let cbke = match d.cbke.as_deref() {
                None if meter_cbke => crate::cbke::DeviceCbke::Good,
                None => crate::cbke::DeviceCbke::None,
                Some(name) => crate::cbke::DeviceCbke::from_name(name).ok_or_else(|| {
                    ScenarioError::Invalid(format!(
                        "device {:?}: cbke {name:?} is not one of {}",
                        d.name,
                        crate::cbke::DeviceCbke::NAMES
                    ))
                })?,
            };
            let mut device =
                SimDevice::new(&d.name, kind, eui64, &own, (pan, channel), drlc, self.seed);
            if let Some(identity) = ca.device_identity(eui64, cbke) {
                device.with_cbke(identity, cbke, self.seed);
            }
            nodes.push(Node::Device(Box::new(device)));
        }
        let medium = MediumConfig {
            latency_us: self.medium.latency_ms * 1000,
            loss: self.medium.loss,
            duplication: self.medium.duplication,
        };
        if !(0.0..=1.0).contains(&medium.loss) || !(0.0..=1.0).contains(&medium.duplication) {
            return invalid("medium: loss and duplication are probabilities from 0 to 1");
        }
        let mut sim = Simulation::new(nodes, medium, self.seed, start);
        for d in &self.devices {
            let index = sim.node_index(&d.name).unwrap_or(0);
            let at = start.plus(parse_duration(&d.join_at)?);
            sim.schedule(
                at,
                Happening::Act(Box::new(move |now, nodes, log| match &mut nodes[index] {
                    Node::Device(dev) => vec![(index, dev.start_join(now, log))],
                    Node::Remote(dev) => vec![(index, dev.start_join(now))],
                    Node::Esi(_) | Node::Coordinator(_) => Vec::new(),
                })),
            );
        }
        let mut meter_steps = Vec::new();
        for step in &self.timeline {
            let at = start.plus(parse_duration(&step.at)?);
            match self.action(&sim, &step.action)? {
                Stimulus::Device(act) => sim.schedule(at, Happening::Act(act)),
                Stimulus::Meter(index, f) => meter_steps.push((at, index, f)),
            }
        }
        Ok(Built {
            simulation: sim,
            keys,
            end,
            meter_steps,
        })
    }

    /// Builds the scenario for a rig whose host plays the meter `meter` over a radio
    /// co-processor: the simulation, with the co-processor's [`Coordinator`] in the meter's
    /// place (at the index returned), for the co-processor; the meter's application, its
    /// install-code keys and its timeline for the host.
    pub fn build_remote(&self, meter: &str) -> Result<(Simulation, usize, Remote), ScenarioError> {
        let built = self.build()?;
        let Built {
            mut simulation,
            keys,
            end,
            meter_steps,
        } = built;
        let Some(index) = simulation
            .node_index(meter)
            .filter(|&i| matches!(simulation.nodes[i], Node::Esi(_)))
        else {
            return invalid(format!("no meter called {meter:?}"));
        };
        let spec = self
            .meters
            .iter()
            .find(|m| m.name == meter)
            .ok_or_else(|| ScenarioError::Invalid(format!("no meter called {meter:?}")))?;
        let network_key = match &simulation.nodes[index] {
            Node::Esi(e) => e.network_key(),
            _ => return invalid(format!("{meter:?} is not a meter")),
        };
        let eui64 = eui(&spec.eui64, meter)?;
        let coordinator = Coordinator::new(meter, eui64, spec.pan, spec.channel, network_key);
        simulation.replace_node(index, Node::Coordinator(Box::new(coordinator)));
        let mut steps = Vec::new();
        for (at, i, f) in meter_steps {
            if i == index {
                steps.push((at, meter_step(f)));
            } else {
                // Another meter's steps stay in the simulation.
                simulation.schedule(at, Happening::Act(on_esi(i, f)));
            }
        }
        let start = parse_time(&self.start)?;
        let mut app = EsiApp::new(
            meter,
            MeterModel::new(spec.load_w.clone(), spec.summation_wh, start),
        );
        app.register = spec.register();
        let mut link_keys = Vec::new();
        for d in self.devices.iter().filter(|d| d.meter == meter) {
            let device = eui(&d.eui64, &d.name)?;
            let kind = DeviceKind::from_name(&d.kind)
                .ok_or_else(|| ScenarioError::Invalid(format!("device {:?}: bad kind", d.name)))?;
            let provisioned = match d.provisioned_install_code.as_deref() {
                Some("none") => None,
                Some(other) => Some(code(other, &d.name)?),
                None => Some(code(&d.install_code, &d.name)?),
            };
            if let Some(code) = provisioned {
                link_keys.push((device, code.link_key()));
                app.provision(device, kind.clusters());
            }
        }
        // The meter's certificate goes into its radio's tokens; the host runs the exchange.
        let cbke = if spec.cbke {
            let ca = crate::cbke::TestCa::new(self.seed);
            let faults = spec
                .cbke_fault()?
                .map(|f| crate::cbke::EsiFaults::new(f, &ca, eui64));
            Some(RemoteCbke {
                identity: ca.identity(eui64),
                faults,
            })
        } else {
            None
        };
        let remote = Remote {
            app,
            link_keys,
            global_key_fallback: spec.global_key_fallback,
            device_limit: spec.device_limit,
            eui: eui64,
            pan: spec.pan,
            channel: spec.channel,
            network_key,
            steps,
            keys,
            start,
            end,
            cbke,
        };
        Ok((simulation, index, remote))
    }

    fn action(&self, sim: &Simulation, action: &Action) -> Result<Stimulus, ScenarioError> {
        let meter = |name: &str| -> Result<usize, ScenarioError> {
            match sim
                .node_index(name)
                .filter(|&i| matches!(sim.nodes[i], Node::Esi(_)))
            {
                Some(i) => Ok(i),
                None => invalid(format!("timeline: no meter called {name:?}")),
            }
        };
        let device = |name: &str| -> Result<usize, ScenarioError> {
            match sim
                .node_index(name)
                .filter(|&i| matches!(sim.nodes[i], Node::Device(_)))
            {
                Some(i) => Ok(i),
                None => invalid(format!("timeline: no device called {name:?}")),
            }
        };
        fn on_esi(index: usize, f: impl FnOnce(SimTime) -> Utility + Send + 'static) -> Stimulus {
            Stimulus::Meter(index, Box::new(f))
        }
        fn on_device(
            index: usize,
            f: impl FnOnce(&mut SimDevice, SimTime, &mut Log) -> Vec<Vec<u8>> + Send + 'static,
        ) -> Stimulus {
            Stimulus::Device(Box::new(move |now, nodes, log| match &mut nodes[index] {
                Node::Device(d) => vec![(index, f(d, now, log))],
                Node::Esi(_) | Node::Coordinator(_) | Node::Remote(_) => Vec::new(),
            }))
        }
        /// A person's action at a device, wherever the device runs.
        fn on_user(index: usize, action: UserAction) -> Stimulus {
            Stimulus::Device(Box::new(move |now, nodes, log| match &mut nodes[index] {
                Node::Device(d) => vec![(index, d.user(now, action, log))],
                Node::Remote(r) => vec![(index, r.user(now, action))],
                Node::Esi(_) | Node::Coordinator(_) => Vec::new(),
            }))
        }
        Ok(match action {
            Action::PublishPrice(p) => {
                let rate_label = OctetString::new(p.rate_label.as_bytes()).map_err(|_| {
                    ScenarioError::Invalid(format!(
                        "rate label {:?} is over 12 bytes",
                        p.rate_label
                    ))
                })?;
                if p.tier > 15 || p.trailing_digits > 15 {
                    return invalid("publish_price: tier and trailing_digits are 0–15");
                }
                let price = PublishPrice {
                    provider_id: p.provider_id,
                    rate_label,
                    issuer_event_id: p.issuer_event_id,
                    current_time: UtcTime(0),
                    unit_of_measure: UnitOfMeasure::KilowattHours,
                    currency: p.currency,
                    price_trailing_digit_and_price_tier: p.trailing_digits << 4 | p.tier,
                    // As many tiers as the tier named (at least one), registered in that tier.
                    number_of_price_tiers_and_register_tier: p.tier.max(1) << 4 | p.tier,
                    start_time: UtcTime::NOW,
                    duration_in_minutes: p.duration_minutes.unwrap_or(0xFFFF),
                    price: p.price,
                    price_ratio: Some(0xFF),
                    generation_price: Some(0xFFFF_FFFF),
                    generation_price_ratio: Some(0xFF),
                    alternate_cost_delivered: Some(0xFFFF_FFFF),
                    alternate_cost_unit: Some(0x01),
                    alternate_cost_trailing_digit: Some(0x00),
                    number_of_block_thresholds: Some(0),
                    price_control: Some(u8::from(p.acknowledge)),
                    number_of_generation_tiers: None,
                    generation_tier: None,
                    extended_number_of_price_tiers: None,
                    extended_price_tier: None,
                    extended_register_tier: None,
                };
                let start_in = p.start_in.as_deref().map(parse_duration).transpose()?;
                on_esi(meter(&p.meter)?, move |now| {
                    let mut price = price;
                    if let Some(offset) = start_in {
                        price.start_time = now.plus(offset).utc();
                    }
                    Utility::Publish(Command::PublishPrice(price))
                })
            }
            Action::DisplayMessage(m) => {
                let message = CharString::new(m.text.as_bytes()).map_err(|_| {
                    ScenarioError::Invalid(format!("message {} is too long", m.message_id))
                })?;
                if m.importance > 3 {
                    return invalid("display_message: importance is 0–3");
                }
                let control = MessageControl(
                    if m.confirm {
                        MessageControl::CONFIRMATION_REQUIRED
                    } else {
                        0
                    } | m.importance << 2,
                );
                let msg = DisplayMessage {
                    message_id: m.message_id,
                    message_control: control,
                    start_time: UtcTime::NOW,
                    duration_in_minutes: m.duration_minutes.unwrap_or(0xFFFF),
                    message,
                    extended_message_control: None,
                };
                let start_in = m.start_in.as_deref().map(parse_duration).transpose()?;
                on_esi(meter(&m.meter)?, move |now| {
                    let mut msg = msg;
                    if let Some(offset) = start_in {
                        msg.start_time = now.plus(offset).utc();
                    }
                    Utility::Publish(Command::DisplayMessage(msg))
                })
            }
            Action::CancelMessage(c) => {
                let cancel = CancelMessage {
                    message_id: c.message_id,
                    message_control: MessageControl(0),
                };
                on_esi(meter(&c.meter)?, move |_| {
                    Utility::Publish(Command::CancelMessage(cancel))
                })
            }
            Action::LoadControlEvent(s) => {
                if s.duration_minutes > 1440 {
                    // Still sent: the devices must reject it. Scenarios test rejections too.
                }
                let start_in = s.start_in.as_deref().map(parse_duration).transpose()?;
                let start_at = s
                    .start_at
                    .as_deref()
                    .map(parse_duration)
                    .transpose()?
                    .map(|offset| parse_time(&self.start).map(|t| t.plus(offset)))
                    .transpose()?;
                let template = LoadControlEvent {
                    issuer_event_id: s.issuer_event_id,
                    device_class: DeviceClass(s.device_class),
                    utility_enrollment_group: s.utility_enrollment_group,
                    start_time: UtcTime::NOW,
                    duration_in_minutes: s.duration_minutes,
                    criticality_level: CriticalityLevel::from(s.criticality),
                    cooling_temperature_offset: s.cooling_offset.unwrap_or(0xFF),
                    heating_temperature_offset: s.heating_offset.unwrap_or(0xFF),
                    cooling_temperature_set_point: s.cooling_set_point.unwrap_or(i16::MIN),
                    heating_temperature_set_point: s.heating_set_point.unwrap_or(i16::MIN),
                    average_load_adjustment_percentage: s.load_adjustment.unwrap_or(i8::MIN),
                    duty_cycle: s.duty_cycle.unwrap_or(0xFF),
                    event_control: EventControl(
                        u8::from(s.randomize_start) | u8::from(s.randomize_end) << 1,
                    ),
                };
                on_esi(meter(&s.meter)?, move |now| {
                    let mut event = template;
                    if let Some(offset) = start_in {
                        event.start_time = now.plus(offset).utc();
                    }
                    if let Some(at) = start_at {
                        event.start_time = at.utc();
                    }
                    Utility::Publish(Command::LoadControlEvent(event))
                })
            }
            Action::CancelLoadControlEvent(c) => {
                let effective_in = c.effective_in.as_deref().map(parse_duration).transpose()?;
                let template = CancelLoadControlEvent {
                    issuer_event_id: c.issuer_event_id,
                    device_class: DeviceClass(c.device_class),
                    utility_enrollment_group: c.utility_enrollment_group,
                    cancel_control: CancelControl(u8::from(c.randomize_end)),
                    effective_time: UtcTime::NOW,
                };
                on_esi(meter(&c.meter)?, move |now| {
                    let mut cancel = template;
                    if let Some(offset) = effective_in {
                        cancel.effective_time = now.plus(offset).utc();
                    }
                    Utility::Publish(Command::CancelLoadControlEvent(cancel))
                })
            }
            Action::CancelAllLoadControlEvents(c) => {
                let cancel = CancelAllLoadControlEvents {
                    cancel_control: CancelControl(u8::from(c.randomize_end)),
                };
                on_esi(meter(&c.meter)?, move |_| {
                    Utility::Publish(Command::CancelAllLoadControlEvents(cancel))
                })
            }
            Action::ConfirmMessage(u) => on_user(
                device(&u.device)?,
                UserAction::ConfirmMessage {
                    message_id: u.message_id,
                },
            ),
            Action::OptOut(u) => on_user(
                device(&u.device)?,
                UserAction::OptOut {
                    issuer_event_id: u.issuer_event_id,
                },
            ),
            Action::OptIn(u) => on_user(
                device(&u.device)?,
                UserAction::OptIn {
                    issuer_event_id: u.issuer_event_id,
                },
            ),
            Action::ReadMetering(u) => on_user(device(&u.device)?, UserAction::ReadMetering),
            Action::SendZcl(z) => {
                let json = serde_json::to_value(&z.command)
                    .map_err(|e| ScenarioError::Invalid(e.to_string()))?;
                let command: hanrig_sep::Command = serde_json::from_value(json)
                    .map_err(|e| ScenarioError::Invalid(format!("send_zcl: {e}")))?;
                let cluster = z.cluster;
                on_device(device(&z.device)?, move |d, now, log| {
                    d.send_zcl(now, cluster, command, log)
                })
            }
            Action::SendZclToDevice(z) => {
                let json = serde_json::to_value(&z.command)
                    .map_err(|e| ScenarioError::Invalid(e.to_string()))?;
                let command: hanrig_sep::Command = serde_json::from_value(json)
                    .map_err(|e| ScenarioError::Invalid(format!("send_zcl_to_device: {e}")))?;
                let (cluster, meter_index) = (z.cluster, meter(&z.meter)?);
                let target = match &sim.nodes[device(&z.device)?] {
                    Node::Device(d) => d.eui(),
                    Node::Remote(r) => r.eui,
                    Node::Esi(_) | Node::Coordinator(_) => {
                        return invalid("send_zcl_to_device: not a device");
                    }
                };
                on_esi(meter_index, move |_| Utility::Send {
                    device: target,
                    cluster,
                    command,
                })
            }
        })
    }
}

impl RunOutput {
    /// Writes `capture.pcapng`, `keys` and `events.jsonl` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), ScenarioError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| ScenarioError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let pcap = dir.join("capture.pcapng");
        let file = std::fs::File::create(&pcap).map_err(io(&pcap))?;
        let mut writer =
            PcapngWriter::new(std::io::BufWriter::new(file), "hanrig sim").map_err(io(&pcap))?;
        for (t, _, frame) in &self.capture {
            writer.write_frame(t.0, frame).map_err(io(&pcap))?;
        }
        writer.finish().map_err(io(&pcap))?;
        let keys = dir.join("keys");
        std::fs::write(&keys, self.keys.to_text()).map_err(io(&keys))?;
        let events = dir.join("events.jsonl");
        std::fs::write(&events, self.log.to_json_lines()).map_err(io(&events))?;
        Ok(())
    }
}
