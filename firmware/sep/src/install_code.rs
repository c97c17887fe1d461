//! Install codes and the ZigBee hashes built on AES-128: Matyas-Meyer-Oseas (MMO, ZigBee spec
//! B.6) and the keyed hash HMAC-MMO (B.1.4).
//!
//! An install code is 6, 8, 12 or 16 random bytes followed by their CRC-16/X-25, appended
//! little-endian. The device's preconfigured link key is the MMO hash of the whole code,
//! CRC included.
//!
//! ```
//! use hanrig_sep::install_code::InstallCode;
//! let code: InstallCode = "83FED3407A939723A5C639B26916D505C3B5".parse().unwrap();
//! assert_eq!(code.crc(), 0xB5C3);
//! assert_eq!(code.link_key()[..4], [0x66, 0xB6, 0x90, 0x09]);
//! ```

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use core::fmt;
use core::str::FromStr;

/// A 128-bit key.
pub type Key = [u8; 16];

/// The global default trust-centre link key, "ZigBeeAlliance09" (Home Automation and ZigBee 3.0).
/// Smart Energy devices must not accept it in place of their install-code key (SE 1.0 §5.4).
pub const ZIGBEE_ALLIANCE_09: Key = *b"ZigBeeAlliance09";

/// CRC-16/X-25 (poly 0x1021 reflected, init and xorout 0xFFFF), the install-code checksum.
pub const CRC16_X25: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_SDLC);

/// Why an install code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum InstallCodeError {
    /// A character that is neither a hex digit nor a separator (space, `-`, `:`).
    BadCharacter {
        /// Character index in the input.
        position: usize,
        /// The character.
        character: char,
    },
    /// An odd number of hex digits.
    OddDigits {
        /// How many there were.
        digits: usize,
    },
    /// Not 8, 10, 14 or 18 bytes (6, 8, 12 or 16 plus the 2-byte CRC).
    BadLength {
        /// Bytes given.
        len: usize,
    },
    /// The last two bytes are not the CRC of the others.
    BadCrc {
        /// CRC of the code's body.
        expected: u16,
        /// CRC carried by the code.
        found: u16,
    },
}

impl fmt::Display for InstallCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            InstallCodeError::BadCharacter {
                position,
                character,
            } => write!(
                f,
                "bad character {character:?} at position {position}: install codes are hex digits, optionally separated by white space, '-' or ':'"
            ),
            InstallCodeError::OddDigits { digits } => {
                write!(
                    f,
                    "{digits} hex digits: an install code is whole bytes (an even number of digits)"
                )
            }
            InstallCodeError::BadLength { len } => write!(
                f,
                "{len} bytes: an install code is 6, 8, 12 or 16 bytes plus a 2-byte CRC (8, 10, 14 or 18 bytes)"
            ),
            InstallCodeError::BadCrc { expected, found } => write!(
                f,
                "CRC mismatch: the code's bytes give CRC 0x{expected:04X} (last two bytes {:02X}{:02X}), but it ends in {:02X}{:02X} (CRC 0x{found:04X})",
                expected as u8,
                expected >> 8,
                found as u8,
                found >> 8
            ),
        }
    }
}

impl core::error::Error for InstallCodeError {}

/// A checked install code, CRC included.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InstallCode {
    bytes: heapless::Vec<u8, 18>,
}

impl InstallCode {
    /// Checks `bytes` (body followed by the CRC, little-endian).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InstallCodeError> {
        if !matches!(bytes.len(), 8 | 10 | 14 | 18) {
            return Err(InstallCodeError::BadLength { len: bytes.len() });
        }
        let (body, crc) = bytes.split_at(bytes.len() - 2);
        let expected = CRC16_X25.checksum(body);
        let found = u16::from_le_bytes([crc[0], crc[1]]);
        if expected != found {
            return Err(InstallCodeError::BadCrc { expected, found });
        }
        let bytes = heapless::Vec::from_slice(bytes)
            .map_err(|_| InstallCodeError::BadLength { len: bytes.len() })?;
        Ok(InstallCode { bytes })
    }

    /// Appends the CRC to a 6, 8, 12 or 16-byte body.
    pub fn from_body(body: &[u8]) -> Result<Self, InstallCodeError> {
        if !matches!(body.len(), 6 | 8 | 12 | 16) {
            return Err(InstallCodeError::BadLength {
                len: body.len() + 2,
            });
        }
        let mut bytes: heapless::Vec<u8, 18> = heapless::Vec::new();
        let crc = CRC16_X25.checksum(body).to_le_bytes();
        for &b in body.iter().chain(crc.iter()) {
            bytes.push(b).map_err(|_| InstallCodeError::BadLength {
                len: body.len() + 2,
            })?;
        }
        Ok(InstallCode { bytes })
    }

    /// The whole code, CRC included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The random part, without the CRC.
    pub fn body(&self) -> &[u8] {
        &self.bytes[..self.bytes.len() - 2]
    }

    /// The CRC carried in the last two bytes.
    pub fn crc(&self) -> u16 {
        let n = self.bytes.len();
        u16::from_le_bytes([self.bytes[n - 2], self.bytes[n - 1]])
    }

    /// The link key the trust centre preconfigures for the device: MMO hash of the whole code.
    pub fn link_key(&self) -> Key {
        mmo_hash(&self.bytes)
    }
}

