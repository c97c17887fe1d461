#!/usr/bin/env bash
# schemathesis (PyPI), every check, against a running `hanrig gateway serve` over mutual TLS:
# bodies generated from the OpenAPI document the gateway serves must be accepted, bodies that
# violate it refused, and every answer must be documented (status, content type, schema).
# The company has accepted agreements for the meters the document's examples name, so
# generated requests get through to 202 as well as to 403.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
hanrig=$root/${HANRIG:-target/debug/hanrig}
venv=$root/${VENV:-target/interop-venv-schemathesis}
if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q schemathesis==4.32.5
fi
work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
db="sqlite://$work/gw.db?mode=rwc"
admin() { "$hanrig" gateway admin --database-url "$db" "$@"; }
admin ca-init --dir "$work/ca" >/dev/null
admin company-add "Acme Energy" --kind third-party >/dev/null
echo "CorrectHorse42" | admin user-add --company "Acme Energy" --user alice --admin >/dev/null
admin cert-issue --company "Acme Energy" --ca-dir "$work/ca" --out "$work/acme" >/dev/null
port=18743
"$hanrig" gateway serve --database-url "$db" --listen "127.0.0.1:$port" --tls-dir "$work/ca" 2>"$work/serve.log" &
server=$!
for _ in $(seq 50); do grep -q "API on" "$work/serve.log" && break; sleep 0.1; done
curl_tls=(curl -sS -f --cacert "$work/ca/ca.pem" --cert "$work/acme/client.pem" --key "$work/acme/client.key" -u "alice:CorrectHorse42")
# Agreements, accepted, for the meters the document's examples name (Oncor, CenterPoint, AEP):
# a services agreement for a device on each, and the Oncor meter's In-Home Device Agreement.
invite() {
    "${curl_tls[@]}" -o /dev/null -H 'content-type: application/json' -d "$1" "https://localhost:$port/v1/agreements"
}
all='"message_types": {"text": true, "price": true, "load_control": true}'
for esiid in 10443720001234567 1008901000140000000000 10032780001234567; do
    invite "{\"kind\": \"in-home-device-services\", \"esiid\": \"$esiid\", \"device\": \"00:0d:6f:00:00:00:00:01\", \"customer_email\": \"pat@example.com\", $all}"
done
invite '{"kind": "in-home-device", "esiid": "10443720001234567", "customer_email": "pat@example.com"}'
for esiid in 10443720001234567 1008901000140000000000 10032780001234567; do
    for token in $(admin invitations --esiid "$esiid" | cut -f1); do
        admin invitation-answer "$token" accept >/dev/null
    done
done
"${curl_tls[@]}" -o "$work/openapi.json" "https://localhost:$port/openapi.json"
cd "$work"
"$venv/bin/schemathesis" --config-file "$root/tests/interop/schemathesis.toml" run openapi.json \
    --url "https://localhost:$port" --auth alice:CorrectHorse42 \
    --request-cert "$work/acme/client.pem" --request-cert-key "$work/acme/client.key" \
    --tls-verify "$work/ca/ca.pem"
