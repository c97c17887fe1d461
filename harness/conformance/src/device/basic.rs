//! Basic and Time: the DUT's own attributes, and its clock taken from the meter.

use hanrig_scenario::scenario::{Action, MeterZclStep};
use hanrig_sep::Direction;
use hanrig_sep::clusters::{basic, time};
use hanrig_sep::zcl::general::{DataType, ReadAttributesResponse, command_id as general};
use hanrig_sep::zcl::header::FrameType;

use super::{JOINED, RIG, at, network, run_joined, secs};
use crate::cases::{Case, case};
use crate::ctx::{Ctx, Outcome, check, fail};
use hanrig_sep::zcl::command::Command;

pub(super) static CASES: &[Case] = &[
    case!(
        "DEV-TIME-001",
        Device,
        Thermostat,
        "Takes its time from the meter",
        "SE 1.0: devices synchronise to the ESI's Time cluster (0x000A)",
        JOINED,
        ["Power the DUT"],
        "On the air: Read Attributes of Time 0x0000 from the DUT after joining",
        dev_time_001
    ),
    case!(
        "DEV-BASIC-001",
        Device,
        Thermostat,
        "Serves its Basic attributes",
        "ZCL Basic cluster 0x0000 (mandatory server); ZCL Read Attributes Response",
        JOINED,
        ["At 30 s the ESI reads ZCLVersion, ManufacturerName, ModelIdentifier"],
        "Read Attributes Response with the request's TSN, server→client: SUCCESS records in the order asked — uint8, char string, char string",
        dev_basic_001
    ),
    case!(
        "DEV-BASIC-002",
        Device,
        Thermostat,
        "Refuses an unsupported Basic attribute",
        "ZCL Read Attributes Response status",
        JOINED,
        ["At 30 s the ESI reads attribute 0x4000"],
        "Read Attributes Response with the request's TSN: attribute 0x4000, UNSUPPORTED_ATTRIBUTE (0x86), no value",
        dev_basic_002
    ),
];

fn dev_time_001(ctx: &mut Ctx) -> Outcome {
    run_joined(ctx, &network("thermostat", "1m"))?;
    let asks_time = ctx.air.from_dut().any(|(_, z)| {
        z.cluster == time::CLUSTER_ID
            && matches!(&z.frame, Ok(f) if matches!(&f.command,
                Command::ReadAttributes(r) if r.attributes.iter().any(|a| a == time::attribute::TIME)))
    });
    check(
        asks_time,
        "the DUT did not take its time from the meter",
        "Read Attributes of Time (0x000A) attribute 0x0000 after joining",
        "no Time read on the air",
    )
}

/// Runs the ESI's read of `attributes` of the DUT's Basic cluster at 30 s; returns the read's
/// TSN and the DUT's answer, checked against the request's TSN and direction.
fn basic_read(
    ctx: &mut Ctx,
    attributes: &[u16],
) -> Result<ReadAttributesResponse, crate::ctx::CaseError> {
    let mut net = network("thermostat", "1m");
    let list = attributes
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let command: toml::Value = toml::from_str::<toml::Table>(&format!(
        "c = {{ name = \"read_attributes\", attributes = [{list}] }}"
    ))
    .map(|mut t| t.remove("c").unwrap_or(toml::Value::Boolean(false)))
    .map_err(|e| crate::ctx::CaseError::Rig(format!("case: {e}")))?;
    at(
        &mut net,
        "30s",
        Action::SendZclToDevice(MeterZclStep {
            meter: RIG.into(),
            device: "dut".into(),
            cluster: basic::CLUSTER_ID,
            command,
        }),
    );
    run_joined(ctx, &net)?;
    let request = ctx.air.to_dut().find_map(|(_, z)| match &z.frame {
        Ok(f)
            if z.cluster == basic::CLUSTER_ID
                && matches!(f.command, Command::ReadAttributes(_)) =>
        {
            Some(f.header.tsn)
        }
        _ => None,
    });
    let Some(tsn) = request else {
        return Err(crate::ctx::CaseError::Rig(
            "the rig's read of the Basic cluster is not on the air".into(),
        ));
    };
    let answers: Vec<_> = ctx
        .air
        .from_dut()
        .filter(|(_, z)| {
            z.cluster == basic::CLUSTER_ID
                && z.header.is_some_and(|h| {
                    h.frame_type == FrameType::General
                        && h.command_id == general::READ_ATTRIBUTES_RESPONSE
                })
        })
        .collect();
    let Some((h, z)) = answers.first() else {
        return Err(fail(
            "the DUT did not answer Read Attributes on Basic",
            "Read Attributes Response",
            "nothing on the air",
        ));
    };
    let frame = z.frame.as_ref().map_err(|e| {
        fail(
            format!(
                "the DUT's Read Attributes Response at {} s deviates from ZCL: {e}",
                secs(h)
            ),
            "a well-formed Read Attributes Response",
            format!("{} bytes", z.bytes.len()),
        )
    })?;
    check(
        frame.header.tsn == tsn,
        "the Read Attributes Response does not carry the request's TSN",
        format!("TSN {tsn}"),
        format!("TSN {}", frame.header.tsn),
    )?;
    check(
        frame.header.direction == Direction::ServerToClient,
        "the Read Attributes Response is not server→client",
        "direction server→client (the DUT's Basic server answers)",
        "client→server",
    )?;
    match &frame.command {
        Command::ReadAttributesResponse(r) => Ok(r.clone()),
        other => Err(fail(
            "the DUT's answer is not a Read Attributes Response",
            "Read Attributes Response",
            other.name(),
        )),
    }
}

fn dev_basic_001(ctx: &mut Ctx) -> Outcome {
    let asked = [
        basic::attribute::ZCL_VERSION,
        basic::attribute::MANUFACTURER_NAME,
        basic::attribute::MODEL_IDENTIFIER,
    ];
    let response = basic_read(ctx, &asked)?;
    let records: Vec<_> = response.records.iter().collect();
    let got: Vec<(u16, u8, Option<DataType>)> = records
        .iter()
        .map(|r| {
            (
                r.attribute,
                r.status.into(),
                r.value.as_ref().map(|v| v.data_type),
            )
        })
        .collect();
    let ok = records.len() == 3
        && records.iter().zip(asked).all(|(r, a)| r.attribute == a)
        && records.iter().all(|r| u8::from(r.status) == 0)
        && got[0].2 == Some(DataType::Uint8)
        && got[1].2 == Some(DataType::CharString)
        && got[2].2 == Some(DataType::CharString);
    check(
        ok,
        "Basic attributes not served",
        "0x0000 ZCLVersion uint8, 0x0004 ManufacturerName and 0x0005 ModelIdentifier char strings, all SUCCESS",
        format!("{got:?}"),
    )
}

fn dev_basic_002(ctx: &mut Ctx) -> Outcome {
    let response = basic_read(ctx, &[0x4000])?;
    let record = response.records.iter().next();
    check(
        record.as_ref().is_some_and(|r| {
            r.attribute == 0x4000 && u8::from(r.status) == 0x86 && r.value.is_none()
        }),
        "an unsupported Basic attribute was not refused",
        "attribute 0x4000: status UNSUPPORTED_ATTRIBUTE (0x86), no value",
        format!("{record:?}"),
    )
}
