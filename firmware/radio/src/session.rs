//! The ASH link as a sans-IO state machine, for either end: the reset handshake, frame and
//! acknowledgement numbers, a window of one DATA frame in flight (what bellows uses: larger
//! windows crash EmberZNet firmware), NAK on out-of-sequence or damaged frames, and
//! retransmission on the adaptive acknowledgement timer of UG101 §4.
//!
//! Feed it received bytes ([`Session::handle_bytes`]) and the clock
//! ([`Session::handle_timeout`] at [`Session::poll_timeout`]); queue EZSP frames with
//! [`Session::send`]; take bytes to write from [`Session::poll_transmit`] and EZSP frames
//! received, in order and exactly once, from [`Session::poll_received`].

use crate::ash::{self, Control, Decoder, MAX_DATA};

/// Initial acknowledgement timeout, µs (T_RX_ACK_INIT).
pub const T_RX_ACK_INIT: u64 = 1_600_000;
/// Shortest acknowledgement timeout, µs (T_RX_ACK_MIN).
pub const T_RX_ACK_MIN: u64 = 400_000;
/// Longest acknowledgement timeout, µs (T_RX_ACK_MAX).
pub const T_RX_ACK_MAX: u64 = 3_200_000;
/// Consecutive acknowledgement timeouts before the link fails (ACK_TIMEOUTS).
pub const ACK_TIMEOUTS: u8 = 4;
/// Longest wait for RSTACK after RST, µs (T_RSTACK_MAX); the host then sends RST again.
pub const T_RSTACK_MAX: u64 = 3_200_000;
/// Reset code an NCP reports after a host's RST: software reset.
pub const RESET_SOFTWARE: u8 = 0x0B;
/// Error code of an ERROR frame: exceeded the maximum acknowledgement timeouts.
pub const ERROR_ACK_TIMEOUTS: u8 = 0x51;

const QUEUE: usize = 8;

/// Which end of the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Role {
    /// The host: starts with RST.
    Host,
    /// The co-processor: answers RST with RSTACK.
    Ncp,
}

/// The link's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum State {
    /// Host: RST sent, waiting for RSTACK. NCP: waiting for RST.
    Resetting,
    /// Frames flow.
    Connected,
    /// Too many acknowledgement timeouts, or the NCP reported an error: reset needed.
    Failed,
}

type Data = heapless::Vec<u8, MAX_DATA>;

#[derive(Debug, Clone)]
struct InFlight {
    frame: u8,
    data: Data,
    sent_at: u64,
    timeouts: u8,
    retransmitted: bool,
}

/// One end of an ASH link.
#[derive(Debug, Clone)]
pub struct Session {
    role: Role,
    state: State,
    decoder: Decoder,
    next_frame: u8,
    expected: u8,
    in_flight: Option<InFlight>,
    to_send: heapless::Deque<Data, QUEUE>,
    received: heapless::Deque<Data, QUEUE>,
    controls: heapless::Deque<(Control, heapless::Vec<u8, 2>), QUEUE>,
    retransmit_now: bool,
    rejecting: bool,
    ack_timeout: u64,
    /// When the host last sent RST.
    rst_sent_at: Option<u64>,
    /// Counters, for tests and diagnostics.
    pub stats: Stats,
}

/// What happened on the link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// DATA frames retransmitted.
    pub retransmissions: u32,
    /// NAKs sent.
    pub naks_sent: u32,
    /// Frames dropped as damaged.
    pub bad_frames: u32,
    /// Duplicate DATA frames acknowledged and dropped.
    pub duplicates: u32,
    /// RST frames a co-processor obeyed (each reboots a real one).
    pub resets: u32,
}

/// Why a frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SendError {
    /// The link is not connected.
    NotConnected,
    /// The queue is full: poll first.
    QueueFull,
    /// Over 128 bytes.
    TooLong,
}

impl Session {
    /// A link end; a host starts by sending RST.
    pub fn new(role: Role) -> Self {
        let mut session = Session {
            role,
            state: State::Resetting,
            decoder: Decoder::new(),
            next_frame: 0,
            expected: 0,
            in_flight: None,
            to_send: heapless::Deque::new(),
            received: heapless::Deque::new(),
            controls: heapless::Deque::new(),
            retransmit_now: false,
            rejecting: false,
            ack_timeout: T_RX_ACK_INIT,
            rst_sent_at: None,
            stats: Stats::default(),
        };
        if role == Role::Host {
            session.reset();
        }
        session
    }

