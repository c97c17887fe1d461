//! The Messaging client's rules, each pinned by the behaviour it names.

#![allow(clippy::unwrap_used)]

use hanrig_device::messaging::{CONFIRMATION_MEMORY, MessagingClient, MessagingOutput};
use hanrig_sep::clusters::messaging::{
    self, CancelMessage, DisplayMessage, MessageConfirmation, MessageControl,
};
use hanrig_sep::wire::CharString;
use hanrig_sep::{Command, UtcTime, ZclFrame};
use proptest::prelude::*;

const T0: u32 = 800_000_000; // 2025-05-07
const UNTIL_CHANGED: u16 = 0xFFFF;
const CONFIRM: u8 = MessageControl::CONFIRMATION_REQUIRED;

fn message(id: u32, control: u8, start: u32, minutes: u16, text: &str) -> DisplayMessage {
    DisplayMessage {
        message_id: id,
        message_control: MessageControl(control),
        start_time: UtcTime(start),
        duration_in_minutes: minutes,
        message: CharString::new(text.as_bytes()).unwrap(),
        extended_message_control: None,
    }
}

fn cancel(id: u32) -> CancelMessage {
    CancelMessage {
        message_id: id,
        message_control: MessageControl(0),
    }
}

/// Everything the client asks for: shown messages by ID and text, cleared IDs, and commands.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Show(u32, String),
    Clear(u32),
    Confirm(u32, u32),
    GetLastMessage,
    /// Any other command, by name.
    Other(&'static str),
}

fn drain(client: &mut MessagingClient) -> Vec<Seen> {
    let mut out = Vec::new();
    while let Some(o) = client.poll_output() {
        out.push(match o {
            MessagingOutput::Show(m) => Seen::Show(
                m.message_id,
                m.message.as_str().unwrap_or_default().to_owned(),
            ),
            MessagingOutput::Clear { message_id } => Seen::Clear(message_id),
            MessagingOutput::Send(Command::MessageConfirmation(c)) => {
                assert_eq!((c.confirmation_control, &c.response), (None, &None));
                Seen::Confirm(c.message_id, c.confirmation_time.0)
            }
            MessagingOutput::Send(Command::GetLastMessage(_)) => Seen::GetLastMessage,
            MessagingOutput::Send(other) => Seen::Other(other.name()),
        });
    }
    out
}

/// Runs the clock to `until`, waking the client whenever it asks.
fn run_until(client: &mut MessagingClient, until: u32) -> Vec<(u32, Seen)> {
    let mut seen = Vec::new();
    while let Some(t) = client.poll_timeout() {
        if t.0 > until {
            break;
        }
        client.handle_timeout(t);
        seen.extend(drain(client).into_iter().map(|s| (t.0, s)));
    }
    seen
}

use Seen::{Clear, Confirm, Show};

fn show(id: u32, text: &str) -> Seen {
    Show(id, text.to_owned())
}

#[test]
fn message_with_start_zero_is_shown_at_once_and_cleared_after_its_duration() {
    let mut c = MessagingClient::new();
    c.handle_display(UtcTime(T0), &message(1, 0, 0, 2, "Peak at 5pm"));
    assert_eq!(drain(&mut c), [show(1, "Peak at 5pm")]);
    assert_eq!(c.current().map(|m| m.message_id), Some(1));
    assert_eq!(c.poll_timeout(), Some(UtcTime(T0 + 120)));
    assert_eq!(run_until(&mut c, u32::MAX), [(T0 + 120, Clear(1))]);
    assert_eq!((c.current(), c.poll_timeout()), (None, None));
}

#[test]
fn message_with_a_future_start_is_held_until_then() {
    let mut c = MessagingClient::new();
    c.handle_display(UtcTime(T0), &message(1, 0, T0 + 600, 1, "Later"));
    assert_eq!(drain(&mut c), []);
    assert_eq!(c.current(), None);
    assert_eq!(
        c.pending().map(|(m, t)| (m.message_id, t)),
        Some((1, UtcTime(T0 + 600)))
    );
    assert_eq!(
        run_until(&mut c, u32::MAX),
        [(T0 + 600, show(1, "Later")), (T0 + 660, Clear(1))]
    );
}

#[test]
fn message_lasting_until_changed_stays_until_replaced() {
    let mut c = MessagingClient::new();
    c.handle_display(UtcTime(T0), &message(1, 0, 0, UNTIL_CHANGED, "Hello"));
    assert_eq!(drain(&mut c), [show(1, "Hello")]);
    assert_eq!(c.poll_timeout(), None);
    c.handle_display(
        UtcTime(T0 + 86_400),
        &message(2, 0, 0, UNTIL_CHANGED, "Bye"),
    );
    assert_eq!(drain(&mut c), [Clear(1), show(2, "Bye")]);
}

