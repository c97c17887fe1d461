//! Any 22 bytes as a compressed point: decoding never panics, and a point that decodes is on
//! the curve and compresses back to the same bytes; a validated key is in the subgroup.
#![no_main]

use hanrig_cbke::PublicKey;
use hanrig_cbke::curve::{POINT_LEN, Point};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(bytes) = <[u8; POINT_LEN]>::try_from(data) else { return };
    if let Ok(p) = Point::decompress(&bytes) {
        assert!(p.is_on_curve());
        assert_eq!(p.compress(), bytes);
    }
    if let Ok(key) = PublicKey::from_compressed(&bytes) {
        assert_eq!(key.point().check_subgroup(), Ok(()));
    }
});
