//! The suites: every case with its ID, title, the clause it checks, preconditions, steps,
//! expected frames and timing windows, and the code that runs it on the rig.
//!
//! Clause references: "SE 1.0" is ZigBee Smart Energy 075356r15 as the facts file reads it
//! (`sep1-wire-facts.md`, with the EmberZNet reference client's reading of the DRLC rules);
//! "SMT" is the Smart Meter Texas overview (`smt-overview.txt`). The SE test specification's own
//! case numbers are not public, so IDs are hanrig's.

use super::ctx::*;
use super::e2e::*;
use super::model::{DutKind, Suite};
use std::sync::LazyLock;

use serde_json::Value;

/// A conformance case.
#[derive(Debug)]
pub struct Case {
    /// Identifier.
    pub id: &'static str,
    /// Suite.
    pub suite: Suite,
    /// The DUT it needs.
    pub dut: DutKind,
    /// Title.
    pub title: &'static str,
    /// The clause or source it checks.
    pub clause: &'static str,
    /// Preconditions.
    pub preconditions: &'static str,
    /// Steps.
    pub steps: &'static [&'static str],
    /// Expected frames and timing windows.
    pub expected: &'static str,
    /// Runs it.
    pub run: fn(&mut Ctx) -> Outcome,
}

const RIG_JOINED: &str =
    "The rig's display and thermostat have joined the DUT meter with their install codes.";

fn zcl_step(at: &str, device: &str, cluster: u16, command: &str) -> String {
    format!(
        "[[timeline]]\nat = \"{at}\"\naction = \"send_zcl\"\ndevice = \"{device}\"\ncluster = {cluster}\ncommand = {command}\n"
    )
}

// ----- meter suite -----

fn rig_log<'a>(ctx: &'a Ctx, node: &'a str, event: &'a str) -> Vec<&'a Value> {
    ctx.output
        .as_ref()
        .map(|r| r.log.find(Some(node), event).collect())
        .unwrap_or_default()
}

fn run_meter(ctx: &mut Ctx, meter_extra: &str, rest: &str, duration: &str) -> Outcome {
    ctx.run(&meter_network(meter_extra, rest, duration))?;
    check(
        !rig_log(ctx, "rig-ihd", "joined").is_empty()
            && !rig_log(ctx, "rig-pct", "joined").is_empty(),
        "the rig's devices could not join the DUT meter",
        "rig-ihd and rig-pct joined",
        "not joined",
    )
}

fn meter_step(at: &str, action: &str, fields: &str) -> String {
    format!("[[timeline]]\nat = \"{at}\"\naction = \"{action}\"\nmeter = \"dut\"\n{fields}\n")
}

/// The first ZCL frame `node` received with command `name`.
fn first_received(ctx: &Ctx, node: &str, name: &str) -> Result<Value, CaseError> {
    let run = ctx
        .output
        .as_ref()
        .ok_or_else(|| CaseError::Rig("no run".into()))?;
    received_named(run, node, name)
        .first()
        .map(|v| (*v).clone())
        .ok_or_else(|| fail(format!("no {name} reached {node}"), name, "nothing"))
}

