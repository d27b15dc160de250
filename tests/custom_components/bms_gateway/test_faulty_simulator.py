"""The integration against a faulty simulator: no entity ever shows a value the pack did not report in that poll.

A live JBD simulator (state moving on every request, every reply recorded) behind a faulty TCP bridge
(:mod:`tests.support.faults`, single faults of every kind). After each poll, either the pack's entities are
unavailable, or the coordinator's snapshot is one a fresh session rebuilds from clean replies of that very poll and
the entities show exactly its values. Once the faults stop, the next poll brings every entity back.
"""

from __future__ import annotations

from datetime import timedelta

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.bms_gateway.const import DEFAULT_SCAN_INTERVAL
from tests.support.faults import REPLY_FAULTS, FaultInjector, FaultPlan, serve_faulty_tcp
from tests.support.truth import TruthRecorder, is_allowed
from vendor_plugins.jbd.plugin import PLUGIN
from vendor_plugins.jbd.simulator import JbdSimulator

from .helpers import state_of, tcp_entry

KEYS = ("voltage", "current", "remaining_capacity", "cell_1_voltage", "cell_4_voltage", "temperature_cell_1")


def _expected(snapshot: object, key: str) -> float:
    if key.startswith("cell_"):
        return snapshot.cell_voltages[int(key.split("_")[1]) - 1]  # type: ignore[attr-defined]
    if key.startswith("temperature_cell_"):
        return snapshot.temperatures[int(key.rsplit("_", 1)[1]) - 1].celsius  # type: ignore[attr-defined]
    return getattr(snapshot, key)  # type: ignore[no-any-return]


async def test_entities_show_only_this_polls_truth_or_unavailable(hass: HomeAssistant) -> None:
    recorder = TruthRecorder()
    sim = recorder.wrap(JbdSimulator(live=True, seed=5), step=7.0)
    plan = FaultPlan.uniform(
        0.4, kinds=(*REPLY_FAULTS, "split"), delay_seconds=0.15, refuse_seconds=0.1, clean_after=10
    )
    injector = FaultInjector(plan, seed=9)
    injector.enabled = False  # a clean first refresh: set-up itself is not under test here
    server = await serve_faulty_tcp(sim, injector)
    entry = tcp_entry(server.host, server.port)
    entry.add_to_hass(hass)
    now = dt_util.utcnow()
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        coordinator = entry.runtime_data
        coordinator.link.timeout = 0.1
        uid = entry.unique_id
        injector.enabled = True
        shown = unavailable = 0
        for poll in range(1, 31):
            recorder.begin(poll)
            now += DEFAULT_SCAN_INTERVAL + timedelta(seconds=1)
            async_fire_time_changed(hass, now)
            await hass.async_block_till_done(wait_background_tasks=True)
            snapshot = coordinator.snapshot(None)
            if snapshot is None:
                unavailable += 1
                assert all(state_of(hass, uid, key) == STATE_UNAVAILABLE for key in KEYS)
                continue
            shown += 1
            assert await is_allowed(snapshot, PLUGIN.open_session, recorder.answers(poll)), poll
            for key in KEYS:
                assert float(state_of(hass, uid, key)) == _expected(snapshot, key), (poll, key)
        assert shown and unavailable, (shown, unavailable)
        injector.enabled = False
        recorder.begin(100)
        now += DEFAULT_SCAN_INTERVAL + timedelta(seconds=1)
        async_fire_time_changed(hass, now)
        await hass.async_block_till_done(wait_background_tasks=True)
        snapshot = coordinator.snapshot(None)
        assert snapshot is not None
        assert await is_allowed(snapshot, PLUGIN.open_session, recorder.answers(100))
        assert float(state_of(hass, uid, "voltage")) == snapshot.voltage
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await server.close()
