//! Keys and implicit certificates (ECQV, SEC 4): reconstruction of a partner's public key from
//! its 48-byte certificate and the CA's public key, and issuing certificates for a test CA.

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::curve::{self, G, ORDER_BITS, POINT_LEN, Point, PointError};
use crate::scalar::{self, Scalar};
use hanrig_sep::install_code::mmo_hash;

/// Bytes of a suite-1 implicit certificate.
pub const CERTIFICATE_LEN: usize = 48;
/// Offset of the subject EUI64 (SiLabs `CERT_SUBJECT_OFFSET`).
const SUBJECT: usize = 22;
/// Offset of the issuer (SiLabs `CERT_ISSUER_OFFSET`).
const ISSUER: usize = 30;
/// Offset of the profile attribute data.
const PROFILE: usize = 38;

/// The profile data of the Certicom test certificates (Annex C.5): `0109 0006 00…`.
pub const TEST_PROFILE: [u8; 10] = [0x01, 0x09, 0x00, 0x06, 0, 0, 0, 0, 0, 0];
/// The issuer of the Certicom test CA, "TESTSECA".
pub const TEST_ISSUER: [u8; 8] = *b"TESTSECA";

/// Why a key or certificate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KeyError {
    /// A point field is not a valid public key.
    Point(PointError),
    /// A private key is zero or not below n.
    BadPrivateKey,
    /// The certificate's reconstruction data and the CA key give the point at infinity.
    Degenerate,
    /// The private key does not belong to the certificate.
    KeyMismatch,
}

impl From<PointError> for KeyError {
    fn from(e: PointError) -> Self {
        KeyError::Point(e)
    }
}

impl core::fmt::Display for KeyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            KeyError::Point(e) => e.fmt(f),
            KeyError::BadPrivateKey => {
                f.write_str("the private key is zero or not below the group order n")
            }
            KeyError::Degenerate => {
                f.write_str("the certificate reconstructs to the point at infinity")
            }
            KeyError::KeyMismatch => {
                f.write_str("the private key does not match the certificate's public key")
            }
        }
    }
}

/// A validated public key: on the curve, in the subgroup of order n.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PublicKey(pub(crate) Point);

impl PublicKey {
    /// A compressed key from the wire, fully validated (SEC 1 3.2.2.1).
    pub fn from_compressed(bytes: &[u8; POINT_LEN]) -> Result<PublicKey, PointError> {
        let p = Point::decompress(bytes)?;
        p.check_subgroup()?;
        Ok(PublicKey(p))
    }

    /// The 22-byte compressed form.
    pub fn to_compressed(&self) -> [u8; POINT_LEN] {
        self.0.compress()
    }

    /// The point.
    pub fn point(&self) -> &Point {
        &self.0
    }
}

/// A private key: a scalar in [1, n). Wiped when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop, Debug)]
pub struct PrivateKey(pub(crate) Scalar);

impl PrivateKey {
    /// From 21 big-endian bytes.
    pub fn from_bytes(bytes: &[u8; scalar::LEN]) -> Result<PrivateKey, KeyError> {
        let s = Option::<Scalar>::from(Scalar::from_bytes(bytes)).ok_or(KeyError::BadPrivateKey)?;
        if bool::from(s.is_zero()) {
            return Err(KeyError::BadPrivateKey);
        }
        Ok(PrivateKey(s))
    }

    /// A fresh key from 48 bytes of entropy (see [`Scalar::from_entropy`]); `None` only for the
    /// negligible inputs that reduce to zero.
    pub fn from_entropy(entropy: &[u8; 48]) -> Option<PrivateKey> {
        Option::<Scalar>::from(Scalar::from_entropy(entropy)).map(PrivateKey)
    }

    /// The 21 big-endian bytes.
    pub fn to_bytes(&self) -> [u8; scalar::LEN] {
        self.0.to_bytes()
    }

    /// d·G.
    pub fn public_key(&self) -> PublicKey {
        // d in [1, n) gives a finite point of the subgroup.
        PublicKey(curve::ladder(&self.0, ORDER_BITS, &G).unwrap_or(G))
    }
}

/// A suite-1 implicit certificate: reconstruction point (22) · subject EUI64 (8, big-endian) ·
/// issuer (8) · profile attribute data (10).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Certificate(pub [u8; CERTIFICATE_LEN]);

