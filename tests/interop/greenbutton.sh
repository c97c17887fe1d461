#!/usr/bin/env bash
# A meter's interval files over both 2026 DST days, ingested with `hanrig usage ingest`,
# exported with `hanrig usage export --format espi`, validated by xmllint against the ESPI and
# Atom schemas, and read back by greenbutton-objects (PyPI), the Green Button parser.
set -euo pipefail
cd "$(dirname "$0")/../.."
hanrig=${HANRIG:-target/debug/hanrig}
venv=${VENV:-target/interop-venv-greenbutton}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import greenbutton_objects, tzdata" 2>/dev/null; then
    python3 -m venv "$venv"
    # tzdata: the expected times come from Python's zoneinfo, whatever the machine's zone files.
    "$venv/bin/pip" install -q greenbutton-objects==2024.7.11 tzdata
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="sqlite://$work/gateway.db?mode=rwc"
# The file and what the export must hold, from one description: 2026-03-08 (92 intervals),
# 2026-06-01 (96) and 2026-11-01 (100), local midnight to local midnight.
"$venv/bin/python" - "$work" <<'PY'
import json, sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo
work = sys.argv[1]
tz = ZoneInfo("America/Chicago")
lines, readings = [], []
for day in ["2026-03-08", "2026-06-01", "2026-11-01"]:
    d = datetime.fromisoformat(day)
    start = d.replace(tzinfo=tz).astimezone(timezone.utc)
    end = (d + timedelta(days=1)).replace(tzinfo=tz).astimezone(timezone.utc)
    n = int((end - start).total_seconds() // 900)
    nxt = (d + timedelta(days=1)).strftime("%Y%m%d")
    lines.append(f"00000001,10443720000000001,4,{d:%Y%m%d}000000,{nxt}000000,Y,N")
    lines.append("00000002,900,KWH")
    for k in range(n):
        wh = 100 + 7 * k
        lines.append(f"00000003,{wh // 1000}.{wh % 1000:03d},A")
        readings.append([int(start.timestamp()) + 900 * k, wh])
open(f"{work}/007924772IntervalData20261102010000001.lse", "w").write("\n".join(lines) + "\n")
json.dump({"readings": readings, "uom": 72}, open(f"{work}/expected.json", "w"))
PY
"$hanrig" usage ingest --tdsp oncor --database-url "$db" "$work/007924772IntervalData20261102010000001.lse"
"$hanrig" usage export --esiid 10443720000000001 --from 2026-03-01 --to 2026-11-30 --format espi \
    --out "$work/feed.xml" --database-url "$db"
XML_CATALOG_FILES="$PWD/gateway/usage/schemas/catalog.xml" xmllint --nonet --noout \
    --schema gateway/usage/schemas/greenbutton.xsd "$work/feed.xml"
"$venv/bin/python" tests/interop/greenbutton.py "$work/feed.xml" "$work/expected.json"
