"""Byte vectors for every EZSP layout hanrig defines, made by bellows' own serialisers.

For each command and callback named in firmware/radio/src/ezsp/command.rs and each protocol
version hanrig speaks, bellows reads pseudo-random parameters with its schema for that
version and writes them back; the canonical bytes become a vector. hanrig's tests must read
each vector whole and write exactly the same bytes.

    python bellows_ezsp.py > bellows-ezsp.txt      (bellows from PyPI; the version is recorded)
"""

import random
import re
import sys
from pathlib import Path

import bellows
import importlib
import bellows.types as t
from importlib.metadata import version as dist_version

# The versions the simulated co-processor speaks (`hanrig sim radio --ezsp-version`).
VERSIONS = {
    v: importlib.import_module(f"bellows.ezsp.v{v}.commands").COMMANDS for v in (13, 14, 16, 17, 18, 19)
}
PER_LAYOUT = 4
TRIES = 200000

source = Path(__file__).resolve().parents[2] / "src" / "ezsp" / "command.rs"
names = re.findall(r'= 0x[0-9A-F]{4}, "(\w+)"', source.read_text())


def read(schema, data):
    if isinstance(schema, dict):
        values, rest = t.deserialize_dict(data, schema)
        return values, rest
    return schema.deserialize(data)


def write(schema, values):
    if isinstance(schema, dict):
        return t.serialize_dict((), values, schema)
    return values.serialize()


def booleans_valid(schema, values):
    """Whether every Bool holds 0 or 1 (bellows keeps any byte; EmberZNet sends only these)."""
    if isinstance(schema, dict):
        items = [(values[k], ty) for k, ty in schema.items()]
    elif hasattr(schema, "fields"):
        items = [(getattr(values, f.name), f.type) for f in schema.fields]
    else:
        return schema is not t.Bool or int(values) in (0, 1)
    return all(v is None or booleans_valid(ty, v) for v, ty in items)


def add_endpoint(rng, schema):
    """addEndpoint's two counts and two lists, which bellows reads as one greedy list."""
    found = []
    for _ in range(PER_LAYOUT):
        inputs = [rng.randrange(0x10000) for _ in range(rng.randrange(0, 6))]
        outputs = [rng.randrange(0x10000) for _ in range(rng.randrange(0, 6))]
        values = {
            "endpoint": rng.randrange(1, 241),
            "profileId": rng.choice([0x0104, 0x0109]),
            "deviceId": rng.randrange(0x10000),
            "deviceVersion": rng.randrange(16),
            "inputClusterCount": len(inputs),
            "outputClusterCount": len(outputs),
            "inputClusterList": inputs,
            "outputClusterList": outputs,
        }
        found.append(write(schema, values))
    return found


def vectors(rng, schema, longest=90):
    if schema == {}:
        return [b""]
    found = []
    seen = set()
    for attempt in range(TRIES):
        # Keep looking long only until there is one vector (some layouts have just one).
        if found and attempt > 3000:
            break
        # Small bytes most of the time, so that lengths, counts and booleans are readable.
        n = rng.randrange(0, longest)
        data = bytes(rng.randrange(0, 3) if rng.random() < 0.6 else rng.randrange(256) for _ in range(n))
        try:
            values, rest = read(schema, data)
            wire = write(schema, values)
        except Exception:
            continue
        if rest or wire != data or wire in seen or not booleans_valid(schema, values):
            continue
        seen.add(wire)
        found.append(wire)
        if len(found) == PER_LAYOUT:
            break
    return found


print(f"# bellows {dist_version('bellows')}: EZSP layouts, one vector a line:")
print("# VERSION NAME FRAME-ID request|reply HEX (or VERSION NAME absent)")
for version, commands in VERSIONS.items():
    for name in names:
        if name not in commands:
            print(f"{version} {name} absent")
            continue
        frame_id, request, reply = commands[name]
        rng = random.Random(f"{version}/{name}")
        is_callback = name.endswith("Handler")
        parts = [("reply", reply)] if is_callback else [("request", request), ("reply", reply)]
        for kind, schema in parts:
            if name == "addEndpoint" and kind == "request":
                found = add_endpoint(rng, schema)
            else:
                found = vectors(rng, schema)
            if not found:
                # Long fixed layouts (setPreinstalledCbkeData's 91 bytes): longer draws.
                found = vectors(rng, schema, longest=200)
            if not found:
                sys.exit(f"no vector for v{version} {name} {kind}")
            for wire in found:
                print(f"{version} {name} 0x{frame_id:04X} {kind} {wire.hex() or '-'}")
