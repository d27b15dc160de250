"""Physical connections: turn config-entry data into a library link, a unique id and a title.

One config entry is one physical connection (a TCP bridge, a serial port, a Bluetooth device, or a Modbus bus: link
``modbus``, its packs are Modbus unit ids, reached by ``modbus_mode`` ``tcp`` — a Modbus-TCP gateway at host/port —,
``rtu`` — RTU on the serial port ``device`` at ``baudrate`` — or ``rtu-over-tcp`` — RTU through a transparent
RS485-to-TCP bridge at host/port). Bluetooth goes through Home Assistant's bluetooth stack: the link gets the
``BLEDevice`` Home Assistant knows (so ESPHome proxies work) and a callback returning the freshest one; the library
never scans inside Home Assistant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.components import bluetooth
from homeassistant.core import HomeAssistant

from vendor_plugins.detect import probe_order
from vendor_plugins.errors import TransportError
from vendor_plugins.plugin import BleProfile, LinkKind, VendorPlugin
from vendor_plugins.registry import Registry, default_registry
from vendor_plugins.transports import DEFAULT_TIMEOUT, Link, SerialLink, TcpLink
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


def plugins_for(kind: LinkKind) -> list[VendorPlugin]:
    """Plugins that can run over ``kind``, in the library's probe order (a protocol's owner before HiXiMi).

    Byte links: TCP bridges carry whatever the serial bus carries.
    """
    return probe_order(
        p for p in registry() if kind in p.link_kinds or (kind is LinkKind.TCP and LinkKind.SERIAL in p.link_kinds)
    )


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


def _port(data: Mapping[str, Any]) -> int:
    return int(data.get(CONF_PORT) or MODBUS_TCP_PORT)


def _modbus_where(data: Mapping[str, Any], *, lower: bool = False) -> str:
    """The serial port (RTU) or ``HOST:PORT`` of a Modbus connection."""
    if modbus_mode(data) == MODBUS_MODE_RTU:
        return str(data[CONF_DEVICE])
    host = str(data[CONF_HOST])
    return format_host_port(host.lower() if lower else host, _port(data))


#: URL scheme of each Modbus mode in titles (the library's ``ModbusLink.description`` uses the same).
_MODBUS_SCHEMES = {
    MODBUS_MODE_TCP: "modbus-tcp",
    MODBUS_MODE_RTU: "modbus-rtu",
    MODBUS_MODE_RTU_OVER_TCP: "modbus-rtu+tcp",
}


def describe(data: Mapping[str, Any]) -> str:
    """Where the connection goes, for titles and device names."""
    kind = LinkKind(data[CONF_LINK])
    if kind is LinkKind.BLE:
        return str(data[CONF_ADDRESS]).upper()
    if kind is LinkKind.SERIAL:
        return str(data[CONF_DEVICE])
    if kind is LinkKind.MODBUS:
        mode = modbus_mode(data)
        return f"{_MODBUS_SCHEMES.get(mode, f'modbus-{mode}')}://{_modbus_where(data)}"
    return format_host_port(str(data[CONF_HOST]), int(data[CONF_PORT]))


def create_link(
    hass: HomeAssistant, data: Mapping[str, Any], plugin: VendorPlugin, *, timeout: float | None = None
) -> Link:
    """A (not yet connected) link for ``data``; raises :class:`BleDeviceNotFound` for an absent BLE device."""
    kind = LinkKind(data[CONF_LINK])
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if kind is LinkKind.TCP:
        return TcpLink(str(data[CONF_HOST]), int(data[CONF_PORT]), timeout=timeout)
    if kind is LinkKind.SERIAL:
        return SerialLink(
            str(data[CONF_DEVICE]), baudrate=int(data.get(CONF_BAUDRATE, DEFAULT_BAUDRATE)), timeout=timeout
        )
    if kind is LinkKind.BLE:
        return _create_ble_link(hass, str(data[CONF_ADDRESS]).upper(), plugin, timeout)
    if kind is LinkKind.MODBUS:
        return _create_modbus_link(data, timeout)
    raise TransportError(f"link kind {kind} is not supported by the integration yet")


def _create_modbus_link(data: Mapping[str, Any], timeout: float) -> Link:
    mode = modbus_mode(data)
    if mode not in _MODBUS_SCHEMES:
        known = ", ".join(_MODBUS_SCHEMES)
        raise TransportError(f"Modbus mode {mode!r} is not supported by the integration (one of {known})")
    from vendor_plugins.transports.modbus import ModbusLink  # pymodbus only for Modbus entries

    if mode == MODBUS_MODE_RTU:
        baudrate = int(data.get(CONF_BAUDRATE) or DEFAULT_BAUDRATE)
        return ModbusLink.rtu_serial(str(data[CONF_DEVICE]), baudrate, timeout=timeout)
    if mode == MODBUS_MODE_RTU_OVER_TCP:
        return ModbusLink.rtu_over_tcp(str(data[CONF_HOST]), int(data[CONF_PORT]), timeout=timeout)
    return ModbusLink.tcp(str(data[CONF_HOST]), _port(data), timeout=timeout)


def _create_ble_link(hass: HomeAssistant, address: str, plugin: VendorPlugin, timeout: float) -> Link:
    # Imported here, after Home Assistant's bluetooth integration is set up (a dependency of this one), so the
    # library binds bleak-retry-connector's client class as Home Assistant has wrapped it (proxies, slot handling).
    from vendor_plugins.transports.ble import BleLink

    if plugin.ble_profile is None:
        raise TransportError(f"vendor {plugin.name} has no Bluetooth profile")
    profile = plugin.ble_profile
    device = bluetooth.async_ble_device_from_address(hass, address, connectable=True)
    if device is None:
        raise BleDeviceNotFound(f"ble://{address}: no connectable Bluetooth device with this address is in range")

    def freshest() -> Any:
        return bluetooth.async_ble_device_from_address(hass, address, connectable=True) or device

    factory = BLE_CLIENT_FACTORY
    return BleLink(
        device,
        profile,
        timeout=timeout,
        ble_device_callback=freshest,
        client_factory=None if factory is None else (lambda: factory(address, profile)),
    )


# Build the registry now, while Home Assistant imports this module in its import executor: loading the plugins and
# reading the installed entry points is blocking I/O that must not happen later inside the event loop.
registry()
