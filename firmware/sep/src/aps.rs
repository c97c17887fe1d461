//! The ZigBee APS frame (ZigBee spec 2.2.5): data, command and acknowledgement frames, and the
//! APS commands a trust centre uses to admit a device (2.4.3).

use crate::error::{Error, Result};
use crate::install_code::Key;
use crate::mac::Eui64;
use crate::security::AuxHeader;
use crate::wire::{Reader, Writer};

/// The Smart Energy application profile.
pub const PROFILE_SMART_ENERGY: u16 = 0x0109;
/// The ZigBee Device Profile.
pub const PROFILE_ZDP: u16 = 0x0000;

/// APS frame type (frame-control bits 0–1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameType {
    /// Data.
    Data,
    /// APS command.
    Command,
    /// Acknowledgement.
    Ack,
    /// Inter-PAN.
    InterPan,
}

/// Delivery mode (frame-control bits 2–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DeliveryMode {
    /// Unicast to an endpoint.
    Unicast,
    /// Indirect (deprecated).
    Indirect,
    /// Broadcast to an endpoint.
    Broadcast,
    /// To a group.
    Group,
}

/// The plain-data APS header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ApsHeader {
    /// Frame type.
    pub frame_type: FrameType,
    /// Delivery mode.
    pub delivery_mode: DeliveryMode,
    /// Acknowledgement format: set for acknowledgements of APS commands.
    pub ack_format: bool,
    /// The recipient shall acknowledge.
    pub ack_request: bool,
    /// Extended header: extended frame control and, when fragmented, the block number.
    pub extended: Option<(u8, Option<u8>)>,
    /// Destination endpoint (unicast and broadcast data and data acks).
    pub dst_endpoint: Option<u8>,
    /// Group address (group delivery).
    pub group: Option<u16>,
    /// Cluster (data frames and data acks).
    pub cluster: Option<u16>,
    /// Profile (data frames and data acks).
    pub profile: Option<u16>,
    /// Source endpoint (data frames and data acks).
    pub src_endpoint: Option<u8>,
    /// APS counter.
    pub counter: u8,
    /// Auxiliary security header, for secured frames.
    pub security: Option<AuxHeader>,
}

impl ApsHeader {
    /// A unicast data frame header.
    pub fn data(
        dst_endpoint: u8,
        cluster: u16,
        profile: u16,
        src_endpoint: u8,
        counter: u8,
    ) -> Self {
        ApsHeader {
            frame_type: FrameType::Data,
            delivery_mode: DeliveryMode::Unicast,
            ack_format: false,
            ack_request: false,
            extended: None,
            dst_endpoint: Some(dst_endpoint),
            group: None,
            cluster: Some(cluster),
            profile: Some(profile),
            src_endpoint: Some(src_endpoint),
            counter,
            security: None,
        }
    }

    /// A command frame header.
    pub fn command(counter: u8, security: Option<AuxHeader>) -> Self {
        ApsHeader {
            frame_type: FrameType::Command,
            delivery_mode: DeliveryMode::Unicast,
            ack_format: false,
            ack_request: false,
            extended: None,
            dst_endpoint: None,
            group: None,
            cluster: None,
            profile: None,
            src_endpoint: None,
            counter,
            security,
        }
    }

