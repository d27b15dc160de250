"""Options flow (poll interval, control, per-cell entities) and reconfigure flow (new connection, same entities)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import entity_registry as er

from custom_components.bms_gateway.const import DOMAIN
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.sim import serve_pty, serve_tcp

from .helpers import (
    ble_entry,
    entity_id_of,
    finish_reconfigure,
    jbd_state,
    serial_entry,
    setup_entry,
    state_of,
    tcp_entry,
)


async def test_options_defaults_bounds_and_effects(hass: HomeAssistant) -> None:
    sim = JbdSimulator(jbd_state(cells=20))
    async with await serve_tcp(sim) as server:
        entry = tcp_entry(server.host, server.port)
        await setup_entry(hass, entry)
        assert entry.runtime_data.update_interval == timedelta(seconds=15)
        registry = er.async_get(hass)
        switches = [e for e in er.async_entries_for_config_entry(registry, entry.entry_id) if e.domain == "switch"]
        assert not switches

        result = await hass.config_entries.options.async_init(entry.entry_id)
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "init"
        schema = result["data_schema"]
        defaults = {str(key): key.default() for key in schema.schema if hasattr(key, "default")}
        assert defaults["scan_interval"] == 15
        assert defaults["control"] is False  # off unless the user enables it
        assert defaults["cell_entities"] == "default"
        assert result["description_placeholders"] == {"default_interval": "15", "min": "5", "max": "600"}
        with pytest.raises(InvalidData):
            await hass.config_entries.options.async_configure(
                result["flow_id"],
                {"scan_interval": 2, "control": False, "cell_entities": "default", "cell_balancing_entities": False},
            )
        # A fraction of a second passes the number box but not the library's check: a translated field error.
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {"scan_interval": 7.5, "control": True, "cell_entities": "all", "cell_balancing_entities": True},
        )
        assert result["type"] is FlowResultType.FORM and result["errors"] == {"scan_interval": "bad_scan_interval"}
        assert entry.options == {}
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {"scan_interval": 30, "control": True, "cell_entities": "all", "cell_balancing_entities": True},
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.options == {
            "scan_interval": 30,
            "control": True,
            "cell_entities": "all",
            "cell_balancing_entities": True,
        }
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data.update_interval == timedelta(seconds=30)
        assert entry.runtime_data.session.options.control_enabled is True
        entries = er.async_entries_for_config_entry(registry, entry.entry_id)
        assert sorted(e.unique_id.rsplit("_", 3)[-3] for e in entries if e.domain == "switch") == [
            "charge",
            "discharge",
        ]
        cell_20 = registry.async_get(entity_id_of(hass, entry.unique_id, "cell_20_voltage"))
        assert cell_20.disabled_by is None
        balancing = registry.async_get(entity_id_of(hass, entry.unique_id, "cell_3_balancing", "binary_sensor"))
        assert balancing.disabled_by is None

        # Back to defaults: control off removes the switches, cells beyond 16 are disabled again.
        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {"scan_interval": 15, "control": False, "cell_entities": "none", "cell_balancing_entities": False},
        )
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.runtime_data.session.options.control_enabled is False
        entries = er.async_entries_for_config_entry(registry, entry.entry_id)
        assert not [e for e in entries if e.domain == "switch"]  # removed, not left unavailable
        assert not hass.states.async_entity_ids("switch")
        cell_1 = registry.async_get(entity_id_of(hass, entry.unique_id, "cell_1_voltage"))
        assert cell_1.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert not [w for w in sim.requests if w[1] == 0x5A], "changing options never writes to the pack"
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_ble_default_poll_interval_is_longer(hass: HomeAssistant) -> None:
    """The options form proposes the default of the entry's link kind (not set up: only the form is shown)."""
    entry = ble_entry("A4:C1:38:00:00:09")
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["description_placeholders"]["default_interval"] == "30"


async def test_reconfigure_tcp_keeps_entities(hass: HomeAssistant) -> None:
    sim = JbdSimulator(jbd_state(cells=4))
    async with await serve_tcp(sim) as old, await serve_tcp(sim) as new:
        entry = tcp_entry(old.host, old.port)
        await setup_entry(hass, entry)
        old_uid = entry.unique_id
        voltage = entity_id_of(hass, old_uid, "voltage")
        count = len(er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id))

        result = await entry.start_reconfigure_flow(hass)
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "reconfigure"
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": "not valid::"})
        assert result["errors"] == {"host": "bad_host"}
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": "127.0.0.1:0"})
        assert result["errors"] == {"host": "bad_port"}
        await finish_reconfigure(hass, result["flow_id"], old, new)

        assert entry.unique_id == f"tcp:127.0.0.1:{new.port}"
        assert entry.data["port"] == new.port
        assert entry.title == f"JBD 127.0.0.1:{new.port}"
        assert entry.state is ConfigEntryState.LOADED
        assert entity_id_of(hass, entry.unique_id, "voltage") == voltage  # same entity, history kept
        assert len(er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)) == count
        assert float(state_of(hass, entry.unique_id, "voltage")) == round(sum(sim.state.cell_voltages), 2)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_serial_and_already_configured(hass: HomeAssistant) -> None:
    sim = JbdSimulator(jbd_state(cells=4))
    async with await serve_pty(sim) as first, await serve_pty(JbdSimulator(jbd_state(cells=4))) as second:
        entry = serial_entry(first.path)
        await setup_entry(hass, entry)
        other = serial_entry(second.path)
        other.add_to_hass(hass)
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"device": "pts/9", "baudrate": "9700"}
        )
        assert result["errors"] == {"device": "bad_serial_device", "baudrate": "bad_baudrate"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"device": second.path, "baudrate": "9600"}
        )
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"
        await hass.config_entries.async_remove(other.entry_id)
        cycles = entity_id_of(hass, entry.unique_id, "cycles")
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"device": second.path, "baudrate": "9600"}
        )
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.unique_id == f"serial:{second.path}"
        assert entity_id_of(hass, entry.unique_id, "cycles") == cycles
        assert entry.state is ConfigEntryState.LOADED
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_bluetooth_is_not_offered(hass: HomeAssistant) -> None:
    entry = ble_entry("A4:C1:38:00:00:08")
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_ble"
