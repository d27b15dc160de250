"""Energy meters and battery power: integrated from a simulated charge/discharge profile, restored, dashboard-valid."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.sensor import ATTR_STATE_CLASS, SensorDeviceClass, SensorStateClass
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, UnitOfEnergy
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    async_mock_restore_state_shutdown_restart,
    mock_restore_cache_with_extra_data,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.bms_gateway.const import DOMAIN
from custom_components.bms_gateway.energy_meters import EnergyMeters
from custom_components.bms_gateway.poll import Poll
from vendor_plugins.errors import DeviceTimeout
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.sim import serve_tcp

from .helpers import entity_id_of, jbd_over_tcp, jbd_state, state_of, tcp_entry

POLL = 15  # s, the TCP default


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = POLL) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_battery_power_is_positive_while_discharging(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    sim = JbdSimulator(jbd_state(cells=4))
    async with jbd_over_tcp(hass, sim) as (_, entry):
        uid = entry.unique_id
        power = float(state_of(hass, uid, "power"))
        assert power < 0  # the model: + = charging; the pack discharges 12.34 A
        assert float(state_of(hass, uid, "battery_power")) == pytest.approx(-power)
        attrs = hass.states.get(entity_id_of(hass, uid, "battery_power")).attributes
        assert attrs[ATTR_DEVICE_CLASS] == SensorDeviceClass.POWER
        assert attrs[ATTR_STATE_CLASS] == SensorStateClass.MEASUREMENT
        sim.state.current = 5.0
        await _poll(hass, freezer)
        assert float(state_of(hass, uid, "battery_power")) < 0
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_profile_matches_the_analytic_integral_and_survives_a_restart(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """I(t) = 50 A · sin(2πt/1 h) for one hour at a fixed voltage: each half-wave is V·50·T/π W·s."""
    sim = JbdSimulator(jbd_state(cells=4))
    sim.state.current = 0.0
    async with jbd_over_tcp(hass, sim) as (server, entry):
        uid = entry.unique_id
        voltage = float(state_of(hass, uid, "voltage"))
        charged_id = entity_id_of(hass, uid, "energy_charged")
        discharged_id = entity_id_of(hass, uid, "energy_discharged")
        attrs = hass.states.get(charged_id).attributes
        assert attrs[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENERGY
        assert attrs[ATTR_STATE_CLASS] == SensorStateClass.TOTAL_INCREASING
        assert attrs[ATTR_UNIT_OF_MEASUREMENT] == UnitOfEnergy.KILO_WATT_HOUR
        assert float(hass.states.get(charged_id).state) == 0.0

        period = 3600
        for step in range(1, period // POLL + 1):
            sim.state.current = round(50.0 * math.sin(2 * math.pi * step * POLL / period), 2)
            await _poll(hass, freezer)
        half_wave_kwh = voltage * 50.0 * period / math.pi / 3600 / 1000
        charged = float(hass.states.get(charged_id).state)
        discharged = float(hass.states.get(discharged_id).state)
        assert charged == pytest.approx(half_wave_kwh, rel=0.01)
        assert discharged == pytest.approx(half_wave_kwh, rel=0.01)

        # A pack that stops answering: unavailable, and the gap is not bridged.
        sim.state.current = 50.0
        await _poll(hass, freezer)
        before = entry.runtime_data.energy.wh(None, "charged")
        # The link's wait for a late reply after a failed exchange runs on the loop clock, which the frozen time
        # of this test stops: let it not wait.
        link = entry.runtime_data.link
        if hasattr(link, "late_reply_guard"):
            link.late_reply_guard = 0
        await server.close()
        await _poll(hass, freezer)
        assert hass.states.get(charged_id).state == STATE_UNAVAILABLE
        async with await serve_tcp(sim, port=server.port):
            await _poll(hass, freezer, 600)  # 10 minutes away: longer than 4 polls, nothing integrated
            assert entry.runtime_data.energy.wh(None, "charged") == pytest.approx(before)
            await _poll(hass, freezer)
            assert entry.runtime_data.energy.wh(None, "charged") == pytest.approx(before + voltage * 50 * POLL / 3600)

            # Restart: the totals are saved and restored, and keep growing from there.
            charged = float(hass.states.get(charged_id).state)
            assert await hass.config_entries.async_unload(entry.entry_id)
            await async_mock_restore_state_shutdown_restart(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            assert float(hass.states.get(charged_id).state) == pytest.approx(charged)
            await _poll(hass, freezer)
            assert float(hass.states.get(charged_id).state) > charged
            assert float(hass.states.get(discharged_id).state) == pytest.approx(discharged, abs=0.001)
            assert await hass.config_entries.async_unload(entry.entry_id)


async def test_restored_from_the_restore_cache(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """What Home Assistant saved before a restart (mock_restore_cache) is where the meters continue."""
    sim = JbdSimulator(jbd_state(cells=4))
    sim.state.current = -20.0
    async with await serve_tcp(sim) as server:
        entry = tcp_entry(server.host, server.port)
        entry.add_to_hass(hass)
        registry = er.async_get(hass)
        ids = {
            key: registry.async_get_or_create(
                "sensor", DOMAIN, f"{entry.unique_id}_{key}", suggested_object_id=f"pack_{key}", config_entry=entry
            ).entity_id
            for key in ("energy_charged", "energy_discharged")
        }
        mock_restore_cache_with_extra_data(
            hass,
            [
                (State(ids["energy_charged"], "12.5"), {"native_value": 12.5, "native_unit_of_measurement": "kWh"}),
                (State(ids["energy_discharged"], "7.25"), {"native_value": 7.25, "native_unit_of_measurement": "kWh"}),
            ],
        )
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert float(hass.states.get(ids["energy_charged"]).state) == 12.5
        assert float(hass.states.get(ids["energy_discharged"]).state) == 7.25
        for _ in range(4):
            await _poll(hass, freezer)
        voltage = float(state_of(hass, entry.unique_id, "voltage"))
        assert float(hass.states.get(ids["energy_discharged"]).state) == pytest.approx(
            7.25 + voltage * 20 * 4 * POLL / 3600 / 1000, abs=0.001
        )
        assert float(hass.states.get(ids["energy_charged"]).state) == 12.5
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_home_assistant_energy_validation_accepts_the_meters(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Home Assistant's own energy-preferences validation, with these sensors as a battery source: no issues."""
    from homeassistant.components.energy import data as energy_data
    from homeassistant.components.energy.validate import async_validate

    freezer.move_to("2026-11-25 10:00:00+00:00")
    sim = JbdSimulator(jbd_state(cells=4))
    async with jbd_over_tcp(hass, sim) as (_, entry):
        uid = entry.unique_id
        for current in (-12.0, -10.0, 8.0, 9.0):
            sim.state.current = current
            await _poll(hass, freezer)
        await async_wait_recording_done(hass)
        do_adhoc_statistics(hass, start=dt_util.parse_datetime("2026-11-25 10:00:00+00:00"))
        await async_wait_recording_done(hass)

        manager = await energy_data.async_get_manager(hass)
        source = {
            "type": "battery",
            "stat_energy_from": entity_id_of(hass, uid, "energy_discharged"),
            "stat_energy_to": entity_id_of(hass, uid, "energy_charged"),
            "stat_rate": entity_id_of(hass, uid, "battery_power"),
        }
        await manager.async_update({"energy_sources": [source]})  # type: ignore[typeddict-item]
        result = (await async_validate(hass)).as_dict()
        assert result["energy_sources"] == [[]], result
        assert float(state_of(hass, uid, "energy_charged")) > 0
        assert float(state_of(hass, uid, "energy_discharged")) > 0
        assert await hass.config_entries.async_unload(entry.entry_id)


