//! sect163k1 (NIST K-163): y² + xy = x³ + x² + 1 over GF(2^163), cofactor 2.
//!
//! Points are affine; the point at infinity is `None`. Secret scalars are multiplied with the
//! López–Dahab x-only Montgomery ladder, which runs the same field operations and conditional
//! swaps for every bit, over a fixed number of bits, followed by the y-coordinate recovery (one
//! fixed-chain inversion). Additions of public points (ECQV reconstruction, the MQV partner
//! term) are ordinary affine formulas.

use subtle::{Choice, ConditionallySelectable};
use zeroize::Zeroize;

use crate::field::{self, Fe};
use crate::scalar::Scalar;

/// Bytes of a compressed point: `02` or `03`, then x.
pub const POINT_LEN: usize = 1 + field::LEN;

/// Why a point was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PointError {
    /// The first byte is not 02 or 03.
    BadPrefix(u8),
    /// x has bits at or above x^163.
    BadCoordinate,
    /// No point of the curve has this x.
    NotOnCurve,
    /// The point is not in the subgroup of order n (it has order 2 or 2n).
    NotInSubgroup,
}

impl core::fmt::Display for PointError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PointError::BadPrefix(b) => {
                write!(f, "compressed point starts with {b:#04x}, not 0x02 or 0x03")
            }
            PointError::BadCoordinate => f.write_str("x has bits above the field degree 163"),
            PointError::NotOnCurve => f.write_str("no sect163k1 point has this x"),
            PointError::NotInSubgroup => f.write_str("the point is not in the subgroup of order n"),
        }
    }
}

/// A finite point of the curve.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
}

impl core::fmt::Debug for Point {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Point(0x")?;
        self.compress()
            .iter()
            .try_for_each(|b| write!(f, "{b:02x}"))?;
        f.write_str(")")
    }
}

const fn fe(bytes: [u8; field::LEN]) -> Fe {
    match Fe::from_bytes(&bytes) {
        Some(x) => x,
        None => panic!("constant out of the field"),
    }
}

/// The base point G.
pub const G: Point = Point {
    x: fe([
        0x02, 0xFE, 0x13, 0xC0, 0x53, 0x7B, 0xBC, 0x11, 0xAC, 0xAA, 0x07, 0xD7, 0x93, 0xDE, 0x4E,
        0x6D, 0x5E, 0x5C, 0x94, 0xEE, 0xE8,
    ]),
    y: fe([
        0x02, 0x89, 0x07, 0x0F, 0xB0, 0x5D, 0x38, 0xFF, 0x58, 0x32, 0x1F, 0x2E, 0x80, 0x05, 0x36,
        0xD5, 0x38, 0xCC, 0xDA, 0xA3, 0xD9,
    ]),
};

/// Bits of n (and of every reduced scalar).
pub const ORDER_BITS: usize = 163;

impl Point {
    /// The affine coordinates as big-endian octets.
    pub fn coordinates(&self) -> ([u8; field::LEN], [u8; field::LEN]) {
        (self.x.to_bytes(), self.y.to_bytes())
    }

    /// Whether (x, y) satisfies the curve equation.
    pub fn is_on_curve(&self) -> bool {
        let (x, y) = (self.x, self.y);
        let x2 = x.square();
        y.square() + x * y == x2 * x + x2 + Fe::ONE
    }

    /// SEC 1 compressed form: `02 | 03` (the low bit of y/x) followed by x.
    pub fn compress(&self) -> [u8; POINT_LEN] {
        let z = self.y * self.x.invert();
        let mut out = [0u8; POINT_LEN];
        out[0] = 0x02 | z.lsb();
        out[1..].copy_from_slice(&self.x.to_bytes());
        out
    }

    /// The point a compressed form names, checked to be on the curve (SEC 1 2.3.4). Membership
    /// of the subgroup is a separate, costlier check: [`Point::check_subgroup`].
    pub fn decompress(bytes: &[u8; POINT_LEN]) -> Result<Point, PointError> {
        let bit = match bytes[0] {
            0x02 => 0,
            0x03 => 1,
            other => return Err(PointError::BadPrefix(other)),
        };
        let mut xb = [0u8; field::LEN];
        xb.copy_from_slice(&bytes[1..]);
        let x = Fe::from_bytes(&xb).ok_or(PointError::BadCoordinate)?;
        if bool::from(x.is_zero()) {
            // (0, 1) has order 2: never a key.
            return Err(PointError::NotInSubgroup);
        }
        // y = x·z with z² + z = x + a + b/x².
        let beta = x + Fe::ONE + x.square().invert();
        let mut z = beta.half_trace();
        if z.square() + z != beta {
            return Err(PointError::NotOnCurve);
        }
        if z.lsb() != bit {
            z = z + Fe::ONE;
        }
        Ok(Point { x, y: x * z })
    }

    /// Refuse a point outside the subgroup of order n: n·P must be the point at infinity.
    pub fn check_subgroup(&self) -> Result<(), PointError> {
        let order = Scalar(*crate::scalar::ORDER.as_ref());
        match ladder(&order, ORDER_BITS, self) {
            None => Ok(()),
            Some(_) => Err(PointError::NotInSubgroup),
        }
    }

    /// −P = (x, x + y).
    pub fn negate(&self) -> Point {
        Point {
            x: self.x,
            y: self.x + self.y,
        }
    }
}

/// P + Q of public points (variable time).
pub fn add(p: Option<Point>, q: Option<Point>) -> Option<Point> {
    let (p, q) = match (p, q) {
        (None, q) => return q,
        (p, None) => return p,
        (Some(p), Some(q)) => (p, q),
    };
    if p.x == q.x {
        return if p.y == q.y { double(&p) } else { None };
    }
    let lambda = (p.y + q.y) * (p.x + q.x).invert();
    let x = lambda.square() + lambda + p.x + q.x + Fe::ONE;
    let y = lambda * (p.x + x) + x + p.y;
    Some(Point { x, y })
}

