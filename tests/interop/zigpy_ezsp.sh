#!/usr/bin/env bash
# zigpy's application layer (bellows' ControllerApplication, as Home Assistant's ZHA runs it)
# and zigpy-cli on the simulated EZSP co-processor, at v13, v14 and v18: form a network on a
# stick with none, load it back, energy scan, backup and restore, a simulated in-home display
# joining by install code and interviewed, a load-control device answering a Load Control
# Event with its event statuses (tests/interop/zigpy_ezsp.py checks the values); then
# zigpy-cli's backup of the same stick must hold the network zigpy runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
hanrig=${HANRIG:-target/debug/hanrig}
venv=${VENV:-target/interop-venv}
if [ ! -x "$venv/bin/zigpy" ]; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q bellows==1.2.1 zigpy==2.4.0 zigpy-cli==2.0.0
fi
eui=00:0d:6f:00:00:00:00:01
lcd=00:0d:6f:00:00:00:00:02
code=83FED3407A939723A5C639B26916D505C3B5
passed=0
failed=0
for version in 13 14 18; do
    out_file=$(mktemp)
    "$hanrig" sim radio --protocol ezsp --ezsp-version "$version" --unformed \
        --device "in-home-display,$eui,$code" --device "load-control,$lcd,$code" \
        --tcp 127.0.0.1:0 > "$out_file" &
    server=$!
    for _ in $(seq 50); do grep -q "socket://" "$out_file" && break; sleep 0.1; done
    port=$(grep -o "socket://[0-9.:]*" "$out_file" || true)
    if out=$(timeout 180 "$venv/bin/python" tests/interop/zigpy_ezsp.py "$port" "$eui" "$lcd" "$code" 2>&1); then
        echo "ok   zigpy forms, loads, scans, backs up, restores and admits a device on simulated EZSP v$version"
        passed=$((passed + 1))
    else
        echo "FAIL zigpy on simulated EZSP v$version:"
        grep -v '^ok' <<<"$out" | sed 's/^/     /' | tail -20
        failed=$((failed + 1))
    fi
    # zigpy-cli's backup of the stick zigpy left running the restored network.
    backup=$(mktemp)
    if timeout 120 "$venv/bin/zigpy" radio ezsp "$port" backup "$backup" > /dev/null 2>&1 \
        && "$venv/bin/python" -c '
import json, sys
b = json.load(open(sys.argv[1]))
assert b["pan_id"].lower() == "2b7a", b["pan_id"]
assert b["channel"] == 20, b["channel"]
assert b["network_key"]["key"] == "101112131415161718191a1b1c1d1e1f", b["network_key"]
assert any(d["ieee_address"] == sys.argv[2].replace(":", "") and d["is_child"] for d in b["devices"]), b["devices"]
' "$backup" "$eui"; then
        echo "ok   zigpy-cli backs up the restored network and its device from simulated EZSP v$version"
        passed=$((passed + 1))
    else
        echo "FAIL zigpy-cli backup on simulated EZSP v$version:"
        sed 's/^/     /' "$backup" | head -20
        failed=$((failed + 1))
    fi
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -f "$out_file" "$backup"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
