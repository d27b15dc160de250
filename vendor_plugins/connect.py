"""The one way to open a link: :class:`LinkSettings` (where a connection goes) and :func:`open_link`.

Every consumer — ``bmsgw``, the Home Assistant integration, the gateway daemon — describes a physical connection as
:class:`LinkSettings` and gets its (not yet connected; links connect on their first request) link from
:func:`open_link`, which also refuses a link the vendor cannot run over and picks the link type the session needs:
frames (TCP bridge, serial port, Bluetooth) or registers (Modbus-TCP, Modbus RTU on a serial port or through a TCP
bridge). Settings are checked when they are made (:mod:`.settings` validates user text first); nothing is opened
until the first exchange.

Bluetooth: the CLI gives an address and the library's BLE link finds the device itself; Home Assistant passes
:class:`BleAccess` with the ``BLEDevice`` its own bluetooth stack knows (so proxies work) and a callback returning the
freshest one.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .plugin import LinkKind, SessionOptions, VendorPlugin
from .transports.base import DEFAULT_TIMEOUT, Link
from .transports.tcp import format_host_port

if TYPE_CHECKING:
    from .transports.ble import ClientLike

#: Baud rate of a serial link when none is given.
DEFAULT_BAUDRATE = 9600
#: The Modbus-TCP port.
MODBUS_TCP_PORT = 502


class ModbusMode(enum.StrEnum):
    """How Modbus registers travel (same values as :class:`~.transports.modbus.ModbusMode`)."""

    TCP = "tcp"  # Modbus-TCP (MBAP header) to a gateway
    RTU = "rtu"  # RTU frames on a serial port
    RTU_OVER_TCP = "rtu-over-tcp"  # RTU frames through a transparent RS485-to-TCP bridge


#: URL scheme of each Modbus mode (the Modbus link's description uses the same).
MODBUS_SCHEMES = {ModbusMode.TCP: "modbus-tcp", ModbusMode.RTU: "modbus-rtu", ModbusMode.RTU_OVER_TCP: "modbus-rtu+tcp"}


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """One physical connection: its kind and where it goes. Build it with the class methods.

    ``host``/``port`` for TCP bridges and Modbus over TCP, ``device``/``baudrate`` for serial ports (and Modbus RTU on
    one), ``address`` for Bluetooth; ``modbus_mode`` for Modbus links; ``timeout`` per request (seconds).
    """

    kind: LinkKind
    host: str | None = None
    port: int | None = None
    device: str | None = None
    baudrate: int | None = None
    address: str | None = None
    modbus_mode: ModbusMode | None = None
    timeout: float | None = None

    @classmethod
    def tcp(cls, host: str, port: int, *, timeout: float | None = None) -> LinkSettings:
        """Raw bytes to an RS485/UART-to-TCP bridge."""
        return cls(LinkKind.TCP, host=host, port=port, timeout=timeout)

    @classmethod
    def serial(cls, device: str, baudrate: int | None = None, *, timeout: float | None = None) -> LinkSettings:
        """A serial port (UART, RS485, RS232 adapter)."""
        return cls(LinkKind.SERIAL, device=device, baudrate=baudrate, timeout=timeout)

    @classmethod
    def ble(cls, address: str, *, timeout: float | None = None) -> LinkSettings:
        """A Bluetooth LE device."""
        return cls(LinkKind.BLE, address=address.upper(), timeout=timeout)

    @classmethod
    def modbus_tcp(cls, host: str, port: int = MODBUS_TCP_PORT, *, timeout: float | None = None) -> LinkSettings:
        """A Modbus-TCP gateway."""
        return cls(LinkKind.MODBUS, host=host, port=port, modbus_mode=ModbusMode.TCP, timeout=timeout)

    @classmethod
    def modbus_rtu(cls, device: str, baudrate: int | None = None, *, timeout: float | None = None) -> LinkSettings:
        """Modbus RTU on a serial port."""
        return cls(LinkKind.MODBUS, device=device, baudrate=baudrate, modbus_mode=ModbusMode.RTU, timeout=timeout)

    @classmethod
    def modbus_rtu_over_tcp(cls, host: str, port: int, *, timeout: float | None = None) -> LinkSettings:
        """Modbus RTU through a transparent RS485-to-TCP bridge."""
        return cls(LinkKind.MODBUS, host=host, port=port, modbus_mode=ModbusMode.RTU_OVER_TCP, timeout=timeout)

    def as_modbus(self) -> LinkSettings:
        """The same physical connection carrying Modbus RTU (a serial port or a TCP bridge); Modbus stays Modbus."""
        if self.kind is LinkKind.SERIAL:
            assert self.device is not None
            return LinkSettings.modbus_rtu(self.device, self.baudrate, timeout=self.timeout)
        if self.kind is LinkKind.TCP:
            assert self.host is not None
            assert self.port is not None
            return LinkSettings.modbus_rtu_over_tcp(self.host, self.port, timeout=self.timeout)
        if self.kind is LinkKind.MODBUS:
            return self
        raise ConfigError(f"Modbus cannot run over {self.kind} links (use a serial port, a TCP bridge or Modbus-TCP)")

    @property
    def description(self) -> str:
        """Where the connection goes, as the link it opens describes itself (``tcp://host:port`` …)."""
        if self.kind is LinkKind.BLE:
            return f"ble://{self.address}"
        if self.kind is LinkKind.SERIAL:
            return f"serial://{self.device}@{self.baudrate or DEFAULT_BAUDRATE}"
        if self.kind is LinkKind.MODBUS:
            mode = self.modbus_mode or ModbusMode.TCP
            if mode is ModbusMode.RTU:
                return f"{MODBUS_SCHEMES[mode]}://{self.device}@{self.baudrate or DEFAULT_BAUDRATE}"
            return f"{MODBUS_SCHEMES[mode]}://{format_host_port(str(self.host), self._port)}"
        return f"tcp://{format_host_port(str(self.host), self._port)}"

    @property
    def _port(self) -> int:
        return self.port if self.port is not None else MODBUS_TCP_PORT


@dataclass(frozen=True, slots=True)
class BleAccess:
    """How a host application hands the BLE link its device (Home Assistant: its own bluetooth stack).

    ``device`` is the host's ``BLEDevice``; ``refresh`` returns the freshest one before each connect;
    ``client_factory`` replaces bleak's client (tests, the demo).
    """

    device: Any
    refresh: Callable[[], Any] | None = None
    client_factory: Callable[[], ClientLike] | None = None


def check_link_kind(plugin: VendorPlugin, kind: LinkKind, *, via: str | None = None) -> None:
    """Raise :class:`ConfigError` when ``plugin`` cannot run over a link of ``kind``.

    ``via`` names what the user chose (``--tcp``, a form field) so the message can point at it.
    """
    if kind not in plugin.link_kinds:
        kinds = ", ".join(sorted(str(k) for k in plugin.link_kinds)) or "none"
        what = "Modbus" if kind is LinkKind.MODBUS else f"{kind} links"
        where = f"{via}; " if via else ""
        raise ConfigError(f"vendor {plugin.name!r} does not support {what} ({where}supported: {kinds})")
    if kind is LinkKind.BLE and plugin.ble_profile is None:
        raise ConfigError(f"vendor {plugin.name!r} declares no BLE profile")


def settings_for(settings: LinkSettings, plugin: VendorPlugin, options: SessionOptions | None = None) -> LinkSettings:
    """``settings`` as a session with ``options`` needs them.

    Modbus RTU over the same port or bridge when the plugin reads registers for these options (a serial port given
    with a Modbus protocol), else unchanged.
    """
    if options is not None and settings.kind is not LinkKind.MODBUS and plugin.needs_register_link(options):
        return settings.as_modbus()
    return settings


def open_link(
    settings: LinkSettings,
    plugin: VendorPlugin,
    options: SessionOptions | None = None,
    *,
    ble: BleAccess | None = None,
) -> Link:
    """Create (not connect) the link to ``settings`` for ``plugin``'s sessions with ``options``.

    Raises :class:`ConfigError` for a link the plugin cannot run over. Byte links for frames, a Modbus
    (register) link when the plugin reads registers for ``options`` (:func:`settings_for`).
    """
    settings = settings_for(settings, plugin, options)
    check_link_kind(plugin, settings.kind)
    timeout = settings.timeout if settings.timeout is not None else DEFAULT_TIMEOUT
    if settings.kind is LinkKind.TCP:
        from .transports.tcp import TcpLink

        assert settings.host is not None
        assert settings.port is not None
        return TcpLink(settings.host, settings.port, timeout=timeout)
    if settings.kind is LinkKind.SERIAL:
        from .transports.serial import SerialLink

        assert settings.device is not None
        return SerialLink(settings.device, baudrate=settings.baudrate or DEFAULT_BAUDRATE, timeout=timeout)
    if settings.kind is LinkKind.BLE:
        return _open_ble(settings, plugin, timeout, ble)
    if settings.kind is LinkKind.MODBUS:
        return _open_modbus(settings, timeout)
    raise ConfigError(f"{settings.kind} links are not supported")


def _open_ble(settings: LinkSettings, plugin: VendorPlugin, timeout: float, ble: BleAccess | None) -> Link:
    from .transports.ble import BleLink  # bleak is slow to import: only for Bluetooth

    profile = plugin.ble_profile
    assert profile is not None  # check_link_kind
    if ble is None:
        assert settings.address is not None
        return BleLink(settings.address, profile, timeout=timeout)
    return BleLink(
        ble.device, profile, timeout=timeout, ble_device_callback=ble.refresh, client_factory=ble.client_factory
    )


def _open_modbus(settings: LinkSettings, timeout: float) -> Link:
    from .transports.modbus import ModbusLink  # pymodbus only for Modbus

    mode = settings.modbus_mode or ModbusMode.TCP
    if mode is ModbusMode.RTU:
        assert settings.device is not None
        return ModbusLink.rtu_serial(settings.device, settings.baudrate or DEFAULT_BAUDRATE, timeout=timeout)
    assert settings.host is not None
    if mode is ModbusMode.RTU_OVER_TCP:
        assert settings.port is not None
        return ModbusLink.rtu_over_tcp(settings.host, settings.port, timeout=timeout)
    return ModbusLink.tcp(settings.host, settings.port or MODBUS_TCP_PORT, timeout=timeout)
