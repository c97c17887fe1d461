//! Messaging cluster (0x0703): text messages to in-home displays.

use crate::wire::{CharString, OctetString};
use crate::{MAX_PAYLOAD_LEN, UtcTime};

/// Cluster identifier.
pub const CLUSTER_ID: u16 = 0x0703;

/// Server→client command identifiers.
pub mod server_command {
    /// Display Message.
    pub const DISPLAY_MESSAGE: u8 = 0x00;
    /// Cancel Message.
    pub const CANCEL_MESSAGE: u8 = 0x01;
}

/// Client→server command identifiers.
pub mod client_command {
    /// Get Last Message.
    pub const GET_LAST_MESSAGE: u8 = 0x00;
    /// Message Confirmation.
    pub const MESSAGE_CONFIRMATION: u8 = 0x01;
}

/// `duration_in_minutes` value meaning "until changed".
pub const DURATION_UNTIL_CHANGED: u16 = 0xFFFF;

bitmap! {
    /// Message Control: bits 0–1 transmission, bits 2–3 importance, bit 7 confirmation
    /// required.
    pub struct MessageControl(u8) {
        /// Bits 0–1: transmission mode.
        const TRANSMISSION_MASK = 0x03;
        /// Bits 2–3: importance level.
        const IMPORTANCE_MASK = 0x0C;
        /// Bit 7: the user must confirm the message.
        const CONFIRMATION_REQUIRED = 0x80;
    }
}

/// Importance level of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Importance {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl MessageControl {
    /// Transmission: 0 normal only, 1 normal and anonymous inter-PAN, 2 inter-PAN only.
    pub fn transmission(self) -> u8 {
        self.0 & Self::TRANSMISSION_MASK
    }
    /// Importance level.
    pub fn importance(self) -> Importance {
        match (self.0 & Self::IMPORTANCE_MASK) >> 2 {
            0 => Importance::Low,
            1 => Importance::Medium,
            2 => Importance::High,
            _ => Importance::Critical,
        }
    }
    /// Whether the message asks for a Message Confirmation.
    pub fn confirmation_required(self) -> bool {
        self.contains(Self::CONFIRMATION_REQUIRED)
    }
}

layout! {
    /// Display Message (server→client 0x00).
    pub struct DisplayMessage {
        /// Unique ID of the message.
        pub message_id: u32,
        /// Transmission, importance, confirmation.
        pub message_control: MessageControl,
        /// When to show it (0 = now).
        pub start_time: UtcTime,
        /// For how long, minutes (0xFFFF = until changed).
        pub duration_in_minutes: u16,
        /// The text.
        pub message: CharString<MAX_PAYLOAD_LEN>,
        /// SE 1.2a: extended message control.
        pub extended_message_control: Option<u8>,
    }
}

layout! {
    /// Cancel Message (server→client 0x01).
    pub struct CancelMessage {
        /// The message to cancel.
        pub message_id: u32,
        /// Message control (deprecated, 0 in later revisions).
        pub message_control: MessageControl,
    }
}

layout! {
    /// Get Last Message (client→server 0x00): no payload.
    pub struct GetLastMessage {}
}

layout! {
    /// Message Confirmation (client→server 0x01).
    pub struct MessageConfirmation {
        /// The message confirmed.
        pub message_id: u32,
        /// When the user confirmed it.
        pub confirmation_time: UtcTime,
        /// SE 1.2a: confirmation control.
        pub confirmation_control: Option<u8>,
        /// SE 1.2a: the user's response.
        pub response: Option<OctetString<MAX_PAYLOAD_LEN>>,
    }
}
