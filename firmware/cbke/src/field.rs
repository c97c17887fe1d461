//! GF(2^163) with the NIST/SEC reduction polynomial f(x) = x^163 + x^7 + x^6 + x^3 + 1.
//!
//! An element is three 64-bit words, least significant first; bit i is the coefficient of x^i
//! (so the SEC 1 big-endian octet string of an element is its integer value). Every operation
//! runs the same instructions whatever the values: multiplication is a carry-less product made
//! of integer multiplications with the bits spread five apart (the "holes" technique of
//! BearSSL's GHASH), squaring spreads bits, inversion is a fixed Itoh–Tsujii chain. On cores
//! whose integer multiplier finishes early for small operands (Cortex-M3's `UMULL`), the
//! multiplications leak; x86-64, AArch64 and Cortex-M4/M7 multiply in constant time.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroize;

/// Degree of the field.
pub const M: usize = 163;
/// Bytes of a field element on the wire.
pub const LEN: usize = 21;
const TOP_BITS: u32 = (M % 64) as u32; // 35 bits in the top word
const TOP_MASK: u64 = (1 << TOP_BITS) - 1;

/// An element of GF(2^163).
#[derive(Clone, Copy, Default, PartialEq, Eq, Zeroize)]
pub struct Fe(pub(crate) [u64; 3]);

impl core::fmt::Debug for Fe {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("0x")?;
        self.to_bytes()
            .iter()
            .try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl ConditionallySelectable for Fe {
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        #[cfg(test)]
        trace::record(trace::Op::Select);
        Fe([
            u64::conditional_select(&a.0[0], &b.0[0], choice),
            u64::conditional_select(&a.0[1], &b.0[1], choice),
            u64::conditional_select(&a.0[2], &b.0[2], choice),
        ])
    }
}

impl ConstantTimeEq for Fe {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0[0].ct_eq(&other.0[0]) & self.0[1].ct_eq(&other.0[1]) & self.0[2].ct_eq(&other.0[2])
    }
}

impl core::ops::Add for Fe {
    type Output = Fe;
    fn add(self, rhs: Fe) -> Fe {
        #[cfg(test)]
        trace::record(trace::Op::Add);
        Fe([
            self.0[0] ^ rhs.0[0],
            self.0[1] ^ rhs.0[1],
            self.0[2] ^ rhs.0[2],
        ])
    }
}

impl core::ops::Mul for Fe {
    type Output = Fe;
    fn mul(self, rhs: Fe) -> Fe {
        Fe::mul(&self, &rhs)
    }
}

impl Fe {
    /// Zero.
    pub const ZERO: Fe = Fe([0, 0, 0]);
    /// One.
    pub const ONE: Fe = Fe([1, 0, 0]);

    /// The element whose big-endian octet string is `bytes`, or `None` if it has a bit at or
    /// above x^163 set (SEC 1 2.3.6).
    pub const fn from_bytes(bytes: &[u8; LEN]) -> Option<Fe> {
        let mut words = [0u64; 3];
        let mut i = 0;
        while i < LEN {
            words[i / 8] |= (bytes[LEN - 1 - i] as u64) << (8 * (i % 8));
            i += 1;
        }
        if words[2] & !TOP_MASK == 0 {
            Some(Fe(words))
        } else {
            None
        }
    }

