"""Shared test helpers: what the integration's tests set up and do again and again.

Simulator states and config entries, every vendor's simulated packs, entries set up against simulators served over
loopback, silent packs, the passing of time and polls, the end of a reconfigure flow, and advertisements through
habluetooth's public API.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any, Protocol

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from habluetooth import BaseHaRemoteScanner, HaBluetoothConnector
from homeassistant.components import bluetooth
from homeassistant.components.bluetooth import BluetoothServiceInfoBleak
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.bms_gateway.connection import describe, unique_id
from custom_components.bms_gateway.const import (
    CONF_ADDRESS,
    CONF_DEVICE,
    CONF_FAMILY,
    CONF_HOST,
    CONF_LINK,
    CONF_PACKS,
    CONF_PORT,
    CONF_VENDOR,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
)
from custom_components.bms_gateway.descriptions import SCALAR_SENSORS
from vendor_plugins.errors import UnsupportedError
from vendor_plugins.jbd.simulator import JbdSimulator, JbdState
from vendor_plugins.model import Alarm, BmsSnapshot
from vendor_plugins.plugin import SimulatorOptions, VendorPlugin
from vendor_plugins.registry import default_registry, load_registry
from vendor_plugins.sim import SimServer, Simulator, serve_tcp

JBD_SERVICE = "0000ff00-0000-1000-8000-00805f9b34fb"

#: The Bluetooth address and advertised name of the simulated JBD pack (the ``ble_sim`` fixture).
BLE_ADDRESS = "A4:C1:38:12:34:56"
BLE_NAME = "JBD-SP16S020"

#: The bus addresses of a multi-address vendor's simulated packs (:func:`vendor_simulators`).
VENDOR_BUS_PACKS = (1, 2, 3)


class _Server(Protocol):
    """A loopback simulator server (TCP, Modbus-TCP) as a reconfigure test moves between two of them."""

    @property
    def port(self) -> int: ...

    async def close(self) -> None: ...


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


def bus_simulators(addresses: Iterable[int], plugin: VendorPlugin | None = None) -> list[Simulator]:
    """Static simulated packs of ``plugin`` (default: PACE) at ``addresses`` on one bus, each seeded by its address."""
    plugin = plugin or default_registry().get("pace")
    return [plugin.create_simulator(SimulatorOptions(profile="static", seed=a, address=a)) for a in addresses]


def _simulated_plugins() -> list[VendorPlugin]:
    out = []
    for plugin in load_registry(include_third_party=False):
        try:
            plugin.create_simulator(SimulatorOptions(profile="static", seed=1))
        except UnsupportedError:
            continue
        out.append(plugin)
    return out


#: Every vendor in the registry that ships a simulator.
SIMULATED_PLUGINS = _simulated_plugins()


def vendor_simulators(plugin: VendorPlugin) -> tuple[list[Simulator], list[int | None]]:
    """``plugin``'s static simulated packs and the entry's packs: three on a bus (multi-address vendor), else one."""
    if plugin.capabilities.multi_address:
        return bus_simulators(VENDOR_BUS_PACKS, plugin), list(VENDOR_BUS_PACKS)
    return [plugin.create_simulator(SimulatorOptions(profile="static", seed=1))], [None]


def pace_bus_entry(
    server: SimServer, packs: list[int], *, title: str = "PACE bus", options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """A config entry for the PACE packs ``packs`` (ASCII protocol) on the simulated bus behind ``server``."""
    data = {
        "link": "tcp",
        "host": server.host,
        "port": server.port,
        "vendor": "pace",
        "family": "ascii-25",
        "packs": packs,
    }
    return MockConfigEntry(domain=DOMAIN, data=data, options=options, unique_id=unique_id(data), title=title)


async def setup_entry(
    hass: HomeAssistant, entry: MockConfigEntry, *, options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """Add ``entry`` (with ``options``, if given) and set it up, asserting it loads; returns it."""
    entry.add_to_hass(hass)
    if options is not None:
        hass.config_entries.async_update_entry(entry, options=options)
    assert await hass.config_entries.async_setup(entry.entry_id), entry.state
    await hass.async_block_till_done()
    return entry


@asynccontextmanager
async def served_entry(
    hass: HomeAssistant,
    simulators: Simulator | Sequence[Simulator],
    entry_for: Callable[[SimServer], MockConfigEntry],
    *,
    options: dict[str, Any] | None = None,
) -> AsyncIterator[tuple[SimServer, MockConfigEntry]]:
    """Serve ``simulators`` over TCP loopback and set up the entry ``entry_for`` makes for that server.

    Yields the server and the loaded entry; the server is closed on the way out (the test unloads the entry).
    """
    async with await serve_tcp(simulators) as server:
        yield server, await setup_entry(hass, entry_for(server), options=options)


def jbd_over_tcp(
    hass: HomeAssistant, sim: Simulator, *, options: dict[str, Any] | None = None
) -> AbstractAsyncContextManager[tuple[SimServer, MockConfigEntry]]:
    """:func:`served_entry` for one JBD pack behind a TCP bridge (:func:`tcp_entry`), with ``options`` if given."""
    return served_entry(hass, sim, lambda server: tcp_entry(server.host, server.port), options=options)


def pace_bus_over_tcp(
    hass: HomeAssistant, sims: Sequence[Simulator], packs: list[int]
) -> AbstractAsyncContextManager[tuple[SimServer, MockConfigEntry]]:
    """:func:`served_entry` for the packs ``packs`` of a simulated PACE bus (:func:`pace_bus_entry`)."""
    return served_entry(hass, sims, lambda server: pace_bus_entry(server, packs))


async def closed_port() -> int:
    """A loopback TCP port where nothing listens any more (a simulator served there was just closed)."""
    server = await serve_tcp(JbdSimulator())
    port = server.port
    await server.close()
    return port


def silence(sim: Simulator) -> None:
    """The simulated pack stops answering (it left the bus, or the link to it is broken)."""
    sim.handle = lambda request: None  # type: ignore[method-assign]


def answer_again(sim: Simulator) -> None:
    """The pack :func:`silence` silenced answers again."""
    del sim.handle


async def finish_reconfigure(hass: HomeAssistant, flow_id: str, old: _Server, new: _Server) -> None:
    """Finish the reconfigure flow ``flow_id`` moving from ``old`` to ``new`` (loopback servers, same kind).

    ``old`` is stopped first and refused (``cannot_connect``); ``new`` is accepted, and the entry reloads onto it.
    """
    await old.close()
    result = await hass.config_entries.flow.async_configure(flow_id, {"host": f"127.0.0.1:{old.port}"})
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": f"127.0.0.1:{new.port}"})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done(wait_background_tasks=True)


async def tick(hass: HomeAssistant, period: timedelta = DEFAULT_SCAN_INTERVAL) -> None:
    """``period`` and one second more pass (a poll at the default interval); waits for what that started."""
    async_fire_time_changed(hass, dt_util.utcnow() + period + timedelta(seconds=1))
    await hass.async_block_till_done(wait_background_tasks=True)


async def refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Poll ``entry``'s packs now and wait for what the poll started (repairs, reloads)."""
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)


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


