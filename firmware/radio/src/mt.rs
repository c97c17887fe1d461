//! TI Monitor and Test (MT) framing, the serial protocol of Z-Stack ZNP co-processors (TI
//! SWRA198): `FE | len | cmd0 | cmd1 | data[len] | FCS`, where `cmd0 = type << 5 | subsystem`
//! and the FCS is the XOR of `len`, `cmd0`, `cmd1` and the data. Each SREQ gets exactly one
//! SRSP; AREQs flow either way at any time.

/// Start of frame.
pub const SOF: u8 = 0xFE;
/// The largest data field zigpy-znp and Z-Stack use.
pub const MAX_DATA: usize = 250;
/// The largest frame on the wire.
pub const MAX_FRAME: usize = MAX_DATA + 5;

/// The type bits of `cmd0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Kind {
    /// POLL (0).
    Poll,
    /// Synchronous request (1).
    Sreq,
    /// Asynchronous request or indication (2).
    Areq,
    /// Synchronous response (3).
    Srsp,
}

impl Kind {
    fn bits(self) -> u8 {
        match self {
            Kind::Poll => 0,
            Kind::Sreq => 1,
            Kind::Areq => 2,
            Kind::Srsp => 3,
        }
    }

    fn from_bits(bits: u8) -> Option<Kind> {
        Some(match bits {
            0 => Kind::Poll,
            1 => Kind::Sreq,
            2 => Kind::Areq,
            3 => Kind::Srsp,
            _ => return None,
        })
    }
}

/// Subsystems (the low five bits of `cmd0`).
pub mod subsystem {
    /// RPC errors.
    pub const RPC_ERROR: u8 = 0x00;
    /// SYS.
    pub const SYS: u8 = 0x01;
    /// MAC.
    pub const MAC: u8 = 0x02;
    /// NWK.
    pub const NWK: u8 = 0x03;
    /// AF.
    pub const AF: u8 = 0x04;
    /// ZDO.
    pub const ZDO: u8 = 0x05;
    /// SAPI.
    pub const SAPI: u8 = 0x06;
    /// UTIL.
    pub const UTIL: u8 = 0x07;
    /// DEBUG.
    pub const DEBUG: u8 = 0x08;
    /// APP.
    pub const APP: u8 = 0x09;
    /// APP_CNF (BDB commissioning).
    pub const APP_CNF: u8 = 0x0F;
    /// ZGP.
    pub const ZGP: u8 = 0x15;
}

/// RPC error codes, in `RPC_Error` SRSPs (`60 00 [code, cmd0, cmd1]`).
pub mod rpc_error {
    /// The subsystem is not supported.
    pub const INVALID_SUBSYSTEM: u8 = 0x01;
    /// The command ID is not supported.
    pub const INVALID_COMMAND_ID: u8 = 0x02;
    /// A parameter is wrong.
    pub const INVALID_PARAMETER: u8 = 0x03;
    /// The length is wrong.
    pub const INVALID_LENGTH: u8 = 0x04;
}