    /// The link's state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether DATA frames are queued or waiting for their acknowledgement.
    pub fn sending(&self) -> bool {
        self.in_flight.is_some() || !self.to_send.is_empty()
    }

    /// The current acknowledgement timeout, µs.
    pub fn ack_timeout(&self) -> u64 {
        self.ack_timeout
    }

    /// Starts over: a host sends RST; both ends clear their numbers and queues.
    pub fn reset(&mut self) {
        self.state = State::Resetting;
        self.next_frame = 0;
        self.expected = 0;
        self.in_flight = None;
        self.to_send.clear();
        self.controls.clear();
        self.retransmit_now = false;
        self.rejecting = false;
        self.ack_timeout = T_RX_ACK_INIT;
        self.rst_sent_at = None;
        if self.role == Role::Host {
            let _ = self
                .controls
                .push_back((Control::Rst, heapless::Vec::new()));
        }
    }

    /// Queues an EZSP frame.
    pub fn send(&mut self, data: &[u8]) -> Result<(), SendError> {
        if self.state != State::Connected {
            return Err(SendError::NotConnected);
        }
        let data = Data::from_slice(data).map_err(|_| SendError::TooLong)?;
        self.to_send
            .push_back(data)
            .map_err(|_| SendError::QueueFull)
    }

    /// The next EZSP frame received, in order, each once.
    pub fn poll_received(&mut self) -> Option<Data> {
        self.received.pop_front()
    }

    /// Feeds received bytes.
    pub fn handle_bytes(&mut self, now: u64, bytes: &[u8]) {
        for &b in bytes {
            match self.decoder.push(b) {
                Some(Ok(frame)) => self.handle_frame(now, frame),
                Some(Err(_)) => {
                    self.stats.bad_frames += 1;
                    self.reject();
                }
                None => {}
            }
        }
    }

    fn control(&mut self, control: Control) {
        // Replace a pending ACK/NAK by the newest: only the latest acknowledgement matters.
        if matches!(control, Control::Ack { .. } | Control::Nak { .. }) {
            let mut kept = heapless::Deque::new();
            while let Some(c) = self.controls.pop_front() {
                if !matches!(c.0, Control::Ack { .. } | Control::Nak { .. }) {
                    let _ = kept.push_back(c);
                }
            }
            self.controls = kept;
        }
        let _ = self.controls.push_back((control, heapless::Vec::new()));
    }

    fn reject(&mut self) {
        if self.state == State::Connected && !self.rejecting {
            self.rejecting = true;
            self.stats.naks_sent += 1;
            self.control(Control::Nak {
                ack: self.expected,
                not_ready: false,
            });
        }
    }

    fn acknowledged(&mut self, now: u64, ack: u8) {
        if let Some(f) = &self.in_flight
            && ack == (f.frame + 1) % 8
        {
            if !f.retransmitted {
                // UG101: t = 7/8 t + 1/2 measured, clamped.
                let measured = now.saturating_sub(f.sent_at);
                self.ack_timeout =
                    (self.ack_timeout * 7 / 8 + measured / 2).clamp(T_RX_ACK_MIN, T_RX_ACK_MAX);
            }
            self.in_flight = None;
        }
    }

