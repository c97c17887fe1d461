//! ZigBee frame security (ZigBee spec 4.5): the auxiliary security header shared by NWK and APS,
//! AES-CCM* with a 4-byte MIC (security level 5, ENC-MIC-32), and frame-counter checks.
//!
//! On air the security level in the security-control byte is sent as 0; sender and receiver
//! put the real level (5) back before building the nonce and the authenticated data.
//! For `M > 0`, CCM* is plain CCM: nonce = source EUI64 (LE) ‖ frame counter (LE) ‖
//! security control (real level); authenticated data = the header up to and including the
//! auxiliary header; the MIC follows the ciphertext.

use crate::error::{Error, Result};
use crate::install_code::Key;
use crate::mac::Eui64;
use crate::wire::{Reader, Writer};
use aes::Aes128;
use ccm::aead::{AeadInPlace, KeyInit, generic_array::GenericArray};

/// The security level every ZigBee PRO network uses: encryption with a 32-bit MIC.
pub const LEVEL_ENC_MIC_32: u8 = 5;
/// MIC length at level 5.
pub const MIC_LEN: usize = 4;

type Ccm = ccm::Ccm<Aes128, ccm::consts::U4, ccm::consts::U13>;

/// Which key secures a frame (security-control bits 3–4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KeyId {
    /// 0: a link key (APS data key).
    Data,
    /// 1: the network key.
    Network,
    /// 2: the key-transport key, HMAC-MMO(link key, 0x00).
    KeyTransport,
    /// 3: the key-load key, HMAC-MMO(link key, 0x02).
    KeyLoad,
}

impl KeyId {
    fn bits(self) -> u8 {
        match self {
            KeyId::Data => 0,
            KeyId::Network => 1,
            KeyId::KeyTransport => 2,
            KeyId::KeyLoad => 3,
        }
    }
    fn from_bits(bits: u8) -> KeyId {
        match bits & 3 {
            0 => KeyId::Data,
            1 => KeyId::Network,
            2 => KeyId::KeyTransport,
            _ => KeyId::KeyLoad,
        }
    }
    /// The key this identifier selects, derived from the link key where needed.
    pub fn key_from_link_key(self, link_key: &Key) -> Key {
        match self {
            KeyId::Data | KeyId::Network => *link_key,
            KeyId::KeyTransport => crate::install_code::key_transport_key(link_key),
            KeyId::KeyLoad => crate::install_code::key_load_key(link_key),
        }
    }
}

/// The auxiliary security header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AuxHeader {
    /// Security level as sent on air (0 in ZigBee PRO; the real level is 5).
    pub level_on_air: u8,
    /// Key identifier.
    pub key_id: KeyId,
    /// Security-control bits 6–7, kept as received.
    pub reserved: u8,
    /// Frame counter.
    pub frame_counter: u32,
    /// Source EUI64, present when the extended-nonce bit is set.
    pub source: Option<Eui64>,
    /// Key sequence number, present for the network key.
    pub key_sequence: Option<u8>,
}

impl AuxHeader {
    /// An aux header for a frame secured by `source` with `key_id`, carrying the source address
    /// (extended nonce) and, for the network key, its sequence number.
    pub fn new(key_id: KeyId, frame_counter: u32, source: Eui64, key_sequence: u8) -> Self {
        AuxHeader {
            level_on_air: 0,
            key_id,
            reserved: 0,
            frame_counter,
            source: Some(source),
            key_sequence: (key_id == KeyId::Network).then_some(key_sequence),
        }
    }

    /// The security-control byte with the level given.
    fn control(&self, level: u8) -> u8 {
        level & 7
            | self.key_id.bits() << 3
            | u8::from(self.source.is_some()) << 5
            | (self.reserved & 3) << 6
    }

