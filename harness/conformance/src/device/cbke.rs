//! Key Establishment (cluster 0x0800, suite 1): the device as initiator, the rig's ESI as
//! responder holding a certificate from the rig's test CA — or deliberately breaking the
//! exchange (a foreign certificate, a wrong MACV, silence, a busy refusal) to see the device
//! refuse, time out and wait as it must.
//!
//! What the rig observes: the device's Initiate, Ephemeral Data and Confirm Key Data Requests
//! and its Terminates, decoded and checked field by field; whether the rig's ESI could confirm
//! the device's MACU (it sends Confirm Key Data Response only then); when each request came;
//! and the SE frames the device sends afterwards, with the link key that opened them.

use hanrig_scenario::BUSY_WAIT_S;
use hanrig_scenario::scenario::Scenario;
use hanrig_sep::clusters::key_establishment::{self as ke, TerminateStatus};
use hanrig_sep::install_code::Key;
use hanrig_sep::zcl::command::Command;

use super::{network, run_joined};
use crate::cases::{Case, case};
use crate::ctx::{Ctx, Outcome, check, fail};

use crate::ke::{self as judge, CLAUSE};
const PRE: &str = "The DUT holds a certificate from the CA of the rig's ESI (on the simulated rigs, the rig's test CA, issuer HANRIGCA) and joins the rig's ESI, which requires Key Establishment.";

pub(super) static CASES: &[Case] = &[
    case!(
        "DEV-CBKE-001",
        Device,
        InHomeDisplay,
        "Establishes a link key with the ESI and runs SE under it",
        CLAUSE,
        PRE,
        [
            "Power the DUT; it joins with its install code",
            "The rig's ESI answers the DUT's Key Establishment"
        ],
        "On the air from the DUT: Initiate KE Request (suite 0x0001, 48-byte certificate naming the DUT's EUI64 and the rig CA's issuer), Ephemeral Data Request (a valid sect163k1 point), Confirm Key Data Request whose MACU the rig's ESI confirms; no Terminate from either side; after the key confirmation, SE frames APS-secured under the derived key, not the install-code key",
        dev_cbke_001
    ),
    case!(
        "DEV-CBKE-002",
        Device,
        InHomeDisplay,
        "Refuses an ESI certificate from another issuer with UNKNOWN_ISSUER",
        CLAUSE,
        PRE,
        [
            "The rig's ESI answers each Initiate Request with a certificate from a foreign CA (issuer ELSEWHER)"
        ],
        "On the air from the DUT: Terminate Key Establishment status 0x01 (UNKNOWN_ISSUER) after each Initiate KE Response; never an Ephemeral Data Request",
        dev_cbke_002
    ),
    case!(
        "DEV-CBKE-003",
        Device,
        InHomeDisplay,
        "Refuses a wrong key confirmation with BAD_KEY_CONFIRM and keeps no key",
        CLAUSE,
        PRE,
        ["The rig's ESI sends a corrupted MACV in each Confirm Key Data Response"],
        "On the air from the DUT: Terminate Key Establishment status 0x02 (BAD_KEY_CONFIRM) after each Confirm Key Data Response; no SE frame under any key but its install-code key",
        dev_cbke_003
    ),
    case!(
        "DEV-CBKE-004",
        Device,
        InHomeDisplay,
        "Gives up on a silent ESI and starts again",
        "Key Establishment cluster 0x0800: wait the partner's advertised generate time plus transit, then fail without a Terminate; SE registration retries (Silicon Labs key-establishment and SE registration plugins)",
        PRE,
        ["The rig's ESI sends no Ephemeral Data Response"],
        "On the air from the DUT: after its Ephemeral Data Request, a new Initiate KE Request no sooner than the ESI's advertised Ephemeral Data Generate Time and within 120 s",
        dev_cbke_004
    ),
    case!(
        "DEV-CBKE-005",
        Device,
        InHomeDisplay,
        "Waits the Terminate's wait time before trying again",
        "Key Establishment cluster 0x0800 Terminate Key Establishment: Wait Time, the seconds the device shall wait before trying again",
        PRE,
        [
            "The rig's ESI refuses the first Initiate Request with Terminate NO_RESOURCES, Wait Time 25 s"
        ],
        "On the air from the DUT: the next Initiate KE Request no sooner than 25 s after the Terminate (the rig's tolerance allowed) and within 85 s; that exchange completes",
        dev_cbke_005
    ),
    case!(
        "DEV-CBKE-006",
        Device,
        InHomeDisplay,
        "Refuses an ESI certificate that does not reconstruct with INVALID_CERTIFICATE",
        CLAUSE,
        PRE,
        [
            "The rig's ESI answers with its certificate's reconstruction point broken (issuer and subject intact)"
        ],
        "On the air from the DUT: Terminate Key Establishment status 0x06 (INVALID_CERTIFICATE) after each Initiate KE Response; never an Ephemeral Data Request",
        dev_cbke_006
    ),
    case!(
        "DEV-CBKE-007",
        Device,
        InHomeDisplay,
        "Refuses an ESI ephemeral key off the curve with BAD_MESSAGE",
        CLAUSE,
        PRE,
        ["The rig's ESI sends an Ephemeral Data Response whose key is no point of the curve"],
        "On the air from the DUT: Terminate Key Establishment status 0x03 (BAD_MESSAGE) after each Ephemeral Data Response; never a Confirm Key Data Request",
        dev_cbke_007
    ),
];

