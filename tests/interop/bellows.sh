#!/usr/bin/env bash
# bellows (the EZSP host of zigpy / Home Assistant, PyPI) against the simulated EZSP
# co-processor, at protocol v13 and v14: `bellows -d socket://… info` must complete and report
# what the simulator is, and 300 commands in a row must each get their answer.
set -euo pipefail
cd "$(dirname "$0")/../.."
hanrig=${HANRIG:-target/debug/hanrig}
venv=${VENV:-target/interop-venv}
if [ ! -x "$venv/bin/bellows" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q bellows==1.2.1
fi
# A simulated EZSP co-processor on a free port, read from what it prints (a fixed one could
# reach another process that holds it).
serve_radio() { # ARGS… -> the port in $radio_port, the server's PID in $served
    local file
    file=$(mktemp)
    "$hanrig" sim radio --protocol ezsp --tcp 127.0.0.1:0 "$@" > "$file" &
    served=$!
    for _ in $(seq 50); do grep -q "socket://" "$file" && break; sleep 0.1; done
    radio_port=$(grep -o "socket://[0-9.:]*" "$file" || true)
    rm -f "$file"
}
passed=0
failed=0
for version in 13 14; do
    serve_radio --ezsp-version "$version"; port=$radio_port; server=$served
    out=$(timeout 60 "$venv/bin/bellows" -d "$port" info 2>&1) || true
    # 300 commands in a row: ASH frame numbers wrap (mod 8) dozens of times.
    ping=$(timeout 60 "$venv/bin/python" harness/benches/bellows_ping.py "$port" 300 2>&1) || true
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    expected_version=$([ "$version" = 13 ] && echo "7.4.5.0" || echo "8.0.0.0")
    if grep -q "00:0d:6f:00:0a:bc:de:f0" <<<"$out" && grep -q "COORDINATOR" <<<"$out" \
        && grep -q "Board name: hanrig-sim-ncp" <<<"$out" && grep -q "EmberZNet version: $expected_version" <<<"$out"; then
        echo "ok   bellows info against simulated EZSP v$version"
        passed=$((passed + 1))
    else
        echo "FAIL bellows info against simulated EZSP v$version:"
        sed 's/^/     /' <<<"$out" | tail -20
        failed=$((failed + 1))
    fi
    if grep -q "^300 getEui64 round trips" <<<"$ping"; then
        echo "ok   bellows sends 300 commands in a row to simulated EZSP v$version"
        passed=$((passed + 1))
    else
        echo "FAIL bellows, 300 commands in a row, EZSP v$version:"
        sed 's/^/     /' <<<"$ping" | tail -20
        failed=$((failed + 1))
    fi
done
# The same over a pseudo-terminal, as a serial stick.
out_file=$(mktemp)
"$hanrig" sim radio --protocol ezsp --ezsp-version 13 --pty > "$out_file" &
server=$!
for _ in $(seq 50); do grep -q "/dev/pts/" "$out_file" && break; sleep 0.1; done
pts=$(grep -o "/dev/pts/[0-9]*" "$out_file" || true)
out=$(timeout 60 "$venv/bin/bellows" -d "$pts" info 2>&1) || true
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
rm -f "$out_file"
if [ -n "$pts" ] && grep -q "EmberZNet version: 7.4.5.0" <<<"$out"; then
    echo "ok   bellows info against simulated EZSP v13 on $pts"
    passed=$((passed + 1))
else
    echo "FAIL bellows info on a pseudo-terminal ($pts):"
    sed 's/^/     /' <<<"$out" | tail -20
    failed=$((failed + 1))
fi
# Key Establishment's ECC through bellows' CBKE commands: two simulated chips, each loaded with
# a certificate from `hanrig cbke cert-issue`, must agree on both SMACs; and one without the
# library must say so.
cbke_dir=$(mktemp -d)
"$hanrig" cbke ca-init --out "$cbke_dir/ca.json" > /dev/null
"$hanrig" cbke cert-issue --ca "$cbke_dir/ca.json" --eui64 00:0d:6f:00:0a:bc:de:f0 > "$cbke_dir/tc.json"
"$hanrig" cbke cert-issue --ca "$cbke_dir/ca.json" --eui64 00:22:a3:00:00:00:00:01 > "$cbke_dir/dev.json"
for version in 13 14; do
    serve_radio --ezsp-version "$version"; tc_port=$radio_port; tc_pid=$served
    serve_radio --ezsp-version "$version"; dev_port=$radio_port; dev_pid=$served
    out=$(timeout 60 "$venv/bin/python" tests/interop/bellows_cbke.py "$tc_port" "$cbke_dir/tc.json" "$dev_port" "$cbke_dir/dev.json" 2>&1) || true
    kill "$tc_pid" "$dev_pid" 2>/dev/null || true
    wait "$tc_pid" "$dev_pid" 2>/dev/null || true
    if grep -q "^both chips agree" <<<"$out"; then
        echo "ok   bellows drives CBKE on two simulated chips at v$version: $out"
        passed=$((passed + 1))
    else
        echo "FAIL bellows CBKE at v$version:"
        sed 's/^/     /' <<<"$out" | tail -20
        failed=$((failed + 1))
    fi
done
serve_radio --ezsp-version 14 --no-cbke-library; port=$radio_port; pid=$served
out=$(timeout 60 "$venv/bin/python" tests/interop/bellows_cbke.py --absent "$port" 2>&1) || true
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
rm -rf "$cbke_dir"
if grep -q "^no CBKE library" <<<"$out"; then
    echo "ok   bellows sees a co-processor without the CBKE library: $out"
    passed=$((passed + 1))
else
    echo "FAIL bellows, a co-processor without the CBKE library:"
    sed 's/^/     /' <<<"$out" | tail -20
    failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