    /// Parses an aux header.
    pub fn parse(r: &mut Reader<'_>) -> Result<AuxHeader> {
        let control = r.u8("security_control")?;
        let frame_counter = r.u32("frame_counter")?;
        let source = if control & 0x20 != 0 {
            Some(Eui64(r.uint("source_address", 8)?))
        } else {
            None
        };
        let key_id = KeyId::from_bits(control >> 3);
        let key_sequence = if key_id == KeyId::Network {
            Some(r.u8("key_sequence")?)
        } else {
            None
        };
        Ok(AuxHeader {
            level_on_air: control & 7,
            key_id,
            reserved: control >> 6,
            frame_counter,
            source,
            key_sequence,
        })
    }

    /// Bytes of the header.
    pub fn len(&self) -> usize {
        5 + self.source.map_or(0, |_| 8) + self.key_sequence.map_or(0, |_| 1)
    }

    /// Whether the header is empty (never: it has at least 5 bytes).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the header as sent on air.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        if self.key_sequence.is_some() != (self.key_id == KeyId::Network) {
            return Err(Error::Invalid {
                field: "key_sequence",
                offset: 0,
                reason: "present exactly for the network key",
            });
        }
        w.u8(self.control(self.level_on_air))?;
        w.u32(self.frame_counter)?;
        if let Some(source) = self.source {
            w.bytes(&source.to_le_bytes())?;
        }
        if let Some(seq) = self.key_sequence {
            w.u8(seq)?;
        }
        Ok(())
    }

    fn nonce(&self, source: Eui64) -> [u8; 13] {
        let mut nonce = [0u8; 13];
        nonce[..8].copy_from_slice(&source.to_le_bytes());
        nonce[8..12].copy_from_slice(&self.frame_counter.to_le_bytes());
        nonce[12] = self.control(LEVEL_ENC_MIC_32);
        nonce
    }
}

/// Why a secured frame could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SecurityError {
    /// The frame is shorter than its headers and MIC.
    Truncated,
    /// The aux header has no source address and none was given.
    NoSourceAddress,
    /// The MIC does not match: wrong key, or the frame was altered.
    MicMismatch,
    /// The frame counter is not above the last one accepted from that sender.
    Replay {
        /// Counter received.
        received: u32,
        /// Last counter accepted.
        last: u32,
    },
}

impl core::fmt::Display for SecurityError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SecurityError::Truncated => {
                f.write_str("secured frame shorter than its headers and MIC")
            }
            SecurityError::NoSourceAddress => f.write_str("no source address for the nonce"),
            SecurityError::MicMismatch => f.write_str("MIC mismatch (wrong key or altered frame)"),
            SecurityError::Replay { received, last } => {
                write!(
                    f,
                    "frame counter {received} not above the last accepted, {last}"
                )
            }
        }
    }
}

impl core::error::Error for SecurityError {}

/// The security-control byte sits at `aux_offset` of `frame`; patch its level for the MIC
/// computation and restore what was on air afterwards.
fn with_real_level<T>(frame: &mut [u8], aux_offset: usize, f: impl FnOnce(&mut [u8]) -> T) -> T {
    let on_air = frame[aux_offset];
    frame[aux_offset] = (on_air & !7) | LEVEL_ENC_MIC_32;
    let out = f(frame);
    frame[aux_offset] = on_air;
    out
}

/// Encrypts and authenticates a frame in place.
///
/// `frame[..header_len]` is the (NWK or APS) header ending with the aux header, which starts at
/// `aux_offset`; `frame[header_len..header_len + payload_len]` is the plaintext payload. The
/// payload is encrypted where it is and the MIC written after it; returns the frame's new
/// length. `source` is the nonce address when the aux header carries none.
pub fn encrypt(
    key: &Key,
    aux: &AuxHeader,
    frame: &mut [u8],
    aux_offset: usize,
    header_len: usize,
    payload_len: usize,
    source: Option<Eui64>,
) -> Result<usize> {
    let end = header_len + payload_len;
    let total = end + MIC_LEN;
    if frame.len() < total || aux_offset >= header_len {
        return Err(Error::BufferTooSmall {
            needed: total,
            available: frame.len(),
        });
    }
    let nonce_source = aux.source.or(source).ok_or(Error::Invalid {
        field: "source_address",
        offset: aux_offset,
        reason: "no source address for the nonce",
    })?;
    let nonce = aux.nonce(nonce_source);
    let cipher = Ccm::new(GenericArray::from_slice(key));
    let tag = with_real_level(frame, aux_offset, |frame| {
        let (aad, rest) = frame.split_at_mut(header_len);
        cipher.encrypt_in_place_detached(
            GenericArray::from_slice(&nonce),
            aad,
            &mut rest[..payload_len],
        )
    })
    .map_err(|_| Error::Invalid {
        field: "payload",
        offset: header_len,
        reason: "CCM refused the payload length",
    })?;
    frame[end..total].copy_from_slice(&tag);
    Ok(total)
}

