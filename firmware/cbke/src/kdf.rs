//! The suite-1 key derivation and key confirmation: AES-MMO over Z with a 32-bit counter, and
//! the ZigBee keyed hash (HMAC over AES-MMO, spec B.1.4) for MACU and MACV.

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::curve::POINT_LEN;
use crate::mqv::SharedSecret;
use hanrig_sep::install_code::{hmac_mmo, mmo_hash};

/// MacKey and KeyData derived from Z. Wiped when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DerivedKeys {
    /// MacKey = MMO(Z ‖ 00000001): keys the confirmation MACs.
    pub mac_key: [u8; 16],
    /// KeyData = MMO(Z ‖ 00000002): the new APS link key with the partner.
    pub key_data: [u8; 16],
}

impl core::fmt::Debug for DerivedKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DerivedKeys(…)")
    }
}

/// Who a MAC is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Party {
    /// U, the initiator (ZCL client): MACU is tagged 02.
    Initiator,
    /// V, the responder (server, usually the ESI): MACV is tagged 03.
    Responder,
}

/// One exchange's confirmation inputs: both IDs (big-endian EUI64s, as in the certificates) and
/// both ephemeral public keys (compressed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transcript {
    /// ID_U, the initiator's subject.
    pub initiator_id: [u8; 8],
    /// ID_V, the responder's subject.
    pub responder_id: [u8; 8],
    /// QEU.
    pub initiator_ephemeral: [u8; POINT_LEN],
    /// QEV.
    pub responder_ephemeral: [u8; POINT_LEN],
}

impl DerivedKeys {
    /// MacKey and KeyData from Z.
    pub fn derive(z: &SharedSecret) -> DerivedKeys {
        Self::derive_with_counters(z, 1, 2)
    }

    /// The KDF with other counters (only a deliberately broken device uses anything but 1, 2).
    pub(crate) fn derive_with_counters(z: &SharedSecret, mac: u32, key: u32) -> DerivedKeys {
        let mut input = [0u8; 21 + 4];
        input[..21].copy_from_slice(z.as_bytes());
        input[21..].copy_from_slice(&mac.to_be_bytes());
        let mac_key = mmo_hash(&input);
        input[21..].copy_from_slice(&key.to_be_bytes());
        let key_data = mmo_hash(&input);
        input.zeroize();
        DerivedKeys { mac_key, key_data }
    }

    /// MACU = MAC(MacKey, 02 ‖ ID_U ‖ ID_V ‖ QEU ‖ QEV) or MACV = MAC(MacKey, 03 ‖ ID_V ‖ ID_U ‖
    /// QEV ‖ QEU).
    pub fn mac(&self, from: Party, t: &Transcript) -> [u8; 16] {
        let (tag, own_id, other_id, own_q, other_q) = match from {
            Party::Initiator => (
                0x02,
                &t.initiator_id,
                &t.responder_id,
                &t.initiator_ephemeral,
                &t.responder_ephemeral,
            ),
            Party::Responder => (
                0x03,
                &t.responder_id,
                &t.initiator_id,
                &t.responder_ephemeral,
                &t.initiator_ephemeral,
            ),
        };
        let mut msg = [0u8; 1 + 8 + 8 + 2 * POINT_LEN];
        msg[0] = tag;
        msg[1..9].copy_from_slice(own_id);
        msg[9..17].copy_from_slice(other_id);
        msg[17..17 + POINT_LEN].copy_from_slice(own_q);
        msg[17 + POINT_LEN..].copy_from_slice(other_q);
        // 61 bytes: within hmac_mmo's 64-byte limit.
        hmac_mmo(&self.mac_key, &msg).unwrap_or_default()
    }

    /// Whether `received` is the partner's correct MAC (constant-time comparison).
    pub fn verify(&self, from: Party, t: &Transcript, received: &[u8; 16]) -> bool {
        bool::from(self.mac(from, t).ct_eq(received))
    }
}