/// The read-attribute record for `attribute` in the last Read Attributes Response `node` got.
fn read_record(ctx: &Ctx, node: &str, attribute: u64) -> Result<Value, CaseError> {
    let run = ctx
        .output
        .as_ref()
        .ok_or_else(|| CaseError::Rig("no run".into()))?;
    let responses = received_named(run, node, "read_attributes_response");
    responses
        .iter()
        .rev()
        .flat_map(|r| {
            r["command"]["records"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .find(|r| r["attribute"] == attribute)
        .ok_or_else(|| {
            fail(
                format!("no record of attribute 0x{attribute:04x}"),
                "a Read Attributes Response record",
                "none",
            )
        })
}

fn met_tc_001(ctx: &mut Ctx) -> Outcome {
    run_meter(ctx, "", "", "1m")
}

fn met_tc_002(ctx: &mut Ctx) -> Outcome {
    let rest = "[[device]]\nname = \"stranger\"\nkind = \"load-control\"\neui64 = \"00:12:4b:00:00:00:99:99\"\ninstall_code = \"83FED3407A939723A5C639FF4C12\"\nmeter = \"dut\"\nprovisioned_install_code = \"none\"\n";
    run_meter(ctx, "", rest, "1m")?;
    let refused = rig_log(ctx, "stranger", "association_refused");
    check(
        refused.first().is_some_and(|r| r["status"] == 2)
            && rig_log(ctx, "stranger", "joined").is_empty(),
        "the trust centre admitted a device it has no install code for",
        "Association Response status 0x02 (access denied), no network key",
        format!("{refused:?}"),
    )
}

fn met_tc_003(ctx: &mut Ctx) -> Outcome {
    let rest = "[[device]]\nname = \"typo\"\nkind = \"load-control\"\neui64 = \"00:12:4b:00:00:00:99:98\"\ninstall_code = \"83FED3407A939723A5C639FF4C12\"\nmeter = \"dut\"\nprovisioned_install_code = \"83FED3407A939723A5C639B269161802AEBB\"\n";
    run_meter(ctx, "", rest, "1m")?;
    check(
        rig_log(ctx, "typo", "joined").is_empty()
            && !rig_log(ctx, "typo", "transport_key_rejected").is_empty(),
        "the network key reached a device under a key other than its install-code key",
        "Transport Key secured under the provisioned code's key: the device cannot open it",
        "the device joined",
    )
}

fn met_tc_004(ctx: &mut Ctx) -> Outcome {
    let rest: String = (0..4)
        .map(|i| format!("[[device]]\nname = \"extra-{i}\"\nkind = \"load-control\"\neui64 = \"00:12:4b:00:00:00:10:0{i}\"\ninstall_code = \"83FED3407A939723A5C639FF4C12\"\nmeter = \"dut\"\njoin_at = \"{}s\"\n", 5 + i))
        .collect();
    run_meter(ctx, "", &rest, "1m")?;
    let refused = rig_log(ctx, "extra-3", "association_refused");
    let joined: usize = (0..3)
        .map(|i| rig_log(ctx, &format!("extra-{i}"), "joined").len())
        .sum();
    check(
        joined == 3 && refused.first().is_some_and(|r| r["status"] == 1),
        "the device limit of 5 was not enforced",
        "5 devices admitted, the 6th refused with status 0x01",
        format!("{joined} extra joined, 6th: {refused:?}"),
    )
}

fn met_tc_005(ctx: &mut Ctx) -> Outcome {
    run_meter(ctx, "device_limit = 2", "", "1m")?;
    check(
        rig_log(ctx, "dut", "join_refused").is_empty(),
        "a configured limit of 2 refused 2 devices",
        "both admitted",
        "a refusal",
    )
}

fn met_price_001(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &(meter_step("30s", "publish_price", "issuer_event_id = 7\nprice = 999")
            + &zcl_step(
                "1m",
                "rig-ihd",
                0x0700,
                "{ name = \"get_current_price\", command_options = 1 }",
            )),
        "2m",
    )?;
    let prices = ctx
        .output
        .as_ref()
        .map(|r| received_named(r, "rig-ihd", "publish_price").len())
        .unwrap_or(0);
    check(
        prices >= 2,
        "Get Current Price was not answered with Publish Price",
        "Publish Price at 30 s and in answer at 60 s",
        format!("{prices} Publish Price"),
    )
}

fn met_price_002(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &meter_step(
            "30s",
            "publish_price",
            "issuer_event_id = 7\nprice = 999\nrate_label = \"peak\"\ntier = 3\ntrailing_digits = 2",
        ),
        "1m",
    )?;
    let p = first_received(ctx, "rig-pct", "publish_price")?;
    let c = &p["command"];
    check(
        c["currency"] == 840
            && c["price_trailing_digit_and_price_tier"] == 0x23
            && c["rate_label"] == "7065616b"
            && c["price"] == 999
            && c["issuer_event_id"] == 7,
        "Publish Price fields are wrong",
        "currency 840, trailing digits 2 / tier 3 (0x23), label 'peak', price 999, issuer event 7",
        c.to_string(),
    )
}

fn met_price_003(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &zcl_step(
            "30s",
            "rig-ihd",
            0x0700,
            "{ name = \"get_current_price\", command_options = 1 }",
        ),
        "1m",
    )?;
    let d = first_received(ctx, "rig-ihd", "default_response")?;
    check(
        d["command"]["status"] == 0x8B,
        "Get Current Price without a price was not answered NOT_FOUND",
        "Default Response status 0x8B",
        d.to_string(),
    )
}

