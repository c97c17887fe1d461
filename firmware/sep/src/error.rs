//! The one error type of the crate: what went wrong and where.

use core::fmt;

/// Result alias used throughout the crate.
pub type Result<T> = core::result::Result<T, Error>;

/// A parse or emit failure. Offsets count bytes from the start of the buffer handed to the
/// outermost `parse` call (the first byte of the ZCL frame, for [`crate::ZclFrame::parse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The input ended inside `field`, which starts at `offset` and needs `needed` bytes while
    /// only `available` remain.
    Truncated {
        /// Field being read.
        field: &'static str,
        /// Where the field starts.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the input.
        available: usize,
    },
    /// Bytes remain after the last field of the command.
    TrailingBytes {
        /// Where the unexpected bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
    /// A value this format cannot carry.
    Invalid {
        /// Field holding the value.
        field: &'static str,
        /// Where it starts (0 for values rejected while emitting).
        offset: usize,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A list or string is longer than this crate stores (see [`crate::MAX_FRAME_LEN`]).
    TooLong {
        /// Field being read or written.
        field: &'static str,
        /// Where it starts.
        offset: usize,
        /// The capacity that was exceeded.
        capacity: usize,
    },
    /// The output buffer is too small for the frame.
    BufferTooSmall {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// An optional trailing field is present although an earlier optional field is absent; the
    /// wire format can only omit fields from the end.
    OptionalFieldGap {
        /// The present field that follows an absent one.
        field: &'static str,
    },
    /// The command does not belong to the cluster, frame type, direction or command ID that the
    /// header and cluster say.
    CommandMismatch {
        /// The command's name in the JSON form.
        command: &'static str,
        /// What does not match.
        reason: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated {
                field,
                offset,
                needed,
                available,
            } => write!(
                f,
                "truncated: {field} at offset {offset} needs {needed} byte(s), {available} left"
            ),
            Error::TrailingBytes { offset, count } => {
                write!(f, "{count} unexpected trailing byte(s) at offset {offset}")
            }
            Error::Invalid {
                field,
                offset,
                reason,
            } => {
                write!(f, "invalid {field} at offset {offset}: {reason}")
            }
            Error::TooLong {
                field,
                offset,
                capacity,
            } => write!(
                f,
                "{field} at offset {offset} is longer than the {capacity} this codec stores"
            ),
            Error::BufferTooSmall { needed, available } => write!(
                f,
                "output buffer too small: the frame needs {needed} byte(s), the buffer has {available}"
            ),
            Error::OptionalFieldGap { field } => write!(
                f,
                "{field} is present but an earlier optional field is absent; only trailing fields may be omitted"
            ),
            Error::CommandMismatch { command, reason } => write!(f, "{command}: {reason}"),
        }
    }
}

impl core::error::Error for Error {}
