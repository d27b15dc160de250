"""Physical connections: turn config-entry data into a library link, a unique id and a title.

One config entry is one physical connection (a TCP bridge, a serial port, a Bluetooth device, a Modbus-TCP gateway:
link ``modbus`` with ``modbus_mode`` ``tcp``, its packs are Modbus unit ids). Bluetooth goes
through Home Assistant's bluetooth stack: the link gets the ``BLEDevice`` Home Assistant knows (so ESPHome proxies
work) and a callback returning the freshest one; the library never scans inside Home Assistant.
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
        return f"modbus-{_modbus_mode(data)}:{format_host_port(str(data[CONF_HOST]).lower(), _port(data))}"
    return f"tcp:{format_host_port(str(data[CONF_HOST]).lower(), int(data[CONF_PORT]))}"


def _modbus_mode(data: Mapping[str, Any]) -> str:
    return str(data.get(CONF_MODBUS_MODE) or MODBUS_MODE_TCP)


def _port(data: Mapping[str, Any]) -> int:
    return int(data.get(CONF_PORT) or MODBUS_TCP_PORT)


def describe(data: Mapping[str, Any]) -> str:
    """Where the connection goes, for titles and device names."""
    kind = LinkKind(data[CONF_LINK])
    if kind is LinkKind.BLE:
        return str(data[CONF_ADDRESS]).upper()
    if kind is LinkKind.SERIAL:
        return str(data[CONF_DEVICE])
    if kind is LinkKind.MODBUS:
        return f"modbus-{_modbus_mode(data)}://{format_host_port(str(data[CONF_HOST]), _port(data))}"
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
        if (mode := _modbus_mode(data)) != MODBUS_MODE_TCP:
            raise TransportError(f"Modbus mode {mode!r} is not supported by the integration yet (only Modbus-TCP)")
        from vendor_plugins.transports.modbus import ModbusLink  # pymodbus only for Modbus entries

        return ModbusLink.tcp(str(data[CONF_HOST]), _port(data), timeout=timeout)
    raise TransportError(f"link kind {kind} is not supported by the integration yet")


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
