//! Any bytes: the first picks an EZSP layout, the second the version and direction, the rest
//! are parameters. Whatever reads whole must write back to the same bytes.
#![no_main]

use hanrig_radio::ezsp::command::LAYOUTS;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [which, how, params @ ..] = data else { return };
    let layout = &LAYOUTS[usize::from(*which) % LAYOUTS.len()];
    let version = if how & 1 == 0 { 13 } else { 14 };
    let rewrite = match (how & 2 == 0, layout.request) {
        (true, Some(request)) => request,
        _ => layout.reply,
    };
    let mut out = [0u8; 1024];
    if let Ok(n) = rewrite(version, params, &mut out) {
        assert_eq!(&out[..n], params, "{} v{version}: emit(parse(b)) != b", layout.name);
    }
});
