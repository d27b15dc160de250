"""Config flow for a Modbus-TCP gateway: against the real PACE Modbus simulator (a pymodbus server on loopback).

Unit ids are scanned (all the vendor allows, or the ones typed), the packs that answer are offered, every chosen
pack must answer a full read before the entry is created, the unique id is the gateway, and reconfigure moves the
entry to another gateway keeping its entities.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bms_gateway import probing
from custom_components.bms_gateway.connection import describe, open_entry_link, unique_id
from custom_components.bms_gateway.const import DOMAIN
from vendor_plugins.errors import TransportError
from vendor_plugins.pace.simulator_modbus import ModbusSimServer, serve_modbus_tcp
from vendor_plugins.pace.simulator_state import PaceState
from vendor_plugins.registry import default_registry
from vendor_plugins.transports.modbus import ModbusLink

from .helpers import entity_id_of, finish_reconfigure, pace_modbus_entry, setup_entry, state_of

UNITS = (1, 2, 4)


def _pack(unit: int) -> PaceState:
    """A pack whose values tell the units apart."""
    state = PaceState()
    state.cells = [round(3.300 + 0.001 * unit + 0.0005 * i, 4) for i in range(16)]
    state.cycles = 100 + unit
    state.remaining_capacity = 50.0 + unit
    state.serial_number = f"MB{unit:02d}"
    return state


@pytest.fixture
async def gateway() -> AsyncIterator[ModbusSimServer]:
    """Three PACE packs (units 1, 2, 4) behind a Modbus-TCP gateway."""
    async with await serve_modbus_tcp({unit: _pack(unit) for unit in UNITS}) as server:
        yield server


@pytest.fixture(autouse=True)
def _short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """An absent unit costs the scan timeout each: keep it short."""
    monkeypatch.setattr(probing, "SCAN_TIMEOUT", 0.2)
    monkeypatch.setattr(probing, "FLOW_TIMEOUT", 0.5)


async def _start(hass: HomeAssistant, user_input: dict[str, str]) -> dict:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    assert "modbus_tcp" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "modbus_tcp"})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "modbus_tcp"
    assert result["description_placeholders"]["units"] == "1-16"  # PACE Modbus units
    assert result["description_placeholders"]["port"] == "502"
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


async def test_modbus_tcp_scans_units_and_creates_a_working_entry(
    hass: HomeAssistant, gateway: ModbusSimServer
) -> None:
    result = await _start(hass, {"host": f"127.0.0.1:{gateway.port}", "units": "1-6"})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "packs"  # one Modbus vendor: no choice
    assert result["description_placeholders"]["count"] == "3"
    choices = result["data_schema"].schema["packs"].options
    assert sorted(choices) == ["1", "2", "4"]
    assert "MB04" in choices["4"]  # the pack's own serial number, read over Modbus
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"packs": ["4", "1"]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        "link": "modbus",
        "modbus_mode": "tcp",
        "host": "127.0.0.1",
        "port": gateway.port,
        "vendor": "pace",
        "family": "modbus",
        "packs": [1, 4],
    }
    entry = result["result"]
    assert entry.unique_id == f"modbus-tcp:127.0.0.1:{gateway.port}"
    assert entry.title == f"PACE modbus-tcp://127.0.0.1:{gateway.port}"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    # The entry polls the packs over Modbus: their entities show the simulator's values.
    for unit in (1, 4):
        pack = _pack(unit)
        uid = f"{entry.unique_id}_{unit}"
        assert float(state_of(hass, uid, "voltage")) == pytest.approx(sum(pack.cells), abs=0.01)
        assert int(float(state_of(hass, uid, "cycles"))) == pack.cycles
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert len(devices) == 3  # the gateway and two packs
    assert not [
        e for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id) if e.domain == "switch"
    ]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_empty_unit_list_scans_every_unit_the_vendor_allows(
    hass: HomeAssistant, gateway: ModbusSimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probing, "SCAN_TIMEOUT", 0.1)
    result = await _start(hass, {"host": f"127.0.0.1:{gateway.port}", "units": ""})
    assert result["step_id"] == "packs"
    assert sorted(result["data_schema"].schema["packs"].options) == ["1", "2", "4"]


async def test_port_defaults_to_502(hass: HomeAssistant) -> None:
    """Without a port the gateway is reached at 502 (nothing listens there in the test: cannot_connect names it)."""
    result = await _start(hass, {"host": "127.0.0.1", "units": "1"})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "modbus_tcp"
    assert result["errors"] == {"base": "cannot_connect"}
    assert "modbus-tcp://127.0.0.1:502" in result["description_placeholders"]["error"]


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({"host": "", "units": ""}, {"host": "bad_host"}),
        ({"host": "modbus://10.0.0.5", "units": ""}, {"host": "bad_host"}),
        ({"host": "10.0.0.5:0", "units": ""}, {"host": "bad_port"}),
        ({"host": "10.0.0.5:70000", "units": ""}, {"host": "bad_port"}),
        ({"host": "10.0.0.5", "units": "0"}, {"units": "bad_address"}),  # 0 is Modbus broadcast
        ({"host": "10.0.0.5", "units": "17"}, {"units": "bad_address"}),  # PACE units are 1-16
        ({"host": "10.0.0.5", "units": "4-2"}, {"units": "bad_address"}),
        ({"host": "10.0.0.5", "units": "one"}, {"units": "bad_address"}),
        ({"host": "bad host", "units": "1,,2"}, {"host": "bad_host", "units": "bad_address"}),
    ],
)
async def test_bad_modbus_settings_are_shown_per_field(
    hass: HomeAssistant, user_input: dict[str, str], errors: dict[str, str]
) -> None:
    result = await _start(hass, user_input)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "modbus_tcp"
    assert result["errors"] == errors


async def test_no_unit_answers(hass: HomeAssistant, gateway: ModbusSimServer) -> None:
    result = await _start(hass, {"host": f"127.0.0.1:{gateway.port}", "units": "7-8"})
    assert result["step_id"] == "modbus_tcp"
    assert result["errors"] == {"base": "no_packs_found"}
    # The user corrects the units: the scan finds the pack.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": f"127.0.0.1:{gateway.port}", "units": "2"}
    )
    assert result["step_id"] == "packs"
    assert list(result["data_schema"].schema["packs"].options) == ["2"]


async def test_test_before_configure_when_the_gateway_goes_away(hass: HomeAssistant) -> None:
    server = await serve_modbus_tcp({1: _pack(1)})
    try:
        result = await _start(hass, {"host": f"127.0.0.1:{server.port}", "units": "1"})
        assert result["step_id"] == "packs"
    finally:
        await server.close()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"packs": ["1"]})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "packs"
    assert result["errors"] == {"base": "cannot_connect"}
    assert "modbus-tcp://127.0.0.1" in result["description_placeholders"]["error"]
    assert not hass.config_entries.async_entries(DOMAIN)


def _modbus_entry(port: int, packs: list[int]) -> MockConfigEntry:
    return pace_modbus_entry(packs, modbus_mode="tcp", host="127.0.0.1", port=port)


async def test_same_gateway_twice_is_already_configured(hass: HomeAssistant, gateway: ModbusSimServer) -> None:
    _modbus_entry(gateway.port, [1]).add_to_hass(hass)
    result = await _start(hass, {"host": f"127.0.0.1:{gateway.port}", "units": ""})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"


async def test_reconfigure_moves_to_another_gateway(hass: HomeAssistant) -> None:
    async with (
        await serve_modbus_tcp({1: _pack(1), 2: _pack(2)}) as old,
        await serve_modbus_tcp({1: _pack(1), 2: _pack(2)}) as new,
    ):
        entry = await setup_entry(hass, _modbus_entry(old.port, [1, 2]))
        voltage = entity_id_of(hass, f"{entry.unique_id}_2", "voltage")

        result = await entry.start_reconfigure_flow(hass)
        assert result["step_id"] == "reconfigure"
        for typed, error in (("127.0.0.1:0", "bad_port"), ("tcp://127.0.0.1", "bad_host")):
            result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": typed})
            assert result["errors"] == {"host": error}, typed
        await finish_reconfigure(hass, result["flow_id"], old, new)

        assert entry.unique_id == f"modbus-tcp:127.0.0.1:{new.port}"
        assert entry.title == f"PACE modbus-tcp://127.0.0.1:{new.port}"
        assert entry.state is ConfigEntryState.LOADED
        assert entity_id_of(hass, f"{entry.unique_id}_2", "voltage") == voltage  # same entity, history kept
        assert float(state_of(hass, f"{entry.unique_id}_2", "voltage")) == pytest.approx(sum(_pack(2).cells), abs=0.01)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_of_a_modbus_entry_offer_no_control(hass: HomeAssistant) -> None:
    """PACE's Modbus map is read-only: no control option, and control cannot be smuggled in."""
    entry = _modbus_entry(1502, [1])
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    fields = {str(key) for key in result["data_schema"].schema}
    assert "control" not in fields and "scan_interval" in fields
    assert result["description_placeholders"]["default_interval"] == "15"


def test_connection_helpers_for_modbus(hass: HomeAssistant) -> None:
    data = _modbus_entry(1502, [1]).data
    assert unique_id(data) == "modbus-tcp:127.0.0.1:1502"
    assert describe(data) == "modbus-tcp://127.0.0.1:1502"
    assert describe({**data, "host": "fd00::5"}) == "modbus-tcp://[fd00::5]:1502"
    link = open_entry_link(hass, data, default_registry().get("pace"), timeout=0.5)
    assert isinstance(link, ModbusLink) and link.description == "modbus-tcp://127.0.0.1:1502"
    assert open_entry_link(hass, {**data, "modbus_mode": None}, default_registry().get("pace")).description == (
        "modbus-tcp://127.0.0.1:1502"  # an entry without a mode is Modbus-TCP
    )
    with pytest.raises(TransportError, match="'ascii' is not supported"):
        open_entry_link(hass, {**data, "modbus_mode": "ascii"}, default_registry().get("pace"))