/// Checks the MIC and decrypts a frame in place: `frame[header_len..]` is ciphertext followed by
/// the MIC. On success the plaintext is `frame[header_len..header_len + len]` for the returned
/// `len`; on failure the frame is left as it was.
pub fn decrypt(
    key: &Key,
    aux: &AuxHeader,
    frame: &mut [u8],
    aux_offset: usize,
    header_len: usize,
    source: Option<Eui64>,
) -> core::result::Result<usize, SecurityError> {
    let Some(payload_len) = frame.len().checked_sub(header_len + MIC_LEN) else {
        return Err(SecurityError::Truncated);
    };
    if aux_offset >= header_len {
        return Err(SecurityError::Truncated);
    }
    let nonce_source = aux
        .source
        .or(source)
        .ok_or(SecurityError::NoSourceAddress)?;
    let nonce = aux.nonce(nonce_source);
    let cipher = Ccm::new(GenericArray::from_slice(key));
    let mut mic = [0u8; MIC_LEN];
    mic.copy_from_slice(&frame[header_len + payload_len..]);
    // The AEAD zeroes its buffer when the MIC fails; decrypt a copy, so that a wrong candidate
    // key leaves the frame intact for the next one.
    let mut scratch = [0u8; crate::mac::MAX_PHY_PACKET_SIZE];
    let plain = scratch
        .get_mut(..payload_len)
        .ok_or(SecurityError::Truncated)?;
    plain.copy_from_slice(&frame[header_len..header_len + payload_len]);
    with_real_level(frame, aux_offset, |frame| {
        cipher.decrypt_in_place_detached(
            GenericArray::from_slice(&nonce),
            &frame[..header_len],
            plain,
            GenericArray::from_slice(&mic),
        )
    })
    .map_err(|_| SecurityError::MicMismatch)?;
    frame[header_len..header_len + payload_len].copy_from_slice(plain);
    Ok(payload_len)
}

/// Incoming frame counters per sender: a frame is accepted only if its counter is above the
/// last one accepted from the same EUI64. Holds `N` senders; when full, the entry with the
/// lowest counter is replaced (a new sender is never refused for lack of room).
#[derive(Debug, Clone, Default)]
pub struct FrameCounters<const N: usize> {
    entries: heapless::Vec<(Eui64, u32), N>,
}

impl<const N: usize> FrameCounters<N> {
    /// An empty table.
    pub fn new() -> Self {
        FrameCounters {
            entries: heapless::Vec::new(),
        }
    }

    /// Accepts `counter` from `source` if it is fresh, and remembers it.
    pub fn accept(
        &mut self,
        source: Eui64,
        counter: u32,
    ) -> core::result::Result<(), SecurityError> {
        if let Some(entry) = self.entries.iter_mut().find(|(s, _)| *s == source) {
            if counter <= entry.1 {
                return Err(SecurityError::Replay {
                    received: counter,
                    last: entry.1,
                });
            }
            entry.1 = counter;
            return Ok(());
        }
        if self.entries.push((source, counter)).is_err()
            && let Some(slot) = self.entries.iter_mut().min_by_key(|(_, c)| *c)
        {
            *slot = (source, counter);
        }
        Ok(())
    }

    /// The last counter accepted from `source`.
    pub fn last(&self, source: Eui64) -> Option<u32> {
        self.entries
            .iter()
            .find(|(s, _)| *s == source)
            .map(|(_, c)| *c)
    }
}
