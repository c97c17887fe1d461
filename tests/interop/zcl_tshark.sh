#!/usr/bin/env bash
# Wireshark interop for the SE codec: every frame of the vector corpus is decoded by
# `hanrig zcl decode --json`, re-encoded by `hanrig zcl encode` (must give the same bytes),
# wrapped in 802.15.4/NWK/APS (profile 0x0109) and dissected by tshark, whose field values
# must equal ours (tests/interop/tshark_zcl.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
hanrig=${HANRIG:-target/debug/hanrig}
vectors=firmware/sep/tests/vectors/zcl_frames.jsonl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$hanrig" "$vectors" > "$work/ours.jsonl" <<'PY'
import json, subprocess, sys
hanrig, vectors = sys.argv[1], sys.argv[2]
for line in open(vectors):
    if not line.strip():
        continue
    v = json.loads(line)
    decoded = subprocess.run([hanrig, "zcl", "decode", "--cluster", str(v["cluster"]), "--json", v["hex"]],
                             check=True, capture_output=True, text=True).stdout
    encoded = subprocess.run([hanrig, "zcl", "encode"], input=decoded,
                             check=True, capture_output=True, text=True).stdout.strip()
    if encoded != v["hex"].lower():
        sys.exit(f"{v['name']}: decode --json | encode gave {encoded}, not {v['hex']}")
    print(json.dumps({"name": v["name"], "cluster": v["cluster"], "hex": encoded, "decoded": json.loads(decoded)}))
PY
python3 tests/interop/tshark_zcl.py "$work/ours.jsonl"
