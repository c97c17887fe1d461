//! The DRLC client: the event table of a load-control device, thermostat or display.
//!
//! Sans-IO: feed it commands from the ESI ([`DrlcClient::handle_event`], [`handle_cancel`],
//! [`handle_cancel_all`]), user choices ([`opt_out`], [`opt_in`]) and the clock
//! ([`handle_timeout`] at [`poll_timeout`]); take what it wants done from [`poll_output`]:
//! Report Event Status commands to send and load actions to apply.
//!
//! Rules (SE 1.0 DRLC client as the EmberZNet reference client reads 075356r15;
//! `sep1-wire-facts.md` §2):
//! - an event whose device class shares no bit with ours, or whose utility enrollment group is
//!   neither 0 nor ours, is ignored (no report);
//! - start time 0xFFFFFFFF or a duration over 1440 minutes: rejected, 0xFE; an event already
//!   over (now > start + duration): rejected, 0xFB; an event ID already held: ignored;
//!   a full table: rejected, 0xFE;
//! - otherwise 0x01 (received); every held event whose interval overlaps the new one is
//!   superseded (0x07): at once if it has not started, one second before the new event's
//!   (randomised) start if it is running;
//! - start and end are randomised within the client's Start/Duration Randomization Minutes
//!   when the event's control bits ask; at the start 0x02 (0x04 if the user opted out), at the
//!   end 0x03, or 0x08 / 0x09 / 0x0A as the user's opt-outs and opt-ins decide;
//! - a cancel of an unknown event: 0xFD; with effective time 0xFFFFFFFF or after the event's
//!   end: 0xF9; otherwise 0x06 at the effective time (0 = now), plus the event's end
//!   randomisation when the cancel asks for it; Cancel All cancels every event that way.
//!
//! [`handle_cancel`]: DrlcClient::handle_cancel
//! [`handle_cancel_all`]: DrlcClient::handle_cancel_all
//! [`opt_out`]: DrlcClient::opt_out
//! [`opt_in`]: DrlcClient::opt_in
//! [`handle_timeout`]: DrlcClient::handle_timeout
//! [`poll_timeout`]: DrlcClient::poll_timeout
//! [`poll_output`]: DrlcClient::poll_output

use hanrig_sep::UtcTime;
use hanrig_sep::clusters::drlc::{
    CancelAllLoadControlEvents, CancelControl, CancelLoadControlEvent, CriticalityLevel,
    DeviceClass, EventControl, EventStatus, LoadControlEvent, MAX_DURATION_MINUTES,
    ReportEventStatus, SignatureType,
};
use hanrig_sep::wire::Bytes;
use hanrig_sep::zcl::general::{AttributeRecords, DataType, Status, StatusRecord, StatusRecords};

use crate::rng::Rng;

/// Events the table holds. A new event arriving at a full table is rejected (0xFE), as the
/// EmberZNet reference client does.
pub const EVENT_TABLE_CAPACITY: usize = 8;

/// Outputs that can wait to be polled: enough for Cancel All on a full table.
const OUTPUT_CAPACITY: usize = 4 * EVENT_TABLE_CAPACITY;

/// The client's configuration: its DRLC client attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DrlcConfig {
    /// DeviceClassValue (attribute 0x0003).
    pub device_class: DeviceClass,
    /// UtilityEnrollmentGroup (attribute 0x0000).
    pub utility_enrollment_group: u8,
    /// StartRandomizationMinutes (attribute 0x0001), at most 60.
    pub start_randomization_minutes: u8,
    /// DurationRandomizationMinutes (attribute 0x0002), at most 60.
    pub duration_randomization_minutes: u8,
}

