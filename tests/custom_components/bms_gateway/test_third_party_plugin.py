"""A third-party vendor plugin works in Home Assistant without a line of the integration knowing it.

The minimal plugin of the conformance suite (``tests/conformance/third_party/acme_bms``) is installed into a temp dir
with its ``bms_gateway.vendors`` entry point. The integration's registry (the library's process-wide
``default_registry()``, built once when the integration is imported) is then built again, as a Home Assistant
restart after ``pip install`` would: the test clears the cached registry (``vendor_plugins.registry._DEFAULT``) for
its duration and restores it afterwards. From there it is the user's path: config flow (TCP bridge, the user picks
the vendor, or lets detection find it) → entry → entities showing the simulated pack; with control enabled, the MOSFET
switches drive the simulated pack.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr

from custom_components.bms_gateway import probing
from custom_components.bms_gateway.const import CONF_CONTROL, DOMAIN
from tests.conformance.acme import NAME, on_path
from vendor_plugins import registry as registry_module
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.plugin import SimulatorOptions, VendorPlugin
from vendor_plugins.sim import SimServer, Simulator, serve_tcp
from vendor_plugins.transports import TcpLink

from .helpers import assert_states_match, entity_id_of, state_of


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[VendorPlugin]:
    """The plugin installed, and the integration's registry rebuilt so that it holds it."""
    monkeypatch.setattr(probing, "SCAN_TIMEOUT", 0.2)
    monkeypatch.setattr(probing, "FLOW_TIMEOUT", 0.3)  # auto-detection asks every plugin: absent ones cost this
    with on_path(tmp_path):
        monkeypatch.setattr(registry_module, "_DEFAULT", None)
        yield registry_module.default_registry().get(NAME)


@pytest.fixture
def simulator(acme: VendorPlugin) -> Simulator:
    """A static simulated ACME pack."""
    return acme.create_simulator(SimulatorOptions(profile="static", seed=11))


@pytest.fixture
async def bridge(simulator: Simulator) -> AsyncIterator[SimServer]:
    """The pack behind a TCP bridge."""
    async with await serve_tcp(simulator) as server:
        yield server


async def _library_read(acme: VendorPlugin, server: SimServer) -> BmsSnapshot:
    link = TcpLink(server.host, server.port, timeout=1.0)
    try:
        return await acme.open_session(link).read()
    finally:
        await link.close()


async def _tcp_flow(hass: HomeAssistant, server: SimServer) -> ConfigFlowResult:
    """The user flow up to the vendor choice for the bridge ``server``."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "tcp"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": f"127.0.0.1:{server.port}"})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "vendor"
    return result


async def test_config_flow_with_the_vendor_chosen_creates_working_entities(
    hass: HomeAssistant, acme: VendorPlugin, bridge: SimServer
) -> None:
    result = await _tcp_flow(hass, bridge)
    schema = result["data_schema"]
    assert schema is not None
    choices = {o["value"]: o["label"] for o in schema.schema["vendor"].config["options"]}
    assert choices[NAME] == "ACME demo BMS"  # offered with its own title, next to the built-ins
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": NAME})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        "link": "tcp",
        "host": "127.0.0.1",
        "port": bridge.port,
        "vendor": NAME,
        "family": None,
        "packs": [None],
    }
    assert result["title"] == f"ACME demo BMS 127.0.0.1:{bridge.port}"
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    expected = await _library_read(acme, bridge)
    uid = str(entry.unique_id)
    assert assert_states_match(hass, uid, expected) >= 15  # V, I, P, SoC, cycles, 4 cells, temperatures, MOSFETs…
    assert state_of(hass, uid, "cell_4_voltage") == str(expected.cell_voltages[3])
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert ("ACME", "ACME-4S-SIM") in {(device.manufacturer, device.model) for device in devices}
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_config_flow_detects_the_vendor(hass: HomeAssistant, acme: VendorPlugin, bridge: SimServer) -> None:
    result = await _tcp_flow(hass, bridge)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "auto"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["vendor"] == NAME
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_control_switches_the_simulated_pack(
    hass: HomeAssistant, acme: VendorPlugin, simulator: Simulator, bridge: SimServer
) -> None:
    result = await _tcp_flow(hass, bridge)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": NAME})
    entry = result["result"]
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(entry.entry_id)
    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_CONTROL: True})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    state = simulator.state  # type: ignore[attr-defined]
    uid = str(entry.unique_id)
    switch = entity_id_of(hass, uid, "discharge_mosfet_switch", "switch")
    assert state_of(hass, uid, "discharge_mosfet_switch", "switch") == STATE_ON
    await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    assert state.discharge_mosfet is False and state.charge_mosfet is True
    assert state_of(hass, uid, "discharge_mosfet_switch", "switch") == STATE_OFF
    assert state_of(hass, uid, "discharge_mosfet", "binary_sensor") == STATE_OFF
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert state.discharge_mosfet is True
    assert await hass.config_entries.async_unload(entry.entry_id)
