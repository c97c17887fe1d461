//! The Messaging client: the message store of an in-home display.
//!
//! Sans-IO: feed it commands from the ESI ([`MessagingClient::handle_display`],
//! [`handle_cancel`]), the user's confirmations ([`confirm`]) and the clock ([`handle_timeout`]
//! at [`poll_timeout`]); take from [`poll_output`] what to show, what to stop showing and what to
//! send.
//!
//! Rules (SE 1.0 Messaging client as the EmberZNet reference client reads 075356r15, one
//! message slot; `sep1-wire-facts.md` §2):
//! - one message is held at a time; a Display Message replaces it, and a message that was
//!   showing is cleared ([`MessagingOutput::Clear`]) unless the new one has the same ID and
//!   shows at once, which updates it in place (a new [`MessagingOutput::Show`], no Clear);
//! - a Display Message identical to the held one (a retransmission) is ignored, so a repeated
//!   "start now" message keeps its first start;
//! - start time 0 is the time of receipt; a message is shown from its start for its duration
//!   in minutes, duration 0xFFFF until it is replaced or cancelled; a message whose start lies
//!   ahead is held until then; at the end of its duration it is cleared;
//! - a message is shown only when the clock reaches a time inside it: one already over when it
//!   arrives, or whose whole window passes between two wake-ups, is never shown;
//! - a Cancel Message for the held message drops it (Clear if it was showing); other IDs are
//!   ignored;
//! - [`confirm`] sends one Message Confirmation (SE 1.0 form: no confirmation control, no
//!   response) for a message that is or was shown and whose Message Control asks for one,
//!   at most once per message ID; the client remembers the last
//!   [`CONFIRMATION_MEMORY`] such messages. Confirming anything else sends nothing;
//! - [`request_last_message`] sends Get Last Message (done after joining).
//!
//! [`handle_cancel`]: MessagingClient::handle_cancel
//! [`confirm`]: MessagingClient::confirm
//! [`request_last_message`]: MessagingClient::request_last_message
//! [`handle_timeout`]: MessagingClient::handle_timeout
//! [`poll_timeout`]: MessagingClient::poll_timeout
//! [`poll_output`]: MessagingClient::poll_output

use hanrig_sep::clusters::messaging::{
    CancelMessage, DURATION_UNTIL_CHANGED, DisplayMessage, GetLastMessage, MessageConfirmation,
};
use hanrig_sep::{Command, UtcTime};

/// Shown messages asking for confirmation that the client remembers, so that a message can be
/// confirmed after it was replaced, and confirmed only once. The oldest is forgotten first.
pub const CONFIRMATION_MEMORY: usize = 8;

/// Outputs that can wait to be polled: one call produces at most two.
const OUTPUT_CAPACITY: usize = 2;

/// What the client asks its caller to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
// Returned by value, never stored: the client queues its outputs in a compact form.
#[allow(clippy::large_enum_variant)]
pub enum MessagingOutput {
    /// Show this message (replacing whatever is on the screen).
    Show(DisplayMessage),
    /// Stop showing message `message_id`.
    Clear {
        /// The message to take off the screen.
        message_id: u32,
    },
    /// Send this command to the ESI's Messaging server: [`Command::MessageConfirmation`] or
    /// [`Command::GetLastMessage`].
    Send(Command),
}

/// An output waiting to be polled, without the ~350 bytes of a [`Command`].
#[derive(Debug, Clone)]
enum Queued {
    Show(DisplayMessage),
    Clear(u32),
    Confirm { message_id: u32, at: UtcTime },
    GetLastMessage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for its start.
    Pending,
    /// On the screen.
    Shown,
}

#[derive(Debug, Clone)]
struct Held {
    message: DisplayMessage,
    /// Effective start, seconds since 2000.
    start: u32,
    /// End, or `None` for "until changed".
    end: Option<u32>,
    state: State,
}

#[derive(Debug, Clone, Copy)]
struct Confirmable {
    message_id: u32,
    /// The latest Message Control shown for this ID asks for confirmation.
    required: bool,
    confirmed: bool,
}

/// The Messaging client state machine.
#[derive(Debug, Clone, Default)]
pub struct MessagingClient {
    held: Option<Held>,
    confirmable: heapless::Deque<Confirmable, CONFIRMATION_MEMORY>,
    outputs: heapless::Deque<Queued, OUTPUT_CAPACITY>,
}

impl MessagingClient {
    /// A client holding no message.
    pub fn new() -> Self {
        Self::default()
    }

    /// The message on the screen, if any.
    pub fn current(&self) -> Option<&DisplayMessage> {
        self.held
            .as_ref()
            .filter(|h| h.state == State::Shown)
            .map(|h| &h.message)
    }

    /// The held message that waits for its start, with that start.
    pub fn pending(&self) -> Option<(&DisplayMessage, UtcTime)> {
        self.held
            .as_ref()
            .filter(|h| h.state == State::Pending)
            .map(|h| (&h.message, UtcTime(h.start)))
    }