    /// The big-endian octet string of the element.
    pub fn to_bytes(&self) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        for (i, b) in out.iter_mut().rev().enumerate() {
            *b = (self.0[i / 8] >> (8 * (i % 8))) as u8;
        }
        out
    }

    /// Whether the element is zero (constant time).
    pub fn is_zero(&self) -> Choice {
        self.ct_eq(&Fe::ZERO)
    }

    /// The coefficient of x^0.
    pub fn lsb(&self) -> u8 {
        (self.0[0] & 1) as u8
    }

    /// Product.
    pub fn mul(&self, rhs: &Fe) -> Fe {
        #[cfg(test)]
        trace::record(trace::Op::Mul);
        let (a, b) = (&self.0, &rhs.0);
        // Karatsuba over three words: six word products instead of nine.
        let d0 = clmul(a[0], b[0]);
        let d1 = clmul(a[1], b[1]);
        let d2 = clmul(a[2], b[2]);
        let d01 = clmul(a[0] ^ a[1], b[0] ^ b[1]);
        let d02 = clmul(a[0] ^ a[2], b[0] ^ b[2]);
        let d12 = clmul(a[1] ^ a[2], b[1] ^ b[2]);
        let c = [d0, d01 ^ d0 ^ d1, d02 ^ d0 ^ d2 ^ d1, d12 ^ d1 ^ d2, d2];
        let mut wide = [0u64; 6];
        for (k, term) in c.iter().enumerate() {
            wide[k] ^= *term as u64;
            wide[k + 1] ^= (*term >> 64) as u64;
        }
        reduce(wide)
    }

    /// Square.
    pub fn square(&self) -> Fe {
        #[cfg(test)]
        trace::record(trace::Op::Square);
        let mut wide = [0u64; 6];
        for (i, w) in self.0.iter().enumerate() {
            wide[2 * i] = spread(*w as u32);
            wide[2 * i + 1] = spread((*w >> 32) as u32);
        }
        reduce(wide)
    }

    /// `self^(2^k)`: `k` squarings.
    pub fn square_times(&self, k: usize) -> Fe {
        let mut x = *self;
        for _ in 0..k {
            x = x.square();
        }
        x
    }

    /// Inverse (Itoh–Tsujii: `a^(2^163 − 2) = (a^(2^162 − 1))^2`); zero maps to zero.
    pub fn invert(&self) -> Fe {
        // b(k) = a^(2^k − 1); b(i + j) = b(i)^(2^j) · b(j). The chain 1, 2, 4, 8, 16, 32, 64,
        // 128, 160, 162 takes 161 squarings and 9 multiplications.
        let b1 = *self;
        let b2 = b1.square().mul(&b1);
        let b4 = b2.square_times(2).mul(&b2);
        let b8 = b4.square_times(4).mul(&b4);
        let b16 = b8.square_times(8).mul(&b8);
        let b32 = b16.square_times(16).mul(&b16);
        let b64 = b32.square_times(32).mul(&b32);
        let b128 = b64.square_times(64).mul(&b64);
        let b160 = b128.square_times(32).mul(&b32);
        let b162 = b160.square_times(2).mul(&b2);
        b162.square()
    }

    /// The half-trace `H(c) = Σ c^(2^(2i))` for i in 0..=81; for odd m, `z = H(c)` solves
    /// `z² + z = c` whenever the trace of c is 0.
    pub fn half_trace(&self) -> Fe {
        let mut acc = *self;
        let mut t = *self;
        for _ in 0..(M - 1) / 2 {
            t = t.square().square();
            acc = acc + t;
        }
        acc
    }

    /// Integer value of the element's low `bits` bits (used by the MQV associate value).
    pub(crate) fn low_bits(&self, bits: usize) -> [u64; 3] {
        let mut words = self.0;
        for (i, w) in words.iter_mut().enumerate() {
            let start = 64 * i;
            if bits <= start {
                *w = 0;
            } else if bits < start + 64 {
                *w &= (1u64 << (bits - start)) - 1;
            }
        }
        words
    }
}

/// The sequence of field operations a computation performs, recorded in tests: the check that
/// secret-dependent code (the ladder, the MQV secret) runs the same operations, in the same
/// order, whatever the secret — each operation itself being branch-free (see the module).
#[cfg(test)]
pub(crate) mod trace {
    extern crate std;
    use std::cell::RefCell;
    use std::vec::Vec;

    /// A field operation.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Op {
        Add,
        Mul,
        Square,
        Select,
    }

    std::thread_local! {
        static OPS: RefCell<Option<Vec<Op>>> = const { RefCell::new(None) };
    }

    pub(crate) fn record(op: Op) {
        OPS.with(|o| {
            if let Some(ops) = o.borrow_mut().as_mut() {
                ops.push(op);
            }
        });
    }

    /// The operations `f` performs, in order.
    pub(crate) fn of<T>(f: impl FnOnce() -> T) -> (T, Vec<Op>) {
        OPS.with(|o| *o.borrow_mut() = Some(Vec::new()));
        let value = f();
        let ops = OPS.with(|o| o.borrow_mut().take().unwrap_or_default());
        (value, ops)
    }
}

/// Masks of the bits at positions ≡ i (mod 5) of a 64-bit and a 128-bit word.
const fn hole_masks() -> ([u64; 5], [u128; 5]) {
    let mut narrow = [0u64; 5];
    let mut wide = [0u128; 5];
    let mut bit = 0;
    while bit < 128 {
        if bit < 64 {
            narrow[bit % 5] |= 1 << bit;
        }
        wide[bit % 5] |= 1 << bit;
        bit += 1;
    }
    (narrow, wide)
}
const HOLES: ([u64; 5], [u128; 5]) = hole_masks();

/// Carry-less 64×64 → 128-bit product in constant time.
///
/// Each operand is split into five parts holding every fifth bit; an integer product of two
/// parts sums at most 13 one-bit terms at each position of its residue class, so its carries
/// (at most four bits) fall only on the other classes' positions, which are masked off.
fn clmul(a: u64, b: u64) -> u128 {
    let (narrow, wide) = HOLES;
    let mut out = 0u128;
    for (k, mask) in wide.iter().enumerate() {
        let mut z = 0u128;
        for (i, m) in narrow.iter().enumerate() {
            let j = (k + 5 - i) % 5;
            z ^= u128::from(a & m) * u128::from(b & narrow[j]);
        }
        out |= z & mask;
    }
    out
}

