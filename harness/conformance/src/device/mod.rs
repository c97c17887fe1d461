//! The device suite: the rig plays the meter's ESI for an in-home device under test. One
//! module per cluster, each case's catalogue row beside its body.
//!
//! Every verdict here comes from what the rig observes: frames on the air, opened with the
//! keys the rig holds as trust centre and decoded with `hanrig-sep` ([`crate::air::Air`]), and
//! instrument probes ([`crate::instrument::Probe`]: the relay's output line, an operator looking
//! at the display). Nothing reads the DUT's own state, so each case means the same on a lab rig
//! with a real device.

mod basic;
mod cbke;
mod drlc;
mod join;
mod messaging;
mod metering;
mod price;

use hanrig_scenario::scenario::{
    CancelEventStep, DeviceSpec, EventStep, MeterSpec, Scenario, UserEventStep, UserMessageStep,
};
pub(super) use hanrig_scenario::scenario::{MessageStep, PriceStep};
use hanrig_sep::Direction;
use hanrig_sep::clusters::drlc::{self as sep_drlc, EventStatus, ReportEventStatus, SignatureType};
use hanrig_sep::zcl::command::Command;

pub(super) use super::air::{Heard, Zcl};
use super::cases::Case;
pub(super) use super::ctx::at;
use super::ctx::{CaseError, Ctx, Outcome, case_network, check, fail};
pub(super) use super::judge::{check_time, hex, secs};

/// The device suite, cluster by cluster.
pub fn cases() -> impl Iterator<Item = &'static Case> {
    [
        join::CASES,
        basic::CASES,
        price::CASES,
        messaging::CASES,
        drlc::CASES,
        metering::CASES,
        cbke::CASES,
    ]
    .into_iter()
    .flatten()
}

/// The rig's ESI.
const RIG: &str = "rig-esi";

const JOINED: &str = "The DUT has joined the rig's network with its install code.";
const DRLC: &str =
    "SE 1.0 DRLC client rules (sep1-wire-facts §2, EmberZNet reference client of 075356r15)";

/// A probe time just before moment `t` (seconds from the start), the rig's tolerance allowed.
fn before(ctx: &Ctx, t: u64) -> f64 {
    t as f64 - 1.0 - ctx.tolerance_s as f64
}

/// A probe time just after moment `t`, the rig's tolerance allowed.
fn after(ctx: &Ctx, t: u64) -> f64 {
    t as f64 + 1.0 + ctx.tolerance_s as f64
}
/// The DUT's EUI64 and install code, as an operator enters them in a lab rig's file.
const DUT_EUI64: &str = "00:12:4b:00:01:02:03:04";
const DUT_INSTALL_CODE: &str = "83FED3407A939723A5C639B26916D505C3B5";

/// A device test network: the rig's ESI (summation 123.456 kWh, 1.5 kW) and the DUT of `kind`,
/// joining at once with its install code, for `duration`.
fn network(kind: &str, duration: &str) -> Scenario {
    case_network(
        duration,
        vec![MeterSpec {
            name: RIG.into(),
            eui64: "00:0d:6f:00:0a:bc:de:f0".into(),
            pan: 0x1a62,
            channel: 15,
            summation_wh: 123_456,
            load_w: vec![1500],
            ..MeterSpec::default()
        }],
        vec![DeviceSpec {
            name: "dut".into(),
            kind: kind.into(),
            eui64: DUT_EUI64.into(),
            install_code: DUT_INSTALL_CODE.into(),
            meter: RIG.into(),
            ..DeviceSpec::default()
        }],
    )
}

/// The DUT's entry of a network.
fn dut(scenario: &mut Scenario) -> &mut DeviceSpec {
    &mut scenario.devices[0]
}

/// A Load Control Event from the rig's ESI.
fn event(issuer_event_id: u32, duration_minutes: u16) -> EventStep {
    EventStep {
        meter: RIG.into(),
        issuer_event_id,
        duration_minutes,
        ..EventStep::default()
    }
}

/// A Cancel Load Control Event from the rig's ESI.
fn cancel(issuer_event_id: u32) -> CancelEventStep {
    CancelEventStep {
        meter: RIG.into(),
        issuer_event_id,
        ..CancelEventStep::default()
    }
}

