//! The DRLC client's rules, each pinned by the behaviour it names.

#![allow(clippy::unwrap_used)]

use hanrig_device::drlc::{DrlcClient, DrlcConfig, EVENT_TABLE_CAPACITY, LoadAction, Output};
use hanrig_device::load::Relay;
use hanrig_sep::UtcTime;
use hanrig_sep::clusters::drlc::{
    CancelAllLoadControlEvents, CancelControl, CancelLoadControlEvent, CriticalityLevel,
    DeviceClass, EventControl, EventStatus, LoadControlEvent,
};
use proptest::prelude::*;

const HVAC: DeviceClass = DeviceClass(DeviceClass::HVAC);
const T0: u32 = 800_000_000; // 2025-05-07

fn config() -> DrlcConfig {
    DrlcConfig {
        device_class: HVAC,
        utility_enrollment_group: 3,
        start_randomization_minutes: 30,
        duration_randomization_minutes: 15,
    }
}

fn event(id: u32, start: u32, minutes: u16) -> LoadControlEvent {
    LoadControlEvent {
        issuer_event_id: id,
        device_class: HVAC,
        utility_enrollment_group: 0,
        start_time: UtcTime(start),
        duration_in_minutes: minutes,
        criticality_level: CriticalityLevel::Level1,
        cooling_temperature_offset: 0xFF,
        heating_temperature_offset: 0xFF,
        cooling_temperature_set_point: i16::MIN,
        heating_temperature_set_point: i16::MIN,
        average_load_adjustment_percentage: i8::MIN,
        duty_cycle: 0xFF,
        event_control: EventControl(0),
    }
}

fn cancel(id: u32, effective: u32, control: u8) -> CancelLoadControlEvent {
    CancelLoadControlEvent {
        issuer_event_id: id,
        device_class: HVAC,
        utility_enrollment_group: 0,
        cancel_control: CancelControl(control),
        effective_time: UtcTime(effective),
    }
}

/// Everything the client asks for, as (event id, status, time) for reports and
/// ("apply"/"restore", id) for load actions.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Report(u32, EventStatus, u32),
    Apply(u32),
    Restore(u32),
}

fn drain(client: &mut DrlcClient) -> Vec<Seen> {
    let mut out = Vec::new();
    while let Some(o) = client.poll_output() {
        out.push(match o {
            Output::Report(r) => {
                Seen::Report(r.issuer_event_id, r.event_status, r.event_status_time.0)
            }
            Output::Apply(a) => Seen::Apply(a.issuer_event_id),
            Output::Restore { issuer_event_id } => Seen::Restore(issuer_event_id),
        });
    }
    out
}

/// Runs the clock to `until`, waking the client whenever it asks.
fn run_until(client: &mut DrlcClient, until: u32) -> Vec<Seen> {
    let mut seen = Vec::new();
    while let Some(t) = client.poll_timeout() {
        if t.0 > until {
            break;
        }
        client.handle_timeout(t);
        seen.extend(drain(client));
    }
    seen
}

use EventStatus::*;
use Seen::{Apply, Report, Restore};

#[test]
fn lce_is_acknowledged_started_and_completed_on_time() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(UtcTime(T0), &event(1, T0 + 600, 60));
    assert_eq!(drain(&mut c), [Report(1, CommandReceived, T0)]);
    assert_eq!(c.poll_timeout(), Some(UtcTime(T0 + 600)));
    let seen = run_until(&mut c, T0 + 10_000);
    assert_eq!(
        seen,
        [
            Report(1, Started, T0 + 600),
            Apply(1),
            Restore(1),
            Report(1, Completed, T0 + 600 + 3600)
        ]
    );
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn lce_with_start_time_zero_starts_now() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(UtcTime(T0), &event(1, 0, 1));
    assert_eq!(
        drain(&mut c),
        [
            Report(1, CommandReceived, T0),
            Report(1, Started, T0),
            Apply(1)
        ]
    );
    assert_eq!(
        run_until(&mut c, T0 + 61),
        [Restore(1), Report(1, Completed, T0 + 60)]
    );
}

#[test]
fn lce_for_another_device_class_or_enrollment_group_is_ignored() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(
        UtcTime(T0),
        &LoadControlEvent {
            device_class: DeviceClass(DeviceClass::WATER_HEATER),
            ..event(1, T0, 10)
        },
    );
    c.handle_event(
        UtcTime(T0),
        &LoadControlEvent {
            utility_enrollment_group: 4,
            ..event(2, T0, 10)
        },
    );
    assert_eq!(drain(&mut c), []);
    assert_eq!(c.poll_timeout(), None);
    // Group 0 is every group; a class bitmap sharing one bit with ours applies.
    c.handle_event(
        UtcTime(T0),
        &LoadControlEvent {
            device_class: DeviceClass(0x0003),
            utility_enrollment_group: 3,
            ..event(3, T0 + 60, 10)
        },
    );
    assert_eq!(drain(&mut c), [Report(3, CommandReceived, T0)]);
}

