"""Physical connections: turn config-entry data into the library's link settings, a unique id and a title.

One config entry is one physical connection (a TCP bridge, a serial port, a Bluetooth device, or a Modbus bus: link
``modbus``, its packs are Modbus unit ids, reached by ``modbus_mode`` ``tcp`` — a Modbus-TCP gateway at host/port —,
``rtu`` — RTU on the serial port ``device`` at ``baudrate`` — or ``rtu-over-tcp`` — RTU through a transparent
RS485-to-TCP bridge at host/port). :func:`link_settings` turns the entry data into
:class:`~vendor_plugins.connect.LinkSettings`; :func:`open_entry_link` opens the link with the library's
:func:`~vendor_plugins.connect.open_link`, which picks the link type. Bluetooth goes through Home Assistant's bluetooth
stack: the link gets the ``BLEDevice`` Home Assistant knows (so ESPHome proxies work) and a callback returning the
freshest one (:class:`~vendor_plugins.connect.BleAccess`); the library never scans inside Home Assistant.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from homeassistant.components import bluetooth
from homeassistant.core import HomeAssistant

from vendor_plugins.connect import MODBUS_SCHEMES, BleAccess, LinkSettings, ModbusMode, check_link_kind, open_link
from vendor_plugins.detect import probe_order
from vendor_plugins.errors import ConfigError, TransportError
from vendor_plugins.plugin import BleProfile, LinkKind, VendorPlugin
from vendor_plugins.registry import Registry, default_registry
from vendor_plugins.transports import DEFAULT_TIMEOUT, Link
from vendor_plugins.transports.tcp import format_host_port

from .const import (
    CONF_ADDRESS,
    CONF_BAUDRATE,
    CONF_DEVICE,
    CONF_HOST,
    CONF_LINK,
    CONF_MODBUS_MODE,
    CONF_PORT,
    DEFAULT_BAUDRATE,
    MODBUS_MODE_RTU,
    MODBUS_MODE_RTU_OVER_TCP,
    MODBUS_MODE_TCP,
    MODBUS_TCP_PORT,
)

if TYPE_CHECKING:
    from vendor_plugins.transports.ble import ClientLike

#: Replaces bleak behind the BLE link when set: ``factory(address, profile) -> client`` (tests, the demo).
BLE_CLIENT_FACTORY: Callable[[str, BleProfile], ClientLike] | None = None


class BleDeviceNotFound(TransportError):
    """Home Assistant's bluetooth stack has no connectable device with this address right now."""


def registry() -> Registry:
    """The vendor registry the integration uses (built-ins plus installed third-party plugins)."""
    return default_registry()


def _runs_over(plugin: VendorPlugin, kind: LinkKind) -> bool:
    """Whether the library opens a link of ``kind`` for ``plugin`` (its own check, so offer and use agree)."""
    try:
        check_link_kind(plugin, kind)
    except ConfigError:
        return False
    return True


def plugins_for(kind: LinkKind) -> list[VendorPlugin]:
    """Plugins that can run over ``kind``, in the library's probe order (``probe_last`` plugins after the others)."""
    return probe_order(p for p in registry() if _runs_over(p, kind))


def unique_id(data: Mapping[str, Any]) -> str:
    """One unique id per physical connection."""
    kind = LinkKind(data[CONF_LINK])
    if kind is LinkKind.BLE:
        return str(data[CONF_ADDRESS]).upper()
    if kind is LinkKind.SERIAL:
        return f"serial:{data[CONF_DEVICE]}"
    if kind is LinkKind.MODBUS:
        return f"modbus-{modbus_mode(data)}:{_modbus_where(data, lower=True)}"
    return f"tcp:{format_host_port(str(data[CONF_HOST]).lower(), int(data[CONF_PORT]))}"


def modbus_mode(data: Mapping[str, Any]) -> str:
    """How a ``modbus`` entry reaches its units (``MODBUS_MODE_*``; an entry without a mode is Modbus-TCP)."""
    return str(data.get(CONF_MODBUS_MODE) or MODBUS_MODE_TCP)


