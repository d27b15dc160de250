"""Pytest set-up for the integration's tests: shared fixtures, and assertions in the shared helpers explained.

* ``snapshot``: syrupy's, with Home Assistant's extension (the platform snapshot tests).
* ``scanner`` and ``ble_sim``: Home Assistant's bluetooth stack with a fake proxy, and a JBD pack the library's BLE
  link reaches through ``FakeBleClient`` (the Bluetooth config-flow, set-up and availability tests).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.bms_gateway import connection
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.plugin import BleProfile
from vendor_plugins.sim.ble import FakeBleClient

# Before the helpers are imported (as Home Assistant's own conftest does for tests.common).
pytest.register_assert_rewrite("tests.custom_components.bms_gateway.helpers")

from .helpers import FakeRemoteScanner, jbd_state, register_scanner  # noqa: E402, isort:skip


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Syrupy's ``snapshot`` with Home Assistant's extension (snapshots in ``snapshots/``, ids left out).

    pytest-homeassistant-custom-component defines this fixture too, but syrupy's plugin is registered after it and
    wins; this conftest's fixture overrides both (as Home Assistant's own conftest does).
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
async def scanner(hass: HomeAssistant) -> AsyncIterator[FakeRemoteScanner]:
    """Home Assistant's bluetooth stack with one fake connectable proxy."""
    assert await async_setup_component(hass, "bluetooth", {})
    await hass.async_block_till_done()
    fake = register_scanner(hass)
    yield fake
    fake.remove()  # type: ignore[attr-defined]


@pytest.fixture
def ble_sim(monkeypatch: pytest.MonkeyPatch) -> JbdSimulator:
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
