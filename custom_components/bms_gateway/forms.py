"""The config flow's forms: their fields, selectors and suggested values (no flow state, no device I/O).

Every value typed into them is checked by :mod:`vendor_plugins.settings` first; a refused one is shown next to its
field with the validator's translation key (``bad_host``, ``bad_port``, ``bad_serial_device``, ``bad_baudrate``,
``bad_address``; ``bad_scan_interval`` in the options flow). :func:`async_connection_fields` turns a checked
connection form into entry data (a serial port by its stable ``/dev/serial/by-id`` path). The forms that choose a
connection also take an optional name (:func:`named`): what the battery's devices and the entry are called.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import probatio as vol
import voluptuous
from homeassistant.components import usb
from homeassistant.components.bluetooth import BluetoothServiceInfoBleak
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from vendor_plugins import schemas, settings
from vendor_plugins.model import DeviceInfo
from vendor_plugins.plugin import LinkKind, VendorPlugin
from vendor_plugins.transports.tcp import format_host_port

from .connection import modbus_mode, plugins_for
from .const import (
    CONF_ADDRESS,
    CONF_BAUDRATE,
    CONF_DEVICE,
    CONF_HOST,
    CONF_LINK,
    CONF_PACKS,
    CONF_PORT,
    CONF_UNITS,
    CONF_VENDOR,
    DEFAULT_BAUDRATE,
    MODBUS_MODE_RTU,
    MODBUS_MODE_RTU_OVER_TCP,
    MODBUS_MODE_TCP,
    MODBUS_TCP_PORT,
    VENDOR_AUTO,
)
from .device_text import plain

BAUDRATES = [str(rate) for rate in settings.BAUD_RATES]

#: The form (step id) of each Modbus mode.
MODBUS_STEPS = {
    MODBUS_MODE_TCP: "modbus_tcp",
    MODBUS_MODE_RTU: "modbus_serial",
    MODBUS_MODE_RTU_OVER_TCP: "modbus_rtu_tcp",
}

#: The settings schema of each Modbus form (given the unit ids the vendors allow).
MODBUS_SCHEMAS = {
    MODBUS_MODE_TCP: schemas.modbus_tcp_schema,
    MODBUS_MODE_RTU: schemas.modbus_serial_schema,
    MODBUS_MODE_RTU_OVER_TCP: schemas.modbus_rtu_tcp_schema,
}


def baud_selector() -> SelectSelector:
    """The standard baud rates, or a typed one (checked by the settings)."""
    return SelectSelector(SelectSelectorConfig(options=BAUDRATES, custom_value=True, mode=SelectSelectorMode.DROPDOWN))


def baud_schema() -> vol.Schema:
    """Just the baud rate (a discovered serial adapter)."""
    return vol.Schema({vol.Required(CONF_BAUDRATE, default=str(DEFAULT_BAUDRATE)): baud_selector()})


def named(schema: vol.Schema) -> vol.Schema:
    """``schema`` with the optional name of the battery (empty: vendor and model name it)."""
    return schema.extend({vol.Optional(CONF_NAME): TextSelector()})


def given_name(user_input: Mapping[str, Any] | None) -> dict[str, str]:
    """``{"name": ...}`` when the form's name field holds text (cleaned and bounded), else ``{}``."""
    name = plain((user_input or {}).get(CONF_NAME) or "")
    return {CONF_NAME: name} if name else {}


def host_schema() -> vol.Schema:
    """A ``HOST:PORT`` (or ``HOST[:PORT]``) text field."""
    return vol.Schema({vol.Required(CONF_HOST): TextSelector()})


def host_port_check(default_port: int | None = None) -> voluptuous.Schema:
    """The check of a ``HOST:PORT`` field (``default_port``: the port when none is typed; ``None``: one is needed)."""
    check = {voluptuous.Required(CONF_HOST): settings.HostPort(CONF_HOST, default_port)}
    return voluptuous.Schema(check, extra=voluptuous.ALLOW_EXTRA)


def suggested_host(data: Mapping[str, Any]) -> dict[str, Any]:
    """The host field filled in with the entry's ``HOST:PORT``."""
    return {CONF_HOST: format_host_port(str(data[CONF_HOST]), int(data[CONF_PORT]))}


def suggested_serial(data: Mapping[str, Any]) -> dict[str, Any]:
    """The serial fields filled in with the entry's port and baud rate."""
    return {CONF_DEVICE: data[CONF_DEVICE], CONF_BAUDRATE: str(data.get(CONF_BAUDRATE) or DEFAULT_BAUDRATE)}


async def async_serial_fields(hass: HomeAssistant) -> dict[Any, Any]:
    """The port picker (the ports Home Assistant sees, or a typed path) and the baud rate."""
    ports = [
        SelectOptionDict(
            value=port.device,
            label=usb.human_readable_device_name(
                port.device,
                port.serial_number,
                port.manufacturer,
                port.description,
                getattr(port, "vid", None),  # Home Assistant's port info: only USB ports have these
                getattr(port, "pid", None),
            ),
        )
        for port in await usb.async_scan_serial_ports(hass)
    ]
    return {
        vol.Required(CONF_DEVICE): SelectSelector(
            SelectSelectorConfig(options=ports, custom_value=True, mode=SelectSelectorMode.DROPDOWN)
        ),
        vol.Required(CONF_BAUDRATE, default=str(DEFAULT_BAUDRATE)): baud_selector(),
    }


