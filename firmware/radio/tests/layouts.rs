//! Every EZSP layout, on any bytes: what reads whole writes back to the same bytes (so
//! `parse(emit(x)) == x` for every value that can be on the wire), and nothing panics.

use hanrig_radio::ezsp::command::LAYOUTS;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn what_reads_writes_back_the_same(
        which in 0..LAYOUTS.len(),
        reply in any::<bool>(),
        version in 13u8..=14,
        // Small values often, so that counts and lengths fit what follows.
        bytes in proptest::collection::vec(prop_oneof![0u8..4, any::<u8>()], 0..96),
    ) {
        let layout = &LAYOUTS[which];
        let rewrite = match (reply, layout.request) {
            (false, Some(request)) => request,
            _ => layout.reply,
        };
        let mut out = [0u8; 512];
        if let Ok(n) = rewrite(version, &bytes, &mut out) {
            prop_assert_eq!(&out[..n], &bytes[..], "{} at v{}", layout.name, version);
        }
    }
}
