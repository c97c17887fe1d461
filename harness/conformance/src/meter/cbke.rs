//! Key Establishment (cluster 0x0800, suite 1): the meter as responder to the rig's devices,
//! which hold certificates from the rig's test CA (good ones and deliberately bad ones).
//!
//! What the rig observes: the meter's Initiate, Ephemeral Data and Confirm Key Data Responses and
//! its Terminates, decoded and checked field by field (suite, certificate subject and issuer,
//! a valid ephemeral point); whether the rig's device could confirm the meter's MACV (it sends
//! Terminate BAD_KEY_CONFIRM when not); and the SE frames the meter sends each device, with the
//! link key that opened them — the device's install-code key, or the key the exchange derived.

use hanrig_scenario::scenario::{Action, Scenario};
use hanrig_sep::Eui64;
use hanrig_sep::clusters::key_establishment::{self as ke, TerminateStatus, command};
use hanrig_sep::install_code::{InstallCode, Key};
use hanrig_sep::zcl::command::Command;

use super::{IHD, PCT, commands, eui, ihd, late, network, pct, run_joined};
use crate::air::Party;
use crate::cases::{Case, case};
use crate::ctx::{CaseError, Ctx, Outcome, at, check, fail};
use crate::judge::secs;

use crate::ke::{self as judge, CLAUSE};
const PRE: &str = "The DUT meter requires Key Establishment and holds a certificate from the rig's test CA; the rig's display and thermostat hold certificates from the same CA.";

pub(super) static CASES: &[Case] = &[
    case!(
        "MET-CBKE-001",
        Meter,
        Meter,
        "Establishes a link key with each device and serves SE under it",
        CLAUSE,
        PRE,
        [
            "The rig's display and thermostat join and start Key Establishment",
            "At 30 s the DUT is asked to publish a price"
        ],
        "On the air, to each device: Initiate KE Response (suite 0x0001, 48-byte certificate naming the DUT's EUI64 and the rig CA's issuer), Ephemeral Data Response (a valid sect163k1 point), Confirm Key Data Response whose MACV the device confirms (no Terminate from it); then the Publish Price APS-secured under the derived key, not the install-code key",
        met_cbke_001
    ),
    case!(
        "MET-CBKE-002",
        Meter,
        Meter,
        "Refuses a certificate from another issuer with UNKNOWN_ISSUER",
        CLAUSE,
        PRE,
        [
            "A third rig device whose certificate comes from a foreign CA (issuer ELSEWHER) starts Key Establishment"
        ],
        "On the air: Terminate Key Establishment status 0x01 (UNKNOWN_ISSUER) to it after each Initiate Request, never an Initiate Response or an SE frame",
        met_cbke_002
    ),
    case!(
        "MET-CBKE-003",
        Meter,
        Meter,
        "Refuses a wrong key confirmation with BAD_KEY_CONFIRM",
        CLAUSE,
        PRE,
        ["A third rig device sends a corrupted MACU in its Confirm Key Data Request"],
        "On the air: Terminate Key Establishment status 0x02 (BAD_KEY_CONFIRM) to it, never a Confirm Key Data Response or an SE frame",
        met_cbke_003
    ),
    case!(
        "MET-CBKE-004",
        Meter,
        Meter,
        "Serves no SE cluster to a device that has not done Key Establishment",
        "SE 1.0: the SE application clusters use the link key established by CBKE; Key Establishment cluster 0x0800",
        PRE,
        [
            "A third rig device without a certificate joins and asks for the current price and last message",
            "At 30 s the DUT is asked to publish a price"
        ],
        "On the air: no frame of the Price, DRLC, Metering or Messaging clusters from the DUT to that device",
        met_cbke_004
    ),
    case!(
        "MET-CBKE-005",
        Meter,
        Meter,
        "Abandons a stalled exchange and serves the next device",
        CLAUSE,
        "A rig device starts Key Establishment and then answers nothing; another rig device starts 5 s later.",
        [
            "The stalled device sends Initiate KE Request and goes silent",
            "The second device starts at 5 s, and again after each Terminate's wait time (three attempts)"
        ],
        "On the air: the second device may be told NO_RESOURCES (0x04) while the first exchange runs, but receives an Initiate KE Response by its third attempt",
        met_cbke_005
    ),
    case!(
        "MET-CBKE-006",
        Meter,
        Meter,
        "Refuses an unsupported key establishment suite with UNSUPPORTED_SUITE",
        CLAUSE,
        PRE,
        ["A third rig device proposes suite 0x0002 (sect283k1) in its Initiate Request"],
        "On the air: Terminate Key Establishment status 0x05 (UNSUPPORTED_SUITE) to it after each attempt, never an Initiate Response or an SE frame",
        met_cbke_006
    ),
    case!(
        "MET-CBKE-007",
        Meter,
        Meter,
        "Refuses a certificate that does not reconstruct with INVALID_CERTIFICATE",
        CLAUSE,
        PRE,
        [
            "A third rig device sends a certificate from the rig CA whose reconstruction point is no point of the curve"
        ],
        "On the air: Terminate Key Establishment status 0x06 (INVALID_CERTIFICATE) to it after each attempt, never an Initiate Response or an SE frame",
        met_cbke_007
    ),
    case!(
        "MET-CBKE-008",
        Meter,
        Meter,
        "Refuses an ephemeral key off the curve with BAD_MESSAGE",
        CLAUSE,
        PRE,
        ["A third rig device sends an Ephemeral Data Request whose key is no point of the curve"],
        "On the air: Terminate Key Establishment status 0x03 (BAD_MESSAGE) to it after each attempt, never an Ephemeral Data Response or an SE frame",
        met_cbke_008
    ),
];