def serial_device(data: Mapping[str, Any]) -> str | None:
    """The serial port the connection uses (a serial link or Modbus RTU on a serial port); ``None``: no serial port."""
    kind = str(data.get(CONF_LINK))
    if kind == LinkKind.SERIAL or (kind == LinkKind.MODBUS and modbus_mode(data) == MODBUS_MODE_RTU):
        return str(data.get(CONF_DEVICE))
    return None


def physical_key(data: Mapping[str, Any]) -> str:
    """What two entries must not share: the serial port, the TCP endpoint, the Bluetooth device.

    A serial entry and a Modbus RTU entry on the same port (or a TCP bridge and Modbus RTU through the same bridge)
    have different unique ids but would fight over one port: they are the same physical connection.
    """
    device = serial_device(data)
    if device is not None:
        return f"serial:{device}"
    kind = LinkKind(data[CONF_LINK])
    if kind is LinkKind.TCP or (kind is LinkKind.MODBUS and modbus_mode(data) == MODBUS_MODE_RTU_OVER_TCP):
        return f"tcp:{format_host_port(str(data[CONF_HOST]).lower(), int(data[CONF_PORT]))}"
    return unique_id(data)


#: How long the flow waits for a host name to resolve when comparing connections (seconds).
RESOLVE_TIMEOUT = 5.0


async def async_physical_keys(hass: HomeAssistant, data: Mapping[str, Any]) -> frozenset[str]:
    """Every spelling of the connection's :func:`physical_key`: two entries sharing one are the same connection.

    ``127.0.0.1:P`` and ``localhost:P`` are one bridge, ``/dev/serial/by-id/...`` and ``/dev/ttyUSB0`` one port:
    host names are resolved with the event loop's ``getaddrinfo`` (every address, with the port), serial ports by
    their real device path. A name that does not resolve keeps its spelling (the key as written is always in).
    """
    key = physical_key(data)
    device = serial_device(data)
    if device is not None:
        real = await hass.async_add_executor_job(os.path.realpath, device)
        return frozenset({key, f"serial:{real}"})
    if LinkKind(data[CONF_LINK]) is LinkKind.BLE or not data.get(CONF_HOST):  # Bluetooth: the address is the device
        return frozenset({key})
    prefix = key.split(":", 1)[0]
    host, port = str(data[CONF_HOST]), _port(data)
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await hass.loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError, TimeoutError, UnicodeError:
        return frozenset({key})
    return frozenset({key} | {f"{prefix}:{format_host_port(str(info[4][0]), port)}" for info in infos})


def _port(data: Mapping[str, Any]) -> int:
    return int(data.get(CONF_PORT) or MODBUS_TCP_PORT)


def _modbus_where(data: Mapping[str, Any], *, lower: bool = False) -> str:
    """The serial port (RTU) or ``HOST:PORT`` of a Modbus connection."""
    if modbus_mode(data) == MODBUS_MODE_RTU:
        return str(data[CONF_DEVICE])
    host = str(data[CONF_HOST])
    return format_host_port(host.lower() if lower else host, _port(data))


def describe(data: Mapping[str, Any]) -> str:
    """Where the connection goes, for titles and device names.

    Not the library's ``LinkSettings.description``: titles carry no scheme (but Modbus's, the library's
    :data:`~vendor_plugins.connect.MODBUS_SCHEMES`) and no baud rate, and existing entries' titles must not change.
    """
    kind = LinkKind(data[CONF_LINK])
    if kind is LinkKind.BLE:
        return str(data[CONF_ADDRESS]).upper()
    if kind is LinkKind.SERIAL:
        return str(data[CONF_DEVICE])
    if kind is LinkKind.MODBUS:
        mode = _known_mode(data)
        scheme = MODBUS_SCHEMES[mode] if mode is not None else f"modbus-{modbus_mode(data)}"
        return f"{scheme}://{_modbus_where(data)}"
    return format_host_port(str(data[CONF_HOST]), int(data[CONF_PORT]))


