//! IEEE 802.15.4 (2003/2006) MAC frames as ZigBee uses them: data, command, beacon and
//! acknowledgement frames with short or extended addressing, PAN ID compression, and the FCS
//! (CRC-16/KERMIT, appended little-endian).
//!
//! ```
//! use hanrig_sep::mac::{Address, FrameType, MacHeader};
//! let header = MacHeader::data(7, 0x1A62, Address::Short(0x0000), Address::Short(0x796F));
//! let mut buf = [0u8; 32];
//! let len = header.emit(b"payload", &mut buf).unwrap();
//! let (parsed, payload, fcs_ok) = MacHeader::parse(&buf[..len]).unwrap();
//! assert_eq!((parsed, payload, fcs_ok), (header, &b"payload"[..], true));
//! ```

use crate::error::{Error, Result};
use crate::wire::{Reader, Writer};
use core::fmt;

/// Largest PHY payload (MAC frame including the FCS).
pub const MAX_PHY_PACKET_SIZE: usize = 127;

/// CRC-16/KERMIT, the 802.15.4 frame check sequence.
pub const FCS: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_KERMIT);

/// An IEEE EUI-64, as a number whose most significant byte is printed first (the wire carries
/// it little-endian).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "proptest", derive(proptest_derive::Arbitrary))]
pub struct Eui64(pub u64);

impl Eui64 {
    /// Wire (little-endian) bytes.
    pub fn to_le_bytes(self) -> [u8; 8] {
        self.0.to_le_bytes()
    }
}

/// `00:0d:6f:00:0a:bc:de:f0`, as Wireshark shows it.
impl fmt::Display for Eui64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0.to_be_bytes();
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
        )
    }
}

impl fmt::Debug for Eui64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Eui64({self})")
    }
}

impl core::str::FromStr for Eui64 {
    type Err = Error;
    /// 16 hex digits, optionally separated by `:` or `-`, most significant byte first.
    fn from_str(s: &str) -> Result<Self> {
        let invalid = Error::Invalid {
            field: "eui64",
            offset: 0,
            reason: "expected 16 hex digits, e.g. 00:0d:6f:00:0a:bc:de:f0",
        };
        let mut value = 0u64;
        let mut digits = 0;
        for c in s.chars().filter(|c| !matches!(c, ':' | '-')) {
            value = value << 4 | u64::from(c.to_digit(16).ok_or(invalid)?);
            digits += 1;
        }
        if digits == 16 {
            Ok(Eui64(value))
        } else {
            Err(invalid)
        }
    }
}

/// A MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Address {
    /// No address (mode 0).
    None,
    /// 16-bit short address (mode 2).
    Short(u16),
    /// 64-bit extended address (mode 3).
    Extended(Eui64),
}

impl Address {
    fn mode(self) -> u16 {
        match self {
            Address::None => 0,
            Address::Short(_) => 2,
            Address::Extended(_) => 3,
        }
    }
    fn len(self) -> usize {
        match self {
            Address::None => 0,
            Address::Short(_) => 2,
            Address::Extended(_) => 8,
        }
    }
    /// The broadcast short address.
    pub const BROADCAST: Address = Address::Short(0xFFFF);
}

/// MAC frame type (frame-control bits 0–2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameType {
    /// Beacon.
    Beacon,
    /// Data.
    Data,
    /// Acknowledgement.
    Ack,
    /// MAC command.
    Command,
    /// Types 4–7 (reserved in 2006).
    Reserved(u8),
}

impl From<u16> for FrameType {
    fn from(bits: u16) -> Self {
        match bits & 7 {
            0 => FrameType::Beacon,
            1 => FrameType::Data,
            2 => FrameType::Ack,
            3 => FrameType::Command,
            other => FrameType::Reserved(other as u8),
        }
    }
}

impl From<FrameType> for u16 {
    fn from(t: FrameType) -> u16 {
        match t {
            FrameType::Beacon => 0,
            FrameType::Data => 1,
            FrameType::Ack => 2,
            FrameType::Command => 3,
            FrameType::Reserved(b) => u16::from(b & 7),
        }
    }
}

