"""Links: how bytes reach a BMS (TCP bridge, serial port, Bluetooth LE).

Byte links offer ``exchange(request, expect) -> frames``, register links (Modbus) ``read_registers`` and
``write_registers``; every link ``close()`` and the raw-traffic ``tap`` (see :mod:`.base`). ``BleLink`` is
imported on first use so that tools which never touch Bluetooth do not pay for importing bleak; ``ModbusLink``
(register reads through pymodbus, :mod:`.modbus`) likewise, so that byte-link users do not import pymodbus.
User-supplied ``HOST:PORT`` text is checked by :class:`vendor_plugins.settings.HostPort`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import DEFAULT_TIMEOUT, BufferedByteLink, ByteLink, Link, RegisterLink, as_byte_link, as_register_link
from .serial import SerialLink
from .tcp import TcpLink

if TYPE_CHECKING:
    from .ble import BleLink
    from .modbus import ModbusLink

__all__ = [
    "DEFAULT_TIMEOUT",
    "BleLink",
    "BufferedByteLink",
    "ByteLink",
    "Link",
    "ModbusLink",
    "RegisterLink",
    "SerialLink",
    "TcpLink",
    "as_byte_link",
    "as_register_link",
]


def __getattr__(name: str) -> Any:
    """Import :class:`BleLink` and :class:`ModbusLink` lazily."""
    if name == "BleLink":
        from .ble import BleLink  # deliberately lazy: bleak is slow to import

        return BleLink
    if name == "ModbusLink":
        from .modbus import ModbusLink  # deliberately lazy: pymodbus is only needed for Modbus

        return ModbusLink
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
