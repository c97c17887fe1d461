//! Metering display: what it reads of the meter, and how it shows it.

use hanrig_sep::clusters::metering as sep_metering;
use hanrig_sep::zcl::command::Command;
use hanrig_sep::zcl::general::command_id as general;
use hanrig_sep::zcl::header::FrameType;
use hanrig_sim::scenario::{Action, DeviceStep};

use super::{JOINED, after, at, network, run_joined};
use crate::conformance::cases::{Case, case};
use crate::conformance::ctx::{Ctx, Outcome, check};
use crate::conformance::instrument::Probe;

pub(super) static CASES: &[Case] = &[
    case!(
        "DEV-MET-001",
        Device,
        InHomeDisplay,
        "Reads what it needs to show the meter",
        "SE 1.0 Metering attributes 0x0000, 0x0300–0x0303, 0x0400",
        JOINED,
        ["Power the DUT"],
        "On the air: Read Attributes of summation, demand, unit, multiplier, divisor, formatting",
        dev_met_001
    ),
    case!(
        "DEV-MET-002",
        Device,
        InHomeDisplay,
        "Shows the summation with the meter's formatting",
        "SE 1.0 Multiplier/Divisor/SummationFormatting",
        "Summation 123456 Wh, divisor 1000, formatting 0x2B.",
        ["Power the DUT"],
        "Operator: 00123.456 kWh",
        dev_met_002
    ),
    case!(
        "DEV-MET-003",
        Device,
        InHomeDisplay,
        "Shows the demand with the meter's formatting",
        "SE 1.0 InstantaneousDemand, DemandFormatting",
        "Demand 1500 W, divisor 1000, formatting 0x13.",
        ["Power the DUT"],
        "Operator: 01.500 kW",
        dev_met_003
    ),
    case!(
        "DEV-MET-004",
        Device,
        InHomeDisplay,
        "Follows the meter's summation",
        "SE 1.0 CurrentSummationDelivered",
        "Load 1.5 kW.",
        ["Read again after 30 minutes"],
        "Operator: 00124.206 kWh",
        dev_met_004
    ),
];

fn dev_met_001(ctx: &mut Ctx) -> Outcome {
    run_joined(ctx, &network("in-home-display", "1m"))?;
    let attrs: Vec<u16> = ctx
        .air
        .from_dut()
        .filter(|(_, z)| {
            z.cluster == sep_metering::CLUSTER_ID
                && z.header.is_some_and(|h| {
                    h.frame_type == FrameType::General && h.command_id == general::READ_ATTRIBUTES
                })
        })
        .filter_map(|(_, z)| match &z.frame {
            Ok(f) => match &f.command {
                Command::ReadAttributes(r) => Some(r.attributes.iter().collect::<Vec<u16>>()),
                _ => None,
            },
            Err(_) => None,
        })
        .flatten()
        .collect();
    let needed = [0x0000, 0x0400, 0x0300, 0x0301, 0x0302, 0x0303];
    check(
        needed.iter().all(|a| attrs.contains(a)),
        "the display did not read what it needs to show the meter",
        "summation, demand, unit, multiplier, divisor, summation formatting",
        format!("{attrs:x?}"),
    )
}

fn dev_met_002(ctx: &mut Ctx) -> Outcome {
    ctx.probe(after(ctx, 30), Probe::Summation("00123.456 kWh".into()));
    run_joined(ctx, &network("in-home-display", "1m"))
}

fn dev_met_003(ctx: &mut Ctx) -> Outcome {
    ctx.probe(after(ctx, 30), Probe::Demand("01.500 kW".into()));
    run_joined(ctx, &network("in-home-display", "1m"))
}

fn dev_met_004(ctx: &mut Ctx) -> Outcome {
    // 1.5 kW for 30 minutes: 750 Wh more.
    let mut net = network("in-home-display", "31m");
    at(
        &mut net,
        "30m",
        Action::ReadMetering(DeviceStep {
            device: "dut".into(),
        }),
    );
    ctx.probe(after(ctx, 1804), Probe::Summation("00124.206 kWh".into()));
    run_joined(ctx, &net)
}
