#!/usr/bin/env python3
"""Measure how fast zigpy (2.4.0) decodes ZCL frames, for comparison with our
Rust decoder's criterion benchmark.

Usage: zigpy_decode.py VECTORS.jsonl [--names-out FILE] [--seconds S] [--rounds N]

Only frames zigpy really decodes are timed: general commands (no manufacturer
code) on any cluster plus cluster-specific Metering (0x0702) commands, and of
those only the ones for which zigpy returns a schema object without raising.

Decoding uses Cluster.deserialize(), the call zigpy's Device.packet_received()
makes for every incoming ZCL frame (via Device._parse_packet_command): the ZCL
header plus the command's schema. The clusters sit on a real zigpy
Endpoint/Device (only the controller application is a MagicMock, untouched
while decoding), because Cluster.deserialize logs the device name and endpoint
id for every frame; with a MagicMock endpoint we would partly time MagicMock.
"""
import argparse
import json
import statistics
import sys
import time
from collections import Counter
from unittest.mock import MagicMock

import zigpy.types as t
from zigpy.device import Device
from zigpy.endpoint import Endpoint
from zigpy.zcl import Cluster

METERING = 0x0702


def scope_skip_reason(vector):
    """Why a vector is outside what zigpy 2.4.0 can decode, or None."""
    header = vector["decoded"]["header"]
    if header["manufacturer_code"] is not None:
        return "manufacturer-specific frame"
    if header["frame_type"] != 0 and vector["cluster"] != METERING:
        return f"cluster-specific command on cluster 0x{vector['cluster']:04x}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("vectors", help="zcl_frames.jsonl")
    ap.add_argument("--names-out", help="write names of the selected vectors here")
    ap.add_argument("--seconds", type=float, default=2.5, help="total timed wall time")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    with open(args.vectors) as f:
        vectors = [json.loads(line) for line in f if line.strip()]

    # One real device/endpoint, one cluster object per cluster id, built up front.
    device = Device(MagicMock(), t.EUI64.convert("00:0d:6f:00:00:00:00:01"), 0x1234)
    endpoint = Endpoint(device, 1)
    clusters = {}

    corpus, names, kept, skipped = [], [], Counter(), Counter()
    for v in vectors:
        kind = "general" if v["decoded"]["header"]["frame_type"] == 0 else "cluster-specific"
        reason = scope_skip_reason(v)
        if reason is None:
            if v["cluster"] not in clusters:
                clusters[v["cluster"]] = Cluster.from_id(endpoint, v["cluster"])
            decode, data = clusters[v["cluster"]].deserialize, bytes.fromhex(v["hex"])
            try:
                _, command = decode(data)
                if isinstance(command, bytes):
                    reason = "zigpy returns raw bytes (no schema)"
            except Exception as exc:  # noqa: BLE001 - any failure excludes the frame
                reason = f"zigpy raises {type(exc).__name__}"
        if reason is None:
            kept[kind] += 1
            corpus.append((decode, data))
            names.append(v["name"])
        else:
            skipped[(kind, reason)] += 1
            print(f"  skip {v['name']}: {reason}")

    print(f"vectors: {len(vectors)}  selected: {len(corpus)}")
    for kind, n in sorted(kept.items()):
        print(f"  kept    {n:3d} {kind}")
    for (kind, reason), n in sorted(skipped.items()):
        print(f"  skipped {n:3d} {kind}: {reason}")
    if not corpus:
        sys.exit("nothing to benchmark")
    if args.names_out:
        with open(args.names_out, "w") as f:
            f.writelines(name + "\n" for name in names)
        print(f"wrote {len(names)} names to {args.names_out}")

    def one_pass():
        for decode, data in corpus:
            decode(data)

    # Calibrate passes per round so that all rounds together take ~args.seconds.
    one_pass()  # warm-up
    passes, start = 0, time.perf_counter()
    while time.perf_counter() - start < 0.2:
        one_pass()
        passes += 1
    per_pass = (time.perf_counter() - start) / passes
    passes = max(1, round(args.seconds / args.rounds / per_pass))

    rates = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for _ in range(passes):
            one_pass()
        rates.append(passes * len(corpus) / (time.perf_counter() - start))

    best = max(rates)
    print(f"{args.rounds} rounds x {passes} passes x {len(corpus)} frames, single thread, "
          f"Python {sys.version.split()[0]}")
    print(f"frames/s: best {best:,.0f}  median {statistics.median(rates):,.0f}  "
          f"worst {min(rates):,.0f}  (best = {1e6 / best:.1f} us/frame)")
    print(f"zigpy_frames_per_second={best:.1f} frames={len(corpus)}")


if __name__ == "__main__":
    main()