#[test]
fn new_message_clears_the_shown_one_and_replaces_it() {
    let mut c = MessagingClient::new();
    c.handle_display(UtcTime(T0), &message(1, 0, 0, 60, "One"));
    assert_eq!(drain(&mut c), [show(1, "One")]);
    c.handle_display(UtcTime(T0 + 10), &message(2, 0, 0, 1, "Two"));
    assert_eq!(drain(&mut c), [Clear(1), show(2, "Two")]);
    // The first message's end no longer matters; only the second's does.
    assert_eq!(run_until(&mut c, u32::MAX), [(T0 + 70, Clear(2))]);
}

#[test]
fn message_with_a_future_start_replaces_the_shown_one_at_once() {
    let mut c = MessagingClient::new();
    c.handle_display(UtcTime(T0), &message(1, 0, 0, 60, "Now"));
    c.handle_display(UtcTime(T0 + 10), &message(2, 0, T0 + 300, 1, "Soon"));
    assert_eq!(drain(&mut c), [show(1, "Now"), Clear(1)]);
    assert_eq!(c.current(), None);
    assert_eq!(
        run_until(&mut c, u32::MAX),
        [(T0 + 300, show(2, "Soon")), (T0 + 360, Clear(2))]
    );
}

#[test]
fn display_with_the_same_id_updates_the_shown_message_in_place() {
    let mut c = MessagingClient::new();
    c.handle_display(UtcTime(T0), &message(1, 0, 0, 10, "Price up"));
    c.handle_display(UtcTime(T0 + 60), &message(1, 0, 0, 10, "Price up 20%"));
    assert_eq!(
        drain(&mut c),
        [show(1, "Price up"), show(1, "Price up 20%")]
    );
    assert_eq!(
        c.current().and_then(|m| m.message.as_str()),
        Some("Price up 20%")
    );
    // The update starts "now" again: ten minutes from its receipt.
    assert_eq!(c.poll_timeout(), Some(UtcTime(T0 + 660)));
}

#[test]
fn retransmitted_message_is_ignored_and_keeps_its_first_start() {
    let mut c = MessagingClient::new();
    let m = message(1, 0, 0, 10, "Same");
    c.handle_display(UtcTime(T0), &m);
    c.handle_display(UtcTime(T0 + 300), &m);
    assert_eq!(drain(&mut c), [show(1, "Same")]);
    assert_eq!(c.poll_timeout(), Some(UtcTime(T0 + 600)));
}

#[test]
fn message_already_over_on_arrival_is_not_shown_but_replaces_the_shown_one() {
    let mut c = MessagingClient::new();
    c.handle_display(UtcTime(T0), &message(1, 0, 0, UNTIL_CHANGED, "Current"));
    c.handle_display(UtcTime(T0 + 7200), &message(2, 0, T0, 60, "Stale"));
    assert_eq!(drain(&mut c), [show(1, "Current"), Clear(1)]);
    assert_eq!((c.current(), c.poll_timeout()), (None, None));
}

#[test]
fn message_whose_window_passes_between_wake_ups_is_never_shown() {
    let mut c = MessagingClient::new();
    c.handle_display(UtcTime(T0), &message(1, CONFIRM, T0 + 60, 1, "Brief"));
    c.handle_timeout(UtcTime(T0 + 500));
    assert_eq!(drain(&mut c), []);
    assert_eq!(c.poll_timeout(), None);
    // Never shown, so there is nothing to confirm.
    c.confirm(UtcTime(T0 + 501), 1);
    assert_eq!(drain(&mut c), []);
}

#[test]
fn cancel_clears_the_shown_message_and_ignores_other_ids() {
    let mut c = MessagingClient::new();
    c.handle_display(UtcTime(T0), &message(1, 0, 0, 60, "Hi"));
    c.handle_cancel(UtcTime(T0 + 5), &cancel(9));
    assert_eq!(drain(&mut c), [show(1, "Hi")]);
    c.handle_cancel(UtcTime(T0 + 10), &cancel(1));
    assert_eq!(drain(&mut c), [Clear(1)]);
    assert_eq!((c.current(), c.poll_timeout()), (None, None));
    // A second cancel finds nothing.
    c.handle_cancel(UtcTime(T0 + 11), &cancel(1));
    assert_eq!(drain(&mut c), []);
}

