//! Whole frames on air: MAC, NWK, APS and payload, with NWK and APS security applied
//! ([`seal`]) and removed ([`open`]).
//!
//! ```
//! use hanrig_sep::aps::{ApsHeader, PROFILE_SMART_ENERGY};
//! use hanrig_sep::frame::{Keys, Protection, open, seal};
//! use hanrig_sep::mac::{Address, MacHeader};
//! use hanrig_sep::nwk::NwkHeader;
//! use hanrig_sep::security::{AuxHeader, KeyId};
//! use hanrig_sep::Eui64;
//!
//! let network_key = [0x11; 16];
//! let esi = Eui64(0x000D_6F00_0A0B_0C0D);
//! let mac = MacHeader::data(1, 0x1A62, Address::Short(0x796F), Address::Short(0x0000));
//! let mut nwk = NwkHeader::data(0x796F, 0x0000, 5, Some(esi));
//! nwk.security = Some(AuxHeader::new(KeyId::Network, 100, esi, 0));
//! let aps = ApsHeader::data(1, 0x0701, PROFILE_SMART_ENERGY, 1, 9);
//! let zcl = [0x09, 0x01, 0x02, 0x00];
//!
//! let mut buf = [0u8; 127];
//! let len = seal(&mac, &nwk, Some(&network_key), &aps, None, &zcl, &mut buf).unwrap();
//! let opened = open(&mut buf[..len], &Keys { network: &[network_key], link: &[] }).unwrap();
//! assert_eq!(opened.nwk_protection, Protection::Decrypted { key: 0 });
//! assert_eq!(&buf[opened.payload.clone()], &zcl);
//! ```

use core::ops::Range;

use crate::aps::ApsHeader;
use crate::error::{Error, Result};
use crate::install_code::Key;
use crate::mac::{self, FrameType as MacFrameType, MacHeader};
use crate::nwk::{self, NwkHeader};
use crate::security::{self, KeyId, SecurityError};

/// Writes a MAC data frame carrying `nwk` and `aps` headers and `payload`, NWK-secured under
/// `nwk_key` when `nwk.security` is set and APS-secured under `aps_key` when `aps.security` is
/// set (`aps_key` is the key itself: derive key-transport and key-load keys first, see
/// [`KeyId::key_from_link_key`]). Returns the frame's length, FCS included.
pub fn seal(
    mac: &MacHeader,
    nwk: &NwkHeader,
    nwk_key: Option<&Key>,
    aps: &ApsHeader,
    aps_key: Option<&Key>,
    payload: &[u8],
    buf: &mut [u8],
) -> Result<usize> {
    let mic = |secured: bool| if secured { security::MIC_LEN } else { 0 };
    let total = mac.header_len()
        + nwk.header_len()
        + aps.header_len()
        + payload.len()
        + mic(aps.security.is_some())
        + mic(nwk.security.is_some())
        + 2;
    if buf.len() < total {
        return Err(Error::BufferTooSmall {
            needed: total,
            available: buf.len(),
        });
    }
    let mac_len = mac.emit_header(buf)?;
    let nwk_start = mac_len;
    let nwk_len = nwk.emit(buf.get_mut(nwk_start..).unwrap_or(&mut []))?;
    let aps_start = nwk_start + nwk_len;
    let aps_len = aps.emit(buf.get_mut(aps_start..).unwrap_or(&mut []))?;
    let payload_start = aps_start + aps_len;
    let payload_end = payload_start + payload.len();
    let available = buf.len();
    buf.get_mut(payload_start..payload_end)
        .ok_or(Error::BufferTooSmall {
            needed: payload_end + 2,
            available,
        })?
        .copy_from_slice(payload);

    let mut aps_total = aps_len + payload.len();
    if let Some(aux) = &aps.security {
        let key = aps_key.ok_or(Error::Invalid {
            field: "aps_key",
            offset: aps_start,
            reason: "the APS header is secured but no key was given",
        })?;
        aps_total = security::encrypt(
            key,
            aux,
            &mut buf[aps_start..],
            aps.aux_offset(),
            aps_len,
            payload.len(),
            nwk.src_ieee,
        )?;
    }
    let mut nwk_total = nwk_len + aps_total;
    if let Some(aux) = &nwk.security {
        let key = nwk_key.ok_or(Error::Invalid {
            field: "nwk_key",
            offset: nwk_start,
            reason: "the NWK header is secured but no key was given",
        })?;
        nwk_total = security::encrypt(
            key,
            aux,
            &mut buf[nwk_start..],
            nwk.aux_offset(),
            nwk_len,
            aps_total,
            nwk.src_ieee,
        )?;
    }
    mac::append_fcs(buf, nwk_start + nwk_total)
}

/// Candidate keys for [`open`].
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    /// Network keys.
    pub network: &'a [Key],
    /// Link keys (install-code-derived, trust-centre link keys…); key-transport and key-load
    /// keys are derived from them as the aux header asks.
    pub link: &'a [Key],
}

/// What happened to a layer's security.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Protection {
    /// The layer was not secured.
    None,
    /// Decrypted, MIC correct, with the key at this index of the candidate list (network keys
    /// for key id 1, link keys otherwise).
    Decrypted {
        /// Index of the key that worked.
        key: usize,
    },
    /// No candidate key gave a correct MIC (the payload is still encrypted).
    Failed(SecurityError),
}

