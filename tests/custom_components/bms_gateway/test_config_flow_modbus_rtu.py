"""Config flow for Modbus RTU: on a serial port (a pty) and through a transparent RS485-to-TCP bridge (loopback).

The real PACE Modbus RTU simulator answers on both: the flow scans the unit ids, offers the packs that answer, reads
each chosen pack before the entry is created, and the entry's entities show the simulator's values. Bad input is
refused next to its field, one port or bridge cannot be added twice (not even as another kind of link), reconfigure
moves an RTU entry to another port keeping its entities, and the options offer no control.
"""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from custom_components.bms_gateway import probing
from custom_components.bms_gateway.const import DOMAIN
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.pace.simulator_modbus import PaceRtuSimulator
from vendor_plugins.pace.simulator_state import PaceState
from vendor_plugins.registry import default_registry
from vendor_plugins.sim import serve_pty, serve_tcp
from vendor_plugins.transports.modbus import ModbusLink

from .helpers import (
    assert_states_match,
    entity_id_of,
    finish_reconfigure,
    pace_rtu_entry,
    pace_rtu_tcp_entry,
    serial_entry,
    setup_entry,
    state_of,
    tcp_entry,
)

UNITS = (1, 2, 4)
PACE = default_registry().get("pace")


def _pack(unit: int) -> PaceState:
    """A pack whose values tell the units apart."""
    state = PaceState()
    state.cells = [round(3.310 + 0.002 * unit + 0.0005 * i, 4) for i in range(16)]
    state.cycles = 200 + unit
    state.remaining_capacity = 60.0 + unit
    state.serial_number = f"RTU{unit:02d}"
    return state


def _bus(units: tuple[int, ...] = UNITS) -> list[PaceRtuSimulator]:
    """PACE packs answering Modbus RTU at ``units`` on one RS485 bus."""
    return [PaceRtuSimulator(_pack(unit), unit=unit) for unit in units]


@pytest.fixture(autouse=True)
def _short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """An absent unit costs the scan timeout each: keep it short."""
    monkeypatch.setattr(probing, "SCAN_TIMEOUT", 0.15)
    monkeypatch.setattr(probing, "FLOW_TIMEOUT", 0.5)


