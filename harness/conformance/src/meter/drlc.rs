//! DRLC server: forwarding events and cancels field for field, taking reports, Get Scheduled
//! Events, and late joiners.

use hanrig_scenario::scenario::{Action, CancelAllStep, CancelEventStep, EventStep};
use hanrig_sep::UtcTime;
use hanrig_sep::clusters::drlc::{self as sep_drlc, LoadControlEvent};
use hanrig_sep::zcl::command::Command;

use super::price::ends_at;
use super::{
    PCT, RIG_JOINED, answered_default, at, commands, default_responses, eui, ihd, late, network,
    pct, run_joined, send,
};
use crate::cases::{Case, case};
use crate::ctx::{CaseError, Ctx, Outcome, check, fail, start_us};
use crate::judge::secs;

pub(super) static CASES: &[Case] = &[
    case!(
        "MET-DRLC-001",
        Meter,
        Meter,
        "Sends load control events to DRLC clients, field for field",
        "SE 1.0 DRLC server",
        RIG_JOINED,
        [
            "LCE 9 for 10 minutes: group 3, criticality 5, cooling offset 2.0 °C, duty cycle 50 %, both randomisation bits"
        ],
        "On the air: the thermostat gets it with every field as the utility sent it; the display (no DRLC client) nothing",
        met_drlc_001
    ),
    case!(
        "MET-DRLC-002",
        Meter,
        Meter,
        "Takes Report Event Status",
        "SE 1.0 DRLC server; ZCL Default Response (EmberZNet reference server)",
        RIG_JOINED,
        ["LCE 9 for 10 minutes"],
        "On the air: Default Response SUCCESS for each of the thermostat's 3 reports, with its TSN",
        met_drlc_002
    ),
    case!(
        "MET-DRLC-003",
        Meter,
        Meter,
        "Sends Cancel Load Control Event",
        "SE 1.0 DRLC server",
        RIG_JOINED,
        [
            "LCE 9",
            "Cancel at 5 min, effective 10 minutes later, randomised end"
        ],
        "On the air: the thermostat gets the cancel of event 9 with its Cancel Control and Effective Time as sent",
        met_drlc_003
    ),
    case!(
        "MET-DRLC-004",
        Meter,
        Meter,
        "Sends Cancel All",
        "SE 1.0 DRLC server",
        RIG_JOINED,
        ["LCE 9", "Cancel All at 5 min"],
        "On the air: the thermostat gets Cancel All",
        met_drlc_004
    ),
    case!(
        "MET-DRLC-005",
        Meter,
        Meter,
        "Get Scheduled Events honours Start Time and Number of Events",
        "SE 1.0 Get Scheduled Events (EmberZNet reference server, CCB 1297)",
        RIG_JOINED,
        [
            "At 30 s events 21 (now, 60 min), 22 (+2 h), 23 (+3 h)",
            "At 1 min the thermostat asks for all; at 2 min for one from event 22's start"
        ],
        "On the air: 21, 22, 23 in order of start (21 as start now), then 22 alone",
        met_drlc_005
    ),
    case!(
        "MET-DRLC-006",
        Meter,
        Meter,
        "Get Scheduled Events with nothing scheduled is NOT_FOUND",
        "SE 1.0 Get Scheduled Events (EmberZNet reference server); ZCL Default Response",
        RIG_JOINED,
        ["The thermostat asks for scheduled events; none exist"],
        "On the air: Default Response 0x8B for command 0x01",
        met_drlc_006
    ),
    case!(
        "MET-DRLC-007",
        Meter,
        Meter,
        "A device that joins late gets a running event with the time it has left",
        "SE 1.0 Get Scheduled Events (start now, minutes left: EmberZNet reference server)",
        RIG_JOINED,
        [
            "At 30 s a 60-minute event starting now",
            "A third thermostat joins at 20 min and asks for scheduled events"
        ],
        "On the air: the event to it, ending when the event ends (15:00:30 ± 1 min)",
        met_drlc_007
    ),
];

fn event(id: u32, duration: u16) -> EventStep {
    EventStep {
        meter: "dut".into(),
        issuer_event_id: id,
        duration_minutes: duration,
        ..EventStep::default()
    }
}

