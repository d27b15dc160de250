"""PACEEX regression: a late reply to one pack's request is never taken for another pack's answer.

PACEEX replies name their record type but not the pack (``9A | 00 00 0A 01 00 00 | len | data | CRC | 9D`` for every
pack of a bank), so a 0x0A01 reply for pack 2 that arrives after its exchange timed out is byte for byte a plausible
answer to the 0x0A01 request for pack 3 sent next. The reliability rigs' ``late`` fault (``tests/support/faults.py``:
the reply is held back and delivered just after the next request, before that request's own answer) did exactly
that: pack 3 was shown with pack 2's values. Here the fault is scripted, not drawn, so the test is deterministic.
"""

from __future__ import annotations

import pytest

from tests.support.faults import FaultInjector, FaultPlan, FaultyBleClient
from vendor_plugins.connect import BleAccess, LinkSettings, open_link
from vendor_plugins.errors import DeviceTimeout
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.pace import table_paceex as t
from vendor_plugins.pace.plugin import PLUGIN
from vendor_plugins.pace.session_paceex import PaceexSession
from vendor_plugins.pace.simulator_paceex import PaceexSimulator, image_of
from vendor_plugins.pace.simulator_state import initial_state

ADDRESS = "28:BB:ED:01:89:2E"
TIMEOUT = 0.3


class ScriptedInjector(FaultInjector):
    """Holds back (``late``) exactly the replies numbered in ``late`` (1-based, in the order they are answered)."""

    def __init__(self, late: set[int]) -> None:
        super().__init__(FaultPlan(late=1.0))
        self.late = late

    def _choose(self) -> str | None:
        return "late" if self.replies in self.late else None


def bank() -> PaceexSimulator:
    """A master with three packs whose values all differ (so a mix-up shows)."""
    images = {n: image_of(initial_state(n, n)) for n in (1, 2, 3)}
    for n, img in images.items():
        img.current = round(-2.5 * n, 2)
        img.soc = 40 + 10 * n
        img.cycles = 100 * n
    return PaceexSimulator(images, empty_for_absent=True)


def _session(injector: FaultInjector, sim: PaceexSimulator) -> PaceexSession:
    access = BleAccess(device=ADDRESS, client_factory=lambda: FaultyBleClient(sim, t.BLE_PROFILE, injector))
    link = open_link(LinkSettings.ble(ADDRESS, timeout=TIMEOUT), PLUGIN, None, ble=access)
    session = PLUGIN.open_session(link)
    assert isinstance(session, PaceexSession)
    return session


async def reads(late: set[int], packs: list[int]) -> list[BmsSnapshot | Exception]:
    """Read ``packs`` in order over one link whose replies numbered ``late`` come late; what each read gave."""
    sim = bank()
    session = _session(ScriptedInjector(late), sim)
    out: list[BmsSnapshot | Exception] = []
    try:
        for pack in packs:
            try:
                out.append(await session.read(pack))
            except Exception as err:  # the test records what each read gave
                out.append(err)
    finally:
        await session.link.close()
    return out


async def clean(pack: int) -> BmsSnapshot:
    (result,) = await reads(set(), [pack])
    assert isinstance(result, BmsSnapshot)
    return result


# Replies are numbered in answer order: 1-3 are pack 1's records (0A01, 0A02, 0A03), 4 is pack 2's 0A01, ...
@pytest.mark.parametrize(
    ("late", "packs"),
    [
        ({4}, [1, 2, 3]),  # pack 2's 0A01 comes late, during pack 3's 0A01
        ({1}, [1, 2]),  # the connected pack's 0A01 comes late, during pack 2's 0A01
        ({4}, [1, 2, 1]),  # pack 2's 0A01 comes late, during pack 1's 0A01 (the next round)
    ],
)
async def test_a_late_reply_for_another_pack_is_never_its_snapshot(late: set[int], packs: list[int]) -> None:
    *_, faulted, result = await reads(late, packs)
    assert isinstance(faulted, DeviceTimeout), faulted  # the held-back reply's own read timed out
    want = await clean(packs[-1])
    if isinstance(result, BmsSnapshot):  # an answer is only acceptable if it is this pack's
        assert (result.current, result.soc, result.cycles) == (want.current, want.soc, want.cycles)
    else:
        assert isinstance(result, DeviceTimeout), result


async def test_after_the_late_reply_is_flushed_every_pack_reads_its_own_values() -> None:
    got = await reads({4}, [1, 2, 3, 1, 2, 3])
    for pack, result in zip((1, 2, 3), got[3:], strict=True):
        want = await clean(pack)
        assert isinstance(result, BmsSnapshot), result
        assert (result.current, result.soc, result.cycles) == (want.current, want.soc, want.cycles)
