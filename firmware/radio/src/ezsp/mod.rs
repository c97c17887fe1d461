//! EZSP frames: headers in their three formats — legacy (`seq, FC, id`), v5–v7
//! (`seq, FC, 0xFF, 0x00, id`) and extended v8+ (`seq, FC_lo, FC_hi, id_lo, id_hi`), all
//! little-endian — and, in [`command`], every command's parameters (built from [`wire`]).

pub mod command;
pub mod wire;

/// Status codes as `(EmberStatus or EzspStatus, sl_status)`: the first is on the wire before
/// v14, the second from v14 (values from bellows' `EmberStatus`, `EzspStatus` and `sl_Status`,
/// and its `from_ember_status` map).
pub mod status {
    /// NOT_JOINED: no network (networkInit with nothing stored, a table entry not in use).
    pub const NOT_JOINED: (u8, u32) = (0x93, 0x0017);
    /// DELIVERY_FAILED: a unicast to a node not in the network.
    pub const DELIVERY_FAILED: (u8, u32) = (0x66, 0x0C02);
    /// INVALID_CALL / INVALID_PARAMETER.
    pub const INVALID_CALL: (u8, u32) = (0x70, 0x0021);
    /// A command the part does not carry out: INVALID_CALL / NOT_SUPPORTED.
    pub const NOT_SUPPORTED: (u8, u32) = (0x70, 0x000F);
    /// EzspStatus ERROR_INVALID_VALUE (getValue of an unknown value) / NOT_SUPPORTED.
    pub const INVALID_VALUE: (u8, u32) = (0x36, 0x000F);
    /// EzspStatus ERROR_INVALID_FRAME_ID / NOT_SUPPORTED: an unknown frame ID
    /// (invalidCommand's status).
    pub const INVALID_FRAME_ID: (u8, u32) = (0x31, 0x000F);
    /// EzspStatus ERROR_TRUNCATED / INVALID_PARAMETER: parameters that do not fit the layout.
    pub const TRUNCATED: (u8, u32) = (0x33, 0x0021);
    /// NOT_FOUND: EmberStatus 0x03 (bellows' NOT_FOUND) / sl_status NOT_FOUND.
    pub const NOT_FOUND: (u8, u32) = (0x03, 0x002D);
    /// sl_status NOT_FOUND: a key or token that is not there.
    pub const SL_NOT_FOUND: u32 = 0x002D;
    /// sl_status INVALID_PARAMETER.
    pub const SL_INVALID_PARAMETER: u32 = 0x0021;
    /// LIBRARY_NOT_PRESENT / NOT_AVAILABLE: a frame of a library the firmware lacks (CBKE).
    pub const LIBRARY_NOT_PRESENT: (u8, u32) = (0xB5, 0x000E);
    /// stackStatusHandler NETWORK_UP.
    pub const NETWORK_UP: (u8, u32) = (0x90, 0x0015);
    /// stackStatusHandler NETWORK_DOWN.
    pub const NETWORK_DOWN: (u8, u32) = (0x91, 0x0016);
    /// stackStatusHandler for a refused join: JOIN_FAILED / NETWORK_DOWN.
    pub const JOIN_FAILED: (u8, u32) = (0x94, 0x0016);
}

use command::{Callback, Command};

/// Frame-control bit 7 of FC_lo: a response or callback (NCP to host).
pub const FC_RESPONSE: u8 = 0x80;
/// FC_lo of an asynchronous callback on UART.
pub const FC_ASYNC_CALLBACK: u8 = 0x90;
/// FC_hi frame-format version of v8+.
pub const FC_HI_V8: u8 = 0x01;

