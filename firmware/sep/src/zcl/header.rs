//! The ZCL frame header: a zero-copy view ([`Frame`]) and its plain-data form ([`Header`]).
//!
//! `FrameControl(1) | [ManufacturerCode(2) if FC bit 2] | TransactionSeq(1) | CommandId(1)`.
//! After [`Frame::new_checked`] succeeds, no accessor panics.

use crate::error::{Error, Result};

mod field {
    pub const FRAME_CONTROL: usize = 0;
    pub const MANUFACTURER_CODE: core::ops::Range<usize> = 1..3;
}

/// Frame-control bits.
pub mod frame_control {
    /// Bits 0–1: frame type.
    pub const FRAME_TYPE: u8 = 0x03;
    /// Bit 2: a manufacturer code follows.
    pub const MANUFACTURER_SPECIFIC: u8 = 0x04;
    /// Bit 3: server to client.
    pub const DIRECTION: u8 = 0x08;
    /// Bit 4: disable default response.
    pub const DISABLE_DEFAULT_RESPONSE: u8 = 0x10;
    /// Bits 5–7: reserved.
    pub const RESERVED: u8 = 0xE0;
}

/// Frame type: profile-wide (general) command, or a command of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameType {
    /// 0b00: a general command, valid on every cluster.
    General,
    /// 0b01: a command specific to the cluster.
    ClusterSpecific,
    /// 0b10 or 0b11: reserved; kept so that such frames round-trip.
    Reserved(u8),
}

impl From<u8> for FrameType {
    fn from(bits: u8) -> Self {
        match bits & frame_control::FRAME_TYPE {
            0 => FrameType::General,
            1 => FrameType::ClusterSpecific,
            other => FrameType::Reserved(other),
        }
    }
}

impl From<FrameType> for u8 {
    fn from(t: FrameType) -> u8 {
        match t {
            FrameType::General => 0,
            FrameType::ClusterSpecific => 1,
            FrameType::Reserved(bits) => bits,
        }
    }
}

/// Direction of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Direction {
    /// 0: sent by the client side of the cluster to the server side.
    ClientToServer,
    /// 1: sent by the server side to the client side.
    ServerToClient,
}

/// A read-only or read-write view of a ZCL frame in a buffer.
#[derive(Debug, Clone)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// A view without checks; use [`Frame::new_checked`] unless the length is known good.
    pub fn new_unchecked(buffer: T) -> Self {
        Frame { buffer }
    }

    /// A view whose header is known to fit.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let frame = Frame::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Fails with [`Error::Truncated`] unless the whole header is present.
    pub fn check_len(&self) -> Result<()> {
        let len = self.bytes().len();
        let header_len = self.header_len();
        if len >= header_len {
            return Ok(());
        }
        let (field, offset, needed) = if len == 0 {
            ("frame_control", 0, 1)
        } else if header_len == 5 && len < 3 {
            ("manufacturer_code", 1, 2)
        } else if len < header_len - 1 {
            ("tsn", header_len - 2, 1)
        } else {
            ("command_id", header_len - 1, 1)
        };
        Err(Error::Truncated {
            field,
            offset,
            needed,
            available: len - offset,
        })
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The frame-control byte.
    pub fn frame_control(&self) -> u8 {
        self.bytes().get(field::FRAME_CONTROL).copied().unwrap_or(0)
    }

    /// Whether a manufacturer code is present.
    pub fn is_manufacturer_specific(&self) -> bool {
        self.frame_control() & frame_control::MANUFACTURER_SPECIFIC != 0
    }

    /// The manufacturer code, if present.
    pub fn manufacturer_code(&self) -> Option<u16> {
        if !self.is_manufacturer_specific() {
            return None;
        }
        let b = self.bytes().get(field::MANUFACTURER_CODE)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }

    /// Length of the header (3, or 5 with a manufacturer code).
    pub fn header_len(&self) -> usize {
        if self.is_manufacturer_specific() {
            5
        } else {
            3
        }
    }

    /// Transaction sequence number.
    pub fn tsn(&self) -> u8 {
        self.bytes()
            .get(self.header_len() - 2)
            .copied()
            .unwrap_or(0)
    }

    /// Command identifier.
    pub fn command_id(&self) -> u8 {
        self.bytes()
            .get(self.header_len() - 1)
            .copied()
            .unwrap_or(0)
    }

    /// The command payload after the header.
    pub fn payload(&self) -> &[u8] {
        self.bytes().get(self.header_len()..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Writes the frame-control byte.
    pub fn set_frame_control(&mut self, fc: u8) {
        if let Some(b) = self.buffer.as_mut().get_mut(field::FRAME_CONTROL) {
            *b = fc;
        }
    }
    /// Writes the manufacturer code (frame control must say it is present).
    pub fn set_manufacturer_code(&mut self, code: u16) {
        if let Some(b) = self.buffer.as_mut().get_mut(field::MANUFACTURER_CODE) {
            b.copy_from_slice(&code.to_le_bytes());
        }
    }
    /// Writes the transaction sequence number.
    pub fn set_tsn(&mut self, tsn: u8) {
        let at = self.header_len() - 2;
        if let Some(b) = self.buffer.as_mut().get_mut(at) {
            *b = tsn;
        }
    }
    /// Writes the command identifier.
    pub fn set_command_id(&mut self, id: u8) {
        let at = self.header_len() - 1;
        if let Some(b) = self.buffer.as_mut().get_mut(at) {
            *b = id;
        }
    }
    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let at = self.header_len();
        self.buffer.as_mut().get_mut(at..).unwrap_or(&mut [])
    }
}

/// The plain-data ZCL header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// General or cluster-specific.
    pub frame_type: FrameType,
    /// Manufacturer code, for manufacturer-specific commands.
    pub manufacturer_code: Option<u16>,
    /// Client→server or server→client.
    pub direction: Direction,
    /// The receiver shall not send a Default Response.
    pub disable_default_response: bool,
    /// Frame-control bits 5–7 (zero in valid frames; kept so that any frame round-trips).
    pub reserved: u8,
    /// Transaction sequence number.
    pub tsn: u8,
    /// Command identifier.
    pub command_id: u8,
}