fn met_price_004(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &meter_step("30s", "publish_price", "issuer_event_id = 7\nprice = 999"),
        "1m",
    )?;
    let p = first_received(ctx, "rig-ihd", "publish_price")?;
    let current = p["command"]["current_time"].as_u64().unwrap_or(0) + 946_684_800;
    let sent = p.get("t").and_then(Value::as_u64);
    let _ = sent;
    let start = start_us() / 1_000_000 + 30;
    check(
        current == start,
        "Publish Price carried the wrong current time",
        format!("{start} (Unix)"),
        current.to_string(),
    )
}

fn met_price_005(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &meter_step(
            "30s",
            "publish_price",
            "issuer_event_id = 7\nprice = 999\nacknowledge = true",
        ),
        "1m",
    )?;
    let acks = rig_log(ctx, "dut", "price_acknowledgement").len();
    check(
        acks == 2,
        "Price Acknowledgements were not accepted",
        "2 acknowledgements (display, thermostat)",
        acks.to_string(),
    )
}

fn met_msg_001(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &meter_step("30s", "display_message", "message_id = 5\ntext = \"hello\""),
        "1m",
    )?;
    let m = first_received(ctx, "rig-ihd", "display_message")?;
    let to_pct = ctx
        .output
        .as_ref()
        .map(|r| received_named(r, "rig-pct", "display_message").len())
        .unwrap_or(0);
    check(
        m["command"]["message"] == "hello" && to_pct == 0,
        "Display Message not delivered to the Messaging client only",
        "the display gets 'hello', the thermostat (no Messaging client) nothing",
        format!("{m}, thermostat got {to_pct}"),
    )
}

fn met_msg_002(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &(meter_step("30s", "display_message", "message_id = 5\ntext = \"hello\"")
            + &zcl_step("1m", "rig-ihd", 0x0703, "{ name = \"get_last_message\" }")),
        "2m",
    )?;
    let n = ctx
        .output
        .as_ref()
        .map(|r| received_named(r, "rig-ihd", "display_message").len())
        .unwrap_or(0);
    check(
        n == 2,
        "Get Last Message was not answered",
        "Display Message again in answer",
        format!("{n} Display Message"),
    )
}

fn met_msg_003(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &(meter_step(
            "30s",
            "display_message",
            "message_id = 5\ntext = \"hello\"\nconfirm = true",
        ) + "[[timeline]]\nat = \"1m\"\naction = \"confirm_message\"\ndevice = \"rig-ihd\"\nmessage_id = 5\n"),
        "2m",
    )?;
    let n = rig_log(ctx, "dut", "message_confirmation").len();
    check(
        n == 1,
        "Message Confirmation not accepted",
        "1 confirmation",
        n.to_string(),
    )
}

fn met_drlc_001(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &meter_step(
            "30s",
            "load_control_event",
            "issuer_event_id = 9\nduration_minutes = 10",
        ),
        "20m",
    )?;
    let to_ihd = ctx
        .output
        .as_ref()
        .map(|r| received_named(r, "rig-ihd", "load_control_event").len())
        .unwrap_or(0);
    let e = first_received(ctx, "rig-pct", "load_control_event")?;
    check(
        to_ihd == 0 && e["command"]["duration_in_minutes"] == 10,
        "LCE not delivered to DRLC clients only",
        "thermostat gets the event, the display (no DRLC client) nothing",
        format!("display got {to_ihd}"),
    )
}

fn met_drlc_002(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &meter_step(
            "30s",
            "load_control_event",
            "issuer_event_id = 9\nduration_minutes = 10",
        ),
        "20m",
    )?;
    let n = rig_log(ctx, "dut", "report_event_status").len();
    check(
        n == 3,
        "Report Event Status not accepted",
        "3 reports (received, started, completed)",
        n.to_string(),
    )
}

