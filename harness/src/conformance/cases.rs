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

const JOINED: &str = "The DUT has joined the rig's network with its install code.";
const RIG_JOINED: &str =
    "The rig's display and thermostat have joined the DUT meter with their install codes.";
const DRLC: &str =
    "SE 1.0 DRLC client rules (sep1-wire-facts §2, EmberZNet reference client of 075356r15)";

fn price_step(at: &str, extra: &str) -> String {
    format!(
        "[[timeline]]\nat = \"{at}\"\naction = \"publish_price\"\nmeter = \"rig-esi\"\nissuer_event_id = 100\nprice = 1250\ntrailing_digits = 4\ntier = 2\nrate_label = \"TOU peak\"\n{extra}\n"
    )
}

fn message_step(at: &str, id: u32, extra: &str) -> String {
    format!(
        "[[timeline]]\nat = \"{at}\"\naction = \"display_message\"\nmeter = \"rig-esi\"\nmessage_id = {id}\ntext = \"Message {id}\"\n{extra}\n"
    )
}

fn event_step(at: &str, id: u32, extra: &str) -> String {
    format!(
        "[[timeline]]\nat = \"{at}\"\naction = \"load_control_event\"\nmeter = \"rig-esi\"\nissuer_event_id = {id}\n{extra}\n"
    )
}

fn cancel_step(at: &str, id: u32, extra: &str) -> String {
    format!(
        "[[timeline]]\nat = \"{at}\"\naction = \"cancel_load_control_event\"\nmeter = \"rig-esi\"\nissuer_event_id = {id}\n{extra}\n"
    )
}

fn user_step(at: &str, action: &str, fields: &str) -> String {
    format!("[[timeline]]\nat = \"{at}\"\naction = \"{action}\"\ndevice = \"dut\"\n{fields}\n")
}

fn zcl_step(at: &str, device: &str, cluster: u16, command: &str) -> String {
    format!(
        "[[timeline]]\nat = \"{at}\"\naction = \"send_zcl\"\ndevice = \"{device}\"\ncluster = {cluster}\ncommand = {command}\n"
    )
}

