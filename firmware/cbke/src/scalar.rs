//! Integers modulo n, the order of the sect163k1 base point, on crypto-bigint's constant-time
//! `U192`.

use crypto_bigint::{NonZero, U192};
use subtle::{Choice, ConstantTimeEq, ConstantTimeLess, CtOption};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Bytes of a scalar on the wire (a private key).
pub const LEN: usize = 21;

/// n = 0x04000000000000000000020108A2E0CC0D99F8A5EF (163 bits).
pub const ORDER: NonZero<U192> =
    NonZero::<U192>::from_be_hex("00000004000000000000000000020108A2E0CC0D99F8A5EF");

/// An integer in [0, n). Secret scalars (private keys, ephemeral keys, the MQV `s`) are wiped
/// when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Scalar(pub(crate) U192);

impl core::fmt::Debug for Scalar {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print a secret by accident.
        f.write_str("Scalar(…)")
    }
}

impl ConstantTimeEq for Scalar {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl Scalar {
    /// The scalar whose 21 big-endian bytes are `bytes`, if it is below n.
    pub fn from_bytes(bytes: &[u8; LEN]) -> CtOption<Scalar> {
        let value = U192::from_be_slice(&widen(bytes));
        let below = value.ct_lt(ORDER.as_ref());
        CtOption::new(Scalar(value), below)
    }

    /// A uniformly distributed non-zero scalar from 48 bytes of entropy (384 bits reduced mod n,
    /// a bias below 2^-220), or `None` for the one input in 2^163 that reduces to zero.
    pub fn from_entropy(entropy: &[u8; 48]) -> CtOption<Scalar> {
        let hi = U192::from_be_slice(&entropy[..24]);
        let lo = U192::from_be_slice(&entropy[24..]);
        let value = U192::rem_wide((lo, hi), &ORDER);
        let zero = value.ct_eq(&U192::ZERO);
        CtOption::new(Scalar(value), !zero)
    }

    /// A small public integer (an MMO hash, an MQV associate value): `value mod n`.
    pub(crate) fn from_be_slice_reduced(bytes: &[u8]) -> Scalar {
        let mut padded = [0u8; 24];
        padded[24 - bytes.len()..].copy_from_slice(bytes);
        Scalar(U192::from_be_slice(&padded).rem(&ORDER))
    }

    /// The 21 big-endian bytes.
    pub fn to_bytes(&self) -> [u8; LEN] {
        let wide = self.to_be_bytes24();
        let mut out = [0u8; LEN];
        out.copy_from_slice(&wide[24 - LEN..]);
        out
    }

    /// The 24 big-endian bytes of the value, for the ladder.
    pub(crate) fn to_be_bytes24(&self) -> [u8; 24] {
        let encoded = self.0.to_be_bytes();
        let mut out = [0u8; 24];
        out.copy_from_slice(encoded.as_slice());
        out
    }

    /// Whether the scalar is zero.
    pub fn is_zero(&self) -> Choice {
        self.0.ct_eq(&U192::ZERO)
    }

    /// `self · b + c mod n`.
    pub fn mul_add(&self, b: &Scalar, c: &Scalar) -> Scalar {
        Scalar(self.0.mul_mod(&b.0, &ORDER).add_mod(&c.0, &ORDER))
    }
}

fn widen(bytes: &[u8; LEN]) -> [u8; 24] {
    let mut out = [0u8; 24];
    out[24 - LEN..].copy_from_slice(bytes);
    out
}
