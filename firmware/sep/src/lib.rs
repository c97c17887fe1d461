//! # hanrig-sep: ZigBee Smart Energy 1.0 on the wire
//!
//! The bottom layer of hanrig: the ZigBee Cluster Library frame, the general commands Smart
//! Energy uses, the SE 1.0 cluster commands (Price, DRLC, Metering, Messaging, Key
//! Establishment; attribute IDs of Basic and Time), and install-code key derivation. Every
//! other part of hanrig — device firmware, simulator, harness, gateway — encodes and decodes
//! SE frames with this crate.
//!
//! `no_std`, no allocation, no `unsafe`, no panics on any input. Layouts follow the
//! smoltcp pattern: a zero-copy header view ([`zcl::header::Frame`]), and plain-data
//! representations that `parse` from bytes and `emit` into a caller's buffer. Unknown IDs and
//! enumeration values survive a round trip byte for byte.
//!
//! ```
//! use hanrig_sep::{Command, ZclFrame};
//!
//! // A Load Control Event as an ESI sends it (DRLC cluster 0x0701, server → client).
//! let bytes = [
//!     0x09, 0x09, 0x00, 0x78, 0x56, 0x34, 0x12, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
//!     0x3C, 0x00, 0x04, 0xFF, 0xFF, 0x00, 0x80, 0x00, 0x80, 0x80, 0xFF, 0x03,
//! ];
//! let frame = ZclFrame::parse(0x0701, &bytes).unwrap();
//! let Command::LoadControlEvent(event) = &frame.command else { panic!() };
//! assert_eq!(event.issuer_event_id, 0x1234_5678);
//! assert_eq!(event.duration_in_minutes, 60);
//!
//! let mut out = [0u8; 64];
//! let len = frame.emit(&mut out).unwrap();
//! assert_eq!(&out[..len], &bytes[..]);
//! ```
//!
//! Features: `serde` (the JSON form used by `hanrig zcl`), `defmt` (logging on a device),
//! `proptest` (`Arbitrary` for every command).

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

#[macro_use]
mod macros;

mod error;
mod time;
pub mod wire;

pub mod aps;
#[cfg(feature = "std")]
pub mod capture;
pub mod clusters;
pub mod frame;
pub mod install_code;
pub mod mac;
pub mod nwk;
pub mod security;
pub mod zcl;
pub mod zdo;

#[cfg(feature = "serde")]
mod serde_impls;

pub use error::{Error, Result};
pub use mac::Eui64;
pub use time::UtcTime;
pub use zcl::command::{COMMANDS, Command, CommandKey, UnknownCommand, ZclFrame};
pub use zcl::header::{Direction, FrameType, Header};

/// Largest ZCL frame the codec's buffers are sized for: what one IEEE 802.15.4 frame (127
/// bytes) can carry at most. Longer frames (only possible with APS fragmentation) are refused
/// with [`Error::TooLong`].
pub const MAX_FRAME_LEN: usize = 127;

/// Largest ZCL payload (after the shortest, 3-byte header) the codec stores.
pub const MAX_PAYLOAD_LEN: usize = MAX_FRAME_LEN - 3;