/// EZSP frame IDs (bellows' command tables; the same in v13 and v14 unless noted).
pub mod frame_id {
    use super::{Callback, Command, command};
    /// version
    pub const VERSION: u16 = <command::Version as Command>::ID;
    /// addEndpoint
    pub const ADD_ENDPOINT: u16 = <command::AddEndpoint as Command>::ID;
    /// nop
    pub const NOP: u16 = <command::Nop as Command>::ID;
    /// getMfgToken
    pub const GET_MFG_TOKEN: u16 = <command::GetMfgToken as Command>::ID;
    /// networkInit
    pub const NETWORK_INIT: u16 = <command::NetworkInit as Command>::ID;
    /// networkState
    pub const NETWORK_STATE: u16 = <command::NetworkState as Command>::ID;
    /// stackStatusHandler
    pub const STACK_STATUS_HANDLER: u16 = <command::StackStatusHandler as Callback>::ID;
    /// formNetwork
    pub const FORM_NETWORK: u16 = <command::FormNetwork as Command>::ID;
    /// joinNetwork
    pub const JOIN_NETWORK: u16 = <command::JoinNetwork as Command>::ID;
    /// leaveNetwork
    pub const LEAVE_NETWORK: u16 = <command::LeaveNetwork as Command>::ID;
    /// permitJoining
    pub const PERMIT_JOINING: u16 = <command::PermitJoining as Command>::ID;
    /// trustCenterJoinHandler
    pub const TRUST_CENTER_JOIN_HANDLER: u16 = <command::TrustCenterJoinHandler as Callback>::ID;
    /// getEui64
    pub const GET_EUI64: u16 = <command::GetEui64 as Command>::ID;
    /// getNodeId
    pub const GET_NODE_ID: u16 = <command::GetNodeId as Command>::ID;
    /// getNetworkParameters
    pub const GET_NETWORK_PARAMETERS: u16 = <command::GetNetworkParameters as Command>::ID;
    /// sendUnicast
    pub const SEND_UNICAST: u16 = <command::SendUnicast as Command>::ID;
    /// messageSentHandler
    pub const MESSAGE_SENT_HANDLER: u16 = <command::MessageSentHandler as Callback>::ID;
    /// incomingMessageHandler
    pub const INCOMING_MESSAGE_HANDLER: u16 = <command::IncomingMessageHandler as Callback>::ID;
    /// customFrame
    pub const CUSTOM_FRAME: u16 = <command::CustomFrame as Command>::ID;
    /// getConfigurationValue
    pub const GET_CONFIGURATION_VALUE: u16 = <command::GetConfigurationValue as Command>::ID;
    /// setConfigurationValue
    pub const SET_CONFIGURATION_VALUE: u16 = <command::SetConfigurationValue as Command>::ID;
    /// setPolicy
    pub const SET_POLICY: u16 = <command::SetPolicy as Command>::ID;
    /// invalidCommand
    pub const INVALID_COMMAND: u16 = 0x0058;
    /// setInitialSecurityState
    pub const SET_INITIAL_SECURITY_STATE: u16 = <command::SetInitialSecurityState as Command>::ID;
    /// getCurrentSecurityState
    pub const GET_CURRENT_SECURITY_STATE: u16 = <command::GetCurrentSecurityState as Command>::ID;
    /// echo
    pub const ECHO: u16 = <command::Echo as Command>::ID;
    /// getValue
    pub const GET_VALUE: u16 = <command::GetValue as Command>::ID;
    /// setValue
    pub const SET_VALUE: u16 = <command::SetValue as Command>::ID;
    /// addTransientLinkKey (v5–v12)
    pub const ADD_TRANSIENT_LINK_KEY: u16 = 0x00AF;
    /// importTransientKey (v13+)
    pub const IMPORT_TRANSIENT_KEY: u16 = <command::ImportTransientKey as Command>::ID;
}

