//! The meter suite: the rig plays in-home devices — a display and a thermostat — against a
//! meter under test. One module per cluster, each case's catalogue row beside its body.
//!
//! Verdicts come from the air: what the DUT meter sends the rig's devices (Association
//! Responses, Transport Keys, ZCL frames), opened with the devices' keys and decoded with
//! `hanrig-sep`. The rig's devices send with Disable Default Response clear, so a meter that
//! takes a command without a response of its own must answer Default Response SUCCESS (ZCL; the
//! EmberZNet reference servers do): that is how "took it" is observed.

mod cbke;
mod drlc;
mod general;
mod messaging;
mod metering;
mod price;
mod trust;

use hanrig_scenario::scenario::{Action, DeviceSpec, MeterSpec, Scenario, ZclStep};
use hanrig_sep::zcl::command::Command;
use hanrig_sep::zcl::general::{DefaultResponse, ReadAttributeStatus, command_id as general_id};
use hanrig_sep::zcl::header::FrameType;
use hanrig_sep::{Direction, Eui64};

use super::air::{Heard, Zcl};
use super::cases::Case;
pub(super) use super::ctx::at;
use super::ctx::{CaseError, Ctx, Outcome, case_network, check, fail};
use super::judge::{hex, secs};

/// The meter suite, cluster by cluster.
pub fn cases() -> impl Iterator<Item = &'static Case> {
    [
        trust::CASES,
        cbke::CASES,
        price::CASES,
        messaging::CASES,
        drlc::CASES,
        metering::CASES,
        general::CASES,
    ]
    .into_iter()
    .flatten()
}

const RIG_JOINED: &str =
    "The rig's display and thermostat have joined the DUT meter with their install codes.";

/// The rig's display and thermostat, as the meter's installer provisioned them.
const IHD: (&str, &str, &str) = (
    "rig-ihd",
    "00:12:4b:00:01:02:03:04",
    "83FED3407A939723A5C639B26916D505C3B5",
);
const PCT: (&str, &str, &str) = ("rig-pct", "00:12:4b:00:01:02:03:05", "11223344556677884AF7");

fn eui(text: &str) -> Eui64 {
    text.parse().unwrap_or(Eui64(0))
}

/// The rig's display.
fn ihd() -> Eui64 {
    eui(IHD.1)
}

/// The rig's thermostat.
fn pct() -> Eui64 {
    eui(PCT.1)
}

fn rig_device(name: &str, kind: &str, eui64: &str, install_code: &str) -> DeviceSpec {
    DeviceSpec {
        name: name.into(),
        kind: kind.into(),
        eui64: eui64.into(),
        install_code: install_code.into(),
        meter: "dut".into(),
        ..DeviceSpec::default()
    }
}

/// A meter test network: the DUT meter (summation 123.456 kWh, load 1.5 kW in hour 14 and 1 kW
/// otherwise) with the rig's display and thermostat joining at once by install code.
fn network(duration: &str) -> Scenario {
    let mut load = vec![1000; 24];
    load[14] = 1500;
    case_network(
        duration,
        vec![MeterSpec {
            name: "dut".into(),
            eui64: "00:0d:6f:00:0a:bc:de:f0".into(),
            pan: 0x1a62,
            channel: 15,
            summation_wh: 123_456,
            load_w: load,
            ..MeterSpec::default()
        }],
        vec![
            rig_device(IHD.0, "in-home-display", IHD.1, IHD.2),
            rig_device(PCT.0, "thermostat", PCT.1, PCT.2),
        ],
    )
}

/// A further rig device, joining at `join_at`.
fn late(name: &str, kind: &str, eui64: &str, join_at: &str) -> DeviceSpec {
    DeviceSpec {
        join_at: join_at.into(),
        ..rig_device(name, kind, eui64, "83FED3407A939723A5C639FF4C12")
    }
}

/// A rig device sends the DUT a ZCL command, written in the JSON form of `hanrig zcl` as a
/// TOML inline table (`{ name = "get_last_message" }`).
fn send(scenario: &mut Scenario, when: &str, device: &str, cluster: u16, command: &str) {
    let command = toml::from_str::<toml::Table>(&format!("c = {command}"))
        .ok()
        .and_then(|mut t| t.remove("c"))
        .unwrap_or(toml::Value::Boolean(false));
    at(
        scenario,
        when,
        Action::SendZcl(ZclStep {
            device: device.into(),
            cluster,
            command,
        }),
    );
}

/// A rig device reads attributes of the DUT.
fn read(scenario: &mut Scenario, when: &str, device: &str, cluster: u16, attributes: &[u16]) {
    let list: Vec<String> = attributes.iter().map(u16::to_string).collect();
    send(
        scenario,
        when,
        device,
        cluster,
        &format!(
            "{{ name = \"read_attributes\", attributes = [{}] }}",
            list.join(", ")
        ),
    );
}

/// Runs the network; the rig's display and thermostat must have joined — each sent a frame
/// secured with the network key the DUT gave it.
fn run_joined(ctx: &mut Ctx, scenario: &Scenario) -> Outcome {
    ctx.run_scenario(scenario)?;
    for (name, who) in [(IHD.0, ihd()), (PCT.0, pct())] {
        check(
            ctx.air.rig_holds_network_key(who),
            &format!("the rig's {name} could not join the DUT meter"),
            format!("{name} admitted: a frame from it under the network key"),
            "none",
        )?;
    }
    Ok(())
}

