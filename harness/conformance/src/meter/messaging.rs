//! Messaging server: Display Message to displays only, Get Last Message against the clock and
//! cancellations, confirmations, and late joiners.

use hanrig_scenario::scenario::{Action, CancelMessageStep, MessageStep, UserMessageStep};
use hanrig_sep::clusters::messaging::{self as sep_messaging, DisplayMessage};
use hanrig_sep::zcl::command::Command;

use super::price::ends_at;
use super::{
    IHD, RIG_JOINED, answered_default, at, commands, default_responses, eui, ihd, late, network,
    pct, requests, run_joined, send,
};
use crate::cases::{Case, case};
use crate::ctx::{CaseError, Ctx, Outcome, check, fail, start_us};
use crate::judge::secs;

pub(super) static CASES: &[Case] = &[
    case!(
        "MET-MSG-001",
        Meter,
        Meter,
        "Sends Display Message to Messaging clients",
        "SE 1.0 Messaging server",
        RIG_JOINED,
        ["Send message 5"],
        "On the air: the display gets it with the text as sent; the thermostat (no Messaging client) does not",
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
        "On the air: Display Message 5 in answer, with the request's TSN",
        met_msg_002
    ),
    case!(
        "MET-MSG-003",
        Meter,
        Meter,
        "Takes Message Confirmations",
        "SE 1.0 Message Confirmation; ZCL Default Response",
        RIG_JOINED,
        ["Message 5 requiring confirmation", "The user confirms"],
        "On the air: Default Response SUCCESS for the confirmation, with its TSN",
        met_msg_003
    ),
    case!(
        "MET-MSG-004",
        Meter,
        Meter,
        "Get Last Message after expiry or cancel is NOT_FOUND",
        "SE 1.0 Get Last Message (the message in force); ZCL Default Response",
        RIG_JOINED,
        [
            "Message 5 for 5 minutes at 30 s; Get Last Message at 10 min",
            "Message 6 until changed at 11 min, cancelled at 12 min; Get Last Message at 13 min"
        ],
        "On the air: Default Response 0x8B to both, no Display Message after 10 min but message 6 itself",
        met_msg_004
    ),
    case!(
        "MET-MSG-005",
        Meter,
        Meter,
        "A display that joins late gets the message with the time it has left",
        "SE 1.0 Display Message start time and duration (start now, minutes left)",
        RIG_JOINED,
        [
            "At 30 s a 60-minute message starting now",
            "A third display joins at 20 min and asks for the last message"
        ],
        "On the air: a Display Message to it ending when the message ends (15:00:30 ± 1 min)",
        met_msg_005
    ),
];

fn message(id: u32, text: &str) -> MessageStep {
    MessageStep {
        meter: "dut".into(),
        message_id: id,
        text: text.into(),
        start_in: None,
        duration_minutes: None,
        confirm: false,
        importance: 0,
    }
}

const GLM: &str = "{ name = \"get_last_message\" }";

fn messages_to(
    ctx: &Ctx,
    rig: hanrig_sep::Eui64,
) -> Result<Vec<(u64, u8, DisplayMessage)>, CaseError> {
    Ok(commands(ctx, rig, sep_messaging::CLUSTER_ID, 0x00)?
        .into_iter()
        .filter_map(|(h, f)| match &f.command {
            Command::DisplayMessage(m) => Some((secs(h), f.header.tsn, m.clone())),
            _ => None,
        })
        .collect())
}

fn met_msg_001(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1m");
    at(&mut net, "30s", Action::DisplayMessage(message(5, "hello")));
    run_joined(ctx, &net)?;
    let to_ihd = messages_to(ctx, ihd())?;
    let to_pct = messages_to(ctx, pct())?.len();
    check(
        to_ihd
            .first()
            .is_some_and(|(_, _, m)| m.message_id == 5 && m.message.as_bytes() == b"hello")
            && to_pct == 0,
        "Display Message not delivered to Messaging clients only, as sent",
        "message 5 \"hello\" to the display; nothing to the thermostat",
        format!(
            "display got {} message(s), thermostat {to_pct}",
            to_ihd.len()
        ),
    )
}