/// The rig's third device (a load-control device), joining at 2 s.
const THIRD: (&str, &str) = ("rig-lc", "00:12:4b:00:00:00:77:01");

/// The meter network with CBKE required; the third device, if any, holds `third`.
fn cbke_network(duration: &str, third: Option<&str>) -> Scenario {
    let mut net = network(duration);
    net.meters[0].cbke = true;
    if let Some(kind) = third {
        let mut d = late(THIRD.0, "load-control", THIRD.1, "2s");
        d.cbke = Some(kind.into());
        net.devices.push(d);
    }
    net
}

/// At `when`, the utility asks the DUT to publish a price.
fn publish_price(net: &mut Scenario, when: &str) {
    at(
        net,
        when,
        Action::PublishPrice(hanrig_scenario::scenario::PriceStep {
            meter: "dut".into(),
            issuer_event_id: 7001,
            price: 1250,
            trailing_digits: 4,
            tier: 2,
            rate_label: "TOU peak".into(),
            ..hanrig_scenario::scenario::PriceStep::default()
        }),
    );
}

/// The Key Establishment commands `command_id` the DUT sent `rig`, decoded.
fn ke_from_dut(ctx: &Ctx, rig: Eui64, command_id: u8) -> Result<Vec<(u64, Command)>, CaseError> {
    Ok(commands(ctx, rig, ke::CLUSTER_ID, command_id)?
        .into_iter()
        .map(|(h, f)| (secs(h), f.command.clone()))
        .collect())
}

/// The Terminate statuses `from` sent `to` (either side), in order.
fn terminates(ctx: &Ctx, from: Party, to: Party) -> Vec<TerminateStatus> {
    ctx.air
        .frames
        .iter()
        .filter(|h| h.from == from && h.to == to)
        .filter_map(|h| h.zcl())
        .filter(|z| z.cluster == ke::CLUSTER_ID)
        .filter_map(|z| match &z.frame {
            Ok(f) => match &f.command {
                Command::TerminateKeyEstablishment(t) => Some(t.status_code),
                _ => None,
            },
            Err(_) => None,
        })
        .collect()
}

/// SE-cluster frames (Price, DRLC, Metering, Messaging) the DUT sent `rig`, with the link key
/// that opened each.
fn se_frames(ctx: &Ctx, rig: Eui64) -> Vec<(u64, u16, Option<Key>)> {
    ctx.air
        .dut_to(rig)
        .filter(|(_, z)| hanrig_sep::clusters::aps_secured(z.cluster))
        .map(|(h, z)| (secs(h), z.cluster, z.aps_key))
        .collect()
}

