//! # hanrig-radio: the serial protocols of ZigBee radio co-processors
//!
//! Written once and used by both sides — hanrig's host drivers and its simulated
//! co-processors — `no_std`, allocation-free and sans-IO:
//!
//! - [`ash`]: Silicon Labs' Asynchronous Serial Host protocol (UG101) framing: control byte,
//!   data randomisation, CRC-CCITT, byte stuffing, and a streaming decoder that handles the
//!   flag, escape, cancel and substitute bytes;
//! - [`ezsp`]: EZSP frame headers in their three formats (legacy, v5–v7, v8+);
//! - [`session`]: the ASH link (reset, numbering, NAK, adaptive retransmission);
//! - [`mt`]: TI's Monitor and Test framing, spoken by Z-Stack ZNP co-processors.
//!
//! ```
//! use hanrig_radio::ash::{Control, Decoder, encode};
//! let mut wire = [0u8; 32];
//! let len = encode(Control::Rst, &[], &mut wire).unwrap();
//! assert_eq!(&wire[..len], &[0xC0, 0x38, 0xBC, 0x7E]);
//! let mut decoder = Decoder::new();
//! let frame = wire[..len].iter().find_map(|&b| decoder.push(b)).unwrap().unwrap();
//! assert_eq!(frame.control, Control::Rst);
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ash;
pub mod ezsp;
pub mod mt;
pub mod session;