/// OSAL NV item IDs (Z-Stack's `ZCD_NV_*`).
pub mod nv {
    /// The coordinator's IEEE address.
    pub const EXTADDR: u16 = 0x0001;
    /// Startup options (bit 1 clears the network state).
    pub const STARTUP_OPTION: u16 = 0x0003;
    /// The network information base.
    pub const NIB: u16 = 0x0021;
    /// Active network key: sequence number and key.
    pub const NWK_ACTIVE_KEY_INFO: u16 = 0x003A;
    /// Alternate network key.
    pub const NWK_ALTERN_KEY_INFO: u16 = 0x003B;
    /// APS link key table (count, entries).
    pub const APS_LINK_KEY_TABLE: u16 = 0x004C;
    /// BDB: the node is on a network.
    pub const BDBNODEISONANETWORK: u16 = 0x0055;
    /// zigpy-znp's NV migration marker.
    pub const ZIGPY_ZNP_MIGRATION_ID: u16 = 0x005F;
    /// Z-Stack 3 configured marker (0x55).
    pub const HAS_CONFIGURED_ZSTACK3: u16 = 0x0060;
    /// Pre-configured network key.
    pub const PRECFGKEY: u16 = 0x0062;
    /// Extended PAN ID to form with.
    pub const EXTENDED_PAN_ID: u16 = 0x002D;
    /// Extended PAN ID used by APS.
    pub const APS_USE_EXT_PANID: u16 = 0x0047;
    /// PAN ID to form with.
    pub const PANID: u16 = 0x0083;
    /// Channels to form on (bit mask).
    pub const CHANLIST: u16 = 0x0084;
    /// Logical type: 0 coordinator, 1 router, 2 end device.
    pub const LOGICAL_TYPE: u16 = 0x0087;
    /// ZDO callbacks directly to the host.
    pub const ZDO_DIRECT_CB: u16 = 0x008F;
    /// Trust-centre link key seed.
    pub const TCLK_SEED: u16 = 0x0101;
}

/// Extended NV item IDs (system 1, Z-Stack).
pub mod ex {
    /// Address manager table.
    pub const ADDRMGR: u16 = 0x0001;
    /// Trust-centre link key table.
    pub const TCLK_TABLE: u16 = 0x0004;
    /// APS key data table.
    pub const APS_KEY_DATA_TABLE: u16 = 0x0006;
    /// NWK security material (frame counter per extended PAN ID).
    pub const NWK_SEC_MATERIAL_TABLE: u16 = 0x0007;
}

/// SYS command IDs.
pub mod sys {
    /// SYS_RESET_REQ (AREQ): 0 hard, 1 soft.
    pub const RESET_REQ: u8 = 0x00;
    /// SYS_PING: capabilities.
    pub const PING: u8 = 0x01;
    /// SYS_VERSION.
    pub const VERSION: u8 = 0x02;
    /// SYS_GET_EXTADDR.
    pub const GET_EXTADDR: u8 = 0x04;
    /// SYS_OSAL_NV_ITEM_INIT.
    pub const OSAL_NV_ITEM_INIT: u8 = 0x07;
    /// SYS_OSAL_NV_READ (u8 offset).
    pub const OSAL_NV_READ: u8 = 0x08;
    /// SYS_OSAL_NV_WRITE (u8 offset and length).
    pub const OSAL_NV_WRITE: u8 = 0x09;
    /// SYS_OSAL_NV_DELETE.
    pub const OSAL_NV_DELETE: u8 = 0x12;
    /// SYS_OSAL_NV_LENGTH.
    pub const OSAL_NV_LENGTH: u8 = 0x13;
    /// SYS_SET_TX_POWER.
    pub const SET_TX_POWER: u8 = 0x14;
    /// SYS_OSAL_NV_READ_EXT (u16 offset).
    pub const OSAL_NV_READ_EXT: u8 = 0x1C;
    /// SYS_OSAL_NV_WRITE_EXT (u16 offset and length).
    pub const OSAL_NV_WRITE_EXT: u8 = 0x1D;
    /// SYS_NV_CREATE (extended NV).
    pub const NV_CREATE: u8 = 0x30;
    /// SYS_NV_DELETE.
    pub const NV_DELETE: u8 = 0x31;
    /// SYS_NV_LENGTH.
    pub const NV_LENGTH: u8 = 0x32;
    /// SYS_NV_READ.
    pub const NV_READ: u8 = 0x33;
    /// SYS_NV_WRITE.
    pub const NV_WRITE: u8 = 0x34;
    /// SYS_RESET_IND (AREQ).
    pub const RESET_IND: u8 = 0x80;
}

