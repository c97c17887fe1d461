//! ASH framing (Silicon Labs UG101): `[control][data…][CRC hi][CRC lo]`, byte-stuffed, ended by
//! the flag byte 0x7E.
//!
//! DATA frames carry an EZSP frame whose bytes are XORed with a pseudo-random sequence; the CRC
//! (CRC-CCITT: poly 0x1021, init 0xFFFF, big-endian) covers control and data as sent (after
//! randomisation), before stuffing.

/// Ends a frame.
pub const FLAG: u8 = 0x7E;
/// The next byte is XORed with 0x20.
pub const ESCAPE: u8 = 0x7D;
/// Software flow control: resume.
pub const XON: u8 = 0x11;
/// Software flow control: pause.
pub const XOFF: u8 = 0x13;
/// A byte was lost to a UART error: drop everything up to the next flag.
pub const SUBSTITUTE: u8 = 0x18;
/// Cancel: drop everything since the previous flag.
pub const CANCEL: u8 = 0x1A;

/// The largest DATA payload (an EZSP frame).
pub const MAX_DATA: usize = 128;
/// The largest frame before stuffing: control, data, CRC.
pub const MAX_FRAME: usize = 1 + MAX_DATA + 2;

/// CRC-CCITT (CCITT-FALSE / IBM-3740) as ASH uses it.
pub const CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740);

/// Protocol version carried by RSTACK and ERROR.
pub const VERSION: u8 = 0x02;

/// The control byte of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Control {
    /// `0 fff r aaa`: a data frame.
    Data {
        /// Frame number (0–7).
        frame: u8,
        /// Retransmission.
        retransmit: bool,
        /// The next frame number the sender expects (0–7).
        ack: u8,
    },
    /// `100 r n aaa`: acknowledges frames before `ack`.
    Ack {
        /// Next frame number expected.
        ack: u8,
        /// The host is not ready for callbacks.
        not_ready: bool,
    },
    /// `101 r n aaa`: asks for retransmission from `ack`.
    Nak {
        /// Next frame number expected.
        ack: u8,
        /// The host is not ready for callbacks.
        not_ready: bool,
    },
    /// 0xC0: reset (host to NCP).
    Rst,
    /// 0xC1: reset acknowledgement (data: version, reset code).
    RstAck,
    /// 0xC2: error (data: version, error code).
    Error,
}

impl Control {
    /// The control byte.
    pub fn byte(self) -> u8 {
        match self {
            Control::Data {
                frame,
                retransmit,
                ack,
            } => (frame & 7) << 4 | u8::from(retransmit) << 3 | (ack & 7),
            Control::Ack { ack, not_ready } => 0x80 | u8::from(not_ready) << 3 | (ack & 7),
            Control::Nak { ack, not_ready } => 0xA0 | u8::from(not_ready) << 3 | (ack & 7),
            Control::Rst => 0xC0,
            Control::RstAck => 0xC1,
            Control::Error => 0xC2,
        }
    }

    /// The control of a byte, or `None` for a byte no frame type uses.
    pub fn from_byte(b: u8) -> Option<Control> {
        Some(match b {
            0x00..=0x7F => Control::Data {
                frame: b >> 4 & 7,
                retransmit: b & 0x08 != 0,
                ack: b & 7,
            },
            0x80..=0x9F if b & 0x10 == 0 => Control::Ack {
                ack: b & 7,
                not_ready: b & 0x08 != 0,
            },
            0xA0..=0xBF if b & 0x10 == 0 => Control::Nak {
                ack: b & 7,
                not_ready: b & 0x08 != 0,
            },
            0xC0 => Control::Rst,
            0xC1 => Control::RstAck,
            0xC2 => Control::Error,
            _ => return None,
        })
    }
}

/// XORs `data` with the ASH pseudo-random sequence (0x42, 0x21, 0xA8, …); applying it twice
/// gives the data back.
pub fn randomize(data: &mut [u8]) {
    let mut r: u8 = 0x42;
    for b in data {
        *b ^= r;
        r = if r & 1 != 0 { (r >> 1) ^ 0xB8 } else { r >> 1 };
    }
}

fn reserved(b: u8) -> bool {
    matches!(b, FLAG | ESCAPE | XON | XOFF | SUBSTITUTE | CANCEL)
}

/// Why a frame could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EncodeError {
    /// More than [`MAX_DATA`] bytes of data.
    TooLong,
    /// The output buffer is too small.
    BufferTooSmall,
}

