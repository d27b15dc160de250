"""Bus outage scenarios: a full bus of a multi-address plugin behind a faulty TCP bridge, polled through a link outage.

The bus comes from the registry (:func:`~.rigs.bus_targets`): every reliability target of a plugin with
``capabilities.multi_address`` that puts several packs on one bus, filled up to :data:`BUS_SIZE` packs
(:func:`~.rigs.full_bus`). :data:`FRAME_BUS` is the first whose session exchanges frames, :data:`REGISTER_BUS` the
first that reads registers (Modbus RTU through the bridge; ``None`` when no plugin has one).

The bridge goes away (``"refused"``: connections refused), or stays up while the bus goes silent (``"silent"``), or
the bus goes silent in the middle of a cycle (``"silent-mid-cycle"``, from the answer of the bus's sixth pack on).
:func:`run_outage` polls a :class:`~vendor_plugins.poller.BusPoller` through such an outage and counts the cycles
until every present pack (the seventh, :func:`missing`, is missing all along) was read again.
``tests/reliability/test_bus_outage.py`` asserts on the results; ``benchmarks/bench_bus_outage.py`` tabulates them
for :data:`SCENARIOS`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from vendor_plugins.errors import BmsError
from vendor_plugins.framing import FrameAssembler
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.plugin import Session, SimulatorOptions
from vendor_plugins.poller import BusPoller
from vendor_plugins.sim.base import Simulator
from vendor_plugins.transports import ModbusLink, TcpLink
from vendor_plugins.transports.base import Link

from .faults import FaultInjector, FaultPlan, FaultyTcpServer, serve_faulty_tcp
from .rigs import PluginTarget, bus_targets, full_bus

#: Packs on a bus.
BUS_SIZE = 15
#: The link's reply timeout (seconds).
TIMEOUT = 0.1
#: The poller's ``absent_timeout`` (seconds).
ABSENT = 0.15
#: The fault plan of a silent bus: every reply is lost.
SILENT = FaultPlan(drop=1.0)

type OutageKind = Literal["refused", "silent", "silent-mid-cycle"]
#: Outage kinds measured on a bus whose session exchanges frames, and on one that reads registers.
FRAME_KINDS: tuple[OutageKind, ...] = ("refused", "silent", "silent-mid-cycle")
REGISTER_KINDS: tuple[OutageKind, ...] = ("refused",)


def _buses() -> tuple[PluginTarget, ...]:
    buses: list[PluginTarget] = []
    for target in bus_targets():
        bus = full_bus(target, BUS_SIZE, name=f"{target.name}-bus")
        if all((b.plugin, b.family, b.registers) != (bus.plugin, bus.family, bus.registers) for b in buses):
            buses.append(bus)  # one bus per plugin and family
    return tuple(buses)


#: Every full bus the registry's plugins make.
BUSES = _buses()
#: The first bus whose session exchanges frames.
FRAME_BUS = next(b for b in BUSES if not b.registers)
#: The first bus whose session reads registers (``None``: no plugin has one).
REGISTER_BUS = next((b for b in BUSES if b.registers), None)
#: The addresses on :data:`FRAME_BUS`.
PACKS: tuple[int, ...] = tuple(a for a in FRAME_BUS.addresses if a is not None)
#: The (bus, outage kind) pairs the benchmark measures.
SCENARIOS: tuple[tuple[PluginTarget, OutageKind], ...] = tuple(
    (bus, kind) for bus in BUSES for kind in (REGISTER_KINDS if bus.registers else FRAME_KINDS)
)


def missing(bus: PluginTarget) -> int:
    """The pack that is missing all along in :func:`run_outage`: the bus's seventh (a pack-level failure)."""
    address = bus.addresses[6]
    assert address is not None
    return address


class BusMember(Simulator):
    """A simulator that can be taken off the bus (``present = False``: it stays silent), whatever its vendor."""

    def __init__(self, inner: Simulator) -> None:
        """Put ``inner`` on the bus (present)."""
        self.inner = inner
        self.vendor = inner.vendor
        self.present = True

    def request_assembler(self) -> FrameAssembler:
        """The inner simulator's."""
        return self.inner.request_assembler()

    def advance(self, seconds: float) -> None:
        """Move the inner simulator on."""
        self.inner.advance(seconds)

    def handle(self, request: bytes) -> bytes | None:
        """The inner simulator's answer while present; silence otherwise."""
        return self.inner.handle(request) if self.present else None


def bus_simulators(bus: PluginTarget) -> list[BusMember]:
    """One static simulator of ``bus``'s family per address (seeded by its address), each removable."""
    options = [SimulatorOptions(family=bus.family, address=a, seed=a, profile="static") for a in bus.addresses]
    return [BusMember(bus.plugin.create_simulator(o)) for o in options]


@dataclass
class FaultyBus:
    """A simulated bus served through a faulty bridge, with the link and session that read it."""

    server: FaultyTcpServer
    injector: FaultInjector
    sims: list[BusMember]
    link: Link
    session: Session


@asynccontextmanager
async def faulty_bus(bus: PluginTarget) -> AsyncIterator[FaultyBus]:
    """Serve :func:`bus_simulators` through a clean (for now) injector; link and server are closed on exit."""
    sims = bus_simulators(bus)
    injector = FaultInjector(FaultPlan(), seed=1)
    server = await serve_faulty_tcp(sims, injector)
    link: Link
    if bus.registers:  # Modbus RTU through the bridge
        link = ModbusLink.rtu_over_tcp(server.host, server.port, timeout=TIMEOUT)
    else:
        link = TcpLink(server.host, server.port, timeout=TIMEOUT, connect_timeout=0.5)
    try:
        yield FaultyBus(server, injector, sims, link, bus.plugin.open_session(link, bus.options()))
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
    make_poller: Callable[[Session], BusPoller], bus: PluginTarget, kind: OutageKind, *, outage_cycles: int = 4
) -> tuple[int, list[int], BusPoller]:
    """Poll ``bus`` through an outage of ``kind`` lasting ``outage_cycles`` cycles; return cycles to recover.

    Also returns the reads attempted in each outage cycle, and the poller. Pack :func:`missing` is missing all
    along. Every result of an outage cycle must be an error (``AssertionError`` otherwise), except mid-cycle.
    """
    async with faulty_bus(bus) as faulty:
        server, injector, sims = faulty.server, faulty.injector, faulty.sims
        gone = missing(bus)
        sims[bus.addresses.index(gone)].present = False
        poller = make_poller(faulty.session)
        others = tuple(a for a in bus.addresses if a is not None and a != gone)
        for _ in range(3):
            await poller.poll()
        armed = kind == "silent-mid-cycle"
        sixth = sims[5]
        if armed:
            original = sixth.handle

            def go_silent_at_the_sixth(request: bytes) -> bytes | None:
                reply = original(request)
                if reply and injector.plan is not SILENT:
                    injector.plan = SILENT  # the sixth pack's answer and everything after it are lost
                return reply

            sixth.handle = go_silent_at_the_sixth  # type: ignore[method-assign]
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
            sixth.handle = original  # type: ignore[method-assign]
        injector.plan = FaultPlan()
        await server.come_back()
        return await cycles_to_recovery(poller, others), attempts, poller