fn met_drlc_003(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &(meter_step(
            "30s",
            "load_control_event",
            "issuer_event_id = 9\nduration_minutes = 30",
        ) + &meter_step("5m", "cancel_load_control_event", "issuer_event_id = 9")),
        "1h",
    )?;
    let c = first_received(ctx, "rig-pct", "cancel_load_control_event")?;
    check(
        c["command"]["issuer_event_id"] == 9,
        "Cancel Load Control Event not delivered",
        "cancel of event 9",
        c.to_string(),
    )
}

fn met_drlc_004(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &(meter_step(
            "30s",
            "load_control_event",
            "issuer_event_id = 9\nduration_minutes = 30",
        ) + &meter_step("5m", "cancel_all_load_control_events", "")),
        "1h",
    )?;
    first_received(ctx, "rig-pct", "cancel_all_load_control_events").map(|_| ())
}

fn read(at: &str, device: &str, cluster: u16, attributes: &[u16]) -> String {
    let list: Vec<String> = attributes.iter().map(u16::to_string).collect();
    zcl_step(
        at,
        device,
        cluster,
        &format!(
            "{{ name = \"read_attributes\", attributes = [{}] }}",
            list.join(", ")
        ),
    )
}

fn met_met_001(ctx: &mut Ctx) -> Outcome {
    run_meter(ctx, "", &read("30s", "rig-pct", 0x0702, &[0x0000]), "1m")?;
    let r = read_record(ctx, "rig-pct", 0x0000)?;
    check(
        r["status"] == 0 && r["value"]["type"] == 0x25,
        "CurrentSummationDelivered is not a uint48",
        "status SUCCESS, type 0x25",
        r.to_string(),
    )
}

fn met_met_002(ctx: &mut Ctx) -> Outcome {
    run_meter(ctx, "", &read("30s", "rig-pct", 0x0702, &[0x0400]), "1m")?;
    let r = read_record(ctx, "rig-pct", 0x0400)?;
    check(
        r["value"]["type"] == 0x2A && r["value"]["value"] == 1500,
        "InstantaneousDemand wrong",
        "int24 (0x2A) 1500 W at 14:00",
        r.to_string(),
    )
}

fn met_met_003(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &read("30s", "rig-pct", 0x0702, &[0x0301, 0x0302, 0x0303, 0x0300]),
        "1m",
    )?;
    let m = read_record(ctx, "rig-pct", 0x0301)?;
    let d = read_record(ctx, "rig-pct", 0x0302)?;
    let f = read_record(ctx, "rig-pct", 0x0303)?;
    let u = read_record(ctx, "rig-pct", 0x0300)?;
    check(
        m["value"]["type"] == 0x22
            && d["value"]["type"] == 0x22
            && f["value"]["type"] == 0x18
            && u["value"]["type"] == 0x30
            && d["value"]["value"].as_u64().unwrap_or(0) > 0,
        "formatting attributes have wrong types",
        "Multiplier and Divisor uint24 (0x22, divisor ≠ 0), SummationFormatting bitmap8 (0x18), UnitOfMeasure enum8 (0x30)",
        format!("{m} {d} {f} {u}"),
    )
}