/// Writes a frame — control, `data` (randomised for DATA frames), CRC, stuffed, then the flag —
/// into `out`; returns the number of bytes written. (Hosts send CANCEL bytes before RST to
/// flush a partial frame; that is theirs to add.)
pub fn encode(control: Control, data: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    if data.len() > MAX_DATA {
        return Err(EncodeError::TooLong);
    }
    let mut raw = [0u8; MAX_FRAME];
    raw[0] = control.byte();
    raw[1..1 + data.len()].copy_from_slice(data);
    if matches!(control, Control::Data { .. }) {
        randomize(&mut raw[1..1 + data.len()]);
    }
    let body = 1 + data.len();
    let crc = CRC.checksum(&raw[..body]).to_be_bytes();
    raw[body..body + 2].copy_from_slice(&crc);
    let mut n = 0;
    let mut put = |b: u8| -> Result<(), EncodeError> {
        *out.get_mut(n).ok_or(EncodeError::BufferTooSmall)? = b;
        n += 1;
        Ok(())
    };
    for &b in &raw[..body + 2] {
        if reserved(b) {
            put(ESCAPE)?;
            put(b ^ 0x20)?;
        } else {
            put(b)?;
        }
    }
    put(FLAG)?;
    Ok(n)
}

/// A received frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Frame {
    /// Its control.
    pub control: Control,
    /// Its data, de-randomised for DATA frames.
    pub data: heapless::Vec<u8, MAX_DATA>,
}

/// Why bytes between two flags were not a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DecodeError {
    /// Shorter than control + CRC.
    TooShort,
    /// Longer than [`MAX_FRAME`].
    TooLong,
    /// The CRC does not match.
    BadCrc,
    /// An escape byte right before the flag.
    BadEscape,
    /// A control byte no frame type uses.
    BadControl(u8),
    /// A SUBSTITUTE byte marked the frame as damaged.
    Substituted,
}

/// A streaming decoder: feed it every received byte; at each flag it yields a frame or why the
/// bytes were not one. CANCEL drops the partial frame silently; XON/XOFF are dropped; an empty
/// frame (two flags) yields nothing.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    buf: heapless::Vec<u8, MAX_FRAME>,
    escaped: bool,
    overflow: bool,
    substituted: bool,
}

impl Decoder {
    /// A decoder at a frame boundary.
    pub fn new() -> Self {
        Self::default()
    }

    fn reset(&mut self) {
        self.buf.clear();
        self.escaped = false;
        self.overflow = false;
        self.substituted = false;
    }

    /// Takes one byte; at the end of a frame returns it (or why it is not one).
    pub fn push(&mut self, byte: u8) -> Option<Result<Frame, DecodeError>> {
        match byte {
            FLAG => {
                let result = self.finish();
                self.reset();
                result
            }
            CANCEL => {
                self.reset();
                None
            }
            SUBSTITUTE => {
                self.substituted = true;
                None
            }
            XON | XOFF => None,
            ESCAPE => {
                self.escaped = true;
                None
            }
            b => {
                let b = if core::mem::take(&mut self.escaped) {
                    b ^ 0x20
                } else {
                    b
                };
                if self.buf.push(b).is_err() {
                    self.overflow = true;
                }
                None
            }
        }
    }

    fn finish(&mut self) -> Option<Result<Frame, DecodeError>> {
        if self.buf.is_empty() && !self.escaped && !self.substituted && !self.overflow {
            return None;
        }
        Some(self.frame())
    }

    fn frame(&mut self) -> Result<Frame, DecodeError> {
        if self.substituted {
            return Err(DecodeError::Substituted);
        }
        if self.escaped {
            return Err(DecodeError::BadEscape);
        }
        if self.overflow {
            return Err(DecodeError::TooLong);
        }
        if self.buf.len() < 3 {
            return Err(DecodeError::TooShort);
        }
        let body = self.buf.len() - 2;
        let crc = u16::from_be_bytes([self.buf[body], self.buf[body + 1]]);
        if CRC.checksum(&self.buf[..body]) != crc {
            return Err(DecodeError::BadCrc);
        }
        let control =
            Control::from_byte(self.buf[0]).ok_or(DecodeError::BadControl(self.buf[0]))?;
        let mut data = heapless::Vec::new();
        data.extend_from_slice(&self.buf[1..body])
            .map_err(|_| DecodeError::TooLong)?;
        if matches!(control, Control::Data { .. }) {
            randomize(&mut data);
        }
        Ok(Frame { control, data })
    }
}
