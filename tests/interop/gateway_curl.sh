#!/usr/bin/env bash
# The gateway's mutual TLS against real peers: OpenSSL verifies the lab CA's certificates,
# and curl — with the client certificate and HTTP Basic credentials a third party gets —
# sends a text message through `hanrig gateway serve`; without the certificate curl gets no
# HTTP answer, with a wrong password a 401.
set -euo pipefail
cd "$(dirname "$0")/../.."
hanrig=${HANRIG:-target/debug/hanrig}
work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
db="sqlite://$work/gw.db?mode=rwc"
admin() { "$hanrig" gateway admin --database-url "$db" "$@"; }

admin ca-init --dir "$work/ca" >/dev/null
admin company-add "Acme Energy" --kind third-party >/dev/null
echo "CorrectHorse42" | admin user-add --company "Acme Energy" --user alice --admin >/dev/null
admin cert-issue --company "Acme Energy" --ca-dir "$work/ca" --out "$work/acme" >/dev/null

openssl verify -CAfile "$work/ca/ca.pem" "$work/ca/server.pem" "$work/acme/client.pem"
openssl x509 -in "$work/acme/client.pem" -noout -ext extendedKeyUsage | grep -q "TLS Web Client Authentication"

port=18443
"$hanrig" gateway serve --database-url "$db" --listen "127.0.0.1:$port" --tls-dir "$work/ca" 2>"$work/serve.log" &
server=$!
for _ in $(seq 50); do grep -q "API on" "$work/serve.log" && break; sleep 0.1; done

curl_tls=(curl -sS --cacert "$work/ca/ca.pem" --cert "$work/acme/client.pem" --key "$work/acme/client.key")
# Without an agreement the message is refused (403); the third party invites the customer,
# the customer accepts through the invitation's secret (the admin command stands in for the
# e-mail link), and the message goes.
agreement='{"kind": "in-home-device-services", "esiid": "10443720001234567", "device": "00:0d:6f:00:00:00:00:01", "customer_email": "pat@example.com", "message_types": {"text": true}}'
status=$("${curl_tls[@]}" -u "alice:CorrectHorse42" -o "$work/agreement.json" -w '%{http_code}' \
    -H 'content-type: application/json' -d "$agreement" "https://localhost:$port/v1/agreements")
[ "$status" = 201 ] || { echo "curl: invitation: expected 201, got $status: $(cat "$work/agreement.json")"; exit 1; }
token=$(admin invitations --esiid 10443720001234567 | cut -f1)
admin invitation-answer "$token" accept | grep -q accepted
body='{"esiids": ["10443720001234567"], "message": {"text": "Peak pricing 2-6pm", "duration_minutes": 60}}'
status=$("${curl_tls[@]}" -u "alice:CorrectHorse42" -o "$work/answer.json" -w '%{http_code}' \
    -H 'content-type: application/json' -d "$body" "https://localhost:$port/v1/messages/text")
[ "$status" = 202 ] || { echo "curl: expected 202, got $status: $(cat "$work/answer.json")"; exit 1; }
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/answer.json")
status=$("${curl_tls[@]}" -u "alice:CorrectHorse42" -o "$work/message.json" -w '%{http_code}' "https://localhost:$port/v1/messages/$id")
[ "$status" = 200 ] || { echo "curl: GET message: $status"; exit 1; }
grep -q '"address":"10443720001234567"' "$work/message.json"

# The OpenAPI document: the client certificate suffices.
"${curl_tls[@]}" -f "https://localhost:$port/openapi.json" | grep -q '"/v1/messages/text"'

status=$("${curl_tls[@]}" -u "alice:wrong" -o /dev/null -w '%{http_code}' "https://localhost:$port/v1/messages/$id")
[ "$status" = 401 ] || { echo "curl: wrong password gave $status, not 401"; exit 1; }

if curl -sS --cacert "$work/ca/ca.pem" -u "alice:CorrectHorse42" -o /dev/null "https://localhost:$port/v1/messages/$id" 2>"$work/nocert.err"; then
    echo "curl without a client certificate got an HTTP answer"; exit 1
fi
echo "curl without a client certificate: $(head -1 "$work/nocert.err")"
echo "gateway mutual TLS: OpenSSL verifies the chain; curl sends (202), reads (200), is refused (401, no TLS without a certificate)"