    fn handle_frame(&mut self, now: u64, frame: ash::Frame) {
        match (self.role, frame.control) {
            (Role::Ncp, Control::Rst) => {
                self.reset();
                self.stats.resets += 1;
                self.state = State::Connected;
                let mut data = heapless::Vec::new();
                let _ = data.extend_from_slice(&[ash::VERSION, RESET_SOFTWARE]);
                let _ = self.controls.push_back((Control::RstAck, data));
            }
            (Role::Host, Control::RstAck) if self.state == State::Resetting => {
                self.state = State::Connected;
                self.controls.clear();
            }
            (Role::Host, Control::Error) => self.state = State::Failed,
            (
                _,
                Control::Data {
                    frame: number,
                    retransmit,
                    ack,
                },
            ) if self.state == State::Connected => {
                self.acknowledged(now, ack);
                if number == self.expected {
                    self.expected = (self.expected + 1) % 8;
                    self.rejecting = false;
                    let _ = self.received.push_back(frame.data);
                    self.control(Control::Ack {
                        ack: self.expected,
                        not_ready: false,
                    });
                } else if retransmit {
                    // A copy of a frame already delivered: acknowledge, do not deliver again.
                    self.stats.duplicates += 1;
                    self.control(Control::Ack {
                        ack: self.expected,
                        not_ready: false,
                    });
                } else {
                    self.reject();
                }
            }
            (_, Control::Ack { ack, .. }) if self.state == State::Connected => {
                self.acknowledged(now, ack)
            }
            (_, Control::Nak { ack, .. })
                if self.state == State::Connected
                    && self.in_flight.as_ref().is_some_and(|f| f.frame == ack) =>
            {
                self.retransmit_now = true;
            }
            _ => {}
        }
    }

    /// Writes the next bytes to send into `out` (at least 2 × 131 + 1 bytes) and returns
    /// their length, or `None` when there is nothing to send.
    pub fn poll_transmit(&mut self, now: u64, out: &mut [u8]) -> Option<usize> {
        if let Some((control, data)) = self.controls.pop_front() {
            if control == Control::Rst {
                self.rst_sent_at = Some(now);
            }
            return ash::encode(control, &data, out).ok();
        }
        if self.state != State::Connected {
            return None;
        }
        if self.retransmit_now {
            self.retransmit_now = false;
            return self.retransmit(now, out);
        }
        if self.in_flight.is_none()
            && let Some(data) = self.to_send.pop_front()
        {
            let frame = self.next_frame;
            self.next_frame = (self.next_frame + 1) % 8;
            let control = Control::Data {
                frame,
                retransmit: false,
                ack: self.expected,
            };
            let len = ash::encode(control, &data, out).ok();
            self.in_flight = Some(InFlight {
                frame,
                data,
                sent_at: now,
                timeouts: 0,
                retransmitted: false,
            });
            return len;
        }
        None
    }

    fn retransmit(&mut self, now: u64, out: &mut [u8]) -> Option<usize> {
        let expected = self.expected;
        let f = self.in_flight.as_mut()?;
        f.sent_at = now;
        f.retransmitted = true;
        self.stats.retransmissions += 1;
        ash::encode(
            Control::Data {
                frame: f.frame,
                retransmit: true,
                ack: expected,
            },
            &f.data,
            out,
        )
        .ok()
    }

    /// When [`Session::handle_timeout`] is next due, µs.
    pub fn poll_timeout(&self) -> Option<u64> {
        match self.state {
            State::Resetting => self.rst_sent_at.map(|t| t + T_RSTACK_MAX),
            State::Connected => self
                .in_flight
                .as_ref()
                .map(|f| f.sent_at + self.ack_timeout),
            State::Failed => None,
        }
    }

    /// Handles the timers: a host without RSTACK sends RST again after [`T_RSTACK_MAX`]; the
    /// frame in flight is sent again with the acknowledgement timer doubled, and after
    /// [`ACK_TIMEOUTS`] in a row the link fails.
    pub fn handle_timeout(&mut self, now: u64) {
        let Some(due) = self.poll_timeout() else {
            return;
        };
        if now < due {
            return;
        }
        if self.state == State::Resetting {
            // No RSTACK: send RST again.
            self.rst_sent_at = None;
            let _ = self
                .controls
                .push_back((Control::Rst, heapless::Vec::new()));
            return;
        }
        if let Some(f) = &mut self.in_flight {
            f.timeouts += 1;
            if f.timeouts > ACK_TIMEOUTS {
                self.state = State::Failed;
                if self.role == Role::Ncp {
                    // Tell the host why (it answers with RST).
                    let mut data = heapless::Vec::new();
                    let _ = data.extend_from_slice(&[ash::VERSION, ERROR_ACK_TIMEOUTS]);
                    self.controls.clear();
                    let _ = self.controls.push_back((Control::Error, data));
                }
                return;
            }
        }
        self.ack_timeout = (self.ack_timeout * 2).min(T_RX_ACK_MAX);
        self.retransmit_now = true;
    }
}
