//! DRLC client: running, scheduling, randomising, cancelling, superseding and rejecting load
//! control events, the user's opt-out and opt-in, and what the load does.

use hanrig_scenario::scenario::{Action, CancelAllStep, EventStep};
use hanrig_sep::clusters::drlc::EventStatus::{self, *};

use super::{
    DRLC, JOINED, RIG, after, at, before, cancel, dut, event, expect_statuses, network, reports,
    run_joined, time_of, user_event,
};
use crate::cases::{Case, case};
use crate::ctx::{Ctx, Outcome, check, fail};
use crate::instrument::Probe;

pub(super) static CASES: &[Case] = &[
    case!(
        "DEV-DRLC-001",
        Device,
        Thermostat,
        "Runs an immediate event",
        DRLC,
        JOINED,
        ["At 60 s an LCE starting now for 30 minutes"],
        "On the air: 0x01 and 0x02 at 60 s, 0x03 at 1860 s, every report's fields as the event's",
        dev_drlc_001
    ),
    case!(
        "DEV-DRLC-002",
        Device,
        Thermostat,
        "Runs a scheduled event at its start, unrandomised when the event does not ask",
        DRLC,
        "StartRandomizationMinutes = 30, DurationRandomizationMinutes = 15; the event's Event Control is 0x00.",
        ["At 60 s an LCE starting 10 minutes later for 30 minutes"],
        "On the air: 0x01 at 60 s, 0x02 at 660 s, 0x03 at 2460 s exactly",
        dev_drlc_002
    ),
    case!(
        "DEV-DRLC-003",
        Device,
        Thermostat,
        "Runs a two-hour event to completion",
        DRLC,
        JOINED,
        ["At 60 s an LCE starting 2 minutes later for 120 minutes"],
        "On the air: 0x02 at 180 s, 0x03 at 7380 s",
        dev_drlc_003
    ),
    case!(
        "DEV-DRLC-004",
        Device,
        Thermostat,
        "Randomises starts inside the window",
        DRLC,
        "StartRandomizationMinutes = 30.",
        ["Three LCEs with Event Control bit 0, 3 hours apart"],
        "On the air: each 0x02 within [start, start + 30 min]",
        dev_drlc_004
    ),
    case!(
        "DEV-DRLC-005",
        Device,
        Thermostat,
        "Randomises the end inside the window",
        DRLC,
        "DurationRandomizationMinutes = 15.",
        ["An LCE with Event Control bit 1, 60 minutes"],
        "On the air: 0x03 within [end, end + 15 min]",
        dev_drlc_005
    ),
    case!(
        "DEV-DRLC-006",
        Device,
        Thermostat,
        "Cancels a running event now",
        DRLC,
        JOINED,
        [
            "At 60 s an LCE for 60 minutes",
            "At 660 s Cancel (effective now)"
        ],
        "On the air: 0x06 at 660 s",
        dev_drlc_006
    ),
    case!(
        "DEV-DRLC-007",
        Device,
        Thermostat,
        "Cancels at the effective time",
        DRLC,
        JOINED,
        [
            "At 60 s an LCE for 60 minutes",
            "At 660 s Cancel effective 10 minutes later"
        ],
        "On the air: 0x06 at 1260 s",
        dev_drlc_007
    ),
    case!(
        "DEV-DRLC-008",
        Device,
        Thermostat,
        "Cancels with randomised end inside the window",
        DRLC,
        "DurationRandomizationMinutes = 15.",
        [
            "An LCE with Event Control bit 1",
            "Cancel with Cancel Control bit 0, effective at 1260 s"
        ],
        "On the air: 0x06 within [1260, 2160] s",
        dev_drlc_008
    ),
    case!(
        "DEV-DRLC-009",
        Device,
        Thermostat,
        "Cancel All cancels every event",
        DRLC,
        JOINED,
        ["A running and a scheduled LCE", "At 660 s Cancel All"],
        "On the air: 0x06 for both at 660 s",
        dev_drlc_009
    ),
    case!(
        "DEV-DRLC-010",
        Device,
        Thermostat,
        "An overlapping event supersedes a scheduled one",
        DRLC,
        JOINED,
        [
            "At 60 s LCE 101 at +30 min",
            "At 300 s overlapping LCE 102 at +45 min"
        ],
        "On the air: 0x07 for 101 at 300 s; 102 runs",
        dev_drlc_010
    ),
    case!(
        "DEV-DRLC-011",
        Device,
        Thermostat,
        "An overlapping event supersedes a running one a second before it starts",
        DRLC,
        JOINED,
        [
            "At 60 s LCE 111 for 120 minutes",
            "At 300 s LCE 112 starting at 1800 s"
        ],
        "On the air: 0x07 for 111 at 1799 s; 0x02 for 112 at 1800 s",
        dev_drlc_011
    ),
    case!(
        "DEV-DRLC-012",
        Device,
        Thermostat,
        "Ignores an event for another device class",
        DRLC,
        "The DUT is an HVAC device (class bit 0).",
        ["An LCE for class 0x0004 (water heater)"],
        "On the air: no Report Event Status",
        dev_drlc_012
    ),
    case!(
        "DEV-DRLC-013",
        Device,
        Thermostat,
        "Ignores an event for another enrollment group",
        DRLC,
        "The DUT is in utility enrollment group 3.",
        ["An LCE for group 4"],
        "On the air: no Report Event Status",
        dev_drlc_013
    ),
    case!(
        "DEV-DRLC-014",
        Device,
        Thermostat,
        "Takes an event for its enrollment group",
        DRLC,
        "The DUT is in utility enrollment group 3.",
        ["An LCE for group 3"],
        "On the air: 0x01, 0x02, 0x03",
        dev_drlc_014
    ),
    case!(
        "DEV-DRLC-015",
        Device,
        Thermostat,
        "Rejects an event that is already over",
        DRLC,
        JOINED,
        ["At 3 h an LCE that started at 1 h for 30 minutes"],
        "On the air: 0xFB at 10800 s",
        dev_drlc_015
    ),
    case!(
        "DEV-DRLC-016",
        Device,
        Thermostat,
        "Rejects an event over 1440 minutes",
        DRLC,
        JOINED,
        ["An LCE of 1441 minutes"],
        "On the air: 0xFE at 60 s",
        dev_drlc_016
    ),
    case!(
        "DEV-DRLC-017",
        Device,
        Thermostat,
        "User opt-out before the start",
        DRLC,
        JOINED,
        ["An LCE at +10 min", "The user opts out at 120 s"],
        "On the air: 0x04 at 120 s and 660 s, 0x0A at the end",
        dev_drlc_017
    ),
    case!(
        "DEV-DRLC-018",
        Device,
        Thermostat,
        "User opt-out during the event",
        DRLC,
        JOINED,
        ["An LCE now for 30 minutes", "Opt out at 660 s"],
        "On the air: 0x04 at 660 s, 0x08 at 1860 s",
        dev_drlc_018
    ),
    case!(
        "DEV-DRLC-019",
        Device,
        Thermostat,
        "Ignores a duplicate event",
        DRLC,
        JOINED,
        ["The same LCE at 60 s and 120 s"],
        "On the air: one 0x01; the event runs once",
        dev_drlc_019
    ),
    case!(
        "DEV-DRLC-020",
        Device,
        Thermostat,
        "Rejects a cancel of an unknown event",
        DRLC,
        JOINED,
        ["Cancel of event 20, never sent"],
        "On the air: 0xFD at 60 s",
        dev_drlc_020
    ),
    case!(
        "DEV-DRLC-021",
        Device,
        LoadControl,
        "A load-control device sheds its load",
        "SE 1.0 DRLC; SMT §5.6 load control",
        JOINED,
        ["An LCE now for 30 minutes"],
        "Relay-sense line: energised before 60 s, de-energised from 60 s to 1860 s, energised after",
        dev_drlc_021
    ),
    case!(
        "DEV-DRLC-022",
        Device,
        Thermostat,
        "A thermostat applies temperature offsets",
        "SE 1.0 LCE cooling/heating temperature offset (0.1 °C)",
        "Normal set points 24.00 / 20.00 °C.",
        ["An LCE with offsets +2.0 / −1.5 °C"],
        "Operator: set points 26.00 / 18.50 °C during the event, 24.00 / 20.00 °C after; on the air the reports' set points 0x8000 (not used), as in the event",
        dev_drlc_022
    ),
    case!(
        "DEV-DRLC-023",
        Device,
        Thermostat,
        "A thermostat applies a cooling set point",
        "SE 1.0 LCE cooling temperature set point (0.01 °C)",
        JOINED,
        ["An LCE with cooling set point 27.50 °C"],
        "Operator: cooling set point 27.50 °C during the event; on the air every report's Cooling Temperature Set Point Applied 2750",
        dev_drlc_023
    ),
    case!(
        "DEV-DRLC-024",
        Device,
        Thermostat,
        "Rejects a cancel effective after the end",
        DRLC,
        JOINED,
        ["An LCE for 60 minutes", "Cancel effective 2 hours later"],
        "On the air: 0xF9 at 660 s; the event completes",
        dev_drlc_024
    ),
    case!(
        "DEV-DRLC-025",
        Device,
        Thermostat,
        "Reports carry the applied values",
        "SE 1.0 Report Event Status (0x0701 c→s 0x00)",
        JOINED,
        ["An LCE with criticality 7 and duty cycle 40 %"],
        "On the air: every report criticality 7, duty cycle 40, signature type none (0x00) or ECDSA (0x01) with its 42-byte signature",
        dev_drlc_025
    ),
    case!(
        "DEV-DRLC-026",
        Device,
        Thermostat,
        "User opts out and back in",
        DRLC,
        JOINED,
        ["An LCE now for 30 minutes", "Opt out at 300 s, in at 600 s"],
        "On the air: 0x04, 0x05, then 0x09 at the end",
        dev_drlc_026
    ),
    case!(
        "DEV-DRLC-027",
        Device,
        Thermostat,
        "Takes an event for enrollment group 0 (all groups) while in a group",
        DRLC,
        "The DUT is in utility enrollment group 3.",
        ["An LCE for group 0"],
        "On the air: 0x01 and 0x02 at 60 s, 0x03 at 1860 s",
        dev_drlc_027
    ),
    case!(
        "DEV-DRLC-028",
        Device,
        LoadControl,
        "A cancel restores the load",
        "SE 1.0 DRLC Cancel Load Control Event; SMT §5.6 load control",
        JOINED,
        [
            "At 60 s an LCE for 60 minutes",
            "At 660 s Cancel (effective now)"
        ],
        "Relay-sense line: de-energised from 60 s, energised again from 660 s; on the air 0x06 at 660 s",
        dev_drlc_028
    ),
    case!(
        "DEV-DRLC-029",
        Device,
        Thermostat,
        "Spreads randomised starts and ends over their windows, and randomises only when asked",
        DRLC,
        "StartRandomizationMinutes = 30, DurationRandomizationMinutes = 15.",
        [
            "16 LCEs of 60 minutes, 2 hours apart, with Event Control bits 0 and 1",
            "4 LCEs after them with Event Control 0x00"
        ],
        "On the air: each randomised start in [start, start + 30 min] and end in [end, end + 15 min] (end: the scheduled end); the starts reach both the first and the last third of their window, and so do the ends; the unrandomised events start and end exactly",
        dev_drlc_029
    ),
    case!(
        "DEV-DRLC-030",
        Device,
        Thermostat,
        "Takes an event of the longest duration, 1440 minutes",
        DRLC,
        JOINED,
        ["An LCE now for 1440 minutes"],
        "On the air: 0x01 and 0x02 at 60 s, 0x03 at 86460 s",
        dev_drlc_030
    ),
    case!(
        "DEV-DRLC-031",
        Device,
        Thermostat,
        "Rejects an event with an invalid start time",
        DRLC,
        JOINED,
        ["An LCE with Start Time 0xFFFFFFFF"],
        "On the air: 0xFE at 60 s, nothing more",
        dev_drlc_031
    ),
    case!(
        "DEV-DRLC-032",
        Device,
        Thermostat,
        "A full event table refuses events cleanly and keeps the ones it took",
        DRLC,
        JOINED,
        ["12 LCEs of 30 minutes, each starting an hour after the last, sent a minute apart"],
        "On the air: each event either taken (0x01, 0x02 at its start, 0x03 at its end) or refused (0xFE); once one is refused every later one is, until one ends",
        dev_drlc_032
    ),
    case!(
        "DEV-DRLC-033",
        Device,
        Thermostat,
        "Touching events do not supersede each other",
        DRLC,
        JOINED,
        [
            "LCE 331 now for 30 minutes",
            "LCE 332 starting when 331 ends, for 30 minutes"
        ],
        "On the air: both run — 331 completes at 1860 s, 332 starts at 1860 s and completes at 3660 s; no 0x07",
        dev_drlc_033
    ),
    case!(
        "DEV-DRLC-034",
        Device,
        Thermostat,
        "Takes events of every criticality level, echoing it, and ignores reserved levels",
        "SE 1.0 LCE Criticality Level (0 reserved, 1 Green, 2–6 levels 1–5, 7 Emergency, 8 Planned Outage, 9 Service Disconnect, 0x0A–0x0F utility-defined, 0x10–0xFF reserved); EmberZNet reference client: a reserved level is ignored",
        JOINED,
        [
            "At 1, 2, … 15 min a 1-minute LCE starting now with criticality 1, 2, … 0x0F",
            "At 16, 17, 18 min LCEs with criticality 0x00, 0x10 and 0xFF"
        ],
        "On the air: for each level 1–0x0F 0x01 and 0x02 when sent and 0x03 a minute later, every report's Criticality Level Applied the event's; nothing for the reserved levels",
        dev_drlc_034
    ),
    case!(
        "DEV-DRLC-035",
        Device,
        LoadControl,
        "The load follows the user's opt-out and opt-in",
        "SE 1.0 DRLC user opt-out/opt-in (0x04, 0x05, 0x09); SMT §5.6 load control",
        JOINED,
        [
            "At 60 s an LCE for 30 minutes",
            "The user opts out at 600 s and back in at 1200 s"
        ],
        "Relay-sense line: de-energised from 60 s, energised from 600 s, de-energised again from 1200 s, energised after 1860 s; on the air 0x01, 0x02, 0x04, 0x05 and 0x09 at those times",
        dev_drlc_035
    ),
];

