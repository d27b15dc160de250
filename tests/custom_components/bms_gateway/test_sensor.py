"""Sensor platform: the entities of a 16-cell pack of every vendor family (snapshotted), and the values they show.

Every cell voltage, the pack values and the temperatures each simulator reports, with their units, device classes
and state classes, as Home Assistant shows them right after set-up (time frozen: the energy meters start at 0).

Every vendor in the registry that ships a simulator, over TCP and a pty: no vendor code here, the expected values come
from the vendor's own session reading the same simulator (the library's tests prove that equals the simulator's
state); the integration must show exactly that (the binary sensors too). Which cell voltages are enabled by default.
Battery power and the energy meters: integrated from a simulated charge/discharge profile, restored after a restart,
valid for Home Assistant's energy dashboard.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.sensor import ATTR_STATE_CLASS, SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    Platform,
    UnitOfEnergy,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_restore_state_shutdown_restart,
    mock_restore_cache_with_extra_data,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.bms_gateway.connection import unique_id
from custom_components.bms_gateway.const import CONF_FAMILY, CONF_PACKS, CONF_VENDOR, DOMAIN, ENABLED_CELLS
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.plugin import LinkKind, VendorPlugin
from vendor_plugins.sim import serve_pty, serve_tcp
from vendor_plugins.transports import Link, SerialLink, TcpLink

from .helpers import (
    SIMULATED_PLUGINS,
    assert_states_match,
    entity_id_of,
    jbd_over_tcp,
    jbd_state,
    setup_entry,
    state_of,
    tcp_entry,
    vendor_simulators,
)
from .packs16 import PACK_IDS, PACKS, START, Pack16, pack_on_platform

POLL = 15  # s, the TCP default


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = POLL) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.parametrize("pack", PACKS, ids=PACK_IDS)
async def test_sensors(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
    pack: Pack16,
) -> None:
    freezer.move_to(START)
    async with pack_on_platform(hass, pack, Platform.SENSOR) as (_, entry):
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


@pytest.mark.parametrize("plugin", SIMULATED_PLUGINS, ids=[p.name for p in SIMULATED_PLUGINS])
@pytest.mark.parametrize("transport", ["tcp", "pty"])
async def test_vendor_states_equal_the_simulated_pack(
    hass: HomeAssistant, plugin: VendorPlugin, transport: str
) -> None:
    """Set up an entry against the running simulator; every entity equals what the vendor session reads."""
    sims, packs = vendor_simulators(plugin)
    if transport == "tcp":
        server = await serve_tcp(sims)
        data = {"link": LinkKind.TCP.value, "host": server.host, "port": server.port}
    else:
        server = await serve_pty(sims)
        data = {"link": LinkKind.SERIAL.value, "device": server.path, "baudrate": 9600}
    try:
        link: Link = (
            TcpLink(data["host"], data["port"], timeout=1.0)
            if transport == "tcp"
            else SerialLink(data["device"], timeout=1.0)
        )
        session = plugin.open_session(link)
        expected = {pack: await session.read(pack) for pack in packs}
        family = session.family
        await link.close()

        data.update({CONF_VENDOR: plugin.name, CONF_FAMILY: family, CONF_PACKS: packs})
        entry = await setup_entry(
            hass, MockConfigEntry(domain=DOMAIN, data=data, unique_id=unique_id(data), title=plugin.title)
        )
        assert entry.state is ConfigEntryState.LOADED
        for pack in packs:
            pack_uid = entry.unique_id if pack is None else f"{entry.unique_id}_{pack}"
            assert assert_states_match(hass, pack_uid, expected[pack]) > 10
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await server.close()


async def test_entity_counts_for_a_16_cell_pack(hass: HomeAssistant) -> None:
    """A 16-cell JBD pack: how many entities exist and how many are enabled by default."""
    sim = JbdSimulator(jbd_state(cells=20))
    async with jbd_over_tcp(hass, sim) as (_, entry):
        entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        cells = [e for e in entries if e.unique_id.endswith("_voltage") and "_cell_" in e.unique_id]
        assert len(cells) == 20
        assert sum(1 for e in cells if e.disabled_by is None) == ENABLED_CELLS
        assert await hass.config_entries.async_unload(entry.entry_id)


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