/// A frame opened by [`open`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Opened {
    /// The MAC header.
    pub mac: MacHeader,
    /// Whether the FCS was correct.
    pub fcs_ok: bool,
    /// The NWK header (MAC data frames).
    pub nwk: Option<NwkHeader>,
    /// NWK security outcome.
    pub nwk_protection: Protection,
    /// The APS header (NWK data frames whose NWK payload could be read).
    pub aps: Option<ApsHeader>,
    /// APS security outcome.
    pub aps_protection: Protection,
    /// Where the innermost readable payload lies in the buffer: the APS payload (ZCL frame, APS
    /// command), or the NWK payload (NWK command, or a payload still encrypted), or the MAC
    /// payload (MAC command, beacon).
    pub payload: Range<usize>,
}

fn try_keys(
    candidates: &mut dyn Iterator<Item = Key>,
    aux: &security::AuxHeader,
    frame: &mut [u8],
    aux_offset: usize,
    header_len: usize,
    source: Option<crate::Eui64>,
) -> (Protection, usize) {
    let mut last = SecurityError::MicMismatch;
    for (index, key) in candidates.enumerate() {
        match security::decrypt(&key, aux, frame, aux_offset, header_len, source) {
            Ok(len) => return (Protection::Decrypted { key: index }, len),
            Err(e) => last = e,
        }
    }
    (
        Protection::Failed(last),
        frame.len().saturating_sub(header_len),
    )
}

fn candidates<'k>(keys: &'k Keys<'k>, key_id: KeyId) -> impl Iterator<Item = Key> + 'k {
    let network = if key_id == KeyId::Network {
        keys.network
    } else {
        &[]
    };
    let link = if key_id == KeyId::Network {
        &[][..]
    } else {
        keys.link
    };
    network
        .iter()
        .copied()
        .chain(link.iter().map(move |k| key_id.key_from_link_key(k)))
}

/// Parses a MAC frame (FCS included) and removes NWK and APS security in place with the first
/// candidate key whose MIC verifies. Headers that cannot be parsed are an error; security that
/// cannot be removed is reported in [`Opened`], not as an error, so that a capture can still be
/// shown.
pub fn open(frame: &mut [u8], keys: &Keys<'_>) -> Result<Opened> {
    let (mac, mac_payload, fcs_ok) = MacHeader::parse(frame)?;
    let mac_payload_len = mac_payload.len();
    let nwk_start = frame.len() - 2 - mac_payload_len;
    let body_end = frame.len() - 2;
    let mut opened = Opened {
        mac,
        fcs_ok,
        nwk: None,
        nwk_protection: Protection::None,
        aps: None,
        aps_protection: Protection::None,
        payload: nwk_start..body_end,
    };
    if mac.frame_type != MacFrameType::Data || mac_payload_len == 0 {
        return Ok(opened);
    }
    let nwk_bytes = &mut frame[nwk_start..body_end];
    let (nwk, nwk_len, nwk_aux) =
        NwkHeader::parse(nwk_bytes).map_err(|e| offset_error(e, nwk_start))?;
    let mut nwk_payload_len = nwk_bytes.len() - nwk_len;
    if let Some(aux) = &nwk.security {
        let (protection, len) = try_keys(
            &mut candidates(keys, aux.key_id),
            aux,
            nwk_bytes,
            nwk_aux,
            nwk_len,
            nwk.src_ieee,
        );
        opened.nwk_protection = protection;
        nwk_payload_len = len;
    }
    let aps_start = nwk_start + nwk_len;
    opened.payload = aps_start..aps_start + nwk_payload_len;
    let readable = !matches!(opened.nwk_protection, Protection::Failed(_));
    if nwk.frame_type != nwk::frame_type::DATA || !readable {
        opened.nwk = Some(nwk);
        return Ok(opened);
    }
    let aps_bytes = &mut frame[aps_start..aps_start + nwk_payload_len];
    let (aps, aps_len, aps_aux) =
        ApsHeader::parse(aps_bytes).map_err(|e| offset_error(e, aps_start))?;
    let mut aps_payload_len = aps_bytes.len() - aps_len;
    if let Some(aux) = &aps.security {
        let source = nwk.src_ieee;
        let (protection, len) = try_keys(
            &mut candidates(keys, aux.key_id),
            aux,
            aps_bytes,
            aps_aux,
            aps_len,
            source,
        );
        opened.aps_protection = protection;
        aps_payload_len = len;
    }
    opened.payload = aps_start + aps_len..aps_start + aps_len + aps_payload_len;
    opened.nwk = Some(nwk);
    opened.aps = Some(aps);
    Ok(opened)
}

fn offset_error(e: Error, by: usize) -> Error {
    match e {
        Error::Truncated {
            field,
            offset,
            needed,
            available,
        } => Error::Truncated {
            field,
            offset: offset + by,
            needed,
            available,
        },
        Error::Invalid {
            field,
            offset,
            reason,
        } => Error::Invalid {
            field,
            offset: offset + by,
            reason,
        },
        Error::TooLong {
            field,
            offset,
            capacity,
        } => Error::TooLong {
            field,
            offset: offset + by,
            capacity,
        },
        other => other,
    }
}