/// Criticality levels SE 1.0 reserves, each sent once by DEV-DRLC-034.
const RESERVED_LEVELS: [u8; 3] = [0x00, 0x10, 0xFF];

const PCT: &str = "thermostat";

fn dev_drlc_001(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "1h");
    at(&mut net, "1m", Action::LoadControlEvent(event(1, 30)));
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        1,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (Completed, 1860, 1861),
        ],
    )
}

fn later(id: u32, duration: u16, start_in: &str) -> EventStep {
    EventStep {
        start_in: Some(start_in.into()),
        ..event(id, duration)
    }
}

fn randomised(id: u32, duration: u16, start_in: &str, start: bool, end: bool) -> EventStep {
    EventStep {
        randomize_start: start,
        randomize_end: end,
        ..later(id, duration, start_in)
    }
}

fn dev_drlc_002(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "1h");
    dut(&mut net).start_randomization_minutes = 30;
    dut(&mut net).duration_randomization_minutes = 15;
    at(
        &mut net,
        "1m",
        Action::LoadControlEvent(later(2, 30, "10m")),
    );
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        2,
        &[
            (CommandReceived, 60, 61),
            (Started, 660, 660),
            (Completed, 2460, 2460),
        ],
    )
}

fn dev_drlc_003(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "3h");
    at(
        &mut net,
        "1m",
        Action::LoadControlEvent(later(3, 120, "2m")),
    );
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        3,
        &[
            (CommandReceived, 60, 61),
            (Started, 180, 180),
            (Completed, 7380, 7380),
        ],
    )
}