/// How long the DUT may take to answer with a Terminate, µs.
const ANSWER_US: u64 = 10_000_000;

/// The device network with the rig's ESI requiring Key Establishment, playing `fault`.
fn cbke_network(duration: &str, fault: Option<&str>) -> Scenario {
    let mut net = network("in-home-display", duration);
    net.meters[0].cbke = true;
    net.meters[0].cbke_fault = fault.map(Into::into);
    net
}

/// The Key Establishment commands one side sent the other, with their time (µs since 1970):
/// the DUT's (`dut`) or the rig ESI's.
fn ke_commands(ctx: &Ctx, dut: bool) -> Vec<(u64, Command)> {
    let frames = if dut {
        ctx.air.from_dut().collect::<Vec<_>>()
    } else {
        ctx.air.to_dut().collect()
    };
    frames
        .into_iter()
        .filter(|(_, z)| z.cluster == ke::CLUSTER_ID)
        .filter_map(|(h, z)| Some((h.t_us, z.frame.as_ref().ok()?.command.clone())))
        .collect()
}

/// The Key Establishment commands the DUT sent.
fn from_dut(ctx: &Ctx) -> Vec<(u64, Command)> {
    ke_commands(ctx, true)
}

/// The Key Establishment commands the rig's ESI sent the DUT.
fn from_rig(ctx: &Ctx) -> Vec<(u64, Command)> {
    ke_commands(ctx, false)
}

fn terminates(commands: &[(u64, Command)]) -> Vec<(u64, TerminateStatus, u8)> {
    commands
        .iter()
        .filter_map(|(t, c)| match c {
            Command::TerminateKeyEstablishment(m) => Some((*t, m.status_code, m.wait_time)),
            _ => None,
        })
        .collect()
}

fn initiates(commands: &[(u64, Command)]) -> Vec<u64> {
    commands
        .iter()
        .filter(|(_, c)| matches!(c, Command::InitiateKeyEstablishmentRequest(_)))
        .map(|(t, _)| *t)
        .collect()
}

fn seconds(from_us: u64, to_us: u64) -> f64 {
    to_us.saturating_sub(from_us) as f64 / 1e6
}

/// The DUT's SE frames (Price, DRLC, Metering, Messaging) sent after `since` (µs since 1970),
/// with the link key that opened each.
fn se_frames(ctx: &Ctx, since: u64) -> Vec<(u16, Option<Key>)> {
    ctx.air
        .from_dut()
        .filter(|(h, z)| h.t_us > since && hanrig_sep::clusters::aps_secured(z.cluster))
        .map(|(_, z)| (z.cluster, z.aps_key))
        .collect()
}

/// The DUT's three requests, checked field by field.
fn requests_ok(ctx: &Ctx) -> Outcome {
    let sent = from_dut(ctx);
    let Some(Command::InitiateKeyEstablishmentRequest(r)) = sent
        .iter()
        .map(|(_, c)| c)
        .find(|c| matches!(c, Command::InitiateKeyEstablishmentRequest(_)))
    else {
        return Err(fail(
            "the DUT did not start Key Establishment",
            "Initiate Key Establishment Request",
            format!("{} Key Establishment frame(s)", sent.len()),
        ));
    };
    // The rig's CA is the one whose certificate the rig's ESI showed on the air.
    let issuer = from_rig(ctx).iter().find_map(|(_, c)| match c {
        Command::InitiateKeyEstablishmentResponse(r) => judge::issuer(r),
        _ => None,
    });
    judge::initiate_ok("Initiate KE Request", r, ctx.air.dut, issuer)?;
    let Some(Command::EphemeralDataRequest(e)) = sent
        .iter()
        .map(|(_, c)| c)
        .find(|c| matches!(c, Command::EphemeralDataRequest(_)))
    else {
        return Err(fail(
            "the DUT sent no Ephemeral Data Request",
            "Ephemeral Data Request",
            format!("{:?}", terminates(&sent)),
        ));
    };
    judge::point_ok("Ephemeral Data Request", e)?;
    check(
        sent.iter()
            .any(|(_, c)| matches!(c, Command::ConfirmKeyDataRequest(_))),
        "the DUT sent no Confirm Key Data Request",
        "Confirm Key Data Request (MACU)",
        format!("{:?}", terminates(&sent)),
    )
}