fn met_met_004(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &(read("10s", "rig-pct", 0x0702, &[0x0000]) + &read("1h10s", "rig-pct", 0x0702, &[0x0000])),
        "71m",
    )?;
    let run = ctx
        .output
        .as_ref()
        .ok_or_else(|| CaseError::Rig("no run".into()))?;
    let values: Vec<u64> = received_named(run, "rig-pct", "read_attributes_response")
        .iter()
        .flat_map(|r| {
            r["command"]["records"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|r| r["attribute"] == 0)
        .filter_map(|r| r["value"]["value"].as_u64())
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

fn met_met_005(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &zcl_step(
            "3h",
            "rig-pct",
            0x0702,
            "{ name = \"get_profile\", interval_channel = 0, end_time = 0, number_of_periods = 4 }",
        ),
        "3h1m",
    )?;
    let p = first_received(ctx, "rig-pct", "get_profile_response")?;
    let c = &p["command"];
    let intervals = c["intervals"].as_array().map(Vec::len).unwrap_or(0);
    check(
        c["status"] == 0
            && c["number_of_periods_delivered"] == 4
            && intervals == 4
            && c["profile_interval_period"] == 1,
        "Get Profile not answered as asked",
        "status SUCCESS, 4 hourly intervals",
        c.to_string(),
    )
}

fn met_met_006(ctx: &mut Ctx) -> Outcome {
    run_meter(ctx, "", &read("30s", "rig-pct", 0x0702, &[0x7777]), "1m")?;
    let r = read_record(ctx, "rig-pct", 0x7777)?;
    check(
        r["status"] == 0x86 && r.get("value").is_none(),
        "an unsupported attribute was not refused",
        "status UNSUPPORTED_ATTRIBUTE (0x86), no value",
        r.to_string(),
    )
}

fn met_met_007(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &zcl_step(
            "3h",
            "rig-pct",
            0x0702,
            "{ name = \"get_profile\", interval_channel = 1, end_time = 0, number_of_periods = 2 }",
        ),
        "3h1m",
    )?;
    let p = first_received(ctx, "rig-pct", "get_profile_response")?;
    check(
        p["command"]["status"] == 2,
        "an unsupported interval channel was not refused",
        "status 0x02 (interval channel not supported)",
        p.to_string(),
    )
}

fn met_time_001(ctx: &mut Ctx) -> Outcome {
    run_meter(ctx, "", &read("30s", "rig-pct", 0x000A, &[0x0000]), "1m")?;
    let r = read_record(ctx, "rig-pct", 0x0000)?;
    let expected = start_us() / 1_000_000 + 30 - 946_684_800;
    check(
        r["value"]["type"] == 0xE2 && r["value"]["value"] == expected,
        "Time is wrong",
        format!("UTCTime {expected}"),
        r.to_string(),
    )
}

fn met_time_002(ctx: &mut Ctx) -> Outcome {
    run_meter(ctx, "", &read("30s", "rig-pct", 0x000A, &[0x0001]), "1m")?;
    let r = read_record(ctx, "rig-pct", 0x0001)?;
    let bits = r["value"]["value"].as_u64().unwrap_or(0);
    check(
        bits & 0x03 == 0x03,
        "TimeStatus does not say master and synchronised",
        "bits 0 and 1 set",
        r.to_string(),
    )
}

fn met_basic_001(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &read("30s", "rig-pct", 0x0000, &[0x0000, 0x0004, 0x0005]),
        "1m",
    )?;
    let v = read_record(ctx, "rig-pct", 0x0000)?;
    let m = read_record(ctx, "rig-pct", 0x0004)?;
    check(
        v["status"] == 0 && m["value"]["type"] == 0x42,
        "Basic attributes missing",
        "ZCLVersion and ManufacturerName (char string)",
        format!("{v} {m}"),
    )
}

fn met_gen_001(ctx: &mut Ctx) -> Outcome {
    run_meter(
        ctx,
        "",
        &(zcl_step(
            "30s",
            "rig-pct",
            0x0701,
            "{ name = \"get_scheduled_events\", start_time = 0, number_of_events = 0 }",
        ) + &zcl_step(
            "40s",
            "rig-ihd",
            0x0703,
            "{ name = \"message_confirmation\", message_id = 1, confirmation_time = 0 }",
        )),
        "1m",
    )?;
    // Neither command may be answered with an error Default Response.
    let run = ctx
        .output
        .as_ref()
        .ok_or_else(|| CaseError::Rig("no run".into()))?;
    let errors: Vec<&Value> = ["rig-pct", "rig-ihd"]
        .iter()
        .flat_map(|node| run.log.find(Some(node), "zcl_received"))
        .filter(|e| at(e) >= 30)
        .map(|e| &e["frame"])
        .filter(|d| d["command"]["name"] == "default_response" && d["command"]["status"] != 0)
        .collect();
    check(
        errors.is_empty(),
        "the meter answered a valid command with an error",
        "no error Default Response on DRLC or Messaging",
        format!("{errors:?}"),
    )
}

