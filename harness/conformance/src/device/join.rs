//! Joining: install-code keys, the global default key, a meter at capacity.

use hanrig_scenario::scenario::DeviceSpec;

use super::{DUT_EUI64, RIG, dut, network, run_joined, secs};
use crate::cases::{Case, case};
use crate::ctx::{CaseError, Ctx, Outcome, check};

pub(super) static CASES: &[Case] = &[
    case!(
        "DEV-JOIN-001",
        Device,
        InHomeDisplay,
        "Joins with its install code",
        "SE 1.0 §5.4 install-code link key; SMT §5.6 HAN device join",
        "The rig's ESI holds the DUT's install code.",
        [
            "Power the DUT; it associates",
            "The ESI sends the network key in APS Transport Key under the key-transport key of the install-code key"
        ],
        "On the air: the DUT's frames secured with the network key, then SE commands (Get Current Price, Get Last Message, Read Attributes) to the ESI within 1 minute",
        dev_join_001
    ),
    case!(
        "DEV-JOIN-002",
        Device,
        InHomeDisplay,
        "Stays out when the meter holds another install code",
        "SE 1.0 §5.4; SMT §9 security",
        "The rig's ESI holds a different install code for the DUT's EUI64.",
        [
            "Power the DUT",
            "The ESI secures the Transport Key under the other code's key"
        ],
        "On the air: the Transport Key sent, then no frame from the DUT under the network key and no SE frame",
        dev_join_002
    ),
    case!(
        "DEV-JOIN-003",
        Device,
        InHomeDisplay,
        "Refuses a network key under the global default link key",
        "SE 1.0 §5.4 (SE devices use install-code keys, not ZigBeeAlliance09)",
        "The rig's ESI has no install code for the DUT and offers the key under ZigBeeAlliance09.",
        [
            "Power the DUT",
            "The ESI sends Transport Key under the key-transport key of ZigBeeAlliance09"
        ],
        "On the air: the Transport Key sent, then no frame from the DUT under the network key",
        dev_join_003
    ),
    case!(
        "DEV-JOIN-004",
        Device,
        InHomeDisplay,
        "Stays out when the meter is at capacity",
        "SMT §5.6 (at most 5 devices per meter); IEEE 802.15.4 association status 0x01",
        "Five other devices have joined the rig's ESI.",
        ["Power the DUT at 10 s"],
        "On the air: Association Response status 0x01 to the DUT; the DUT sends nothing under the network key",
        dev_join_004
    ),
];

fn dev_join_001(ctx: &mut Ctx) -> Outcome {
    run_joined(ctx, &network("in-home-display", "1m"))?;
    let asks: Vec<u64> = ctx.air.from_dut().map(|(h, _)| secs(h)).collect();
    check(
        asks.iter().any(|&t| t <= 60),
        "the joined DUT sent no SE command",
        "Get Current Price / Get Last Message / Read Attributes after joining",
        "nothing",
    )
}

/// The DUT must have been offered the key, and must not have used it.
fn stays_out(ctx: &Ctx, why: &str) -> Outcome {
    if !ctx.air.transport_key_to_dut() {
        return Err(CaseError::Rig(format!(
            "the rig's trust centre sent the DUT no Transport Key ({why})"
        )));
    }
    let spoke = ctx.air.dut_holds_network_key();
    let se = ctx.air.from_dut().count();
    check(
        !spoke && se == 0,
        &format!("the DUT joined although {why}"),
        "no frame from the DUT under the network key, no SE frame",
        format!("frames under the network key: {spoke}; {se} SE frame(s)"),
    )
}

fn dev_join_002(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "1m");
    dut(&mut net).provisioned_install_code = Some("83FED3407A939723A5C639B269161802AEBB".into());
    ctx.run_scenario(&net)?;
    stays_out(ctx, "the meter holds another install code for it")
}

fn dev_join_003(ctx: &mut Ctx) -> Outcome {
    // The rig's trust centre has no install code for the DUT and offers the network key under
    // the global HA key ZigBeeAlliance09: an SE device must not take it.
    let mut net = network("in-home-display", "1m");
    dut(&mut net).provisioned_install_code = Some("none".into());
    net.meters[0].global_key_fallback = true;
    ctx.run_scenario(&net)?;
    stays_out(
        ctx,
        "the network key came under the global default link key",
    )
}

fn dev_join_004(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "1m");
    dut(&mut net).join_at = "10s".into();
    for i in 0..5 {
        net.devices.push(DeviceSpec {
            name: format!("other-{i}"),
            kind: "load-control".into(),
            eui64: format!("00:12:4b:00:00:00:00:0{i}"),
            install_code: "83FED3407A939723A5C639FF4C12".into(),
            meter: RIG.into(),
            ..DeviceSpec::default()
        });
    }
    ctx.run_scenario(&net)?;
    let responses = ctx.air.association_responses_to_dut();
    let spoke = ctx.air.dut_holds_network_key();
    check(
        responses.first().is_some_and(|(_, status)| *status == 1) && !spoke,
        "a device refused for PAN at capacity did not stay out",
        format!(
            "Association Response status 0x01 to {DUT_EUI64}; no frame from it under the network key"
        ),
        format!("Association Responses {responses:?}; frames under the network key: {spoke}"),
    )
}
