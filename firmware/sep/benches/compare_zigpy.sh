#!/usr/bin/env bash
# hanrig-sep decode/encode throughput and zigpy's decode throughput on the same frames, in one
# run, on one core each. Prints frames/s and the ratio (for BENCHMARKS.md).
#   bash firmware/sep/benches/compare_zigpy.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
venv=${VENV:-target/zigpy-venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q zigpy==2.4.0
fi
taskset -c 0 cargo bench -p hanrig-sep --bench codec -- --noplot >/dev/null
zigpy_line=$(taskset -c 1 "$venv/bin/python" firmware/sep/benches/zigpy_decode.py \
    firmware/sep/tests/vectors/zcl_frames.jsonl | tail -1)
python3 - "$zigpy_line" <<'PY'
import json, sys
zigpy = float(sys.argv[1].split()[0].split("=")[1])
def rate(group, frames):
    est = json.load(open(f"target/criterion/{group}/hanrig/new/estimates.json"))
    return frames / (est["mean"]["point_estimate"] * 1e-9)
all_dec = rate("decode_all_se_commands", 56)
sub_dec = rate("decode_zigpy_subset", 24)
enc = rate("encode_all_se_commands", 56)
print(f"hanrig decode, all 56 SE frames     {all_dec:>14,.0f} frames/s")
print(f"hanrig encode, all 56 SE frames     {enc:>14,.0f} frames/s")
print(f"hanrig decode, zigpy's 24 frames    {sub_dec:>14,.0f} frames/s")
print(f"zigpy 2.4.0 decode, same 24 frames  {zigpy:>14,.0f} frames/s")
print(f"ratio hanrig / zigpy                {sub_dec / zigpy:>14,.0f}x")
PY