def _known_mode(data: Mapping[str, Any]) -> ModbusMode | None:
    """The library's Modbus mode of a ``modbus`` entry; ``None``: a mode the library does not know."""
    try:
        return ModbusMode(modbus_mode(data))
    except ValueError:
        return None


def link_settings(data: Mapping[str, Any], *, timeout: float | None = None) -> LinkSettings:
    """The library's settings of the connection in ``data`` (``timeout`` per request; default the library's)."""
    kind = LinkKind(data[CONF_LINK])
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    if kind is LinkKind.BLE:
        return LinkSettings.ble(str(data[CONF_ADDRESS]), timeout=timeout)
    if kind is LinkKind.SERIAL:
        baudrate = int(data.get(CONF_BAUDRATE) or DEFAULT_BAUDRATE)
        return LinkSettings.serial(str(data[CONF_DEVICE]), baudrate, timeout=timeout)
    if kind is LinkKind.TCP:
        return LinkSettings.tcp(str(data[CONF_HOST]), int(data[CONF_PORT]), timeout=timeout)
    mode = _known_mode(data)
    if mode is ModbusMode.RTU:
        baudrate = int(data.get(CONF_BAUDRATE) or DEFAULT_BAUDRATE)
        return LinkSettings.modbus_rtu(str(data[CONF_DEVICE]), baudrate, timeout=timeout)
    if mode is ModbusMode.RTU_OVER_TCP:
        return LinkSettings.modbus_rtu_over_tcp(str(data[CONF_HOST]), int(data[CONF_PORT]), timeout=timeout)
    if mode is ModbusMode.TCP:
        return LinkSettings.modbus_tcp(str(data[CONF_HOST]), _port(data), timeout=timeout)
    known = ", ".join(ModbusMode)
    raise TransportError(f"Modbus mode {modbus_mode(data)!r} is not supported by the integration (one of {known})")


def open_entry_link(
    hass: HomeAssistant, data: Mapping[str, Any], plugin: VendorPlugin, *, timeout: float | None = None
) -> Link:
    """A (not yet connected) link for ``data`` from the library's :func:`~vendor_plugins.connect.open_link`.

    Raises :class:`BleDeviceNotFound` for a Bluetooth device Home Assistant does not see, the library's
    :class:`~vendor_plugins.errors.ConfigError` for a link the plugin cannot run over.
    """
    settings = link_settings(data, timeout=timeout)
    ble = _ble_access(hass, settings, plugin) if settings.kind is LinkKind.BLE else None
    # The library imports its BLE link only now, after Home Assistant's bluetooth integration is set up (a
    # dependency of this one), so it binds bleak-retry-connector's client class as Home Assistant has wrapped it.
    return open_link(settings, plugin, ble=ble)


def _ble_access(hass: HomeAssistant, settings: LinkSettings, plugin: VendorPlugin) -> BleAccess:
    """The ``BLEDevice`` Home Assistant's bluetooth stack knows, a callback for the freshest one, the test hook."""
    address = str(settings.address)
    device = bluetooth.async_ble_device_from_address(hass, address, connectable=True)
    if device is None:
        where = settings.description
        raise BleDeviceNotFound(f"{where}: no connectable Bluetooth device with this address is in range")

    def freshest() -> Any:
        return bluetooth.async_ble_device_from_address(hass, address, connectable=True) or device

    factory, profile = BLE_CLIENT_FACTORY, plugin.ble_profile
    client_factory = None if factory is None or profile is None else partial(factory, address, profile)
    return BleAccess(device, refresh=freshest, client_factory=client_factory)


# Build the registry now, while Home Assistant imports this module in its import executor: loading the plugins and
# reading the installed entry points is blocking I/O that must not happen later inside the event loop.
registry()
