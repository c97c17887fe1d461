//! Time, Basic, and the Default Response policy.

use hanrig_sep::clusters::{basic, drlc as sep_drlc, messaging as sep_messaging, time};
use hanrig_sep::zcl::general::DataType;

use super::{
    IHD, PCT, RIG_JOINED, answered_default, ihd, network, pct, read, read_record, run_joined, send,
};
use crate::cases::{Case, case};
use crate::ctx::{Ctx, Outcome, check, start_us};

pub(super) static CASES: &[Case] = &[
    case!(
        "MET-TIME-001",
        Meter,
        Meter,
        "Serves its time",
        "ZCL Time cluster 0x000A attribute 0x0000",
        RIG_JOINED,
        ["Read Time at 14:00:30"],
        "On the air: UTCTime of 14:00:30",
        met_time_001
    ),
    case!(
        "MET-TIME-002",
        Meter,
        Meter,
        "TimeStatus says master and synchronised",
        "ZCL Time 0x0001",
        RIG_JOINED,
        ["Read TimeStatus"],
        "On the air: bits 0 and 1 set",
        met_time_002
    ),
    case!(
        "MET-BASIC-001",
        Meter,
        Meter,
        "Serves Basic attributes",
        "ZCL Basic 0x0000",
        RIG_JOINED,
        ["Read ZCLVersion, ManufacturerName, ModelIdentifier"],
        "On the air: SUCCESS; char strings",
        met_basic_001
    ),
    case!(
        "MET-GEN-001",
        Meter,
        Meter,
        "Answers commands without a response of their own with Default Response SUCCESS",
        "ZCL Default Response (Disable Default Response clear)",
        RIG_JOINED,
        [
            "The display sends Message Confirmation for message 1",
            "The thermostat sends Report Event Status for event 1"
        ],
        "On the air: Default Response SUCCESS to each, with its command ID and TSN — no error",
        met_gen_001
    ),
];

fn met_time_001(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1m");
    read(&mut net, "30s", PCT.0, time::CLUSTER_ID, &[0x0000]);
    run_joined(ctx, &net)?;
    let r = read_record(ctx, pct(), time::CLUSTER_ID, 0x0000)?;
    let expected = start_us() / 1_000_000 + 30 - 946_684_800;
    check(
        r.value
            .as_ref()
            .is_some_and(|v| v.data_type == DataType::UtcTime && v.as_u64() == Some(expected)),
        "Time is wrong",
        format!("UTCTime {expected}"),
        format!("{r:?}"),
    )
}

fn met_time_002(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1m");
    read(&mut net, "30s", PCT.0, time::CLUSTER_ID, &[0x0001]);
    run_joined(ctx, &net)?;
    let r = read_record(ctx, pct(), time::CLUSTER_ID, 0x0001)?;
    let bits = r.value.as_ref().and_then(|v| v.as_u64()).unwrap_or(0);
    check(
        bits & 0x03 == 0x03,
        "TimeStatus does not say master and synchronised",
        "bits 0 and 1 set",
        format!("{r:?}"),
    )
}

fn met_basic_001(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1m");
    read(
        &mut net,
        "30s",
        PCT.0,
        basic::CLUSTER_ID,
        &[0x0000, 0x0004, 0x0005],
    );
    run_joined(ctx, &net)?;
    let v = read_record(ctx, pct(), basic::CLUSTER_ID, 0x0000)?;
    let m = read_record(ctx, pct(), basic::CLUSTER_ID, 0x0004)?;
    check(
        u8::from(v.status) == 0
            && m.value
                .as_ref()
                .is_some_and(|x| x.data_type == DataType::CharString),
        "Basic attributes missing",
        "ZCLVersion and ManufacturerName (char string)",
        format!("{v:?} {m:?}"),
    )
}

fn met_gen_001(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1m");
    send(
        &mut net,
        "30s",
        IHD.0,
        sep_messaging::CLUSTER_ID,
        "{ name = \"message_confirmation\", message_id = 1, confirmation_time = 0 }",
    );
    send(
        &mut net,
        "40s",
        PCT.0,
        sep_drlc::CLUSTER_ID,
        "{ name = \"report_event_status\", issuer_event_id = 1, event_status = 1, event_status_time = 0, criticality_level_applied = 1, cooling_temperature_set_point_applied = 32768, heating_temperature_set_point_applied = 32768, average_load_adjustment_percentage_applied = -128, duty_cycle_applied = 255, event_control = 0, signature_type = 0, signature = \"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\" }",
    );
    run_joined(ctx, &net)?;
    answered_default(ctx, ihd(), sep_messaging::CLUSTER_ID, 0x01, 0x00)?;
    answered_default(ctx, pct(), sep_drlc::CLUSTER_ID, 0x00, 0x00)
}
