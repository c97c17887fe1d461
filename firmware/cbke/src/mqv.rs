//! ECMQV with the cofactor (SEC 1 3.4), as suite 1 uses it: s = r₁ + avf(R₁)·d₁ mod n and
//! Z = x(h·s·(R₂ + avf(R₂)·Q₂)) with h = 2.

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::curve::{self, ORDER_BITS, Point};
use crate::field;
use crate::keys::{PrivateKey, PublicKey};
use crate::scalar::Scalar;

/// ⌈163 / 2⌉: the associate value keeps this many low bits of x and sets the next.
const AVF_BITS: usize = ORDER_BITS.div_ceil(2);

/// The shared secret Z (the x-coordinate of the MQV point, 21 bytes). Wiped when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SharedSecret(pub(crate) [u8; field::LEN]);

impl core::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SharedSecret(…)")
    }
}

impl SharedSecret {
    /// The bytes, for test vectors and key export.
    pub fn as_bytes(&self) -> &[u8; field::LEN] {
        &self.0
    }
}

/// The MQV computation gave the point at infinity (only for a partner's keys chosen to cancel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Degenerate;

/// avf(R) = (x(R) mod 2^82) + 2^82.
fn associate_value(r: &Point) -> Scalar {
    let mut low = r.x.low_bits(AVF_BITS);
    low[AVF_BITS / 64] |= 1 << (AVF_BITS % 64);
    let mut be = [0u8; 24];
    for (i, w) in low.iter().enumerate() {
        be[24 - 8 * (i + 1)..24 - 8 * i].copy_from_slice(&w.to_be_bytes());
    }
    Scalar::from_be_slice_reduced(&be)
}

/// Z from our static and ephemeral keys and the partner's (both validated public keys).
pub fn shared_secret(
    own_static: &PrivateKey,
    own_ephemeral: &PrivateKey,
    own_ephemeral_public: &PublicKey,
    partner_static: &PublicKey,
    partner_ephemeral: &PublicKey,
) -> Result<SharedSecret, Degenerate> {
    let s = associate_value(own_ephemeral_public.point()).mul_add(&own_static.0, &own_ephemeral.0);
    // The partner's term uses public values only.
    let partner = partner_ephemeral.point();
    let t = curve::add(
        curve::ladder(
            &associate_value(partner),
            ORDER_BITS,
            partner_static.point(),
        ),
        Some(*partner),
    )
    .ok_or(Degenerate)?;
    // h·s·T: the multiplication by s is the secret one; the doubling by the cofactor follows.
    let st = curve::ladder(&s, ORDER_BITS, &t).ok_or(Degenerate)?;
    let z = curve::double(&st).ok_or(Degenerate)?;
    Ok(SharedSecret(z.x.to_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    extern crate std;
    use super::*;
    use crate::field::trace;

    fn key(seed: u8) -> PrivateKey {
        let mut entropy = [0u8; 48];
        for (i, b) in entropy.iter_mut().enumerate() {
            *b = seed.wrapping_mul(31).wrapping_add(i as u8).rotate_left(3);
        }
        PrivateKey::from_entropy(&entropy).unwrap()
    }

    fn scalar(bytes: [u8; 21]) -> Scalar {
        Option::from(Scalar::from_bytes(&bytes)).unwrap()
    }

    #[test]
    fn the_ladder_runs_the_same_field_operations_for_every_scalar() {
        let mut one = [0u8; 21];
        one[20] = 1;
        let mut high = [0u8; 21];
        high[0] = 0x04; // the top bit of a 163-bit scalar
        let mut sparse = [0u8; 21];
        sparse[10] = 0x80;
        let dense = [
            0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        let scalars = [one, high, sparse, dense]
            .map(scalar)
            .into_iter()
            .chain((1..5).map(|s| key(s).0.clone()));
        let traces: std::vec::Vec<_> = scalars
            .map(|k| trace::of(|| curve::ladder(&k, ORDER_BITS, &curve::G)).1)
            .collect();
        assert!(traces[0].len() > 163 * 10, "{} operations", traces[0].len());
        for t in &traces[1..] {
            assert_eq!(t, &traces[0]);
        }
    }

    #[test]
    fn the_mqv_secret_is_computed_with_the_same_field_operations_whatever_our_keys() {
        // The partner's keys (public) stay; ours (secret) change.
        let (partner_static, partner_ephemeral) = (key(101).public_key(), key(102).public_key());
        let traces: std::vec::Vec<_> = (1..6)
            .map(|s| {
                let (d, r) = (key(s), key(s + 50));
                let qe = r.public_key();
                trace::of(|| {
                    shared_secret(&d, &r, &qe, &partner_static, &partner_ephemeral).unwrap()
                })
                .1
            })
            .collect();
        for t in &traces[1..] {
            assert_eq!(t, &traces[0]);
        }
    }
}