impl DrlcConfig {
    /// Takes a Write Attributes from the ESI (SE 1.0 DRLC client attributes): each record
    /// naming UtilityEnrollmentGroup or Start/DurationRandomizationMinutes (uint8, the latter
    /// at most 60) or DeviceClassValue (uint16) with its type and a value in range is written;
    /// any other is refused with UNSUPPORTED_ATTRIBUTE, INVALID_DATA_TYPE or INVALID_VALUE
    /// and the rest still written (ZCL Write Attributes, not Undivided). Returns the Write
    /// Attributes Response's records: one SUCCESS when every record was written.
    pub fn write(&mut self, records: &AttributeRecords) -> StatusRecords {
        use hanrig_sep::clusters::drlc::attribute;
        let mut refused = StatusRecords {
            records: heapless::Vec::new(),
        };
        for record in records.records.iter() {
            let value = record.value.as_u64();
            let status = match (record.attribute, record.value.data_type, value) {
                (attribute::UTILITY_ENROLLMENT_GROUP, DataType::Uint8, Some(v)) => {
                    self.utility_enrollment_group = v as u8;
                    Status::Success
                }
                (
                    attribute::START_RANDOMIZATION_MINUTES
                    | attribute::DURATION_RANDOMIZATION_MINUTES,
                    DataType::Uint8,
                    Some(v),
                ) if v > 60 => Status::InvalidValue,
                (attribute::START_RANDOMIZATION_MINUTES, DataType::Uint8, Some(v)) => {
                    self.start_randomization_minutes = v as u8;
                    Status::Success
                }
                (attribute::DURATION_RANDOMIZATION_MINUTES, DataType::Uint8, Some(v)) => {
                    self.duration_randomization_minutes = v as u8;
                    Status::Success
                }
                (attribute::DEVICE_CLASS_VALUE, DataType::Uint16, Some(v)) => {
                    self.device_class = DeviceClass(v as u16);
                    Status::Success
                }
                (
                    attribute::UTILITY_ENROLLMENT_GROUP
                    | attribute::START_RANDOMIZATION_MINUTES
                    | attribute::DURATION_RANDOMIZATION_MINUTES
                    | attribute::DEVICE_CLASS_VALUE,
                    _,
                    _,
                ) => Status::InvalidDataType,
                _ => Status::UnsupportedAttribute,
            };
            if status != Status::Success {
                let _ = refused.records.push(StatusRecord {
                    status,
                    direction: None,
                    attribute: Some(record.attribute),
                });
            }
        }
        if refused.records.is_empty() {
            let _ = refused.records.push(StatusRecord {
                status: Status::Success,
                direction: None,
                attribute: None,
            });
        }
        refused
    }
}

/// What the device shall do to its load while an event runs: the event's control fields
/// ("not used" sentinels as on the wire). [`LoadAction::cooling_set_point`] and
/// [`LoadAction::heating_set_point`] turn them into set points for a thermostat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LoadAction {
    /// The event.
    pub issuer_event_id: u32,
    /// Its criticality.
    pub criticality_level: CriticalityLevel,
    /// Cooling offset, 0.1 °C (0xFF = not used).
    pub cooling_temperature_offset: u8,
    /// Heating offset, 0.1 °C (0xFF = not used).
    pub heating_temperature_offset: u8,
    /// Cooling set point, 0.01 °C (i16::MIN = not used).
    pub cooling_temperature_set_point: i16,
    /// Heating set point, 0.01 °C (i16::MIN = not used).
    pub heating_temperature_set_point: i16,
    /// Average load adjustment, percent (i8::MIN = not used).
    pub average_load_adjustment_percentage: i8,
    /// Duty cycle, percent (0xFF = not used).
    pub duty_cycle: u8,
}

impl LoadAction {
    fn of(event: &LoadControlEvent) -> Self {
        LoadAction {
            issuer_event_id: event.issuer_event_id,
            criticality_level: event.criticality_level,
            cooling_temperature_offset: event.cooling_temperature_offset,
            heating_temperature_offset: event.heating_temperature_offset,
            cooling_temperature_set_point: event.cooling_temperature_set_point,
            heating_temperature_set_point: event.heating_temperature_set_point,
            average_load_adjustment_percentage: event.average_load_adjustment_percentage,
            duty_cycle: event.duty_cycle,
        }
    }

