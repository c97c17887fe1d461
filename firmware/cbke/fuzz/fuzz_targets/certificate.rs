//! Any 48 bytes as an implicit certificate and any 22 as the CA key: ECQV reconstruction never
//! panics, and what it returns is a valid key.
#![no_main]

use hanrig_cbke::curve::POINT_LEN;
use hanrig_cbke::keys::CERTIFICATE_LEN;
use hanrig_cbke::{Certificate, PublicKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() != CERTIFICATE_LEN + POINT_LEN {
        return;
    }
    let (cert, ca) = data.split_at(CERTIFICATE_LEN);
    let Some(cert) = Certificate::from_slice(cert) else { return };
    let Ok(ca) = PublicKey::from_compressed(ca.try_into().unwrap_or(&[0; POINT_LEN])) else { return };
    if let Ok(q) = cert.public_key(&ca) {
        assert!(q.point().is_on_curve());
        assert_eq!(PublicKey::from_compressed(&q.to_compressed()), Ok(q));
    }
});