fn dev_drlc_004(ctx: &mut Ctx) -> Outcome {
    // Three events with randomised starts: each start inside [start, start + 30 min].
    let mut net = network(PCT, "9h");
    dut(&mut net).start_randomization_minutes = 30;
    for (id, when) in [(41, "1m"), (42, "3h"), (43, "6h")] {
        at(
            &mut net,
            when,
            Action::LoadControlEvent(randomised(id, 60, "10m", true, false)),
        );
    }
    run_joined(ctx, &net)?;
    for (id, sent) in [(41u32, 60u64), (42, 10800), (43, 21600)] {
        let start = sent + 600;
        expect_statuses(
            ctx,
            id,
            &[
                (CommandReceived, sent, sent + 1),
                (Started, start, start + 1800),
                (Completed, start + 3600, start + 3600 + 1800),
            ],
        )?;
    }
    Ok(())
}

fn dev_drlc_005(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "3h");
    dut(&mut net).duration_randomization_minutes = 15;
    at(
        &mut net,
        "1m",
        Action::LoadControlEvent(randomised(5, 60, "10m", false, true)),
    );
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        5,
        &[
            (CommandReceived, 60, 61),
            (Started, 660, 660),
            (Completed, 4260, 4260 + 900),
        ],
    )
}

fn running_then_cancelled(
    ctx: &mut Ctx,
    id: u32,
    cancel_step: hanrig_scenario::scenario::CancelEventStep,
) -> Outcome {
    let mut net = network(PCT, "2h");
    at(&mut net, "1m", Action::LoadControlEvent(event(id, 60)));
    at(&mut net, "11m", Action::CancelLoadControlEvent(cancel_step));
    run_joined(ctx, &net)
}