    /// The cooling set point (0.01 °C) for a thermostat normally at `normal`: the event's set
    /// point if it gives one, else `normal` raised by the event's offset, else `normal`.
    pub fn cooling_set_point(&self, normal: i16) -> i16 {
        match (
            self.cooling_temperature_set_point,
            self.cooling_temperature_offset,
        ) {
            (i16::MIN, 0xFF) => normal,
            (i16::MIN, offset) => normal.saturating_add(i16::from(offset) * 10),
            (set_point, _) => set_point,
        }
    }

    /// The heating set point (0.01 °C) for a thermostat normally at `normal`: the event's set
    /// point if it gives one, else `normal` lowered by the event's offset, else `normal`.
    pub fn heating_set_point(&self, normal: i16) -> i16 {
        match (
            self.heating_temperature_set_point,
            self.heating_temperature_offset,
        ) {
            (i16::MIN, 0xFF) => normal,
            (i16::MIN, offset) => normal.saturating_sub(i16::from(offset) * 10),
            (set_point, _) => set_point,
        }
    }

    /// Whether the load is to be switched off (a relay): no duty cycle, no load adjustment and
    /// no temperature control given, so shedding is all a simple load can do.
    pub fn sheds_load(&self) -> bool {
        self.duty_cycle == 0xFF || self.duty_cycle == 0
    }
}

/// What the client asks its caller to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Output {
    /// Send this Report Event Status to the ESI.
    Report(ReportEventStatus),
    /// Apply the event's load control.
    Apply(LoadAction),
    /// End the event's load control: back to normal operation.
    Restore {
        /// The event that ended.
        issuer_event_id: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Cancel,
    Supersede,
}

#[derive(Debug, Clone)]
struct Entry {
    event: LoadControlEvent,
    /// Randomised start, seconds since 2000.
    start: u32,
    /// Randomised end.
    end: u32,
    /// Seconds of end randomisation drawn for this event (reused by a randomised cancel).
    end_randomization: u32,
    running: bool,
    opted_out: bool,
    /// Ever opted out while the event was held.
    ever_opted_out: bool,
    /// Ran with the load controlled at some point.
    participated: bool,
    /// Cancelled or superseded at this time.
    ending: Option<(u32, Ending)>,
}

impl Entry {
    fn due(&self) -> u32 {
        let natural = if self.running { self.end } else { self.start };
        match self.ending {
            Some((at, _)) => at.min(natural),
            None => natural,
        }
    }
}

/// The DRLC client state machine.
#[derive(Debug, Clone)]
pub struct DrlcClient {
    config: DrlcConfig,
    rng: Rng,
    events: heapless::Vec<Entry, EVENT_TABLE_CAPACITY>,
    outputs: heapless::Deque<Queued, OUTPUT_CAPACITY>,
}

/// An output waiting to be polled, kept small (a report without its constant signature
/// field): the queue is most of a client's memory, and a simulator holds 100,000 clients.
#[derive(Debug, Clone, Copy)]
enum Queued {
    Report {
        event: ReportFields,
        status: EventStatus,
        at: u32,
    },
    Apply(LoadAction),
    Restore {
        issuer_event_id: u32,
    },
}

/// The event fields a report repeats.
#[derive(Debug, Clone, Copy)]
struct ReportFields {
    issuer_event_id: u32,
    criticality_level: CriticalityLevel,
    cooling_temperature_set_point: i16,
    heating_temperature_set_point: i16,
    average_load_adjustment_percentage: i8,
    duty_cycle: u8,
    event_control: EventControl,
}

impl ReportFields {
    fn of(event: &LoadControlEvent) -> Self {
        ReportFields {
            issuer_event_id: event.issuer_event_id,
            criticality_level: event.criticality_level,
            cooling_temperature_set_point: event.cooling_temperature_set_point,
            heating_temperature_set_point: event.heating_temperature_set_point,
            average_load_adjustment_percentage: event.average_load_adjustment_percentage,
            duty_cycle: event.duty_cycle,
            event_control: event.event_control,
        }
    }

