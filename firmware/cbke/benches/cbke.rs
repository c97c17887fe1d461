//! One complete suite-1 exchange (both sides' ECC: certificate reconstruction, ephemeral keys,
//! the MQV secret, KDF and MACs) and a single point multiplication, against OpenSSL's
//! sect163k1 point multiplication measured in the same run.

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use hanrig_cbke::PrivateKey;
use hanrig_cbke::exchange::{Config, Identity, Initiator, Responder};
use hanrig_cbke::keys::{CertificateAuthority, TEST_ISSUER, TEST_PROFILE};
use hanrig_sep::Eui64;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcPoint};
use openssl::nid::Nid;
use std::hint::black_box;

fn rng(seed: u64) -> impl FnMut(&mut [u8]) {
    let mut x = seed | 1;
    move |buf: &mut [u8]| {
        for b in buf {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
}

fn seed48(seed: u64) -> [u8; 48] {
    let mut out = [0u8; 48];
    rng(seed)(&mut out);
    out
}

fn bench(c: &mut Criterion) {
    let key = PrivateKey::from_entropy(&seed48(1)).unwrap();
    let mut g = c.benchmark_group("point multiplication k·G (sect163k1)");
    g.bench_function("hanrig (constant-time ladder)", |b| {
        b.iter(|| black_box(&key).public_key())
    });
    let group = EcGroup::from_curve_name(Nid::SECT163K1).unwrap();
    let mut ctx = BigNumContext::new().unwrap();
    let k = BigNum::from_slice(&key.to_bytes()).unwrap();
    let mut out = EcPoint::new(&group).unwrap();
    g.bench_function("OpenSSL EC_POINT_mul", |b| {
        b.iter(|| out.mul_generator2(&group, black_box(&k), &mut ctx).unwrap())
    });
    let q = key.public_key();
    g.bench_function("hanrig subgroup check n·Q", |b| {
        b.iter(|| black_box(q.point()).check_subgroup())
    });
    g.finish();

    let ca = CertificateAuthority::new(PrivateKey::from_entropy(&seed48(2)).unwrap(), TEST_ISSUER);
    let esi_eui = Eui64(1);
    let ihd_eui = Eui64(2);
    let issue = |eui: Eui64, seed| {
        let (cert, key) = ca
            .issue(eui.0.to_be_bytes(), TEST_PROFILE, &seed48(seed))
            .unwrap();
        Identity::new(cert, key, ca.public_key()).unwrap()
    };
    let (ihd_id, esi_id) = (issue(ihd_eui, 3), issue(esi_eui, 4));
    let mut entropy = rng(5);
    let mut device = Initiator::new(ihd_id, Config::default());
    let mut esi = Responder::new(esi_id, Config::default());
    c.bench_function("one complete exchange, both sides", |b| {
        b.iter(|| {
            let (_, m) = device.start(esi_eui, 0).send.unwrap();
            let (_, m) = esi.handle(ihd_eui, &m, 0, &mut entropy).send.unwrap();
            let (_, m) = device.handle(esi_eui, &m, 0, &mut entropy).send.unwrap();
            let (_, m) = esi.handle(ihd_eui, &m, 0, &mut entropy).send.unwrap();
            let (_, m) = device.handle(esi_eui, &m, 0, &mut entropy).send.unwrap();
            let (_, m) = esi.handle(ihd_eui, &m, 0, &mut entropy).send.unwrap();
            let done = device.handle(esi_eui, &m, 0, &mut entropy);
            assert!(done.outcome.is_some());
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