/// MAC command identifiers ZigBee uses.
pub mod command {
    /// Association Request.
    pub const ASSOCIATION_REQUEST: u8 = 0x01;
    /// Association Response.
    pub const ASSOCIATION_RESPONSE: u8 = 0x02;
    /// Disassociation Notification.
    pub const DISASSOCIATION_NOTIFICATION: u8 = 0x03;
    /// Data Request.
    pub const DATA_REQUEST: u8 = 0x04;
    /// Orphan Notification.
    pub const ORPHAN_NOTIFICATION: u8 = 0x06;
    /// Beacon Request.
    pub const BEACON_REQUEST: u8 = 0x07;
    /// Coordinator Realignment.
    pub const COORDINATOR_REALIGNMENT: u8 = 0x08;
}

/// The plain-data MAC header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MacHeader {
    /// Frame type.
    pub frame_type: FrameType,
    /// Security enabled (not used by ZigBee, which secures at NWK and APS).
    pub security_enabled: bool,
    /// More data is pending for the recipient.
    pub frame_pending: bool,
    /// The recipient shall acknowledge.
    pub ack_request: bool,
    /// The source PAN ID is omitted (equal to the destination's).
    pub pan_id_compression: bool,
    /// Frame-control bits 7–9, kept as received.
    pub reserved: u8,
    /// Frame version (0 = 2003, 1 = 2006).
    pub frame_version: u8,
    /// Sequence number.
    pub sequence: u8,
    /// Destination PAN ID (present with a destination address).
    pub dst_pan: Option<u16>,
    /// Destination address.
    pub dst: Address,
    /// Source PAN ID (present with a source address unless compressed).
    pub src_pan: Option<u16>,
    /// Source address.
    pub src: Address,
}

impl MacHeader {
    /// A data frame between two devices of one PAN (PAN ID compression, ack requested unless
    /// broadcast).
    pub fn data(sequence: u8, pan: u16, dst: Address, src: Address) -> Self {
        MacHeader {
            frame_type: FrameType::Data,
            security_enabled: false,
            frame_pending: false,
            ack_request: dst != Address::BROADCAST,
            pan_id_compression: true,
            reserved: 0,
            frame_version: 0,
            sequence,
            dst_pan: Some(pan),
            dst,
            src_pan: None,
            src,
        }
    }

    /// Parses a whole MAC frame including its FCS: the header, the payload, and whether the
    /// FCS is correct.
    pub fn parse(frame: &[u8]) -> Result<(MacHeader, &[u8], bool)> {
        if frame.len() < 5 {
            return Err(Error::Truncated {
                field: "mac_frame",
                offset: 0,
                needed: 5,
                available: frame.len(),
            });
        }
        let (body, fcs) = frame.split_at(frame.len() - 2);
        let fcs_ok = FCS.checksum(body) == u16::from_le_bytes([fcs[0], fcs[1]]);
        let mut r = Reader::new(body, 0);
        let fc = r.u16("frame_control")?;
        let sequence = r.u8("sequence")?;
        let dst_mode = (fc >> 10) & 3;
        let src_mode = (fc >> 14) & 3;
        let pan_id_compression = fc & 0x40 != 0;
        let read_addr = |r: &mut Reader<'_>, mode: u16, field: &'static str| -> Result<Address> {
            Ok(match mode {
                0 => Address::None,
                2 => Address::Short(r.u16(field)?),
                3 => Address::Extended(Eui64(r.uint(field, 8)?)),
                _ => {
                    return Err(Error::Invalid {
                        field,
                        offset: 0,
                        reason: "address mode 1 is reserved",
                    });
                }
            })
        };
        let dst_pan = if dst_mode != 0 {
            Some(r.u16("dst_pan")?)
        } else {
            None
        };
        let dst = read_addr(&mut r, dst_mode, "dst_addr")?;
        let src_pan = if src_mode != 0 && !pan_id_compression {
            Some(r.u16("src_pan")?)
        } else {
            None
        };
        let src = read_addr(&mut r, src_mode, "src_addr")?;
        let header = MacHeader {
            frame_type: FrameType::from(fc),
            security_enabled: fc & 0x08 != 0,
            frame_pending: fc & 0x10 != 0,
            ack_request: fc & 0x20 != 0,
            pan_id_compression,
            reserved: ((fc >> 7) & 7) as u8,
            frame_version: ((fc >> 12) & 3) as u8,
            sequence,
            dst_pan,
            dst,
            src_pan,
            src,
        };
        Ok((header, r.rest(), fcs_ok))
    }

