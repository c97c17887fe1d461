#!/usr/bin/env bash
# `hanrig lab up` as a newcomer runs it: one command, then curl with the files it wrote sends a
# load-control event to every demo meter (all four TDSPs, three head-end styles) and reads
# every thermostat's and load-control device's Report Event Status back; Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/../.."
hanrig=${HANRIG:-target/debug/hanrig}
work=$(mktemp -d)
trap 'kill "${lab:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=18543
"$hanrig" lab up --dir "$work/lab" --meters 10 --speed 200 --lossless --listen "127.0.0.1:$port" > "$work/lab.out" 2>&1 &
lab=$!
for _ in $(seq 100); do [ -f "$work/lab/lab.json" ] && grep -q "Ctrl-C" "$work/lab.out" && break; sleep 0.1; done
cat "$work/lab.out"
cd "$work/lab"
password=$(python3 -c 'import json; print(json.load(open("lab.json"))["password"])')
esiids=$(python3 -c 'import json; print(json.dumps(json.load(open("lab.json"))["esiids"]))')
api=(curl -sS --cacert ca.pem --cert client.pem --key client.key -u "demo:$password")
"${api[@]}" -f "https://localhost:$port/openapi.json" > openapi.json
"${api[@]}" -f -H 'content-type: application/json' \
    -d "{\"esiids\": $esiids, \"message\": {\"device_class\": 65535, \"duration_minutes\": 1, \"criticality\": 2}}" \
    "https://localhost:$port/v1/messages/load-control" > accepted.json
id=$(python3 -c 'import json; print(json.load(open("accepted.json"))["id"])')
for _ in $(seq 200); do
    "${api[@]}" -f "https://localhost:$port/v1/messages/$id" > message.json
    python3 -c 'import json,sys; s=json.load(open("message.json"))["summary"]; sys.exit(0 if s["queued"] == s["sent"] == 0 else 1)' && break
    sleep 0.1
done
python3 - <<'PY'
import json
lab = json.load(open("lab.json"))
kind = {d["esiid"]: (d["tdsp"], d["device_type"]) for d in lab["devices"]}
message = json.load(open("message.json"))
seen = set()
for a in message["addresses"]:
    tdsp, device = kind[a["address"]]
    want = "delivered" if device == "in-home-display" else "device-acknowledged"
    assert a["status"] == want, (a, tdsp, device)
    seen.add(tdsp)
assert seen == {"oncor", "centerpoint", "aep-texas-central", "aep-texas-north", "tnmp"}, seen
print(f"lab up: {len(message['addresses'])} meters over {len(seen)} TDSP routes; every device answered as it should:", message["summary"])
PY
kill -INT "$lab"
wait "$lab"
grep -q "stopped" "$work/lab.out"