fn dev_drlc_006(ctx: &mut Ctx) -> Outcome {
    running_then_cancelled(ctx, 6, cancel(6))?;
    expect_statuses(
        ctx,
        6,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (Cancelled, 660, 661),
        ],
    )
}

fn dev_drlc_007(ctx: &mut Ctx) -> Outcome {
    let effective = hanrig_scenario::scenario::CancelEventStep {
        effective_in: Some("10m".into()),
        ..cancel(7)
    };
    running_then_cancelled(ctx, 7, effective)?;
    expect_statuses(
        ctx,
        7,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (Cancelled, 1260, 1261),
        ],
    )
}

fn dev_drlc_008(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "2h");
    dut(&mut net).duration_randomization_minutes = 15;
    at(
        &mut net,
        "1m",
        Action::LoadControlEvent(EventStep {
            randomize_end: true,
            ..event(8, 60)
        }),
    );
    at(
        &mut net,
        "11m",
        Action::CancelLoadControlEvent(hanrig_scenario::scenario::CancelEventStep {
            effective_in: Some("10m".into()),
            randomize_end: true,
            ..cancel(8)
        }),
    );
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        8,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (Cancelled, 1260, 1260 + 900),
        ],
    )
}

fn dev_drlc_009(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "4h");
    at(&mut net, "1m", Action::LoadControlEvent(event(91, 60)));
    at(
        &mut net,
        "2m",
        Action::LoadControlEvent(later(92, 30, "2h")),
    );
    at(
        &mut net,
        "11m",
        Action::CancelAllLoadControlEvents(CancelAllStep {
            meter: RIG.into(),
            randomize_end: false,
        }),
    );
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        91,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (Cancelled, 660, 661),
        ],
    )?;
    expect_statuses(
        ctx,
        92,
        &[(CommandReceived, 120, 121), (Cancelled, 660, 661)],
    )
}