/// Decoded frames the DUT sent `rig` on `cluster` whose header is `frame_type`/`command_id`
/// server→client, in time order; a frame that deviates from the spec fails naming the
/// deviation.
fn from_dut(
    ctx: &Ctx,
    rig: Eui64,
    cluster: u16,
    frame_type: FrameType,
    command_id: u8,
) -> Result<Vec<(&Heard, &hanrig_sep::ZclFrame)>, CaseError> {
    ctx.air
        .dut_to(rig)
        .filter(|(_, z)| {
            z.cluster == cluster
                && z.header.is_some_and(|h| {
                    h.frame_type == frame_type
                        && h.command_id == command_id
                        && h.direction == Direction::ServerToClient
                })
        })
        .map(|(h, z): (&Heard, &Zcl)| match &z.frame {
            Ok(f) => {
                ctx.judge(h, f.command.name());
                Ok((h, f))
            }
            Err(e) => Err(fail(
                format!(
                    "the DUT's frame (cluster {cluster:#06x}, command {command_id:#04x}) at {} s deviates from the spec: {e}",
                    secs(h)
                ),
                "a well-formed frame",
                format!("{} bytes: {}", z.bytes.len(), hex(&z.bytes)),
            )),
        })
        .collect()
}

/// The cluster-specific commands `command_id` of `cluster` the DUT sent `rig`.
fn commands(
    ctx: &Ctx,
    rig: Eui64,
    cluster: u16,
    command_id: u8,
) -> Result<Vec<(&Heard, &hanrig_sep::ZclFrame)>, CaseError> {
    from_dut(ctx, rig, cluster, FrameType::ClusterSpecific, command_id)
}

/// The Default Responses the DUT sent `rig` on `cluster`, with their TSN.
fn default_responses(
    ctx: &Ctx,
    rig: Eui64,
    cluster: u16,
) -> Result<Vec<(u64, u8, DefaultResponse)>, CaseError> {
    Ok(from_dut(
        ctx,
        rig,
        cluster,
        FrameType::General,
        general_id::DEFAULT_RESPONSE,
    )?
    .into_iter()
    .filter_map(|(h, f)| match &f.command {
        Command::DefaultResponse(d) => Some((secs(h), f.header.tsn, d.clone())),
        _ => None,
    })
    .collect())
}

/// The TSNs of the commands `command_id` of `cluster` `rig` sent the DUT.
fn requests(ctx: &Ctx, rig: Eui64, cluster: u16, command_id: u8) -> Vec<u8> {
    ctx.air
        .frames
        .iter()
        .filter(|h| h.from == super::air::Party::Rig(rig) && h.to == super::air::Party::Dut)
        .filter_map(|h| h.zcl())
        .filter(|z| z.cluster == cluster)
        .filter_map(|z| z.header)
        .filter(|h| h.command_id == command_id && h.direction == Direction::ClientToServer)
        .map(|h| h.tsn)
        .collect()
}

/// The DUT must have answered each of `rig`'s commands `command_id` on `cluster` with a Default
/// Response of `status` for that command and TSN.
fn answered_default(ctx: &Ctx, rig: Eui64, cluster: u16, command_id: u8, status: u8) -> Outcome {
    let asked = requests(ctx, rig, cluster, command_id);
    if asked.is_empty() {
        return Err(CaseError::Rig(format!(
            "the rig sent no command {command_id:#04x} on cluster {cluster:#06x}"
        )));
    }
    let answers = default_responses(ctx, rig, cluster)?;
    for tsn in &asked {
        check(
            answers.iter().any(|(_, t, d)| {
                t == tsn && d.command_id == command_id && u8::from(d.status) == status
            }),
            "a command was not answered with the Default Response ZCL requires",
            format!(
                "Default Response (command {command_id:#04x}, status {status:#04x}) with TSN {tsn}"
            ),
            format!(
                "{:?}",
                answers
                    .iter()
                    .map(|(t, tsn, d)| format!(
                        "at {t} s TSN {tsn}: command {:#04x} status {:#04x}",
                        d.command_id,
                        u8::from(d.status)
                    ))
                    .collect::<Vec<_>>()
            ),
        )?;
    }
    Ok(())
}

/// The record for `attribute` in the last Read Attributes Response the DUT sent `rig` on
/// `cluster`.
fn read_record(
    ctx: &Ctx,
    rig: Eui64,
    cluster: u16,
    attribute: u16,
) -> Result<ReadAttributeStatus, CaseError> {
    from_dut(
        ctx,
        rig,
        cluster,
        FrameType::General,
        general_id::READ_ATTRIBUTES_RESPONSE,
    )?
    .iter()
    .rev()
    .filter_map(|(_, f)| match &f.command {
        Command::ReadAttributesResponse(r) => Some(r.records.iter().collect::<Vec<_>>()),
        _ => None,
    })
    .flatten()
    .find(|r| r.attribute == attribute)
    .ok_or_else(|| {
        fail(
            format!("no record of attribute {attribute:#06x} in a Read Attributes Response"),
            "a Read Attributes Response record",
            "none on the air",
        )
    })
}
