"""Property: over faulty TCP, pty and fake-BLE wires, a session never returns a wrong snapshot, and recovers.

Each simulator's state moves on before every request and every reply it serves is recorded
(:mod:`tests.support.truth`); a snapshot is right iff a fresh session rebuilds it exactly, field by field, from
clean replies served during that same read. With single faults (each faulty reply followed by 10 clean ones, so the
repeat of the faulted request is clean) that must hold for every snapshot, late answers included; failures must be
``BmsError`` subclasses, no read may hang, and once the faults stop the very next poll must succeed. Double faults
(a late reply whose repeat is lost too) are measured, not asserted, by ``benchmarks/soak.py``.
"""

from __future__ import annotations

import os

import pytest

from tests.support.faults import REPLY_FAULTS, Delivery, FaultInjector, FaultPlan
from tests.support.rigs import TARGETS, Rig
from vendor_plugins.model import BmsSnapshot

TIMEOUT = 0.25  # generous: a loaded CI machine must not turn a genuine reply into an unplanned late one
CASES = [(name, transport) for name, target in TARGETS.items() for transport in target.transports]
#: Reads per case (each read of a PACE bus rig reads 3 packs); ``RELIABILITY_SCALE=10`` runs ten times as many.
SCALE = int(os.environ.get("RELIABILITY_SCALE", "1"))
POLLS = {"pace-ascii": 10, "daly-a5": 20}


def _plan(rate: float, *, clean_after: int = 10) -> FaultPlan:
    return FaultPlan.uniform(
        rate,
        kinds=(*REPLY_FAULTS, "split"),
        delay_seconds=TIMEOUT * 1.5,
        refuse_seconds=TIMEOUT,
        clean_after=clean_after,
    )


@pytest.mark.parametrize(("name", "transport"), CASES)
async def test_no_wrong_snapshot_under_faults_and_recovery(name: str, transport: str) -> None:
    async with Rig(TARGETS[name], transport, _plan(0.5), seed=sum(map(ord, name + transport)), timeout=TIMEOUT) as rig:
        for _ in range(SCALE * POLLS.get(name, 30)):
            await rig.poll()
        tally = rig.tally
        assert tally.escaped == 0, tally.escaped_details
        assert tally.hangs == 0
        assert tally.wrong == 0, tally.wrong_details
        assert tally.stale == 0, tally.wrong_details
        assert sum(rig.injector.counts.values()) > 0
        await rig.calm()
        recovered = await rig.poll()
        assert all(isinstance(r, BmsSnapshot) for r in recovered), recovered
        assert rig.tally.wrong == 0
        assert tally.ok > 0


def test_every_fault_kind_is_drawn_and_logged() -> None:
    """The plan used above really draws every kind (``ble_drop`` only on BLE), seeded and logged."""
    injector = FaultInjector(_plan(0.6), seed=3)
    twin = FaultInjector(_plan(0.6), seed=3)
    reply = bytes(range(40))
    deliveries = [injector.plan_reply(reply, ble=True) for _ in range(400)]
    assert set(REPLY_FAULTS) | {"split"} <= set(injector.counts)
    assert [twin.plan_reply(reply, ble=True) for _ in range(400)] == deliveries
    assert len(injector.log) == sum(injector.counts.values())
    assert any(d.hold == reply for d in deliveries)  # late: held back whole
    assert all(
        not d.pieces or len(b"".join(p for _, p in d.pieces)) in (38, 39, 40, 41) or d.disconnect for d in deliveries
    )


def test_a_disabled_injector_delivers_cleanly() -> None:
    injector = FaultInjector(_plan(1.0), seed=1)
    injector.enabled = False
    assert injector.plan_reply(b"abc") == Delivery([(0.0, b"abc")])
    assert not injector.log