    /// The fields of a report about an event the client does not hold.
    fn unknown(issuer_event_id: u32) -> Self {
        ReportFields {
            issuer_event_id,
            criticality_level: CriticalityLevel::Unknown(0),
            cooling_temperature_set_point: i16::MIN,
            heating_temperature_set_point: i16::MIN,
            average_load_adjustment_percentage: i8::MIN,
            duty_cycle: 0xFF,
            event_control: EventControl(0),
        }
    }

    fn report(self, status: EventStatus, at: u32) -> ReportEventStatus {
        ReportEventStatus {
            issuer_event_id: self.issuer_event_id,
            event_status: status,
            event_status_time: UtcTime(at),
            criticality_level_applied: self.criticality_level,
            cooling_temperature_set_point_applied: self.cooling_temperature_set_point as u16,
            heating_temperature_set_point_applied: self.heating_temperature_set_point as u16,
            average_load_adjustment_percentage_applied: self.average_load_adjustment_percentage,
            duty_cycle_applied: self.duty_cycle,
            event_control: self.event_control,
            signature_type: SignatureType::None,
            signature: NO_SIGNATURE,
        }
    }
}

/// The signature field of an unsigned report.
const NO_SIGNATURE: Bytes<42> = Bytes([0xFF; 42]);

impl DrlcClient {
    /// A client with `config`, drawing its randomisation from `seed`.
    pub fn new(config: DrlcConfig, seed: u64) -> Self {
        DrlcClient {
            config,
            rng: Rng::new(seed),
            events: heapless::Vec::new(),
            outputs: heapless::Deque::new(),
        }
    }

    /// The client's configuration.
    pub fn config(&self) -> &DrlcConfig {
        &self.config
    }

    /// Changes the configuration (a Write Attributes from the ESI); held events keep their times.
    pub fn set_config(&mut self, config: DrlcConfig) {
        self.config = config;
    }

    /// The next output, if any. Call until `None` after every other call.
    pub fn poll_output(&mut self) -> Option<Output> {
        Some(match self.outputs.pop_front()? {
            Queued::Report { event, status, at } => Output::Report(event.report(status, at)),
            Queued::Apply(action) => Output::Apply(action),
            Queued::Restore { issuer_event_id } => Output::Restore { issuer_event_id },
        })
    }

    /// When [`DrlcClient::handle_timeout`] is next due (seconds since 2000), if anything is held.
    pub fn poll_timeout(&self) -> Option<UtcTime> {
        self.events.iter().map(Entry::due).min().map(UtcTime)
    }

    /// The events held, with their randomised start and end.
    pub fn scheduled(&self) -> impl Iterator<Item = (&LoadControlEvent, UtcTime, UtcTime)> {
        self.events
            .iter()
            .map(|e| (&e.event, UtcTime(e.start), UtcTime(e.end)))
    }

    fn push(&mut self, output: Queued) {
        // The capacity covers the most one call can produce; a caller that never polls loses
        // the oldest output rather than the newest.
        if let Err(output) = self.outputs.push_back(output) {
            self.outputs.pop_front();
            let _ = self.outputs.push_back(output);
        }
    }

    fn report(&mut self, event: &LoadControlEvent, status: EventStatus, at: u32) {
        self.push(Queued::Report {
            event: ReportFields::of(event),
            status,
            at,
        });
        debug!(
            "drlc: event {} status {}",
            event.issuer_event_id,
            u8::from(status)
        );
    }

    /// A report about an event the client does not hold (rejected cancels).
    fn report_unknown(&mut self, issuer_event_id: u32, status: EventStatus, at: u32) {
        self.push(Queued::Report {
            event: ReportFields::unknown(issuer_event_id),
            status,
            at,
        });
    }

