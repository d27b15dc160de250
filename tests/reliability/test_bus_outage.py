"""The bus poller through a bridge outage: a link-level failure is never held against the packs.

A 15-pack bus behind a :class:`~vendor_plugins.sim.faults.FaultyTcpServer`: the bridge goes away (connections
refused), or stays up while the bus goes silent, or goes silent in the middle of a cycle. None of that may leave
per-pack back-off behind: the first cycle after the fault ends reads every pack (fresh data within one poll
interval), and while the link is down a cycle stays short. A pack that is really missing (the others answer) is
still backed off. The same holds for PACE Modbus RTU through the bridge.
"""

from __future__ import annotations

from collections.abc import Callable

from vendor_plugins.errors import BmsError, DeviceTimeout, TransportError
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.pace.plugin import PLUGIN as PACE
from vendor_plugins.plugin import Session, SessionOptions, SimulatorOptions
from vendor_plugins.poller import BusPoller
from vendor_plugins.sim.base import Simulator
from vendor_plugins.sim.faults import FaultInjector, FaultPlan, FaultyTcpServer, serve_faulty_tcp
from vendor_plugins.transports import ModbusLink, TcpLink
from vendor_plugins.transports.base import Link

PACKS = tuple(range(1, 16))
TIMEOUT = 0.1
ABSENT = 0.15
SILENT = FaultPlan(drop=1.0)


def _bus(family: str) -> list[Simulator]:
    return [PACE.create_simulator(SimulatorOptions(family=family, address=a, seed=a, profile="static")) for a in PACKS]


async def _setup(family: str) -> tuple[FaultyTcpServer, FaultInjector, list[Simulator], Link, Session]:
    sims = _bus(family)
    injector = FaultInjector(FaultPlan(), seed=1)
    server = await serve_faulty_tcp(sims, injector)
    link: Link
    if family == "modbus":
        link = ModbusLink.rtu_over_tcp(server.host, server.port, timeout=TIMEOUT)
    else:
        link = TcpLink(server.host, server.port, timeout=TIMEOUT, connect_timeout=0.5)
    return server, injector, sims, link, PACE.open_session(link, SessionOptions(family=family))


async def cycles_to_recovery(poller: BusPoller, expected: tuple[int, ...], limit: int = 40) -> int:
    """Cycles until every address in ``expected`` has a snapshot read in that same cycle."""
    fresh: set[int] = set()
    for n in range(1, limit + 1):
        before = dict(poller.attempts)
        results = await poller.poll()
        fresh |= {a for a in expected if isinstance(results[a], BmsSnapshot) and poller.attempts[a] == before[a] + 1}
        if fresh >= set(expected):
            return n
    return limit + 1


async def run_outage(
    make_poller: Callable[[Session], BusPoller], family: str, kind: str, *, outage_cycles: int = 4
) -> tuple[int, list[int], BusPoller]:
    """Poll through an outage of ``kind`` ("refused", "silent", "silent-mid-cycle"); return cycles to recover.

    Also returns the reads attempted in each outage cycle. Pack 7 is missing all along (a pack-level failure).
    """
    server, injector, sims, link, session = await _setup(family)
    try:
        sims[6].present = False  # type: ignore[attr-defined]
        poller = make_poller(session)
        others = tuple(a for a in PACKS if a != 7)
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
    finally:
        await link.close()
        await server.close()


def _poller(session: Session) -> BusPoller:
    return BusPoller(session, PACKS, absent_timeout=ABSENT, max_backoff=32)


async def test_bridge_refusing_connections_leaves_no_back_off() -> None:
    cycles, attempts, poller = await run_outage(_poller, "ascii-25", "refused")
    assert cycles == 1  # every present pack read in the first cycle after the bridge is back
    assert attempts == [2, 2, 2, 2]  # two refused connects, then the rest of the cycle is skipped
    assert isinstance(poller.states[1].last, BmsSnapshot)
    assert not poller.states[7].answering and poller.states[7].failures >= 2  # the missing pack: still backed off


async def test_silent_bus_leaves_no_back_off() -> None:
    cycles, attempts, poller = await run_outage(_poller, "ascii-25", "silent", outage_cycles=3)
    assert cycles == 1
    # The first silent cycle asks every pack (it might be packs 1 and 2 gone); then two probes per cycle.
    assert attempts == [14, 2, 2]
    assert poller.outage_cycles == 3


async def test_bus_going_silent_mid_cycle_leaves_no_back_off() -> None:
    """Packs 1-5 answer, then silence from pack 6 on: 6-15 are backed off at first, forgiven by the outage cycle."""
    cycles, _, poller = await run_outage(_poller, "ascii-25", "silent-mid-cycle", outage_cycles=3)
    assert cycles == 1
    assert all(poller.states[a].answering for a in PACKS if a != 7)