    /// Parses a header; returns it, its length (aux header included) and the offset of the aux
    /// header.
    pub fn parse(bytes: &[u8]) -> Result<(ApsHeader, usize, usize)> {
        let mut r = Reader::new(bytes, 0);
        let fc = r.u8("aps_frame_control")?;
        let frame_type = [
            FrameType::Data,
            FrameType::Command,
            FrameType::Ack,
            FrameType::InterPan,
        ][usize::from(fc & 3)];
        let delivery_mode = [
            DeliveryMode::Unicast,
            DeliveryMode::Indirect,
            DeliveryMode::Broadcast,
            DeliveryMode::Group,
        ][usize::from((fc >> 2) & 3)];
        let ack_format = fc & 0x10 != 0;
        let addressed = match frame_type {
            FrameType::Data => true,
            FrameType::Ack => !ack_format,
            FrameType::Command | FrameType::InterPan => false,
        };
        let mut h = ApsHeader {
            frame_type,
            delivery_mode,
            ack_format,
            ack_request: fc & 0x40 != 0,
            extended: None,
            dst_endpoint: None,
            group: None,
            cluster: None,
            profile: None,
            src_endpoint: None,
            counter: 0,
            security: None,
        };
        if addressed {
            match delivery_mode {
                DeliveryMode::Unicast | DeliveryMode::Broadcast => {
                    h.dst_endpoint = Some(r.u8("aps_dst_endpoint")?)
                }
                DeliveryMode::Group => h.group = Some(r.u16("aps_group")?),
                DeliveryMode::Indirect => {}
            }
            h.cluster = Some(r.u16("aps_cluster")?);
            h.profile = Some(r.u16("aps_profile")?);
            h.src_endpoint = Some(r.u8("aps_src_endpoint")?);
        }
        h.counter = r.u8("aps_counter")?;
        if fc & 0x80 != 0 {
            let control = r.u8("aps_extended_frame_control")?;
            let block = if control & 3 != 0 {
                Some(r.u8("aps_block_number")?)
            } else {
                None
            };
            h.extended = Some((control, block));
        }
        let aux_offset = r.offset();
        if fc & 0x20 != 0 {
            h.security = Some(AuxHeader::parse(&mut r)?);
        }
        Ok((h, r.offset(), aux_offset))
    }

    fn frame_control(&self) -> u8 {
        let frame_type = match self.frame_type {
            FrameType::Data => 0,
            FrameType::Command => 1,
            FrameType::Ack => 2,
            FrameType::InterPan => 3,
        };
        let delivery = match self.delivery_mode {
            DeliveryMode::Unicast => 0,
            DeliveryMode::Indirect => 1,
            DeliveryMode::Broadcast => 2,
            DeliveryMode::Group => 3,
        };
        frame_type
            | delivery << 2
            | u8::from(self.ack_format) << 4
            | u8::from(self.security.is_some()) << 5
            | u8::from(self.ack_request) << 6
            | u8::from(self.extended.is_some()) << 7
    }

    /// Offset of the aux header.
    pub fn aux_offset(&self) -> usize {
        1 + self.dst_endpoint.map_or(0, |_| 1)
            + self.group.map_or(0, |_| 2)
            + self.cluster.map_or(0, |_| 2)
            + self.profile.map_or(0, |_| 2)
            + self.src_endpoint.map_or(0, |_| 1)
            + 1
            + self
                .extended
                .map_or(0, |(_, block)| 1 + usize::from(block.is_some()))
    }

    /// Bytes of the header, aux header included.
    pub fn header_len(&self) -> usize {
        self.aux_offset() + self.security.as_ref().map_or(0, AuxHeader::len)
    }

    /// Writes the header into `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.header_len();
        let available = buf.len();
        let out = buf.get_mut(..len).ok_or(Error::BufferTooSmall {
            needed: len,
            available,
        })?;
        let mut w = Writer::new(out);
        w.u8(self.frame_control())?;
        if let Some(ep) = self.dst_endpoint {
            w.u8(ep)?;
        }
        if let Some(group) = self.group {
            w.u16(group)?;
        }
        for v in [self.cluster, self.profile].into_iter().flatten() {
            w.u16(v)?;
        }
        if let Some(ep) = self.src_endpoint {
            w.u8(ep)?;
        }
        w.u8(self.counter)?;
        if let Some((control, block)) = self.extended {
            w.u8(control)?;
            if let Some(b) = block {
                w.u8(b)?;
            }
        }
        if let Some(aux) = &self.security {
            aux.emit(&mut w)?;
        }
        Ok(len)
    }
}

/// APS command identifiers (ZigBee 2007 / PRO).
pub mod command_id {
    /// Transport Key.
    pub const TRANSPORT_KEY: u8 = 0x05;
    /// Update Device.
    pub const UPDATE_DEVICE: u8 = 0x06;
    /// Remove Device.
    pub const REMOVE_DEVICE: u8 = 0x07;
    /// Request Key.
    pub const REQUEST_KEY: u8 = 0x08;
    /// Switch Key.
    pub const SWITCH_KEY: u8 = 0x09;
}