#[test]
fn cancel_of_a_held_message_drops_it_before_it_is_shown() {
    let mut c = MessagingClient::new();
    c.handle_display(UtcTime(T0), &message(1, 0, T0 + 600, 10, "Later"));
    c.handle_cancel(UtcTime(T0 + 10), &cancel(1));
    assert_eq!(drain(&mut c), []);
    assert_eq!(c.poll_timeout(), None);
    assert_eq!(run_until(&mut c, u32::MAX), []);
}

#[test]
fn confirming_a_message_that_asks_sends_one_confirmation() {
    let mut c = MessagingClient::new();
    c.handle_display(UtcTime(T0), &message(1, CONFIRM, 0, 10, "OK?"));
    drain(&mut c);
    c.confirm(UtcTime(T0 + 42), 1);
    assert_eq!(drain(&mut c), [Confirm(1, T0 + 42)]);
    c.confirm(UtcTime(T0 + 43), 1);
    assert_eq!(drain(&mut c), []);
}

#[test]
fn confirming_a_message_that_does_not_ask_sends_nothing() {
    let mut c = MessagingClient::new();
    c.handle_display(UtcTime(T0), &message(1, 0x0C, 0, 10, "FYI")); // critical, no confirmation
    drain(&mut c);
    c.confirm(UtcTime(T0 + 1), 1);
    c.confirm(UtcTime(T0 + 1), 77); // never seen
    assert_eq!(drain(&mut c), []);
}

#[test]
fn message_is_confirmable_only_once_shown() {
    let mut c = MessagingClient::new();
    c.handle_display(UtcTime(T0), &message(1, CONFIRM, T0 + 60, 10, "Soon"));
    c.confirm(UtcTime(T0 + 1), 1);
    assert_eq!(drain(&mut c), []);
    c.handle_timeout(UtcTime(T0 + 60));
    c.confirm(UtcTime(T0 + 61), 1);
    assert_eq!(drain(&mut c), [show(1, "Soon"), Confirm(1, T0 + 61)]);
}

#[test]
fn message_that_was_shown_can_be_confirmed_after_it_is_cleared_or_replaced() {
    let mut c = MessagingClient::new();
    c.handle_display(UtcTime(T0), &message(1, CONFIRM, 0, 1, "First"));
    c.handle_display(UtcTime(T0 + 10), &message(2, CONFIRM, 0, 1, "Second"));
    run_until(&mut c, u32::MAX);
    drain(&mut c);
    c.confirm(UtcTime(T0 + 500), 1);
    c.confirm(UtcTime(T0 + 501), 2);
    assert_eq!(drain(&mut c), [Confirm(1, T0 + 500), Confirm(2, T0 + 501)]);
}

#[test]
fn update_keeps_a_message_confirmed_once() {
    let mut c = MessagingClient::new();
    c.handle_display(UtcTime(T0), &message(1, CONFIRM, 0, 10, "v1"));
    c.confirm(UtcTime(T0 + 1), 1);
    assert_eq!(drain(&mut c), [show(1, "v1"), Confirm(1, T0 + 1)]);
    c.handle_display(UtcTime(T0 + 2), &message(1, CONFIRM, 0, 10, "v2"));
    c.confirm(UtcTime(T0 + 3), 1);
    assert_eq!(drain(&mut c), [show(1, "v2")]);
}

#[test]
fn only_the_last_confirmation_memory_messages_can_be_confirmed() {
    let mut c = MessagingClient::new();
    let n = CONFIRMATION_MEMORY as u32 + 1;
    for id in 1..=n {
        c.handle_display(UtcTime(T0 + id), &message(id, CONFIRM, 0, 1, "m"));
    }
    drain(&mut c);
    let mut confirmed = Vec::new();
    for id in 1..=n {
        c.confirm(UtcTime(T0 + 100), id);
        confirmed.extend(drain(&mut c).into_iter().filter_map(|s| match s {
            Confirm(id, _) => Some(id),
            _ => None,
        }));
    }
    assert_eq!(confirmed, (2..=n).collect::<Vec<_>>());
}

#[test]
fn request_last_message_sends_get_last_message() {
    let mut c = MessagingClient::new();
    c.request_last_message();
    assert_eq!(drain(&mut c), [Seen::GetLastMessage]);
}