    fn for_us(&self, device_class: DeviceClass, group: u8) -> bool {
        device_class.applies_to(self.config.device_class)
            && (group == 0 || group == self.config.utility_enrollment_group)
    }

    /// A Load Control Event from the ESI, received at `now`.
    pub fn handle_event(&mut self, now: UtcTime, event: &LoadControlEvent) {
        let now = now.0;
        // Not ours, or of a reserved criticality level: ignored without a report, as the
        // EmberZNet reference client does (`drlc-client.c`: "Reserved criticality level.
        // Ignoring.").
        if !self.for_us(event.device_class, event.utility_enrollment_group)
            || event.criticality_level.is_reserved()
        {
            return;
        }
        if self
            .events
            .iter()
            .any(|e| e.event.issuer_event_id == event.issuer_event_id)
        {
            return;
        }
        if event.start_time == UtcTime::INVALID || event.duration_in_minutes > MAX_DURATION_MINUTES
        {
            return self.report(event, EventStatus::Rejected, now);
        }
        let start = if event.start_time == UtcTime::NOW {
            now
        } else {
            event.start_time.0
        };
        let end = u64::from(start) + 60 * u64::from(event.duration_in_minutes);
        if u64::from(now) > end {
            return self.report(event, EventStatus::RejectedExpired, now);
        }
        if self.events.is_full() {
            return self.report(event, EventStatus::Rejected, now);
        }
        self.report(event, EventStatus::CommandReceived, now);

        let start_randomization = if event.event_control.contains(EventControl::RANDOMIZE_START) {
            self.rng
                .up_to(60 * u32::from(self.config.start_randomization_minutes))
        } else {
            0
        };
        let end_randomization = if event.event_control.contains(EventControl::RANDOMIZE_END) {
            self.rng
                .up_to(60 * u32::from(self.config.duration_randomization_minutes))
        } else {
            0
        };
        let (start_r, end_r) = (
            start.saturating_add(start_randomization),
            (end as u32).saturating_add(end_randomization),
        );

        // Supersede every held event that overlaps [start, end).
        let mut i = 0;
        while i < self.events.len() {
            let held = &self.events[i];
            let overlaps = u64::from(held.start) < end && start < held.end;
            if !overlaps || held.ending.is_some_and(|(_, why)| why == Ending::Cancel) {
                i += 1;
                continue;
            }
            if held.running {
                let at = start_r.saturating_sub(1).max(now);
                self.events[i].ending = Some((at, Ending::Supersede));
                i += 1;
            } else {
                let held = self.events.remove(i);
                self.report(&held.event, EventStatus::Superseded, now);
            }
        }

        let entry = Entry {
            event: event.clone(),
            start: start_r,
            end: end_r,
            end_randomization,
            running: false,
            opted_out: false,
            ever_opted_out: false,
            participated: false,
            ending: None,
        };
        // The table had room, and superseding only removes entries.
        let _ = self.events.push(entry);
        self.handle_timeout(UtcTime(now));
    }

    /// A Cancel Load Control Event from the ESI, received at `now`.
    pub fn handle_cancel(&mut self, now: UtcTime, cancel: &CancelLoadControlEvent) {
        let now = now.0;
        if !self.for_us(cancel.device_class, cancel.utility_enrollment_group) {
            return;
        }
        let Some(index) = self
            .events
            .iter()
            .position(|e| e.event.issuer_event_id == cancel.issuer_event_id)
        else {
            return self.report_unknown(
                cancel.issuer_event_id,
                EventStatus::RejectedUndefinedEvent,
                now,
            );
        };
        self.cancel_entry(index, now, cancel.effective_time, cancel.cancel_control);
        self.handle_timeout(UtcTime(now));
    }