/// Key types of Transport Key and Request Key.
pub mod key_type {
    /// Trust-centre master key (deprecated).
    pub const TC_MASTER: u8 = 0x00;
    /// Standard network key.
    pub const NETWORK: u8 = 0x01;
    /// Application master key (deprecated).
    pub const APP_MASTER: u8 = 0x02;
    /// Application link key.
    pub const APP_LINK: u8 = 0x03;
    /// Trust-centre link key.
    pub const TC_LINK: u8 = 0x04;
    /// High-security network key (deprecated).
    pub const HIGH_SECURITY_NETWORK: u8 = 0x05;
}

/// An APS command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ApsCommand {
    /// Transport Key of a network key: the key, its sequence number, destination and source.
    TransportNetworkKey {
        /// [`key_type::NETWORK`] or [`key_type::HIGH_SECURITY_NETWORK`].
        key_type: u8,
        /// The key.
        key: Key,
        /// Its sequence number.
        sequence: u8,
        /// The device it is for (0 for all).
        destination: Eui64,
        /// The trust centre.
        source: Eui64,
    },
    /// Transport Key of a trust-centre (link or master) key.
    TransportTrustCenterKey {
        /// [`key_type::TC_LINK`] or [`key_type::TC_MASTER`].
        key_type: u8,
        /// The key.
        key: Key,
        /// The device it is for.
        destination: Eui64,
        /// The trust centre.
        source: Eui64,
    },
    /// Transport Key of an application (link or master) key.
    TransportApplicationKey {
        /// [`key_type::APP_LINK`] or [`key_type::APP_MASTER`].
        key_type: u8,
        /// The key.
        key: Key,
        /// The other device that shares it.
        partner: Eui64,
        /// 1 when the recipient initiated the request, 0 otherwise (other values kept as sent).
        initiator: u8,
    },
    /// Update Device: a router tells the trust centre a device joined or left.
    UpdateDevice {
        /// The device.
        device: Eui64,
        /// Its short address.
        short_address: u16,
        /// 0 secured rejoin, 1 unsecured join, 2 left, 3 trust-centre rejoin.
        status: u8,
    },
    /// Remove Device: the trust centre asks a router to remove a child.
    RemoveDevice {
        /// The child.
        target: Eui64,
    },
    /// Request Key.
    RequestKey {
        /// The key type wanted.
        key_type: u8,
        /// The partner, for an application link key.
        partner: Option<Eui64>,
    },
    /// Switch Key: make the network key with this sequence number active.
    SwitchKey {
        /// The sequence number.
        sequence: u8,
    },
    /// Another command, kept raw.
    Unknown {
        /// Its identifier.
        id: u8,
        /// Its payload (up to 64 bytes).
        payload: heapless::Vec<u8, 64>,
    },
}