fn met_msg_002(ctx: &mut Ctx) -> Outcome {
    let mut net = network("2m");
    at(&mut net, "30s", Action::DisplayMessage(message(5, "hello")));
    send(&mut net, "1m", IHD.0, sep_messaging::CLUSTER_ID, GLM);
    run_joined(ctx, &net)?;
    let tsn = requests(ctx, ihd(), sep_messaging::CLUSTER_ID, 0x00);
    let got = messages_to(ctx, ihd())?;
    check(
        got.iter()
            .any(|(t, x, m)| *t >= 60 && tsn.contains(x) && m.message_id == 5),
        "Get Last Message was not answered",
        format!("Display Message 5 at 60 s or later with TSN in {tsn:?}"),
        format!("{} Display Message", got.len()),
    )
}

fn met_msg_003(ctx: &mut Ctx) -> Outcome {
    let mut net = network("2m");
    at(
        &mut net,
        "30s",
        Action::DisplayMessage(MessageStep {
            confirm: true,
            ..message(5, "hello")
        }),
    );
    at(
        &mut net,
        "1m",
        Action::ConfirmMessage(UserMessageStep {
            device: IHD.0.into(),
            message_id: 5,
        }),
    );
    run_joined(ctx, &net)?;
    answered_default(ctx, ihd(), sep_messaging::CLUSTER_ID, 0x01, 0x00)
}

fn met_msg_004(ctx: &mut Ctx) -> Outcome {
    let mut net = network("14m");
    at(
        &mut net,
        "30s",
        Action::DisplayMessage(MessageStep {
            duration_minutes: Some(5),
            ..message(5, "five minutes")
        }),
    );
    send(&mut net, "10m", IHD.0, sep_messaging::CLUSTER_ID, GLM);
    at(
        &mut net,
        "11m",
        Action::DisplayMessage(message(6, "until cancelled")),
    );
    at(
        &mut net,
        "12m",
        Action::CancelMessage(CancelMessageStep {
            meter: "dut".into(),
            message_id: 6,
        }),
    );
    send(&mut net, "13m", IHD.0, sep_messaging::CLUSTER_ID, GLM);
    run_joined(ctx, &net)?;
    let served: Vec<(u64, u32)> = messages_to(ctx, ihd())?
        .into_iter()
        .filter(|(t, _, m)| *t >= 600 && !(*t == 660 && m.message_id == 6))
        .map(|(t, _, m)| (t, m.message_id))
        .collect();
    check(
        served.is_empty(),
        "Get Last Message was answered with a message no longer in force",
        "no Display Message after 10 min but message 6 when it was sent",
        format!("{served:?}"),
    )?;
    let not_found = default_responses(ctx, ihd(), sep_messaging::CLUSTER_ID)?
        .into_iter()
        .filter(|(t, _, d)| *t >= 600 && d.command_id == 0x00 && u8::from(d.status) == 0x8B)
        .count();
    check(
        not_found == 2,
        "Get Last Message without a message in force was not answered NOT_FOUND",
        "2 Default Responses 0x8B (after expiry, after cancel)",
        format!("{not_found}"),
    )
}

fn met_msg_005(ctx: &mut Ctx) -> Outcome {
    let mut net = network("25m");
    at(
        &mut net,
        "30s",
        Action::DisplayMessage(MessageStep {
            duration_minutes: Some(60),
            ..message(5, "an hour")
        }),
    );
    let late_ihd = "00:12:4b:00:00:00:20:02";
    net.devices
        .push(late("late-ihd", "in-home-display", late_ihd, "20m"));
    run_joined(ctx, &net)?;
    let end = start_us() / 1_000_000 + 30 + 3600;
    let got = messages_to(ctx, eui(late_ihd))?;
    let Some((t, _, m)) = got.first() else {
        return Err(fail(
            "the late joiner's Get Last Message was not answered",
            "Display Message",
            "nothing",
        ));
    };
    check(
        ends_at(
            m.start_time,
            m.duration_in_minutes,
            start_us() / 1_000_000 + t,
            end,
        ),
        "a late joiner was given the message with the wrong time left",
        "a Display Message ending at 15:00:30 UTC",
        format!(
            "start {} duration {} min, sent at {t} s",
            m.start_time.0, m.duration_in_minutes
        ),
    )
}