async def _start(hass: HomeAssistant, step: str, user_input: dict[str, str] | None = None) -> dict[str, Any]:
    """Open the user flow, choose the Modbus form ``step`` and, if given, submit ``user_input``."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert {"modbus_tcp", "modbus_serial", "modbus_rtu_tcp"} <= set(result["menu_options"])
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": step})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == step
    assert result["description_placeholders"]["units"] == "1-16"  # PACE Modbus units
    if user_input is None:
        return result
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


async def _read(link: ModbusLink, units: tuple[int, ...]) -> dict[int, BmsSnapshot]:
    """What the library itself reads from each unit (what the entities must show)."""
    try:
        session = PACE.open_session(link)
        return {unit: await session.read(unit) for unit in units}
    finally:
        await link.close()


async def test_rtu_on_a_serial_port_finds_the_packs_and_creates_a_working_entry(hass: HomeAssistant) -> None:
    async with await serve_pty(_bus()) as server:
        expected = await _read(ModbusLink.rtu_serial(server.path, 9600, timeout=1.0), (1, 4))
        result = await _start(hass, "modbus_serial")
        fields = {str(key) for key in result["data_schema"].schema}
        assert fields == {"device", "baudrate", "units", "name"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"device": server.path, "baudrate": "9600", "units": "1-6"}
        )
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "packs"  # one Modbus vendor: no choice
        assert result["description_placeholders"]["count"] == "3"
        assert result["description_placeholders"]["where"] == f"modbus-rtu://{server.path}"
        choices = result["data_schema"].schema["packs"].options
        assert sorted(choices) == ["1", "2", "4"]
        assert "RTU04" in choices["4"]  # the pack's own serial number, read over Modbus RTU
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"packs": ["4", "1"]})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == {
            "link": "modbus",
            "modbus_mode": "rtu",
            "device": server.path,
            "baudrate": 9600,
            "vendor": "pace",
            "family": "modbus",
            "packs": [1, 4],
        }
        entry = result["result"]
        assert entry.unique_id == f"modbus-rtu:{server.path}"
        assert entry.title == f"PACE modbus-rtu://{server.path}"
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        # The entry polls the packs over the serial port: every entity shows what the simulator says.
        for unit, snapshot in expected.items():
            assert assert_states_match(hass, f"{entry.unique_id}_{unit}", snapshot) > 20
            assert int(float(state_of(hass, f"{entry.unique_id}_{unit}", "cycles"))) == 200 + unit
        devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        assert len(devices) == 3  # the bus and two packs
        assert not [
            e for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id) if e.domain == "switch"
        ]
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_rtu_through_a_tcp_bridge_finds_the_packs_and_creates_a_working_entry(hass: HomeAssistant) -> None:
    async with await serve_tcp(_bus()) as bridge:
        expected = await _read(ModbusLink.rtu_over_tcp(bridge.host, bridge.port, timeout=1.0), UNITS)
        result = await _start(hass, "modbus_rtu_tcp")
        assert {str(key) for key in result["data_schema"].schema} == {"host", "units", "name"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {"host": f"127.0.0.1:{bridge.port}", "units": ""},  # empty: every unit, 1-16
        )
        assert result["step_id"] == "packs"
        assert sorted(result["data_schema"].schema["packs"].options) == ["1", "2", "4"]
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"packs": ["1", "2", "4"]})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == {
            "link": "modbus",
            "modbus_mode": "rtu-over-tcp",
            "host": "127.0.0.1",
            "port": bridge.port,
            "vendor": "pace",
            "family": "modbus",
            "packs": [1, 2, 4],
        }
        entry = result["result"]
        assert entry.unique_id == f"modbus-rtu-over-tcp:127.0.0.1:{bridge.port}"
        assert entry.title == f"PACE modbus-rtu+tcp://127.0.0.1:{bridge.port}"
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        for unit, snapshot in expected.items():
            assert assert_states_match(hass, f"{entry.unique_id}_{unit}", snapshot) > 20
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({"device": "ttyUSB0", "baudrate": "9600", "units": ""}, {"device": "bad_serial_device"}),
        ({"device": "/dev/", "baudrate": "9600", "units": ""}, {"device": "bad_serial_device"}),
        ({"device": "/dev/ttyUSB0", "baudrate": "9601", "units": ""}, {"baudrate": "bad_baudrate"}),
        ({"device": "/dev/ttyUSB0", "baudrate": "fast", "units": ""}, {"baudrate": "bad_baudrate"}),
        ({"device": "/dev/ttyUSB0", "baudrate": "9600", "units": "0"}, {"units": "bad_address"}),
        ({"device": "/dev/ttyUSB0", "baudrate": "9600", "units": "17"}, {"units": "bad_address"}),
        (
            {"device": "COM3", "baudrate": "0", "units": "1,,2"},
            {"device": "bad_serial_device", "baudrate": "bad_baudrate", "units": "bad_address"},
        ),
    ],
)
async def test_bad_rtu_serial_settings_are_shown_per_field(
    hass: HomeAssistant, user_input: dict[str, str], errors: dict[str, str]
) -> None:
    result = await _start(hass, "modbus_serial", user_input)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "modbus_serial"
    assert result["errors"] == errors


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({"host": "10.0.0.5", "units": ""}, {"host": "bad_port"}),  # a bridge has no default port
        ({"host": "10.0.0.5:0", "units": ""}, {"host": "bad_port"}),
        ({"host": "10.0.0.5:70000", "units": ""}, {"host": "bad_port"}),
        ({"host": "", "units": ""}, {"host": "bad_host"}),
        ({"host": "tcp://10.0.0.5:4196", "units": ""}, {"host": "bad_host"}),
        ({"host": "10.0.0.5:4196", "units": "4-2"}, {"units": "bad_address"}),
        ({"host": "bad host:4196", "units": "one"}, {"host": "bad_host", "units": "bad_address"}),
    ],
)
async def test_bad_rtu_bridge_settings_are_shown_per_field(
    hass: HomeAssistant, user_input: dict[str, str], errors: dict[str, str]
) -> None:
    result = await _start(hass, "modbus_rtu_tcp", user_input)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "modbus_rtu_tcp"
    assert result["errors"] == errors


async def test_missing_port_and_empty_bus_go_back_to_the_rtu_form(hass: HomeAssistant) -> None:
    """A port that does not exist, then a bus where no listed unit answers: the RTU form again, filled in."""
    result = await _start(hass, "modbus_serial", {"device": "/dev/does-not-exist", "baudrate": "9600", "units": "1"})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "modbus_serial"
    assert result["errors"] == {"base": "cannot_connect"}
    assert "/dev/does-not-exist" in result["description_placeholders"]["error"]
    async with await serve_pty(_bus((2,))) as server:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"device": server.path, "baudrate": "9600", "units": "7-8"}
        )
        assert result["step_id"] == "modbus_serial"
        assert result["errors"] == {"base": "no_packs_found"}
        suggested = {
            str(key): key.description["suggested_value"] for key in result["data_schema"].schema if key.description
        }
        assert suggested == {"device": server.path, "baudrate": "9600", "units": "7, 8"}
        # The user corrects the units: the scan finds the pack.
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"device": server.path, "baudrate": "9600", "units": "2"}
        )
        assert result["step_id"] == "packs"
        assert list(result["data_schema"].schema["packs"].options) == ["2"]


async def test_same_port_or_bridge_twice_is_already_configured(hass: HomeAssistant) -> None:
    """Nothing connects: the unique id (or a port another kind of entry uses) aborts first."""
    pace_rtu_entry("/dev/ttyRS485-a", [1]).add_to_hass(hass)
    serial_entry("/dev/ttyRS485-b").add_to_hass(hass)  # a serial (byte protocol) entry on another adapter
    pace_rtu_tcp_entry(4196, [1]).add_to_hass(hass)
    tcp_entry("127.0.0.1", 8899).add_to_hass(hass)  # a raw bridge used by a byte protocol
    for step, user_input in (
        ("modbus_serial", {"device": "/dev/ttyRS485-a", "baudrate": "9600", "units": ""}),
        ("modbus_serial", {"device": "/dev/ttyRS485-a", "baudrate": "19200", "units": "1"}),  # baud: same port
        ("modbus_serial", {"device": "/dev/ttyRS485-b", "baudrate": "9600", "units": ""}),
        ("modbus_rtu_tcp", {"host": "127.0.0.1:4196", "units": ""}),
        ("modbus_rtu_tcp", {"host": "127.0.0.1:8899", "units": ""}),
    ):
        result = await _start(hass, step, user_input)
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured", user_input
    # And the other way round: a serial entry on the RTU entry's port.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "serial"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"device": "/dev/ttyRS485-a", "baudrate": "9600"}
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 4


async def test_reconfigure_moves_an_rtu_entry_to_another_port(hass: HomeAssistant) -> None:
    async with await serve_pty(_bus((1, 2))) as old, await serve_pty(_bus((1, 2))) as new:
        entry = await setup_entry(hass, pace_rtu_entry(old.path, [1, 2]))
        voltage = entity_id_of(hass, f"{entry.unique_id}_2", "voltage")
        result = await entry.start_reconfigure_flow(hass)
        assert result["step_id"] == "reconfigure"
        assert result["description_placeholders"]["where"] == f"modbus-rtu://{old.path}"
        assert {str(key) for key in result["data_schema"].schema} == {"device", "baudrate"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"device": "pts/9", "baudrate": "9700"}
        )
        assert result["errors"] == {"device": "bad_serial_device", "baudrate": "bad_baudrate"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"device": "/dev/does-not-exist", "baudrate": "9600"}
        )
        assert result["errors"] == {"base": "cannot_connect"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"device": new.path, "baudrate": "9600"}
        )
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.unique_id == f"modbus-rtu:{new.path}"
        assert entry.title == f"PACE modbus-rtu://{new.path}"
        assert entry.data["modbus_mode"] == "rtu" and entry.data["device"] == new.path
        assert entry.state is ConfigEntryState.LOADED
        assert entity_id_of(hass, f"{entry.unique_id}_2", "voltage") == voltage  # same entity, history kept
        assert float(state_of(hass, f"{entry.unique_id}_2", "voltage")) == pytest.approx(sum(_pack(2).cells), abs=0.01)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_moves_an_rtu_bridge_entry_to_another_bridge(hass: HomeAssistant) -> None:
    async with await serve_tcp(_bus((1,))) as old, await serve_tcp(_bus((1,))) as new:
        entry = await setup_entry(hass, pace_rtu_tcp_entry(old.port, [1]))
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": "127.0.0.1"})
        assert result["errors"] == {"host": "bad_port"}  # no default port for a bridge (502 is Modbus-TCP's)
        await finish_reconfigure(hass, result["flow_id"], old, new)
        assert entry.unique_id == f"modbus-rtu-over-tcp:127.0.0.1:{new.port}"
        assert entry.title == f"PACE modbus-rtu+tcp://127.0.0.1:{new.port}"
        assert entry.state is ConfigEntryState.LOADED
        assert int(float(state_of(hass, f"{entry.unique_id}_1", "cycles"))) == 201
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_of_an_rtu_entry_offer_no_control(hass: HomeAssistant) -> None:
    """PACE's Modbus map is read-only, however the registers travel."""
    entry = pace_rtu_entry("/dev/ttyRS485", [1])
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    fields = {str(key) for key in result["data_schema"].schema}
    assert "control" not in fields and "scan_interval" in fields
