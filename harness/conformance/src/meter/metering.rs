//! Metering server: attribute types and values, the summation following the load, Get Profile.

use hanrig_sep::clusters::metering::{self as sep_metering, GetProfileResponse};
use hanrig_sep::zcl::command::Command;
use hanrig_sep::zcl::general::{DataType, ReadAttributeStatus};

use super::{PCT, RIG_JOINED, commands, network, pct, read, read_record, run_joined, send};
use crate::cases::{Case, case};
use crate::ctx::{CaseError, Ctx, Outcome, check, fail};

pub(super) static CASES: &[Case] = &[
    case!(
        "MET-MET-001",
        Meter,
        Meter,
        "CurrentSummationDelivered is a uint48",
        "SE 1.0 Metering 0x0000",
        RIG_JOINED,
        ["Read 0x0000"],
        "On the air: SUCCESS, type 0x25",
        met_met_001
    ),
    case!(
        "MET-MET-002",
        Meter,
        Meter,
        "InstantaneousDemand is an int24 of the load",
        "SE 1.0 Metering 0x0400",
        RIG_JOINED,
        ["Read 0x0400 at 14:00:30"],
        "On the air: int24 1500",
        met_met_002
    ),
    case!(
        "MET-MET-003",
        Meter,
        Meter,
        "Formatting attributes have their types and sound values",
        "SE 1.0 Metering 0x0300–0x0303",
        RIG_JOINED,
        ["Read 0x0300–0x0303"],
        "On the air: UnitOfMeasure enum8, Multiplier and Divisor uint24 (both ≠ 0), SummationFormatting bitmap8",
        met_met_003
    ),
    case!(
        "MET-MET-004",
        Meter,
        Meter,
        "The summation follows the load",
        "SE 1.0 CurrentSummationDelivered",
        "Load 1.5 kW from 14:00 to 15:00, 1 kW after.",
        ["Read at 10 s and at 1 h 10 s"],
        "On the air: +1498 Wh (whole Wh)",
        met_met_004
    ),
    case!(
        "MET-MET-005",
        Meter,
        Meter,
        "Answers Get Profile",
        "SE 1.0 Get Profile (0x0702 c→s 0x00)",
        RIG_JOINED,
        ["Get Profile, 4 periods, at 3 h"],
        "On the air: SUCCESS, 4 hourly intervals",
        met_met_005
    ),
    case!(
        "MET-MET-006",
        Meter,
        Meter,
        "Refuses an unsupported attribute",
        "ZCL Read Attributes Response status",
        RIG_JOINED,
        ["Read 0x7777"],
        "On the air: UNSUPPORTED_ATTRIBUTE, no value",
        met_met_006
    ),
    case!(
        "MET-MET-007",
        Meter,
        Meter,
        "Refuses an unsupported interval channel",
        "SE 1.0 Get Profile Response status",
        RIG_JOINED,
        ["Get Profile of channel 1 (received)"],
        "On the air: status 0x02",
        met_met_007
    ),
    case!(
        "MET-MET-008",
        Meter,
        Meter,
        "Get Profile sends the most recent interval first",
        "SE 1.0 Get Profile Response (intervals in reverse chronological order from End Time)",
        "Load 1.5 kW from 14:00 to 15:00, 1 kW otherwise.",
        ["Get Profile, 4 periods, at 17:00"],
        "On the air: End Time 17:00, intervals 1000, 1000, 1500, 1000 Wh (16:00, 15:00, 14:00, 13:00)",
        met_met_008
    ),
];

const METERING: u16 = sep_metering::CLUSTER_ID;

fn record(
    ctx: &mut Ctx,
    attributes: &[u16],
    attribute: u16,
) -> Result<ReadAttributeStatus, CaseError> {
    let mut net = network("1m");
    read(&mut net, "30s", PCT.0, METERING, attributes);
    run_joined(ctx, &net)?;
    read_record(ctx, pct(), METERING, attribute)
}

fn type_of(r: &ReadAttributeStatus) -> Option<DataType> {
    r.value.as_ref().map(|v| v.data_type)
}

fn met_met_001(ctx: &mut Ctx) -> Outcome {
    let r = record(ctx, &[0x0000], 0x0000)?;
    check(
        u8::from(r.status) == 0 && type_of(&r) == Some(DataType::Uint48),
        "CurrentSummationDelivered is not a uint48",
        "status SUCCESS, type 0x25",
        format!("{r:?}"),
    )
}

fn met_met_002(ctx: &mut Ctx) -> Outcome {
    let r = record(ctx, &[0x0400], 0x0400)?;
    let value = r.value.as_ref().and_then(|v| match v.value {
        hanrig_sep::zcl::general::Value::Signed(s) => Some(s),
        _ => None,
    });
    check(
        type_of(&r) == Some(DataType::Int24) && value == Some(1500),
        "InstantaneousDemand wrong",
        "int24 (0x2A) 1500 W at 14:00",
        format!("{r:?}"),
    )
}

