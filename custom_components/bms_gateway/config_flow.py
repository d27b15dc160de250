"""Config flow: pick a connection (Bluetooth device, serial port, TCP bridge, Modbus bus), a vendor, the packs.

Entries are created only after a successful read (test before configure); the unique id is the physical
connection, so one device or port cannot be added twice (nor used by two entries of different kinds: a serial entry
and a Modbus RTU entry on one port). Bluetooth discovery proposes devices the registry recognises (Home Assistant's
manifest matchers are broad; the library identifies precisely); USB discovery proposes serial adapters commonly used
for RS485 and continues with the vendor choice. For the plugins that speak Modbus a Modbus bus is offered three
ways: a Modbus-TCP gateway (``HOST[:PORT]``, port 502 by default), Modbus RTU on a serial port (an RS485 adapter:
port and baud rate) and Modbus RTU through a transparent RS485-to-TCP bridge (``HOST:PORT``, no default port); its
unit ids (all the vendor allows, or the ones the user lists) are scanned and the packs that answer are offered.

This module holds the steps. Their forms are :mod:`.forms` (every typed value is checked by
:mod:`vendor_plugins.settings`; a refused one is shown next to its field with the validator's key, one of
:data:`FIELD_ERRORS`); talking to the device (identify, scan, test reads) is :mod:`.probing`; moving the registry ids
on reconfigure is :mod:`.migrations`; the options flow is :mod:`.options_flow`.

*Reconfigure* moves an entry to another host/port (bridge or Modbus gateway) or serial port (every pack must answer
there first; a Modbus entry keeps its mode); entity and device ids follow the connection, so they are migrated, not
recreated — history and automations keep working.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import probatio as vol
from homeassistant.components import usb
from homeassistant.components.bluetooth import BluetoothServiceInfoBleak
from homeassistant.config_entries import ConfigEntry, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_NAME
from homeassistant.core import callback
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.helpers.service_info.usb import UsbServiceInfo

from vendor_plugins import schemas, settings
from vendor_plugins.model import DeviceInfo
from vendor_plugins.plugin import LinkKind, VendorPlugin

from . import forms, probing
from .bank_config import is_bank
from .bank_flow import BankConfigFlow, BankOptionsFlow
from .connection import async_physical_keys, describe, modbus_mode, physical_key, plugins_for, registry, unique_id
from .const import (
    CONF_ADDRESS,
    CONF_BAUDRATE,
    CONF_DEVICE,
    CONF_FAMILY,
    CONF_LINK,
    CONF_MODBUS_MODE,
    CONF_PACKS,
    CONF_UNITS,
    CONF_VENDOR,
    DEFAULT_BAUDRATE,
    DOMAIN,
    MODBUS_MODE_RTU,
    MODBUS_MODE_RTU_OVER_TCP,
    MODBUS_MODE_TCP,
    MODBUS_TCP_PORT,
    VENDOR_AUTO,
)
from .device_text import markdown_safe
from .migrations import async_move_connection
from .options_flow import BmsOptionsFlow
from .probing import CannotConnect, NoAnswer, ProbeError, WrongVendor

#: Field errors :mod:`vendor_plugins.settings` reports (its ``InvalidSetting.key``), each translated.
FIELD_ERRORS = ("bad_host", "bad_port", "bad_serial_device", "bad_baudrate", "bad_address")


def _form_error(err: ProbeError) -> tuple[str, dict[str, str]]:
    """The form error of a failed probe (a translation key) and the placeholders its text uses."""
    if isinstance(err, CannotConnect):
        return "cannot_connect", {"error": str(err)}
    if isinstance(err, WrongVendor):
        return "wrong_vendor", {"vendor": err.vendor.title, "detected": err.detected.title}
    if isinstance(err, NoAnswer):
        return "no_answer", {"vendor": err.vendor.title, "error": str(err)}
    return "cannot_detect", {}


class BmsConfigFlow(BankConfigFlow, domain=DOMAIN):
    """Set up one physical connection to one or more packs, or a battery bank of packs (:mod:`.bank_flow`)."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing chosen."""
        self._data: dict[str, Any] = {}
        self._candidates: list[VendorPlugin] = []  # the plugins the advertisement matched (Bluetooth)
        self._found: dict[int, DeviceInfo | None] = {}
        self._plugin: VendorPlugin | None = None
        self._family: str | None = None
        self._units: list[int] | None = None  # Modbus unit ids to scan (None: every unit the vendor allows)

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Poll interval, control, per-cell entities (a bank: its packs, mode, policy, switches)."""
        return BankOptionsFlow() if is_bank(config_entry) else BmsOptionsFlow()

    # --- entry points -----------------------------------------------------------------------------
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose how the BMS is connected."""
        menu = ["bluetooth_device", "serial", "tcp"]
        if plugins_for(LinkKind.MODBUS):
            menu.extend(forms.MODBUS_STEPS.values())
        menu.append("bank")
        return self.async_show_menu(step_id="user", menu_options=menu)

    async def async_step_tcp(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """An RS485/UART-to-Ethernet (or Wi-Fi) bridge at HOST:PORT."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = await forms.async_connection_fields(self.hass, forms.host_port_check(), user_input)
            if not errors:
                return await self._async_connection_chosen({CONF_LINK: LinkKind.TCP.value, **data})
        schema = forms.named(forms.host_schema())
        return self.async_show_form(
            step_id="tcp", data_schema=self.add_suggested_values_to_schema(schema, user_input), errors=errors
        )

    async def async_step_serial(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A serial port (USB-RS485 adapter, UART)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = await forms.async_connection_fields(self.hass, schemas.serial_schema(), user_input)
            if not errors:
                return await self._async_connection_chosen({CONF_LINK: LinkKind.SERIAL.value, **data})
        schema = forms.named(vol.Schema(await forms.async_serial_fields(self.hass)))
        return self.async_show_form(
            step_id="serial", data_schema=self.add_suggested_values_to_schema(schema, user_input), errors=errors
        )

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
            schema = forms.MODBUS_SCHEMAS[mode](forms.modbus_units(plugins_for(LinkKind.MODBUS)))
            data, errors = await forms.async_connection_fields(self.hass, schema, user_input)
            if not errors:
                units: list[int] = data.pop(CONF_UNITS)
                self._units = units if str(user_input.get(CONF_UNITS) or "").strip() else None
                return await self._async_connection_chosen(
                    {CONF_LINK: LinkKind.MODBUS.value, CONF_MODBUS_MODE: mode, **data}
                )
        return await self._async_modbus_form(mode, user_input, errors)

    async def _async_modbus_form(
        self,
        mode: str,
        user_input: dict[str, Any] | None,
        errors: dict[str, str],
        placeholders: dict[str, str] | None = None,
    ) -> ConfigFlowResult:
        """The form of the Modbus ``mode`` (filled in with what was typed or chosen before)."""
        allowed = forms.modbus_units(plugins_for(LinkKind.MODBUS))
        suggested: Mapping[str, Any] | None = user_input
        if suggested is None and self._data.get(CONF_LINK) == LinkKind.MODBUS:
            suggested = forms.suggested_modbus(self._data, mode, self._units)
        return self.async_show_form(
            step_id=forms.MODBUS_STEPS[mode],
            data_schema=self.add_suggested_values_to_schema(
                await forms.async_modbus_schema(self.hass, mode), suggested
            ),
            errors=errors,
            description_placeholders={
                "units": f"{allowed[0]}-{allowed[-1]}" if allowed else "-",
                "port": str(MODBUS_TCP_PORT),
                **(placeholders or {}),
            },
        )

    async def async_step_bluetooth_device(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick one of the Bluetooth devices Home Assistant sees that a vendor plugin recognises."""
        found = probing.recognised_ble_devices(self.hass, self._async_current_ids(include_ignore=False))
        if user_input is not None and user_input[CONF_ADDRESS] in found:
            address = user_input[CONF_ADDRESS]
            self._candidates = found[address][1]
            return await self._async_connection_chosen(
                {CONF_LINK: LinkKind.BLE.value, CONF_ADDRESS: address, **forms.given_name(user_input)}
            )
        if not found:
            return self.async_abort(reason="no_devices_found")
        return self.async_show_form(step_id="bluetooth_device", data_schema=forms.ble_devices_schema(found))

    async def async_step_bluetooth(self, discovery_info: BluetoothServiceInfoBleak) -> ConfigFlowResult:
        """A device Home Assistant's manifest matchers caught; the registry identifies it precisely."""
        address = discovery_info.address.upper()
        await self.async_set_unique_id(address)
        self._abort_if_unique_id_configured()
        self._candidates = probing.advertised_vendors(discovery_info)
        if not self._candidates:
            return self.async_abort(reason="not_supported")
        self._data = {CONF_LINK: LinkKind.BLE.value, CONF_ADDRESS: address}
        # The advertised name is the advertiser's text, rendered as Markdown in the discovery title and the dialog.
        self.context["title_placeholders"] = {"name": markdown_safe(discovery_info.name or "") or address}
        return await self.async_step_bluetooth_confirm()

    async def async_step_bluetooth_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirm the discovered device, naming the vendor the registry identified."""
        errors: dict[str, str] = {}
        placeholders = {
            "name": self.context.get("title_placeholders", {}).get("name", self._data[CONF_ADDRESS]),
            "vendor": " / ".join(plugin.title for plugin in self._candidates),
        }
        if user_input is not None:
            self._data.update(forms.given_name(user_input))
            error, extra = await self._async_identify(self._candidates[0] if len(self._candidates) == 1 else None)
            if error is None:
                return await self._async_vendor_confirmed()
            errors["base"] = error
            placeholders.update(extra)
        self._set_confirm_only()
        return self.async_show_form(
            step_id="bluetooth_confirm",
            data_schema=forms.named(vol.Schema({})),
            description_placeholders=placeholders,
            errors=errors,
        )

    async def async_step_usb(self, discovery_info: UsbServiceInfo) -> ConfigFlowResult:
        """A USB serial adapter was plugged in."""
        device = await self.hass.async_add_executor_job(usb.get_serial_by_id, discovery_info.device)
        self._data = {CONF_LINK: LinkKind.SERIAL.value, CONF_DEVICE: device, CONF_BAUDRATE: DEFAULT_BAUDRATE}
        await self.async_set_unique_id(unique_id(self._data))
        self._abort_if_unique_id_configured()
        await self._async_abort_if_connection_in_use(self._data)
        name = usb.human_readable_device_name(
            device,
            discovery_info.serial_number,
            discovery_info.manufacturer,
            discovery_info.description,
            discovery_info.vid,
            discovery_info.pid,
        )
        self.context["title_placeholders"] = {"name": markdown_safe(name)}  # the adapter's own descriptors
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
                self._data.update(forms.given_name(user_input))
                return await self.async_step_vendor()
        return self.async_show_form(
            step_id="usb_confirm",
            data_schema=forms.named(forms.baud_schema()),
            errors=errors,
            description_placeholders={"name": self.context["title_placeholders"]["name"]},
        )

    # --- reconfigure ------------------------------------------------------------------------------
    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Move the entry to another host/port (bridge, Modbus gateway) or serial port; its packs must answer there."""
        entry = self._get_reconfigure_entry()
        if is_bank(entry):
            return self.async_abort(reason="reconfigure_bank")
        if entry.data[CONF_LINK] == LinkKind.BLE:
            return self.async_abort(reason="reconfigure_ble")
        check, schema, suggested = forms.reconfigure_forms(entry.data)
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"where": describe(entry.data)}
        if user_input is not None:
            fields, errors = await forms.async_connection_fields(self.hass, check, user_input)
            data: dict[str, Any] = {**entry.data, **fields}
            if not errors:
                new_id = unique_id(data)
                if new_id != entry.unique_id:
                    await self.async_set_unique_id(new_id, raise_on_progress=False)
                    self._abort_if_unique_id_configured()
                    await self._async_abort_if_connection_in_use(data, entry.entry_id)
                self._data = data
                plugin = registry().get(str(entry.data[CONF_VENDOR]))
                self._family = entry.data.get(CONF_FAMILY)
                error, problem = await self._async_read_packs(plugin, list(entry.data.get(CONF_PACKS) or [None]))
                if error is None:
                    moved = async_move_connection(self.hass, entry, data)
                    return self.async_update_reload_and_abort(entry, **moved)
                errors["base"] = error
                placeholders |= {"vendor": plugin.title, "error": ""} | problem
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
        await self._async_abort_if_connection_in_use(data)
        if self._modbus_vendor() is not None:
            self._plugin = self._modbus_vendor()
            return await self.async_step_packs()
        return await self.async_step_vendor()

    async def _async_abort_if_connection_in_use(self, data: dict[str, Any], entry_id: str | None = None) -> None:
        """Abort ``already_configured`` when another entry uses the same port or bridge, however it is spelled.

        A serial entry and a Modbus RTU entry on one port (or a TCP bridge and Modbus RTU through the same bridge)
        have different unique ids but one physical connection: a second entry would fight over it. So would
        ``localhost:P`` next to ``127.0.0.1:P``, or a port by its ``by-id`` link next to its device node: the
        resolved endpoints are compared (:func:`~.connection.async_physical_keys`).
        """
        keys = await async_physical_keys(self.hass, data)
        for entry in self._async_current_entries(include_ignore=False):
            if entry.entry_id == entry_id or CONF_LINK not in entry.data:
                continue
            if physical_key(entry.data) in keys or keys & await async_physical_keys(self.hass, entry.data):
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
        if user_input is not None:
            vendor = user_input[CONF_VENDOR]
            plugin = None if vendor == VENDOR_AUTO else registry().get(vendor)
            if plugin is not None and plugin.capabilities.multi_address:
                self._plugin = plugin
                return await self.async_step_packs()
            error, extra = await self._async_identify(plugin)
            if error is None:
                return await self._async_vendor_confirmed()
            errors["base"] = error
            placeholders.update(extra)
        default = self._candidates[0].name if len(self._candidates) == 1 else None
        return self._vendor_form(errors, placeholders, default, user_input)

    def _vendor_form(
        self,
        errors: dict[str, str],
        placeholders: dict[str, str],
        default: str | None,
        suggested: dict[str, Any] | None = None,
    ) -> ConfigFlowResult:
        """The vendor choice (``default`` preselected; the first choice when ``None``)."""
        schema = forms.vendor_schema(LinkKind(self._data[CONF_LINK]), default)
        return self.async_show_form(
            step_id="vendor",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_packs(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Scan the bus for packs, then let the user pick which to add."""
        assert self._plugin is not None
        errors: dict[str, str] = {}
        problem: dict[str, str] = {}
        if user_input is None:
            try:
                scanned = await probing.scan_bus(self.hass, self._data, self._plugin, self._units)
            except CannotConnect as err:
                return await self._async_vendor_error("cannot_connect", str(err))
            self._found, self._family = scanned.packs, scanned.family
            if not self._found:
                return await self._async_vendor_error("no_packs_found")
        else:
            packs = sorted(int(a) for a in user_input[CONF_PACKS])
            if not packs:
                errors["base"] = "no_packs_selected"
            else:
                error, problem = await self._async_read_packs(self._plugin, packs)
                if error is None:
                    return self._async_create(self._plugin, packs)
                errors["base"] = error
        return self.async_show_form(
            step_id="packs",
            data_schema=forms.packs_schema(self._found),
            errors=errors,
            description_placeholders={
                "count": str(len(self._found)),
                "where": describe(self._data),
                "vendor": self._plugin.title,
                "error": "",
                **problem,
            },
        )

    async def _async_vendor_error(self, error: str, message: str = "") -> ConfigFlowResult:
        """Back to the form that chose the vendor (the Modbus form when there was no vendor step), with ``error``."""
        placeholders = {"where": describe(self._data), "error": message}
        if self._modbus_vendor() is not None:
            return await self._async_modbus_form(modbus_mode(self._data), None, {"base": error}, placeholders)
        return self._vendor_form({"base": error}, placeholders, self._plugin.name if self._plugin else None)

    async def _async_vendor_confirmed(self) -> ConfigFlowResult:
        assert self._plugin is not None
        if self._plugin.capabilities.multi_address:
            return await self.async_step_packs()
        return self._async_create(self._plugin, [None])

    def _async_create(self, plugin: VendorPlugin, packs: Sequence[int | None]) -> ConfigFlowResult:
        data = {**self._data, CONF_VENDOR: plugin.name, CONF_FAMILY: self._family, CONF_PACKS: list(packs)}
        title = self._data.get(CONF_NAME) or f"{plugin.title.split(' (')[0]} {describe(self._data)}"
        return self.async_create_entry(title=title, data=data)

    # --- talking to the device (probing) ------------------------------------------------------------
    async def _async_identify(self, plugin: VendorPlugin | None) -> tuple[str | None, dict[str, str]]:
        """Confirm ``plugin`` (``None``: detect among the candidates); an error key and placeholders, or ``None``.

        On success ``self._plugin`` / ``self._family`` are set.
        """
        try:
            if plugin is None:
                found = await probing.detect_vendor(self.hass, self._data, self._candidates)
            else:
                found = await probing.confirm_vendor(self.hass, self._data, plugin)
        except ProbeError as err:
            return _form_error(err)
        self._plugin, self._family = found.plugin, found.family
        return None, {}

    async def _async_read_packs(
        self, plugin: VendorPlugin, packs: Sequence[int | None]
    ) -> tuple[str | None, dict[str, str]]:
        """Test before configure: every chosen pack must answer a full read (an error key and placeholders if not)."""
        try:
            self._family = await probing.read_packs(self.hass, self._data, plugin, packs, self._family)
        except ProbeError as err:
            return _form_error(err)
        return None, {}
