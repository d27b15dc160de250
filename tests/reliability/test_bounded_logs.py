"""Long runs stay flat: the request logs of simulators and fake BLE clients keep only their most recent entries.

:class:`~vendor_plugins.sim.base.RequestLog` is a real list (tests compare and slice it) that drops its oldest
entries past ``maxlen``; :class:`~vendor_plugins.sim.ble.FakeBleClient` keeps ``writes`` and ``notifications`` in
it, and a reliability :class:`~tests.support.rigs.Rig` swaps every simulator's ``requests`` list for one.
"""

from __future__ import annotations

import pytest

from tests.support.faults import FaultPlan
from tests.support.rigs import TARGETS, Rig
from vendor_plugins.jbd.plugin import PLUGIN as JBD
from vendor_plugins.plugin import SimulatorOptions
from vendor_plugins.sim.base import RequestLog
from vendor_plugins.sim.ble import FakeBleClient
from vendor_plugins.transports.ble import BleLink


def test_request_log_keeps_the_most_recent_entries_and_stays_a_list() -> None:
    log = RequestLog(maxlen=3)
    assert log == []
    for n in range(10):
        log.append(bytes([n]))
        assert len(log) <= 6
    assert log[-3:] == [b"\x07", b"\x08", b"\x09"]
    assert log.total == 10
    log.extend([b"a", b"b"])
    assert log[-2:] == [b"a", b"b"] and log.total == 12
    log.clear()
    assert log == [] and isinstance(log, list)
    assert RequestLog([b"x"] * 9, maxlen=2) == [b"x", b"x"]
    with pytest.raises(ValueError, match="maxlen"):
        RequestLog(maxlen=0)


async def test_fake_ble_client_logs_are_bounded() -> None:
    profile = JBD.ble_profile
    assert profile is not None
    sim = JBD.create_simulator(SimulatorOptions())
    client = FakeBleClient(sim, profile, log_size=4)
    link = BleLink("00:11:22:33:44:55", profile, timeout=0.5, client_factory=lambda: client)
    session = JBD.open_session(link)
    try:
        for _ in range(8):
            await session.read()
    finally:
        await link.close()
    assert client.writes.total >= 16  # type: ignore[attr-defined]
    assert 4 <= len(client.writes) <= 8
    assert 4 <= len(client.notifications) <= 8
    assert client.writes[-1] == client.writes[-3]  # the last read's requests are the newest entries


async def test_rig_bounds_every_simulator_request_list() -> None:
    async with Rig(TARGETS["pace-ascii"], "tcp", FaultPlan(), seed=1, timeout=0.5, max_log=5) as rig:
        for _ in range(6):
            await rig.poll()
        for sim in rig.sims:
            requests = sim.inner.requests  # type: ignore[attr-defined]
            assert isinstance(requests, RequestLog)
            assert requests.total == 12  # 0x42 and 0x44 per read
            assert len(requests) <= 10
