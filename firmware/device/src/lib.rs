//! # hanrig-device: SE 1.0 in-home device logic
//!
//! The behaviour of in-home devices — load-control devices, thermostats, displays — written
//! once, `no_std` and allocation-free, as sans-IO state machines: they take the time and an
//! incoming command or user input, and hand back frames to send, load actions and their next
//! wake-up. The same code runs on a device (with `defmt` logs and embedded-hal pins) and inside
//! hanrig's simulator on virtual time.
//!
//! - [`drlc`]: the DRLC client's event table, reports and load actions.
//! - [`load`]: DRLC load actions on a relay pin.
//! - [`messaging`]: the message an in-home display shows, and the user's confirmations.
//! - [`price`]: the tariff table, the price in force and price acknowledgements.
//! - [`metering`]: the meter's summation, demand and status, read and ready to print.
//!
//! ```
//! use hanrig_device::drlc::{DrlcClient, DrlcConfig, Output};
//! use hanrig_sep::clusters::drlc::{DeviceClass, EventControl, EventStatus, LoadControlEvent, CriticalityLevel};
//! use hanrig_sep::UtcTime;
//!
//! let mut client = DrlcClient::new(DrlcConfig {
//!     device_class: DeviceClass(DeviceClass::HVAC),
//!     utility_enrollment_group: 0,
//!     start_randomization_minutes: 0,
//!     duration_randomization_minutes: 0,
//! }, 1);
//! let event = LoadControlEvent {
//!     issuer_event_id: 7, device_class: DeviceClass(DeviceClass::HVAC), utility_enrollment_group: 0,
//!     start_time: UtcTime(1_000), duration_in_minutes: 60, criticality_level: CriticalityLevel::Level1,
//!     cooling_temperature_offset: 0xFF, heating_temperature_offset: 0xFF,
//!     cooling_temperature_set_point: i16::MIN, heating_temperature_set_point: i16::MIN,
//!     average_load_adjustment_percentage: i8::MIN, duty_cycle: 0xFF, event_control: EventControl(0),
//! };
//! client.handle_event(UtcTime(900), &event);
//! assert!(matches!(client.poll_output(), Some(Output::Report(r)) if r.event_status == EventStatus::CommandReceived));
//! assert_eq!(client.poll_timeout(), Some(UtcTime(1_000)));
//! client.handle_timeout(UtcTime(1_000));
//! assert!(matches!(client.poll_output(), Some(Output::Report(r)) if r.event_status == EventStatus::Started));
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[macro_use]
mod fmt;

pub mod drlc;
pub mod load;
pub mod messaging;
pub mod metering;
pub mod price;
mod rng;

pub use rng::Rng;