/// Upper-case hex, no separators.
impl fmt::Display for InstallCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.bytes.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

/// Hex digits in either case, optionally separated by white space, `-` or `:`.
impl FromStr for InstallCode {
    type Err = InstallCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes: heapless::Vec<u8, 18> = heapless::Vec::new();
        let mut digits = 0usize;
        let mut high = 0u8;
        for (position, character) in s.chars().enumerate() {
            if character.is_whitespace() || matches!(character, '-' | ':') {
                continue;
            }
            let nibble = character
                .to_digit(16)
                .ok_or(InstallCodeError::BadCharacter {
                    position,
                    character,
                })? as u8;
            if digits.is_multiple_of(2) {
                high = nibble;
            } else if bytes.push(high << 4 | nibble).is_err() {
                // Too long: count the rest for the error message.
                let total = s.chars().filter(char::is_ascii_hexdigit).count();
                return Err(InstallCodeError::BadLength { len: total / 2 });
            }
            digits += 1;
        }
        if !digits.is_multiple_of(2) {
            return Err(InstallCodeError::OddDigits { digits });
        }
        InstallCode::from_bytes(&bytes)
    }
}

fn aes_encrypt(key: &Key, block: &Key) -> Key {
    let cipher = Aes128::new(GenericArray::from_slice(key));
    let mut out = GenericArray::clone_from_slice(block);
    cipher.encrypt_block(&mut out);
    out.into()
}

/// The MMO hash of `data` (ZigBee spec B.6): `H0 = 0`, `Hj = E(Hj−1, Mj) ⊕ Mj`.
///
/// Padding appends a 1 bit, zeros, and the bit length: as 16 bits big-endian for messages
/// under 2^16 bits (8192 bytes), else as 32 bits big-endian followed by 16 zero bits (the
/// second rule of B.6, which zigpy and Wireshark 4.0 lack). Messages of 2^32 bits or more are
/// outside the spec; their length is taken modulo 2^32.
pub fn mmo_hash(data: &[u8]) -> Key {
    let mut hash = [0u8; 16];
    let step = |hash: &mut Key, block: &Key| {
        let mut next = aes_encrypt(hash, block);
        next.iter_mut().zip(block).for_each(|(h, m)| *h ^= m);
        *hash = next;
    };
    let full = data.len() / 16 * 16;
    for chunk in data[..full].chunks_exact(16) {
        let mut block = [0u8; 16];
        block.copy_from_slice(chunk);
        step(&mut hash, &block);
    }
    let tail = &data[full..];
    let bits = (data.len() as u64).wrapping_mul(8);
    let small = data.len() < 8192;
    let suffix_len = if small { 3 } else { 7 };
    let mut last = [0u8; 32];
    last[..tail.len()].copy_from_slice(tail);
    last[tail.len()] = 0x80;
    let blocks = if tail.len() + suffix_len <= 16 { 1 } else { 2 };
    let end = blocks * 16;
    if small {
        last[end - 2..end].copy_from_slice(&(bits as u16).to_be_bytes());
    } else {
        last[end - 6..end - 2].copy_from_slice(&(bits as u32).to_be_bytes());
    }
    for chunk in last[..end].chunks_exact(16) {
        let mut block = [0u8; 16];
        block.copy_from_slice(chunk);
        step(&mut hash, &block);
    }
    hash
}

/// HMAC-MMO (ZigBee spec B.1.4) of a one-block message prefix: `MMO((K ⊕ opad) ‖ MMO((K ⊕ ipad) ‖ M))`
/// with `ipad = 0x36…`, `opad = 0x5C…`. `msg` may be at most 64 bytes.
///
/// Returns `None` for a longer message; ZigBee only hashes single bytes and short strings with it.
pub fn hmac_mmo(key: &Key, msg: &[u8]) -> Option<Key> {
    let mut inner = [0u8; 16 + 64];
    let inner_len = 16 + msg.len();
    inner.get_mut(16..inner_len)?.copy_from_slice(msg);
    inner.iter_mut().zip(key).for_each(|(b, k)| *b = k ^ 0x36);
    let inner_hash = mmo_hash(&inner[..inner_len]);
    let mut outer = [0u8; 32];
    outer.iter_mut().zip(key).for_each(|(b, k)| *b = k ^ 0x5C);
    outer[16..].copy_from_slice(&inner_hash);
    Some(mmo_hash(&outer))
}

/// Key-transport key derived from a link key: HMAC-MMO(key, 0x00).
pub fn key_transport_key(link_key: &Key) -> Key {
    hmac_mmo(link_key, &[0x00]).unwrap_or_default()
}

/// Key-load key derived from a link key: HMAC-MMO(key, 0x02).
pub fn key_load_key(link_key: &Key) -> Key {
    hmac_mmo(link_key, &[0x02]).unwrap_or_default()
}