/// Checks the DUT's reports for `event`: names in order, and each timed within its window
/// (seconds from the start, inclusive).
fn expect_statuses(ctx: &Ctx, event: u32, want: &[(&str, u64, u64)]) -> Outcome {
    let run = ctx
        .output
        .as_ref()
        .ok_or_else(|| CaseError::Rig("no run".into()))?;
    let got = statuses(run, "dut", event);
    let wanted: Vec<String> = want
        .iter()
        .map(|(n, from, to)| format!("{n} in [{from}, {to}] s"))
        .collect();
    let observed: Vec<String> = got.iter().map(|(n, t)| format!("{n} at {t} s")).collect();
    if got.len() != want.len()
        || got
            .iter()
            .zip(want)
            .any(|((n, t), (w, from, to))| n != w || t < from || t > to)
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

fn run_device(
    ctx: &mut Ctx,
    kind: &str,
    dut_extra: &str,
    rest: &str,
    duration: &str,
) -> Result<(), CaseError> {
    ctx.run(&device_network(kind, dut_extra, rest, duration))?;
    let run = ctx
        .output
        .as_ref()
        .ok_or_else(|| CaseError::Rig("no run".into()))?;
    check(
        run.log.find(Some("dut"), "joined").count() == 1,
        "the DUT did not join",
        "joined",
        "not joined",
    )
}

fn esi_log<'a>(ctx: &'a Ctx, event: &'a str) -> Vec<&'a Value> {
    ctx.output
        .as_ref()
        .map(|r| r.log.find(Some("rig-esi"), event).collect())
        .unwrap_or_default()
}

/// SE frames the rig's ESI received from the DUT.
fn from_dut(ctx: &Ctx) -> usize {
    esi_log(ctx, "zcl_received")
        .iter()
        .filter(|e| e["device"] == "00:12:4b:00:01:02:03:04")
        .count()
}

fn dut_log<'a>(ctx: &'a Ctx, event: &'a str) -> Vec<&'a Value> {
    ctx.output
        .as_ref()
        .map(|r| r.log.find(Some("dut"), event).collect())
        .unwrap_or_default()
}

// ----- device suite: joining -----

fn dev_join_001(ctx: &mut Ctx) -> Outcome {
    run_device(ctx, "in-home-display", "", "", "1m")?;
    let asks = esi_log(ctx, "zcl_received");
    check(
        !asks.is_empty(),
        "the joined DUT sent no SE command",
        "Get Current Price / Get Last Message / Read Attributes after joining",
        "nothing",
    )
}

fn dev_join_002(ctx: &mut Ctx) -> Outcome {
    ctx.run(&device_network(
        "in-home-display",
        "provisioned_install_code = \"83FED3407A939723A5C639B269161802AEBB\"",
        "",
        "1m",
    ))?;
    let joined = dut_log(ctx, "joined").len();
    let se = from_dut(ctx);
    check(
        joined == 0 && se == 0,
        "the DUT joined although the meter holds another install code for it",
        "no join, no SE frame",
        format!("{joined} join(s), {se} SE frame(s)"),
    )
}

fn dev_join_003(ctx: &mut Ctx) -> Outcome {
    // The rig's trust centre has no install code for the DUT and offers the network key under
    // the global HA key ZigBeeAlliance09: an SE device must not take it.
    let scenario = device_network(
        "in-home-display",
        "provisioned_install_code = \"none\"",
        "",
        "1m",
    )
    .replace(
        "load_w = [1500]",
        "load_w = [1500]\nglobal_key_fallback = true",
    );
    let run = ctx.run(&scenario)?;
    if run.log.find(Some("rig-esi"), "admitted").count() == 0 {
        return Err(CaseError::Rig(
            "the rig's trust centre did not offer the network key under the global link key".into(),
        ));
    }
    let joined = run.log.find(Some("dut"), "joined").count();
    check(
        joined == 0,
        "the DUT accepted a network key sent under the global default link key",
        "Transport Key refused (no join)",
        "joined",
    )
}

fn dev_join_004(ctx: &mut Ctx) -> Outcome {
    let others: String = (0..5)
        .map(|i| {
            format!("[[device]]\nname = \"other-{i}\"\nkind = \"load-control\"\neui64 = \"00:12:4b:00:00:00:00:0{i}\"\ninstall_code = \"83FED3407A939723A5C639FF4C12\"\nmeter = \"rig-esi\"\n")
        })
        .collect();
    ctx.run(&device_network(
        "in-home-display",
        "join_at = \"10s\"",
        &others,
        "1m",
    ))?;
    let refused = dut_log(ctx, "association_refused");
    let se = from_dut(ctx);
    check(
        refused.first().is_some_and(|r| r["status"] == 1)
            && dut_log(ctx, "joined").is_empty()
            && se == 0,
        "a device refused for PAN at capacity did not stay out",
        "Association Response status 0x01; no further traffic",
        format!("{refused:?}, {se} SE frame(s)"),
    )
}

// ----- device suite: Basic and Time -----

fn dev_time_001(ctx: &mut Ctx) -> Outcome {
    run_device(ctx, "thermostat", "", "", "1m")?;
    let run = ctx
        .output
        .as_ref()
        .ok_or_else(|| CaseError::Rig("no run".into()))?;
    let reads: Vec<&Value> = received_named(run, "rig-esi", "read_attributes")
        .into_iter()
        .filter(|f| f["cluster"] == 0x000A)
        .collect();
    let asks_time = reads.iter().any(|f| {
        f["command"]["attributes"]
            .as_array()
            .is_some_and(|a| a.contains(&serde_json::json!(0)))
    });
    check(
        asks_time,
        "the DUT did not take its time from the meter",
        "Read Attributes of Time (0x000A) attribute 0x0000 after joining",
        format!("{} Time read(s)", reads.len()),
    )
}

fn basic_read(attributes: &str) -> String {
    format!(
        "[[timeline]]\nat = \"30s\"\naction = \"send_zcl_to_device\"\nmeter = \"rig-esi\"\ndevice = \"dut\"\ncluster = 0\ncommand = {{ name = \"read_attributes\", attributes = [{attributes}] }}\n"
    )
}

fn dev_basic_001(ctx: &mut Ctx) -> Outcome {
    run_device(ctx, "thermostat", "", &basic_read("0, 4, 5"), "1m")?;
    let run = ctx
        .output
        .as_ref()
        .ok_or_else(|| CaseError::Rig("no run".into()))?;
    let response = received_named(run, "rig-esi", "read_attributes_response")
        .into_iter()
        .find(|f| f["cluster"] == 0)
        .cloned();
    let records = response
        .as_ref()
        .and_then(|r| r["command"]["records"].as_array().cloned())
        .unwrap_or_default();
    let ok = records.len() == 3
        && records[0]["status"] == 0
        && records[0]["value"]["type"] == 0x20
        && records[1]["value"]["type"] == 0x42
        && records[2]["value"]["type"] == 0x42;
    check(
        ok,
        "Basic attributes not served",
        "ZCLVersion (uint8), ManufacturerName and ModelIdentifier (char strings)",
        format!("{response:?}"),
    )
}

fn dev_basic_002(ctx: &mut Ctx) -> Outcome {
    run_device(ctx, "thermostat", "", &basic_read("0x4000"), "1m")?;
    let run = ctx
        .output
        .as_ref()
        .ok_or_else(|| CaseError::Rig("no run".into()))?;
    let response = received_named(run, "rig-esi", "read_attributes_response")
        .into_iter()
        .find(|f| f["cluster"] == 0)
        .cloned();
    let record = response
        .as_ref()
        .map(|r| r["command"]["records"][0].clone());
    check(
        record
            .as_ref()
            .is_some_and(|r| r["status"] == 0x86 && r.get("value").is_none()),
        "an unsupported Basic attribute was not refused",
        "status UNSUPPORTED_ATTRIBUTE (0x86), no value",
        format!("{record:?}"),
    )
}

// ----- device suite: price -----

fn dev_price_001(ctx: &mut Ctx) -> Outcome {
    run_device(ctx, "in-home-display", "", "", "1m")?;
    let got = ctx
        .output
        .as_ref()
        .map(|r| received_named(r, "rig-esi", "get_current_price").len())
        .unwrap_or(0);
    check(
        got >= 1,
        "no Get Current Price after joining",
        "Get Current Price (Price 0x0700 c→s 0x00)",
        "none",
    )
}

fn dev_price_002(ctx: &mut Ctx) -> Outcome {
    run_device(ctx, "in-home-display", "", &price_step("30s", ""), "2m")?;
    let changed = dut_log(ctx, "price_changed");
    check(
        changed.iter().any(|e| e["price"] == 1250 && at(e) == 30),
        "the published price did not become current",
        "price 1250 current at 30 s",
        format!("{changed:?}"),
    )
}

fn dev_price_003(ctx: &mut Ctx) -> Outcome {
    run_device(
        ctx,
        "in-home-display",
        "",
        &price_step("30s", "acknowledge = true"),
        "2m",
    )?;
    let acks = esi_log(ctx, "price_acknowledgement");
    check(
        acks.len() == 1 && acks[0]["issuer_event_id"] == 100 && at(acks[0]) <= 35,
        "Price Control asked for acknowledgement",
        "one Price Acknowledgement for issuer event 100 within 5 s",
        format!("{} acknowledgement(s)", acks.len()),
    )
}

fn dev_price_004(ctx: &mut Ctx) -> Outcome {
    run_device(ctx, "in-home-display", "", &price_step("30s", ""), "2m")?;
    let acks = esi_log(ctx, "price_acknowledgement").len();
    check(
        acks == 0,
        "acknowledged a price that did not ask for it",
        "no Price Acknowledgement",
        format!("{acks}"),
    )
}

fn dev_price_005(ctx: &mut Ctx) -> Outcome {
    run_device(
        ctx,
        "in-home-display",
        "",
        &price_step("30s", "start_in = \"10m\"\nduration_minutes = 30"),
        "1h",
    )?;
    let changed = dut_log(ctx, "price_changed");
    let became = changed.iter().find(|e| e["price"] == 1250).map(|e| at(e));
    check(
        became == Some(630),
        "a scheduled price did not take effect at its start",
        "current from 630 s",
        format!("{became:?}"),
    )
}

fn dev_price_006(ctx: &mut Ctx) -> Outcome {
    run_device(
        ctx,
        "in-home-display",
        "",
        &price_step("30s", "duration_minutes = 10"),
        "1h",
    )?;
    let changed = dut_log(ctx, "price_changed");
    let ended = changed.iter().find(|e| e["price"].is_null()).map(|e| at(e));
    check(
        ended == Some(630),
        "a price did not end with its duration",
        "no price in force from 630 s",
        format!("{ended:?}"),
    )
}

// ----- device suite: messaging -----

fn dev_msg_001(ctx: &mut Ctx) -> Outcome {
    run_device(
        ctx,
        "in-home-display",
        "",
        &message_step("30s", 7, "duration_minutes = 10"),
        "2m",
    )?;
    let shown = dut_log(ctx, "message_shown");
    check(
        shown
            .iter()
            .any(|e| e["message_id"] == 7 && e["text"] == "Message 7"),
        "the message was not shown",
        "message 7 shown at 30 s",
        format!("{shown:?}"),
    )
}

fn dev_msg_002(ctx: &mut Ctx) -> Outcome {
    let rest = message_step("30s", 8, "confirm = true")
        + &user_step("1m", "confirm_message", "message_id = 8");
    run_device(ctx, "in-home-display", "", &rest, "2m")?;
    let confirmations = esi_log(ctx, "message_confirmation");
    check(
        confirmations.len() == 1
            && confirmations[0]["message_id"] == 8
            && at(confirmations[0]) <= 65,
        "no Message Confirmation after the user confirmed",
        "one Message Confirmation for message 8 within 5 s of the user's confirmation",
        format!("{} confirmation(s)", confirmations.len()),
    )
}

fn dev_msg_003(ctx: &mut Ctx) -> Outcome {
    let rest = message_step("30s", 9, "") + &user_step("1m", "confirm_message", "message_id = 9");
    run_device(ctx, "in-home-display", "", &rest, "2m")?;
    let n = esi_log(ctx, "message_confirmation").len();
    check(
        n == 0,
        "confirmed a message that did not ask for it",
        "no Message Confirmation",
        format!("{n}"),
    )
}

fn dev_msg_004(ctx: &mut Ctx) -> Outcome {
    let rest = message_step("30s", 10, "")
        + "[[timeline]]\nat = \"1m\"\naction = \"cancel_message\"\nmeter = \"rig-esi\"\nmessage_id = 10\n";
    run_device(ctx, "in-home-display", "", &rest, "2m")?;
    let cleared = dut_log(ctx, "message_cleared");
    check(
        cleared.iter().any(|e| e["message_id"] == 10 && at(e) == 60),
        "Cancel Message did not clear the message",
        "message 10 cleared at 60 s",
        format!("{cleared:?}"),
    )
}

fn dev_msg_005(ctx: &mut Ctx) -> Outcome {
    run_device(
        ctx,
        "in-home-display",
        "",
        &message_step("30s", 11, "duration_minutes = 5"),
        "10m",
    )?;
    let cleared = dut_log(ctx, "message_cleared");
    check(
        cleared
            .iter()
            .any(|e| e["message_id"] == 11 && at(e) == 330),
        "the message outlived its duration",
        "message 11 cleared at 330 s",
        format!("{cleared:?}"),
    )
}

fn dev_msg_006(ctx: &mut Ctx) -> Outcome {
    let rest = message_step("30s", 12, "") + &message_step("1m", 13, "");
    run_device(ctx, "in-home-display", "", &rest, "2m")?;
    let shown: Vec<u64> = dut_log(ctx, "message_shown")
        .iter()
        .filter_map(|e| e["message_id"].as_u64())
        .collect();
    check(
        shown.ends_with(&[12, 13]),
        "a new message did not replace the current one",
        "message 12 then 13 shown",
        format!("{shown:?}"),
    )
}

fn dev_msg_007(ctx: &mut Ctx) -> Outcome {
    // The message is sent before the DUT joins; it must ask for it with Get Last Message.
    let rest = message_step("5s", 14, "");
    run_device(ctx, "in-home-display", "join_at = \"20s\"", &rest, "1m")?;
    let shown = dut_log(ctx, "message_shown");
    check(
        shown.iter().any(|e| e["message_id"] == 14),
        "the last message was not fetched after joining",
        "Get Last Message, then message 14 shown",
        format!("{shown:?}"),
    )
}

// ----- device suite: DRLC -----

const PCT: &str = "thermostat";

fn dev_drlc_001(ctx: &mut Ctx) -> Outcome {
    run_device(
        ctx,
        PCT,
        "",
        &event_step("1m", 1, "duration_minutes = 30"),
        "1h",
    )?;
    expect_statuses(
        ctx,
        1,
        &[
            ("CommandReceived", 60, 61),
            ("Started", 60, 61),
            ("Completed", 1860, 1861),
        ],
    )
}

fn dev_drlc_002(ctx: &mut Ctx) -> Outcome {
    run_device(
        ctx,
        PCT,
        "",
        &event_step("1m", 2, "start_in = \"10m\"\nduration_minutes = 30"),
        "1h",
    )?;
    expect_statuses(
        ctx,
        2,
        &[
            ("CommandReceived", 60, 61),
            ("Started", 660, 660),
            ("Completed", 2460, 2460),
        ],
    )
}

fn dev_drlc_003(ctx: &mut Ctx) -> Outcome {
    run_device(
        ctx,
        PCT,
        "",
        &event_step("1m", 3, "start_in = \"2m\"\nduration_minutes = 120"),
        "3h",
    )?;
    expect_statuses(
        ctx,
        3,
        &[
            ("CommandReceived", 60, 61),
            ("Started", 180, 180),
            ("Completed", 7380, 7380),
        ],
    )
}

fn dev_drlc_004(ctx: &mut Ctx) -> Outcome {
    // Three events with randomised starts: each start inside [start, start + 30 min].
    let rest = event_step(
        "1m",
        41,
        "start_in = \"10m\"\nduration_minutes = 60\nrandomize_start = true",
    ) + &event_step(
        "3h",
        42,
        "start_in = \"10m\"\nduration_minutes = 60\nrandomize_start = true",
    ) + &event_step(
        "6h",
        43,
        "start_in = \"10m\"\nduration_minutes = 60\nrandomize_start = true",
    );
    run_device(ctx, PCT, "start_randomization_minutes = 30", &rest, "9h")?;
    for (id, sent) in [(41u32, 60u64), (42, 10800), (43, 21600)] {
        let start = sent + 600;
        expect_statuses(
            ctx,
            id,
            &[
                ("CommandReceived", sent, sent + 1),
                ("Started", start, start + 1800),
                ("Completed", start + 3600, start + 3600 + 1800),
            ],
        )?;
    }
    Ok(())
}

fn dev_drlc_005(ctx: &mut Ctx) -> Outcome {
    run_device(
        ctx,
        PCT,
        "duration_randomization_minutes = 15",
        &event_step(
            "1m",
            5,
            "start_in = \"10m\"\nduration_minutes = 60\nrandomize_end = true",
        ),
        "3h",
    )?;
    expect_statuses(
        ctx,
        5,
        &[
            ("CommandReceived", 60, 61),
            ("Started", 660, 660),
            ("Completed", 4260, 4260 + 900),
        ],
    )
}

fn dev_drlc_006(ctx: &mut Ctx) -> Outcome {
    let rest = event_step("1m", 6, "duration_minutes = 60") + &cancel_step("11m", 6, "");
    run_device(ctx, PCT, "", &rest, "2h")?;
    expect_statuses(
        ctx,
        6,
        &[
            ("CommandReceived", 60, 61),
            ("Started", 60, 61),
            ("Cancelled", 660, 661),
        ],
    )
}

fn dev_drlc_007(ctx: &mut Ctx) -> Outcome {
    let rest = event_step("1m", 7, "duration_minutes = 60")
        + &cancel_step("11m", 7, "effective_in = \"10m\"");
    run_device(ctx, PCT, "", &rest, "2h")?;
    expect_statuses(
        ctx,
        7,
        &[
            ("CommandReceived", 60, 61),
            ("Started", 60, 61),
            ("Cancelled", 1260, 1261),
        ],
    )
}

fn dev_drlc_008(ctx: &mut Ctx) -> Outcome {
    let rest = event_step("1m", 8, "duration_minutes = 60\nrandomize_end = true")
        + &cancel_step("11m", 8, "effective_in = \"10m\"\nrandomize_end = true");
    run_device(ctx, PCT, "duration_randomization_minutes = 15", &rest, "2h")?;
    expect_statuses(
        ctx,
        8,
        &[
            ("CommandReceived", 60, 61),
            ("Started", 60, 61),
            ("Cancelled", 1260, 1260 + 900),
        ],
    )
}

fn dev_drlc_009(ctx: &mut Ctx) -> Outcome {
    let rest = event_step("1m", 91, "duration_minutes = 60")
        + &event_step("2m", 92, "start_in = \"2h\"\nduration_minutes = 30")
        + "[[timeline]]\nat = \"11m\"\naction = \"cancel_all_load_control_events\"\nmeter = \"rig-esi\"\n";
    run_device(ctx, PCT, "", &rest, "4h")?;
    expect_statuses(
        ctx,
        91,
        &[
            ("CommandReceived", 60, 61),
            ("Started", 60, 61),
            ("Cancelled", 660, 661),
        ],
    )?;
    expect_statuses(
        ctx,
        92,
        &[("CommandReceived", 120, 121), ("Cancelled", 660, 661)],
    )
}

fn dev_drlc_010(ctx: &mut Ctx) -> Outcome {
    let rest = event_step("1m", 101, "start_in = \"30m\"\nduration_minutes = 60")
        + &event_step("5m", 102, "start_in = \"45m\"\nduration_minutes = 60");
    run_device(ctx, PCT, "", &rest, "3h")?;
    expect_statuses(
        ctx,
        101,
        &[("CommandReceived", 60, 61), ("Superseded", 300, 301)],
    )?;
    expect_statuses(
        ctx,
        102,
        &[
            ("CommandReceived", 300, 301),
            ("Started", 3000, 3000),
            ("Completed", 6600, 6600),
        ],
    )
}

fn dev_drlc_011(ctx: &mut Ctx) -> Outcome {
    let rest = event_step("1m", 111, "duration_minutes = 120")
        + &event_step("5m", 112, "start_in = \"25m\"\nduration_minutes = 30");
    run_device(ctx, PCT, "", &rest, "3h")?;
    expect_statuses(
        ctx,
        111,
        &[
            ("CommandReceived", 60, 61),
            ("Started", 60, 61),
            ("Superseded", 1799, 1799),
        ],
    )?;
    expect_statuses(
        ctx,
        112,
        &[
            ("CommandReceived", 300, 301),
            ("Started", 1800, 1800),
            ("Completed", 3600, 3600),
        ],
    )
}

fn dev_drlc_012(ctx: &mut Ctx) -> Outcome {
    // Class 0x0004 (water heater) is not the thermostat's (HVAC, bit 0).
    run_device(
        ctx,
        PCT,
        "",
        &event_step("1m", 12, "device_class = 4\nduration_minutes = 30"),
        "1h",
    )?;
    expect_statuses(ctx, 12, &[])
}

fn dev_drlc_013(ctx: &mut Ctx) -> Outcome {
    run_device(
        ctx,
        PCT,
        "utility_enrollment_group = 3",
        &event_step(
            "1m",
            13,
            "utility_enrollment_group = 4\nduration_minutes = 30",
        ),
        "1h",
    )?;
    expect_statuses(ctx, 13, &[])
}

fn dev_drlc_014(ctx: &mut Ctx) -> Outcome {
    run_device(
        ctx,
        PCT,
        "utility_enrollment_group = 3",
        &event_step(
            "1m",
            14,
            "utility_enrollment_group = 3\nduration_minutes = 30",
        ),
        "1h",
    )?;
    expect_statuses(
        ctx,
        14,
        &[
            ("CommandReceived", 60, 61),
            ("Started", 60, 61),
            ("Completed", 1860, 1861),
        ],
    )
}

fn dev_drlc_015(ctx: &mut Ctx) -> Outcome {
    // At 3 h, an event that started at 1 h and lasted 30 minutes: over before it arrives.
    run_device(
        ctx,
        PCT,
        "",
        &event_step("3h", 15, "start_at = \"1h\"\nduration_minutes = 30"),
        "4h",
    )?;
    expect_statuses(ctx, 15, &[("RejectedExpired", 10800, 10801)])
}

fn dev_drlc_016(ctx: &mut Ctx) -> Outcome {
    run_device(
        ctx,
        PCT,
        "",
        &event_step("1m", 16, "duration_minutes = 1441"),
        "1h",
    )?;
    expect_statuses(ctx, 16, &[("Rejected", 60, 61)])
}

fn dev_drlc_017(ctx: &mut Ctx) -> Outcome {
    let rest = event_step("1m", 17, "start_in = \"10m\"\nduration_minutes = 30")
        + &user_step("2m", "opt_out", "issuer_event_id = 17");
    run_device(ctx, PCT, "", &rest, "1h")?;
    expect_statuses(
        ctx,
        17,
        &[
            ("CommandReceived", 60, 61),
            ("UserOptedOut", 120, 121),
            ("UserOptedOut", 660, 660),
            ("CompletedNoParticipation", 2460, 2460),
        ],
    )
}

fn dev_drlc_018(ctx: &mut Ctx) -> Outcome {
    let rest = event_step("1m", 18, "duration_minutes = 30")
        + &user_step("11m", "opt_out", "issuer_event_id = 18");
    run_device(ctx, PCT, "", &rest, "1h")?;
    expect_statuses(
        ctx,
        18,
        &[
            ("CommandReceived", 60, 61),
            ("Started", 60, 61),
            ("UserOptedOut", 660, 661),
            ("PartiallyCompletedWithOptOut", 1860, 1861),
        ],
    )
}

fn dev_drlc_019(ctx: &mut Ctx) -> Outcome {
    let rest = event_step("1m", 19, "duration_minutes = 30")
        + &event_step("2m", 19, "duration_minutes = 30");
    run_device(ctx, PCT, "", &rest, "1h")?;
    expect_statuses(
        ctx,
        19,
        &[
            ("CommandReceived", 60, 61),
            ("Started", 60, 61),
            ("Completed", 1860, 1861),
        ],
    )
}

fn dev_drlc_020(ctx: &mut Ctx) -> Outcome {
    run_device(ctx, PCT, "", &cancel_step("1m", 20, ""), "10m")?;
    expect_statuses(ctx, 20, &[("RejectedUndefinedEvent", 60, 61)])
}

fn dev_drlc_021(ctx: &mut Ctx) -> Outcome {
    run_device(
        ctx,
        "load-control",
        "",
        &event_step("1m", 21, "duration_minutes = 30"),
        "1h",
    )?;
    let applied = dut_log(ctx, "load_control_applied");
    let restored = dut_log(ctx, "load_control_restored");
    check(
        applied
            .first()
            .is_some_and(|e| e["load_on"] == false && at(e) == 60)
            && restored
                .first()
                .is_some_and(|e| e["load_on"] == true && at(e) == 1860),
        "the relay did not shed the load for the event",
        "load off at 60 s, on again at 1860 s",
        format!("applied {applied:?}, restored {restored:?}"),
    )
}

fn dev_drlc_022(ctx: &mut Ctx) -> Outcome {
    run_device(
        ctx,
        PCT,
        "",
        &event_step(
            "1m",
            22,
            "duration_minutes = 30\ncooling_offset = 20\nheating_offset = 15",
        ),
        "1h",
    )?;
    let applied = dut_log(ctx, "load_control_applied");
    let sp = applied.first().map(|e| e["set_points"].clone());
    check(
        sp == Some(serde_json::json!([2600, 1850])),
        "set points did not follow the offsets",
        "cooling 26.00 °C, heating 18.50 °C",
        format!("{sp:?}"),
    )
}

fn dev_drlc_023(ctx: &mut Ctx) -> Outcome {
    run_device(
        ctx,
        PCT,
        "",
        &event_step("1m", 23, "duration_minutes = 30\ncooling_set_point = 2750"),
        "1h",
    )?;
    let applied = dut_log(ctx, "load_control_applied");
    let sp = applied.first().map(|e| e["set_points"][0].clone());
    check(
        sp == Some(serde_json::json!(2750)),
        "the cooling set point was not applied",
        "27.50 °C",
        format!("{sp:?}"),
    )
}

fn dev_drlc_024(ctx: &mut Ctx) -> Outcome {
    let rest = event_step("1m", 24, "duration_minutes = 60")
        + &cancel_step("11m", 24, "effective_in = \"2h\"");
    run_device(ctx, PCT, "", &rest, "3h")?;
    expect_statuses(
        ctx,
        24,
        &[
            ("CommandReceived", 60, 61),
            ("Started", 60, 61),
            ("RejectedInvalidEffectiveTime", 660, 661),
            ("Completed", 3660, 3661),
        ],
    )
}

fn dev_drlc_025(ctx: &mut Ctx) -> Outcome {
    // Reports carry the event's control fields back.
    run_device(
        ctx,
        PCT,
        "",
        &event_step(
            "1m",
            25,
            "duration_minutes = 30\ncriticality = 7\nduty_cycle = 40",
        ),
        "1h",
    )?;
    let run = ctx
        .output
        .as_ref()
        .ok_or_else(|| CaseError::Rig("no run".into()))?;
    let reports = received_named(run, "rig-esi", "report_event_status");
    let ok = !reports.is_empty()
        && reports.iter().all(|r| {
            r["command"]["criticality_level_applied"] == 7
                && r["command"]["duty_cycle_applied"] == 40
                && r["command"]["signature_type"] == 0
        });
    check(
        ok,
        "Report Event Status did not carry the applied values",
        "criticality 7, duty cycle 40, no signature in every report",
        format!("{} report(s)", reports.len()),
    )
}

fn dev_drlc_026(ctx: &mut Ctx) -> Outcome {
    let rest = event_step("1m", 26, "duration_minutes = 30")
        + &user_step("5m", "opt_out", "issuer_event_id = 26")
        + &user_step("10m", "opt_in", "issuer_event_id = 26");
    run_device(ctx, PCT, "", &rest, "1h")?;
    expect_statuses(
        ctx,
        26,
        &[
            ("CommandReceived", 60, 61),
            ("Started", 60, 61),
            ("UserOptedOut", 300, 301),
            ("UserOptedIn", 600, 601),
            ("PartiallyCompletedWithOptIn", 1860, 1861),
        ],
    )
}

// ----- device suite: metering display -----

fn dev_met_001(ctx: &mut Ctx) -> Outcome {
    run_device(ctx, "in-home-display", "", "", "1m")?;
    let run = ctx
        .output
        .as_ref()
        .ok_or_else(|| CaseError::Rig("no run".into()))?;
    let reads = received_named(run, "rig-esi", "read_attributes");
    let attrs: Vec<u64> = reads
        .iter()
        .flat_map(|r| {
            r["command"]["attributes"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|a| a.as_u64())
        .collect();
    let needed = [0x0000, 0x0400, 0x0300, 0x0301, 0x0302, 0x0303];
    check(
        needed.iter().all(|a| attrs.contains(a)),
        "the display did not read what it needs to show the meter",
        "summation, demand, unit, multiplier, divisor, summation formatting",
        format!("{attrs:x?}"),
    )
}

fn dev_met_002(ctx: &mut Ctx) -> Outcome {
    run_device(ctx, "in-home-display", "", "", "1m")?;
    let shown = dut_log(ctx, "metering_display");
    let summation = shown.last().map(|e| e["summation"].clone());
    check(
        summation == Some(serde_json::json!("00123.456 kWh")),
        "the summation was shown wrongly",
        "00123.456 kWh (123456 Wh, divisor 1000, formatting 0x2B)",
        format!("{summation:?}"),
    )
}

fn dev_met_003(ctx: &mut Ctx) -> Outcome {
    run_device(ctx, "in-home-display", "", "", "1m")?;
    let shown = dut_log(ctx, "metering_display");
    let demand = shown.last().map(|e| e["demand"].clone());
    check(
        demand == Some(serde_json::json!("01.500 kW")),
        "the demand was shown wrongly",
        "01.500 kW (1500 W, divisor 1000, formatting 0x13)",
        format!("{demand:?}"),
    )
}

fn dev_met_004(ctx: &mut Ctx) -> Outcome {
    let rest = user_step("30m", "read_metering", "");
    run_device(ctx, "in-home-display", "", &rest, "31m")?;
    let shown = dut_log(ctx, "metering_display");
    let last = shown.last().map(|e| e["summation"].clone());
    // 1.5 kW for 30 minutes: 750 Wh more.
    check(
        last == Some(serde_json::json!("00124.206 kWh")),
        "the display did not follow the meter",
        "00124.206 kWh after 30 min at 1.5 kW",
        format!("{last:?}"),
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
        Case { id: $id, suite: Suite::$suite, dut: DutKind::$dut, title: $title, clause: $clause, preconditions: $pre, steps: &[$($step),*], expected: $expected, run: $f }
    };
}

/// Every case, device suite then meter suite.
pub static CASES: &[Case] = &[
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
        "Transport Key opened (MIC correct); the DUT then talks SE (Get Current Price, Get Last Message, Read Attributes) within 1 minute",
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
        "The DUT cannot open the Transport Key: no join, no SE frame",
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
        "No join",
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
        "Association Response status 0x01; the DUT sends nothing more",
        dev_join_004
    ),
    case!(
        "DEV-TIME-001",
        Device,
        Thermostat,
        "Takes its time from the meter",
        "SE 1.0: devices synchronise to the ESI's Time cluster (0x000A)",
        JOINED,
        ["Power the DUT"],
        "Read Attributes of Time 0x0000 (and TimeStatus) after joining",
        dev_time_001
    ),
    case!(
        "DEV-BASIC-001",
        Device,
        Thermostat,
        "Serves its Basic attributes",
        "ZCL Basic cluster 0x0000 (mandatory server)",
        JOINED,
        ["At 30 s the ESI reads ZCLVersion, ManufacturerName, ModelIdentifier"],
        "SUCCESS: uint8, char string, char string",
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
        "UNSUPPORTED_ATTRIBUTE (0x86)",
        dev_basic_002
    ),
    case!(
        "DEV-PRICE-001",
        Device,
        InHomeDisplay,
        "Asks for the current price after joining",
        "SE 1.0 Price client, Get Current Price (0x0700 c→s 0x00)",
        JOINED,
        ["Power the DUT"],
        "Get Current Price within 1 minute of joining",
        dev_price_001
    ),
    case!(
        "DEV-PRICE-002",
        Device,
        InHomeDisplay,
        "Takes a published price",
        "SE 1.0 Publish Price (0x0700 s→c 0x00)",
        JOINED,
        ["At 30 s the ESI publishes price 1250, start now"],
        "The price is current from 30 s",
        dev_price_002
    ),
    case!(
        "DEV-PRICE-003",
        Device,
        InHomeDisplay,
        "Acknowledges a price that asks for it",
        "SE 1.1 Price Control bit 0, Price Acknowledgement (0x0700 c→s 0x02)",
        JOINED,
        ["At 30 s the ESI publishes a price with Price Control 0x01"],
        "One Price Acknowledgement (issuer event 100) within 5 s",
        dev_price_003
    ),
    case!(
        "DEV-PRICE-004",
        Device,
        InHomeDisplay,
        "Does not acknowledge a price that does not ask",
        "SE 1.1 Price Control",
        JOINED,
        ["At 30 s the ESI publishes a price with Price Control 0x00"],
        "No Price Acknowledgement",
        dev_price_004
    ),
    case!(
        "DEV-PRICE-005",
        Device,
        InHomeDisplay,
        "Applies a scheduled price at its start",
        "SE 1.0 Publish Price start time",
        JOINED,
        ["At 30 s the ESI publishes a price starting 10 minutes later, for 30 minutes"],
        "The price becomes current at 630 s",
        dev_price_005
    ),
    case!(
        "DEV-PRICE-006",
        Device,
        InHomeDisplay,
        "Ends a price with its duration",
        "SE 1.0 Publish Price duration",
        JOINED,
        ["At 30 s the ESI publishes a 10-minute price"],
        "No price in force from 630 s",
        dev_price_006
    ),
    case!(
        "DEV-MSG-001",
        Device,
        InHomeDisplay,
        "Shows a message",
        "SE 1.0 Display Message (0x0703 s→c 0x00); SMT §5.6 text messages",
        JOINED,
        ["At 30 s the ESI sends message 7 for 10 minutes"],
        "Message 7 shown at 30 s",
        dev_msg_001
    ),
    case!(
        "DEV-MSG-002",
        Device,
        InHomeDisplay,
        "Confirms a message that requires it",
        "SE 1.0 Message Control bit 7, Message Confirmation (0x0703 c→s 0x01)",
        JOINED,
        [
            "At 30 s the ESI sends message 8 requiring confirmation",
            "At 60 s the user confirms"
        ],
        "One Message Confirmation for message 8 within 5 s of the user",
        dev_msg_002
    ),
    case!(
        "DEV-MSG-003",
        Device,
        InHomeDisplay,
        "Does not confirm a message that does not ask",
        "SE 1.0 Message Control bit 7",
        JOINED,
        [
            "At 30 s the ESI sends message 9 without confirmation",
            "At 60 s the user presses confirm"
        ],
        "No Message Confirmation",
        dev_msg_003
    ),
    case!(
        "DEV-MSG-004",
        Device,
        InHomeDisplay,
        "Clears a cancelled message",
        "SE 1.0 Cancel Message (0x0703 s→c 0x01)",
        JOINED,
        ["At 30 s message 10", "At 60 s Cancel Message 10"],
        "Message 10 cleared at 60 s",
        dev_msg_004
    ),
    case!(
        "DEV-MSG-005",
        Device,
        InHomeDisplay,
        "Clears a message when its duration ends",
        "SE 1.0 Display Message duration",
        JOINED,
        ["At 30 s message 11 for 5 minutes"],
        "Message 11 cleared at 330 s",
        dev_msg_005
    ),
    case!(
        "DEV-MSG-006",
        Device,
        InHomeDisplay,
        "A new message replaces the current one",
        "SE 1.0 Display Message",
        JOINED,
        ["At 30 s message 12", "At 60 s message 13"],
        "Message 13 shown after 12",
        dev_msg_006
    ),
    case!(
        "DEV-MSG-007",
        Device,
        InHomeDisplay,
        "Fetches the last message after joining",
        "SE 1.0 Get Last Message (0x0703 c→s 0x00)",
        "The ESI sent message 14 before the DUT joined.",
        ["The DUT joins at 20 s"],
        "Get Last Message, then message 14 shown",
        dev_msg_007
    ),
    case!(
        "DEV-DRLC-001",
        Device,
        Thermostat,
        "Runs an immediate event",
        DRLC,
        JOINED,
        ["At 60 s an LCE starting now for 30 minutes"],
        "0x01 and 0x02 at 60 s, 0x03 at 1860 s",
        dev_drlc_001
    ),
    case!(
        "DEV-DRLC-002",
        Device,
        Thermostat,
        "Runs a scheduled event at its start",
        DRLC,
        JOINED,
        ["At 60 s an LCE starting 10 minutes later for 30 minutes"],
        "0x01 at 60 s, 0x02 at 660 s, 0x03 at 2460 s",
        dev_drlc_002
    ),
    case!(
        "DEV-DRLC-003",
        Device,
        Thermostat,
        "Runs a two-hour event to completion",
        DRLC,
        JOINED,
        ["At 60 s an LCE starting 2 minutes later for 120 minutes"],
        "0x02 at 180 s, 0x03 at 7380 s",
        dev_drlc_003
    ),
    case!(
        "DEV-DRLC-004",
        Device,
        Thermostat,
        "Randomises starts inside the window",
        DRLC,
        "StartRandomizationMinutes = 30.",
        ["Three LCEs with Event Control bit 0, 3 hours apart"],
        "Each 0x02 within [start, start + 30 min]",
        dev_drlc_004
    ),
    case!(
        "DEV-DRLC-005",
        Device,
        Thermostat,
        "Randomises the end inside the window",
        DRLC,
        "DurationRandomizationMinutes = 15.",
        ["An LCE with Event Control bit 1, 60 minutes"],
        "0x03 within [end, end + 15 min]",
        dev_drlc_005
    ),
    case!(
        "DEV-DRLC-006",
        Device,
        Thermostat,
        "Cancels a running event now",
        DRLC,
        JOINED,
        [
            "At 60 s an LCE for 60 minutes",
            "At 660 s Cancel (effective now)"
        ],
        "0x06 at 660 s",
        dev_drlc_006
    ),
    case!(
        "DEV-DRLC-007",
        Device,
        Thermostat,
        "Cancels at the effective time",
        DRLC,
        JOINED,
        [
            "At 60 s an LCE for 60 minutes",
            "At 660 s Cancel effective 10 minutes later"
        ],
        "0x06 at 1260 s",
        dev_drlc_007
    ),
    case!(
        "DEV-DRLC-008",
        Device,
        Thermostat,
        "Cancels with randomised end inside the window",
        DRLC,
        "DurationRandomizationMinutes = 15.",
        [
            "An LCE with Event Control bit 1",
            "Cancel with Cancel Control bit 0, effective at 1260 s"
        ],
        "0x06 within [1260, 2160] s",
        dev_drlc_008
    ),
    case!(
        "DEV-DRLC-009",
        Device,
        Thermostat,
        "Cancel All cancels every event",
        DRLC,
        JOINED,
        ["A running and a scheduled LCE", "At 660 s Cancel All"],
        "0x06 for both at 660 s",
        dev_drlc_009
    ),
    case!(
        "DEV-DRLC-010",
        Device,
        Thermostat,
        "An overlapping event supersedes a scheduled one",
        DRLC,
        JOINED,
        [
            "At 60 s LCE 101 at +30 min",
            "At 300 s overlapping LCE 102 at +45 min"
        ],
        "0x07 for 101 at 300 s; 102 runs",
        dev_drlc_010
    ),
    case!(
        "DEV-DRLC-011",
        Device,
        Thermostat,
        "An overlapping event supersedes a running one a second before it starts",
        DRLC,
        JOINED,
        [
            "At 60 s LCE 111 for 120 minutes",
            "At 300 s LCE 112 starting at 1800 s"
        ],
        "0x07 for 111 at 1799 s; 0x02 for 112 at 1800 s",
        dev_drlc_011
    ),
    case!(
        "DEV-DRLC-012",
        Device,
        Thermostat,
        "Ignores an event for another device class",
        DRLC,
        "The DUT is an HVAC device (class bit 0).",
        ["An LCE for class 0x0004 (water heater)"],
        "No Report Event Status",
        dev_drlc_012
    ),
    case!(
        "DEV-DRLC-013",
        Device,
        Thermostat,
        "Ignores an event for another enrollment group",
        DRLC,
        "The DUT is in utility enrollment group 3.",
        ["An LCE for group 4"],
        "No Report Event Status",
        dev_drlc_013
    ),
    case!(
        "DEV-DRLC-014",
        Device,
        Thermostat,
        "Takes an event for its enrollment group",
        DRLC,
        "The DUT is in utility enrollment group 3.",
        ["An LCE for group 3"],
        "0x01, 0x02, 0x03",
        dev_drlc_014
    ),
    case!(
        "DEV-DRLC-015",
        Device,
        Thermostat,
        "Rejects an event that is already over",
        DRLC,
        JOINED,
        ["At 3 h an LCE that started at 1 h for 30 minutes"],
        "0xFB at 10800 s",
        dev_drlc_015
    ),
    case!(
        "DEV-DRLC-016",
        Device,
        Thermostat,
        "Rejects an event over 1440 minutes",
        DRLC,
        JOINED,
        ["An LCE of 1441 minutes"],
        "0xFE at 60 s",
        dev_drlc_016
    ),
    case!(
        "DEV-DRLC-017",
        Device,
        Thermostat,
        "User opt-out before the start",
        DRLC,
        JOINED,
        ["An LCE at +10 min", "The user opts out at 120 s"],
        "0x04 at 120 s and 660 s, 0x0A at the end",
        dev_drlc_017
    ),
    case!(
        "DEV-DRLC-018",
        Device,
        Thermostat,
        "User opt-out during the event",
        DRLC,
        JOINED,
        ["An LCE now for 30 minutes", "Opt out at 660 s"],
        "0x04 at 660 s, 0x08 at 1860 s",
        dev_drlc_018
    ),
    case!(
        "DEV-DRLC-019",
        Device,
        Thermostat,
        "Ignores a duplicate event",
        DRLC,
        JOINED,
        ["The same LCE at 60 s and 120 s"],
        "One 0x01; the event runs once",
        dev_drlc_019
    ),
    case!(
        "DEV-DRLC-020",
        Device,
        Thermostat,
        "Rejects a cancel of an unknown event",
        DRLC,
        JOINED,
        ["Cancel of event 20, never sent"],
        "0xFD at 60 s",
        dev_drlc_020
    ),
    case!(
        "DEV-DRLC-021",
        Device,
        LoadControl,
        "A load-control device sheds its load",
        "SE 1.0 DRLC; SMT §5.6 load control",
        JOINED,
        ["An LCE now for 30 minutes"],
        "Load off at 60 s, on at 1860 s",
        dev_drlc_021
    ),
    case!(
        "DEV-DRLC-022",
        Device,
        Thermostat,
        "A thermostat applies temperature offsets",
        "SE 1.0 LCE cooling/heating temperature offset (0.1 °C)",
        "Normal set points 24.00 / 20.00 °C.",
        ["An LCE with offsets +2.0 / −1.5 °C"],
        "Set points 26.00 / 18.50 °C",
        dev_drlc_022
    ),
    case!(
        "DEV-DRLC-023",
        Device,
        Thermostat,
        "A thermostat applies a cooling set point",
        "SE 1.0 LCE cooling temperature set point (0.01 °C)",
        JOINED,
        ["An LCE with cooling set point 27.50 °C"],
        "Cooling set point 27.50 °C",
        dev_drlc_023
    ),
    case!(
        "DEV-DRLC-024",
        Device,
        Thermostat,
        "Rejects a cancel effective after the end",
        DRLC,
        JOINED,
        ["An LCE for 60 minutes", "Cancel effective 2 hours later"],
        "0xF9 at 660 s; the event completes",
        dev_drlc_024
    ),
    case!(
        "DEV-DRLC-025",
        Device,
        Thermostat,
        "Reports carry the applied values",
        "SE 1.0 Report Event Status (0x0701 c→s 0x00)",
        JOINED,
        ["An LCE with criticality 7 and duty cycle 40 %"],
        "Every report: criticality 7, duty cycle 40, signature type 0",
        dev_drlc_025
    ),
    case!(
        "DEV-DRLC-026",
        Device,
        Thermostat,
        "User opts out and back in",
        DRLC,
        JOINED,
        ["An LCE now for 30 minutes", "Opt out at 300 s, in at 600 s"],
        "0x04, 0x05, then 0x09 at the end",
        dev_drlc_026
    ),
    case!(
        "DEV-MET-001",
        Device,
        InHomeDisplay,
        "Reads what it needs to show the meter",
        "SE 1.0 Metering attributes 0x0000, 0x0300–0x0303, 0x0400",
        JOINED,
        ["Power the DUT"],
        "Read Attributes of summation, demand, unit, multiplier, divisor, formatting",
        dev_met_001
    ),
    case!(
        "DEV-MET-002",
        Device,
        InHomeDisplay,
        "Shows the summation with the meter's formatting",
        "SE 1.0 Multiplier/Divisor/SummationFormatting",
        "Summation 123456 Wh, divisor 1000, formatting 0x2B.",
        ["Power the DUT"],
        "00123.456 kWh",
        dev_met_002
    ),
    case!(
        "DEV-MET-003",
        Device,
        InHomeDisplay,
        "Shows the demand with the meter's formatting",
        "SE 1.0 InstantaneousDemand, DemandFormatting",
        "Demand 1500 W, divisor 1000, formatting 0x13.",
        ["Power the DUT"],
        "01.500 kW",
        dev_met_003
    ),
    case!(
        "DEV-MET-004",
        Device,
        InHomeDisplay,
        "Follows the meter's summation",
        "SE 1.0 CurrentSummationDelivered",
        "Load 1.5 kW.",
        ["Read again after 30 minutes"],
        "00124.206 kWh",
        dev_met_004
    ),
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
