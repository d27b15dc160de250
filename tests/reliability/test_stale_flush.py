"""Stale answers after two faults in a row: what the link's ``flush`` policy removes, and what it costs.

The soak's stale snapshots all came from one pattern: a request's reply is held back (``late``) or slow (``delay``)
past the timeout, and when the same request is sent again its own reply is lost too — the late reply is then the
only answer and was returned as new (by the earlier ``guard`` policy, now gone, and by a link with the protection
``off``, the comparison here). With ``flush`` the link waits out a horizon since the unanswered request (a slow
reply arrives and is drained), sends the request once and throws the answers away (a held-back reply comes out
there), then sends it again. Real DALY A5 simulator over loopback TCP, scripted faults.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.faults import Delivery, FaultInjector, FaultPlan, serve_faulty_tcp
from vendor_plugins.daly import table as t
from vendor_plugins.daly.session_a5 import A5Reader
from vendor_plugins.daly.simulator import A5Simulator
from vendor_plugins.daly.simulator_state import DalyState
from vendor_plugins.errors import BmsError, DeviceTimeout
from vendor_plugins.transports.base import LateReplyPolicy
from vendor_plugins.transports.tcp import TcpLink

TIMEOUT = 0.1
PLANS = {None: FaultPlan(), "late": FaultPlan(late=1.0), "drop": FaultPlan(drop=1.0)}


class ScriptedInjector(FaultInjector):
    """Faults in a fixed order: the n-th reply gets ``script[n]`` (``None``: clean; clean after the script)."""

    def __init__(self, script: list[str | None]) -> None:
        super().__init__(FaultPlan(), seed=0)
        self.script = list(script)

    def plan_reply(self, reply: bytes, *, ble: bool = False) -> Delivery:
        kind = self.script.pop(0) if self.script else None
        self.plan = PLANS[kind] if kind != "delay" else FaultPlan(delay=1.0, delay_seconds=TIMEOUT * 1.5)
        return super().plan_reply(reply, ble=ble)


async def _second_read(policy: LateReplyPolicy, script: list[str | None]) -> tuple[float | BmsError, float, int]:
    """Read 0x90 (faulted), change the pack, read 0x90 again: (voltage or error, seconds it took, flushes)."""
    sim = A5Simulator(DalyState(voltage=50.0, cell_voltages=[3.3] * 16))
    server = await serve_faulty_tcp(sim, ScriptedInjector(script))
    link = TcpLink(server.host, server.port, timeout=TIMEOUT)
    link.late_reply_policy = policy
    reader = A5Reader(link, t.HOST_UART_BLE)
    try:
        with pytest.raises(DeviceTimeout):
            await reader.read_fields(t.CMD_PACK)
        sim.state.voltage = 55.5  # the pack moves on: an answer saying 50.0 V now is stale
        began = time.monotonic()
        try:
            result: float | BmsError = (await reader.read_fields(t.CMD_PACK))["voltage"] / 10
        except BmsError as err:
            result = err
        return result, time.monotonic() - began, link.late_reply_flushes
    finally:
        await link.close()
        await server.close()


@pytest.mark.parametrize("first", ["late", "delay"])
async def test_without_protection_the_late_reply_is_returned_when_the_repeat_is_lost(first: str) -> None:
    """The double fault the soak counted as stale, with the protection off: what ``flush`` prevents (below)."""
    result, _, flushes = await _second_read("off", [first, "drop"])
    assert result == 50.0
    assert flushes == 0


@pytest.mark.parametrize("first", ["late", "delay"])
async def test_flush_policy_never_returns_the_late_reply(first: str) -> None:
    """Same faults with ``flush``: the fresh value (the repeat after the flush is clean here) or an error."""
    result, took, flushes = await _second_read("flush", [first, "drop"])
    assert result != 50.0
    if first == "late":  # the held reply came out on the flush, whose own reply was lost: the next one answers
        assert result == 55.5
        assert flushes == 1
    else:  # the slow reply arrived during the horizon and was drained; the flush's own reply was lost: no answer
        assert isinstance(result, DeviceTimeout)
    assert took < 2 * TIMEOUT + 4 * TIMEOUT  # horizon + flush + exchange, within bounds


@pytest.mark.parametrize("policy", ["off", "flush"])
async def test_after_a_single_lost_reply_the_next_read_answers(policy: LateReplyPolicy) -> None:
    """The price of ``flush`` after one lost reply: one more round trip and the rest of the horizon, not a failure."""
    result, took, flushes = await _second_read(policy, ["drop"])
    assert result == 55.5
    assert flushes == (1 if policy == "flush" else 0)
    assert took < 3 * TIMEOUT


async def test_three_faults_in_a_row_are_still_out_of_reach_by_design() -> None:
    """What remains: the held reply, the flush's reply held back too, the repeat's reply lost — the flush's held
    reply (of *this* read, so not stale) answers. The stale one never does; the value is the one served by the flush.
    """
    result, _, _ = await _second_read("flush", ["late", "late", "drop"])
    assert result == 55.5


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([None, "late", "delay", "drop"]), min_size=6, max_size=6))
async def test_flush_never_returns_an_answer_of_an_earlier_read(script: list[str | None]) -> None:
    """Any sequence of late, slow and lost replies over three reads: a read answers with its own value or fails."""
    sim = A5Simulator(DalyState(voltage=50.0, cell_voltages=[3.3] * 16))
    server = await serve_faulty_tcp(sim, ScriptedInjector(script))
    link = TcpLink(server.host, server.port, timeout=TIMEOUT)
    reader = A5Reader(link, t.HOST_UART_BLE)
    try:
        for n in range(3):
            sim.state.voltage = 50.0 + n
            try:
                volts = (await reader.read_fields(t.CMD_PACK))["voltage"] / 10
            except BmsError:
                continue
            assert volts == 50.0 + n, f"read {n} answered with the value of read {volts - 50.0:g} ({script})"
    finally:
        await link.close()
        await server.close()