async def test_modbus_rtu_bridge_outage_leaves_no_back_off() -> None:
    cycles, attempts, _ = await run_outage(_poller, "modbus", "refused", outage_cycles=3)
    assert cycles == 1
    assert attempts == [2, 2, 2]


async def test_a_missing_pack_is_still_backed_off_while_the_others_answer() -> None:
    server, _, sims, link, session = await _setup("ascii-25")
    try:
        sims[2].present = False  # type: ignore[attr-defined]
        poller = BusPoller(session, PACKS, absent_timeout=ABSENT, max_backoff=8)
        for _ in range(8):
            results = await poller.poll()
        assert isinstance(results[3], DeviceTimeout)
        assert poller.attempts[3] == 3  # cycles 0, 2, 6
        assert all(poller.attempts[a] == 8 for a in PACKS if a != 3)
        assert poller.outage_cycles == 0
    finally:
        await link.close()
        await server.close()


async def test_one_dropped_connection_is_not_an_outage() -> None:
    """A TransportError for one pack (connection lost mid-read) costs no back-off and skips nobody."""
    server, _, _, link, session = await _setup("ascii-25")
    try:
        poller = BusPoller(session, PACKS, absent_timeout=ABSENT)
        await poller.poll()
        original = session.read

        async def drop_once(address: int | None = None) -> BmsSnapshot:
            if address == 4 and poller.cycle == 1:
                raise TransportError("connection lost")
            return await original(address)

        session.read = drop_once  # type: ignore[method-assign]
        results = await poller.poll()
        assert isinstance(results[4], TransportError)
        assert all(isinstance(results[a], BmsSnapshot) for a in PACKS if a != 4)
        assert poller.states[4].failures == 0 and poller.due(4)
        assert all(isinstance(r, BmsSnapshot) for r in (await poller.poll()).values())
    finally:
        await link.close()
        await server.close()


async def test_silence_for_less_than_a_cycle_from_mid_cycle_is_recovered_next_cycle() -> None:
    """Packs 6-15 fail at the end of one cycle only (the bus came back before the next): all read next cycle."""
    cycles, _, poller = await run_outage(_poller, "ascii-25", "silent-mid-cycle", outage_cycles=1)
    assert cycles == 1
    assert poller.outage_cycles == 0  # packs 1-5 answered: not an outage cycle, yet no back-off


async def test_packs_really_gone_at_the_end_of_the_bus_are_backed_off_after_one_retry() -> None:
    server, _, sims, link, session = await _setup("ascii-25")
    try:
        poller = BusPoller(session, PACKS, absent_timeout=ABSENT, max_backoff=8)
        await poller.poll()
        for sim in sims[13:]:
            sim.present = False  # type: ignore[attr-defined]
        for _ in range(6):
            await poller.poll()
        # cycle 1: unheld (might be the link); cycle 2: held (backed off 2); asked again at cycle 4 (then 4 more)
        assert poller.attempts[14] == poller.attempts[15] == 1 + 3
        assert not poller.states[14].answering and poller.states[14].failures == 2
        assert all(poller.attempts[a] == 7 for a in range(1, 14))
    finally:
        await link.close()
        await server.close()


async def test_a_slow_pack_after_silent_ones_gets_its_full_timeout() -> None:
    """Packs 1 and 2 gone, pack 3 slower than ``absent_timeout``: it is still read, in every cycle."""
    sims = _bus("ascii-25")[:3]
    for sim in sims[:2]:
        sim.present = False  # type: ignore[attr-defined]
    injector = FaultInjector(FaultPlan(delay=1.0, delay_seconds=0.2), seed=1)
    server = await serve_faulty_tcp(sims, injector)
    link = TcpLink(server.host, server.port, timeout=0.6)
    try:
        poller = BusPoller(PACE.open_session(link), (1, 2, 3), absent_timeout=ABSENT)
        for _ in range(3):
            results = await poller.poll()
            assert isinstance(results[3], BmsSnapshot), results[3]
        assert poller.attempts == {1: 2, 2: 2, 3: 3}  # 1 and 2 backed off (cycles 0 and 2)
        assert poller.outage_cycles == 0
    finally:
        await link.close()
        await server.close()


async def test_a_skipped_pack_says_why() -> None:
    server, _, _, link, session = await _setup("ascii-25")
    try:
        poller = BusPoller(session, PACKS, absent_timeout=ABSENT)
        await poller.poll()
        server.go_down()
        results = await poller.poll()
        assert isinstance(results[9], TransportError)
        assert str(results[9]).startswith("pack 9: not asked, the link is down (")
        assert poller.attempts[9] == 1
    finally:
        await link.close()
        await server.close()