def test_energy_meters_integrate_gap_and_restore() -> None:
    """The one owner of the totals: readings integrate, a silent pack ends the run, restored totals add up."""
    meters = EnergyMeters([None], max_gap=60.0)
    start = dt_util.utcnow()

    def poll(seconds: float, power: float | None) -> Poll:
        when = start + timedelta(seconds=seconds)
        if power is None:
            return Poll(when, {}, {None: DeviceTimeout("silent")}, 1)
        return Poll(when, {None: BmsSnapshot(power=power)}, {}, 0)

    for seconds, power in ((0, 360.0), (10, 360.0), (20, None), (30, 360.0), (40, -720.0)):
        meters.poll_done(poll(seconds, power))
    # 10 s at 360 W (1 Wh); the silent poll ends the run, so 20-30 s counts nothing; then 360 W -> -720 W over 10 s
    # crosses zero after 10/3 s: 360 W / 2 for 10/3 s charged (1/6 Wh), 720 W / 2 for 20/3 s discharged (2/3 Wh).
    assert meters.wh(None, "charged") == pytest.approx(1 + 1 / 6)
    assert meters.wh(None, "discharged") == pytest.approx(2 / 3)
    for bad in (None, "unknown", "nan", "inf", -1.0, 0, [1]):
        meters.restore(None, "charged", bad)
    assert meters.wh(None, "charged") == pytest.approx(1 + 1 / 6)
    meters.restore(None, "charged", "12.5")
    meters.restore(None, "discharged", 7.25)
    assert meters.kwh(None, "charged") == round(12.5 + (1 + 1 / 6) / 1000, 3)
    assert meters.kwh(None, "discharged") == round(7.25 + (2 / 3) / 1000, 3)
    diagnostics = meters.diagnostics(None)
    assert diagnostics is not None and diagnostics["gaps"] == 0
    assert meters.diagnostics(1) is None