fn dev_drlc_010(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "3h");
    at(
        &mut net,
        "1m",
        Action::LoadControlEvent(later(101, 60, "30m")),
    );
    at(
        &mut net,
        "5m",
        Action::LoadControlEvent(later(102, 60, "45m")),
    );
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        101,
        &[(CommandReceived, 60, 61), (Superseded, 300, 301)],
    )?;
    expect_statuses(
        ctx,
        102,
        &[
            (CommandReceived, 300, 301),
            (Started, 3000, 3000),
            (Completed, 6600, 6600),
        ],
    )
}

fn dev_drlc_011(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "3h");
    at(&mut net, "1m", Action::LoadControlEvent(event(111, 120)));
    at(
        &mut net,
        "5m",
        Action::LoadControlEvent(later(112, 30, "25m")),
    );
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        111,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (Superseded, 1799, 1799),
        ],
    )?;
    expect_statuses(
        ctx,
        112,
        &[
            (CommandReceived, 300, 301),
            (Started, 1800, 1800),
            (Completed, 3600, 3600),
        ],
    )
}

fn dev_drlc_012(ctx: &mut Ctx) -> Outcome {
    // Class 0x0004 (water heater) is not the thermostat's (HVAC, bit 0).
    let mut net = network(PCT, "1h");
    at(
        &mut net,
        "1m",
        Action::LoadControlEvent(EventStep {
            device_class: 4,
            ..event(12, 30)
        }),
    );
    run_joined(ctx, &net)?;
    expect_statuses(ctx, 12, &[])
}

fn grouped(ctx: &mut Ctx, id: u32, event_group: u8) -> Outcome {
    let mut net = network(PCT, "1h");
    dut(&mut net).utility_enrollment_group = 3;
    at(
        &mut net,
        "1m",
        Action::LoadControlEvent(EventStep {
            utility_enrollment_group: event_group,
            ..event(id, 30)
        }),
    );
    run_joined(ctx, &net)
}

fn dev_drlc_013(ctx: &mut Ctx) -> Outcome {
    grouped(ctx, 13, 4)?;
    expect_statuses(ctx, 13, &[])
}

fn dev_drlc_014(ctx: &mut Ctx) -> Outcome {
    grouped(ctx, 14, 3)?;
    expect_statuses(
        ctx,
        14,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (Completed, 1860, 1861),
        ],
    )
}

fn dev_drlc_015(ctx: &mut Ctx) -> Outcome {
    // At 3 h, an event that started at 1 h and lasted 30 minutes: over before it arrives.
    let mut net = network(PCT, "4h");
    at(
        &mut net,
        "3h",
        Action::LoadControlEvent(EventStep {
            start_at: Some("1h".into()),
            ..event(15, 30)
        }),
    );
    run_joined(ctx, &net)?;
    expect_statuses(ctx, 15, &[(RejectedExpired, 10800, 10801)])
}

fn dev_drlc_016(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "1h");
    at(&mut net, "1m", Action::LoadControlEvent(event(16, 1441)));
    run_joined(ctx, &net)?;
    expect_statuses(ctx, 16, &[(Rejected, 60, 61)])
}

