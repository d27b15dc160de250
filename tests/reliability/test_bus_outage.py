"""The bus poller through a bridge outage: a link-level failure is never held against the packs.

A 15-pack bus behind a :class:`~tests.support.faults.FaultyTcpServer` (the scenarios live in
:mod:`tests.support.bus_outage`; the bus is the registry's multi-address plugin's): the bridge goes away
(connections refused), or stays up while the bus goes silent, or goes silent in the middle of a cycle. None of that
may leave per-pack back-off behind: the first cycle after the fault ends reads every pack (fresh data within one poll
interval), and while the link is down a cycle stays short. A pack that is really missing (the others answer) is
still backed off. The same holds for a bus read over Modbus RTU through the bridge.
"""

from __future__ import annotations

from tests.support.bus_outage import (
    ABSENT,
    FRAME_BUS,
    PACKS,
    REGISTER_BUS,
    bus_simulators,
    faulty_bus,
    missing,
    run_outage,
)
from tests.support.faults import FaultInjector, FaultPlan, serve_faulty_tcp
from vendor_plugins.errors import DeviceTimeout, TransportError
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.plugin import Session
from vendor_plugins.poller import BusPoller
from vendor_plugins.transports import TcpLink


def _poller(session: Session) -> BusPoller:
    return BusPoller(session, PACKS, absent_timeout=ABSENT, max_backoff=32)


def test_the_bus_is_a_full_bus_with_its_seventh_pack_missing() -> None:
    """The literal pack numbers below are positions on the bus: addresses 1-15, pack 7 missing."""
    assert tuple(range(1, 16)) == PACKS
    assert missing(FRAME_BUS) == 7
    assert REGISTER_BUS is not None and REGISTER_BUS.addresses == PACKS


async def test_bridge_refusing_connections_leaves_no_back_off() -> None:
    cycles, attempts, poller = await run_outage(_poller, FRAME_BUS, "refused")
    assert cycles == 1  # every present pack read in the first cycle after the bridge is back
    assert attempts == [2, 2, 2, 2]  # two refused connects, then the rest of the cycle is skipped
    assert isinstance(poller.states[1].last, BmsSnapshot)
    assert not poller.states[7].answering and poller.states[7].failures >= 2  # the missing pack: still backed off


async def test_silent_bus_leaves_no_back_off() -> None:
    cycles, attempts, poller = await run_outage(_poller, FRAME_BUS, "silent", outage_cycles=3)
    assert cycles == 1
    # The first silent cycle asks every pack (it might be packs 1 and 2 gone); then two probes per cycle.
    assert attempts == [14, 2, 2]
    assert poller.outage_cycles == 3


async def test_bus_going_silent_mid_cycle_leaves_no_back_off() -> None:
    """Packs 1-5 answer, then silence from pack 6 on: 6-15 are backed off at first, forgiven by the outage cycle."""
    cycles, _, poller = await run_outage(_poller, FRAME_BUS, "silent-mid-cycle", outage_cycles=3)
    assert cycles == 1
    assert all(poller.states[a].answering for a in PACKS if a != 7)


async def test_modbus_rtu_bridge_outage_leaves_no_back_off() -> None:
    assert REGISTER_BUS is not None
    cycles, attempts, _ = await run_outage(_poller, REGISTER_BUS, "refused", outage_cycles=3)
    assert cycles == 1
    assert attempts == [2, 2, 2]


async def test_a_missing_pack_is_still_backed_off_while_the_others_answer() -> None:
    async with faulty_bus(FRAME_BUS) as bus:
        bus.sims[2].present = False
        poller = BusPoller(bus.session, PACKS, absent_timeout=ABSENT, max_backoff=8)
        for _ in range(8):
            results = await poller.poll()
        assert isinstance(results[3], DeviceTimeout)
        assert poller.attempts[3] == 3  # cycles 0, 2, 6
        assert all(poller.attempts[a] == 8 for a in PACKS if a != 3)
        assert poller.outage_cycles == 0


async def test_one_dropped_connection_is_not_an_outage() -> None:
    """A TransportError for one pack (connection lost mid-read) costs no back-off and skips nobody."""
    async with faulty_bus(FRAME_BUS) as bus:
        poller = BusPoller(bus.session, PACKS, absent_timeout=ABSENT)
        await poller.poll()
        original = bus.session.read

        async def drop_once(address: int | None = None) -> BmsSnapshot:
            if address == 4 and poller.cycle == 1:
                raise TransportError("connection lost")
            return await original(address)

        bus.session.read = drop_once  # type: ignore[method-assign]
        results = await poller.poll()
        assert isinstance(results[4], TransportError)
        assert all(isinstance(results[a], BmsSnapshot) for a in PACKS if a != 4)
        assert poller.states[4].failures == 0 and poller.due(4)
        assert all(isinstance(r, BmsSnapshot) for r in (await poller.poll()).values())


async def test_silence_for_less_than_a_cycle_from_mid_cycle_is_recovered_next_cycle() -> None:
    """Packs 6-15 fail at the end of one cycle only (the bus came back before the next): all read next cycle."""
    cycles, _, poller = await run_outage(_poller, FRAME_BUS, "silent-mid-cycle", outage_cycles=1)
    assert cycles == 1
    assert poller.outage_cycles == 0  # packs 1-5 answered: not an outage cycle, yet no back-off


async def test_packs_really_gone_at_the_end_of_the_bus_are_backed_off_after_one_retry() -> None:
    async with faulty_bus(FRAME_BUS) as bus:
        poller = BusPoller(bus.session, PACKS, absent_timeout=ABSENT, max_backoff=8)
        await poller.poll()
        for sim in bus.sims[13:]:
            sim.present = False
        for _ in range(6):
            await poller.poll()
        # cycle 1: unheld (might be the link); cycle 2: held (backed off 2); asked again at cycle 4 (then 4 more)
        assert poller.attempts[14] == poller.attempts[15] == 1 + 3
        assert not poller.states[14].answering and poller.states[14].failures == 2
        assert all(poller.attempts[a] == 7 for a in range(1, 14))


async def test_a_slow_pack_after_silent_ones_gets_its_full_timeout() -> None:
    """Packs 1 and 2 gone, pack 3 slower than ``absent_timeout``: it is still read, in every cycle."""
    sims = bus_simulators(FRAME_BUS)[:3]
    for sim in sims[:2]:
        sim.present = False
    injector = FaultInjector(FaultPlan(delay=1.0, delay_seconds=0.2), seed=1)
    server = await serve_faulty_tcp(sims, injector)
    link = TcpLink(server.host, server.port, timeout=0.6)
    try:
        poller = BusPoller(FRAME_BUS.plugin.open_session(link), (1, 2, 3), absent_timeout=ABSENT)
        for _ in range(3):
            results = await poller.poll()
            assert isinstance(results[3], BmsSnapshot), results[3]
        assert poller.attempts == {1: 2, 2: 2, 3: 3}  # 1 and 2 backed off (cycles 0 and 2)
        assert poller.outage_cycles == 0
    finally:
        await link.close()
        await server.close()


async def test_a_skipped_pack_says_why() -> None:
    async with faulty_bus(FRAME_BUS) as bus:
        poller = BusPoller(bus.session, PACKS, absent_timeout=ABSENT)
        await poller.poll()
        bus.server.go_down()
        results = await poller.poll()
        assert isinstance(results[9], TransportError)
        assert str(results[9]).startswith("pack 9: not asked, the link is down (")
        assert poller.attempts[9] == 1