/// The commands the client sends are frames the codec emits: cluster-specific, client to
/// server, on the Messaging cluster (`sep1-wire-facts.md` §2).
#[test]
fn sent_commands_emit_as_messaging_frames() {
    let mut c = MessagingClient::new();
    let mut frames = Vec::new();
    let mut sent = |c: &mut MessagingClient| {
        while let Some(o) = c.poll_output() {
            if let MessagingOutput::Send(command) = o {
                let frame = ZclFrame::new(messaging::CLUSTER_ID, command, 7).unwrap();
                let mut buf = [0u8; 127];
                let len = frame.emit(&mut buf).unwrap();
                frames.push(buf[..len].to_vec());
            }
        }
    };
    c.request_last_message();
    sent(&mut c);
    c.handle_display(UtcTime(T0), &message(0x1234_5678, CONFIRM, 0, 10, "OK?"));
    sent(&mut c);
    c.confirm(UtcTime(0x2FAF_0800), 0x1234_5678);
    sent(&mut c);
    assert_eq!(
        frames,
        [
            vec![0x01, 7, 0x00],
            vec![
                0x01, 7, 0x01, 0x78, 0x56, 0x34, 0x12, 0x00, 0x08, 0xAF, 0x2F
            ],
        ]
    );
    // And the codec reads the confirmation back as SE 1.0 (no 1.2a fields).
    let back = ZclFrame::parse(messaging::CLUSTER_ID, &frames[1]).unwrap();
    assert_eq!(
        back.command,
        Command::MessageConfirmation(MessageConfirmation {
            message_id: 0x1234_5678,
            confirmation_time: UtcTime(0x2FAF_0800),
            confirmation_control: None,
            response: None,
        })
    );
}

#[derive(Debug, Clone)]
enum Op {
    Display {
        id: u32,
        confirm: bool,
        start_in: Option<u32>,
        minutes: u16,
        text: u8,
    },
    Cancel(u32),
    Confirm(u32),
    Wait(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            0u32..4,
            any::<bool>(),
            proptest::option::of(0u32..1200),
            prop_oneof![0u16..30, Just(UNTIL_CHANGED)],
            0u8..3
        )
            .prop_map(|(id, confirm, start_in, minutes, text)| Op::Display {
                id,
                confirm,
                start_in,
                minutes,
                text
            }),
        (0u32..4).prop_map(Op::Cancel),
        (0u32..4).prop_map(Op::Confirm),
        (0u32..3000).prop_map(Op::Wait),
    ]
}

proptest! {
    /// Whatever the ESI and the user do, the outputs describe a screen: a message is cleared
    /// before another is shown, only the shown message is cleared, the screen the outputs
    /// describe is `current()`, and each message ID is confirmed at most once.
    #[test]
    fn outputs_track_the_screen_and_confirm_each_message_once(ops in proptest::collection::vec(op(), 1..40)) {
        let mut c = MessagingClient::new();
        let mut now = T0;
        let mut screen: Option<u32> = None;
        let mut confirmed = Vec::new();
        for op in ops {
            match op {
                Op::Display { id, confirm, start_in, minutes, text } => {
                    let start = start_in.map_or(0, |s| now + s);
                    let control = if confirm { CONFIRM } else { 0 };
                    c.handle_display(UtcTime(now), &message(id, control, start, minutes, ["a", "b", "c"][usize::from(text)]));
                }
                Op::Cancel(id) => c.handle_cancel(UtcTime(now), &cancel(id)),
                Op::Confirm(id) => c.confirm(UtcTime(now), id),
                Op::Wait(s) => {
                    let until = now + s;
                    while let Some(t) = c.poll_timeout().filter(|t| t.0 <= until) {
                        prop_assert!(t.0 >= now, "timeout in the past");
                        now = t.0;
                        c.handle_timeout(t);
                        check(&mut c, &mut screen, &mut confirmed)?;
                    }
                    now = until;
                    c.handle_timeout(UtcTime(now));
                }
            }
            check(&mut c, &mut screen, &mut confirmed)?;
        }
    }
}

fn check(
    c: &mut MessagingClient,
    screen: &mut Option<u32>,
    confirmed: &mut Vec<u32>,
) -> Result<(), TestCaseError> {
    while let Some(o) = c.poll_output() {
        match o {
            MessagingOutput::Show(m) => {
                prop_assert!(
                    screen.is_none_or(|s| s == m.message_id),
                    "shown over {screen:?}"
                );
                *screen = Some(m.message_id);
            }
            MessagingOutput::Clear { message_id } => {
                prop_assert_eq!(*screen, Some(message_id));
                *screen = None;
            }
            MessagingOutput::Send(Command::MessageConfirmation(m)) => {
                prop_assert!(!confirmed.contains(&m.message_id));
                confirmed.push(m.message_id);
            }
            MessagingOutput::Send(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }
    prop_assert_eq!(*screen, c.current().map(|m| m.message_id));
    Ok(())
}