#[test]
fn every_defined_criticality_level_is_taken_and_reserved_levels_are_ignored() {
    let mut c = DrlcClient::new(config(), 1);
    // 1–9 named, 0x0A–0x0F utility-defined: each taken, each 1-minute event after the last.
    for level in 1..=0x0Fu8 {
        let t = T0 + 60 * u32::from(level);
        c.handle_event(
            UtcTime(t),
            &LoadControlEvent {
                criticality_level: CriticalityLevel::from(level),
                ..event(u32::from(level), t, 1)
            },
        );
        assert_eq!(
            drain(&mut c),
            [
                Report(u32::from(level), CommandReceived, t),
                Report(u32::from(level), Started, t),
                Apply(u32::from(level))
            ],
            "level {level:#04x}"
        );
        run_until(&mut c, t + 60);
    }
    // 0 and 0x10 and above: no report, nothing held.
    for (id, level) in [(100, 0u8), (101, 0x10), (102, 0xFF)] {
        c.handle_event(
            UtcTime(T0 + 2000),
            &LoadControlEvent {
                criticality_level: CriticalityLevel::from(level),
                ..event(id, T0 + 2000, 10)
            },
        );
    }
    assert_eq!(drain(&mut c), []);
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn invalid_start_or_duration_over_1440_minutes_is_rejected_with_0xfe() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(UtcTime(T0), &event(1, T0, 1441));
    c.handle_event(UtcTime(T0), &event(2, u32::MAX, 10));
    c.handle_event(UtcTime(T0), &event(3, T0, 1440));
    assert_eq!(
        drain(&mut c),
        [
            Report(1, Rejected, T0),
            Report(2, Rejected, T0),
            Report(3, CommandReceived, T0),
            Report(3, Started, T0),
            Apply(3)
        ]
    );
}

#[test]
fn expired_event_is_rejected_with_0xfb() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(UtcTime(T0 + 3601), &event(1, T0, 60));
    assert_eq!(drain(&mut c), [Report(1, RejectedExpired, T0 + 3601)]);
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn duplicate_event_id_is_ignored() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(UtcTime(T0), &event(1, T0 + 60, 10));
    c.handle_event(UtcTime(T0 + 1), &event(1, T0 + 60, 10));
    assert_eq!(drain(&mut c), [Report(1, CommandReceived, T0)]);
}

#[test]
fn overlapping_scheduled_event_is_superseded_at_once() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(UtcTime(T0), &event(1, T0 + 600, 60));
    c.handle_event(UtcTime(T0 + 5), &event(2, T0 + 1200, 60));
    assert_eq!(
        drain(&mut c),
        [
            Report(1, CommandReceived, T0),
            Report(2, CommandReceived, T0 + 5),
            Report(1, Superseded, T0 + 5)
        ]
    );
    assert_eq!(
        run_until(&mut c, T0 + 10_000),
        [
            Report(2, Started, T0 + 1200),
            Apply(2),
            Restore(2),
            Report(2, Completed, T0 + 1200 + 3600)
        ]
    );
}

#[test]
fn overlapping_running_event_is_superseded_one_second_before_the_new_start() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(UtcTime(T0), &event(1, T0, 120));
    c.handle_event(UtcTime(T0 + 60), &event(2, T0 + 1800, 60));
    assert_eq!(
        drain(&mut c),
        [
            Report(1, CommandReceived, T0),
            Report(1, Started, T0),
            Apply(1),
            Report(2, CommandReceived, T0 + 60)
        ]
    );
    assert_eq!(
        run_until(&mut c, T0 + 1800),
        [
            Restore(1),
            Report(1, Superseded, T0 + 1799),
            Report(2, Started, T0 + 1800),
            Apply(2)
        ]
    );
}

#[test]
fn events_that_do_not_overlap_both_run() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(UtcTime(T0), &event(1, T0 + 60, 1));
    c.handle_event(UtcTime(T0), &event(2, T0 + 120, 1)); // starts exactly when 1 ends
    drain(&mut c);
    let statuses: Vec<_> = run_until(&mut c, T0 + 1000)
        .into_iter()
        .filter(|s| matches!(s, Report(..)))
        .collect();
    assert_eq!(
        statuses,
        [
            Report(1, Started, T0 + 60),
            Report(1, Completed, T0 + 120),
            Report(2, Started, T0 + 120),
            Report(2, Completed, T0 + 180)
        ]
    );
}

