"""Set-up, polling, unload and reload against running simulators (TCP loopback, a pty, Bluetooth).

What a set-up entry shows (states, translated names, devices), how many entities a pack gets, set-up errors and
retries. The packs' availability while the entry runs is the coordinator's (``test_coordinator.py``).
"""

from __future__ import annotations

import asyncio

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from custom_components.bms_gateway.const import DOMAIN, ENABLED_CELLS
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.model import Alarm
from vendor_plugins.sim import serve_pty, serve_tcp

from .helpers import (
    BLE_ADDRESS,
    BLE_NAME,
    JBD_SERVICE,
    FakeRemoteScanner,
    ble_entry,
    closed_port,
    entity_id_of,
    jbd_over_tcp,
    jbd_state,
    serial_entry,
    setup_entry,
    state_of,
    tcp_entry,
    tick,
)

#: What a 16-cell JBD pack creates (README): every entity, and those enabled by default.
ENTITIES_16_CELLS = 70
ENABLED_16_CELLS = 54


async def test_tcp_states_equal_simulator_and_follow_changes(hass: HomeAssistant) -> None:
    """Every value the simulated pack reports appears as an entity state; changes arrive on the next poll."""
    sim = JbdSimulator(jbd_state())
    server = await serve_tcp(sim)
    entry = tcp_entry(server.host, server.port)
    entry.add_to_hass(hass)
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        uid = entry.unique_id
        state = sim.state
        voltage = round(sum(state.cell_voltages), 2)
        assert float(state_of(hass, uid, "voltage")) == voltage
        assert float(state_of(hass, uid, "current")) == -12.34
        assert float(state_of(hass, uid, "power")) == pytest.approx(voltage * -12.34, abs=0.01)
        assert float(state_of(hass, uid, "soc")) == 75  # 150.5 / 200
        assert float(state_of(hass, uid, "remaining_capacity")) == 150.5
        assert float(state_of(hass, uid, "design_capacity")) == 200.0
        assert float(state_of(hass, uid, "stored_energy")) == pytest.approx(150.5 * voltage, abs=0.01)
        assert int(state_of(hass, uid, "cycles")) == 321
        for i in range(ENABLED_CELLS):
            assert float(state_of(hass, uid, f"cell_{i + 1}_voltage")) == state.cell_voltages[i]
        assert float(state_of(hass, uid, "cell_min")) == min(state.cell_voltages)
        assert float(state_of(hass, uid, "cell_max")) == max(state.cell_voltages)
        assert float(state_of(hass, uid, "cell_delta")) == pytest.approx(0.015)
        for i, celsius in enumerate(state.temperatures, 1):
            assert float(state_of(hass, uid, f"temperature_cell_{i}")) == celsius
        assert state_of(hass, uid, "charging", "binary_sensor") == STATE_OFF
        assert state_of(hass, uid, "discharging", "binary_sensor") == STATE_ON
        assert state_of(hass, uid, "charge_mosfet", "binary_sensor") == STATE_ON
        assert state_of(hass, uid, "discharge_mosfet", "binary_sensor") == STATE_ON
        assert state_of(hass, uid, "balancing", "binary_sensor") == STATE_ON
        assert state_of(hass, uid, "alarm_cell_overvoltage", "binary_sensor") == STATE_OFF

        # Translated names, placeholders filled in; the device is named by the pack's model (which starts with its
        # vendor), never by the address of its connection.
        title = state.model
        assert "127.0.0.1" not in title
        names = {
            key: hass.states.get(entity_id_of(hass, uid, key, platform)).attributes["friendly_name"]
            for key, platform in (
                ("cell_7_voltage", "sensor"),
                ("temperature_cell_2", "sensor"),
                ("soc", "sensor"),
                ("alarm_short_circuit", "binary_sensor"),
            )
        }
        assert names == {
            "cell_7_voltage": f"{title} Cell 7 voltage",
            "temperature_cell_2": f"{title} Cell temperature 2",
            "soc": f"{title} State of charge",
            "alarm_short_circuit": f"{title} Short circuit",
        }

        # Device: one per pack; a single pack behind a bridge has no (empty) parent device.
        devices = dr.async_get(hass)
        by_id = {
            ident: d for d in dr.async_entries_for_config_entry(devices, entry.entry_id) for ident in d.identifiers
        }
        assert set(by_id) == {(DOMAIN, uid)}
        pack = by_id[(DOMAIN, uid)]
        assert pack.via_device_id is None
        assert pack.name == state.model
        assert pack.model == state.model
        assert pack.sw_version == "8.0"

        # The simulator changes; the next poll brings the new values.
        state.current = 5.5
        state.cell_voltages[3] = 3.456
        state.alarms = {Alarm.CELL_OVERVOLTAGE}
        await tick(hass)
        assert float(state_of(hass, uid, "current")) == 5.5
        assert float(state_of(hass, uid, "cell_4_voltage")) == 3.456
        assert state_of(hass, uid, "charging", "binary_sensor") == STATE_ON
        assert state_of(hass, uid, "alarm_cell_overvoltage", "binary_sensor") == STATE_ON
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await server.close()


