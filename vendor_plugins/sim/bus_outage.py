"""Bus outage scenarios: a 15-pack PACE bus behind a faulty TCP bridge, polled through a link outage.

The bridge goes away (``"refused"``: connections refused), or stays up while the bus goes silent (``"silent"``), or
the bus goes silent in the middle of a cycle (``"silent-mid-cycle"``, from pack 6's answer on). :func:`run_outage`
polls a :class:`~vendor_plugins.poller.BusPoller` through such an outage and counts the cycles until every present
pack (pack 7 is missing all along) was read again. ``tests/reliability/test_bus_outage.py`` asserts on the results;
``benchmarks/bench_bus_outage.py`` tabulates them for :data:`SCENARIOS`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from ..errors import BmsError
from ..model import BmsSnapshot
from ..pace.plugin import PLUGIN as PACE
from ..plugin import Session, SessionOptions, SimulatorOptions
from ..poller import BusPoller
from ..transports import ModbusLink, TcpLink
from ..transports.base import Link
from .base import Simulator
from .faults import FaultInjector, FaultPlan, FaultyTcpServer, serve_faulty_tcp

#: The addresses on the bus.
PACKS = tuple(range(1, 16))
#: The link's reply timeout (seconds).
TIMEOUT = 0.1
#: The poller's ``absent_timeout`` (seconds).
ABSENT = 0.15
#: The fault plan of a silent bus: every reply is lost.
SILENT = FaultPlan(drop=1.0)
#: The pack that is missing all along in :func:`run_outage` (a pack-level failure, not an outage).
MISSING = 7

type OutageKind = Literal["refused", "silent", "silent-mid-cycle"]
#: The (PACE family, outage kind) pairs the benchmark measures.
SCENARIOS: tuple[tuple[str, OutageKind], ...] = (
    ("ascii-25", "refused"),
    ("ascii-25", "silent"),
    ("ascii-25", "silent-mid-cycle"),
    ("modbus", "refused"),
)


def bus_simulators(family: str) -> list[Simulator]:
    """One static PACE simulator of ``family`` per address in :data:`PACKS` (seeded by its address)."""
    return [PACE.create_simulator(SimulatorOptions(family=family, address=a, seed=a, profile="static")) for a in PACKS]


@dataclass
class FaultyBus:
    """A simulated bus served through a faulty bridge, with the link and session that read it."""

    server: FaultyTcpServer
    injector: FaultInjector
    sims: list[Simulator]
    link: Link
    session: Session


@asynccontextmanager
async def faulty_bus(family: str) -> AsyncIterator[FaultyBus]:
    """Serve :func:`bus_simulators` through a clean (for now) injector; link and server are closed on exit."""
    sims = bus_simulators(family)
    injector = FaultInjector(FaultPlan(), seed=1)
    server = await serve_faulty_tcp(sims, injector)
    link: Link
    if family == "modbus":
        link = ModbusLink.rtu_over_tcp(server.host, server.port, timeout=TIMEOUT)
    else:
        link = TcpLink(server.host, server.port, timeout=TIMEOUT, connect_timeout=0.5)
    try:
        yield FaultyBus(server, injector, sims, link, PACE.open_session(link, SessionOptions(family=family)))
    finally:
        await link.close()
        await server.close()


async def cycles_to_recovery(poller: BusPoller, expected: tuple[int, ...], limit: int = 40) -> int:
    """Cycles until every address in ``expected`` has a snapshot read in that same cycle (``limit + 1``: never)."""
    fresh: set[int] = set()
    for n in range(1, limit + 1):
        before = dict(poller.attempts)
        results = await poller.poll()
        fresh |= {a for a in expected if isinstance(results[a], BmsSnapshot) and poller.attempts[a] == before[a] + 1}
        if fresh >= set(expected):
            return n
    return limit + 1


async def run_outage(
    make_poller: Callable[[Session], BusPoller], family: str, kind: OutageKind, *, outage_cycles: int = 4
) -> tuple[int, list[int], BusPoller]:
    """Poll through an outage of ``kind`` lasting ``outage_cycles`` cycles; return cycles to recover.

    Also returns the reads attempted in each outage cycle, and the poller. Pack :data:`MISSING` is missing all
    along. Every result of an outage cycle must be an error (``AssertionError`` otherwise), except mid-cycle.
    """
    async with faulty_bus(family) as bus:
        server, injector, sims = bus.server, bus.injector, bus.sims
        sims[MISSING - 1].present = False  # type: ignore[attr-defined]
        poller = make_poller(bus.session)
        others = tuple(a for a in PACKS if a != MISSING)
        for _ in range(3):
            await poller.poll()
        armed = kind == "silent-mid-cycle"
        if armed:
            original = sims[5].handle

            def go_silent_at_pack_6(request: bytes) -> bytes | None:
                reply = original(request)
                if reply and injector.plan is not SILENT:
                    injector.plan = SILENT  # pack 6's answer and everything after it are lost
                return reply

            sims[5].handle = go_silent_at_pack_6  # type: ignore[method-assign]
        elif kind == "refused":
            server.go_down()
        else:
            injector.plan = SILENT
        attempts: list[int] = []
        for _ in range(outage_cycles):
            before = sum(poller.attempts.values())
            results = await poller.poll()
            attempts.append(sum(poller.attempts.values()) - before)
            assert all(isinstance(r, BmsError) for r in results.values()) or armed
        if armed:
            sims[5].handle = original  # type: ignore[method-assign]
        injector.plan = FaultPlan()
        await server.come_back()
        return await cycles_to_recovery(poller, others), attempts, poller
