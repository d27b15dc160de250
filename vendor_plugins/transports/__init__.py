"""Links: how bytes reach a BMS (TCP bridge, serial port, Bluetooth LE).

Every link offers ``exchange(request, expect) -> frames`` and ``close()`` (see :mod:`.base`). ``BleLink`` is
imported on first use so that tools which never touch Bluetooth do not pay for importing bleak; ``ModbusLink``
(register reads through pymodbus, :mod:`.modbus`) likewise, so that byte-link users do not import pymodbus.
:func:`parse_host_port` turns the user's ``HOST:PORT`` text into a checked pair.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .base import DEFAULT_TIMEOUT, ByteLink, Link
from .serial import SerialLink
from .tcp import TcpLink

if TYPE_CHECKING:
    from .ble import BleLink
    from .modbus import ModbusLink

__all__ = [
    "DEFAULT_TIMEOUT",
    "BleLink",
    "ByteLink",
    "Link",
    "ModbusLink",
    "SerialLink",
    "TcpLink",
    "parse_host_port",
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


def parse_host_port(text: str, default_port: int | None = None) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[v6-address]:PORT`` for IPv6; a ``tcp://`` prefix is allowed).

    Without a port, ``default_port`` is used when given. Raises :class:`ConfigError` for anything else.
    """

    def bad(reason: str) -> ConfigError:
        return ConfigError(f"expected HOST:PORT, got {text!r} ({reason})")

    rest = text.strip()
    if rest.lower().startswith("tcp://"):
        rest = rest[len("tcp://") :]
    if "://" in rest:
        raise bad("only a tcp:// prefix is allowed")
    rest = rest.rstrip("/")
    port_text: str | None
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise bad("missing ']' after the IPv6 address")
        host, after = rest[1:end], rest[end + 1 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise bad("not an IPv6 address in the brackets") from None
        if after == "":
            port_text = None
        elif after.startswith(":"):
            port_text = after[1:]
        else:
            raise bad("unexpected text after ']'")
    else:
        if rest.count(":") > 1:
            raise bad("put an IPv6 address in brackets: [addr]:port")
        host, sep, port_text_or_empty = rest.partition(":")
        port_text = port_text_or_empty if sep else None
        if not host:
            raise bad("missing host")
        if any(c.isspace() or c in "/@?#[]" for c in host):
            raise bad("invalid host")
    if port_text is None:
        if default_port is None:
            raise bad("missing port")
        port = default_port
    else:
        if not (port_text.isascii() and port_text.isdigit()):
            raise bad("port must be a number")
        port = int(port_text)
    if not 1 <= port <= 65535:
        raise bad("port must be 1-65535")
    return host, port