fn install_key(code: &str) -> Key {
    code.parse::<InstallCode>()
        .map(|c| c.link_key())
        .unwrap_or_default()
}

/// The DUT's three responses to `rig`, checked field by field.
fn exchange_ok(ctx: &Ctx, name: &str, rig: Eui64, dut: Eui64, issuer: [u8; 8]) -> Outcome {
    let initiate = ke_from_dut(ctx, rig, command::INITIATE_KEY_ESTABLISHMENT)?;
    let Some((t, Command::InitiateKeyEstablishmentResponse(r))) = initiate.first() else {
        return Err(fail(
            format!("the DUT sent the rig's {name} no Initiate Key Establishment Response"),
            "Initiate Key Establishment Response",
            format!("{:?}", terminates(ctx, Party::Dut, Party::Rig(rig))),
        ));
    };
    judge::initiate_ok(
        &format!("Initiate KE Response to {name} at {t} s"),
        r,
        dut,
        Some(issuer),
    )?;
    let ephemeral = ke_from_dut(ctx, rig, command::EPHEMERAL_DATA)?;
    let Some((t, Command::EphemeralDataResponse(e))) = ephemeral.first() else {
        return Err(fail(
            format!("the DUT sent the rig's {name} no Ephemeral Data Response"),
            "Ephemeral Data Response",
            format!("{:?}", terminates(ctx, Party::Dut, Party::Rig(rig))),
        ));
    };
    judge::point_ok(&format!("Ephemeral Data Response to {name} at {t} s"), e)?;
    let confirm = ke_from_dut(ctx, rig, command::CONFIRM_KEY_DATA)?;
    check(
        confirm
            .iter()
            .any(|(_, c)| matches!(c, Command::ConfirmKeyDataResponse(_))),
        &format!("the DUT sent the rig's {name} no Confirm Key Data Response"),
        "Confirm Key Data Response (MACV)",
        format!("{:?}", terminates(ctx, Party::Dut, Party::Rig(rig))),
    )?;
    let refused = terminates(ctx, Party::Rig(rig), Party::Dut);
    check(
        refused.is_empty(),
        &format!("the rig's {name} could not confirm the DUT's key (its MACV is wrong)"),
        "no Terminate from the device",
        format!("{refused:?}"),
    )
}

fn met_cbke_001(ctx: &mut Ctx) -> Outcome {
    let mut net = cbke_network("1m", None);
    publish_price(&mut net, "30s");
    run_joined(ctx, &net)?;
    let dut = eui(&net.meters[0].eui64);
    for (name, who, code) in [(IHD.0, ihd(), IHD.2), (PCT.0, pct(), PCT.2)] {
        exchange_ok(ctx, name, who, dut, hanrig_scenario::ISSUER)?;
        let se = se_frames(ctx, who);
        let install = install_key(code);
        check(
            !se.is_empty()
                && se
                    .iter()
                    .all(|(_, _, k)| k.is_some() && *k != Some(install)),
            &format!(
                "the DUT's SE frames to {name} do not run under the key Key Establishment derived"
            ),
            "SE frames APS-secured under the derived link key",
            format!(
                "{} SE frame(s); under the install-code key: {}; unsecured: {}",
                se.len(),
                se.iter().filter(|(_, _, k)| *k == Some(install)).count(),
                se.iter().filter(|(_, _, k)| k.is_none()).count()
            ),
        )?;
    }
    Ok(())
}

/// The third device is refused with `status` after each attempt and gets nothing else.
fn third_refused(
    ctx: &mut Ctx,
    kind: &str,
    status: TerminateStatus,
    never: u8,
    what: &str,
) -> Outcome {
    let mut net = cbke_network("2m", Some(kind));
    publish_price(&mut net, "30s");
    run_joined(ctx, &net)?;
    let third = eui(THIRD.1);
    let sent = terminates(ctx, Party::Dut, Party::Rig(third));
    let other = ke_from_dut(ctx, third, never)?;
    let se = se_frames(ctx, third);
    check(
        !sent.is_empty() && sent.iter().all(|s| *s == status) && other.is_empty() && se.is_empty(),
        &format!("the DUT did not refuse {what}"),
        format!(
            "Terminate status {:#04x} ({status:?}) after each attempt; no {}; no SE frame",
            u8::from(status),
            match never {
                command::INITIATE_KEY_ESTABLISHMENT => "Initiate Response",
                command::EPHEMERAL_DATA => "Ephemeral Data Response",
                _ => "Confirm Key Data Response",
            }
        ),
        format!(
            "Terminates {sent:?}; {} other response(s); {} SE frame(s)",
            other.len(),
            se.len()
        ),
    )
}

