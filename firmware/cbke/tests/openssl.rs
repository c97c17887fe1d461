//! Property tests against OpenSSL's sect163k1 (libssl through rust-openssl): point
//! multiplication, compression both ways, ECQV and the MQV shared secret on random keys.

#![allow(clippy::unwrap_used)]

use hanrig_cbke::keys::{CertificateAuthority, TEST_ISSUER, TEST_PROFILE};
use hanrig_cbke::{PrivateKey, PublicKey, shared_secret};
use hanrig_sep::install_code::mmo_hash;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcPoint, PointConversionForm};
use openssl::nid::Nid;
use proptest::prelude::*;

struct Ossl {
    group: EcGroup,
    ctx: BigNumContext,
    order: BigNum,
}

impl Ossl {
    fn new() -> Ossl {
        let group = EcGroup::from_curve_name(Nid::SECT163K1).unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let mut order = BigNum::new().unwrap();
        group.order(&mut order, &mut ctx).unwrap();
        Ossl { group, ctx, order }
    }
    fn point(&mut self, compressed: &[u8]) -> EcPoint {
        EcPoint::from_bytes(&self.group, compressed, &mut self.ctx).unwrap()
    }
    fn bytes(&mut self, p: &EcPoint) -> Vec<u8> {
        p.to_bytes(&self.group, PointConversionForm::COMPRESSED, &mut self.ctx)
            .unwrap()
    }
    fn mul(&mut self, p: &EcPoint, k: &BigNum) -> EcPoint {
        let mut out = EcPoint::new(&self.group).unwrap();
        out.mul2(&self.group, p, k, &mut self.ctx).unwrap();
        out
    }
    fn mul_g(&mut self, k: &BigNum) -> EcPoint {
        let mut out = EcPoint::new(&self.group).unwrap();
        out.mul_generator2(&self.group, k, &mut self.ctx).unwrap();
        out
    }
    fn add(&mut self, a: &EcPoint, b: &EcPoint) -> EcPoint {
        let mut out = EcPoint::new(&self.group).unwrap();
        out.add(&self.group, a, b, &mut self.ctx).unwrap();
        out
    }
    fn x(&mut self, p: &EcPoint) -> Vec<u8> {
        let (mut x, mut y) = (BigNum::new().unwrap(), BigNum::new().unwrap());
        p.affine_coordinates(&self.group, &mut x, &mut y, &mut self.ctx)
            .unwrap();
        x.to_vec_padded(21).unwrap()
    }
    /// avf(R) = (x mod 2^82) + 2^82.
    fn avf(&mut self, r: &EcPoint) -> BigNum {
        let x = BigNum::from_slice(&self.x(r)).unwrap();
        let mut low = x;
        low.mask_bits(82).unwrap();
        let mut top = BigNum::new().unwrap();
        top.set_bit(82).unwrap();
        let mut out = BigNum::new().unwrap();
        out.checked_add(&low, &top).unwrap();
        out
    }
}

fn key(entropy: &[u8]) -> PrivateKey {
    PrivateKey::from_entropy(entropy.try_into().unwrap()).unwrap()
}

fn bn(key: &PrivateKey) -> BigNum {
    BigNum::from_slice(&key.to_bytes()).unwrap()
}

fn entropy() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 48)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn scalar_multiplication_of_the_base_point_matches_openssl(e in entropy()) {
        let mut o = Ossl::new();
        let d = key(&e);
        let theirs = o.mul_g(&bn(&d));
        prop_assert_eq!(d.public_key().to_compressed().to_vec(), o.bytes(&theirs));
    }

    #[test]
    fn compressed_points_read_back_the_same_in_both(e in entropy()) {
        let mut o = Ossl::new();
        let theirs = o.mul_g(&bn(&key(&e)));
        let bytes: [u8; 22] = o.bytes(&theirs).try_into().unwrap();
        let ours = PublicKey::from_compressed(&bytes).unwrap();
        prop_assert_eq!(ours.to_compressed(), bytes);
        let (x, y) = ours.point().coordinates();
        let mut ox = BigNum::new().unwrap();
        let mut oy = BigNum::new().unwrap();
        theirs.affine_coordinates(&o.group, &mut ox, &mut oy, &mut o.ctx).unwrap();
        prop_assert_eq!(x.to_vec(), ox.to_vec_padded(21).unwrap());
        prop_assert_eq!(y.to_vec(), oy.to_vec_padded(21).unwrap());
    }

    #[test]
    fn ecqv_issue_and_reconstruction_match_openssl(ca_e in entropy(), e in entropy(), subject in any::<[u8; 8]>()) {
        let mut o = Ossl::new();
        let ca = CertificateAuthority::new(key(&ca_e), TEST_ISSUER);
        let (cert, d) = ca.issue(subject, TEST_PROFILE, e.as_slice().try_into().unwrap()).unwrap();
        let ours = cert.public_key(&ca.public_key()).unwrap();
        // Q = e·P + Q_CA in OpenSSL, with e = MMO(cert).
        let p = o.point(&cert.reconstruction_data());
        let hash = BigNum::from_slice(&mmo_hash(&cert.0)).unwrap();
        let ep = o.mul(&p, &hash);
        let q_ca = o.point(&ca.public_key().to_compressed());
        let q = o.add(&ep, &q_ca);
        prop_assert_eq!(ours.to_compressed().to_vec(), o.bytes(&q));
        // And the issued private key is the certificate's: d·G = Q.
        let dg = o.mul_g(&bn(&d));
        prop_assert_eq!(o.bytes(&dg), o.bytes(&q));
    }

    #[test]
    fn the_mqv_shared_secret_matches_openssl_and_both_sides_agree(
        a in entropy(), b in entropy(), c in entropy(), d in entropy(),
    ) {
        let mut o = Ossl::new();
        let (d1, r1, d2, r2) = (key(&a), key(&b), key(&c), key(&d));
        let (q1, qe1, q2, qe2) = (d1.public_key(), r1.public_key(), d2.public_key(), r2.public_key());
        let z1 = shared_secret(&d1, &r1, &qe1, &q2, &qe2).unwrap();
        let z2 = shared_secret(&d2, &r2, &qe2, &q1, &qe1).unwrap();
        prop_assert_eq!(z1.as_bytes(), z2.as_bytes());

        // s = r1 + avf(R1)·d1 mod n; P = 2·s·(R2 + avf(R2)·Q2).
        let rr1 = o.point(&qe1.to_compressed());
        let avf1 = o.avf(&rr1);
        let mut s = BigNum::new().unwrap();
        let mut t = BigNum::new().unwrap();
        t.mod_mul(&avf1, &bn(&d1), &o.order, &mut o.ctx).unwrap();
        s.mod_add(&t, &bn(&r1), &o.order, &mut o.ctx).unwrap();
        let mut hs = BigNum::new().unwrap();
        hs.lshift1(&s).unwrap();
        let rr2 = o.point(&qe2.to_compressed());
        let avf2 = o.avf(&rr2);
        let qq2 = o.point(&q2.to_compressed());
        let term = o.mul(&qq2, &avf2);
        let sum = o.add(&rr2, &term);
        let p = o.mul(&sum, &hs);
        prop_assert_eq!(z1.as_bytes().to_vec(), o.x(&p));
    }
}
