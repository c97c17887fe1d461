#!/usr/bin/env bash
# EZSP command round trips (getEui64) through hanrig's host driver and through bellows, against
# one simulated co-processor, in one run: the co-processor on core 0, each host on core 1 in
# turn. Prints both and the ratio of medians (for BENCHMARKS.md).
#   bash harness/benches/compare_bellows_ping.sh [COUNT] [tcp|pty|uart]
# tcp: socket://127.0.0.1:PORT; pty: a pseudo-terminal (memory speed); uart: a pseudo-terminal
# paced as a 115200-baud 8N1 UART by the simulator, against the line-rate limit.
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-2000}
mode=${2:-tcp}
venv=${VENV:-target/interop-venv}
if [ ! -x "$venv/bin/bellows" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q bellows==1.2.1
fi
cargo build -q --release -p hanrig
hanrig=target/release/hanrig
log=$(mktemp)
case "$mode" in
    tcp) serve=(--tcp 127.0.0.1:0); pattern='socket://[0-9.:]*' ;;
    pty) serve=(--pty); pattern='/dev/pts/[0-9]*' ;;
    uart) serve=(--pty --baud 115200); pattern='/dev/pts/[0-9]*' ;;
    *) echo "mode is tcp, pty or uart" >&2; exit 2 ;;
esac
taskset -c 0 "$hanrig" sim radio --protocol ezsp --ezsp-version 13 "${serve[@]}" >"$log" &
sim=$!
trap 'kill $sim 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -qE "$pattern" "$log" && break; sleep 0.1; done
port=$(grep -oE "$pattern" "$log")
ours=$(taskset -c 1 "$hanrig" radio ping --port "$port" --count "$count" | tail -1)
theirs=$(taskset -c 1 "$venv/bin/python" harness/benches/bellows_ping.py "$port" "$count" | tail -1)
echo "hanrig        $ours"
echo "bellows 1.2.1 $theirs"
python3 - "$ours" "$theirs" <<'PY'
import sys
median = lambda line: float(line.split("median ")[1].split(" ms")[0])
print(f"ratio of medians, bellows / hanrig: {median(sys.argv[2]) / median(sys.argv[1]):.1f}x")
PY
if [ "$mode" = uart ]; then
    # A round trip moves, one after the other: the command (9 bytes as an ASH DATA frame) and
    # the host's ACK of the previous response (4), then the NCP's ACK (4) and the response
    # (17): 34 bytes of 10 bits at 115200 baud.
    python3 -c 'print(f"line-rate limit at 115200 baud: {34 * 10 / 115200 * 1e3:.3f} ms a round trip, {115200 / 340:.0f} per second")'
fi