fn met_cbke_002(ctx: &mut Ctx) -> Outcome {
    third_refused(
        ctx,
        "foreign-issuer",
        TerminateStatus::UnknownIssuer,
        command::INITIATE_KEY_ESTABLISHMENT,
        "a certificate from another issuer",
    )
}

fn met_cbke_003(ctx: &mut Ctx) -> Outcome {
    third_refused(
        ctx,
        "broken-confirm",
        TerminateStatus::BadKeyConfirm,
        command::CONFIRM_KEY_DATA,
        "a wrong key confirmation",
    )
}

fn met_cbke_004(ctx: &mut Ctx) -> Outcome {
    let mut net = cbke_network("1m", Some("none"));
    // A display: it asks for the price and the last message, and has the clients to be sent them.
    net.devices[2].kind = "in-home-display".into();
    publish_price(&mut net, "30s");
    run_joined(ctx, &net)?;
    let third = eui(THIRD.1);
    if !ctx.air.rig_holds_network_key(third) {
        return Err(CaseError::Rig("the rig's third device did not join".into()));
    }
    let se = se_frames(ctx, third);
    check(
        se.is_empty(),
        "the DUT served SE clusters to a device without Key Establishment",
        "no Price, DRLC, Metering or Messaging frame to it",
        format!("{se:?}"),
    )
}

fn met_cbke_005(ctx: &mut Ctx) -> Outcome {
    let mut net = cbke_network("3m", None);
    // The display stalls after its Initiate Request; the thermostat starts 5 s later.
    net.devices[0].cbke = Some("stalls".into());
    net.devices[1].join_at = "5s".into();
    run_joined(ctx, &net)?;
    let initiate = ke_from_dut(ctx, pct(), command::INITIATE_KEY_ESTABLISHMENT)?;
    let asked = ctx
        .air
        .frames
        .iter()
        .filter(|h| h.from == Party::Rig(pct()) && h.to == Party::Dut)
        .filter_map(|h| h.zcl())
        .filter(|z| z.cluster == ke::CLUSTER_ID && z.header.is_some_and(|h| h.command_id == 0))
        .count();
    let refusals = terminates(ctx, Party::Dut, Party::Rig(pct()));
    check(
        initiate
            .iter()
            .any(|(_, c)| matches!(c, Command::InitiateKeyEstablishmentResponse(_))),
        "the DUT never served the second device after the first stalled",
        "an Initiate KE Response to the thermostat by its third attempt (NO_RESOURCES before it at most)",
        format!(
            "{asked} attempt(s); Terminates {refusals:?}; {} Initiate Response(s)",
            initiate.len()
        ),
    )
}

fn met_cbke_006(ctx: &mut Ctx) -> Outcome {
    third_refused(
        ctx,
        "unsupported-suite",
        TerminateStatus::UnsupportedSuite,
        command::INITIATE_KEY_ESTABLISHMENT,
        "an unsupported suite",
    )
}

fn met_cbke_007(ctx: &mut Ctx) -> Outcome {
    third_refused(
        ctx,
        "invalid-certificate",
        TerminateStatus::InvalidCertificate,
        command::INITIATE_KEY_ESTABLISHMENT,
        "a certificate that does not reconstruct",
    )
}

fn met_cbke_008(ctx: &mut Ctx) -> Outcome {
    third_refused(
        ctx,
        "bad-ephemeral",
        TerminateStatus::BadMessage,
        command::EPHEMERAL_DATA,
        "an ephemeral key off the curve",
    )
}