#[test]
fn full_table_rejects_the_next_event_with_0xfe() {
    let mut c = DrlcClient::new(config(), 1);
    for i in 0..EVENT_TABLE_CAPACITY as u32 {
        c.handle_event(UtcTime(T0), &event(i, T0 + 1000 * (i + 1), 1));
    }
    drain(&mut c);
    c.handle_event(UtcTime(T0), &event(99, T0 + 100_000, 1));
    assert_eq!(drain(&mut c), [Report(99, Rejected, T0)]);
}

#[test]
fn cancel_of_an_unknown_event_reports_0xfd() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_cancel(UtcTime(T0), &cancel(5, 0, 0));
    assert_eq!(drain(&mut c), [Report(5, RejectedUndefinedEvent, T0)]);
}

#[test]
fn cancel_with_an_invalid_or_late_effective_time_reports_0xf9() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(UtcTime(T0), &event(1, T0 + 60, 10));
    drain(&mut c);
    c.handle_cancel(UtcTime(T0), &cancel(1, u32::MAX, 0));
    c.handle_cancel(UtcTime(T0), &cancel(1, T0 + 60 + 601, 0));
    assert_eq!(
        drain(&mut c),
        [
            Report(1, RejectedInvalidEffectiveTime, T0),
            Report(1, RejectedInvalidEffectiveTime, T0)
        ]
    );
    // The event still runs.
    assert!(run_until(&mut c, T0 + 700).contains(&Report(1, Completed, T0 + 660)));
}

#[test]
fn cancel_of_a_running_event_at_its_effective_time_restores_the_load() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(UtcTime(T0), &event(1, T0, 60));
    drain(&mut c);
    c.handle_cancel(UtcTime(T0 + 10), &cancel(1, T0 + 900, 0));
    assert_eq!(drain(&mut c), []);
    assert_eq!(
        run_until(&mut c, T0 + 5000),
        [Restore(1), Report(1, Cancelled, T0 + 900)]
    );
}

#[test]
fn cancel_of_a_scheduled_event_now_reports_cancelled_without_load_actions() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(UtcTime(T0), &event(1, T0 + 600, 60));
    drain(&mut c);
    c.handle_cancel(UtcTime(T0 + 10), &cancel(1, 0, 0));
    assert_eq!(drain(&mut c), [Report(1, Cancelled, T0 + 10)]);
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn cancel_all_cancels_every_event() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(UtcTime(T0), &event(1, T0, 60));
    c.handle_event(UtcTime(T0), &event(2, T0 + 7200, 60));
    drain(&mut c);
    c.handle_cancel_all(
        UtcTime(T0 + 30),
        &CancelAllLoadControlEvents {
            cancel_control: CancelControl(0),
        },
    );
    let mut seen = drain(&mut c);
    seen.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(
        seen,
        [
            Report(1, Cancelled, T0 + 30),
            Report(2, Cancelled, T0 + 30),
            Restore(1)
        ]
    );
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn opting_out_before_the_start_reports_0x04_and_completes_with_no_participation() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(UtcTime(T0), &event(1, T0 + 60, 10));
    c.opt_out(UtcTime(T0 + 1), 1);
    assert_eq!(
        drain(&mut c),
        [
            Report(1, CommandReceived, T0),
            Report(1, UserOptedOut, T0 + 1)
        ]
    );
    assert_eq!(
        run_until(&mut c, T0 + 2000),
        [
            Report(1, UserOptedOut, T0 + 60),
            Report(1, CompletedNoParticipation, T0 + 660)
        ]
    );
}

#[test]
fn opting_out_during_the_event_restores_the_load_and_reports_partial_completion() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(UtcTime(T0), &event(1, T0, 10));
    drain(&mut c);
    c.opt_out(UtcTime(T0 + 100), 1);
    assert_eq!(
        drain(&mut c),
        [Report(1, UserOptedOut, T0 + 100), Restore(1)]
    );
    assert_eq!(
        run_until(&mut c, T0 + 2000),
        [Report(1, PartiallyCompletedWithOptOut, T0 + 600)]
    );
}