fn met_met_003(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1m");
    read(
        &mut net,
        "30s",
        PCT.0,
        METERING,
        &[0x0301, 0x0302, 0x0303, 0x0300],
    );
    run_joined(ctx, &net)?;
    let m = read_record(ctx, pct(), METERING, 0x0301)?;
    let d = read_record(ctx, pct(), METERING, 0x0302)?;
    let f = read_record(ctx, pct(), METERING, 0x0303)?;
    let u = read_record(ctx, pct(), METERING, 0x0300)?;
    let nonzero =
        |r: &ReadAttributeStatus| r.value.as_ref().and_then(|v| v.as_u64()).unwrap_or(0) > 0;
    check(
        type_of(&m) == Some(DataType::Uint24)
            && type_of(&d) == Some(DataType::Uint24)
            && type_of(&f) == Some(DataType::Bitmap8)
            && type_of(&u) == Some(DataType::Enum8)
            && nonzero(&m)
            && nonzero(&d),
        "formatting attributes have wrong types or values",
        "Multiplier and Divisor uint24 (0x22, both ≠ 0), SummationFormatting bitmap8 (0x18), UnitOfMeasure enum8 (0x30)",
        format!("{m:?} {d:?} {f:?} {u:?}"),
    )
}

fn met_met_004(ctx: &mut Ctx) -> Outcome {
    let mut net = network("71m");
    read(&mut net, "10s", PCT.0, METERING, &[0x0000]);
    read(&mut net, "1h10s", PCT.0, METERING, &[0x0000]);
    run_joined(ctx, &net)?;
    let values: Vec<u64> = super::from_dut(
        ctx,
        pct(),
        METERING,
        hanrig_sep::zcl::header::FrameType::General,
        hanrig_sep::zcl::general::command_id::READ_ATTRIBUTES_RESPONSE,
    )?
    .into_iter()
    .filter_map(|(_, f)| match &f.command {
        Command::ReadAttributesResponse(r) => r
            .records
            .iter()
            .find(|rec| rec.attribute == 0)
            .and_then(|rec| rec.value.as_ref().and_then(|v| v.as_u64())),
        _ => None,
    })
    .collect();
    let grew = values.windows(2).last().map(|w| w[1].saturating_sub(w[0]));
    // 1.5 kW from 14:00:10 to 15:00:00 and 1 kW to 15:00:10: 1495.8 + 2.8 Wh; the summation
    // counts whole Wh from 14:00 (4 Wh at 14:00:10, 1502 Wh at 15:00:10).
    check(
        grew == Some(1498),
        "the summation did not follow the load",
        "+1498 Wh between 14:00:10 and 15:00:10",
        format!("{values:?}"),
    )
}

fn profile(ctx: &mut Ctx, channel: u8, periods: u8) -> Result<GetProfileResponse, CaseError> {
    let mut net = network("3h1m");
    send(
        &mut net,
        "3h",
        PCT.0,
        METERING,
        &format!(
            "{{ name = \"get_profile\", interval_channel = {channel}, end_time = 0, number_of_periods = {periods} }}"
        ),
    );
    run_joined(ctx, &net)?;
    commands(ctx, pct(), METERING, 0x00)?
        .into_iter()
        .find_map(|(_, f)| match &f.command {
            Command::GetProfileResponse(p) => Some(p.clone()),
            _ => None,
        })
        .ok_or_else(|| {
            fail(
                "no Get Profile Response",
                "Get Profile Response",
                "nothing on the air",
            )
        })
}

fn met_met_005(ctx: &mut Ctx) -> Outcome {
    let p = profile(ctx, 0, 4)?;
    check(
        u8::from(p.status) == 0
            && p.number_of_periods_delivered == 4
            && p.intervals.iter().count() == 4
            && p.profile_interval_period == 1,
        "Get Profile not answered as asked",
        "status SUCCESS, 4 hourly intervals",
        format!("{p:?}"),
    )
}

fn met_met_006(ctx: &mut Ctx) -> Outcome {
    let r = record(ctx, &[0x7777], 0x7777)?;
    check(
        u8::from(r.status) == 0x86 && r.value.is_none(),
        "an unsupported attribute was not refused",
        "status UNSUPPORTED_ATTRIBUTE (0x86), no value",
        format!("{r:?}"),
    )
}

fn met_met_007(ctx: &mut Ctx) -> Outcome {
    let p = profile(ctx, 1, 2)?;
    check(
        u8::from(p.status) == 2,
        "an unsupported interval channel was not refused",
        "status 0x02 (interval channel not supported)",
        format!("{p:?}"),
    )
}

fn met_met_008(ctx: &mut Ctx) -> Outcome {
    let p = profile(ctx, 0, 4)?;
    let intervals: Vec<u32> = p.intervals.iter().map(|i| i.0).collect();
    let end = crate::ctx::start_us() / 1_000_000 + 3 * 3600;
    check(
        p.end_time.to_unix() == end && intervals == [1000, 1000, 1500, 1000],
        "Get Profile intervals are not most recent first",
        format!("End Time {end} (17:00), intervals [1000, 1000, 1500, 1000]"),
        format!("End Time {}, intervals {intervals:?}", p.end_time.to_unix()),
    )
}