impl ApsCommand {
    /// Parses a (decrypted) command payload: identifier and fields.
    pub fn parse(bytes: &[u8]) -> Result<ApsCommand> {
        let mut r = Reader::new(bytes, 0);
        let id = r.u8("aps_command_id")?;
        let eui = |r: &mut Reader<'_>, f| r.uint(f, 8).map(Eui64);
        let key = |r: &mut Reader<'_>| -> Result<Key> {
            let mut k = [0u8; 16];
            k.copy_from_slice(r.take("key", 16)?);
            Ok(k)
        };
        let cmd = match id {
            command_id::TRANSPORT_KEY => {
                let key_type = r.u8("key_type")?;
                match key_type {
                    key_type::NETWORK | key_type::HIGH_SECURITY_NETWORK => {
                        ApsCommand::TransportNetworkKey {
                            key_type,
                            key: key(&mut r)?,
                            sequence: r.u8("key_sequence")?,
                            destination: eui(&mut r, "destination")?,
                            source: eui(&mut r, "source")?,
                        }
                    }
                    key_type::TC_LINK | key_type::TC_MASTER => {
                        ApsCommand::TransportTrustCenterKey {
                            key_type,
                            key: key(&mut r)?,
                            destination: eui(&mut r, "destination")?,
                            source: eui(&mut r, "source")?,
                        }
                    }
                    key_type::APP_LINK | key_type::APP_MASTER => {
                        ApsCommand::TransportApplicationKey {
                            key_type,
                            key: key(&mut r)?,
                            partner: eui(&mut r, "partner")?,
                            initiator: r.u8("initiator")?,
                        }
                    }
                    _ => {
                        return Err(Error::Invalid {
                            field: "key_type",
                            offset: 1,
                            reason: "unknown key type",
                        });
                    }
                }
            }
            command_id::UPDATE_DEVICE => ApsCommand::UpdateDevice {
                device: eui(&mut r, "device")?,
                short_address: r.u16("short_address")?,
                status: r.u8("status")?,
            },
            command_id::REMOVE_DEVICE => ApsCommand::RemoveDevice {
                target: eui(&mut r, "target")?,
            },
            command_id::REQUEST_KEY => {
                let key_type = r.u8("key_type")?;
                let partner = if key_type == key_type::APP_LINK {
                    Some(eui(&mut r, "partner")?)
                } else {
                    None
                };
                ApsCommand::RequestKey { key_type, partner }
            }
            command_id::SWITCH_KEY => ApsCommand::SwitchKey {
                sequence: r.u8("key_sequence")?,
            },
            id => {
                let offset = r.offset();
                let payload = heapless::Vec::from_slice(r.rest()).map_err(|_| Error::TooLong {
                    field: "aps_command_payload",
                    offset,
                    capacity: 64,
                })?;
                ApsCommand::Unknown { id, payload }
            }
        };
        r.finish()?;
        Ok(cmd)
    }

    /// Writes the command (identifier and fields) into `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        match self {
            ApsCommand::TransportNetworkKey {
                key_type,
                key,
                sequence,
                destination,
                source,
            } => {
                w.u8(command_id::TRANSPORT_KEY)?;
                w.u8(*key_type)?;
                w.bytes(key)?;
                w.u8(*sequence)?;
                w.bytes(&destination.to_le_bytes())?;
                w.bytes(&source.to_le_bytes())?;
            }
            ApsCommand::TransportTrustCenterKey {
                key_type,
                key,
                destination,
                source,
            } => {
                w.u8(command_id::TRANSPORT_KEY)?;
                w.u8(*key_type)?;
                w.bytes(key)?;
                w.bytes(&destination.to_le_bytes())?;
                w.bytes(&source.to_le_bytes())?;
            }
            ApsCommand::TransportApplicationKey {
                key_type,
                key,
                partner,
                initiator,
            } => {
                w.u8(command_id::TRANSPORT_KEY)?;
                w.u8(*key_type)?;
                w.bytes(key)?;
                w.bytes(&partner.to_le_bytes())?;
                w.u8(*initiator)?;
            }
            ApsCommand::UpdateDevice {
                device,
                short_address,
                status,
            } => {
                w.u8(command_id::UPDATE_DEVICE)?;
                w.bytes(&device.to_le_bytes())?;
                w.u16(*short_address)?;
                w.u8(*status)?;
            }
            ApsCommand::RemoveDevice { target } => {
                w.u8(command_id::REMOVE_DEVICE)?;
                w.bytes(&target.to_le_bytes())?;
            }
            ApsCommand::RequestKey { key_type, partner } => {
                w.u8(command_id::REQUEST_KEY)?;
                w.u8(*key_type)?;
                if let Some(p) = partner {
                    w.bytes(&p.to_le_bytes())?;
                }
            }
            ApsCommand::SwitchKey { sequence } => {
                w.u8(command_id::SWITCH_KEY)?;
                w.u8(*sequence)?;
            }
            ApsCommand::Unknown { id, payload } => {
                w.u8(*id)?;
                w.bytes(payload)?;
            }
        }
        Ok(w.position())
    }

    /// The command's name.
    pub fn name(&self) -> &'static str {
        match self {
            ApsCommand::TransportNetworkKey { .. }
            | ApsCommand::TransportTrustCenterKey { .. }
            | ApsCommand::TransportApplicationKey { .. } => "transport_key",
            ApsCommand::UpdateDevice { .. } => "update_device",
            ApsCommand::RemoveDevice { .. } => "remove_device",
            ApsCommand::RequestKey { .. } => "request_key",
            ApsCommand::SwitchKey { .. } => "switch_key",
            ApsCommand::Unknown { .. } => "unknown",
        }
    }
}