fn dev_cbke_001(ctx: &mut Ctx) -> Outcome {
    run_joined(ctx, &cbke_network("1m", None))?;
    requests_ok(ctx)?;
    let rig = from_rig(ctx);
    let refused = terminates(&rig);
    let confirmed = rig
        .iter()
        .find(|(_, c)| matches!(c, Command::ConfirmKeyDataResponse(_)))
        .map(|(t, _)| *t);
    check(
        refused.is_empty() && confirmed.is_some(),
        "the rig's ESI could not confirm the DUT's key (its MACU is wrong)",
        "a Confirm Key Data Response from the ESI, no Terminate",
        format!("Terminates from the ESI: {refused:?}"),
    )?;
    let own = terminates(&from_dut(ctx));
    check(
        own.is_empty(),
        "the DUT refused the rig's correct key confirmation",
        "no Terminate from the DUT",
        format!("{own:?}"),
    )?;
    // From the key confirmation on, SE runs under the new key.
    let se = se_frames(ctx, confirmed.unwrap_or_default());
    let install = ctx.air.dut_install_key;
    check(
        !se.is_empty() && se.iter().all(|(_, k)| k.is_some() && *k != install),
        "the DUT's SE frames do not run under the key Key Establishment derived",
        "SE frames APS-secured under the derived link key",
        format!(
            "{} SE frame(s); under the install-code key: {}; unsecured or under no key the rig holds: {}",
            se.len(),
            se.iter().filter(|(_, k)| *k == install).count(),
            se.iter().filter(|(_, k)| k.is_none()).count()
        ),
    )
}

/// After each of the rig's commands `after` (`what`: the Initiate or the Confirm Key Data
/// Response), the DUT must answer Terminate `status`.
fn refuses_each(
    ctx: &Ctx,
    (what, after): (&str, fn(&Command) -> bool),
    status: TerminateStatus,
) -> Outcome {
    let rig = from_rig(ctx);
    let sent = from_dut(ctx);
    // The DUT has 10 s to answer: a command in the case's last 10 s is not judged.
    let times: Vec<u64> = rig
        .iter()
        .filter(|(t, c)| after(c) && *t + ANSWER_US <= ctx.end_us)
        .map(|(t, _)| *t)
        .collect();
    if times.is_empty() {
        return Err(fail(
            format!("the exchange never reached the ESI's {what}"),
            format!("the ESI's {what}, then the DUT's Terminate"),
            format!(
                "Terminates from the ESI: {:?}; from the DUT: {:?}",
                terminates(&rig),
                terminates(&sent)
            ),
        ));
    }
    let own = terminates(&sent);
    let answered = times.iter().all(|t| {
        own.iter()
            .any(|(at, s, _)| at >= t && *s == status && *at <= t + ANSWER_US)
    });
    check(
        answered,
        &format!(
            "the DUT did not refuse with {status:?} ({:#04x})",
            u8::from(status)
        ),
        format!(
            "Terminate status {:#04x} within 10 s of each of the ESI's {} command(s)",
            u8::from(status),
            times.len()
        ),
        format!("Terminates from the DUT: {own:?}"),
    )
}

/// The rig's ESI answers with a bad certificate (`fault`): the DUT must refuse with `status`
/// after each Initiate Response and never send its ephemeral key.
fn refuses_certificate(ctx: &mut Ctx, fault: &str, status: TerminateStatus, what: &str) -> Outcome {
    run_joined(ctx, &cbke_network("2m", Some(fault)))?;
    refuses_each(
        ctx,
        ("Initiate KE Response", |c| {
            matches!(c, Command::InitiateKeyEstablishmentResponse(_))
        }),
        status,
    )?;
    let ephemeral = from_dut(ctx)
        .into_iter()
        .filter(|(_, c)| matches!(c, Command::EphemeralDataRequest(_)))
        .count();
    check(
        ephemeral == 0,
        &format!("the DUT went on with {what}"),
        "no Ephemeral Data Request",
        format!("{ephemeral} Ephemeral Data Request(s)"),
    )
}

fn dev_cbke_002(ctx: &mut Ctx) -> Outcome {
    refuses_certificate(
        ctx,
        "foreign-certificate",
        TerminateStatus::UnknownIssuer,
        "a certificate from another issuer",
    )
}

