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
