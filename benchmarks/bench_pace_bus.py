"""Bus efficiency benchmark: 15 PACE packs x 16 cells on a 9600-baud virtual RS485 bus (a paced pty).

Run: ``.venv/bin/python benchmarks/bench_pace_bus.py`` (about a minute). Not a timed test.

Each poll cycle reads every pack (0x42 then 0x44) through one serial link, strictly one request at a time. The
wire-time limit of a cycle is Σ(request + response bytes) x 10 bits / 9600 baud — what the bytes alone take on an
8N1 line; the ratio cycle time / limit is the overhead of everything else (target <= 1.10). The pty paces both
directions here: a reply leaves only after the request's bytes *and* its own bytes would have crossed the line
(the shared pty server paces replies only; :class:`DuplexPacedPty` adds the request time). Then the same with
pack 8 unplugged: the cycle that retries it pays one short timeout, the cycles in between do not (back-off).
Last, decode throughput (assembler + strict parse + 0x42/0x44 decode + snapshot).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from vendor_plugins.model import BmsSnapshot
from vendor_plugins.pace import codec_ascii as codec
from vendor_plugins.pace import codec_ascii_layout as layout
from vendor_plugins.pace import table as t
from vendor_plugins.pace.plugin import PLUGIN
from vendor_plugins.pace.simulator_ascii import PaceAsciiSimulator
from vendor_plugins.pace.simulator_state import PaceState
from vendor_plugins.poller import BusPoller
from vendor_plugins.sim.pty import PtyServer
from vendor_plugins.sim.serving import SimEndpoint
from vendor_plugins.transports import SerialLink

BAUD = 9600
PACKS = 15
ABSENT_TIMEOUT = 0.5  # the vendor PDF's host timeout
BITS_PER_BYTE = 10


class CountingEndpoint(SimEndpoint):
    """Counts request bytes that got an answer (an unanswered request's wire time hides in the client's timeout)."""

    def __init__(self, simulators: list[PaceAsciiSimulator]) -> None:
        """Serve the bus."""
        super().__init__(simulators)
        self.pending_in = 0

    def feed(self, chunk: bytes) -> bytes:
        """Feed a chunk; remember its size until a reply leaves."""
        self.pending_in += len(chunk)
        reply = super().feed(chunk)
        if not reply and self._assembler.pending == 0:
            self.pending_in = 0
        return reply


class DuplexPacedPty(PtyServer):
    """A pty whose replies leave after (request + reply bytes) x 10 bits / baud, like a real half-duplex line."""

    async def _write_replies(self) -> None:
        endpoint = self.endpoint
        assert isinstance(endpoint, CountingEndpoint)
        assert self.baud
        while True:
            data = await self._outbox.get()
            inbound, endpoint.pending_in = endpoint.pending_in, 0
            await asyncio.sleep((inbound + len(data)) * BITS_PER_BYTE / self.baud)
            await self._write_all(data)


def _packs() -> list[PaceAsciiSimulator]:
    return [PaceAsciiSimulator(PaceState(cycles=a), address=a) for a in range(1, PACKS + 1)]


async def _cycles(poller: BusPoller, link: SerialLink, count: int) -> list[tuple[float, float, int]]:
    """(seconds, wire-time limit, packs answered) per cycle."""
    out = []
    for _ in range(count):
        sent, received = link.bytes_sent, link.bytes_received
        started = time.perf_counter()
        results = await poller.poll()
        elapsed = time.perf_counter() - started
        wire = (link.bytes_sent - sent + link.bytes_received - received) * BITS_PER_BYTE / BAUD
        out.append((elapsed, wire, sum(isinstance(r, BmsSnapshot) for r in results.values())))
    return out


def _report(title: str, cycles: list[tuple[float, float, int]]) -> None:
    print(title)
    for n, (elapsed, wire, answered) in enumerate(cycles):
        print(f"  cycle {n}: {elapsed:6.3f} s, wire limit {wire:6.3f} s, ratio {elapsed / wire:5.3f}, {answered} packs")


async def bench_bus() -> None:
    """Full cycles with 15 packs, then with pack 8 absent."""
    sims = _packs()
    server = DuplexPacedPty(CountingEndpoint(sims), baud=BAUD)
    server._start()
    link = SerialLink(server.path, baudrate=BAUD, timeout=ABSENT_TIMEOUT)  # per request: the longest reply is 0.15 s
    try:
        poller = BusPoller(PLUGIN.open_session(link), range(1, PACKS + 1), absent_timeout=ABSENT_TIMEOUT)
        await poller.poll()  # warm-up (opens the port)
        full = await _cycles(poller, link, 3)
        _report(f"{PACKS} packs x 16 cells at {BAUD} baud, both directions paced:", full)
        ratio = statistics.mean(e for e, _, _ in full) / statistics.mean(w for _, w, _ in full)
        print(f"  => mean cycle {statistics.mean(e for e, _, _ in full):.3f} s, ratio {ratio:.3f} (target <= 1.10)")

        sims[7].present = False
        absent = await _cycles(poller, link, 8)
        _report(f"pack 8 unplugged (absent timeout {ABSENT_TIMEOUT} s, retried every 2^n cycles):", absent)
        retry = [c for n, c in enumerate(absent) if n in (0, 2, 6)]
        steady = [c for n, c in enumerate(absent) if n not in (0, 2, 6)]
        print(
            f"  => cycles without the retry: mean ratio {statistics.mean(e / w for e, w, _ in steady):.3f};"
            f" cycles that retry pack 8: mean {statistics.mean(e for e, _, _ in retry):.3f} s"
            f" (ratio {statistics.mean(e / w for e, w, _ in retry):.3f}, of which {ABSENT_TIMEOUT} s is the timeout);"
            f" all 8 cycles: ratio {sum(e for e, _, _ in absent) / sum(w for _, w, _ in absent):.3f}"
        )
    finally:
        await link.close()
        await server.close()


def bench_decode(rounds: int) -> None:
    """Snapshots per second from a 16-cell pack's 0x42 + 0x44 answers."""
    sim = PaceAsciiSimulator(address=1)
    analog = sim.handle(codec.build_read(codec.V25, 1, t.Cid2.ANALOG)) or b""
    warn = sim.handle(codec.build_read(codec.V25, 1, t.Cid2.WARN)) or b""
    start = time.perf_counter()
    for _ in range(rounds):
        a = layout.decode_analog(codec.parse_frame(analog).info)
        w = layout.decode_warn(codec.parse_frame(warn).info)
        layout.to_snapshot(a.blocks[0], w)
    direct = rounds / (time.perf_counter() - start)
    stream = (analog + warn) * 20
    chunks = [stream[i : i + 32] for i in range(0, len(stream), 32)]
    assembler = codec.AsciiAssembler()
    frames = 0
    start = time.perf_counter()
    for _ in range(rounds // 20):
        for piece in chunks:
            frames += len(assembler.feed(piece))
    assembled = frames / (time.perf_counter() - start)
    print(f"decode: {direct:,.0f} snapshots/s (parse + 0x42 + 0x44 + snapshot); assembler {assembled:,.0f} frames/s")


def main() -> None:
    """Print the numbers."""
    asyncio.run(bench_bus())
    bench_decode(500)
    bench_decode(5000)


if __name__ == "__main__":
    main()
