//! # hanrig-cbke: Certificate-Based Key Establishment for Smart Energy 1.0
//!
//! Crypto suite 1 of the Key Establishment cluster (0x0800): the curve sect163k1 over
//! GF(2^163), implicit certificates (ECQV), ECMQV with the cofactor, the AES-MMO key derivation
//! and the keyed-hash key confirmation — and [`exchange`], the initiator's and responder's state
//! machines, sans-IO. Facts and test vectors: SE 1.x Annex C.5, as collected in the project's
//! `cbke-facts.md`.
//!
//! `no_std`, no allocation, no `unsafe`. Operations on secrets run in constant time (see
//! [`field`] and [`curve`] for how, and for the one platform caveat): every field operation is
//! branch-free, and a test records the field operations the ladder and the MQV secret perform
//! and requires the same sequence whatever the secret. Secret values are wiped when dropped.
//! The elliptic-curve work of an exchange sits behind [`engine::Engine`], so the same state
//! machines run with it in software or on a radio's CBKE library.
//!
//! ```
//! use hanrig_cbke::{Certificate, PublicKey, keys::TEST_ISSUER};
//!
//! // The Annex C.5 responder certificate and the Certicom test CA's public key.
//! let ca = PublicKey::from_compressed(&hex::<22>("0200FDE8A7F3D1084224962A4E7C54E69AC3F04DA6B8")).unwrap();
//! let cert = Certificate(hex::<48>(
//!     "03045FDFC8D85FFB8B3993CB72DDCAA55F00B3E87D6D0000000000000001544553545345434101090006000000000000",
//! ));
//! # fn hex<const N: usize>(s: &str) -> [u8; N] {
//! #     let mut out = [0u8; N];
//! #     for (i, b) in out.iter_mut().enumerate() { *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap(); }
//! #     out
//! # }
//! assert_eq!(cert.issuer(), TEST_ISSUER);
//! let q = cert.public_key(&ca).unwrap();
//! assert_eq!(q.to_compressed(), hex::<22>("030290A1F5C08DAD5F2945E335620C7A98FAC46666A1"));
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod curve;
pub mod engine;
pub mod exchange;
pub mod field;
pub mod kdf;
pub mod keys;
pub mod mqv;
pub mod scalar;

pub use kdf::{DerivedKeys, Party, Transcript};
pub use keys::{Certificate, CertificateAuthority, KeyError, PrivateKey, PublicKey};
pub use mqv::{SharedSecret, shared_secret};
