#!/usr/bin/env bash
# The `smart-meter-texas` client (PyPI 0.5.6, the library behind Home Assistant's integration)
# against `hanrig lab up`'s Smart Meter Texas-compatible portal API: it signs in as the demo
# resident over TLS (the lab CA's certificate, valid for 127.0.0.1), lists the meters and
# reads 15-minute data — yesterday's, and a day 13 months back from the history the lab's
# TDSP files delivered; a wrong password is refused as the client expects. Then it reads each
# of the resident's three meters on demand (read_meter: PENDING, then COMPLETED with a fresh
# odrdate), one through each head-end style (Oncor MultiSpeak, CenterPoint jobs, AEP CIM), and
# a meter read twice in the hour is refused a third time with SMT's 5031.
set -euo pipefail
cd "$(dirname "$0")/../.."
hanrig=${HANRIG:-target/debug/hanrig}
venv=${VENV:-target/interop-venv-smt}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import smart_meter_texas, certifi, OpenSSL" 2>/dev/null; then
    python3 -m venv "$venv"
    # 0.5.6 imports certifi and OpenSSL without declaring them.
    "$venv/bin/pip" install -q smart-meter-texas==0.5.6 certifi pyopenssl
fi
work=$(mktemp -d)
trap 'kill "${lab:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
started=$(date +%s)
"$hanrig" lab up --dir "$work/lab" --meters 5 --listen 127.0.0.1:0 --speed 30 --lossless > "$work/lab.out" 2>&1 &
lab=$!
for _ in $(seq 300); do [ -f "$work/lab/lab.json" ] && grep -q "Ctrl-C" "$work/lab.out" && break; sleep 0.1; done
cat "$work/lab.out"
"$venv/bin/python" - "$work/lab" "$started" <<'PY'
import asyncio, datetime, json, ssl, sys, time

import aiohttp
import smart_meter_texas as smt

lab_dir = sys.argv[1]
started = datetime.datetime.fromtimestamp(int(sys.argv[2]), datetime.timezone.utc)
lab = json.load(open(f"{lab_dir}/lab.json"))
portal = lab["portal_url"]
smt.BASE_ENDPOINT = f"{portal}/api"
smt.AUTH_ENDPOINT = f"{portal}/commonapi/user/authenticate"
smt.OD_READ_RETRY_TIME = 1
resident = lab["resident"]
context = smt.ClientSSLContext().create_ssl_context(open(f"{lab_dir}/ca.pem").read())

async def main():
    async with aiohttp.ClientSession() as session:
        wrong = smt.Client(session, smt.Account(resident["username"], "not-the-password"), context)
        try:
            await wrong.authenticate()
            raise SystemExit("a wrong password signed in")
        except smt.SmartMeterTexasAuthError:
            pass
        client = smt.Client(session, smt.Account(resident["username"], resident["password"]), context)
        await client.authenticate()
        meters = await smt.Account(resident["username"], resident["password"]).fetch_meters(client)
        assert sorted(m.esiid for m in meters) == sorted(resident["esiids"]), [m.esiid for m in meters]
        # The history arrives as the TDSPs' files, ingested by the gateway within seconds.
        deadline = time.time() + 120
        while True:
            try:
                await meters[0].get_15min(client)
                break
            except smt.SmartMeterTexasAPIDateError:
                if time.time() > deadline:
                    raise
                await asyncio.sleep(1)
        readings = meters[0].read_15min_consumption
        assert len(readings) in (92, 96, 100), len(readings)
        assert all(float(kwh) >= 0 for _, kwh in readings), readings[:3]
        # 13 months back: the oldest day of the history, through the same API.
        old = (datetime.date.today() - datetime.timedelta(days=395)).strftime("%m/%d/%Y")
        answer = await client.request(smt.INTERVAL_SYNCH,
            json={"startDate": old, "endDate": old, "reportFormat": "JSON", "ESIID": [meters[0].esiid],
                  "versionDate": None, "readDate": None, "versionNum": None, "dataType": None})
        energy = answer["data"]["energyData"]
        assert energy and len([s for s in energy[0]["RD"].split(",") if s]) >= 92, answer
        print(f"smart-meter-texas 0.5.6: signed in, {len(meters)} meters, {len(readings)} intervals of "
              f"{readings[0][0].split()[0]}, and {old} from the 13-month history")

        # On-demand reads through each TDSP's head-end, as Home Assistant's sensor makes them.
        for meter in meters:
            await meter.read_meter(client)
            first = (meter.reading, meter.reading_datetime)
            assert meter.reading > 0, meter.reading_data
            await meter.read_meter(client)
            second = (meter.reading, meter.reading_datetime)
            assert second[1] > first[1] and second[0] >= first[0], (first, second)
            # odrdate is Texas time: read as such, it lies between now and where the head-ends'
            # clock (30x from lab up) can be — not hours behind, nor a time zone ahead.
            now = datetime.datetime.now(datetime.timezone.utc)
            ahead = (now - started) * 30 + datetime.timedelta(minutes=5)
            assert now - datetime.timedelta(minutes=5) < first[1] < started + ahead, (first[1], now)
            print(f"  {meter.esiid}: {first[0]} kWh at {first[1]}, then {second[0]} kWh at {second[1]}")
        answer = await client.request(smt.OD_READ_ENDPOINT,
            json={"ESIID": meters[0].esiid, "MeterNumber": meters[0].meter})
        assert answer["data"]["statusCode"] == "5031", answer
        print(f"  a third read within the hour: statusCode {answer['data']['statusCode']}")

asyncio.run(main())
PY
