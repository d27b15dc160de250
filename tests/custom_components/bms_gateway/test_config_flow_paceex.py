"""Bluetooth discovery of a PACE unit speaking PACEEX (``PC-…``): a master answering for two slaves becomes one entry
with three packs, each its own device with its cells.

The advertisement is a real one (BMS_BLE-HA issue #470: ``PC-892E`` at 28:BB:ED:01:89:2E, no service UUID, only
manufacturer data), injected through Home Assistant's own Bluetooth stack (a fake remote scanner), so the manifest's
generated matchers start the flow. The link's client is the library's ``FakeBleClient`` in front of a simulated master
(``connection.BLE_CLIENT_FACTORY``, as for every Bluetooth test). Nothing vendor-specific is in the integration: the
flow offers the packs the library's bus scan found.
"""

from __future__ import annotations

import pytest
from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr

from custom_components.bms_gateway import connection
from custom_components.bms_gateway.const import DOMAIN
from vendor_plugins.pace import codec_paceex as codec
from vendor_plugins.pace.simulator_paceex import PaceexSimulator, image_of
from vendor_plugins.pace.simulator_state import initial_state
from vendor_plugins.plugin import BleProfile
from vendor_plugins.sim.ble import FakeBleClient

from .helpers import FakeRemoteScanner, assert_states_match

ADDRESS = "28:BB:ED:01:89:2E"
NAME = "PC-892E"


@pytest.fixture
def paceex_bank(monkeypatch: pytest.MonkeyPatch) -> PaceexSimulator:
    """A PACEEX master holding packs 1-3 (the two slaves reached through it), behind the fake BLE client."""
    images = {n: image_of(initial_state(n, n)) for n in (1, 2, 3)}
    for n, image in images.items():
        image.current = -3.0 * n
    simulator = PaceexSimulator(images, empty_for_absent=True, serial_number="PC892E0001")

    def factory(address: str, profile: BleProfile) -> FakeBleClient:
        return FakeBleClient(simulator, profile, address=address)

    monkeypatch.setattr(connection, "BLE_CLIENT_FACTORY", factory)
    return simulator


async def test_discovered_paceex_master_becomes_three_packs(
    hass: HomeAssistant, scanner: FakeRemoteScanner, paceex_bank: PaceexSimulator
) -> None:
    scanner.inject(ADDRESS, NAME, [])
    await hass.async_block_till_done(wait_background_tasks=True)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 1
    flow = flows[0]
    assert flow["context"]["source"] == config_entries.SOURCE_BLUETOOTH
    assert flow["step_id"] == "bluetooth_confirm"
    result = await hass.config_entries.flow.async_configure(flow["flow_id"])
    assert "PACE" in result["description_placeholders"]["vendor"]
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "packs"
    assert sorted(result["data_schema"].schema["packs"].options) == ["1", "2", "3"]
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {"packs": ["1", "2", "3"]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        "link": "ble",
        "address": ADDRESS,
        "vendor": "pace",
        "family": "paceex",
        "packs": [1, 2, 3],
    }
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    registry = dr.async_get(hass)
    devices = dr.async_entries_for_config_entry(registry, entry.entry_id)
    assert len(devices) == 4  # the Bluetooth connection and three packs, not one merged device
    [connection_device] = [d for d in devices if (DOMAIN, f"{entry.unique_id}_bus") in d.identifiers]
    assert connection_device.connections == {(dr.CONNECTION_BLUETOOTH, ADDRESS)}
    packs = {}
    for n in (1, 2, 3):
        [packs[n]] = [d for d in devices if (DOMAIN, f"{entry.unique_id}_{n}") in d.identifiers]
        assert packs[n].identifiers == {(DOMAIN, f"{entry.unique_id}_{n}")}
        assert packs[n].via_device_id == connection_device.id and not packs[n].connections
    assert packs[1].serial_number == paceex_bank.serial_number  # the connected pack's own texts
    assert packs[1].model == "P16S100A" and packs[2].serial_number is None
    for n, image in paceex_bank.packs.items():
        expected = codec.to_snapshot(
            codec.decode_pack(codec.encode_pack(image)),
            codec.decode_cells(codec.encode_cells(image)),
            codec.decode_status(codec.encode_status(image)),
        )
        assert len(expected.cell_voltages) == 16
        assert assert_states_match(hass, f"{entry.unique_id}_{n}", expected) > 20
    assert await hass.config_entries.async_unload(entry.entry_id)