/// EzspConfigId MAX_END_DEVICE_CHILDREN: the coordinator's device limit.
pub const CONFIG_MAX_END_DEVICE_CHILDREN: u8 = 0x11;
/// EmberInitialSecurityState bitmask: TC_GLOBAL_LINK_KEY.
pub const TC_GLOBAL_LINK_KEY: u16 = 0x0004;
/// EmberInitialSecurityState bitmask: HAVE_PRECONFIGURED_KEY.
pub const HAVE_PRECONFIGURED_KEY: u16 = 0x0100;
/// EmberInitialSecurityState bitmask: HAVE_NETWORK_KEY.
pub const HAVE_NETWORK_KEY: u16 = 0x0200;
/// EmberInitialSecurityState bitmask: REQUIRE_ENCRYPTED_KEY.
pub const REQUIRE_ENCRYPTED_KEY: u16 = 0x0800;
/// EmberApsOption ENCRYPTION: APS-secured with the link key.
pub const APS_OPTION_ENCRYPTION: u16 = 0x0020;

/// Header format, chosen by the negotiated protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Format {
    /// The first `version` exchange and EZSP v4.
    Legacy,
    /// EZSP v5–v7.
    V5,
    /// EZSP v8 and later.
    Extended,
}

impl Format {
    /// The format of protocol `version`.
    pub fn of_version(version: u8) -> Format {
        match version {
            0..=4 => Format::Legacy,
            5..=7 => Format::V5,
            _ => Format::Extended,
        }
    }

    /// Header length.
    pub fn header_len(self) -> usize {
        match self {
            Format::Legacy => 3,
            Format::V5 => 5,
            Format::Extended => 5,
        }
    }
}

/// A frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// Sequence number.
    pub sequence: u8,
    /// FC_lo.
    pub control: u8,
    /// FC_hi (extended format; 0 otherwise).
    pub control_hi: u8,
    /// Frame ID.
    pub frame_id: u16,
}

/// Why a header could not be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HeaderError {
    /// Fewer bytes than the format's header.
    Truncated,
    /// A v5–v7 header without its `0xFF 0x00` marker.
    BadMarker,
    /// A frame ID over 0xFF in a one-byte-ID format.
    IdTooLarge,
    /// The buffer is too small.
    BufferTooSmall,
}

impl Header {
    /// Parses a header in `format`; returns it and the parameters after it.
    pub fn parse(format: Format, frame: &[u8]) -> Result<(Header, &[u8]), HeaderError> {
        let len = format.header_len();
        if frame.len() < len {
            return Err(HeaderError::Truncated);
        }
        let header = match format {
            Format::Legacy => Header {
                sequence: frame[0],
                control: frame[1],
                control_hi: 0,
                frame_id: u16::from(frame[2]),
            },
            Format::V5 => {
                if frame[2] != 0xFF || frame[3] != 0x00 {
                    return Err(HeaderError::BadMarker);
                }
                Header {
                    sequence: frame[0],
                    control: frame[1],
                    control_hi: 0,
                    frame_id: u16::from(frame[4]),
                }
            }
            Format::Extended => Header {
                sequence: frame[0],
                control: frame[1],
                control_hi: frame[2],
                frame_id: u16::from_le_bytes([frame[3], frame[4]]),
            },
        };
        Ok((header, &frame[len..]))
    }

    /// Writes the header in `format`; returns its length.
    pub fn emit(&self, format: Format, out: &mut [u8]) -> Result<usize, HeaderError> {
        let len = format.header_len();
        let out = out.get_mut(..len).ok_or(HeaderError::BufferTooSmall)?;
        let small_id = u8::try_from(self.frame_id).map_err(|_| HeaderError::IdTooLarge);
        match format {
            Format::Legacy => out.copy_from_slice(&[self.sequence, self.control, small_id?]),
            Format::V5 => {
                out.copy_from_slice(&[self.sequence, self.control, 0xFF, 0x00, small_id?])
            }
            Format::Extended => {
                let [lo, hi] = self.frame_id.to_le_bytes();
                out.copy_from_slice(&[self.sequence, self.control, self.control_hi, lo, hi]);
            }
        }
        Ok(len)
    }

    /// Whether the frame is a response or callback (NCP to host).
    pub fn is_response(&self) -> bool {
        self.control & FC_RESPONSE != 0
    }
}
