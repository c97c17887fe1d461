//! Every EZSP layout against bellows: the vectors in `tests/vectors/bellows-ezsp.txt` were
//! written by bellows' own serialisers (`tests/vectors/bellows_ezsp.py`; CI makes them again
//! and compares). Each must carry the frame ID hanrig uses, read whole, and be written back
//! byte for byte; and every layout hanrig defines must have vectors at every version bellows
//! has it in.

use hanrig_radio::ezsp::command::LAYOUTS;

const VECTORS: &str = include_str!("vectors/bellows-ezsp.txt");

fn hex(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn every_bellows_vector_reads_whole_and_writes_back_the_same_bytes() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in VECTORS.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [version, name, id, kind, bytes] = fields[..] else {
            assert_eq!(fields.get(2), Some(&"absent"), "bad line: {line}");
            continue;
        };
        let version: u8 = version.parse().expect("version");
        let layout = LAYOUTS
            .iter()
            .find(|l| l.name == name)
            .unwrap_or_else(|| panic!("{name} has vectors but no layout"));
        let id = u16::from_str_radix(id.trim_start_matches("0x"), 16).expect("frame ID");
        assert_eq!(layout.id, id, "{name}: frame ID");
        let rewrite = match kind {
            "request" => layout.request.expect("a command"),
            "reply" => layout.reply,
            _ => panic!("bad kind in {line}"),
        };
        let bytes = hex(bytes);
        let mut out = [0u8; 512];
        match rewrite(version, &bytes, &mut out) {
            Ok(n) if out[..n] == bytes[..] => {}
            Ok(n) => failures.push(format!(
                "v{version} {name} {kind}: wrote {:02x?}",
                &out[..n]
            )),
            Err(e) => failures.push(format!("v{version} {name} {kind} {bytes:02x?}: {e:?}")),
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 700, "only {checked} vectors");
}

#[test]
fn every_layout_has_vectors_at_both_versions() {
    for layout in LAYOUTS {
        for version in ["13", "14"] {
            let here = VECTORS.lines().any(|l| {
                let mut f = l.split_whitespace();
                f.next() == Some(version) && f.next() == Some(layout.name)
            });
            assert!(here, "no v{version} line for {}", layout.name);
        }
    }
}