/// A 32-bit word with a zero inserted after every bit: the square of a polynomial over GF(2).
fn spread(x: u32) -> u64 {
    let mut x = u64::from(x);
    x = (x | x << 16) & 0x0000_FFFF_0000_FFFF;
    x = (x | x << 8) & 0x00FF_00FF_00FF_00FF;
    x = (x | x << 4) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | x << 2) & 0x3333_3333_3333_3333;
    (x | x << 1) & 0x5555_5555_5555_5555
}

/// Reduce a product of degree < 384 modulo f: x^163 ≡ x^7 + x^6 + x^3 + 1.
fn reduce(mut c: [u64; 6]) -> Fe {
    // Word i (≥ 3) stands at x^(64i) = x^163 · x^(64(i−3) + 29): fold it onto word i − 3
    // shifted by 29 + {0, 3, 6, 7}.
    for i in (3..6).rev() {
        let t = c[i];
        c[i] = 0;
        for s in [29u32, 32, 35, 36] {
            c[i - 3] ^= t << s;
            c[i - 2] ^= t >> (64 - s);
        }
    }
    let t = c[2] >> TOP_BITS;
    c[0] ^= t ^ (t << 3) ^ (t << 6) ^ (t << 7);
    c[2] &= TOP_MASK;
    Fe([c[0], c[1], c[2]])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Bit-by-bit reference multiplication.
    fn slow_mul(a: &Fe, b: &Fe) -> Fe {
        let mut acc = Fe::ZERO;
        let mut shifted = *b;
        for i in 0..M {
            if a.0[i / 64] >> (i % 64) & 1 == 1 {
                acc = acc + shifted;
            }
            // shifted *= x
            let carry = shifted.0[2] >> (TOP_BITS - 1) & 1;
            shifted.0[2] = (shifted.0[2] << 1 | shifted.0[1] >> 63) & TOP_MASK;
            shifted.0[1] = shifted.0[1] << 1 | shifted.0[0] >> 63;
            shifted.0[0] <<= 1;
            if carry == 1 {
                shifted.0[0] ^= 0xC9;
            }
        }
        acc
    }

    fn sample(seed: u64) -> Fe {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        Fe([next(), next(), next() & TOP_MASK])
    }

    #[test]
    fn clmul_matches_the_schoolbook_product() {
        for seed in 0..200u64 {
            let (a, b) = (sample(seed).0[0], sample(seed + 1000).0[1]);
            let mut want = 0u128;
            for i in 0..64 {
                if a >> i & 1 == 1 {
                    want ^= u128::from(b) << i;
                }
            }
            assert_eq!(clmul(a, b), want);
        }
        assert_eq!(clmul(u64::MAX, u64::MAX), {
            let mut want = 0u128;
            for i in 0..64 {
                want ^= u128::from(u64::MAX) << i;
            }
            want
        });
    }

    #[test]
    fn multiplication_squaring_and_inversion_agree_with_the_reference() {
        for seed in 0..100u64 {
            let (a, b) = (sample(seed), sample(seed + 500));
            assert_eq!(a.mul(&b), slow_mul(&a, &b));
            assert_eq!(a.square(), slow_mul(&a, &a));
            assert_eq!(a.mul(&a.invert()), Fe::ONE);
        }
        let all = Fe([u64::MAX, u64::MAX, TOP_MASK]);
        assert_eq!(all.mul(&all), slow_mul(&all, &all));
        assert_eq!(Fe::ZERO.invert(), Fe::ZERO);
    }

    #[test]
    fn half_trace_solves_the_quadratic_when_the_trace_is_zero() {
        let mut solved = 0;
        for seed in 0..64u64 {
            let c = sample(seed);
            let z = c.half_trace();
            if z.square() + z == c {
                solved += 1;
            } else {
                // Trace 1: then z² + z = c + 1.
                assert_eq!(z.square() + z, c + Fe::ONE);
            }
        }
        assert!(
            solved > 10 && solved < 54,
            "about half the elements have trace 0: {solved}"
        );
    }

    #[test]
    fn octets_round_trip_and_bits_above_the_degree_are_refused() {
        let a = sample(7);
        assert_eq!(Fe::from_bytes(&a.to_bytes()), Some(a));
        let mut bytes = [0u8; LEN];
        bytes[0] = 0x08; // x^163
        assert_eq!(Fe::from_bytes(&bytes), None);
        bytes[0] = 0x07;
        assert!(Fe::from_bytes(&bytes).is_some());
    }
}
