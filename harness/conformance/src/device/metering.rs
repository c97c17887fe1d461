//! Metering display: what it reads of the meter, and how it shows it.

use hanrig_scenario::scenario::{Action, DeviceStep};
use hanrig_sep::clusters::metering as sep_metering;
use hanrig_sep::zcl::command::Command;
use hanrig_sep::zcl::general::command_id as general;
use hanrig_sep::zcl::header::FrameType;

use super::{JOINED, after, at, network, run_joined};
use crate::cases::{Case, case};
use crate::ctx::{Ctx, Outcome, check};
use crate::instrument::Probe;

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
    case!(
        "DEV-MET-005",
        Device,
        InHomeDisplay,
        "Applies the meter's Multiplier",
        "SE 1.0 Multiplier (0x0301) and Divisor (0x0302): value × Multiplier / Divisor",
        "Summation 123456, Multiplier 2, Divisor 1000, formatting 0x2B.",
        ["Power the DUT"],
        "Operator: 00246.912 kWh",
        dev_met_005
    ),
    case!(
        "DEV-MET-006",
        Device,
        InHomeDisplay,
        "Shows a negative demand (power exported) with its sign",
        "SE 1.0 InstantaneousDemand (0x0400) is a signed int24",
        "Demand −1500 W (the premises export), divisor 1000, formatting 0x13.",
        ["Power the DUT"],
        "Operator: -01.500 kW",
        dev_met_006
    ),
    case!(
        "DEV-MET-007",
        Device,
        InHomeDisplay,
        "Shows a meter's own unit",
        "SE 1.0 UnitOfMeasure (0x0300): 0x01 m³",
        "A gas meter: UnitOfMeasure 0x01, summation 123456, divisor 1000.",
        ["Power the DUT"],
        "Operator: 00123.456 m³ and 01.500 m³/h",
        dev_met_007
    ),
    case!(
        "DEV-MET-008",
        Device,
        InHomeDisplay,
        "Suppresses leading zeros when the formatting says so",
        "SE 1.0 SummationFormatting bit 7 (suppress leading zeros)",
        "SummationFormatting 0xAB (5.3 digits, leading zeros suppressed).",
        ["Power the DUT"],
        "Operator: 123.456 kWh",
        dev_met_008
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

fn dev_met_005(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "1m");
    net.meters[0].multiplier = 2;
    ctx.probe(after(ctx, 30), Probe::Summation("00246.912 kWh".into()));
    run_joined(ctx, &net)
}

fn dev_met_006(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "1m");
    net.meters[0].load_w = vec![-1500];
    ctx.probe(after(ctx, 30), Probe::Demand("-01.500 kW".into()));
    run_joined(ctx, &net)
}

fn dev_met_007(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "1m");
    net.meters[0].unit_of_measure = 0x01;
    ctx.probe(after(ctx, 30), Probe::Summation("00123.456 m³".into()));
    ctx.probe(after(ctx, 31), Probe::Demand("01.500 m³/h".into()));
    run_joined(ctx, &net)
}

fn dev_met_008(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "1m");
    net.meters[0].summation_formatting = 0xAB;
    ctx.probe(after(ctx, 30), Probe::Summation("123.456 kWh".into()));
    run_joined(ctx, &net)
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
