#!/usr/bin/env bash
# EZSP command round trips (getEui64) through hanrig's host driver and through bellows, against
# one simulated co-processor, in one run: the co-processor on core 0, each host on core 1 in
# turn. Prints both and the ratio of medians (for BENCHMARKS.md).
#   bash harness/benches/compare_bellows_ping.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-2000}
venv=${VENV:-target/interop-venv}
if [ ! -x "$venv/bin/bellows" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q bellows==1.2.1
fi
cargo build -q --release -p hanrig
hanrig=target/release/hanrig
log=$(mktemp)
taskset -c 0 "$hanrig" sim radio --protocol ezsp --ezsp-version 13 --tcp 127.0.0.1:0 >"$log" &
sim=$!
trap 'kill $sim 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -q socket:// "$log" && break; sleep 0.1; done
port=$(grep -o 'socket://[0-9.:]*' "$log")
ours=$(taskset -c 1 "$hanrig" radio ping --port "$port" --count "$count" | tail -1)
theirs=$(taskset -c 1 "$venv/bin/python" harness/benches/bellows_ping.py "$port" "$count" | tail -1)
echo "hanrig        $ours"
echo "bellows 1.2.1 $theirs"
python3 - "$ours" "$theirs" <<'PY'
import sys
median = lambda line: float(line.split("median ")[1].split(" ms")[0])
print(f"ratio of medians, bellows / hanrig: {median(sys.argv[2]) / median(sys.argv[1]):.1f}x")
PY