#[test]
fn opting_back_in_reapplies_the_load_and_reports_0x09_at_the_end() {
    let mut c = DrlcClient::new(config(), 1);
    c.handle_event(UtcTime(T0), &event(1, T0, 10));
    drain(&mut c);
    c.opt_out(UtcTime(T0 + 100), 1);
    c.opt_in(UtcTime(T0 + 200), 1);
    assert_eq!(
        drain(&mut c),
        [
            Report(1, UserOptedOut, T0 + 100),
            Restore(1),
            Report(1, UserOptedIn, T0 + 200),
            Apply(1)
        ]
    );
    assert_eq!(
        run_until(&mut c, T0 + 2000),
        [Restore(1), Report(1, PartiallyCompletedWithOptIn, T0 + 600)]
    );
}

#[test]
fn reports_carry_the_events_applied_values() {
    let mut c = DrlcClient::new(config(), 1);
    let e = LoadControlEvent {
        cooling_temperature_set_point: 2600,
        duty_cycle: 50,
        criticality_level: CriticalityLevel::Emergency,
        ..event(9, T0, 5)
    };
    c.handle_event(UtcTime(T0), &e);
    let Some(Output::Report(r)) = c.poll_output() else {
        panic!()
    };
    assert_eq!(r.criticality_level_applied, CriticalityLevel::Emergency);
    assert_eq!(r.cooling_temperature_set_point_applied, 2600);
    assert_eq!(r.heating_temperature_set_point_applied, 0x8000);
    assert_eq!(r.duty_cycle_applied, 50);
    assert_eq!(r.signature.0, [0xFF; 42]);
}

#[test]
fn thermostat_set_points_follow_the_event() {
    let with = |cool_sp: i16, cool_off: u8, heat_sp: i16, heat_off: u8| LoadAction {
        issuer_event_id: 1,
        criticality_level: CriticalityLevel::Level1,
        cooling_temperature_offset: cool_off,
        heating_temperature_offset: heat_off,
        cooling_temperature_set_point: cool_sp,
        heating_temperature_set_point: heat_sp,
        average_load_adjustment_percentage: i8::MIN,
        duty_cycle: 0xFF,
    };
    // Offsets in 0.1 °C move the normal 24.00 °C / 20.00 °C set points.
    assert_eq!(
        with(i16::MIN, 20, i16::MIN, 15).cooling_set_point(2400),
        2600
    );
    assert_eq!(
        with(i16::MIN, 20, i16::MIN, 15).heating_set_point(2000),
        1850
    );
    // Set points win over offsets; "not used" leaves the normal set point.
    assert_eq!(with(2700, 20, 1700, 15).cooling_set_point(2400), 2700);
    assert_eq!(with(2700, 20, 1700, 15).heating_set_point(2000), 1700);
    assert_eq!(
        with(i16::MIN, 0xFF, i16::MIN, 0xFF).cooling_set_point(2400),
        2400
    );
}

/// A pin that records its level, for the relay.
#[derive(Debug, Default)]
struct Pin {
    high: Option<bool>,
    changes: usize,
}

impl embedded_hal::digital::ErrorType for Pin {
    type Error = core::convert::Infallible;
}

impl embedded_hal::digital::OutputPin for Pin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.high = Some(false);
        self.changes += 1;
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.high = Some(true);
        self.changes += 1;
        Ok(())
    }
}

#[test]
fn relay_sheds_the_load_while_an_event_runs() {
    let mut c = DrlcClient::new(config(), 1);
    let mut relay = Relay::new(Pin::default()).unwrap();
    c.handle_event(UtcTime(T0), &event(1, T0 + 60, 10));
    let step = |c: &mut DrlcClient, relay: &mut Relay<Pin>| {
        while let Some(o) = c.poll_output() {
            relay.apply(&o).unwrap();
        }
    };
    step(&mut c, &mut relay);
    assert_eq!(relay.shedding_for(), None);
    c.handle_timeout(UtcTime(T0 + 60));
    step(&mut c, &mut relay);
    assert_eq!(relay.shedding_for(), Some(1));
    c.handle_timeout(UtcTime(T0 + 660));
    step(&mut c, &mut relay);
    let pin = relay.release();
    assert_eq!((pin.high, pin.changes), (Some(true), 3));
}