def pace_modbus_entry(packs: list[int], **where: Any) -> MockConfigEntry:
    """A PACE Modbus entry for ``packs`` reached as ``where`` says (``modbus_mode`` and host/port or device/baud)."""
    data = {"link": "modbus", **where, "vendor": "pace", "family": "modbus", "packs": packs}
    return MockConfigEntry(domain=DOMAIN, data=data, unique_id=unique_id(data), title=f"PACE {describe(data)}")


def pace_modbus_tcp_entry(port: int, packs: list[int]) -> MockConfigEntry:
    """A PACE Modbus entry for ``packs`` behind a Modbus-TCP gateway at ``port`` on loopback."""
    return pace_modbus_entry(packs, modbus_mode="tcp", host="127.0.0.1", port=port)


def pace_rtu_entry(device: str, packs: list[int], baudrate: int = 9600) -> MockConfigEntry:
    """A PACE Modbus RTU entry for ``packs`` on the serial port ``device``."""
    return pace_modbus_entry(packs, modbus_mode="rtu", device=device, baudrate=baudrate)


def pace_rtu_tcp_entry(port: int, packs: list[int]) -> MockConfigEntry:
    """A PACE Modbus RTU entry for ``packs`` through a transparent RS485-to-TCP bridge at ``port`` on loopback."""
    return pace_modbus_entry(packs, modbus_mode="rtu-over-tcp", host="127.0.0.1", port=port)
