//! The elliptic-curve half of an exchange behind one interface, shaped like the CBKE library of
//! an EZSP co-processor (`getCertificate`, `generateCbkeKeys`, `calculateSmacs`,
//! `clearTemporaryDataMaybeStoreLinkKey`): [`Software`] computes it in this crate; a host whose
//! radio has the library implements [`Engine`] by asking the chip, and the same state machines
//! ([`crate::exchange`]) run over either.
//!
//! The engine holds the exchange's secrets (the ephemeral private key, MacKey, KeyData) between
//! calls and forgets them in [`Engine::finish`]; the state machines see only public values and
//! the two MACs.

use hanrig_sep::Eui64;
use zeroize::Zeroize;

use crate::curve::POINT_LEN;
use crate::exchange::{Entropy, Identity};
use crate::kdf::{DerivedKeys, Party, Transcript};
use crate::keys::{Certificate, PrivateKey, PublicKey};
use crate::mqv::shared_secret;

/// Both key-confirmation MACs of one exchange (calculateSmacsHandler's `initiatorSmac` and
/// `responderSmac`).
#[derive(Clone, PartialEq, Eq, Zeroize)]
pub struct Smacs {
    /// MACU, which the initiator sends.
    pub initiator: [u8; 16],
    /// MACV, which the responder sends.
    pub responder: [u8; 16],
}

impl core::fmt::Debug for Smacs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Smacs(…)")
    }
}

/// Why the engine could not do its part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EngineError {
    /// The partner's certificate does not reconstruct to a valid key under our CA.
    InvalidCertificate,
    /// The partner's ephemeral key is not a valid point of the curve's subgroup.
    BadPoint,
    /// The engine failed otherwise (a co-processor's non-success status, no ephemeral key yet).
    Failed,
}

/// The elliptic-curve operations of one side, one exchange at a time.
pub trait Engine {
    /// Our own implicit certificate.
    fn certificate(&self) -> &Certificate;

    /// Check a partner's certificate as early as the engine can: [`Software`] reconstructs its
    /// key under the CA; an engine that cannot (a co-processor) accepts here and refuses in
    /// [`Engine::calculate_smacs`].
    fn check_certificate(&self, partner: &Certificate) -> Result<(), EngineError> {
        let _ = partner;
        Ok(())
    }

    /// A new ephemeral key pair for this exchange; returns its public key, compressed.
    fn generate_keys(&mut self, entropy: &mut dyn Entropy) -> Result<[u8; POINT_LEN], EngineError>;

    /// With the partner's certificate and ephemeral key: the shared secret, MacKey and KeyData
    /// (kept) and both MACs (returned). `we` is our role.
    fn calculate_smacs(
        &mut self,
        we: Party,
        partner: &Certificate,
        partner_ephemeral: &[u8; POINT_LEN],
    ) -> Result<Smacs, EngineError>;

    /// The exchange is over: forget its secrets; when `store`, keep KeyData as the link key with
    /// the partner, and return it if the engine hands keys out (a co-processor keeps it in its
    /// key table and returns `None`).
    fn finish(&mut self, store: bool) -> Option<[u8; 16]>;

    /// Play a KDF flaw from now on (feature `flaws`); engines that cannot ignore it.
    #[cfg(feature = "flaws")]
    fn set_wrong_kdf_counter(&mut self, on: bool) {
        let _ = on;
    }
}

/// The operations in software, with this crate's constant-time curve arithmetic.
#[derive(Debug)]
pub struct Software {
    identity: Identity,
    ephemeral: Option<(PrivateKey, PublicKey)>,
    keys: Option<DerivedKeys>,
    #[cfg(feature = "flaws")]
    wrong_kdf_counter: bool,
}

impl Software {
    /// An engine with our certificate, private key and CA.
    pub fn new(identity: Identity) -> Software {
        Software {
            identity,
            ephemeral: None,
            keys: None,
            #[cfg(feature = "flaws")]
            wrong_kdf_counter: false,
        }
    }

    /// Our identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    fn derive(&self, z: &crate::mqv::SharedSecret) -> DerivedKeys {
        #[cfg(feature = "flaws")]
        if self.wrong_kdf_counter {
            return DerivedKeys::derive_with_counters(z, 0, 1);
        }
        DerivedKeys::derive(z)
    }
}

/// The subject EUI64 of a certificate (big-endian there) as an address.
pub fn subject_eui64(certificate: &Certificate) -> Eui64 {
    Eui64(u64::from_be_bytes(certificate.subject()))
}

impl Engine for Software {
    fn certificate(&self) -> &Certificate {
        self.identity.certificate()
    }

    fn check_certificate(&self, partner: &Certificate) -> Result<(), EngineError> {
        partner
            .public_key(self.identity.ca())
            .map(|_| ())
            .map_err(|_| EngineError::InvalidCertificate)
    }

    fn generate_keys(&mut self, entropy: &mut dyn Entropy) -> Result<[u8; POINT_LEN], EngineError> {
        let mut seed = [0u8; 48];
        let key = loop {
            entropy.fill(&mut seed);
            if let Some(key) = PrivateKey::from_entropy(&seed) {
                break key;
            }
        };
        seed.zeroize();
        let public = key.public_key();
        let compressed = public.to_compressed();
        self.ephemeral = Some((key, public));
        self.keys = None;
        Ok(compressed)
    }

    fn calculate_smacs(
        &mut self,
        we: Party,
        partner: &Certificate,
        partner_ephemeral: &[u8; POINT_LEN],
    ) -> Result<Smacs, EngineError> {
        let (r, qe) = self.ephemeral.as_ref().ok_or(EngineError::Failed)?;
        let partner_static = partner
            .public_key(self.identity.ca())
            .map_err(|_| EngineError::InvalidCertificate)?;
        let partner_q =
            PublicKey::from_compressed(partner_ephemeral).map_err(|_| EngineError::BadPoint)?;
        let z = shared_secret(
            self.identity.private_key(),
            r,
            qe,
            &partner_static,
            &partner_q,
        )
        .map_err(|_| EngineError::BadPoint)?;
        let (own, other) = (self.identity.certificate().subject(), partner.subject());
        let own_q = qe.to_compressed();
        let transcript = match we {
            Party::Initiator => Transcript {
                initiator_id: own,
                responder_id: other,
                initiator_ephemeral: own_q,
                responder_ephemeral: *partner_ephemeral,
            },
            Party::Responder => Transcript {
                initiator_id: other,
                responder_id: own,
                initiator_ephemeral: *partner_ephemeral,
                responder_ephemeral: own_q,
            },
        };
        let keys = self.derive(&z);
        let smacs = Smacs {
            initiator: keys.mac(Party::Initiator, &transcript),
            responder: keys.mac(Party::Responder, &transcript),
        };
        self.keys = Some(keys);
        Ok(smacs)
    }

    fn finish(&mut self, store: bool) -> Option<[u8; 16]> {
        self.ephemeral = None;
        let keys = self.keys.take()?;
        store.then_some(keys.key_data)
    }

    #[cfg(feature = "flaws")]
    fn set_wrong_kdf_counter(&mut self, on: bool) {
        self.wrong_kdf_counter = on;
    }
}
