"""Device names as owners think of their batteries (issue 17): never the address of the connection.

A single pack is named by its vendor and model, or by the name typed into the config flow, and has no parent device;
the packs of a bus are ``<vendor or name> pack N`` under one bus device whose model line says where the bus is
connected. An entry of an older version (devices named by address, an empty bridge device next to a single pack)
gets the new names on set-up, loses the empty bridge device and keeps its entity ids. The model line is shown for
every vendor: a pack that reports no model is described by what it does report.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from custom_components.bms_gateway import probing
from custom_components.bms_gateway.const import DOMAIN
from custom_components.bms_gateway.entity import model_line
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.model import DeviceInfo
from vendor_plugins.plugin import SimulatorOptions
from vendor_plugins.registry import default_registry
from vendor_plugins.sim import SimServer, serve_tcp

from .helpers import bus_simulators, jbd_over_tcp, jbd_state, pace_bus_over_tcp, refresh, silence, tcp_entry

#: An IPv4 address or a ``:port``: what no device name may contain.
_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+|:\d+")


@pytest.fixture(autouse=True)
def _short_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probing, "SCAN_TIMEOUT", 0.2)
    monkeypatch.setattr(probing, "FLOW_TIMEOUT", 0.3)


@pytest.fixture
async def pace_bus() -> AsyncIterator[SimServer]:
    """Two PACE packs (addresses 1 and 2) on one bus behind a TCP bridge."""
    plugin = default_registry().get("pace")
    sims = [plugin.create_simulator(SimulatorOptions(profile="static", seed=a, address=a)) for a in (1, 2)]
    async with await serve_tcp(sims) as server:
        yield server


async def _flow(hass: HomeAssistant, port: int, vendor: str, name: str | None = None) -> config_entries.ConfigEntry:
    """The user's path through the TCP form (with ``name`` typed in when given) to a created entry."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "tcp"})
    assert {str(key) for key in result["data_schema"].schema} == {"host", "name"}
    typed = {"host": f"127.0.0.1:{port}"} | ({"name": name} if name is not None else {})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], typed)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": vendor})
    if result["type"] is FlowResultType.FORM and result["step_id"] == "packs":
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"packs": ["1", "2"]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry: config_entries.ConfigEntry = result["result"]
    return entry


def _devices(hass: HomeAssistant, entry: config_entries.ConfigEntry) -> dict[str, dr.DeviceEntry]:
    return {str(d.name): d for d in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)}


async def test_single_pack_is_vendor_and_model_without_parent(hass: HomeAssistant) -> None:
    sim = JbdSimulator(jbd_state(cells=4))
    async with await serve_tcp(sim) as server:
        entry = await _flow(hass, server.port, "jbd")
        devices = _devices(hass, entry)
        assert list(devices) == [sim.state.model]  # the model already starts with the vendor: not "JBD JBD-..."
        (pack,) = devices.values()
        assert pack.via_device_id is None and pack.model == sim.state.model and pack.manufacturer == "JBD"
        assert "name" not in entry.data and entry.title == f"JBD 127.0.0.1:{server.port}"  # the entry: a connection
        await hass.config_entries.async_unload(entry.entry_id)


async def test_a_typed_name_names_the_entry_and_the_device(hass: HomeAssistant) -> None:
    async with await serve_tcp(JbdSimulator(jbd_state(cells=4))) as server:
        entry = await _flow(hass, server.port, "jbd", name="  Garage\nwall battery ")
        assert entry.data["name"] == "Garage wall battery"  # one clean line
        assert entry.title == "Garage wall battery"
        assert list(_devices(hass, entry)) == ["Garage wall battery"]
        voltage = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_voltage")
        assert voltage == "sensor.garage_wall_battery_voltage"
        await hass.config_entries.async_unload(entry.entry_id)