impl Header {
    /// The header of a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Header {
        let fc = frame.frame_control();
        Header {
            frame_type: FrameType::from(fc),
            manufacturer_code: frame.manufacturer_code(),
            direction: if fc & frame_control::DIRECTION != 0 {
                Direction::ServerToClient
            } else {
                Direction::ClientToServer
            },
            disable_default_response: fc & frame_control::DISABLE_DEFAULT_RESPONSE != 0,
            reserved: (fc & frame_control::RESERVED) >> 5,
            tsn: frame.tsn(),
            command_id: frame.command_id(),
        }
    }

    /// The frame-control byte, or [`Error::Invalid`] when a field is out of range.
    pub fn frame_control(&self) -> Result<u8> {
        let frame_type = u8::from(self.frame_type);
        if matches!(self.frame_type, FrameType::Reserved(b) if !(2..=3).contains(&b)) {
            return Err(Error::Invalid {
                field: "frame_type",
                offset: 0,
                reason: "the reserved frame types are 2 and 3",
            });
        }
        if self.reserved > 7 {
            return Err(Error::Invalid {
                field: "reserved",
                offset: 0,
                reason: "must be 0 to 7",
            });
        }
        let mut fc = frame_type | (self.reserved << 5);
        if self.manufacturer_code.is_some() {
            fc |= frame_control::MANUFACTURER_SPECIFIC;
        }
        if self.direction == Direction::ServerToClient {
            fc |= frame_control::DIRECTION;
        }
        if self.disable_default_response {
            fc |= frame_control::DISABLE_DEFAULT_RESPONSE;
        }
        Ok(fc)
    }

    /// Bytes the header takes.
    pub fn buffer_len(&self) -> usize {
        if self.manufacturer_code.is_some() {
            5
        } else {
            3
        }
    }

    /// Writes the header into the start of `frame`, which must hold at least
    /// [`Header::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) -> Result<()> {
        let available = frame.buffer.as_ref().len();
        if available < self.buffer_len() {
            return Err(Error::BufferTooSmall {
                needed: self.buffer_len(),
                available,
            });
        }
        frame.set_frame_control(self.frame_control()?);
        if let Some(code) = self.manufacturer_code {
            frame.set_manufacturer_code(code);
        }
        frame.set_tsn(self.tsn);
        frame.set_command_id(self.command_id);
        Ok(())
    }
}