/// The e2e suite's precondition.
const LAB: &str = "hanrig lab up: 15 meters over the five TDSP routes (a display, a thermostat and a load-control device on each), the demo third party's agreements in force, lossless networks at 400x";

macro_rules! case {
    ($id:literal, $suite:ident, $dut:ident, $title:literal, $clause:expr, $pre:expr, [$($step:literal),*], $expected:literal, $f:ident) => {
        $crate::conformance::cases::Case { id: $id, suite: $crate::conformance::model::Suite::$suite, dut: $crate::conformance::model::DutKind::$dut, title: $title, clause: $clause, preconditions: $pre, steps: &[$($step),*], expected: $expected, run: $f }
    };
}
pub(crate) use case;

/// Every case: the device suite (by cluster, in [`super::device`]), the meter suite, the e2e
/// suite.
pub static CASES: LazyLock<Vec<&'static Case>> =
    LazyLock::new(|| super::device::cases().chain(METER_AND_E2E.iter()).collect());

/// The meter and e2e suites.
static METER_AND_E2E: &[Case] = &[
    case!(
        "MET-TC-001",
        Meter,
        Meter,
        "Admits provisioned devices by install code",
        "SE 1.0 §5.4; SMT §5.6",
        "The DUT meter holds the rig devices' install codes.",
        ["Power the rig's display and thermostat"],
        "Both receive the network key under their install-code keys and join",
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
        "Association Response status 0x02; no network key",
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
        "It cannot open the Transport Key and stays out",
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
        "Three admitted (5 in all), the sixth refused with status 0x01",
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
        "Both admitted",
        met_tc_005
    ),
    case!(
        "MET-PRICE-001",
        Meter,
        Meter,
        "Answers Get Current Price",
        "SE 1.0 Price server",
        RIG_JOINED,
        ["Publish a price at 30 s", "Get Current Price at 60 s"],
        "Publish Price in answer",
        met_price_001
    ),
    case!(
        "MET-PRICE-002",
        Meter,
        Meter,
        "Publish Price fields are well-formed",
        "SE 1.0 Publish Price",
        RIG_JOINED,
        ["Publish price 999, tier 3, 2 trailing digits, label 'peak'"],
        "Currency 840, 0x23, label, price",
        met_price_002
    ),
    case!(
        "MET-PRICE-003",
        Meter,
        Meter,
        "Get Current Price without a price is NOT_FOUND",
        "ZCL Default Response; SE 1.0 Price server",
        RIG_JOINED,
        ["Get Current Price before any price"],
        "Default Response 0x8B",
        met_price_003
    ),
    case!(
        "MET-PRICE-004",
        Meter,
        Meter,
        "Publish Price carries the meter's time",
        "SE 1.0 Publish Price Current Time",
        RIG_JOINED,
        ["Publish a price at 30 s"],
        "Current Time = 14:00:30 UTC",
        met_price_004
    ),
    case!(
        "MET-PRICE-005",
        Meter,
        Meter,
        "Takes Price Acknowledgements",
        "SE 1.1 Price Acknowledgement",
        RIG_JOINED,
        ["Publish a price asking for acknowledgement"],
        "2 acknowledgements recorded",
        met_price_005
    ),
    case!(
        "MET-MSG-001",
        Meter,
        Meter,
        "Sends Display Message to Messaging clients",
        "SE 1.0 Messaging server",
        RIG_JOINED,
        ["Send message 5"],
        "The display gets it; the thermostat (no Messaging client) does not",
        met_msg_001
    ),
    case!(
        "MET-MSG-002",
        Meter,
        Meter,
        "Answers Get Last Message",
        "SE 1.0 Get Last Message",
        RIG_JOINED,
        ["Send message 5", "Get Last Message at 60 s"],
        "Display Message in answer",
        met_msg_002
    ),
    case!(
        "MET-MSG-003",
        Meter,
        Meter,
        "Takes Message Confirmations",
        "SE 1.0 Message Confirmation",
        RIG_JOINED,
        ["Message 5 requiring confirmation", "The user confirms"],
        "1 confirmation recorded",
        met_msg_003
    ),
    case!(
        "MET-DRLC-001",
        Meter,
        Meter,
        "Sends load control events to DRLC clients",
        "SE 1.0 DRLC server",
        RIG_JOINED,
        ["LCE 9 for 10 minutes"],
        "The thermostat gets it; the display (no DRLC client) does not",
        met_drlc_001
    ),
    case!(
        "MET-DRLC-002",
        Meter,
        Meter,
        "Takes Report Event Status",
        "SE 1.0 DRLC server",
        RIG_JOINED,
        ["LCE 9 for 10 minutes"],
        "3 reports recorded",
        met_drlc_002
    ),
    case!(
        "MET-DRLC-003",
        Meter,
        Meter,
        "Sends Cancel Load Control Event",
        "SE 1.0 DRLC server",
        RIG_JOINED,
        ["LCE 9", "Cancel at 5 min"],
        "The thermostat gets the cancel",
        met_drlc_003
    ),
    case!(
        "MET-DRLC-004",
        Meter,
        Meter,
        "Sends Cancel All",
        "SE 1.0 DRLC server",
        RIG_JOINED,
        ["LCE 9", "Cancel All at 5 min"],
        "The thermostat gets Cancel All",
        met_drlc_004
    ),
    case!(
        "MET-MET-001",
        Meter,
        Meter,
        "CurrentSummationDelivered is a uint48",
        "SE 1.0 Metering 0x0000",
        RIG_JOINED,
        ["Read 0x0000"],
        "SUCCESS, type 0x25",
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
        "int24 1500",
        met_met_002
    ),
    case!(
        "MET-MET-003",
        Meter,
        Meter,
        "Formatting attributes have their types",
        "SE 1.0 Metering 0x0300–0x0303",
        RIG_JOINED,
        ["Read 0x0300–0x0303"],
        "enum8, uint24, uint24 (≠ 0), bitmap8",
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
        "+1498 Wh (whole Wh)",
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
        "SUCCESS, 4 hourly intervals",
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
        "UNSUPPORTED_ATTRIBUTE, no value",
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
        "status 0x02",
        met_met_007
    ),
    case!(
        "MET-TIME-001",
        Meter,
        Meter,
        "Serves its time",
        "ZCL Time cluster 0x000A attribute 0x0000",
        RIG_JOINED,
        ["Read Time at 14:00:30"],
        "UTCTime of 14:00:30",
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
        "bits 0 and 1 set",
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
        "SUCCESS; char strings",
        met_basic_001
    ),
    case!(
        "MET-GEN-001",
        Meter,
        Meter,
        "Answers valid commands without errors",
        "ZCL Default Response",
        RIG_JOINED,
        ["Get Scheduled Events", "Message Confirmation"],
        "No error Default Response",
        met_gen_001
    ),
    case!(
        "E2E-LCE-ONCOR",
        E2e,
        Gateway,
        "A load-control event through Oncor's MultiSpeak head-end, and each device's answer back",
        "SMT §5.6, §7 HAN APIs, Appendix A; MultiSpeak 4.1 InitiateDemandResponseEvent / DemandResponseEventNotification",
        LAB,
        [
            "POST /v1/messages/load-control to Oncor's demo meters",
            "Wait for every address to settle"
        ],
        "Thermostats and load-control devices device-acknowledged (DemandResponseEventNotification), displays delivered",
        lce_oncor
    ),
    case!(
        "E2E-LCE-CNP",
        E2e,
        Gateway,
        "A load-control event through CenterPoint's job head-end, and each device's answer back",
        "SMT §5.6, §7 HAN APIs; job API submit / poll",
        LAB,
        [
            "POST /v1/messages/load-control to CenterPoint's demo meters",
            "Wait for every address to settle"
        ],
        "Thermostats and load-control devices device-acknowledged (Report Event Status), displays delivered",
        lce_centerpoint
    ),
    case!(
        "E2E-LCE-AEPC",
        E2e,
        Gateway,
        "A load-control event through AEP Texas Central's CIM head-end, and each device's answer back",
        "SMT §5.6, §7 HAN APIs; IEC 61968-9 create EndDeviceControls 0.15.43.300 / EndDeviceEvents",
        LAB,
        [
            "POST /v1/messages/load-control to AEP Texas Central's demo meters",
            "Wait for every address to settle"
        ],
        "Thermostats and load-control devices device-acknowledged (EndDeviceEvent 0.15.43.287/288), displays delivered",
        lce_aep_central
    ),
    case!(
        "E2E-LCE-AEPN",
        E2e,
        Gateway,
        "A load-control event through AEP Texas North's CIM head-end, and each device's answer back",
        "SMT §5.6, §7 HAN APIs; IEC 61968-9 create EndDeviceControls 0.15.43.300 / EndDeviceEvents",
        LAB,
        [
            "POST /v1/messages/load-control to AEP Texas North's demo meters",
            "Wait for every address to settle"
        ],
        "Thermostats and load-control devices device-acknowledged (EndDeviceEvent 0.15.43.287/288), displays delivered",
        lce_aep_north
    ),
    case!(
        "E2E-LCE-TNMP",
        E2e,
        Gateway,
        "A load-control event through TNMP's job head-end over cellular, and each device's answer back",
        "SMT §5.6, §7 HAN APIs; job API submit / poll",
        LAB,
        [
            "POST /v1/messages/load-control to TNMP's demo meters",
            "Wait for every address to settle"
        ],
        "Thermostats and load-control devices device-acknowledged (Report Event Status), displays delivered",
        lce_tnmp
    ),
    case!(
        "E2E-TEXT-001",
        E2e,
        Gateway,
        "A text to every display, addressed by device, through every TDSP",
        "SMT §5.6 Send Simple Text; SE 1.0 Messaging Display Message",
        LAB,
        [
            "POST /v1/messages/text to every demo display's EUI64",
            "Wait for every address to settle"
        ],
        "Every display delivered",
        text_to_displays
    ),
    case!(
        "E2E-CANCEL-001",
        E2e,
        Gateway,
        "A load-control event's cancel reaches every device that runs it",
        "SMT §5.6 Cancel Load Control Event; SE 1.0 DRLC Cancel Load Control Event",
        LAB,
        [
            "POST a 10-hour load-control event to every thermostat and load-control device",
            "POST its cancel"
        ],
        "The cancel device-acknowledged (Report Event Status) at every address",
        cancel_event
    ),
    case!(
        "E2E-AGREE-001",
        E2e,
        Gateway,
        "No message without an In-Home Device Services Agreement",
        "SMT §5.5.4 Table 5, §5.6 (Third Parties need an agreement in force)",
        LAB,
        ["POST a text to a demo meter and to a meter without an agreement"],
        "403 naming only the meter without an agreement; nothing accepted",
        no_agreement
    ),
    case!(
        "E2E-DEVICE-001",
        E2e,
        Gateway,
        "A replaced device is provisioned again through every TDSP's head-end",
        "SMT §5.6 Add / Remove an In-Home Device, Table 5 agreements; MultiSpeak InitiateHANRegistration, CIM pairing window 0.10.73.298, job Provision",
        LAB,
        [
            "Remove a thermostat on one meter of every TDSP route (device-replaced)",
            "Invite the customer to new agreements; the customer accepts",
            "POST /v1/devices with its install code; wait for provisioning",
            "Send a load-control event to the devices"
        ],
        "403 while no agreement is in force; then pending → provisioned (history requested, sent, provisioned) and the event device-acknowledged",
        device_lifecycle
    ),
    case!(
        "E2E-GROUP-001",
        E2e,
        Gateway,
        "A utility enrollment group decides which load-control events a device runs",
        "SMT §5.6 Update Utility Enrollment Group; SE 1.0 DRLC client UtilityEnrollmentGroup (0x0000)",
        LAB,
        [
            "POST /v1/enrollment-groups group 5 to CenterPoint's and TNMP's thermostats and load-control devices",
            "POST a load-control event for group 7, then one for group 5"
        ],
        "Write Attributes Response from every device; the group-7 event delivered but not run, the group-5 event reported",
        enrollment_group
    ),
];