def serial_text_schema() -> vol.Schema:
    """A typed serial port and its baud rate (reconfigure: the port is usually gone from the list)."""
    return vol.Schema({vol.Required(CONF_DEVICE): TextSelector(), vol.Required(CONF_BAUDRATE): baud_selector()})


def reconfigure_forms(data: Mapping[str, Any]) -> tuple[voluptuous.Schema, vol.Schema, dict[str, Any]]:
    """Moving the connection in ``data``: the check of the form, the form and its suggested values.

    A TCP bridge, a Modbus-TCP gateway (port 502 unless given) or Modbus RTU through a bridge moves to another
    ``HOST:PORT``; a serial port or Modbus RTU on one to another port and baud rate.
    """
    kind = LinkKind(data[CONF_LINK])
    if kind is LinkKind.SERIAL or (kind is LinkKind.MODBUS and modbus_mode(data) == MODBUS_MODE_RTU):
        return schemas.serial_schema(), serial_text_schema(), suggested_serial(data)
    default_port = MODBUS_TCP_PORT if kind is LinkKind.MODBUS and modbus_mode(data) == MODBUS_MODE_TCP else None
    return host_port_check(default_port), host_schema(), suggested_host(data)


async def async_connection_fields(
    hass: HomeAssistant, check: voluptuous.Schema, user_input: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """``(entry data, {})`` of a connection form checked by ``check``, or ``({}, field errors)``.

    ``host`` becomes ``host``/``port``; ``device`` the port's stable path, with ``baudrate``; ``units`` (a Modbus
    form) the sorted unit ids; a ``name`` typed in is kept (:func:`given_name`).
    """
    checked, errors = schemas.field_errors(check, {k: v for k, v in user_input.items() if k != CONF_NAME})
    if errors:
        return {}, errors
    data: dict[str, Any] = given_name(user_input)
    if CONF_HOST in checked:
        data[CONF_HOST], data[CONF_PORT] = checked[CONF_HOST]
    if CONF_DEVICE in checked:
        data[CONF_DEVICE] = await hass.async_add_executor_job(usb.get_serial_by_id, checked[CONF_DEVICE])
        data[CONF_BAUDRATE] = checked[CONF_BAUDRATE]
    if CONF_UNITS in checked:
        data[CONF_UNITS] = checked[CONF_UNITS]
    return data, {}


def modbus_units(plugins: Sequence[VendorPlugin]) -> list[int]:
    """Every Modbus unit id at least one of ``plugins`` can use (what the unit field accepts)."""
    return sorted({u for p in plugins for u in settings.allowed_addresses(p, LinkKind.MODBUS)})


async def async_modbus_schema(hass: HomeAssistant, mode: str) -> vol.Schema:
    """The form of the Modbus ``mode``: the serial port (RTU) or the host, and the unit ids to scan."""
    fields = await async_serial_fields(hass) if mode == MODBUS_MODE_RTU else {vol.Required(CONF_HOST): TextSelector()}
    return named(vol.Schema({**fields, vol.Optional(CONF_UNITS): TextSelector()}))


def suggested_modbus(data: Mapping[str, Any], mode: str, units: Sequence[int] | None) -> dict[str, Any]:
    """The Modbus form filled in with the connection chosen before (``units``: the ones the user listed)."""
    where = suggested_serial(data) if mode == MODBUS_MODE_RTU else suggested_host(data)
    return {CONF_UNITS: ", ".join(str(u) for u in units or []), **where, **given_name(data)}


def vendor_schema(kind: LinkKind, default: str | None) -> vol.Schema:
    """The vendor choice: "detect automatically" (not on Modbus, whose vendors are buses) first, then the plugins.

    ``default`` is preselected (``None``: the first choice).
    """
    auto = [] if kind is LinkKind.MODBUS else [SelectOptionDict(value=VENDOR_AUTO, label=VENDOR_AUTO)]
    options = auto + [SelectOptionDict(value=p.name, label=p.title) for p in plugins_for(kind)]
    selector = SelectSelector(SelectSelectorConfig(options=options, translation_key="vendor"))
    return vol.Schema({vol.Required(CONF_VENDOR, default=default or options[0]["value"]): selector})


def ble_devices_schema(found: Mapping[str, tuple[BluetoothServiceInfoBleak, Sequence[VendorPlugin]]]) -> vol.Schema:
    """The Bluetooth devices to pick from: name, address and the vendors that recognise each."""
    options = [
        SelectOptionDict(value=address, label=f"{plain(info.name)} ({address}) — {', '.join(p.title for p in plugins)}")
        for address, (info, plugins) in found.items()
    ]
    return named(vol.Schema({vol.Required(CONF_ADDRESS): SelectSelector(SelectSelectorConfig(options=options))}))


def pack_label(address: int, info: DeviceInfo | None) -> str:
    """``3: <model> <serial>`` for the pack list (the pack's own text, cleaned and bounded)."""
    if info is None:
        return str(address)
    return plain(f"{address}: {info.model or info.vendor} {info.serial_number or ''}")


def packs_schema(found: Mapping[int, DeviceInfo | None]) -> vol.Schema:
    """The packs a scan found, all chosen."""
    choices = {str(a): pack_label(a, info) for a, info in found.items()}
    return vol.Schema({vol.Required(CONF_PACKS, default=list(choices)): cv.multi_select(choices)})