fn events_to(ctx: &Ctx, rig: hanrig_sep::Eui64) -> Result<Vec<(u64, LoadControlEvent)>, CaseError> {
    Ok(commands(ctx, rig, sep_drlc::CLUSTER_ID, 0x00)?
        .into_iter()
        .filter_map(|(h, f)| match &f.command {
            Command::LoadControlEvent(e) => Some((secs(h), e.clone())),
            _ => None,
        })
        .collect())
}

fn met_drlc_001(ctx: &mut Ctx) -> Outcome {
    let mut net = network("20m");
    at(
        &mut net,
        "30s",
        Action::LoadControlEvent(EventStep {
            utility_enrollment_group: 3,
            criticality: 5,
            cooling_offset: Some(20),
            duty_cycle: Some(50),
            randomize_start: true,
            randomize_end: true,
            ..event(9, 10)
        }),
    );
    run_joined(ctx, &net)?;
    let to_ihd = events_to(ctx, ihd())?.len();
    let got = events_to(ctx, pct())?;
    let Some((_, e)) = got.first() else {
        return Err(fail("no LCE reached the thermostat", "LCE 9", "nothing"));
    };
    let fields: [u32; 13] = [
        e.issuer_event_id,
        u32::from(e.device_class.0),
        u32::from(e.utility_enrollment_group),
        e.start_time.0,
        u32::from(e.duration_in_minutes),
        u32::from(u8::from(e.criticality_level)),
        u32::from(e.cooling_temperature_offset),
        u32::from(e.heating_temperature_offset),
        u32::from(e.cooling_temperature_set_point as u16),
        u32::from(e.heating_temperature_set_point as u16),
        u32::from(e.average_load_adjustment_percentage as u8),
        u32::from(e.duty_cycle),
        u32::from(e.event_control.0),
    ];
    // ID, class, group, start (now), duration, criticality, cooling offset, heating offset
    // (not used), set points (not used), load adjustment (not used), duty cycle, event control.
    let sent: [u32; 13] = [
        9, 0x0FFF, 3, 0, 10, 5, 20, 0xFF, 0x8000, 0x8000, 0x80, 50, 0x03,
    ];
    check(
        fields == sent && to_ihd == 0,
        "LCE not delivered to DRLC clients only, field for field",
        format!("thermostat: {sent:x?}; display: nothing"),
        format!("thermostat: {fields:x?}; display: {to_ihd}"),
    )
}

fn met_drlc_002(ctx: &mut Ctx) -> Outcome {
    let mut net = network("20m");
    at(&mut net, "30s", Action::LoadControlEvent(event(9, 10)));
    run_joined(ctx, &net)?;
    answered_default(ctx, pct(), sep_drlc::CLUSTER_ID, 0x00, 0x00)
}

