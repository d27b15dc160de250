"""Config flow over Bluetooth: discovery from an injected advertisement, the user's device pick, and a pack read
through the library's BLE link, whose ``BLEDevice`` comes from Home Assistant's bluetooth stack (a fake remote
scanner) and whose client is the library's ``FakeBleClient`` in front of a simulator (``scanner`` and ``ble_sim`` in
``conftest.py``). A Bluetooth entry's options propose the longer Bluetooth poll interval; reconfigure is not offered.
"""

from __future__ import annotations

import pytest
from homeassistant import config_entries
from homeassistant.components.bluetooth import BluetoothServiceInfoBleak
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.bms_gateway.const import DOMAIN
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.registry import default_registry
from vendor_plugins.sim.ble import FakeBleClient
from vendor_plugins.transports.ble import BleLink

from .helpers import (
    BLE_ADDRESS,
    BLE_NAME,
    JBD_SERVICE,
    FakeRemoteScanner,
    assert_states_match,
    ble_entry,
    service_info,
)


async def _library_read(sim: JbdSimulator) -> object:
    profile = default_registry().get("jbd").ble_profile
    assert profile is not None
    link = BleLink(BLE_ADDRESS, profile, client_factory=lambda: FakeBleClient(sim, profile))
    try:
        return await default_registry().get("jbd").open_session(link).read()
    finally:
        await link.close()


async def test_discovery_from_advertisement_creates_working_entry(
    hass: HomeAssistant, scanner: FakeRemoteScanner, ble_sim: JbdSimulator
) -> None:
    """An advertisement matching the manifest starts a flow naming the vendor; confirming reads and creates."""
    scanner.inject(BLE_ADDRESS, BLE_NAME, [JBD_SERVICE])
    await hass.async_block_till_done(wait_background_tasks=True)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 1
    flow = flows[0]
    assert flow["context"]["source"] == config_entries.SOURCE_BLUETOOTH
    assert flow["step_id"] == "bluetooth_confirm"
    result = await hass.config_entries.flow.async_configure(flow["flow_id"])
    assert result["type"] is FlowResultType.FORM
    assert "JBD" in result["description_placeholders"]["vendor"]
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == BLE_ADDRESS
    assert result["data"] == {"link": "ble", "address": BLE_ADDRESS, "vendor": "jbd", "family": "jbd", "packs": [None]}
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    expected = await _library_read(ble_sim)
    assert assert_states_match(hass, BLE_ADDRESS, expected) > 20  # type: ignore[arg-type]
    link = entry.runtime_data.link
    assert link.connected
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert not link.connected
    assert not ble_sim.clients[-1].is_connected  # type: ignore[attr-defined]


async def test_discovery_of_unknown_device_aborts(hass: HomeAssistant, scanner: FakeRemoteScanner) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_BLUETOOTH},
        data=service_info("11:22:33:44:55:66", "Kettle", ["0000fee7-0000-1000-8000-00805f9b34fb"]),
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "not_supported"


async def test_discovery_of_configured_device_aborts(hass: HomeAssistant, scanner: FakeRemoteScanner) -> None:
    ble_entry(BLE_ADDRESS).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_BLUETOOTH}, data=service_info(BLE_ADDRESS, BLE_NAME)
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"


async def test_discovery_confirm_reports_unreachable(
    hass: HomeAssistant, scanner: FakeRemoteScanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Confirming a device that is no longer in range shows a translated error instead of creating."""
    info: BluetoothServiceInfoBleak = service_info("C0:FF:EE:00:00:01", BLE_NAME)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_BLUETOOTH}, data=info
    )
    assert result["step_id"] == "bluetooth_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}


async def test_user_picks_a_discovered_device(
    hass: HomeAssistant, scanner: FakeRemoteScanner, ble_sim: JbdSimulator
) -> None:
    scanner.inject(BLE_ADDRESS, BLE_NAME, [JBD_SERVICE])
    scanner.inject("11:22:33:44:55:66", "Kettle", [])
    await hass.async_block_till_done()
    for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN):
        hass.config_entries.flow.async_abort(flow["flow_id"])
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "bluetooth_device"})
    assert result["step_id"] == "bluetooth_device"
    options = result["data_schema"].schema["address"].config["options"]
    assert [o["value"] for o in options] == [BLE_ADDRESS]  # the kettle is not offered
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"address": BLE_ADDRESS})
    assert result["step_id"] == "vendor"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "jbd"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_user_bluetooth_without_devices_aborts(hass: HomeAssistant, scanner: FakeRemoteScanner) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "bluetooth_device"})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "no_devices_found"


async def test_ble_default_poll_interval_is_longer(hass: HomeAssistant) -> None:
    """The options form proposes the default of the entry's link kind (not set up: only the form is shown)."""
    entry = ble_entry("A4:C1:38:00:00:09")
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["description_placeholders"]["default_interval"] == "30"


async def test_reconfigure_bluetooth_is_not_offered(hass: HomeAssistant) -> None:
    entry = ble_entry("A4:C1:38:00:00:08")
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_ble"