    fn cancel_entry(
        &mut self,
        index: usize,
        now: u32,
        effective_time: UtcTime,
        control: CancelControl,
    ) {
        let entry = &self.events[index];
        let at = if effective_time == UtcTime::NOW {
            now
        } else {
            effective_time.0
        };
        if effective_time == UtcTime::INVALID || at > entry.end {
            let event = entry.event.clone();
            return self.report(&event, EventStatus::RejectedInvalidEffectiveTime, now);
        }
        let at = if control.contains(CancelControl::RANDOMIZE_END) {
            at.saturating_add(entry.end_randomization)
        } else {
            at
        };
        self.events[index].ending = Some((at.max(now), Ending::Cancel));
    }

    /// A Cancel All Load Control Events from the ESI, received at `now`: every held event is
    /// cancelled as by a cancel with effective time "now".
    pub fn handle_cancel_all(&mut self, now: UtcTime, cancel: &CancelAllLoadControlEvents) {
        for index in 0..self.events.len() {
            self.cancel_entry(index, now.0, UtcTime::NOW, cancel.cancel_control);
        }
        self.handle_timeout(now);
    }

    /// The user opts out of event `issuer_event_id` (reported at once: 0x04).
    pub fn opt_out(&mut self, now: UtcTime, issuer_event_id: u32) {
        self.set_opt(now.0, issuer_event_id, true);
    }

    /// The user opts back in to event `issuer_event_id` (reported at once: 0x05).
    pub fn opt_in(&mut self, now: UtcTime, issuer_event_id: u32) {
        self.set_opt(now.0, issuer_event_id, false);
    }

    fn set_opt(&mut self, now: u32, issuer_event_id: u32, out: bool) {
        let Some(index) = self
            .events
            .iter()
            .position(|e| e.event.issuer_event_id == issuer_event_id)
        else {
            return;
        };
        let entry = &mut self.events[index];
        if entry.opted_out == out {
            return;
        }
        entry.opted_out = out;
        entry.ever_opted_out |= out;
        let (event, running) = (entry.event.clone(), entry.running);
        if running && !out {
            entry.participated = true;
        }
        self.report(
            &event,
            if out {
                EventStatus::UserOptedOut
            } else {
                EventStatus::UserOptedIn
            },
            now,
        );
        if running {
            self.push(if out {
                Queued::Restore { issuer_event_id }
            } else {
                Queued::Apply(LoadAction::of(&event))
            });
        }
    }

    /// Runs everything due by `now`, in time order.
    pub fn handle_timeout(&mut self, now: UtcTime) {
        while let Some((index, due)) = self
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| (i, e.due()))
            .filter(|(_, due)| *due <= now.0)
            .min_by_key(|(_, d)| *d)
        {
            let entry = self.events[index].clone();
            match entry.ending {
                Some((at, why)) if at == due => {
                    self.events.remove(index);
                    if entry.running && !entry.opted_out {
                        self.push(Queued::Restore {
                            issuer_event_id: entry.event.issuer_event_id,
                        });
                    }
                    let status = if why == Ending::Cancel {
                        EventStatus::Cancelled
                    } else {
                        EventStatus::Superseded
                    };
                    self.report(&entry.event, status, at);
                }
                _ if !entry.running => {
                    let e = &mut self.events[index];
                    e.running = true;
                    e.participated = !e.opted_out;
                    if entry.opted_out {
                        self.report(&entry.event, EventStatus::UserOptedOut, due);
                    } else {
                        self.report(&entry.event, EventStatus::Started, due);
                        self.push(Queued::Apply(LoadAction::of(&entry.event)));
                    }
                }
                _ => {
                    self.events.remove(index);
                    let status = match (entry.ever_opted_out, entry.participated, entry.opted_out) {
                        (false, _, _) => EventStatus::Completed,
                        (true, false, _) => EventStatus::CompletedNoParticipation,
                        (true, true, true) => EventStatus::PartiallyCompletedWithOptOut,
                        (true, true, false) => EventStatus::PartiallyCompletedWithOptIn,
                    };
                    if !entry.opted_out {
                        self.push(Queued::Restore {
                            issuer_event_id: entry.event.issuer_event_id,
                        });
                    }
                    self.report(&entry.event, status, due);
                }
            }
        }
    }
}
