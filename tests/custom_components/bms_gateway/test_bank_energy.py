"""The bank on the Energy dashboard: its meters integrate the bank's power; Home Assistant's validation accepts them.

Two JBD packs (each behind its own TCP bridge, polled on the default interval) in a parallel bank, both charging and
discharging together: the bank's charged / discharged energy equals the sum of the packs' (one run of the same
samples), and Home Assistant's energy-preferences validation finds no issue with the bank's battery power and meters
as a battery source. Bank entities are found by unique id.
"""

from __future__ import annotations

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.bms_gateway.const import DEFAULT_SCAN_INTERVAL
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.sim import serve_tcp

from .bank_helpers import bank_entity_id, bank_entry, bank_state, hub, jbd_tcp_entry, pack_state
from .helpers import jbd_state, setup_entry


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    freezer.tick(DEFAULT_SCAN_INTERVAL)
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_bank_energy_on_the_energy_dashboard(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Bank energy = the packs' energy when they move together; Home Assistant's validation accepts the bank."""
    from homeassistant.components.energy import data as energy_data
    from homeassistant.components.energy.validate import async_validate

    freezer.move_to("2026-12-03 10:00:00+00:00")
    sims = JbdSimulator(jbd_state(cells=4)), JbdSimulator(jbd_state(cells=4))
    async with await serve_tcp(sims[0]) as server_a, await serve_tcp(sims[1]) as server_b:
        pack_a = await setup_entry(hass, jbd_tcp_entry(server_a, entry_id="packa", title="Pack A"))
        pack_b = await setup_entry(hass, jbd_tcp_entry(server_b, entry_id="packb", title="Pack B"))
        bank = await setup_entry(hass, bank_entry(["packa", "packb"]))
        updates = hub(bank).stats["updates"]
        for current in (-12.0, -10.0, 8.0, 9.0, 9.0):
            for sim in sims:
                sim.state.current = current
            await _poll(hass, freezer)
        assert hub(bank).stats["updates"] - updates == 5  # one per round of the two entries
        for direction in ("charged", "discharged"):
            packs = sum(float(pack_state(hass, e, None, f"energy_{direction}")) for e in (pack_a, pack_b))
            assert packs > 0
            assert float(bank_state(hass, f"energy_{direction}").state) == pytest.approx(packs, abs=0.002)

        await async_wait_recording_done(hass)
        do_adhoc_statistics(hass, start=dt_util.parse_datetime("2026-12-03 10:00:00+00:00"))
        await async_wait_recording_done(hass)
        manager = await energy_data.async_get_manager(hass)
        source = {
            "type": "battery",
            "stat_energy_from": bank_entity_id(hass, "energy_discharged"),
            "stat_energy_to": bank_entity_id(hass, "energy_charged"),
            "stat_rate": bank_entity_id(hass, "battery_power"),
        }
        await manager.async_update({"energy_sources": [source]})  # type: ignore[typeddict-item]
        result = (await async_validate(hass)).as_dict()
        assert result["energy_sources"] == [[]], result
        for entry in (bank, pack_b, pack_a):
            assert await hass.config_entries.async_unload(entry.entry_id)
