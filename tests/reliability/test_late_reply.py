"""Regression: a late reply to a timed-out request must not be taken for the next same-command answer.

Before the fix, ``ByteLink.exchange`` drained only bytes that had arrived before the request; a JBD 0x03 reply
held back past the timeout and delivered just after the next 0x03 request went out was returned as that request's
answer — values of the previous read, mixed with fresh cell voltages, shown as new. The link's ``flush`` policy now
sends a repeated request once more first and throws that answer away (tests/reliability/test_stale_flush.py).
"""

from __future__ import annotations

import contextlib

from tests.support.faults import FaultInjector, FaultPlan, serve_faulty_tcp
from vendor_plugins.errors import DeviceTimeout
from vendor_plugins.jbd.plugin import PLUGIN
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.transports.tcp import TcpLink


async def test_late_same_command_reply_is_not_taken_for_the_next_answer() -> None:
    sim = JbdSimulator(live=False)
    injector = FaultInjector(FaultPlan(late=1.0))
    server = await serve_faulty_tcp(sim, injector)
    link = TcpLink(server.host, server.port, timeout=0.1)
    session = PLUGIN.open_session(link)
    try:
        try:
            await session.read_basic()
        except DeviceTimeout:
            pass
        else:  # pragma: no cover - the reply is held back
            raise AssertionError("the held reply was delivered")
        sim.state.current = 9.99  # the pack changes; the stale reply still says 0.0
        injector.plan = FaultPlan()  # this request's own answer arrives right after the held one
        basic = await session.read_basic()  # the held reply came out on the flush and was thrown away
        assert basic.current == 9.99, "the late reply of the previous read was returned as new"
        assert link.late_reply_flushes == 1
        assert (await session.read_basic()).current == 9.99
        assert link.late_reply_flushes == 1  # settled: no flush any more
    finally:
        await link.close()
        await server.close()


async def test_a_single_answer_after_a_timeout_is_accepted() -> None:
    """The protection costs a round trip (and the rest of the horizon), not the value: the next read answers."""
    sim = JbdSimulator(live=False)
    injector = FaultInjector(FaultPlan(drop=1.0))
    server = await serve_faulty_tcp(sim, injector)
    link = TcpLink(server.host, server.port, timeout=0.1)
    session = PLUGIN.open_session(link)
    try:
        with contextlib.suppress(DeviceTimeout):
            await session.read_basic()
        injector.plan = FaultPlan()
        sim.state.current = 1.5
        assert (await session.read_basic()).current == 1.5
    finally:
        await link.close()
        await server.close()


async def test_one_lost_d2_reply_does_not_drop_the_extended_registers_for_good() -> None:
    """Found by the fault runs: one timeout of the 80-register D2 read switched to 62 registers until a restart.

    The per-cell balancing and the MOSFET/board temperatures then stayed unknown forever. Silence now falls back for
    ``EXTENDED_RETRY_READS`` reads only; an explicit refusal still falls back for good (tests/vendor_plugins/daly).
    """
    from vendor_plugins.daly import session_d2 as d2_reader
    from vendor_plugins.daly.plugin import PLUGIN as DALY
    from vendor_plugins.daly.simulator import ModbusSimulator
    from vendor_plugins.plugin import SessionOptions

    sim = ModbusSimulator(family="d2")
    injector = FaultInjector(FaultPlan(drop=1.0))
    server = await serve_faulty_tcp(sim, injector)
    link = TcpLink(server.host, server.port, timeout=0.1)
    session = DALY.open_session(link, SessionOptions(family="d2"))
    try:
        with contextlib.suppress(DeviceTimeout):
            await session.read()  # 80 lost, then 62 lost too
        injector.plan = FaultPlan()
        first = await session.read()
        assert first.raw["registers"] == 62
        for _ in range(d2_reader.EXTENDED_RETRY_READS):
            last = await session.read()
        assert last.raw["registers"] == 80
        assert last.balancing is not None
    finally:
        await link.close()
        await server.close()