/// The price every price case publishes: 0.1250 (four trailing digits), tier 2.
fn price(issuer_event_id: u32) -> PriceStep {
    PriceStep {
        meter: RIG.into(),
        issuer_event_id,
        price: 1250,
        trailing_digits: 4,
        tier: 2,
        rate_label: "TOU peak".into(),
        ..PriceStep::default()
    }
}

/// How a display shows [`price`].
const PRICE_SHOWN: &str = "0.1250 tier 2";

/// A text message from the rig's ESI: `Message {id}`.
fn message(message_id: u32) -> MessageStep {
    MessageStep {
        meter: RIG.into(),
        message_id,
        text: format!("Message {message_id}"),
        start_in: None,
        duration_minutes: None,
        confirm: false,
        importance: 0,
    }
}

/// The user opts out of (or back in to) an event at the DUT.
fn user_event(issuer_event_id: u32) -> UserEventStep {
    UserEventStep {
        device: "dut".into(),
        issuer_event_id,
    }
}

/// The user confirms a message at the DUT.
fn user_message(message_id: u32) -> UserMessageStep {
    UserMessageStep {
        device: "dut".into(),
        message_id,
    }
}

/// Runs the network, requires the DUT to have joined — it sent a frame secured with the network
/// key — and every instrument probe to hold.
fn run_joined(ctx: &mut Ctx, scenario: &Scenario) -> Outcome {
    ctx.run_scenario(scenario)?;
    if let Some(h) = ctx.air.first_network_frame(super::air::Party::Dut) {
        ctx.judge(h, "the DUT's first frame under the network key (joined)");
    }
    check(
        ctx.air.dut_holds_network_key(),
        "the DUT did not join",
        "a frame from the DUT secured with the network key",
        "none",
    )?;
    ctx.probes_hold()
}

/// The commands of `cluster` the DUT sent, decoded; a frame whose bytes deviate from SE 1.0 is a
/// failure naming the deviation.
fn dut_sent<'a>(
    ctx: &'a Ctx,
    cluster: u16,
    command_id: u8,
    name: &str,
) -> Result<Vec<(&'a Heard, &'a Zcl, &'a Command)>, CaseError> {
    ctx.air
        .dut_commands(cluster, Direction::ClientToServer, command_id)
        .map(|(h, z)| match &z.frame {
            Ok(f) => {
                ctx.judge(h, name);
                Ok((h, z, &f.command))
            }
            Err(e) => Err(fail(
                format!(
                    "the DUT's {name} at {} s deviates from SE 1.0: {e}",
                    secs(h)
                ),
                format!("a well-formed {name}"),
                format!("{} bytes: {}", z.bytes.len(), hex(&z.bytes)),
            )),
        })
        .collect()
}

/// The Load Control Event with `issuer_event_id` the rig sent the DUT first.
fn event_sent(ctx: &Ctx, issuer_event_id: u32) -> Option<sep_drlc::LoadControlEvent> {
    ctx.air.to_dut().find_map(|(_, z)| match &z.frame {
        Ok(f) => match &f.command {
            Command::LoadControlEvent(e) if e.issuer_event_id == issuer_event_id => Some(e.clone()),
            _ => None,
        },
        Err(_) => None,
    })
}

/// The DUT's Report Event Status frames for `issuer_event_id`, as (status, seconds from the
/// start), each checked field by field: Event Status Time names the moment of sending (2000
/// epoch); a report on an event the DUT holds echoes the event's criticality level, set points,
/// load adjustment, duty cycle and event control ("not used" sentinels included), as the
/// EmberZNet reference client does; the signature type is none (0x00) or ECDSA (0x01). Every
/// Report Event Status the DUT sent must decode, whichever event it names.
fn reports(ctx: &Ctx, issuer_event_id: u32) -> Result<Vec<(EventStatus, u64)>, CaseError> {
    let mut out = Vec::new();
    for (h, _, command) in dut_sent(ctx, sep_drlc::CLUSTER_ID, 0x00, "Report Event Status")? {
        let Command::ReportEventStatus(r) = command else {
            continue;
        };
        if r.issuer_event_id != issuer_event_id {
            continue;
        }
        check_report(ctx, r, h)?;
        out.push((r.event_status, secs(h)));
    }
    Ok(out)
}

