//! Messaging client: showing, replacing, clearing, fetching and confirming messages.

use hanrig_scenario::scenario::{Action, CancelMessageStep};
use hanrig_sep::clusters::messaging as sep_messaging;
use hanrig_sep::zcl::command::Command;

use super::{
    JOINED, MessageStep, RIG, after, at, before, check_time, dut, dut_sent, message, network,
    run_joined, secs, user_message,
};
use crate::cases::{Case, case};
use crate::ctx::{CaseError, Ctx, Outcome, check};
use crate::instrument::Probe;

pub(super) static CASES: &[Case] = &[
    case!(
        "DEV-MSG-001",
        Device,
        InHomeDisplay,
        "Shows a message",
        "SE 1.0 Display Message (0x0703 s→c 0x00); SMT §5.6 text messages",
        JOINED,
        ["At 30 s the ESI sends message 7 for 10 minutes"],
        "Operator: no message before 30 s; \"Message 7\" from 30 s to 630 s; none after",
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
        "On the air: one Message Confirmation within 5 s of the user — Message ID 8, Confirmation Time the moment it is sent",
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
        "On the air: no Message Confirmation",
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
        "Operator: \"Message 10\" shown until 60 s, no message after",
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
        "Operator: \"Message 11\" shown until 330 s, no message after",
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
        "Operator: \"Message 12\" until 60 s, \"Message 13\" after",
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
        "On the air: Get Last Message from the DUT; operator: \"Message 14\" shown by 25 s",
        dev_msg_007
    ),
    case!(
        "DEV-MSG-008",
        Device,
        InHomeDisplay,
        "A cancel of another message leaves the current one shown",
        "SE 1.0 Cancel Message (0x0703 s→c 0x01)",
        JOINED,
        [
            "At 30 s message 15",
            "At 60 s Cancel Message 99 (never sent)"
        ],
        "Operator: \"Message 15\" still shown after 60 s",
        dev_msg_008
    ),
    case!(
        "DEV-MSG-009",
        Device,
        InHomeDisplay,
        "A message until changed stays",
        "SE 1.0 Display Message duration 0xFFFF (until changed)",
        JOINED,
        ["At 30 s message 16 with duration 0xFFFF"],
        "Operator: \"Message 16\" shown at 2 h",
        dev_msg_009
    ),
    case!(
        "DEV-MSG-010",
        Device,
        InHomeDisplay,
        "A message with a scheduled start is shown from its start for its duration",
        "SE 1.0 Display Message Start Time (UTC; 0 = now) and Duration In Minutes",
        JOINED,
        ["At 30 s message 17 starting 10 minutes later, for 5 minutes"],
        "Operator: nothing shown before 630 s, \"Message 17\" from 630 s to 930 s, nothing after",
        dev_msg_010
    ),
];

fn text(id: u32) -> Probe {
    Probe::Message(Some(format!("Message {id}")))
}

fn dev_msg_001(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "15m");
    at(
        &mut net,
        "30s",
        Action::DisplayMessage(MessageStep {
            duration_minutes: Some(10),
            ..message(7)
        }),
    );
    ctx.probe(before(ctx, 30), Probe::Message(None));
    ctx.probe(after(ctx, 30), text(7));
    ctx.probe(before(ctx, 630), text(7));
    ctx.probe(after(ctx, 630), Probe::Message(None));
    run_joined(ctx, &net)
}

fn confirmations(
    ctx: &Ctx,
) -> Result<Vec<(&super::Heard, sep_messaging::MessageConfirmation)>, CaseError> {
    Ok(
        dut_sent(ctx, sep_messaging::CLUSTER_ID, 0x01, "Message Confirmation")?
            .into_iter()
            .filter_map(|(h, _, c)| match c {
                Command::MessageConfirmation(m) => Some((h, m.clone())),
                _ => None,
            })
            .collect(),
    )
}

