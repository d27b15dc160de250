"""Small test helpers: simulator states, config entries, and advertisements through habluetooth's public API."""

from __future__ import annotations

import time
from typing import Any

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from habluetooth import BaseHaRemoteScanner, HaBluetoothConnector
from homeassistant.components import bluetooth
from homeassistant.components.bluetooth import BluetoothServiceInfoBleak
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bms_gateway.connection import unique_id
from custom_components.bms_gateway.const import (
    CONF_ADDRESS,
    CONF_DEVICE,
    CONF_FAMILY,
    CONF_HOST,
    CONF_LINK,
    CONF_PACKS,
    CONF_PORT,
    CONF_VENDOR,
    DOMAIN,
)
from custom_components.bms_gateway.descriptions import SCALAR_SENSORS
from vendor_plugins.jbd.simulator import JbdState
from vendor_plugins.model import Alarm, BmsSnapshot

JBD_SERVICE = "0000ff00-0000-1000-8000-00805f9b34fb"


def jbd_state(cells: int = 16) -> JbdState:
    """A 16-cell JBD pack with distinct values everywhere."""
    return JbdState(
        cell_voltages=[round(3.300 + 0.001 * i, 3) for i in range(cells)],
        current=-12.34,
        remaining_capacity=150.5,
        design_capacity=200.0,
        cycles=321,
        temperatures=[18.5, 19.0, 21.2],
        balancing={6},
    )


def tcp_entry(host: str, port: int, **extra: Any) -> MockConfigEntry:
    """A config entry for a JBD pack behind a TCP bridge."""
    data = {
        CONF_LINK: "tcp",
        CONF_HOST: host,
        CONF_PORT: port,
        CONF_VENDOR: "jbd",
        CONF_FAMILY: "jbd",
        CONF_PACKS: [None],
    }
    data.update(extra)
    return MockConfigEntry(domain=DOMAIN, data=data, unique_id=unique_id(data), title=f"JBD {host}:{port}")


def serial_entry(device: str) -> MockConfigEntry:
    """A config entry for a JBD pack on a serial port."""
    data = {CONF_LINK: "serial", CONF_DEVICE: device, "baudrate": 9600, CONF_VENDOR: "jbd", CONF_PACKS: [None]}
    return MockConfigEntry(domain=DOMAIN, data=data, unique_id=unique_id(data), title=f"JBD {device}")


def ble_entry(address: str) -> MockConfigEntry:
    """A config entry for a JBD pack over Bluetooth."""
    data = {CONF_LINK: "ble", CONF_ADDRESS: address, CONF_VENDOR: "jbd", CONF_PACKS: [None]}
    return MockConfigEntry(domain=DOMAIN, data=data, unique_id=unique_id(data), title=f"JBD {address}")


class FakeRemoteScanner(BaseHaRemoteScanner):
    """A connectable remote scanner (like an ESPHome proxy) whose advertisements the test injects."""

    def inject(self, address: str, name: str, service_uuids: list[str], rssi: int = -60) -> None:
        """Report one advertisement to Home Assistant's bluetooth manager."""
        self._async_on_advertisement(
            address, rssi, name, service_uuids, {}, {}, None, {"source": self.source}, time.monotonic()
        )


class _NoClient:  # never used: the BLE link's client factory replaces bleak in these tests
    pass


@callback
def register_scanner(hass: HomeAssistant) -> FakeRemoteScanner:
    """Register a fake connectable scanner with Home Assistant's bluetooth stack."""
    connector = HaBluetoothConnector(client=_NoClient, source="fake-proxy", can_connect=lambda: True)  # type: ignore[arg-type]
    scanner = FakeRemoteScanner("fake-proxy", "fake-proxy", connector, True)
    unregister = bluetooth.async_register_scanner(hass, scanner, connection_slots=3)
    unsetup = scanner.async_setup()

    def remove() -> None:
        unsetup()
        unregister()

    scanner.remove = remove  # type: ignore[attr-defined]
    return scanner


def service_info(address: str, name: str, service_uuids: list[str] | None = None) -> BluetoothServiceInfoBleak:
    """A Bluetooth service info as Home Assistant builds it from an advertisement."""
    uuids = service_uuids if service_uuids is not None else [JBD_SERVICE]
    adv = AdvertisementData(
        local_name=name,
        manufacturer_data={},
        service_data={},
        service_uuids=uuids,
        tx_power=-127,
        rssi=-60,
        platform_data=(),
    )
    return BluetoothServiceInfoBleak(
        name=name,
        address=address,
        rssi=-60,
        manufacturer_data={},
        service_data={},
        service_uuids=uuids,
        source="fake-proxy",
        device=BLEDevice(address, name, {}),
        advertisement=adv,
        connectable=True,
        time=time.monotonic(),
        tx_power=None,
    )


def assert_states_match(hass: HomeAssistant, pack_uid: str, snapshot: BmsSnapshot) -> int:
    """Every entity of the pack shows what ``snapshot`` says; returns how many entities were compared."""
    registry = er.async_get(hass)
    compared = 0

    def state_of(platform: str, key: str) -> str | None:
        entity_id = registry.async_get_entity_id(platform, DOMAIN, f"{pack_uid}_{key}")
        if entity_id is None:
            return None
        state = hass.states.get(entity_id)
        return None if state is None else state.state

    def check_number(key: str, expected: float | None) -> None:
        nonlocal compared
        actual = state_of("sensor", key)
        if expected is None:
            assert actual in (None, "unknown"), key
            return
        if actual is None:  # created disabled (cells beyond the default count)
            return
        assert float(actual) == pytest.approx(expected, abs=1e-6), key
        compared += 1

    def check_flag(key: str, expected: bool | None) -> None:
        nonlocal compared
        actual = state_of("binary_sensor", key)
        if expected is None or actual is None:
            return
        assert actual == ("on" if expected else "off"), key
        compared += 1

    for name in SCALAR_SENSORS:
        check_number(name, getattr(snapshot, name))
    for index, voltage in enumerate(snapshot.cell_voltages, 1):
        check_number(f"cell_{index}_voltage", voltage)
    for reading in snapshot.temperatures:
        check_number(f"temperature_{reading.name}", reading.celsius)
    check_number("warnings", len(snapshot.warnings))
    for flag in ("charging", "discharging", "charge_mosfet", "discharge_mosfet"):
        check_flag(flag, getattr(snapshot, flag))
    check_flag("balancing", None if snapshot.balancing is None else bool(snapshot.balancing))
    for alarm in Alarm:
        check_flag(f"alarm_{alarm.value}", alarm in snapshot.alarms)
    return compared


def entity_id_of(hass: HomeAssistant, uid: str, key: str, platform: str = "sensor") -> str:
    """The entity id of the entity ``key`` of the pack ``uid`` (asserting it exists)."""
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{uid}_{key}")
    assert entity_id is not None, key
    return entity_id


def state_of(hass: HomeAssistant, uid: str, key: str, platform: str = "sensor") -> str:
    """The state of the entity ``key`` of the pack ``uid``."""
    state = hass.states.get(entity_id_of(hass, uid, key, platform))
    assert state is not None, key
    return state.state