/// UTIL command IDs.
pub mod util {
    /// UTIL_GET_DEVICE_INFO.
    pub const GET_DEVICE_INFO: u8 = 0x00;
    /// UTIL_LED_CONTROL.
    pub const LED_CONTROL: u8 = 0x0A;
    /// UTIL_ASSOC_FIND_DEVICE: zigpy-znp's structure-alignment probe.
    pub const ASSOC_FIND_DEVICE: u8 = 0x49;
}

/// AF command IDs.
pub mod af {
    /// AF_REGISTER.
    pub const REGISTER: u8 = 0x00;
    /// AF_DATA_REQUEST.
    pub const DATA_REQUEST: u8 = 0x01;
    /// AF_DATA_CONFIRM (AREQ).
    pub const DATA_CONFIRM: u8 = 0x80;
    /// AF_INCOMING_MSG (AREQ).
    pub const INCOMING_MSG: u8 = 0x81;
}

/// ZDO command IDs.
pub mod zdo {
    /// ZDO_MGMT_PERMIT_JOIN_REQ.
    pub const MGMT_PERMIT_JOIN_REQ: u8 = 0x36;
    /// ZDO_MSG_CB_REGISTER.
    pub const MSG_CB_REGISTER: u8 = 0x3E;
    /// ZDO_STARTUP_FROM_APP (Z-Stack 1.2).
    pub const STARTUP_FROM_APP: u8 = 0x40;
    /// ZDO_MGMT_PERMIT_JOIN_RSP (AREQ).
    pub const MGMT_PERMIT_JOIN_RSP: u8 = 0xB6;
    /// ZDO_STATE_CHANGE_IND (AREQ).
    pub const STATE_CHANGE_IND: u8 = 0xC0;
    /// ZDO_TC_DEV_IND (AREQ): a device joined through the trust centre.
    pub const TC_DEV_IND: u8 = 0xCA;
    /// Device state: joined as an end device.
    pub const DEV_END_DEVICE: u8 = 0x06;
    /// Device state: started as coordinator.
    pub const DEV_ZB_COORD: u8 = 0x09;
}

/// APP_CNF (BDB) command IDs.
pub mod app_cnf {
    /// APP_CNF_BDB_ADD_INSTALLCODE: format (1 code with CRC, 2 derived key), IEEE, data.
    pub const BDB_ADD_INSTALLCODE: u8 = 0x04;
    /// APP_CNF_BDB_START_COMMISSIONING: mode (0x02 steering, 0x04 formation).
    pub const BDB_START_COMMISSIONING: u8 = 0x05;
    /// APP_CNF_BDB_SET_JOINUSESINSTALLCODEKEY.
    pub const BDB_SET_JOINUSESINSTALLCODEKEY: u8 = 0x06;
    /// APP_CNF_BDB_SET_CHANNEL.
    pub const BDB_SET_CHANNEL: u8 = 0x08;
    /// APP_CNF_BDB_COMMISSIONING_NOTIFICATION (AREQ): status, mode, remaining modes.
    pub const BDB_COMMISSIONING_NOTIFICATION: u8 = 0x80;
}

/// A command's identity: type, subsystem and command ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// SREQ, SRSP, AREQ or POLL.
    pub kind: Kind,
    /// Subsystem (see [`subsystem`]).
    pub subsystem: u8,
    /// Command ID (`cmd1`).
    pub id: u8,
}

impl Header {
    /// A header.
    pub const fn new(kind: Kind, subsystem: u8, id: u8) -> Self {
        Header {
            kind,
            subsystem,
            id,
        }
    }

    /// `cmd0`.
    pub fn cmd0(&self) -> u8 {
        self.kind.bits() << 5 | (self.subsystem & 0x1F)
    }

    /// The header from `cmd0` and `cmd1`.
    pub fn parse(cmd0: u8, cmd1: u8) -> Option<Header> {
        Some(Header {
            kind: Kind::from_bits(cmd0 >> 5)?,
            subsystem: cmd0 & 0x1F,
            id: cmd1,
        })
    }

    /// The same command as an SRSP (the answer to this SREQ).
    pub fn response(&self) -> Header {
        Header {
            kind: Kind::Srsp,
            ..*self
        }
    }
}