impl core::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Certificate(0x")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        f.write_str(")")
    }
}

impl Certificate {
    /// The certificate in `bytes`, if it is 48 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Certificate> {
        bytes.try_into().ok().map(Certificate)
    }

    /// The public-key reconstruction point, compressed.
    pub fn reconstruction_data(&self) -> [u8; POINT_LEN] {
        let mut out = [0u8; POINT_LEN];
        out.copy_from_slice(&self.0[..SUBJECT]);
        out
    }

    /// The subject's EUI64 in certificate (big-endian) order.
    pub fn subject(&self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out.copy_from_slice(&self.0[SUBJECT..ISSUER]);
        out
    }

    /// The issuer.
    pub fn issuer(&self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out.copy_from_slice(&self.0[ISSUER..PROFILE]);
        out
    }

    /// The profile attribute data.
    pub fn profile(&self) -> [u8; 10] {
        let mut out = [0u8; 10];
        out.copy_from_slice(&self.0[PROFILE..]);
        out
    }

    /// e = MMO(certificate) as an integer (128 bits, so already below n).
    fn hash(&self) -> Scalar {
        Scalar::from_be_slice_reduced(&mmo_hash(&self.0))
    }

    /// ECQV: the subject's public key Q = e·P + Q_CA, validated.
    pub fn public_key(&self, ca: &PublicKey) -> Result<PublicKey, KeyError> {
        let p = Point::decompress(&self.reconstruction_data())?;
        let e = self.hash();
        let q = curve::add(curve::ladder(&e, ORDER_BITS, &p), Some(ca.0))
            .ok_or(KeyError::Degenerate)?;
        // P may be outside the subgroup even if Q is not; check the result, which is what
        // every later computation uses.
        q.check_subgroup()?;
        Ok(PublicKey(q))
    }
}

/// A certificate authority: its private key and issuer ID.
#[derive(Debug)]
pub struct CertificateAuthority {
    key: PrivateKey,
    /// The issuer ID written into every certificate.
    pub issuer: [u8; 8],
}

impl CertificateAuthority {
    /// A CA with the given key and issuer ID.
    pub fn new(key: PrivateKey, issuer: [u8; 8]) -> Self {
        CertificateAuthority { key, issuer }
    }

    /// The CA's public key, which every device holds to reconstruct its partners' keys.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// The CA's private key.
    pub fn private_key(&self) -> &PrivateKey {
        &self.key
    }

    /// Issue a certificate to `subject` (big-endian EUI64) and its private key, generating the
    /// key pair for the subject (the CA acting for a device's manufacturer, as Certicom's test
    /// service does): P = k·G, e = MMO(cert), d = e·k + d_CA; then d·G = e·P + Q_CA.
    ///
    /// `None` when the entropy gives a degenerate key (probability about 2^-162): call again with
    /// fresh entropy.
    pub fn issue(
        &self,
        subject: [u8; 8],
        profile: [u8; 10],
        entropy: &[u8; 48],
    ) -> Option<(Certificate, PrivateKey)> {
        let k = PrivateKey::from_entropy(entropy)?;
        let p = k.public_key();
        let mut bytes = [0u8; CERTIFICATE_LEN];
        bytes[..SUBJECT].copy_from_slice(&p.to_compressed());
        bytes[SUBJECT..ISSUER].copy_from_slice(&subject);
        bytes[ISSUER..PROFILE].copy_from_slice(&self.issuer);
        bytes[PROFILE..].copy_from_slice(&profile);
        let cert = Certificate(bytes);
        let d = cert.hash().mul_add(&k.0, &self.key.0);
        if bool::from(d.is_zero()) {
            return None;
        }
        Some((cert, PrivateKey(d)))
    }
}

/// Check that `key` belongs to `certificate` under `ca` (before a device starts using them).
pub fn check_pair(
    certificate: &Certificate,
    key: &PrivateKey,
    ca: &PublicKey,
) -> Result<PublicKey, KeyError> {
    let q = certificate.public_key(ca)?;
    let from_key = key.public_key();
    if bool::from(q.0.x.ct_eq(&from_key.0.x) & q.0.y.ct_eq(&from_key.0.y)) {
        Ok(q)
    } else {
        Err(KeyError::KeyMismatch)
    }
}
