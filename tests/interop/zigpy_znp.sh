#!/usr/bin/env bash
# zigpy-znp (the Z-Stack host of zigpy / Home Assistant, PyPI) against the simulated Z-Stack
# 3.30 ZNP co-processor, over TCP and on a pseudo-terminal: it must connect (ping, the
# structure-alignment and version probes) and read the network information from NV (NIB,
# keys, security material, device tables), and what it reads must be what the simulator has.
set -euo pipefail
cd "$(dirname "$0")/../.."
hanrig=${HANRIG:-target/debug/hanrig}
venv=${VENV:-target/interop-venv-znp}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import zigpy_znp" 2>/dev/null; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q zigpy-znp==1.1.1
fi
passed=0
failed=0
for mode in tcp pty; do
    out_file=$(mktemp)
    if [ "$mode" = tcp ]; then
        "$hanrig" sim radio --protocol znp --tcp 127.0.0.1:0 > "$out_file" &
        pattern='socket://[0-9.:]*'
    else
        "$hanrig" sim radio --protocol znp --pty > "$out_file" &
        pattern='/dev/pts/[0-9]*'
    fi
    server=$!
    for _ in $(seq 50); do grep -qE "$pattern" "$out_file" && break; sleep 0.1; done
    port=$(grep -oE "$pattern" "$out_file" || true)
    out=$(timeout 60 "$venv/bin/python" tests/interop/znp_info.py "$port" 2>&1) || true
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -f "$out_file"
    if grep -qx "zstack=3.3" <<<"$out" && grep -qx "ieee=00:12:4b:00:1c:aa:ac:5c" <<<"$out" \
        && grep -qx "logical_type=Coordinator" <<<"$out" && grep -qx "pan_id=0x1a62" <<<"$out" \
        && grep -qx "extended_pan_id=00:0d:6f:00:0a:bc:de:f0" <<<"$out" \
        && grep -qx "channel=15" <<<"$out" && grep -qx "frame_counter=2500" <<<"$out" \
        && grep -qE "^network_key=([0-9a-f]{2}:){15}[0-9a-f]{2}$" <<<"$out"; then
        echo "ok   zigpy-znp reads the simulated ZNP's network over $mode ($port)"
        passed=$((passed + 1))
    else
        echo "FAIL zigpy-znp against the simulated ZNP over $mode ($port):"
        sed 's/^/     /' <<<"$out" | tail -20
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