/// A decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Frame {
    /// The command.
    pub header: Header,
    /// Its data.
    pub data: heapless::Vec<u8, MAX_DATA>,
}

/// Why a frame could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EncodeError {
    /// Data over [`MAX_DATA`] bytes.
    TooLong,
    /// The output buffer is too small.
    BufferTooSmall,
}

/// Why received bytes were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DecodeError {
    /// A length over [`MAX_DATA`].
    TooLong(u8),
    /// The FCS did not match.
    BadFcs {
        /// FCS received.
        got: u8,
        /// FCS computed.
        want: u8,
    },
    /// `cmd0` has the reserved type bits 4–7.
    BadType(u8),
}

/// The FCS of `len`, `cmd0`, `cmd1` and `data`.
pub fn fcs(len: u8, cmd0: u8, cmd1: u8, data: &[u8]) -> u8 {
    data.iter().fold(len ^ cmd0 ^ cmd1, |x, b| x ^ b)
}

/// Writes the frame for `header` and `data` into `out`; returns its length.
pub fn encode(header: Header, data: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    if data.len() > MAX_DATA {
        return Err(EncodeError::TooLong);
    }
    let total = data.len() + 5;
    let out = out.get_mut(..total).ok_or(EncodeError::BufferTooSmall)?;
    let len = data.len() as u8;
    let (cmd0, cmd1) = (header.cmd0(), header.id);
    out[0] = SOF;
    out[1] = len;
    out[2] = cmd0;
    out[3] = cmd1;
    out[4..4 + data.len()].copy_from_slice(data);
    out[total - 1] = fcs(len, cmd0, cmd1, data);
    Ok(total)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Sof,
    Len,
    Cmd0,
    Cmd1,
    Data,
    Fcs,
}

/// A streaming decoder: bytes in, frames out. Bytes outside frames (a bootloader's skip
/// bytes, line noise) are skipped until the next SOF.
#[derive(Debug, Clone)]
pub struct Decoder {
    step: Step,
    len: u8,
    cmd0: u8,
    cmd1: u8,
    data: heapless::Vec<u8, MAX_DATA>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder waiting for SOF.
    pub const fn new() -> Self {
        Decoder {
            step: Step::Sof,
            len: 0,
            cmd0: 0,
            cmd1: 0,
            data: heapless::Vec::new(),
        }
    }

    /// Feeds one byte; returns a frame (or why one was dropped) when one ends.
    pub fn push(&mut self, byte: u8) -> Option<Result<Frame, DecodeError>> {
        match self.step {
            Step::Sof => {
                if byte == SOF {
                    self.step = Step::Len;
                }
            }
            Step::Len => {
                if usize::from(byte) > MAX_DATA {
                    self.step = Step::Sof;
                    return Some(Err(DecodeError::TooLong(byte)));
                }
                self.len = byte;
                self.data.clear();
                self.step = Step::Cmd0;
            }
            Step::Cmd0 => {
                self.cmd0 = byte;
                self.step = Step::Cmd1;
            }
            Step::Cmd1 => {
                self.cmd1 = byte;
                self.step = if self.len == 0 { Step::Fcs } else { Step::Data };
            }
            Step::Data => {
                let _ = self.data.push(byte);
                if self.data.len() == usize::from(self.len) {
                    self.step = Step::Fcs;
                }
            }
            Step::Fcs => {
                self.step = Step::Sof;
                let want = fcs(self.len, self.cmd0, self.cmd1, &self.data);
                if byte != want {
                    return Some(Err(DecodeError::BadFcs { got: byte, want }));
                }
                let Some(header) = Header::parse(self.cmd0, self.cmd1) else {
                    return Some(Err(DecodeError::BadType(self.cmd0)));
                };
                return Some(Ok(Frame {
                    header,
                    data: core::mem::take(&mut self.data),
                }));
            }
        }
        None
    }
}
