"""Config flow: pick a connection (Bluetooth device, serial port, TCP bridge, Modbus bus), a vendor, the packs.

Entries are created only after a successful read (test before configure); the unique id is the physical
connection, so one device or port cannot be added twice (nor used by two entries of different kinds: a serial entry
and a Modbus RTU entry on one port). Bluetooth discovery proposes devices the registry recognises (Home Assistant's
manifest matchers are broad; the library identifies precisely); USB discovery proposes serial adapters commonly used
for RS485 and continues with the vendor choice. For the plugins that speak Modbus (PACE) a Modbus bus is offered
three ways: a Modbus-TCP gateway (``HOST[:PORT]``, port 502 by default), Modbus RTU on a serial port (an RS485
adapter: port and baud rate) and Modbus RTU through a transparent RS485-to-TCP bridge (``HOST:PORT``, no default
port); its unit ids (all the vendor allows, or the ones the user lists) are scanned and the packs that answer are
offered.

Every value the user types is checked by :mod:`vendor_plugins.settings` first; a refused one is shown next to its
field with the validator's translation key (``bad_host``, ``bad_port``, ``bad_serial_device``, ``bad_baudrate``,
``bad_address``; ``bad_scan_interval`` in the options flow).

*Reconfigure* moves an entry to another host/port (bridge or Modbus gateway) or serial port (every pack must answer
there first; a Modbus entry keeps its mode); entity and device ids follow the connection, so they are migrated, not
recreated — history and automations keep working.
The *options* flow sets the poll interval, enables control (off by default) and picks the per-cell entities.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from typing import Any

import probatio as vol
from homeassistant.components import bluetooth, usb
from homeassistant.components.bluetooth import BluetoothServiceInfoBleak
from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult, OptionsFlowWithReload
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.helpers.service_info.usb import UsbServiceInfo

from vendor_plugins import settings
from vendor_plugins.detect import detect
from vendor_plugins.errors import BmsError, DeviceError, TransportError
from vendor_plugins.model import DeviceInfo
from vendor_plugins.plugin import Advertisement, LinkKind, Session, SessionOptions, VendorPlugin
from vendor_plugins.poller import scan
from vendor_plugins.transports import Link
from vendor_plugins.transports.tcp import format_host_port

from .bus_growth import can_grow
from .connection import create_link, describe, modbus_mode, physical_key, plugins_for, registry, unique_id
from .const import (
    CELL_CHOICES,
    CELLS_DEFAULT,
    CONF_ADDRESS,
    CONF_BAUDRATE,
    CONF_CELL_BALANCING,
    CONF_CELLS,
    CONF_CONTROL,
    CONF_DEVICE,
    CONF_FAMILY,
    CONF_HOST,
    CONF_LINK,
    CONF_MODBUS_MODE,
    CONF_PACKS,
    CONF_PORT,
    CONF_SCAN_INTERVAL,
    CONF_SCAN_NEW_PACKS,
    CONF_UNITS,
    CONF_VENDOR,
    DEFAULT_BAUDRATE,
    DEFAULT_BUS_ADDRESSES,
    DEFAULT_SCAN_SECONDS,
    DOMAIN,
    FLOW_TIMEOUT,
    MAX_SCAN_SECONDS,
    MIN_SCAN_SECONDS,
    MODBUS_MODE_RTU,
    MODBUS_MODE_RTU_OVER_TCP,
    MODBUS_MODE_TCP,
    MODBUS_TCP_PORT,
    SCAN_TIMEOUT,
    VENDOR_AUTO,
)
from .descriptions import enabled_cell_count

_LOGGER = logging.getLogger(__name__)

BAUDRATES = [str(rate) for rate in settings.BAUD_RATES]

#: Field errors :mod:`vendor_plugins.settings` reports (its ``InvalidSetting.key``), each translated.
FIELD_ERRORS = ("bad_host", "bad_port", "bad_serial_device", "bad_baudrate", "bad_address")

#: The form (step id) of each Modbus mode.
MODBUS_STEPS = {
    MODBUS_MODE_TCP: "modbus_tcp",
    MODBUS_MODE_RTU: "modbus_serial",
    MODBUS_MODE_RTU_OVER_TCP: "modbus_rtu_tcp",
}

#: The settings schema of each Modbus form (given the unit ids the vendors allow).
MODBUS_SCHEMAS = {
    MODBUS_MODE_TCP: settings.modbus_tcp_schema,
    MODBUS_MODE_RTU: settings.modbus_serial_schema,
    MODBUS_MODE_RTU_OVER_TCP: settings.modbus_rtu_tcp_schema,
}


def _baud_selector() -> SelectSelector:
    return SelectSelector(SelectSelectorConfig(options=BAUDRATES, custom_value=True, mode=SelectSelectorMode.DROPDOWN))


def _vendor_options(kind: LinkKind) -> list[SelectOptionDict]:
    """The vendor choice for a connection: "detect automatically" (not on Modbus, whose vendors are buses) first."""
    auto = [] if kind is LinkKind.MODBUS else [SelectOptionDict(value=VENDOR_AUTO, label=VENDOR_AUTO)]
    return auto + [SelectOptionDict(value=p.name, label=p.title) for p in plugins_for(kind)]


def modbus_units(plugins: Sequence[VendorPlugin]) -> list[int]:
    """Every Modbus unit id at least one of ``plugins`` can use (what the unit field accepts)."""
    return sorted({u for p in plugins for u in settings.allowed_addresses(p, LinkKind.MODBUS)})


def to_advertisement(info: BluetoothServiceInfoBleak) -> Advertisement:
    """Adapt Home Assistant's service info to the library's advertisement."""
    return Advertisement(
        address=info.address,
        local_name=info.name if info.name != info.address else None,
        service_uuids=tuple(info.service_uuids),
        manufacturer_data=dict(info.manufacturer_data),
        service_data=dict(info.service_data),
    )


def _pack_label(address: int, info: DeviceInfo | None) -> str:
    """``3: <model> <serial>`` for the pack list."""
    if info is None:
        return str(address)
    return f"{address}: {info.model or info.vendor} {info.serial_number or ''}".strip()


class CannotConnect(Exception):
    """The connection itself failed (port missing, connection refused, device out of range)."""


class BmsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one physical connection to one or more packs."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing chosen."""
        self._data: dict[str, Any] = {}
        self._candidates: list[str] = []  # plugin names the advertisement matched (Bluetooth)
        self._found: dict[int, DeviceInfo | None] = {}
        self._plugin: VendorPlugin | None = None
        self._family: str | None = None
        self._units: list[int] | None = None  # Modbus unit ids to scan (None: every unit the vendor allows)
        self._last_error = ""  # the last connection/read error, for the {error} placeholder

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> BmsOptionsFlow:
        """Poll interval, control, per-cell entities."""
        return BmsOptionsFlow()

    # --- entry points -----------------------------------------------------------------------------
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose how the BMS is connected."""
        menu = ["bluetooth_device", "serial", "tcp"]
        if plugins_for(LinkKind.MODBUS):
            menu.extend(MODBUS_STEPS.values())
        return self.async_show_menu(step_id="user", menu_options=menu)

    async def async_step_tcp(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """An RS485/UART-to-Ethernet (or Wi-Fi) bridge at HOST:PORT."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                host, port = settings.HostPort(CONF_HOST)(user_input[CONF_HOST])
            except settings.InvalidSetting as err:
                errors[CONF_HOST] = err.key
            else:
                return await self._async_connection_chosen(
                    {CONF_LINK: LinkKind.TCP.value, CONF_HOST: host, CONF_PORT: port}
                )
        return self.async_show_form(
            step_id="tcp",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema({vol.Required(CONF_HOST): TextSelector()}), user_input
            ),
            errors=errors,
        )

    async def async_step_serial(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A serial port (USB-RS485 adapter, UART)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            checked, errors = settings.field_errors(settings.serial_schema(), user_input)
            if not errors:
                device = await self.hass.async_add_executor_job(usb.get_serial_by_id, checked[CONF_DEVICE])
                return await self._async_connection_chosen(
                    {CONF_LINK: LinkKind.SERIAL.value, CONF_DEVICE: device, CONF_BAUDRATE: checked[CONF_BAUDRATE]}
                )
        schema = vol.Schema(await self._async_serial_fields())
        return self.async_show_form(
            step_id="serial", data_schema=self.add_suggested_values_to_schema(schema, user_input), errors=errors
        )

    async def _async_serial_fields(self) -> dict[Any, Any]:
        """The port picker (the ports Home Assistant sees, or a typed path) and the baud rate."""
        ports = [
            SelectOptionDict(
                value=port.device,
                label=usb.human_readable_device_name(
                    port.device,
                    port.serial_number,
                    port.manufacturer,
                    port.description,
                    getattr(port, "vid", None),
                    getattr(port, "pid", None),
                ),
            )
            for port in await usb.async_scan_serial_ports(self.hass)
        ]
        return {
            vol.Required(CONF_DEVICE): SelectSelector(
                SelectSelectorConfig(options=ports, custom_value=True, mode=SelectSelectorMode.DROPDOWN)
            ),
            vol.Required(CONF_BAUDRATE, default=str(DEFAULT_BAUDRATE)): _baud_selector(),
        }

    async def async_step_modbus_tcp(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A Modbus-TCP gateway at HOST[:PORT] (502 by default), and which unit ids to scan."""
        return await self._async_modbus_step(MODBUS_MODE_TCP, user_input)

    async def async_step_modbus_serial(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Modbus RTU on a serial port (USB-RS485 adapter): the port, its baud rate and which unit ids to scan."""
        return await self._async_modbus_step(MODBUS_MODE_RTU, user_input)

    async def async_step_modbus_rtu_tcp(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Modbus RTU through a transparent RS485-to-TCP bridge at HOST:PORT, and which unit ids to scan."""
        return await self._async_modbus_step(MODBUS_MODE_RTU_OVER_TCP, user_input)

    async def _async_modbus_step(self, mode: str, user_input: dict[str, Any] | None) -> ConfigFlowResult:
        """Check the form of the Modbus ``mode``; go on to the vendor (or straight to the scan) with its data."""
        errors: dict[str, str] = {}
        if user_input is not None:
            allowed = modbus_units(plugins_for(LinkKind.MODBUS))
            checked, errors = settings.field_errors(MODBUS_SCHEMAS[mode](allowed), user_input)
            if not errors:
                units: list[int] = checked[CONF_UNITS]
                self._units = units if str(user_input.get(CONF_UNITS) or "").strip() else None
                data: dict[str, Any] = {CONF_LINK: LinkKind.MODBUS.value, CONF_MODBUS_MODE: mode}
                if mode == MODBUS_MODE_RTU:
                    device = await self.hass.async_add_executor_job(usb.get_serial_by_id, checked[CONF_DEVICE])
                    data |= {CONF_DEVICE: device, CONF_BAUDRATE: checked[CONF_BAUDRATE]}
                else:
                    host, port = checked[CONF_HOST]
                    data |= {CONF_HOST: host, CONF_PORT: port}
                return await self._async_connection_chosen(data)
        return await self._async_modbus_form(mode, user_input, errors)

    async def _async_modbus_form(
        self,
        mode: str,
        user_input: dict[str, Any] | None,
        errors: dict[str, str],
        placeholders: dict[str, str] | None = None,
    ) -> ConfigFlowResult:
        """The form of the Modbus ``mode`` (filled in with what was typed or chosen before)."""
        allowed = modbus_units(plugins_for(LinkKind.MODBUS))
        fields = (
            await self._async_serial_fields() if mode == MODBUS_MODE_RTU else {vol.Required(CONF_HOST): TextSelector()}
        )
        schema = vol.Schema({**fields, vol.Optional(CONF_UNITS): TextSelector()})
        suggested = user_input
        if suggested is None and self._data.get(CONF_LINK) == LinkKind.MODBUS:
            suggested = {CONF_UNITS: ", ".join(str(u) for u in self._units or [])}
            if mode == MODBUS_MODE_RTU:
                suggested |= {CONF_DEVICE: self._data[CONF_DEVICE], CONF_BAUDRATE: str(self._data[CONF_BAUDRATE])}
            else:
                suggested[CONF_HOST] = format_host_port(str(self._data[CONF_HOST]), int(self._data[CONF_PORT]))
        return self.async_show_form(
            step_id=MODBUS_STEPS[mode],
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders={
                "units": f"{allowed[0]}-{allowed[-1]}" if allowed else "-",
                "port": str(MODBUS_TCP_PORT),
                **(placeholders or {}),
            },
        )

    async def async_step_bluetooth_device(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick one of the Bluetooth devices Home Assistant sees that a vendor plugin recognises."""
        configured = self._async_current_ids(include_ignore=False)
        found: dict[str, tuple[BluetoothServiceInfoBleak, list[VendorPlugin]]] = {}
        for info in bluetooth.async_discovered_service_info(self.hass, connectable=True):
            address = info.address.upper()
            if address in configured or address in found:
                continue
            plugins = registry().match_advertisement(to_advertisement(info))
            if plugins:
                found[address] = (info, plugins)
        if user_input is not None and user_input[CONF_ADDRESS] in found:
            info, plugins = found[user_input[CONF_ADDRESS]]
            self._candidates = [p.name for p in plugins]
            return await self._async_connection_chosen(
                {CONF_LINK: LinkKind.BLE.value, CONF_ADDRESS: info.address.upper()}
            )
        if not found:
            return self.async_abort(reason="no_devices_found")
        options = [
            SelectOptionDict(value=address, label=f"{info.name} ({address}) — {', '.join(p.title for p in plugins)}")
            for address, (info, plugins) in found.items()
        ]
        return self.async_show_form(
            step_id="bluetooth_device",
            data_schema=vol.Schema({vol.Required(CONF_ADDRESS): SelectSelector(SelectSelectorConfig(options=options))}),
        )

    async def async_step_bluetooth(self, discovery_info: BluetoothServiceInfoBleak) -> ConfigFlowResult:
        """A device Home Assistant's manifest matchers caught; the registry identifies it precisely."""
        address = discovery_info.address.upper()
        await self.async_set_unique_id(address)
        self._abort_if_unique_id_configured()
        plugins = registry().match_advertisement(to_advertisement(discovery_info))
        if not plugins:
            return self.async_abort(reason="not_supported")
        self._candidates = [p.name for p in plugins]
        self._data = {CONF_LINK: LinkKind.BLE.value, CONF_ADDRESS: address}
        self.context["title_placeholders"] = {"name": discovery_info.name or address}
        return await self.async_step_bluetooth_confirm()

    async def async_step_bluetooth_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirm the discovered device, naming the vendor the registry identified."""
        errors: dict[str, str] = {}
        placeholders = {
            "name": self.context.get("title_placeholders", {}).get("name", self._data[CONF_ADDRESS]),
            "vendor": " / ".join(registry().get(name).title for name in self._candidates),
        }
        if user_input is not None:
            vendor = self._candidates[0] if len(self._candidates) == 1 else VENDOR_AUTO
            error, extra = await self._async_identify(vendor)
            if error is None:
                return await self._async_vendor_confirmed()
            errors["base"] = error
            placeholders.update(extra)
        self._set_confirm_only()
        return self.async_show_form(step_id="bluetooth_confirm", description_placeholders=placeholders, errors=errors)

    async def async_step_usb(self, discovery_info: UsbServiceInfo) -> ConfigFlowResult:
        """A USB serial adapter was plugged in."""
        device = await self.hass.async_add_executor_job(usb.get_serial_by_id, discovery_info.device)
        self._data = {CONF_LINK: LinkKind.SERIAL.value, CONF_DEVICE: device, CONF_BAUDRATE: DEFAULT_BAUDRATE}
        await self.async_set_unique_id(unique_id(self._data))
        self._abort_if_unique_id_configured()
        self._abort_if_connection_in_use(self._data)
        name = usb.human_readable_device_name(
            device,
            discovery_info.serial_number,
            discovery_info.manufacturer,
            discovery_info.description,
            discovery_info.vid,
            discovery_info.pid,
        )
        self.context["title_placeholders"] = {"name": name}
        return await self.async_step_usb_confirm()

    async def async_step_usb_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirm the adapter and its baud rate, then choose the vendor."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                self._data[CONF_BAUDRATE] = settings.BaudRate(CONF_BAUDRATE)(user_input[CONF_BAUDRATE])
            except settings.InvalidSetting as err:
                errors[CONF_BAUDRATE] = err.key
            else:
                return await self.async_step_vendor()
        return self.async_show_form(
            step_id="usb_confirm",
            data_schema=vol.Schema({vol.Required(CONF_BAUDRATE, default=str(DEFAULT_BAUDRATE)): _baud_selector()}),
            errors=errors,
            description_placeholders={"name": self.context["title_placeholders"]["name"]},
        )

    # --- reconfigure ------------------------------------------------------------------------------
    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Move the entry to another host/port (bridge, Modbus gateway) or serial port; its packs must answer there."""
        entry = self._get_reconfigure_entry()
        kind = LinkKind(entry.data[CONF_LINK])
        if kind is LinkKind.BLE:
            return self.async_abort(reason="reconfigure_ble")
        modbus_tcp = kind is LinkKind.MODBUS and modbus_mode(entry.data) == MODBUS_MODE_TCP
        # a TCP bridge, a Modbus-TCP gateway, Modbus RTU through a bridge: HOST:PORT; else a serial port (and baud rate)
        by_host = kind is LinkKind.TCP or (kind is LinkKind.MODBUS and modbus_mode(entry.data) != MODBUS_MODE_RTU)
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"where": describe(entry.data)}
        if user_input is not None:
            data: dict[str, Any] = dict(entry.data)
            if by_host:
                default_port = MODBUS_TCP_PORT if modbus_tcp else None
                try:
                    data[CONF_HOST], data[CONF_PORT] = settings.HostPort(CONF_HOST, default_port)(user_input[CONF_HOST])
                except settings.InvalidSetting as err:
                    errors[CONF_HOST] = err.key
            else:
                checked, errors = settings.field_errors(settings.serial_schema(), user_input)
                if not errors:
                    data[CONF_DEVICE] = await self.hass.async_add_executor_job(
                        usb.get_serial_by_id, checked[CONF_DEVICE]
                    )
                    data[CONF_BAUDRATE] = checked[CONF_BAUDRATE]
            if not errors:
                new_id = unique_id(data)
                if new_id != entry.unique_id:
                    await self.async_set_unique_id(new_id, raise_on_progress=False)
                    self._abort_if_unique_id_configured()
                    self._abort_if_connection_in_use(data, entry.entry_id)
                self._data = data
                plugin = registry().get(str(entry.data[CONF_VENDOR]))
                self._family = entry.data.get(CONF_FAMILY)
                error = await self._async_read_packs(plugin, list(entry.data.get(CONF_PACKS) or [None]))
                if error is None:
                    _migrate_ids(self.hass, entry, str(entry.unique_id), new_id, describe(data))
                    title = entry.title
                    if title.endswith(describe(entry.data)):
                        title = title[: -len(describe(entry.data))] + describe(data)
                    return self.async_update_reload_and_abort(entry, unique_id=new_id, title=title, data=data)
                errors["base"] = error
                placeholders["vendor"] = plugin.title
                placeholders["error"] = self._last_error
        if by_host:
            schema = vol.Schema({vol.Required(CONF_HOST): TextSelector()})
            suggested = {CONF_HOST: format_host_port(str(entry.data[CONF_HOST]), int(entry.data[CONF_PORT]))}
        else:
            schema = vol.Schema(
                {vol.Required(CONF_DEVICE): TextSelector(), vol.Required(CONF_BAUDRATE): _baud_selector()}
            )
            suggested = {
                CONF_DEVICE: entry.data[CONF_DEVICE],
                CONF_BAUDRATE: str(entry.data.get(CONF_BAUDRATE, DEFAULT_BAUDRATE)),
            }
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or suggested),
            errors=errors,
            description_placeholders=placeholders,
        )

    # --- vendor and packs ---------------------------------------------------------------------------
    async def _async_connection_chosen(self, data: dict[str, Any]) -> ConfigFlowResult:
        self._data = data
        await self.async_set_unique_id(unique_id(data), raise_on_progress=False)
        self._abort_if_unique_id_configured()
        self._abort_if_connection_in_use(data)
        if self._modbus_vendor() is not None:
            self._plugin = self._modbus_vendor()
            return await self.async_step_packs()
        return await self.async_step_vendor()

    def _abort_if_connection_in_use(self, data: dict[str, Any], entry_id: str | None = None) -> None:
        """Abort ``already_configured`` when another entry uses the same port or bridge under another kind of link.

        A serial entry and a Modbus RTU entry on one port (or a TCP bridge and Modbus RTU through the same bridge)
        have different unique ids but one physical connection: a second entry would fight over it.
        """
        key = physical_key(data)
        for entry in self._async_current_entries(include_ignore=False):
            if entry.entry_id != entry_id and CONF_LINK in entry.data and physical_key(entry.data) == key:
                raise AbortFlow("already_configured")

    def _modbus_vendor(self) -> VendorPlugin | None:
        """On a Modbus connection, the vendor when only one (a bus vendor) speaks Modbus: no vendor step then."""
        if LinkKind(self._data[CONF_LINK]) is not LinkKind.MODBUS:
            return None
        plugins = plugins_for(LinkKind.MODBUS)
        return plugins[0] if len(plugins) == 1 and plugins[0].capabilities.multi_address else None

    async def async_step_vendor(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the vendor, or let every plugin that fits the connection probe it."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"where": describe(self._data)}
        kind = LinkKind(self._data[CONF_LINK])
        if user_input is not None:
            vendor = user_input[CONF_VENDOR]
            plugin = None if vendor == VENDOR_AUTO else registry().get(vendor)
            if plugin is not None and plugin.capabilities.multi_address:
                self._plugin = plugin
                return await self.async_step_packs()
            error, extra = await self._async_identify(vendor)
            if error is None:
                return await self._async_vendor_confirmed()
            errors["base"] = error
            placeholders.update(extra)
        options = _vendor_options(kind)
        default = self._candidates[0] if len(self._candidates) == 1 else options[0]["value"]
        schema = vol.Schema(
            {
                vol.Required(CONF_VENDOR, default=default): SelectSelector(
                    SelectSelectorConfig(options=options, translation_key="vendor")
                )
            }
        )
        return self.async_show_form(
            step_id="vendor",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_packs(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Scan the bus for packs, then let the user pick which to add."""
        assert self._plugin is not None
        errors: dict[str, str] = {}
        if user_input is None:
            try:
                self._found = await self._async_scan(self._plugin)
            except CannotConnect as err:
                return await self._async_vendor_error("cannot_connect", str(err))
            if not self._found:
                return await self._async_vendor_error("no_packs_found")
        else:
            packs = sorted(int(a) for a in user_input[CONF_PACKS])
            if not packs:
                errors["base"] = "no_packs_selected"
            else:
                error = await self._async_read_packs(self._plugin, packs)
                if error is None:
                    return self._async_create(self._plugin, packs)
                errors["base"] = error
        choices = {str(a): _pack_label(a, info) for a, info in self._found.items()}
        return self.async_show_form(
            step_id="packs",
            data_schema=vol.Schema({vol.Required(CONF_PACKS, default=list(choices)): cv.multi_select(choices)}),
            errors=errors,
            description_placeholders={
                "count": str(len(self._found)),
                "where": describe(self._data),
                "vendor": self._plugin.title,
                "error": self._last_error,
            },
        )

    async def _async_vendor_error(self, error: str, message: str = "") -> ConfigFlowResult:
        """Back to the form that chose the vendor (the Modbus form when there was no vendor step), with ``error``."""
        placeholders = {"where": describe(self._data), "error": message}
        if self._modbus_vendor() is not None:
            return await self._async_modbus_form(modbus_mode(self._data), None, {"base": error}, placeholders)
        options = _vendor_options(LinkKind(self._data[CONF_LINK]))
        default = self._plugin.name if self._plugin else options[0]["value"]
        schema = vol.Schema(
            {
                vol.Required(CONF_VENDOR, default=default): SelectSelector(
                    SelectSelectorConfig(options=options, translation_key="vendor")
                )
            }
        )
        return self.async_show_form(
            step_id="vendor", data_schema=schema, errors={"base": error}, description_placeholders=placeholders
        )

    async def _async_vendor_confirmed(self) -> ConfigFlowResult:
        assert self._plugin is not None
        if self._plugin.capabilities.multi_address:
            return await self.async_step_packs()
        return self._async_create(self._plugin, [None])

    def _async_create(self, plugin: VendorPlugin, packs: Sequence[int | None]) -> ConfigFlowResult:
        data = {**self._data, CONF_VENDOR: plugin.name, CONF_FAMILY: self._family, CONF_PACKS: list(packs)}
        title = f"{plugin.title.split(' (')[0]} {describe(self._data)}"
        return self.async_create_entry(title=title, data=data)

    # --- talking to the device ----------------------------------------------------------------------
    def _link(self, plugin: VendorPlugin, timeout: float | None = None) -> Link:
        try:
            return create_link(self.hass, self._data, plugin, timeout=FLOW_TIMEOUT if timeout is None else timeout)
        except TransportError as err:
            raise CannotConnect(str(err)) from err

    async def _async_identify(self, vendor: str) -> tuple[str | None, dict[str, str]]:
        """Find the plugin that answers (the chosen one, or each candidate in turn); read once to be sure.

        Returns an error key (and placeholders) or ``None`` with ``self._plugin`` / ``self._family`` set.
        """
        kind = LinkKind(self._data[CONF_LINK])
        if vendor != VENDOR_AUTO:
            plugin = registry().get(vendor)
            try:
                if await self._async_try(plugin):
                    return None, {}
            except CannotConnect as err:
                return "cannot_connect", {"error": str(err)}
            others = [p for p in plugins_for(kind) if p.name != plugin.name and not p.capabilities.multi_address]
            for other in others:
                try:
                    if await self._async_try(other, keep=False):
                        return "wrong_vendor", {"vendor": plugin.title, "detected": other.title}
                except CannotConnect:
                    break
            return "no_answer", {"vendor": plugin.title}
        candidates = [
            plugin
            for plugin in ([registry().get(n) for n in self._candidates] or plugins_for(kind))
            # a bus vendor is chosen explicitly (its packs are scanned)
            if not (plugin.capabilities.multi_address and kind is not LinkKind.BLE)
        ]
        try:  # the library's read-only detection: short probe timeouts, protocol owners before HiXiMi
            found = await detect(self._link, candidates, stop_at_first=True)
        except CannotConnect as err:
            return "cannot_connect", {"error": str(err)}
        except TransportError as err:
            return "cannot_connect", {"error": str(err)}
        except BmsError as err:
            _LOGGER.debug("%s: no vendor detected: %s", describe(self._data), err)
            return "cannot_detect", {}
        if found.snapshot is None:
            _LOGGER.debug(
                "%s answers as %s but cannot be read: %s", describe(self._data), found.plugin.name, found.error
            )
            return "cannot_detect", {}
        self._plugin, self._family = found.plugin, found.options.family
        return None, {}

    async def _async_try(self, plugin: VendorPlugin, *, keep: bool = True) -> bool:
        """Whether ``plugin`` reads the pack at its default address; raises :class:`CannotConnect`."""
        link = self._link(plugin)
        try:
            session = plugin.open_session(link, SessionOptions())
            try:
                await session.device_info(None)
                await session.read(None)
            except TransportError as err:
                raise CannotConnect(str(err)) from err
            except BmsError as err:
                _LOGGER.debug("%s does not answer as %s: %s", link.description, plugin.name, err)
                return False
            if keep:
                self._plugin, self._family = plugin, session.family
            return True
        finally:
            await link.close()

    async def _async_scan(self, plugin: VendorPlugin) -> dict[int, DeviceInfo | None]:
        """Scan the bus with the library's :func:`~vendor_plugins.poller.scan`; ask the packs found what they are."""
        addresses = tuple(getattr(plugin, "bus_addresses", None) or DEFAULT_BUS_ADDRESSES)
        if LinkKind(self._data[CONF_LINK]) is LinkKind.MODBUS:
            allowed = settings.allowed_addresses(plugin, LinkKind.MODBUS)
            addresses = tuple(u for u in (self._units or allowed) if u in allowed)
            if not addresses:
                return {}
        link = self._link(plugin)
        found: dict[int, DeviceInfo | None] = {}
        try:
            session = plugin.open_session(link, SessionOptions())
            for address in await scan(session, addresses, absent_timeout=SCAN_TIMEOUT):
                if link.kind is LinkKind.MODBUS and not await _reads(session, address):
                    continue
                try:
                    found[address] = await session.device_info(address)
                except BmsError:
                    found[address] = None
            if not found:  # nothing answered: tell a dead link from an empty bus
                try:
                    await session.device_info(addresses[0])
                except TransportError as err:
                    raise CannotConnect(str(err)) from err
                except BmsError:
                    pass
            self._family = session.family
        finally:
            await link.close()
        return found

    async def _async_read_packs(self, plugin: VendorPlugin, packs: Sequence[int | None]) -> str | None:
        """Test before configure: every chosen pack must answer a full read."""
        try:
            link = self._link(plugin)
        except CannotConnect as err:
            self._last_error = str(err)
            return "cannot_connect"
        try:
            session = plugin.open_session(link, SessionOptions(family=self._family))
            for pack in packs:
                await session.read(pack)
            self._family = session.family or self._family
        except TransportError as err:
            self._last_error = str(err)
            return "cannot_connect"
        except BmsError as err:
            self._last_error = str(err)
            return "no_answer"
        finally:
            await link.close()
        return None


async def _reads(session: Session, unit: int) -> bool:
    """Whether a Modbus unit the scan counted answers a read with registers, not an exception.

    :func:`~vendor_plugins.poller.scan` counts an exception answer as a present pack (right on a serial bus, where
    only a pack answers its address), but a Modbus-TCP gateway answers for absent units too: exception 10/11
    (gateway path / target), or 4 from pymodbus' simulator. Such a unit could not pass test-before-configure.
    """
    try:
        async with asyncio.timeout(SCAN_TIMEOUT * 4):
            await session.read(unit)
    except DeviceError as err:
        _LOGGER.debug("unit %s answers with an exception, not offered: %s", unit, err)
        return False
    except BmsError, TimeoutError:
        return True  # it answered the scan; the full read before the entry is created decides
    return True


def _migrate_ids(hass: HomeAssistant, entry: ConfigEntry, old: str, new: str, bus_name: str) -> None:
    """Entity unique ids and device identifiers start with the connection's id: move them to ``new``."""
    if old == new:
        return
    entities = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(entities, entry.entry_id):
        if entity.unique_id.startswith(old):
            entities.async_update_entity(entity.entity_id, new_unique_id=new + entity.unique_id[len(old) :])
    devices = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(devices, entry.entry_id):
        identifiers = {
            (domain, new + ident[len(old) :]) if domain == DOMAIN and ident.startswith(old) else (domain, ident)
            for domain, ident in device.identifiers
        }
        is_bus = (DOMAIN, f"{new}_bus") in identifiers
        devices.async_update_device(
            device.id, new_identifiers=identifiers, name=bus_name if is_bus and not device.name_by_user else None
        )


_CELL_ENTITY = re.compile(r"_cell_(\d+)_(voltage|balancing)$")


def apply_cell_choice(hass: HomeAssistant, entry: ConfigEntry, cells: str, balancing: bool) -> None:
    """Enable / disable existing per-cell entities to match the options (a user's own choice is left alone)."""
    enabled_voltages = enabled_cell_count(cells)
    entities = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(entities, entry.entry_id):
        match = _CELL_ENTITY.search(entity.unique_id)
        if match is None or entity.disabled_by is er.RegistryEntryDisabler.USER:
            continue
        wanted = int(match[1]) <= enabled_voltages if match[2] == "voltage" else balancing
        if wanted and entity.disabled_by is er.RegistryEntryDisabler.INTEGRATION:
            entities.async_update_entity(entity.entity_id, disabled_by=None)
        elif not wanted and entity.disabled_by is None:
            entities.async_update_entity(entity.entity_id, disabled_by=er.RegistryEntryDisabler.INTEGRATION)


def can_control(entry: ConfigEntry, plugin: VendorPlugin) -> bool:
    """Whether the entry's packs can be switched: the plugin has switches and the link is not Modbus.

    The plugin contract declares switches per vendor, not per protocol; the Modbus register maps the library reads
    (PACE V1.3) have no MOSFET register, so a Modbus entry never offers control.
    """
    return bool(plugin.capabilities.switches) and entry.data.get(CONF_LINK) != LinkKind.MODBUS


class BmsOptionsFlow(OptionsFlowWithReload):
    """Poll interval (bounded, a default per link kind), control (off by default), per-cell entities."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form; the entry reloads with the new options."""
        entry = self.config_entry
        plugin = registry().get(str(entry.data[CONF_VENDOR]))
        errors: dict[str, str] = {}
        if user_input is not None:
            checked, errors = settings.field_errors(settings.options_schema(), user_input)
        if user_input is not None and not errors:
            options: dict[str, Any] = {
                CONF_SCAN_INTERVAL: int(checked[CONF_SCAN_INTERVAL]),
                CONF_CONTROL: bool(user_input.get(CONF_CONTROL, False)) and can_control(entry, plugin),
                CONF_CELLS: str(user_input[CONF_CELLS]),
                CONF_CELL_BALANCING: bool(user_input.get(CONF_CELL_BALANCING, False)),
            }
            if plugin is not None and can_grow(entry, plugin):
                options[CONF_SCAN_NEW_PACKS] = bool(user_input.get(CONF_SCAN_NEW_PACKS, True))
            old_cells = (entry.options.get(CONF_CELLS, CELLS_DEFAULT), entry.options.get(CONF_CELL_BALANCING, False))
            if old_cells != (options[CONF_CELLS], options[CONF_CELL_BALANCING]):
                apply_cell_choice(self.hass, entry, options[CONF_CELLS], options[CONF_CELL_BALANCING])
            return self.async_create_entry(data=options)
        default_interval = DEFAULT_SCAN_SECONDS.get(str(entry.data[CONF_LINK]), 15)
        fields: dict[Any, Any] = {
            vol.Required(CONF_SCAN_INTERVAL, default=default_interval): NumberSelector(
                NumberSelectorConfig(
                    min=MIN_SCAN_SECONDS,
                    max=MAX_SCAN_SECONDS,
                    step=1,
                    unit_of_measurement="s",
                    mode=NumberSelectorMode.BOX,
                )
            ),
        }
        if can_control(entry, plugin):
            fields[vol.Required(CONF_CONTROL, default=False)] = BooleanSelector()
        fields[vol.Required(CONF_CELLS, default=CELLS_DEFAULT)] = SelectSelector(
            SelectSelectorConfig(options=list(CELL_CHOICES), translation_key=CONF_CELLS)
        )
        fields[vol.Required(CONF_CELL_BALANCING, default=False)] = BooleanSelector()
        if plugin is not None and can_grow(entry, plugin):
            fields[vol.Required(CONF_SCAN_NEW_PACKS, default=True)] = BooleanSelector()
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), user_input or dict(entry.options)),
            errors=errors,
            description_placeholders={
                "default_interval": str(default_interval),
                "min": str(MIN_SCAN_SECONDS),
                "max": str(MAX_SCAN_SECONDS),
            },
        )
