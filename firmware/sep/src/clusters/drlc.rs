//! Demand Response and Load Control cluster (0x0701).

use crate::UtcTime;
use crate::wire::Bytes;

/// Cluster identifier.
pub const CLUSTER_ID: u16 = 0x0701;

/// Server→client command identifiers.
pub mod server_command {
    /// Load Control Event.
    pub const LOAD_CONTROL_EVENT: u8 = 0x00;
    /// Cancel Load Control Event.
    pub const CANCEL_LOAD_CONTROL_EVENT: u8 = 0x01;
    /// Cancel All Load Control Events.
    pub const CANCEL_ALL_LOAD_CONTROL_EVENTS: u8 = 0x02;
}

/// Client→server command identifiers.
pub mod client_command {
    /// Report Event Status.
    pub const REPORT_EVENT_STATUS: u8 = 0x00;
    /// Get Scheduled Events.
    pub const GET_SCHEDULED_EVENTS: u8 = 0x01;
}

/// Client attribute identifiers.
pub mod attribute {
    /// UtilityEnrollmentGroup, uint8.
    pub const UTILITY_ENROLLMENT_GROUP: u16 = 0x0000;
    /// StartRandomizationMinutes, uint8.
    pub const START_RANDOMIZATION_MINUTES: u16 = 0x0001;
    /// DurationRandomizationMinutes, uint8.
    pub const DURATION_RANDOMIZATION_MINUTES: u16 = 0x0002;
    /// DeviceClassValue, uint16.
    pub const DEVICE_CLASS_VALUE: u16 = 0x0003;
}

/// Longest event a client accepts, in minutes (24 h).
pub const MAX_DURATION_MINUTES: u16 = 1440;
/// Temperature offset "not used".
pub const TEMPERATURE_OFFSET_NOT_USED: u8 = 0xFF;
/// Temperature set point "not used".
pub const TEMPERATURE_SET_POINT_NOT_USED: i16 = i16::MIN;
/// Average load adjustment "not used".
pub const LOAD_ADJUSTMENT_NOT_USED: i8 = i8::MIN;
/// Duty cycle "not used".
pub const DUTY_CYCLE_NOT_USED: u8 = 0xFF;

bitmap! {
    /// Device classes an event applies to.
    pub struct DeviceClass(u16) {
        /// HVAC compressor or furnace.
        const HVAC = 1 << 0;
        /// Strip heaters, baseboard heaters.
        const STRIP_HEATERS = 1 << 1;
        /// Water heater.
        const WATER_HEATER = 1 << 2;
        /// Pool pump, spa, jacuzzi.
        const POOL_PUMP = 1 << 3;
        /// Smart appliances.
        const SMART_APPLIANCES = 1 << 4;
        /// Irrigation pump.
        const IRRIGATION_PUMP = 1 << 5;
        /// Managed commercial and industrial loads.
        const MANAGED_CI_LOADS = 1 << 6;
        /// Simple miscellaneous (residential on/off) loads.
        const SIMPLE_MISC_LOADS = 1 << 7;
        /// Exterior lighting.
        const EXTERIOR_LIGHTING = 1 << 8;
        /// Interior lighting.
        const INTERIOR_LIGHTING = 1 << 9;
        /// Electric vehicle.
        const ELECTRIC_VEHICLE = 1 << 10;
        /// Generation systems.
        const GENERATION_SYSTEMS = 1 << 11;
    }
}

impl DeviceClass {
    /// Whether an event for `self` applies to a device of class `device`.
    pub fn applies_to(self, device: DeviceClass) -> bool {
        self.0 & device.0 != 0
    }
}

bitmap! {
    /// Event Control of a Load Control Event and Report Event Status.
    pub struct EventControl(u8) {
        /// Randomise the start time.
        const RANDOMIZE_START = 0x01;
        /// Randomise the end time (duration).
        const RANDOMIZE_END = 0x02;
    }
}

bitmap! {
    /// Cancel Control of Cancel Load Control Event and Cancel All.
    pub struct CancelControl(u8) {
        /// End a running event with the randomisation it started with.
        const RANDOMIZE_END = 0x01;
    }
}

open_enum! {
    /// Criticality level of a load control event.
    pub enum CriticalityLevel(u8) {
        /// Green.
        Green = 1, Level1 = 2, Level2 = 3, Level3 = 4, Level4 = 5, Level5 = 6,
        /// Emergency.
        Emergency = 7,
        /// Planned outage.
        PlannedOutage = 8,
        /// Service disconnect.
        ServiceDisconnect = 9,
    }
}

impl CriticalityLevel {
    /// Levels SE 1.0 reserves: 0 and 0x10 and above (0x0A–0x0F are utility-defined, in use).
    pub fn is_reserved(self) -> bool {
        let level = u8::from(self);
        level == 0 || level > 0x0F
    }
}