fn dev_msg_002(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "2m");
    at(
        &mut net,
        "30s",
        Action::DisplayMessage(MessageStep {
            confirm: true,
            ..message(8)
        }),
    );
    at(&mut net, "1m", Action::ConfirmMessage(user_message(8)));
    run_joined(ctx, &net)?;
    let got = confirmations(ctx)?;
    let [(h, m)] = &got[..] else {
        return check(
            false,
            "no single Message Confirmation after the user confirmed",
            "one Message Confirmation for message 8 within 5 s of the user's confirmation",
            format!("{} confirmation(s)", got.len()),
        );
    };
    check(
        m.message_id == 8 && (60..=65 + ctx.tolerance_s).contains(&secs(h)),
        "the Message Confirmation does not confirm message 8 in time",
        "Message ID 8, sent within 5 s of the user's confirmation at 60 s",
        format!("Message ID {} at {} s", m.message_id, secs(h)),
    )?;
    check_time(ctx, "Confirmation Time", m.confirmation_time, h)
}

fn dev_msg_003(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "2m");
    at(&mut net, "30s", Action::DisplayMessage(message(9)));
    at(&mut net, "1m", Action::ConfirmMessage(user_message(9)));
    run_joined(ctx, &net)?;
    let n = confirmations(ctx)?.len();
    check(
        n == 0,
        "confirmed a message that did not ask for it",
        "no Message Confirmation",
        format!("{n}"),
    )
}

fn dev_msg_004(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "2m");
    at(&mut net, "30s", Action::DisplayMessage(message(10)));
    at(
        &mut net,
        "1m",
        Action::CancelMessage(CancelMessageStep {
            meter: RIG.into(),
            message_id: 10,
        }),
    );
    ctx.probe(before(ctx, 60), text(10));
    ctx.probe(after(ctx, 60), Probe::Message(None));
    run_joined(ctx, &net)
}

fn dev_msg_005(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "10m");
    at(
        &mut net,
        "30s",
        Action::DisplayMessage(MessageStep {
            duration_minutes: Some(5),
            ..message(11)
        }),
    );
    ctx.probe(before(ctx, 330), text(11));
    ctx.probe(after(ctx, 330), Probe::Message(None));
    run_joined(ctx, &net)
}

fn dev_msg_006(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "2m");
    at(&mut net, "30s", Action::DisplayMessage(message(12)));
    at(&mut net, "1m", Action::DisplayMessage(message(13)));
    ctx.probe(before(ctx, 60), text(12));
    ctx.probe(after(ctx, 60), text(13));
    run_joined(ctx, &net)
}

fn dev_msg_008(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "2m");
    at(&mut net, "30s", Action::DisplayMessage(message(15)));
    at(
        &mut net,
        "1m",
        Action::CancelMessage(CancelMessageStep {
            meter: RIG.into(),
            message_id: 99,
        }),
    );
    ctx.probe(after(ctx, 60), text(15));
    run_joined(ctx, &net)
}

fn dev_msg_009(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "2h1m");
    at(&mut net, "30s", Action::DisplayMessage(message(16)));
    ctx.probe(7200.0, text(16));
    run_joined(ctx, &net)
}

fn dev_msg_007(ctx: &mut Ctx) -> Outcome {
    // The message is sent before the DUT joins; it must ask for it with Get Last Message.
    let mut net = network("in-home-display", "1m");
    dut(&mut net).join_at = "20s".into();
    at(&mut net, "5s", Action::DisplayMessage(message(14)));
    ctx.probe(after(ctx, 24), text(14));
    run_joined(ctx, &net)?;
    let asked = dut_sent(ctx, sep_messaging::CLUSTER_ID, 0x00, "Get Last Message")?;
    check(
        !asked.is_empty(),
        "the last message was not fetched after joining",
        "Get Last Message (0x0703 c→s 0x00) from the DUT",
        "none on the air",
    )
}

fn dev_msg_010(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "20m");
    at(
        &mut net,
        "30s",
        Action::DisplayMessage(MessageStep {
            start_in: Some("10m".into()),
            duration_minutes: Some(5),
            ..message(17)
        }),
    );
    ctx.probe(after(ctx, 30), Probe::Message(None));
    ctx.probe(before(ctx, 630), Probe::Message(None));
    ctx.probe(after(ctx, 630), text(17));
    ctx.probe(before(ctx, 930), text(17));
    ctx.probe(after(ctx, 930), Probe::Message(None));
    run_joined(ctx, &net)
}
