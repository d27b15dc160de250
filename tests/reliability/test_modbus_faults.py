"""Modbus fault runs: PACE Modbus through a faulty RTU bridge, Modbus-TCP and a faulty serial line.

The property itself (nothing wrong, nothing stale, only ``BmsError`` escapes, recovery once the faults stop) runs
for every target of :data:`~tests.support.rigs.TARGETS` in ``test_faults_property.py``, the Modbus
ones included. Here: that those rigs really exist and really inject every fault kind, that the truth check can
tell a wrong Modbus snapshot from a right one, and that a refusing bridge is recovered from.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from tests.support.faults import REPLY_FAULTS, FaultPlan
from tests.support.mbap import MbapBridge, read_request
from tests.support.rigs import CORRUPTING_FAULTS, MODBUS_TRANSPORTS, TARGETS, Rig
from tests.support.truth import is_allowed
from vendor_plugins.errors import TransportError
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.pace.simulator_modbus import PaceRtuSimulator
from vendor_plugins.pace.simulator_state import PaceState
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports import ModbusLink

TIMEOUT = 0.25
MODBUS_TARGETS = [name for name, target in TARGETS.items() if target.registers]


def _plan(rate: float) -> FaultPlan:
    return FaultPlan.uniform(
        rate, kinds=(*REPLY_FAULTS, "split"), delay_seconds=TIMEOUT * 1.5, refuse_seconds=TIMEOUT, clean_after=4
    )


def test_modbus_targets_run_on_every_modbus_transport() -> None:
    assert MODBUS_TARGETS == ["pace-modbus", "pace-modbus-1"]
    for name in MODBUS_TARGETS:
        assert TARGETS[name].transports == MODBUS_TRANSPORTS == ("modbus-rtu-tcp", "modbus-tcp", "modbus-rtu")


@pytest.mark.parametrize("transport", MODBUS_TRANSPORTS)
async def test_every_fault_kind_is_injected_and_survived(transport: str) -> None:
    async with Rig(TARGETS["pace-modbus"], transport, _plan(0.6), seed=5, timeout=TIMEOUT) as rig:
        for _ in range(200):
            results = await rig.poll()
            if all(isinstance(r, TransportError) for r in results):
                await asyncio.sleep(TIMEOUT / 4)  # the bridge refuses connections for a while: let time pass
            if rig.injector.replies >= 130:
                break
        tally = rig.tally
        assert (tally.escaped, tally.hangs, tally.wrong, tally.stale) == (0, 0, 0, 0), (
            tally.escaped_details + tally.wrong_details
        )
        expected = {"drop", "delay", "late", "disconnect", "outage", "split"}
        if transport == "modbus-tcp":  # no checksum in Modbus-TCP: byte corruption is not injected there
            assert not set(CORRUPTING_FAULTS) & set(rig.injector.counts)
        else:
            expected |= set(CORRUPTING_FAULTS)
        assert expected <= set(rig.injector.counts), rig.injector.counts
        assert tally.ok > 0
        await rig.calm()
        assert all(isinstance(r, BmsSnapshot) for r in await rig.poll())


async def test_truth_check_accepts_exactly_the_snapshot_of_the_recorded_registers() -> None:
    """The replay link rebuilds a Modbus snapshot from recorded RTU replies, and nothing else."""
    target = TARGETS["pace-modbus-1"]
    state = PaceState(cycles=41, current=-7.5)
    recorded = PaceRtuSimulator(state, unit=1)
    answers = {
        read_request(1, first, count): [recorded.handle(read_request(1, first, count)) or b""]
        for first, count in ((0, 8), (9, 4), (15, 22))
    }
    async with await serve_tcp(PaceRtuSimulator(state, unit=1)) as server:
        link = ModbusLink.rtu_over_tcp(server.host, server.port, timeout=1.0)
        try:
            snapshot = await target.session(link).read(1)
        finally:
            await link.close()
    assert snapshot.cycles == 41
    assert await is_allowed(snapshot, target.session, answers, address=1)
    assert not await is_allowed(dataclasses.replace(snapshot, cycles=42), target.session, answers, address=1)
    assert not await is_allowed(dataclasses.replace(snapshot, current=-7.4), target.session, answers, address=1)
    other = PaceRtuSimulator(PaceState(cycles=40, current=-7.5), unit=1)
    other_answers = {r: [other.handle(r) or b""] for r in answers}
    assert not await is_allowed(snapshot, target.session, other_answers, address=1)


def test_mbap_bridge_answers_with_the_transaction_id_and_stays_silent_for_absent_units() -> None:
    bridge = MbapBridge([PaceRtuSimulator(PaceState(cycles=9), unit=2)])
    request = bytes.fromhex("1234 0000 0006 02 03 0000 0008")
    reply = bridge.handle(request)
    assert reply is not None
    assert reply[:7] == bytes.fromhex("1234 0000 0013 02")  # 1 unit + 1 function + 1 count + 16 data bytes
    assert reply[7:9] == bytes.fromhex("0310")
    assert int.from_bytes(reply[9 + 14 : 9 + 16], "big") == 9  # register 7: cycles
    assert bridge.handle(bytes.fromhex("1235 0000 0006 05 03 0000 0008")) is None