open_enum! {
    /// Event Status of Report Event Status.
    pub enum EventStatus(u8) {
        /// Load Control Event command received.
        CommandReceived = 0x01,
        /// Event started.
        Started = 0x02,
        /// Event completed.
        Completed = 0x03,
        /// User has chosen to opt out.
        UserOptedOut = 0x04,
        /// User has chosen to opt in.
        UserOptedIn = 0x05,
        /// The event has been cancelled.
        Cancelled = 0x06,
        /// The event has been superseded.
        Superseded = 0x07,
        /// Event partially completed with user opt-out.
        PartiallyCompletedWithOptOut = 0x08,
        /// Event partially completed due to user opt-in.
        PartiallyCompletedWithOptIn = 0x09,
        /// Event completed, no user participation (previous opt-out).
        CompletedNoParticipation = 0x0A,
        /// Rejected: invalid Cancel Command (default).
        RejectedInvalidCancel = 0xF8,
        /// Rejected: invalid Cancel Command (invalid effective time).
        RejectedInvalidEffectiveTime = 0xF9,
        /// Rejected: event was received after it had expired.
        RejectedExpired = 0xFB,
        /// Rejected: invalid Cancel Command (undefined event).
        RejectedUndefinedEvent = 0xFD,
        /// Load Control Event command rejected.
        Rejected = 0xFE,
    }
}

open_enum! {
    /// Signature type of Report Event Status.
    pub enum SignatureType(u8) {
        /// No signature.
        None = 0x00,
        /// ECDSA.
        Ecdsa = 0x01,
    }
}

layout! {
    /// Load Control Event (server→client 0x00).
    pub struct LoadControlEvent {
        /// Unique ID of the event.
        pub issuer_event_id: u32,
        /// Device classes the event applies to.
        pub device_class: DeviceClass,
        /// Utility enrollment group (0 = all).
        pub utility_enrollment_group: u8,
        /// Start time (0 = now).
        pub start_time: UtcTime,
        /// Duration in minutes (at most 1440).
        pub duration_in_minutes: u16,
        /// Criticality level.
        pub criticality_level: CriticalityLevel,
        /// Cooling temperature offset, 0.1 °C (0xFF = not used).
        pub cooling_temperature_offset: u8,
        /// Heating temperature offset, 0.1 °C (0xFF = not used).
        pub heating_temperature_offset: u8,
        /// Cooling set point, 0.01 °C (0x8000 = not used).
        pub cooling_temperature_set_point: i16,
        /// Heating set point, 0.01 °C (0x8000 = not used).
        pub heating_temperature_set_point: i16,
        /// Average load adjustment, percent (0x80 = not used).
        pub average_load_adjustment_percentage: i8,
        /// Duty cycle, percent (0xFF = not used).
        pub duty_cycle: u8,
        /// Randomisation of start and end.
        pub event_control: EventControl,
    }
}

layout! {
    /// Cancel Load Control Event (server→client 0x01).
    pub struct CancelLoadControlEvent {
        /// The event to cancel.
        pub issuer_event_id: u32,
        /// Device classes (must match the event's).
        pub device_class: DeviceClass,
        /// Utility enrollment group (must match the event's).
        pub utility_enrollment_group: u8,
        /// Bit 0: end with randomisation.
        pub cancel_control: CancelControl,
        /// When the cancellation takes effect (0 = now).
        pub effective_time: UtcTime,
    }
}

layout! {
    /// Cancel All Load Control Events (server→client 0x02).
    pub struct CancelAllLoadControlEvents {
        /// Bit 0: end with randomisation.
        pub cancel_control: CancelControl,
    }
}

layout! {
    /// Report Event Status (client→server 0x00).
    pub struct ReportEventStatus {
        /// The event reported on.
        pub issuer_event_id: u32,
        /// What happened.
        pub event_status: EventStatus,
        /// When it happened.
        pub event_status_time: UtcTime,
        /// Criticality level applied.
        pub criticality_level_applied: CriticalityLevel,
        /// Cooling set point applied, 0.01 °C (0x8000 = not used).
        pub cooling_temperature_set_point_applied: u16,
        /// Heating set point applied, 0.01 °C (0x8000 = not used).
        pub heating_temperature_set_point_applied: u16,
        /// Average load adjustment applied, percent (0x80 = not used).
        pub average_load_adjustment_percentage_applied: i8,
        /// Duty cycle applied (0xFF = not used).
        pub duty_cycle_applied: u8,
        /// Event control of the event.
        pub event_control: EventControl,
        /// Signature type (0 = none).
        pub signature_type: SignatureType,
        /// ECDSA signature (all 0xFF when unsigned, by convention).
        pub signature: Bytes<42>,
    }
}

layout! {
    /// Get Scheduled Events (client→server 0x01).
    pub struct GetScheduledEvents {
        /// Earliest start time of the events wanted (0 = now).
        pub start_time: UtcTime,
        /// Maximum number of events to send (0 = all).
        pub number_of_events: u8,
        /// SE 1.2: the event to start from.
        pub issuer_event_id: Option<u32>,
    }
}
