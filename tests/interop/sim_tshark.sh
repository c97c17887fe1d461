#!/usr/bin/env bash
# Wireshark interop for the simulator's captures: for every han-sim/scenarios/*.toml,
# `hanrig sim` writes capture.pcapng, keys and events.jsonl; `hanrig capture decode --json`
# decodes the capture with the scenario's key file; tshark, configured with nothing but
# that key file, must decrypt every frame (MIC verified) and agree with our decode field
# by field (tests/interop/tshark_capture.py), including the 802.15.4 MAC command frames of
# joining (Association Request/Response) and the Transport-Key frames that follow them.
# Prints one line per scenario (the checker's FAIL lines under a failed one), then
# "N passed, M failed" over scenarios; exit status 1 if any scenario failed.
# HANRIG overrides the binary; KEEP=DIR keeps each scenario's files in DIR/<scenario>.
set -euo pipefail
cd "$(dirname "$0")/../.."
hanrig=${HANRIG:-target/debug/hanrig}
check=tests/interop/tshark_capture.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
keep=${KEEP:-}

passed=0
failed=0
scenarios=(han-sim/scenarios/*.toml)
if [ ! -e "${scenarios[0]}" ]; then
    echo "no scenarios in han-sim/scenarios" >&2
    exit 1
fi

for scenario in "${scenarios[@]}"; do
    name=$(basename "$scenario" .toml)
    dir=${keep:+$keep/$name}
    dir=${dir:-$work/$name}
    rm -rf "$dir"
    mkdir -p "$dir"
    log=$dir/check.log
    why=
    : >"$log"
    if ! "$hanrig" sim --scenario "$scenario" --out "$dir/sim" >"$dir/sim.log" 2>&1; then
        why="hanrig sim failed"
        cat "$dir/sim.log" >>"$log"
    elif ! "$hanrig" capture decode "$dir/sim/capture.pcapng" --keys "$dir/sim/keys" --json \
            >"$dir/ours.jsonl" 2>>"$log"; then
        why="hanrig capture decode failed"
    elif ! python3 "$check" "$dir/sim/capture.pcapng" "$dir/sim/keys" "$dir/ours.jsonl" \
            >"$dir/check.out" 2>>"$log"; then
        why=$(tail -n 1 "$dir/check.out")
        why="tshark_capture.py: ${why:-no result} (frames)"
        grep '^FAIL' "$dir/check.out" >>"$log" || true
    fi
    if [ -z "$why" ]; then
        counts=$(python3 - "$dir/ours.jsonl" <<'PY'
import json, sys
ours = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mac = sum("mac_payload" in o for o in ours)
tk = sum((o.get("aps_command") or {}).get("name") == "transport_key" for o in ours)
zcl = sum("zcl" in o for o in ours)
print("%d frames: %d MAC command, %d Transport-Key, %d ZCL" % (len(ours), mac, tk, zcl))
PY
)
        printf 'ok   %-14s %s, all agree with tshark\n' "$name" "$counts"
        passed=$((passed + 1))
    else
        printf 'FAIL %-14s %s\n' "$name" "$why"
        sed 's/^/    | /' "$log"
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
