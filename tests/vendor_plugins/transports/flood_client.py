"""Run in a subprocess by ``test_flood.py``: an idle TcpLink under a flood, then one normal exchange.

``python -m tests.vendor_plugins.transports.flood_client PORT SECONDS`` prints one JSON line: peak resident memory
(VmHWM, kB) before and after the flood, what the link received and dropped, the answer, and the longest event-loop
stall seen while flooded.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from vendor_plugins.transports import TcpLink

from .line_protocol import expect, request


def peak_rss_kb() -> int:
    """This process's peak resident set size so far (kB)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


async def _ticker(stop: asyncio.Event, lags: list[float]) -> None:
    """Sleep in 10-ms steps and note how late each wake-up was (the event loop's stalls)."""
    while not stop.is_set():
        start = time.monotonic()
        await asyncio.sleep(0.01)
        lags.append(time.monotonic() - start - 0.01)


async def main(port: int, seconds: float) -> dict[str, object]:
    """Exchange, stay idle while flooded for ``seconds``, exchange again; report what it cost."""
    async with TcpLink("127.0.0.1", port, timeout=5) as link:
        first = await link.exchange(request(1), expect(1, timeout=5))
        before = peak_rss_kb()
        stop, lags = asyncio.Event(), [0.0]
        ticker = asyncio.create_task(_ticker(stop, lags))
        await asyncio.sleep(seconds)
        stop.set()
        await ticker
        second = await link.exchange(request(2), expect(2, timeout=5))
        return {
            "answers": [first[0].address, second[0].address],
            "rss_before_kb": before,
            "rss_after_kb": peak_rss_kb(),
            "received": link.bytes_received,
            "dropped": getattr(link, "bytes_dropped", 0),  # 0: a link that never drops (before the bound)
            "max_lag": max(lags),
        }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))))
