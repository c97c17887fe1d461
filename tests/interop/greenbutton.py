"""Reads a hanrig Green Button export with greenbutton-objects (PyPI) and checks what it finds
against the interval file it came from: every interval of consumption, at its UTC start, with
its value in Wh.

usage: greenbutton.py FEED.xml EXPECTED.json
EXPECTED: {"readings": [[start_unix, wh], ...], "uom": 72}
"""
import json
import sys

from greenbutton_objects import parse

feed, expected_path = sys.argv[1], sys.argv[2]
expected = json.load(open(expected_path))
usage_points = parse.parse_feed(feed)
assert len(usage_points) == 1, f"one usage point, found {len(usage_points)}"
readings = []
for mr in usage_points[0].meterReadings:
    uom = getattr(mr.readingType.uom, "value", mr.readingType.uom)
    assert int(uom) == expected["uom"], f"uom {mr.readingType.uom}, expected Wh (72)"
    for ir in mr.intervalReadings:
        readings.append([int(ir.timePeriod.start.timestamp()), int(ir.value)])
readings.sort()
want = sorted(expected["readings"])
assert len(readings) == len(want), f"{len(readings)} readings, expected {len(want)}"
for got, exp in zip(readings, want):
    assert got == exp, f"reading {got}, expected {exp}"
print(f"greenbutton-objects read {len(readings)} intervals, each at its UTC start with its value")