fn dev_drlc_017(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "1h");
    at(
        &mut net,
        "1m",
        Action::LoadControlEvent(later(17, 30, "10m")),
    );
    at(&mut net, "2m", Action::OptOut(user_event(17)));
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        17,
        &[
            (CommandReceived, 60, 61),
            (UserOptedOut, 120, 121),
            (UserOptedOut, 660, 660),
            (CompletedNoParticipation, 2460, 2460),
        ],
    )
}

fn dev_drlc_018(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "1h");
    at(&mut net, "1m", Action::LoadControlEvent(event(18, 30)));
    at(&mut net, "11m", Action::OptOut(user_event(18)));
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        18,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (UserOptedOut, 660, 661),
            (PartiallyCompletedWithOptOut, 1860, 1861),
        ],
    )
}

fn dev_drlc_019(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "1h");
    at(&mut net, "1m", Action::LoadControlEvent(event(19, 30)));
    at(&mut net, "2m", Action::LoadControlEvent(event(19, 30)));
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        19,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (Completed, 1860, 1861),
        ],
    )
}

fn dev_drlc_020(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "10m");
    at(&mut net, "1m", Action::CancelLoadControlEvent(cancel(20)));
    run_joined(ctx, &net)?;
    expect_statuses(ctx, 20, &[(RejectedUndefinedEvent, 60, 61)])
}

fn load(on: bool) -> Probe {
    Probe::LoadEnergised(on)
}

fn dev_drlc_021(ctx: &mut Ctx) -> Outcome {
    let mut net = network("load-control", "1h");
    at(&mut net, "1m", Action::LoadControlEvent(event(21, 30)));
    ctx.probe(before(ctx, 60), load(true));
    ctx.probe(after(ctx, 60), load(false));
    ctx.probe(before(ctx, 1860), load(false));
    ctx.probe(after(ctx, 1860), load(true));
    run_joined(ctx, &net)
}

fn set_points(cooling: i16, heating: i16) -> Probe {
    Probe::SetPoints { cooling, heating }
}

fn dev_drlc_022(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "1h");
    at(
        &mut net,
        "1m",
        Action::LoadControlEvent(EventStep {
            cooling_offset: Some(20),
            heating_offset: Some(15),
            ..event(22, 30)
        }),
    );
    ctx.probe(before(ctx, 60), set_points(2400, 2000));
    ctx.probe(after(ctx, 60), set_points(2600, 1850));
    ctx.probe(after(ctx, 1860), set_points(2400, 2000));
    run_joined(ctx, &net)?;
    // Every report's fields, set points' "not used" included, as the event's.
    let got = reports(ctx, 22)?;
    check(
        time_of(&got, Started).is_some(),
        "no Started report for the event",
        "0x02 on the air",
        format!("{got:?}"),
    )
}

fn dev_drlc_023(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "1h");
    at(
        &mut net,
        "1m",
        Action::LoadControlEvent(EventStep {
            cooling_set_point: Some(2750),
            ..event(23, 30)
        }),
    );
    ctx.probe(after(ctx, 60), set_points(2750, 2000));
    run_joined(ctx, &net)?;
    let got = reports(ctx, 23)?;
    check(
        time_of(&got, Started).is_some(),
        "no Started report for the event",
        "0x02 with Cooling Temperature Set Point Applied 2750",
        format!("{got:?}"),
    )
}

fn dev_drlc_024(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "3h");
    at(&mut net, "1m", Action::LoadControlEvent(event(24, 60)));
    at(
        &mut net,
        "11m",
        Action::CancelLoadControlEvent(hanrig_scenario::scenario::CancelEventStep {
            effective_in: Some("2h".into()),
            ..cancel(24)
        }),
    );
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        24,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (RejectedInvalidEffectiveTime, 660, 661),
            (Completed, 3660, 3661),
        ],
    )
}

fn dev_drlc_025(ctx: &mut Ctx) -> Outcome {
    // Reports carry the event's control fields back; [`reports`] checks every field, this case
    // pins the values sent.
    let mut net = network(PCT, "1h");
    at(
        &mut net,
        "1m",
        Action::LoadControlEvent(EventStep {
            criticality: 7,
            duty_cycle: Some(40),
            ..event(25, 30)
        }),
    );
    run_joined(ctx, &net)?;
    let got = reports(ctx, 25)?;
    check(
        got.len() == 3,
        "Report Event Status did not carry the applied values",
        "0x01, 0x02, 0x03, each with criticality 7 and duty cycle 40",
        format!("{got:?}"),
    )
}

fn dev_drlc_026(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "1h");
    at(&mut net, "1m", Action::LoadControlEvent(event(26, 30)));
    at(&mut net, "5m", Action::OptOut(user_event(26)));
    at(&mut net, "10m", Action::OptIn(user_event(26)));
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        26,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (UserOptedOut, 300, 301),
            (UserOptedIn, 600, 601),
            (PartiallyCompletedWithOptIn, 1860, 1861),
        ],
    )
}