    /// The next output, if any. Call until `None` after every other call.
    pub fn poll_output(&mut self) -> Option<MessagingOutput> {
        Some(match self.outputs.pop_front()? {
            Queued::Show(message) => MessagingOutput::Show(message),
            Queued::Clear(message_id) => MessagingOutput::Clear { message_id },
            Queued::Confirm { message_id, at } => {
                MessagingOutput::Send(Command::MessageConfirmation(MessageConfirmation {
                    message_id,
                    confirmation_time: at,
                    confirmation_control: None,
                    response: None,
                }))
            }
            Queued::GetLastMessage => {
                MessagingOutput::Send(Command::GetLastMessage(GetLastMessage {}))
            }
        })
    }

    /// When [`MessagingClient::handle_timeout`] is next due (the held message's start, or the
    /// shown message's end), if ever.
    pub fn poll_timeout(&self) -> Option<UtcTime> {
        let held = self.held.as_ref()?;
        match held.state {
            State::Pending => Some(UtcTime(held.start)),
            State::Shown => held.end.map(UtcTime),
        }
    }

    fn push(&mut self, output: Queued) {
        // The capacity covers the most one call can produce; a caller that never polls loses
        // the oldest output rather than the newest.
        if let Err(output) = self.outputs.push_back(output) {
            self.outputs.pop_front();
            let _ = self.outputs.push_back(output);
        }
    }

    /// Puts `message` on the screen and remembers whether it can be confirmed.
    fn show(&mut self, message: &DisplayMessage) {
        let required = message.message_control.confirmation_required();
        let id = message.message_id;
        if let Some(c) = self.confirmable.iter_mut().find(|c| c.message_id == id) {
            c.required = required;
        } else if required {
            if self.confirmable.is_full() {
                self.confirmable.pop_front();
            }
            let _ = self.confirmable.push_back(Confirmable {
                message_id: id,
                required,
                confirmed: false,
            });
        }
        debug!("messaging: show {}", id);
        self.push(Queued::Show(message.clone()));
    }

    fn clear(&mut self, message_id: u32) {
        debug!("messaging: clear {}", message_id);
        self.push(Queued::Clear(message_id));
    }

    /// A Display Message from the ESI, received at `now`.
    pub fn handle_display(&mut self, now: UtcTime, message: &DisplayMessage) {
        let now = now.0;
        if self.held.as_ref().is_some_and(|h| h.message == *message) {
            return;
        }
        let start = if message.start_time == UtcTime::NOW {
            now
        } else {
            message.start_time.0
        };
        let end = (message.duration_in_minutes != DURATION_UNTIL_CHANGED)
            .then(|| start.saturating_add(60 * u32::from(message.duration_in_minutes)));
        let over = end.is_some_and(|end| end <= now);
        let shows_now = start <= now && !over;

        let was_shown = self
            .held
            .take()
            .filter(|h| h.state == State::Shown)
            .map(|h| h.message.message_id);
        if let Some(id) = was_shown
            && !(shows_now && id == message.message_id)
        {
            self.clear(id);
        }
        if over {
            return;
        }
        if shows_now {
            self.show(message);
        }
        self.held = Some(Held {
            message: message.clone(),
            start,
            end,
            state: if shows_now {
                State::Shown
            } else {
                State::Pending
            },
        });
    }

    /// A Cancel Message from the ESI, received at `now`.
    pub fn handle_cancel(&mut self, now: UtcTime, cancel: &CancelMessage) {
        let _ = now;
        let Some(held) = self
            .held
            .take_if(|h| h.message.message_id == cancel.message_id)
        else {
            return;
        };
        if held.state == State::Shown {
            self.clear(held.message.message_id);
        }
    }

    /// The user confirms message `message_id` at `now`: a Message Confirmation to send, if the
    /// message is or was shown, asks for confirmation and was not confirmed yet.
    pub fn confirm(&mut self, now: UtcTime, message_id: u32) {
        let Some(c) = self
            .confirmable
            .iter_mut()
            .find(|c| c.message_id == message_id && c.required && !c.confirmed)
        else {
            return;
        };
        c.confirmed = true;
        debug!("messaging: confirm {}", message_id);
        self.push(Queued::Confirm {
            message_id,
            at: now,
        });
    }

    /// Asks the ESI for its last message (a Get Last Message to send), as a display does after
    /// joining; the answer is a Display Message.
    pub fn request_last_message(&mut self) {
        self.push(Queued::GetLastMessage);
    }

    /// Runs what is due by `now`: shows the held message at its start, clears it at its end.
    pub fn handle_timeout(&mut self, now: UtcTime) {
        let now = now.0;
        let Some(held) = self.held.as_mut() else {
            return;
        };
        let over = held.end.is_some_and(|end| end <= now);
        match held.state {
            State::Pending if over => self.held = None,
            State::Pending if held.start <= now => {
                held.state = State::Shown;
                let message = held.message.clone();
                self.show(&message);
            }
            State::Shown if over => {
                let id = held.message.message_id;
                self.held = None;
                self.clear(id);
            }
            _ => {}
        }
    }
}