    /// Bytes of the header.
    pub fn header_len(&self) -> usize {
        3 + self.dst_pan.map_or(0, |_| 2)
            + self.dst.len()
            + self.src_pan.map_or(0, |_| 2)
            + self.src.len()
    }

    fn check(&self) -> Result<()> {
        let invalid = |field, reason| {
            Err(Error::Invalid {
                field,
                offset: 0,
                reason,
            })
        };
        if self.dst_pan.is_some() != (self.dst != Address::None) {
            return invalid(
                "dst_pan",
                "a destination PAN ID goes with a destination address, and only then",
            );
        }
        let src_pan_expected = self.src != Address::None && !self.pan_id_compression;
        if self.src_pan.is_some() != src_pan_expected {
            return invalid(
                "src_pan",
                "a source PAN ID goes with a source address unless PAN ID compression is set",
            );
        }
        if self.reserved > 7 || self.frame_version > 3 {
            return invalid(
                "frame_version",
                "reserved bits are 0–7 and the frame version 0–3",
            );
        }
        Ok(())
    }

    /// Writes the header into the start of `buf`; returns its length.
    pub fn emit_header(&self, buf: &mut [u8]) -> Result<usize> {
        self.check()?;
        let len = self.header_len();
        let available = buf.len();
        let out = buf.get_mut(..len).ok_or(Error::BufferTooSmall {
            needed: len,
            available,
        })?;
        let fc = u16::from(self.frame_type)
            | u16::from(self.security_enabled) << 3
            | u16::from(self.frame_pending) << 4
            | u16::from(self.ack_request) << 5
            | u16::from(self.pan_id_compression) << 6
            | u16::from(self.reserved) << 7
            | self.dst.mode() << 10
            | u16::from(self.frame_version) << 12
            | self.src.mode() << 14;
        let mut w = Writer::new(out);
        w.u16(fc)?;
        w.u8(self.sequence)?;
        let write_addr = |w: &mut Writer<'_>, a: Address| match a {
            Address::None => Ok(()),
            Address::Short(s) => w.u16(s),
            Address::Extended(e) => w.bytes(&e.to_le_bytes()),
        };
        if let Some(pan) = self.dst_pan {
            w.u16(pan)?;
        }
        write_addr(&mut w, self.dst)?;
        if let Some(pan) = self.src_pan {
            w.u16(pan)?;
        }
        write_addr(&mut w, self.src)?;
        Ok(len)
    }

    /// Writes header, `payload` and FCS into `buf`; returns the frame's length.
    pub fn emit(&self, payload: &[u8], buf: &mut [u8]) -> Result<usize> {
        let header_len = self.emit_header(buf)?;
        let len = header_len + payload.len() + 2;
        let available = buf.len();
        let out = buf.get_mut(..len).ok_or(Error::BufferTooSmall {
            needed: len,
            available,
        })?;
        out[header_len..len - 2].copy_from_slice(payload);
        append_fcs(out, len - 2)
    }
}

/// Writes the FCS of `frame[..body_len]` after it; returns the frame's length.
pub fn append_fcs(frame: &mut [u8], body_len: usize) -> Result<usize> {
    let len = body_len + 2;
    let available = frame.len();
    let out = frame.get_mut(..len).ok_or(Error::BufferTooSmall {
        needed: len,
        available,
    })?;
    let fcs = FCS.checksum(&out[..body_len]);
    out[body_len..].copy_from_slice(&fcs.to_le_bytes());
    Ok(len)
}
