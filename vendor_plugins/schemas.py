"""Form schemas: the library's setting validators combined as a connection or options form asks for them.

:func:`validate` runs a schema and turns voluptuous' ``MultipleInvalid`` back into the first
:class:`~vendor_plugins.settings.InvalidSetting`; :func:`field_errors` gives Home Assistant's ``{field: key}`` error
mapping. The schemas: :func:`tcp_bridge_schema`, :func:`serial_schema`, :func:`modbus_tcp_schema`,
:func:`modbus_rtu_tcp_schema`, :func:`modbus_serial_schema`, :func:`options_schema`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import voluptuous as vol

from .settings import (
    MODBUS_TCP_PORT,
    SCAN_INTERVAL,
    BaudRate,
    HostPort,
    InvalidSetting,
    SerialDevice,
    parse_addresses,
)


def tcp_bridge_schema() -> vol.Schema:
    """``{"host": "HOST:PORT"}`` of a raw TCP bridge → ``{"host": (host, port)}``."""
    return vol.Schema({vol.Required("host"): HostPort("host")}, extra=vol.ALLOW_EXTRA)


def _units(allowed_units: Sequence[int]) -> dict[Any, Any]:
    """The optional ``units`` text of a Modbus form (``"1-4, 7"``; empty: every allowed unit) → sorted unit ids."""
    allowed = tuple(allowed_units)
    return {vol.Optional("units", default=""): lambda text: parse_addresses(text, allowed)}


def modbus_tcp_schema(allowed_units: Sequence[int]) -> vol.Schema:
    """A Modbus-TCP gateway: ``host`` (``HOST[:PORT]``, port 502 by default) and optional ``units`` text."""
    return vol.Schema(
        {vol.Required("host"): HostPort("host", default_port=MODBUS_TCP_PORT), **_units(allowed_units)},
        extra=vol.ALLOW_EXTRA,
    )


def modbus_rtu_tcp_schema(allowed_units: Sequence[int]) -> vol.Schema:
    """Modbus RTU through a transparent RS485-to-TCP bridge: ``host`` (``HOST:PORT``, no default port) and ``units``.

    A bridge's raw port is whatever it was set to (4196, 8899, 502…): leaving it out is refused (``bad_port``).
    """
    return vol.Schema({vol.Required("host"): HostPort("host"), **_units(allowed_units)}, extra=vol.ALLOW_EXTRA)


def serial_schema() -> vol.Schema:
    """A serial port and its baud rate."""
    return vol.Schema(
        {vol.Required("device"): SerialDevice("device"), vol.Required("baudrate"): BaudRate("baudrate")},
        extra=vol.ALLOW_EXTRA,
    )


def modbus_serial_schema(allowed_units: Sequence[int]) -> vol.Schema:
    """Modbus RTU on a serial port (RS485 adapter): ``device``, ``baudrate`` and optional ``units`` text."""
    return serial_schema().extend(_units(allowed_units))


def options_schema() -> vol.Schema:
    """The options of an entry that need checking beyond their selectors: the poll interval."""
    return vol.Schema({vol.Required("scan_interval"): SCAN_INTERVAL}, extra=vol.ALLOW_EXTRA)


def _first(err: vol.Invalid) -> vol.Invalid:
    while isinstance(err, vol.MultipleInvalid) and err.errors:
        err = err.errors[0]
    return err


def validate(schema: vol.Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """Run ``schema``; the first problem as :class:`InvalidSetting` (a plain voluptuous error is wrapped)."""
    try:
        result: dict[str, Any] = schema(dict(data))
    except vol.Invalid as err:
        first = _first(err)
        if isinstance(first, InvalidSetting):
            raise first from None
        name = str(first.path[0]) if first.path else "setting"
        raise InvalidSetting(name, data.get(name), first.error_message, f"bad_{name}") from None
    return result


def field_errors(schema: vol.Schema, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``(validated data, {})`` or ``({}, {field: key, ...})`` for every field a form shows an error on."""
    try:
        return schema(dict(data)), {}
    except vol.MultipleInvalid as err:
        errors: dict[str, str] = {}
        for one in err.errors:
            field = str(one.path[0]) if one.path else "base"
            key = one.key if isinstance(one, InvalidSetting) else f"bad_{field}"
            errors.setdefault(field, key)
        return {}, errors
    except vol.Invalid as err:
        field = str(err.path[0]) if err.path else "base"
        return {}, {field: err.key if isinstance(err, InvalidSetting) else f"bad_{field}"}
