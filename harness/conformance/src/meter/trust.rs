//! The trust centre: admitting by install code, refusing strangers, the device limit.

use super::{RIG_JOINED, eui, late, network, run_joined};
use crate::cases::{Case, case};
use crate::ctx::{CaseError, Ctx, Outcome, check};
use hanrig_scenario::scenario::DeviceSpec;

pub(super) static CASES: &[Case] = &[
    case!(
        "MET-TC-001",
        Meter,
        Meter,
        "Admits provisioned devices by install code",
        "SE 1.0 §5.4; SMT §5.6",
        "The DUT meter holds the rig devices' install codes.",
        ["Power the rig's display and thermostat"],
        "On the air: both receive the network key under their install-code keys and talk under it",
        met_tc_001
    ),
    case!(
        "MET-TC-002",
        Meter,
        Meter,
        "Refuses a device it has no install code for",
        "SE 1.0 §5.4; SMT §9",
        RIG_JOINED,
        ["A third device without a provisioned code associates"],
        "On the air: Association Response status 0x02 to it; it never talks under the network key",
        met_tc_002
    ),
    case!(
        "MET-TC-003",
        Meter,
        Meter,
        "Secures the network key under the provisioned install code only",
        "SE 1.0 §5.4",
        "The DUT holds a different code for a third device than the device's own.",
        ["The third device associates"],
        "On the air: a Transport Key to it that its own code's key cannot open — it never talks under the network key",
        met_tc_003
    ),
    case!(
        "MET-TC-004",
        Meter,
        Meter,
        "Enforces its device limit",
        "SMT §5.6 (at most 5 devices per meter)",
        RIG_JOINED,
        ["Four more devices associate, 1 s apart"],
        "On the air: three admitted (5 in all), the sixth refused with Association Response status 0x01",
        met_tc_004
    ),
    case!(
        "MET-TC-005",
        Meter,
        Meter,
        "A configured limit admits up to the limit",
        "SMT §5.6",
        "Device limit 2.",
        ["The two rig devices associate"],
        "On the air: both admitted, no refusal",
        met_tc_005
    ),
];

fn met_tc_001(ctx: &mut Ctx) -> Outcome {
    run_joined(ctx, &network("1m"))
}

fn met_tc_002(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1m");
    net.devices.push(DeviceSpec {
        provisioned_install_code: Some("none".into()),
        ..late("stranger", "load-control", "00:12:4b:00:00:00:99:99", "0s")
    });
    run_joined(ctx, &net)?;
    let stranger = eui("00:12:4b:00:00:00:99:99");
    let refused = ctx.air.association_responses_to(stranger);
    check(
        refused.first().is_some_and(|(_, s)| *s == 2) && !ctx.air.rig_holds_network_key(stranger),
        "the trust centre admitted a device it has no install code for",
        "Association Response status 0x02 (access denied), no network key",
        format!(
            "Association Responses {refused:?}; talks under the network key: {}",
            ctx.air.rig_holds_network_key(stranger)
        ),
    )
}

fn met_tc_003(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1m");
    net.devices.push(DeviceSpec {
        provisioned_install_code: Some("83FED3407A939723A5C639B269161802AEBB".into()),
        ..late("typo", "load-control", "00:12:4b:00:00:00:99:98", "0s")
    });
    run_joined(ctx, &net)?;
    let typo = eui("00:12:4b:00:00:00:99:98");
    if !ctx.air.transport_key_to(typo) && ctx.air.association_responses_to(typo).is_empty() {
        return Err(CaseError::Rig(
            "the third device's association is not on the air".into(),
        ));
    }
    check(
        !ctx.air.rig_holds_network_key(typo),
        "the network key reached a device under a key other than its install-code key",
        "Transport Key secured under the provisioned code's key: the device cannot open it",
        "the device talks under the network key",
    )
}

fn met_tc_004(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1m");
    for i in 0..4 {
        net.devices.push(late(
            &format!("extra-{i}"),
            "load-control",
            &format!("00:12:4b:00:00:00:10:0{i}"),
            &format!("{}s", 5 + i),
        ));
    }
    run_joined(ctx, &net)?;
    let extra = |i: u8| eui(&format!("00:12:4b:00:00:00:10:0{i}"));
    let joined = (0..3)
        .filter(|&i| ctx.air.rig_holds_network_key(extra(i)))
        .count();
    let refused = ctx.air.association_responses_to(extra(3));
    check(
        joined == 3 && refused.first().is_some_and(|(_, s)| *s == 1),
        "the device limit of 5 was not enforced",
        "5 devices admitted, the 6th refused with status 0x01",
        format!("{joined} extra joined, 6th: {refused:?}"),
    )
}

fn met_tc_005(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1m");
    net.meters[0].device_limit = 2;
    run_joined(ctx, &net)?;
    let refusals: Vec<(u64, u8)> = [super::ihd(), super::pct()]
        .into_iter()
        .flat_map(|d| ctx.air.association_responses_to(d))
        .filter(|(_, s)| *s != 0)
        .collect();
    check(
        refusals.is_empty(),
        "a configured limit of 2 refused one of 2 devices",
        "both admitted",
        format!("refusals {refusals:?}"),
    )
}