fn check_report(ctx: &Ctx, r: &ReportEventStatus, h: &Heard) -> Outcome {
    let at = secs(h);
    let what = format!(
        "Report Event Status {} ({:#04x}) for event {} at {at} s",
        r.event_status.name().unwrap_or("reserved"),
        u8::from(r.event_status),
        r.issuer_event_id
    );
    check_time(
        ctx,
        &format!("{what}: Event Status Time"),
        r.event_status_time,
        h,
    )?;
    check(
        matches!(r.signature_type, SignatureType::None | SignatureType::Ecdsa),
        &format!("{what}: Signature Type is neither none (0x00) nor ECDSA (0x01)"),
        "0x00 or 0x01",
        format!("{:#04x}", u8::from(r.signature_type)),
    )?;
    // A rejected cancel of an event the DUT never held has no event fields to echo.
    if matches!(
        r.event_status,
        EventStatus::RejectedUndefinedEvent | EventStatus::RejectedInvalidCancel
    ) {
        return Ok(());
    }
    let Some(e) = event_sent(ctx, r.issuer_event_id) else {
        return Err(fail(
            format!("{what}: the rig never sent that event"),
            "a report on an event the rig sent",
            format!("event {}", r.issuer_event_id),
        ));
    };
    let echo = [
        (
            "Criticality Level Applied",
            u16::from(u8::from(r.criticality_level_applied)),
            u16::from(u8::from(e.criticality_level)),
        ),
        (
            "Cooling Temperature Set Point Applied",
            r.cooling_temperature_set_point_applied,
            e.cooling_temperature_set_point as u16,
        ),
        (
            "Heating Temperature Set Point Applied",
            r.heating_temperature_set_point_applied,
            e.heating_temperature_set_point as u16,
        ),
        (
            "Average Load Adjustment Percentage Applied",
            u16::from(r.average_load_adjustment_percentage_applied as u8),
            u16::from(e.average_load_adjustment_percentage as u8),
        ),
        (
            "Duty Cycle Applied",
            u16::from(r.duty_cycle_applied),
            u16::from(e.duty_cycle),
        ),
        (
            "Event Control",
            u16::from(r.event_control.0),
            u16::from(e.event_control.0),
        ),
    ];
    for (field, got, want) in echo {
        check(
            got == want,
            &format!("{what}: {field} does not echo the event's"),
            format!("{want:#06x}"),
            format!("{got:#06x}"),
        )?;
    }
    Ok(())
}

/// Checks the DUT's reports for `event` on the air: statuses in order, each inside its window
/// (seconds from the start, inclusive; the rig's tolerance added to the upper bound), every
/// field as [`reports`] requires.
fn expect_statuses(ctx: &Ctx, event: u32, want: &[(EventStatus, u64, u64)]) -> Outcome {
    let got = reports(ctx, event)?;
    let slack = ctx.tolerance_s;
    for (status, from, to) in want {
        ctx.window(
            *from,
            to + slack,
            format!("{} of event {event}", status.name().unwrap_or("reserved")),
        );
    }
    let wanted: Vec<String> = want
        .iter()
        .map(|(n, from, to)| {
            format!(
                "{} in [{from}, {}] s",
                n.name().unwrap_or("reserved"),
                to + slack
            )
        })
        .collect();
    let observed: Vec<String> = got
        .iter()
        .map(|(n, t)| {
            format!(
                "{} ({:#04x}) at {t} s",
                n.name().unwrap_or("reserved"),
                u8::from(*n)
            )
        })
        .collect();
    if got.len() != want.len()
        || got
            .iter()
            .zip(want)
            .any(|((n, t), (w, from, to))| n != w || t < from || *t > to + slack)
    {
        return Err(fail(
            format!("Report Event Status for event {event} not as required"),
            wanted.join(", "),
            if observed.is_empty() {
                "no report".into()
            } else {
                observed.join(", ")
            },
        ));
    }
    Ok(())
}

/// The time at which the DUT reported `status` for `event`.
fn time_of(list: &[(EventStatus, u64)], status: EventStatus) -> Option<u64> {
    list.iter().find(|(s, _)| *s == status).map(|(_, t)| *t)
}