/// 2P.
pub fn double(p: &Point) -> Option<Point> {
    if bool::from(p.x.is_zero()) {
        return None;
    }
    let lambda = p.x + p.y * p.x.invert();
    let x = lambda.square() + lambda + Fe::ONE;
    let y = p.x.square() + (lambda + Fe::ONE) * x;
    Some(Point { x, y })
}

/// k·P for a scalar of at most `bits` bits (secret `k`: constant time in `k`; `P` finite with
/// x ≠ 0, as every validated point and G are).
///
/// The ladder keeps R0 = m·P and R1 = (m + 1)·P in López–Dahab projective x-only form,
/// starting from R0 = O = (1 : 0) (which the formulas handle), and after the last bit recovers
/// y from both (Guide to Elliptic Curve Cryptography, Algorithms 3.40).
pub fn ladder(k: &Scalar, bits: usize, p: &Point) -> Option<Point> {
    let bytes = k.to_be_bytes24();
    let x = p.x;
    let (mut x1, mut z1, mut x2, mut z2) = (Fe::ONE, Fe::ZERO, x, Fe::ONE);
    let mut swapped = Choice::from(0);
    for i in (0..bits).rev() {
        let bit = Choice::from(bytes[23 - i / 8] >> (i % 8) & 1);
        // Swap so that the step below doubles R_bit and adds into R_(1−bit).
        let swap = swapped ^ bit;
        Fe::conditional_swap(&mut x1, &mut x2, swap);
        Fe::conditional_swap(&mut z1, &mut z2, swap);
        swapped = bit;
        // R1 ← R0 + R1 (difference P); R0 ← 2·R0.
        let a = x1 * z2;
        let b = x2 * z1;
        let sum = a + b;
        z2 = sum.square();
        x2 = x * z2 + a * b;
        let t = x1.square();
        let u = z1.square();
        z1 = t * u;
        x1 = (t + u).square(); // X⁴ + b·Z⁴ with b = 1
    }
    Fe::conditional_swap(&mut x1, &mut x2, swapped);
    Fe::conditional_swap(&mut z1, &mut z2, swapped);
    let result = recover_y(p, x1, z1, x2, z2);
    for v in [&mut x1, &mut z1, &mut x2, &mut z2] {
        v.zeroize();
    }
    result
}

/// k·P from (X1 : Z1) = k·P and (X2 : Z2) = (k + 1)·P.
fn recover_y(p: &Point, x1: Fe, z1: Fe, x2: Fe, z2: Fe) -> Option<Point> {
    if bool::from(z1.is_zero()) {
        return None;
    }
    if bool::from(z2.is_zero()) {
        // (k + 1)·P = O, so k·P = −P.
        return Some(p.negate());
    }
    let (x, y) = (p.x, p.y);
    let xz2 = x * z2;
    let inv = (xz2 * z1).invert();
    let x3 = x1 * xz2 * inv;
    let t = (x1 + x * z1) * (x2 + xz2) + (x.square() + y) * (z1 * z2);
    let y3 = (x + x3) * t * inv + y;
    Some(Point { x: x3, y: y3 })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_base_point_is_on_the_curve_in_the_subgroup_and_compresses_as_published() {
        assert!(G.is_on_curve());
        assert_eq!(G.check_subgroup(), Ok(()));
        let c = G.compress();
        assert_eq!(c[0], 0x03);
        assert_eq!(Point::decompress(&c), Ok(G));
    }

    #[test]
    fn the_ladder_agrees_with_repeated_addition() {
        let mut acc = None;
        for k in 1u8..40 {
            acc = add(acc, Some(G));
            let mut bytes = [0u8; 21];
            bytes[20] = k;
            let scalar = Scalar::from_bytes(&bytes).unwrap();
            assert_eq!(ladder(&scalar, ORDER_BITS, &G), acc, "k = {k}");
        }
    }

    #[test]
    fn n_minus_one_times_g_is_minus_g() {
        let mut n1 = Scalar(*crate::scalar::ORDER.as_ref()).to_bytes();
        n1[20] -= 1;
        let k = Scalar::from_bytes(&n1).unwrap();
        assert_eq!(ladder(&k, ORDER_BITS, &G), Some(G.negate()));
    }

    #[test]
    fn malformed_compressed_points_are_refused() {
        let mut c = G.compress();
        c[0] = 0x04;
        assert_eq!(Point::decompress(&c), Err(PointError::BadPrefix(0x04)));
        let mut c = G.compress();
        c[1] = 0xFF;
        assert_eq!(Point::decompress(&c), Err(PointError::BadCoordinate));
        let mut zero = [0u8; POINT_LEN];
        zero[0] = 0x02;
        assert_eq!(Point::decompress(&zero), Err(PointError::NotInSubgroup));
        // About half of all x have no point; find one.
        let mut refused = false;
        for i in 1u8..20 {
            let mut c = [0u8; POINT_LEN];
            c[0] = 0x02;
            c[21] = i;
            if Point::decompress(&c) == Err(PointError::NotOnCurve) {
                refused = true;
            }
        }
        assert!(refused);
    }

    #[test]
    fn points_of_order_two_n_are_outside_the_subgroup() {
        // G + (0, 1) has order 2n.
        let t = Point {
            x: Fe::ZERO,
            y: Fe::ONE,
        };
        assert!(t.is_on_curve());
        let q = add(Some(G), Some(t)).unwrap();
        assert!(q.is_on_curve());
        assert_eq!(q.check_subgroup(), Err(PointError::NotInSubgroup));
    }
}
