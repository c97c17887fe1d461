"""Times COUNT getEui64 round trips through bellows' EZSP stack (the same command as
`hanrig radio ping`), against the co-processor at PORT. Usage: bellows_ping.py PORT COUNT"""

import asyncio
import statistics
import sys
import time

from bellows.cli import util


async def main(port: str, count: int) -> None:
    ezsp = await util.setup(port, 115200)
    times = []
    started = time.perf_counter()
    for _ in range(count):
        t = time.perf_counter()
        await ezsp.getEui64()
        times.append((time.perf_counter() - t) * 1e3)
    total = time.perf_counter() - started
    await ezsp.disconnect()
    times.sort()
    print(
        f"{count} getEui64 round trips: min {times[0]:.3f} ms, "
        f"median {statistics.median(times):.3f} ms, max {times[-1]:.3f} ms, "
        f"{count / total:.0f} per second"
    )


asyncio.run(main(sys.argv[1], int(sys.argv[2])))