fn dev_drlc_027(ctx: &mut Ctx) -> Outcome {
    grouped(ctx, 27, 0)?;
    expect_statuses(
        ctx,
        27,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (Completed, 1860, 1861),
        ],
    )
}

fn dev_drlc_028(ctx: &mut Ctx) -> Outcome {
    let mut net = network("load-control", "2h");
    at(&mut net, "1m", Action::LoadControlEvent(event(28, 60)));
    at(&mut net, "11m", Action::CancelLoadControlEvent(cancel(28)));
    ctx.probe(after(ctx, 60), load(false));
    ctx.probe(before(ctx, 660), load(false));
    ctx.probe(after(ctx, 660), load(true));
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        28,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (Cancelled, 660, 661),
        ],
    )
}

fn dev_drlc_030(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "25h");
    at(&mut net, "1m", Action::LoadControlEvent(event(30, 1440)));
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        30,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (Completed, 86460, 86461),
        ],
    )
}

fn dev_drlc_031(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "10m");
    let command = toml::from_str::<toml::Table>(
        "c = { name = \"load_control_event\", issuer_event_id = 31, device_class = 4095, \
         utility_enrollment_group = 0, start_time = 4294967295, duration_in_minutes = 30, \
         criticality_level = 1, cooling_temperature_offset = 255, heating_temperature_offset = 255, \
         cooling_temperature_set_point = -32768, heating_temperature_set_point = -32768, \
         average_load_adjustment_percentage = -128, duty_cycle = 255, event_control = 0 }",
    )
    .ok()
    .and_then(|mut t| t.remove("c"))
    .ok_or_else(|| crate::ctx::CaseError::Rig("case: LCE".into()))?;
    at(
        &mut net,
        "1m",
        Action::SendZclToDevice(hanrig_scenario::scenario::MeterZclStep {
            meter: RIG.into(),
            device: "dut".into(),
            cluster: hanrig_sep::clusters::drlc::CLUSTER_ID,
            command,
        }),
    );
    run_joined(ctx, &net)?;
    expect_statuses(ctx, 31, &[(Rejected, 60, 61)])
}

fn dev_drlc_032(ctx: &mut Ctx) -> Outcome {
    const EVENTS: u32 = 12;
    let mut net = network(PCT, "14h");
    // Event i is sent at (i + 1) minutes and starts at (i + 1) hours: none overlaps another.
    for i in 0..EVENTS {
        at(
            &mut net,
            &format!("{}m", i + 1),
            Action::LoadControlEvent(later(
                320 + i,
                30,
                &format!("{}s", 3600 * (i + 1) - 60 * (i + 1)),
            )),
        );
    }
    run_joined(ctx, &net)?;
    let mut refused_one = false;
    for i in 0..EVENTS {
        let (id, sent, start) = (320 + i, 60 * u64::from(i + 1), 3600 * u64::from(i + 1));
        let got = reports(ctx, id)?;
        let statuses: Vec<EventStatus> = got.iter().map(|(s, _)| *s).collect();
        if statuses == [Rejected] {
            refused_one = true;
            continue;
        }
        check(
            !refused_one,
            &format!("event {id} was taken after an earlier one was refused for a full table"),
            "every event after the first refused one refused too (no event had ended)",
            format!("{statuses:?}"),
        )?;
        expect_statuses(
            ctx,
            id,
            &[
                (CommandReceived, sent, sent + 1),
                (Started, start, start + 1),
                (Completed, start + 1800, start + 1801),
            ],
        )?;
    }
    Ok(())
}

fn dev_drlc_033(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "2h");
    at(&mut net, "1m", Action::LoadControlEvent(event(331, 30)));
    at(
        &mut net,
        "2m",
        Action::LoadControlEvent(later(332, 30, "29m")),
    );
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        331,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (Completed, 1860, 1861),
        ],
    )?;
    expect_statuses(
        ctx,
        332,
        &[
            (CommandReceived, 120, 121),
            (Started, 1860, 1861),
            (Completed, 3660, 3661),
        ],
    )
}