async def test_pty_serial_port_setup_unload_and_reload(hass: HomeAssistant) -> None:
    """The same pack on a virtual serial port; unload closes the port, reload reopens it."""
    sim = JbdSimulator(jbd_state(cells=8))
    async with await serve_pty(sim) as server:
        entry = await setup_entry(hass, serial_entry(server.path))
        uid = entry.unique_id
        assert float(state_of(hass, uid, "cell_8_voltage")) == sim.state.cell_voltages[7]
        assert float(state_of(hass, uid, "temperature_cell_3")) == 21.2
        link = entry.runtime_data.link
        assert link.connected

        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert not link.connected  # the old link was closed
        new_link = entry.runtime_data.link
        assert new_link is not link and new_link.connected
        sim.state.cycles = 400
        await tick(hass)
        assert int(state_of(hass, uid, "cycles")) == 400

        assert await hass.config_entries.async_unload(entry.entry_id)
        assert entry.state is ConfigEntryState.NOT_LOADED
        assert not new_link.connected
        assert hass.states.get(entity_id_of(hass, uid, "voltage")).state == STATE_UNAVAILABLE


async def test_unload_closes_tcp_link(hass: HomeAssistant) -> None:
    """After unload the bridge sees no open connection."""
    sim = JbdSimulator(jbd_state())
    async with jbd_over_tcp(hass, sim) as (server, entry):
        assert len(server.clients) == 1
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        for _ in range(5):
            await asyncio.sleep(0)
        assert not server.clients


async def test_not_ready_when_unreachable(hass: HomeAssistant) -> None:
    """Nothing listening: the entry retries later (ConfigEntryNotReady)."""
    entry = tcp_entry("127.0.0.1", await closed_port())
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_unknown_vendor_is_a_setup_error(hass: HomeAssistant) -> None:
    """An entry whose vendor plugin was uninstalled fails with a translated error, no retry loop."""
    entry = tcp_entry("127.0.0.1", 1, vendor="gone")
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR


async def test_16_cell_pack_totals(hass: HomeAssistant) -> None:
    """The numbers the README quotes."""
    sim = JbdSimulator(jbd_state(cells=16))
    async with jbd_over_tcp(hass, sim) as (_, entry):
        entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        enabled = [e for e in entries if e.disabled_by is None]
        print(f"16-cell JBD pack: {len(entries)} entities, {len(enabled)} enabled by default")
        assert (len(entries), len(enabled)) == (ENTITIES_16_CELLS, ENABLED_16_CELLS)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_names_in_spanish(hass: HomeAssistant) -> None:
    """With Home Assistant set to Spanish the entity names come from es.json."""
    hass.config.language = "es"
    sim = JbdSimulator(jbd_state(cells=4))
    async with jbd_over_tcp(hass, sim) as (_, entry):
        uid = entry.unique_id
        cell = hass.states.get(entity_id_of(hass, uid, "cell_3_voltage"))
        alarm = hass.states.get(entity_id_of(hass, uid, "alarm_cell_overvoltage", "binary_sensor"))
        device = sim.state.model  # the device's name: the pack's model
        assert cell.attributes["friendly_name"] == f"{device} Tensión de la celda 3"
        assert alarm.attributes["friendly_name"] == f"{device} Sobretensión de celda"
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_setup_not_ready_until_device_is_seen(
    hass: HomeAssistant, scanner: FakeRemoteScanner, ble_sim: JbdSimulator
) -> None:
    """No advertisement yet: retry later; once Home Assistant sees the device, setup succeeds."""
    entry = ble_entry(BLE_ADDRESS)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    scanner.inject(BLE_ADDRESS, BLE_NAME, [JBD_SERVICE])
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await hass.config_entries.async_reload(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    await hass.config_entries.async_unload(entry.entry_id)