async def test_bus_packs_are_numbered_under_a_bus_device_that_says_where(
    hass: HomeAssistant, pace_bus: SimServer
) -> None:
    entry = await _flow(hass, pace_bus.port, "pace")
    devices = _devices(hass, entry)
    assert sorted(devices) == ["PACE bus", "PACE pack 1", "PACE pack 2"]
    bus = devices["PACE bus"]
    assert devices["PACE pack 1"].via_device_id == bus.id and devices["PACE pack 2"].via_device_id == bus.id
    assert bus.model == f"RS485 bus via a network bridge at 127.0.0.1:{pace_bus.port}"  # the connection lives here
    for name in devices:
        assert not _ADDRESS.search(name), name
    entities = er.async_entries_for_device(er.async_get(hass), devices["PACE pack 1"].id)
    assert "sensor.pace_pack_1_voltage" in {e.entity_id for e in entities}
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_named_bus(hass: HomeAssistant, pace_bus: SimServer) -> None:
    entry = await _flow(hass, pace_bus.port, "pace", name="Rack")
    assert sorted(_devices(hass, entry)) == ["Rack", "Rack pack 1", "Rack pack 2"]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_an_older_entry_gets_new_names_keeps_entity_ids_and_loses_the_empty_bridge(hass: HomeAssistant) -> None:
    """Names by address and a bridge device, as older versions made them: renamed, ids kept, bridge removed."""
    sim = JbdSimulator(jbd_state(cells=4))
    async with await serve_tcp(sim) as server:
        entry = tcp_entry("127.0.0.1", server.port)
        entry.add_to_hass(hass)
        old_name = f"JBD 127.0.0.1:{server.port}"
        devices, entities = dr.async_get(hass), er.async_get(hass)
        bridge = devices.async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={(DOMAIN, f"{entry.unique_id}_bus")},
            name=f"127.0.0.1:{server.port}",
            model="TCP bridge",
        )
        pack = devices.async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={(DOMAIN, str(entry.unique_id))},
            name=old_name,
            via_device=(DOMAIN, f"{entry.unique_id}_bus"),
        )
        old_id = f"sensor.jbd_127_0_0_1_{server.port}_voltage"
        entities.async_get_or_create(
            "sensor",
            DOMAIN,
            f"{entry.unique_id}_voltage",
            config_entry=entry,
            device_id=pack.id,
            suggested_object_id=old_id.removeprefix("sensor."),
        )
        assert entities.async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_voltage") == old_id
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert devices.async_get(bridge.id) is None  # the empty bridge device is gone
        renamed = devices.async_get(pack.id)
        assert renamed is not None and renamed.name == sim.state.model and renamed.via_device_id is None
        assert entities.async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_voltage") == old_id
        assert hass.states.get(old_id) is not None
        assert hass.states.get(old_id).attributes["friendly_name"] == f"{sim.state.model} Voltage"
        await hass.config_entries.async_unload(entry.entry_id)


async def test_a_name_the_user_gave_the_device_wins(hass: HomeAssistant) -> None:
    async with jbd_over_tcp(hass, JbdSimulator(jbd_state(cells=4))) as (_, entry):
        devices = dr.async_get(hass)
        (device,) = dr.async_entries_for_config_entry(devices, entry.entry_id)
        devices.async_update_device(device.id, name_by_user="Shed")
        assert await hass.config_entries.async_reload(entry.entry_id)
        device = devices.async_get(device.id)
        assert device is not None and device.name_by_user == "Shed"
        await hass.config_entries.async_unload(entry.entry_id)


async def test_the_bus_device_counts_the_packs_answering(hass: HomeAssistant) -> None:
    """The bus device is not empty: its sensor says how many of its packs answered the last poll."""
    sims = bus_simulators((1, 2, 3))
    async with pace_bus_over_tcp(hass, sims, [1, 2, 3]) as (_, entry):
        devices = dr.async_get(hass)
        bus = devices.async_get_device_by_identifier((DOMAIN, f"{entry.unique_id}_bus"), entry.entry_id)
        assert bus is not None
        (sensor,) = er.async_entries_for_device(er.async_get(hass), bus.id)
        assert sensor.unique_id == f"{entry.unique_id}_bus_packs_answering"
        state = hass.states.get(sensor.entity_id)
        assert state is not None and state.state == "3" and state.attributes["packs"] == 3
        silence(sims[1])
        await refresh(hass, entry)
        state = hass.states.get(sensor.entity_id)
        assert state is not None and state.state == "2"
        await hass.config_entries.async_unload(entry.entry_id)


async def test_a_single_pack_has_no_bus_sensor(hass: HomeAssistant) -> None:
    async with jbd_over_tcp(hass, JbdSimulator(jbd_state(cells=4))) as (_, entry):
        ids = [e.unique_id for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)]
        assert not any(uid.endswith("packs_answering") for uid in ids)
        await hass.config_entries.async_unload(entry.entry_id)


def test_model_line_for_a_pack_that_reports_no_model() -> None:
    assert model_line(DeviceInfo(vendor="X", model="SP16S020")) == "SP16S020"
    assert model_line(DeviceInfo(vendor="X", family="d2", cell_count=16)) == "16S BMS, protocol d2"
    assert model_line(DeviceInfo(vendor="X", family="a5")) == "BMS, protocol a5"
    assert model_line(None) is None