fn dev_drlc_029(ctx: &mut Ctx) -> Outcome {
    const RANDOMISED: u32 = 16;
    const PLAIN: u32 = 4;
    let (start_window, end_window) = (1800u64, 900u64);
    let mut net = network(PCT, "42h");
    dut(&mut net).start_randomization_minutes = 30;
    dut(&mut net).duration_randomization_minutes = 15;
    let sent = |i: u32| 60 + 7200 * u64::from(i);
    for i in 0..RANDOMISED + PLAIN {
        let step = randomised(290 + i, 60, "10m", i < RANDOMISED, i < RANDOMISED);
        at(
            &mut net,
            &format!("{}s", sent(i)),
            Action::LoadControlEvent(step),
        );
    }
    run_joined(ctx, &net)?;
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    for i in 0..RANDOMISED + PLAIN {
        let id = 290 + i;
        let got = reports(ctx, id)?;
        let (Some(started), Some(completed)) = (time_of(&got, Started), time_of(&got, Completed))
        else {
            return Err(fail(
                format!("event {id} did not start and complete"),
                "0x02 and 0x03",
                format!("{got:?}"),
            ));
        };
        let start = sent(i) + 600;
        // Randomising the start moves only the start; the end is the scheduled end plus the
        // end's own randomisation (the EmberZNet reference client's reading).
        let end = start + 3600;
        let (offset, extra) = (started.saturating_sub(start), completed.saturating_sub(end));
        if i < RANDOMISED {
            check(
                started >= start
                    && offset <= start_window + ctx.tolerance_s
                    && completed >= end
                    && extra <= end_window + ctx.tolerance_s,
                &format!("event {id}: randomisation outside its window"),
                format!(
                    "start in [{start}, {}] s, end in [{end}, {}] s",
                    start + start_window,
                    end + end_window
                ),
                format!("started {started} s, completed {completed} s"),
            )?;
            starts.push(offset);
            ends.push(extra);
        } else {
            check(
                started <= start + ctx.tolerance_s
                    && started >= start
                    && completed <= end + ctx.tolerance_s
                    && completed >= end,
                &format!("event {id} was randomised though its Event Control is 0x00"),
                format!("start {start} s, end {end} s"),
                format!("started {started} s, completed {completed} s"),
            )?;
        }
    }
    for (what, offsets, window) in [
        ("starts", &starts, start_window),
        ("ends", &ends, end_window),
    ] {
        let (lo, hi) = (
            offsets.iter().min().copied().unwrap_or(0),
            offsets.iter().max().copied().unwrap_or(0),
        );
        check(
            lo < window / 3 && hi > 2 * window / 3,
            &format!("randomised {what} do not spread over their window"),
            format!(
                "{RANDOMISED} offsets reaching below {} s and above {} s of the {window} s window",
                window / 3,
                2 * window / 3
            ),
            format!("offsets {offsets:?}"),
        )?;
    }
    Ok(())
}

fn dev_drlc_034(ctx: &mut Ctx) -> Outcome {
    let mut net = network(PCT, "20m");
    // Event 3400 + level, sent at `level` minutes, runs for the minute after: none overlaps.
    let levels = (1..=0x0Fu8).chain(RESERVED_LEVELS);
    for (i, level) in levels.clone().enumerate() {
        at(
            &mut net,
            &format!("{}m", i + 1),
            Action::LoadControlEvent(EventStep {
                criticality: level,
                ..event(3400 + u32::from(level), 1)
            }),
        );
    }
    run_joined(ctx, &net)?;
    for (i, level) in levels.enumerate() {
        let (id, sent) = (3400 + u32::from(level), 60 * (i as u64 + 1));
        // [`expect_statuses`] checks that each report echoes the event's criticality.
        let want: &[(EventStatus, u64, u64)] = if RESERVED_LEVELS.contains(&level) {
            &[]
        } else {
            &[
                (CommandReceived, sent, sent + 1),
                (Started, sent, sent + 1),
                (Completed, sent + 60, sent + 61),
            ]
        };
        expect_statuses(ctx, id, want)?;
    }
    Ok(())
}

fn dev_drlc_035(ctx: &mut Ctx) -> Outcome {
    let mut net = network("load-control", "1h");
    at(&mut net, "1m", Action::LoadControlEvent(event(35, 30)));
    at(&mut net, "10m", Action::OptOut(user_event(35)));
    at(&mut net, "20m", Action::OptIn(user_event(35)));
    for (t, on) in [(60, false), (600, true), (1200, false), (1860, true)] {
        ctx.probe(before(ctx, t), load(!on));
        ctx.probe(after(ctx, t), load(on));
    }
    run_joined(ctx, &net)?;
    expect_statuses(
        ctx,
        35,
        &[
            (CommandReceived, 60, 61),
            (Started, 60, 61),
            (UserOptedOut, 600, 601),
            (UserOptedIn, 1200, 1201),
            (PartiallyCompletedWithOptIn, 1860, 1861),
        ],
    )
}