proptest! {
    /// Randomised start and end stay inside the client's randomisation windows, for any seed.
    #[test]
    fn lce_with_randomised_start_and_end_reports_within_the_window(seed in any::<u64>(), minutes in 1u16..300) {
        let mut c = DrlcClient::new(config(), seed);
        let e = LoadControlEvent { event_control: EventControl(EventControl::RANDOMIZE_START | EventControl::RANDOMIZE_END), ..event(1, T0 + 60, minutes) };
        c.handle_event(UtcTime(T0), &e);
        drain(&mut c);
        let seen = run_until(&mut c, u32::MAX);
        let started = seen.iter().find_map(|s| match s { Report(1, Started, t) => Some(*t), _ => None }).unwrap();
        let completed = seen.iter().find_map(|s| match s { Report(1, Completed, t) => Some(*t), _ => None }).unwrap();
        prop_assert!((T0 + 60..=T0 + 60 + 30 * 60).contains(&started), "start {}", started - T0);
        let end = T0 + 60 + 60 * u32::from(minutes);
        prop_assert!((end..=end + 15 * 60).contains(&completed), "end {}", completed - end);
    }

    /// A cancel with randomised end lands within the duration randomisation after its
    /// effective time.
    #[test]
    fn cancel_with_randomised_end_lands_within_the_window(seed in any::<u64>()) {
        let mut c = DrlcClient::new(config(), seed);
        let e = LoadControlEvent { event_control: EventControl(EventControl::RANDOMIZE_END), ..event(1, T0, 120) };
        c.handle_event(UtcTime(T0), &e);
        c.handle_cancel(UtcTime(T0 + 10), &cancel(1, T0 + 600, CancelControl::RANDOMIZE_END));
        drain(&mut c);
        let seen = run_until(&mut c, u32::MAX);
        let cancelled = seen.iter().find_map(|s| match s { Report(1, Cancelled, t) => Some(*t), _ => None }).unwrap();
        prop_assert!((T0 + 600..=T0 + 600 + 15 * 60).contains(&cancelled));
    }

    /// The same seed gives the same run.
    #[test]
    fn runs_are_deterministic_for_a_seed(seed in any::<u64>()) {
        let run = || {
            let mut c = DrlcClient::new(config(), seed);
            let e = LoadControlEvent { event_control: EventControl(3), ..event(1, T0 + 60, 30) };
            c.handle_event(UtcTime(T0), &e);
            let mut seen = drain(&mut c);
            seen.extend(run_until(&mut c, u32::MAX));
            seen
        };
        prop_assert_eq!(run(), run());
    }
}

#[test]
fn write_attributes_sets_the_client_attributes_and_refuses_the_rest_by_name() {
    use hanrig_sep::clusters::drlc::attribute;
    use hanrig_sep::wire::Records;
    use hanrig_sep::zcl::general::{
        AttrValue, AttributeRecord, AttributeRecords, DataType, Status,
    };
    let write = |records: &[AttributeRecord]| AttributeRecords {
        records: Records::from_items(records.iter()).unwrap(),
    };
    let record = |attribute, data_type, value| AttributeRecord {
        attribute,
        value: AttrValue::unsigned(data_type, value),
    };

    // All good: one SUCCESS, every attribute written.
    let mut c = config();
    let answer = c.write(&write(&[
        record(attribute::UTILITY_ENROLLMENT_GROUP, DataType::Uint8, 7),
        record(attribute::START_RANDOMIZATION_MINUTES, DataType::Uint8, 60),
        record(
            attribute::DURATION_RANDOMIZATION_MINUTES,
            DataType::Uint8,
            0,
        ),
        record(attribute::DEVICE_CLASS_VALUE, DataType::Uint16, 0x0005),
    ]));
    assert_eq!(answer.records.len(), 1);
    assert_eq!(
        (answer.records[0].status, answer.records[0].attribute),
        (Status::Success, None)
    );
    assert_eq!(
        c,
        DrlcConfig {
            device_class: DeviceClass(0x0005),
            utility_enrollment_group: 7,
            start_randomization_minutes: 60,
            duration_randomization_minutes: 0,
        }
    );

    // Bad records are named; the good one among them is still written.
    let mut c = config();
    let answer = c.write(&write(&[
        record(attribute::UTILITY_ENROLLMENT_GROUP, DataType::Uint16, 9),
        record(attribute::START_RANDOMIZATION_MINUTES, DataType::Uint8, 61),
        record(0x0010, DataType::Uint8, 1),
        record(
            attribute::DURATION_RANDOMIZATION_MINUTES,
            DataType::Uint8,
            5,
        ),
    ]));
    let refused: Vec<(Status, Option<u16>)> = answer
        .records
        .iter()
        .map(|r| (r.status, r.attribute))
        .collect();
    assert_eq!(
        refused,
        [
            (
                Status::InvalidDataType,
                Some(attribute::UTILITY_ENROLLMENT_GROUP)
            ),
            (
                Status::InvalidValue,
                Some(attribute::START_RANDOMIZATION_MINUTES)
            ),
            (Status::UnsupportedAttribute, Some(0x0010)),
        ]
    );
    assert_eq!(c.utility_enrollment_group, 3);
    assert_eq!(c.start_randomization_minutes, 30);
    assert_eq!(c.duration_randomization_minutes, 5);
}
