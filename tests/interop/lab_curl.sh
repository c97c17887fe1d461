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
user=$(python3 -c 'import json; print(json.load(open("lab.json"))["username"])')
esiids=$(python3 -c 'import json; print(json.dumps(json.load(open("lab.json"))["esiids"]))')
api=(curl -sS --cacert ca.pem --cert client.pem --key client.key -u "$user:$password")
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
# The operators' view, read by Prometheus's own parser: every connector up, the deliveries counted.
"${api[@]}" -f "https://localhost:$port/healthz" > healthz.json
"${api[@]}" -f "https://localhost:$port/metrics" > metrics.txt
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q prometheus-client==0.21.1
"$work/venv/bin/python" - <<'PY'
import json
from prometheus_client.parser import text_string_to_metric_families
health = json.load(open("healthz.json"))
assert health["status"] == "ok", health
families = {f.name: f for f in text_string_to_metric_families(open("metrics.txt").read())}
up = {s.labels["tdsp"]: s.value for s in families["hanrig_connector_up"].samples}
assert up == {t: 1.0 for t in ["oncor", "centerpoint", "aep-texas-central", "aep-texas-north", "tnmp"]}, up
settled = sum(s.value for s in families["hanrig_deliveries"].samples if s.labels["status"] in ("delivered", "device-acknowledged"))
assert settled == 10, families["hanrig_deliveries"].samples
print("lab up: /healthz ok; /metrics parsed by prometheus_client:", len(families), "families, every connector up")
PY
kill -INT "$lab"
wait "$lab"
grep -q "stopped" "$work/lab.out"