fn met_drlc_003(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1h");
    at(&mut net, "30s", Action::LoadControlEvent(event(9, 30)));
    at(
        &mut net,
        "5m",
        Action::CancelLoadControlEvent(CancelEventStep {
            meter: "dut".into(),
            issuer_event_id: 9,
            effective_in: Some("10m".into()),
            randomize_end: true,
            ..CancelEventStep::default()
        }),
    );
    run_joined(ctx, &net)?;
    let effective = UtcTime::from_unix(start_us() / 1_000_000 + 900).unwrap_or(UtcTime(0));
    let cancels: Vec<_> = commands(ctx, pct(), sep_drlc::CLUSTER_ID, 0x01)?
        .into_iter()
        .filter_map(|(_, f)| match &f.command {
            Command::CancelLoadControlEvent(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    check(
        cancels.first().is_some_and(|c| {
            c.issuer_event_id == 9 && c.cancel_control.0 == 0x01 && c.effective_time == effective
        }),
        "Cancel Load Control Event not delivered as sent",
        format!(
            "cancel of event 9, Cancel Control 0x01, Effective Time {}",
            effective.0
        ),
        format!("{cancels:?}"),
    )
}

fn met_drlc_004(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1h");
    at(&mut net, "30s", Action::LoadControlEvent(event(9, 30)));
    at(
        &mut net,
        "5m",
        Action::CancelAllLoadControlEvents(CancelAllStep {
            meter: "dut".into(),
            randomize_end: false,
        }),
    );
    run_joined(ctx, &net)?;
    let n = commands(ctx, pct(), sep_drlc::CLUSTER_ID, 0x02)?.len();
    check(
        n == 1,
        "Cancel All not delivered",
        "one Cancel All Load Control Events",
        n.to_string(),
    )
}

const GSE_ALL: &str = "{ name = \"get_scheduled_events\", start_time = 0, number_of_events = 0 }";

fn met_drlc_005(ctx: &mut Ctx) -> Outcome {
    let mut net = network("3m");
    at(&mut net, "30s", Action::LoadControlEvent(event(21, 60)));
    for (id, start) in [(22, "2h"), (23, "3h")] {
        at(
            &mut net,
            "30s",
            Action::LoadControlEvent(EventStep {
                start_in: Some(start.into()),
                ..event(id, 30)
            }),
        );
    }
    send(&mut net, "1m", PCT.0, sep_drlc::CLUSTER_ID, GSE_ALL);
    let from = UtcTime::from_unix(start_us() / 1_000_000 + 30 + 7200).unwrap_or(UtcTime(0));
    send(
        &mut net,
        "2m",
        PCT.0,
        sep_drlc::CLUSTER_ID,
        &format!(
            "{{ name = \"get_scheduled_events\", start_time = {}, number_of_events = 1 }}",
            from.0
        ),
    );
    run_joined(ctx, &net)?;
    let got = events_to(ctx, pct())?;
    let ids = |from_s: u64, to_s: u64| -> Vec<u32> {
        got.iter()
            .filter(|(t, _)| (from_s..to_s).contains(t))
            .map(|(_, e)| e.issuer_event_id)
            .collect()
    };
    let all = ids(60, 120);
    check(
        all == [21, 22, 23],
        "Get Scheduled Events did not return every scheduled event in order of start",
        "events 21, 22, 23",
        format!("{all:?}"),
    )?;
    let running = got
        .iter()
        .find(|(t, e)| *t >= 60 && e.issuer_event_id == 21);
    check(
        running.is_some_and(|(_, e)| e.start_time == UtcTime::NOW),
        "a running start-now event was not re-sent as start now",
        "event 21 with Start Time 0",
        format!("{:?}", running.map(|(_, e)| e.start_time.0)),
    )?;
    let one = ids(120, 180);
    check(
        one == [22],
        "Get Scheduled Events did not honour Start Time and Number of Events",
        "event 22 alone",
        format!("{one:?}"),
    )
}

fn met_drlc_006(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1m");
    send(&mut net, "30s", PCT.0, sep_drlc::CLUSTER_ID, GSE_ALL);
    run_joined(ctx, &net)?;
    let answers = default_responses(ctx, pct(), sep_drlc::CLUSTER_ID)?;
    check(
        answers
            .iter()
            .any(|(_, _, d)| d.command_id == 0x01 && u8::from(d.status) == 0x8B),
        "Get Scheduled Events with nothing scheduled was not answered NOT_FOUND",
        "Default Response 0x8B for command 0x01",
        format!("{answers:?}"),
    )
}

fn met_drlc_007(ctx: &mut Ctx) -> Outcome {
    let mut net = network("25m");
    at(&mut net, "30s", Action::LoadControlEvent(event(31, 60)));
    let late_pct = "00:12:4b:00:00:00:20:03";
    net.devices
        .push(late("late-pct", "thermostat", late_pct, "20m"));
    send(&mut net, "21m", "late-pct", sep_drlc::CLUSTER_ID, GSE_ALL);
    run_joined(ctx, &net)?;
    let end = start_us() / 1_000_000 + 30 + 3600;
    let got = events_to(ctx, eui(late_pct))?;
    let Some((t, e)) = got.first() else {
        return Err(fail(
            "the late joiner's Get Scheduled Events was not answered",
            "LCE 31",
            "nothing",
        ));
    };
    check(
        e.issuer_event_id == 31
            && ends_at(
                e.start_time,
                e.duration_in_minutes,
                start_us() / 1_000_000 + t,
                end,
            ),
        "a late joiner was given the event with the wrong time left",
        "LCE 31 ending at 15:00:30 UTC",
        format!(
            "LCE {} start {} duration {} min, sent at {t} s",
            e.issuer_event_id, e.start_time.0, e.duration_in_minutes
        ),
    )
}