fn dev_cbke_006(ctx: &mut Ctx) -> Outcome {
    refuses_certificate(
        ctx,
        "invalid-certificate",
        TerminateStatus::InvalidCertificate,
        "a certificate that does not reconstruct",
    )
}

fn dev_cbke_007(ctx: &mut Ctx) -> Outcome {
    run_joined(ctx, &cbke_network("2m", Some("bad-ephemeral")))?;
    refuses_each(
        ctx,
        ("Ephemeral Data Response", |c| {
            matches!(c, Command::EphemeralDataResponse(_))
        }),
        TerminateStatus::BadMessage,
    )?;
    let confirms = from_dut(ctx)
        .into_iter()
        .filter(|(_, c)| matches!(c, Command::ConfirmKeyDataRequest(_)))
        .count();
    check(
        confirms == 0,
        "the DUT went on with an ephemeral key off the curve",
        "no Confirm Key Data Request",
        format!("{confirms} Confirm Key Data Request(s)"),
    )
}

fn dev_cbke_003(ctx: &mut Ctx) -> Outcome {
    run_joined(ctx, &cbke_network("1m", Some("wrong-confirm")))?;
    refuses_each(
        ctx,
        ("Confirm Key Data Response", |c| {
            matches!(c, Command::ConfirmKeyDataResponse(_))
        }),
        TerminateStatus::BadKeyConfirm,
    )?;
    let install = ctx.air.dut_install_key;
    let other: Vec<_> = se_frames(ctx, 0)
        .into_iter()
        .filter(|(_, k)| k.is_some() && *k != install)
        .collect();
    check(
        other.is_empty(),
        "the DUT used a key the ESI never confirmed",
        "no SE frame under any key but the install-code key",
        format!("{} SE frame(s) under another key", other.len()),
    )
}

fn dev_cbke_004(ctx: &mut Ctx) -> Outcome {
    run_joined(ctx, &cbke_network("3m", Some("silent")))?;
    let sent = from_dut(ctx);
    let Some(&(asked, _)) = sent
        .iter()
        .find(|(_, c)| matches!(c, Command::EphemeralDataRequest(_)))
    else {
        return Err(fail(
            "the DUT sent no Ephemeral Data Request",
            "Ephemeral Data Request",
            format!("{:?}", terminates(&sent)),
        ));
    };
    // What the ESI advertised in its Initiate Response.
    let advertised = from_rig(ctx)
        .iter()
        .find_map(|(_, c)| match c {
            Command::InitiateKeyEstablishmentResponse(r) => Some(r.ephemeral_data_generate_time),
            _ => None,
        })
        .unwrap_or_default();
    let again = initiates(&sent).into_iter().find(|t| *t > asked);
    let waited = again.map(|t| seconds(asked, t));
    let slack = ctx.tolerance_s as f64;
    check(
        waited.is_some_and(|w| w + slack >= f64::from(advertised) && w <= 120.0 + slack),
        "the DUT did not give up on the silent ESI and start again in time",
        format!(
            "a new Initiate KE Request {advertised} s to 120 s after its Ephemeral Data Request"
        ),
        match waited {
            Some(w) => format!("a new Initiate KE Request after {w:.1} s"),
            None => "no new Initiate KE Request".to_string(),
        },
    )
}

fn dev_cbke_005(ctx: &mut Ctx) -> Outcome {
    run_joined(ctx, &cbke_network("3m", Some("busy")))?;
    let rig = from_rig(ctx);
    let Some(&(refused_at, _, wait)) = terminates(&rig).first() else {
        return Err(crate::ctx::CaseError::Rig(
            "the rig's ESI sent no Terminate (busy)".into(),
        ));
    };
    let again = initiates(&from_dut(ctx))
        .into_iter()
        .find(|t| *t > refused_at);
    let waited = again.map(|t| seconds(refused_at, t));
    let slack = ctx.tolerance_s as f64;
    let wait = f64::from(wait);
    check(
        waited.is_some_and(|w| w + slack >= wait && w <= wait + 60.0 + slack),
        "the DUT did not wait the Terminate's wait time before trying again",
        format!(
            "the next Initiate KE Request {BUSY_WAIT_S} s to {} s after the Terminate",
            u64::from(BUSY_WAIT_S) + 60
        ),
        match waited {
            Some(w) => format!("the next Initiate KE Request after {w:.1} s"),
            None => "no new Initiate KE Request".to_string(),
        },
    )?;
    check(
        rig.iter()
            .any(|(t, c)| *t > refused_at && matches!(c, Command::ConfirmKeyDataResponse(_))),
        "the exchange after the wait did not complete",
        "a Confirm Key Data Response from the ESI after the retry",
        format!("{} Key Establishment frame(s) from the ESI", rig.len()),
    )
}
