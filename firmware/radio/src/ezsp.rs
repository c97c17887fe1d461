//! EZSP frame headers: legacy (`seq, FC, id`), v5–v7 (`seq, FC, 0xFF, 0x00, id`) and extended
//! v8+ (`seq, FC_lo, FC_hi, id_lo, id_hi`), all little-endian.

/// Frame-control bit 7 of FC_lo: a response or callback (NCP to host).
pub const FC_RESPONSE: u8 = 0x80;
/// FC_lo of an asynchronous callback on UART.
pub const FC_ASYNC_CALLBACK: u8 = 0x90;
/// FC_hi frame-format version of v8+.
pub const FC_HI_V8: u8 = 0x01;

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
