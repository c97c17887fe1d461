#!/usr/bin/env bash
# The EZSP byte vectors hanrig's layouts are tested against (firmware/radio/tests/vectors/
# bellows-ezsp.txt) must be what bellows' own serialisers make: made again here with the pinned
# bellows and compared byte for byte.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${VENV:-target/interop-venv}
if [ ! -x "$venv/bin/bellows" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q bellows==1.2.1
fi
vectors=firmware/radio/tests/vectors
made=$(mktemp)
"$venv/bin/python" "$vectors/bellows_ezsp.py" > "$made"
if diff -u "$vectors/bellows-ezsp.txt" "$made" > /dev/null; then
    echo "ok   $(grep -vc '^#' "$made") EZSP vectors are bellows' own ($(head -1 "$made" | cut -d: -f1 | tr -d '#'))"
    rm -f "$made"
else
    echo "FAIL bellows makes other EZSP vectors than the checked-in ones:"
    diff -u "$vectors/bellows-ezsp.txt" "$made" | head -20
    rm -f "$made"
    exit 1
fi
