//! The ZigBee NWK header (ZigBee spec 3.3.1), with its optional fields and auxiliary security
//! header.

use crate::error::{Error, Result};
use crate::mac::Eui64;
use crate::security::AuxHeader;
use crate::wire::{Reader, Writer};

/// Broadcast to all devices.
pub const BROADCAST_ALL: u16 = 0xFFFF;
/// Broadcast to devices whose receiver is on when idle.
pub const BROADCAST_RX_ON_WHEN_IDLE: u16 = 0xFFFD;
/// Broadcast to routers and the coordinator.
pub const BROADCAST_ROUTERS: u16 = 0xFFFC;
/// ZigBee 2006 / PRO protocol version.
pub const PROTOCOL_VERSION_PRO: u8 = 2;

/// NWK frame type (frame-control bits 0–1): 0 data, 1 command, 3 inter-PAN.
pub mod frame_type {
    /// Data.
    pub const DATA: u8 = 0;
    /// NWK command.
    pub const COMMAND: u8 = 1;
    /// Inter-PAN.
    pub const INTER_PAN: u8 = 3;
}

/// A source route subframe.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SourceRoute {
    /// Index of the next relay.
    pub relay_index: u8,
    /// Relay short addresses.
    pub relays: heapless::Vec<u16, 16>,
}

/// The plain-data NWK header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NwkHeader {
    /// Frame type (see [`frame_type`]).
    pub frame_type: u8,
    /// Protocol version (2 for ZigBee PRO).
    pub protocol_version: u8,
    /// Route discovery: 0 suppress, 1 enable.
    pub discover_route: u8,
    /// Multicast control byte, present for multicast frames.
    pub multicast: Option<u8>,
    /// Source route subframe.
    pub source_route: Option<SourceRoute>,
    /// The end device that sent the frame initiated it (R21).
    pub end_device_initiator: bool,
    /// Frame-control bits 14–15, kept as received.
    pub reserved: u8,
    /// Destination short address.
    pub dst: u16,
    /// Source short address.
    pub src: u16,
    /// Radius.
    pub radius: u8,
    /// Sequence number.
    pub sequence: u8,
    /// Destination EUI64.
    pub dst_ieee: Option<Eui64>,
    /// Source EUI64.
    pub src_ieee: Option<Eui64>,
    /// Auxiliary security header, for secured frames.
    pub security: Option<AuxHeader>,
}

impl NwkHeader {
    /// A ZigBee PRO data frame header.
    pub fn data(dst: u16, src: u16, sequence: u8, src_ieee: Option<Eui64>) -> Self {
        NwkHeader {
            frame_type: frame_type::DATA,
            protocol_version: PROTOCOL_VERSION_PRO,
            discover_route: 1,
            multicast: None,
            source_route: None,
            end_device_initiator: false,
            reserved: 0,
            dst,
            src,
            radius: 30,
            sequence,
            dst_ieee: None,
            src_ieee,
            security: None,
        }
    }

    /// Parses a header; returns it, its length (aux header included) and the offset of the
    /// aux header.
    pub fn parse(bytes: &[u8]) -> Result<(NwkHeader, usize, usize)> {
        let mut r = Reader::new(bytes, 0);
        let fc = r.u16("nwk_frame_control")?;
        let dst = r.u16("nwk_dst")?;
        let src = r.u16("nwk_src")?;
        let radius = r.u8("nwk_radius")?;
        let sequence = r.u8("nwk_sequence")?;
        let dst_ieee = if fc & 0x0800 != 0 {
            Some(Eui64(r.uint("nwk_dst_ieee", 8)?))
        } else {
            None
        };
        let src_ieee = if fc & 0x1000 != 0 {
            Some(Eui64(r.uint("nwk_src_ieee", 8)?))
        } else {
            None
        };
        let multicast = if fc & 0x0100 != 0 {
            Some(r.u8("nwk_multicast_control")?)
        } else {
            None
        };
        let source_route = if fc & 0x0400 != 0 {
            let count = r.u8("relay_count")?;
            let relay_index = r.u8("relay_index")?;
            let offset = r.offset();
            let mut relays = heapless::Vec::new();
            for _ in 0..count {
                relays
                    .push(r.u16("relay_list")?)
                    .map_err(|_| Error::TooLong {
                        field: "relay_list",
                        offset,
                        capacity: 16,
                    })?;
            }
            Some(SourceRoute {
                relay_index,
                relays,
            })
        } else {
            None
        };
        let aux_offset = r.offset();
        let security = if fc & 0x0200 != 0 {
            Some(AuxHeader::parse(&mut r)?)
        } else {
            None
        };
        let header = NwkHeader {
            frame_type: (fc & 3) as u8,
            protocol_version: ((fc >> 2) & 0xF) as u8,
            discover_route: ((fc >> 6) & 3) as u8,
            multicast,
            source_route,
            end_device_initiator: fc & 0x2000 != 0,
            reserved: (fc >> 14) as u8,
            dst,
            src,
            radius,
            sequence,
            dst_ieee,
            src_ieee,
            security,
        };
        Ok((header, r.offset(), aux_offset))
    }

    /// Offset of the aux header (the length of everything before it).
    pub fn aux_offset(&self) -> usize {
        8 + self.dst_ieee.map_or(0, |_| 8)
            + self.src_ieee.map_or(0, |_| 8)
            + self.multicast.map_or(0, |_| 1)
            + self
                .source_route
                .as_ref()
                .map_or(0, |s| 2 + 2 * s.relays.len())
    }

    /// Bytes of the header, aux header included.
    pub fn header_len(&self) -> usize {
        self.aux_offset() + self.security.as_ref().map_or(0, AuxHeader::len)
    }

    /// Writes the header into `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        if self.frame_type > 3
            || self.protocol_version > 15
            || self.discover_route > 3
            || self.reserved > 3
        {
            return Err(Error::Invalid {
                field: "nwk_frame_control",
                offset: 0,
                reason: "a field is out of range",
            });
        }
        let fc = u16::from(self.frame_type)
            | u16::from(self.protocol_version) << 2
            | u16::from(self.discover_route) << 6
            | u16::from(self.multicast.is_some()) << 8
            | u16::from(self.security.is_some()) << 9
            | u16::from(self.source_route.is_some()) << 10
            | u16::from(self.dst_ieee.is_some()) << 11
            | u16::from(self.src_ieee.is_some()) << 12
            | u16::from(self.end_device_initiator) << 13
            | u16::from(self.reserved) << 14;
        let len = self.header_len();
        let available = buf.len();
        let out = buf.get_mut(..len).ok_or(Error::BufferTooSmall {
            needed: len,
            available,
        })?;
        let mut w = Writer::new(out);
        w.u16(fc)?;
        w.u16(self.dst)?;
        w.u16(self.src)?;
        w.u8(self.radius)?;
        w.u8(self.sequence)?;
        for ieee in [self.dst_ieee, self.src_ieee].into_iter().flatten() {
            w.bytes(&ieee.to_le_bytes())?;
        }
        if let Some(m) = self.multicast {
            w.u8(m)?;
        }
        if let Some(route) = &self.source_route {
            w.u8(route.relays.len() as u8)?;
            w.u8(route.relay_index)?;
            for relay in &route.relays {
                w.u16(*relay)?;
            }
        }
        if let Some(aux) = &self.security {
            aux.emit(&mut w)?;
        }
        Ok(len)
    }
}
