//! Every value of SE 1.x Annex C.5 (suite 1), bit for bit.

#![allow(clippy::unwrap_used)]

mod common;
use common::{c5, hex};
use hanrig_cbke::kdf::{DerivedKeys, Party, Transcript};
use hanrig_cbke::{Certificate, PrivateKey, PublicKey, shared_secret};

fn ca() -> PublicKey {
    PublicKey::from_compressed(&hex(c5::CA_PUBLIC)).unwrap()
}

#[test]
fn ecqv_reconstructs_both_published_public_keys_from_the_certificates() {
    for (cert, q) in [(c5::CERT_V, c5::Q_V), (c5::CERT_U, c5::Q_U)] {
        let cert = Certificate(hex(cert));
        assert_eq!(
            cert.public_key(&ca()).unwrap().to_compressed(),
            hex::<22>(q)
        );
    }
}

#[test]
fn the_published_private_keys_give_the_published_public_keys() {
    for (d, q) in [
        (c5::D_V, c5::Q_V),
        (c5::D_U, c5::Q_U),
        (c5::R_V, c5::QE_V),
        (c5::R_U, c5::QE_U),
    ] {
        let d = PrivateKey::from_bytes(&hex(d)).unwrap();
        assert_eq!(d.public_key().to_compressed(), hex::<22>(q));
    }
}

#[test]
fn both_sides_compute_the_published_z_mac_key_key_data_macu_and_macv() {
    let key = |s| PrivateKey::from_bytes(&hex(s)).unwrap();
    let public = |s| PublicKey::from_compressed(&hex(s)).unwrap();
    let (d_u, r_u, d_v, r_v) = (key(c5::D_U), key(c5::R_U), key(c5::D_V), key(c5::R_V));
    let (q_u, qe_u, q_v, qe_v) = (
        public(c5::Q_U),
        public(c5::QE_U),
        public(c5::Q_V),
        public(c5::QE_V),
    );

    let z_u = shared_secret(&d_u, &r_u, &qe_u, &q_v, &qe_v).unwrap();
    let z_v = shared_secret(&d_v, &r_v, &qe_v, &q_u, &qe_u).unwrap();
    assert_eq!(z_u.as_bytes(), &hex::<21>(c5::Z));
    assert_eq!(z_v.as_bytes(), &hex::<21>(c5::Z));

    let keys = DerivedKeys::derive(&z_u);
    assert_eq!(keys.mac_key, hex::<16>(c5::MAC_KEY));
    assert_eq!(keys.key_data, hex::<16>(c5::KEY_DATA));

    let t = Transcript {
        initiator_id: hex("0000000000000002"),
        responder_id: hex("0000000000000001"),
        initiator_ephemeral: hex(c5::QE_U),
        responder_ephemeral: hex(c5::QE_V),
    };
    assert_eq!(keys.mac(Party::Initiator, &t), hex::<16>(c5::MACU));
    assert_eq!(keys.mac(Party::Responder, &t), hex::<16>(c5::MACV));
    assert!(keys.verify(Party::Responder, &t, &hex(c5::MACV)));
    let mut wrong = hex::<16>(c5::MACV);
    wrong[15] ^= 1;
    assert!(!keys.verify(Party::Responder, &t, &wrong));
}
