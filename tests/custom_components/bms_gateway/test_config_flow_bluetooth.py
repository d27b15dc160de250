"""The Bluetooth path: discovery from an injected advertisement, the user's device pick, and a pack read through
the library's BLE link, whose ``BLEDevice`` comes from Home Assistant's bluetooth stack (a fake remote scanner)
and whose client is the library's ``FakeBleClient`` in front of a simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from homeassistant import config_entries
from homeassistant.components.bluetooth import BluetoothServiceInfoBleak
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component

from custom_components.bms_gateway import connection
from custom_components.bms_gateway.const import DOMAIN
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.plugin import BleProfile
from vendor_plugins.registry import default_registry
from vendor_plugins.sim.ble import FakeBleClient
from vendor_plugins.transports.ble import BleLink

from .helpers import (
    FakeRemoteScanner,
    assert_states_match,
    ble_entry,
    jbd_state,
    register_scanner,
    service_info,
    setup_entry,
)

ADDRESS = "A4:C1:38:12:34:56"
NAME = "JBD-SP16S020"
JBD_SERVICE = "0000ff00-0000-1000-8000-00805f9b34fb"


@pytest.fixture
async def scanner(hass: HomeAssistant) -> AsyncIterator[FakeRemoteScanner]:
    """Home Assistant's bluetooth stack with one fake connectable proxy."""
    assert await async_setup_component(hass, "bluetooth", {})
    await hass.async_block_till_done()
    fake = register_scanner(hass)
    yield fake
    fake.remove()  # type: ignore[attr-defined]


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> JbdSimulator:
    """A JBD pack the BLE link reaches through FakeBleClient (20-byte notifications)."""
    simulator = JbdSimulator(jbd_state())
    clients: list[FakeBleClient] = []

    def factory(address: str, profile: BleProfile) -> FakeBleClient:
        client = FakeBleClient(simulator, profile, address=address)
        clients.append(client)
        return client

    monkeypatch.setattr(connection, "BLE_CLIENT_FACTORY", factory)
    simulator.clients = clients  # type: ignore[attr-defined]
    return simulator


async def _library_read(sim: JbdSimulator) -> object:
    profile = default_registry().get("jbd").ble_profile
    assert profile is not None
    link = BleLink(ADDRESS, profile, client_factory=lambda: FakeBleClient(sim, profile))
    try:
        return await default_registry().get("jbd").open_session(link).read()
    finally:
        await link.close()


async def test_discovery_from_advertisement_creates_working_entry(
    hass: HomeAssistant, scanner: FakeRemoteScanner, sim: JbdSimulator
) -> None:
    """An advertisement matching the manifest starts a flow naming the vendor; confirming reads and creates."""
    scanner.inject(ADDRESS, NAME, [JBD_SERVICE])
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
    assert result["result"].unique_id == ADDRESS
    assert result["data"] == {"link": "ble", "address": ADDRESS, "vendor": "jbd", "family": "jbd", "packs": [None]}
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    expected = await _library_read(sim)
    assert assert_states_match(hass, ADDRESS, expected) > 20  # type: ignore[arg-type]
    link = entry.runtime_data.link
    assert link.connected
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert not link.connected
    assert not sim.clients[-1].is_connected  # type: ignore[attr-defined]


async def test_discovery_of_unknown_device_aborts(hass: HomeAssistant, scanner: FakeRemoteScanner) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_BLUETOOTH},
        data=service_info("11:22:33:44:55:66", "Kettle", ["0000fee7-0000-1000-8000-00805f9b34fb"]),
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "not_supported"


async def test_discovery_of_configured_device_aborts(hass: HomeAssistant, scanner: FakeRemoteScanner) -> None:
    ble_entry(ADDRESS).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_BLUETOOTH}, data=service_info(ADDRESS, NAME)
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"


async def test_discovery_confirm_reports_unreachable(
    hass: HomeAssistant, scanner: FakeRemoteScanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Confirming a device that is no longer in range shows a translated error instead of creating."""
    info: BluetoothServiceInfoBleak = service_info("C0:FF:EE:00:00:01", NAME)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_BLUETOOTH}, data=info
    )
    assert result["step_id"] == "bluetooth_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}


async def test_user_picks_a_discovered_device(
    hass: HomeAssistant, scanner: FakeRemoteScanner, sim: JbdSimulator
) -> None:
    scanner.inject(ADDRESS, NAME, [JBD_SERVICE])
    scanner.inject("11:22:33:44:55:66", "Kettle", [])
    await hass.async_block_till_done()
    for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN):
        hass.config_entries.flow.async_abort(flow["flow_id"])
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "bluetooth_device"})
    assert result["step_id"] == "bluetooth_device"
    options = result["data_schema"].schema["address"].config["options"]
    assert [o["value"] for o in options] == [ADDRESS]  # the kettle is not offered
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"address": ADDRESS})
    assert result["step_id"] == "vendor"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "jbd"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_user_bluetooth_without_devices_aborts(hass: HomeAssistant, scanner: FakeRemoteScanner) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "bluetooth_device"})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "no_devices_found"


async def test_setup_not_ready_until_device_is_seen(
    hass: HomeAssistant, scanner: FakeRemoteScanner, sim: JbdSimulator
) -> None:
    """No advertisement yet: retry later; once Home Assistant sees the device, setup succeeds."""
    entry = ble_entry(ADDRESS)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    scanner.inject(ADDRESS, NAME, [JBD_SERVICE])
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await hass.config_entries.async_reload(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    await hass.config_entries.async_unload(entry.entry_id)


async def test_ble_pack_goes_unavailable_and_back(
    hass: HomeAssistant, scanner: FakeRemoteScanner, sim: JbdSimulator
) -> None:
    """The peripheral drops the connection and then refuses to answer: unavailable; answering again: back."""
    from datetime import timedelta

    from homeassistant.util import dt as dt_util
    from pytest_homeassistant_custom_component.common import async_fire_time_changed

    from custom_components.bms_gateway.const import DEFAULT_SCAN_SECONDS

    scanner.inject(ADDRESS, NAME, [JBD_SERVICE])
    await hass.async_block_till_done(wait_background_tasks=True)
    for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN):
        hass.config_entries.flow.async_abort(flow["flow_id"])
    entry = await setup_entry(hass, ble_entry(ADDRESS))
    entry.runtime_data.link.timeout = 0.2
    entity_id = hass.states.async_entity_ids("sensor")[0]

    async def tick() -> None:
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=DEFAULT_SCAN_SECONDS["ble"] + 1))
        await hass.async_block_till_done(wait_background_tasks=True)

    handle: Callable[[bytes], bytes | None] = sim.handle
    sim.handle = lambda request: None  # type: ignore[method-assign]
    sim.clients[-1].drop_connection()  # type: ignore[attr-defined]
    await tick()
    assert hass.states.get(entity_id).state == "unavailable"
    sim.handle = handle  # type: ignore[method-assign]
    await tick()
    assert hass.states.get(entity_id).state != "unavailable"
    await hass.config_entries.async_unload(entry.entry_id)
